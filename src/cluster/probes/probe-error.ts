import type { ProbeErrorKind } from './results.js';

/** A probe failure carries its kind, because retrying fixes a `failure` but not `not-permitted` or `unavailable`. */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly kind: ProbeErrorKind = 'failure',
    /** The HTTP status, when there was an answer. */
    readonly status: number | undefined = undefined,
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}

/** Turns any thrown value into a ProbeError (a bug or a library error becomes a plain `failure`). */
export function toProbeError(error: unknown): ProbeError {
  if (error instanceof ProbeError) return error;
  return new ProbeError(error instanceof Error ? error.message : String(error));
}

/** The message of a `Status` object or the start of a text body. */
function messageOf(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
      const message = (parsed as { message?: unknown }).message;
      if (typeof message === 'string') return message;
    }
  } catch {
    // Not JSON: the text itself.
  }
  return body.trim().slice(0, 200);
}

/** Builds the error for a non-200 answer, where 401/403 are `not-permitted` (RBAC) and retrying will not fix them. */
export function statusError(what: string, status: number, body: string): ProbeError {
  const message = messageOf(body);
  const text = `${what}: HTTP ${status}${message ? ` ${message}` : ''}`;
  if (status === 401 || status === 403)
    return new ProbeError(`${text} (not permitted)`, 'not-permitted', status);
  return new ProbeError(text, 'failure', status);
}
