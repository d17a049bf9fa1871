/** A probe failure with its kind: retrying fixes a `failure`, not `not-permitted` or `unavailable`. */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly kind: 'failure' | 'not-permitted' | 'unavailable' = 'failure',
  ) {
    super(message);
  }
}

/** The error for a non-200 answer. */
export function statusError(what: string, status: number, body: unknown): ProbeError {
  const message =
    typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : typeof body === 'string'
        ? body.slice(0, 200)
        : '';
  const text = `${what}: HTTP ${status}${message ? ` ${message}` : ''}`;
  if (status === 401 || status === 403) return new ProbeError(text, 'not-permitted');
  return new ProbeError(text);
}
