/** A `metav1.Status` failure as the API server sends it. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string };
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; retryAfterSeconds?: number; causes?: unknown[] };
  code: number;
}

/** An error answered with a Status object and its HTTP code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Status['details'],
    readonly metadata: Status['metadata'] = {},
  ) {
    super(message);
  }

  /** The Status body for this error. */
  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: this.metadata,
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

/** `<plural>[.<group>] "<name>" not found`. */
export function notFound(plural: string, group: string, name: string): ApiError {
  const qualified = group ? `${plural}.${group}` : plural;
  return new ApiError(404, 'NotFound', `${qualified} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: plural,
  });
}

/** `<plural> "<name>" already exists`. */
export function alreadyExists(plural: string, group: string, name: string): ApiError {
  const qualified = group ? `${plural}.${group}` : plural;
  return new ApiError(409, 'AlreadyExists', `${qualified} "${name}" already exists`, {
    name,
    ...(group ? { group } : {}),
    kind: plural,
  });
}

/** A 400 Bad Request. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** A 422 Invalid for one object, with one cause per field error. */
export function invalid(
  kind: string,
  group: string,
  name: string,
  causes: { field: string; message: string }[],
): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${text}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

/** The 410 a watch from a compacted resourceVersion receives, as an ERROR event. */
export function tooOldResourceVersion(requested: number, oldest: number): ApiError {
  return new ApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

/** The 410 an expired continue token receives. */
export function continueExpired(inconsistentContinue?: string): ApiError {
  return new ApiError(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    undefined,
    inconsistentContinue ? { continue: inconsistentContinue } : {},
  );
}
