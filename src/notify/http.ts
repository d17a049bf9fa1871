import { redact, type Secret } from './secret.js';
import type { DeliveryResult } from './types.js';

/** Default time a receiver has to answer. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * How long `Retry-After` asks to wait: seconds, or an HTTP date (relative to `now`). Undefined when
 * absent or unreadable; never negative.
 */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Whether an HTTP status is worth retrying: 408, 425, 429 and 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The request: URL (a Secret when the URL itself is secret), method, headers, body. */
export interface HttpRequest {
  readonly url: string | Secret;
  readonly method?: 'POST' | 'PUT' | 'GET';
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is (a string) or as JSON (anything else). */
  readonly body?: unknown;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** A receiver's answer, when it answered. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * Sends one request with Node's `fetch` and classifies the outcome: 2xx is delivered; 408/425/429/5xx and
 * network errors or timeouts are retryable (with `Retry-After` when given); any other status is not.
 * `accept` can refine a 2xx answer (Slack answers 200 with a body). The error text holds the status and
 * the start of the answer, run through `redact`: never the URL, which may be a secret.
 */
export async function send(
  request: HttpRequest,
  accept?: (answer: HttpAnswer) => DeliveryResult | undefined,
): Promise<DeliveryResult> {
  const url = typeof request.url === 'string' ? request.url : request.url.reveal();
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? request.body
        : JSON.stringify(request.body);
  const timeout = AbortSignal.timeout(request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method ?? 'POST',
      headers: {
        ...(body !== undefined && typeof request.body !== 'string'
          ? { 'content-type': 'application/json' }
          : {}),
        'user-agent': 'healwatch',
        ...request.headers,
      },
      ...(body !== undefined ? { body } : {}),
      signal,
      redirect: 'error',
    });
  } catch (error) {
    const text = networkError(error, timeout);
    // A redirect is a configuration problem (the URL moved), not an outage.
    if (text.includes('redirect'))
      return { ok: false, retryable: false, error: 'the receiver answered with a redirect: check the URL' };
    return { ok: false, retryable: true, error: text };
  }
  let text = '';
  try {
    text = await response.text();
  } catch (error) {
    if (!response.ok) return { ok: false, retryable: true, error: networkError(error, timeout) };
  }
  const answer: HttpAnswer = { status: response.status, headers: response.headers, text };
  const refined = accept?.(answer);
  if (refined) return refined;
  if (response.status >= 200 && response.status < 300) return { ok: true, detail: `HTTP ${response.status}` };
  const retryable = isRetryableStatus(response.status);
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  return {
    ok: false,
    retryable,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    error: httpError(answer),
  };
}

/** `HTTP 400: <start of the body>`, secrets removed. */
export function httpError(answer: HttpAnswer): string {
  // Redact before cutting: a secret cut in half would no longer be recognised.
  const body = redact(answer.text).replace(/\s+/g, ' ').trim().slice(0, 300);
  return `HTTP ${answer.status}${body ? `: ${body}` : ''}`;
}

/** System network error codes in words (shared by the HTTP receivers and e-mail). */
export const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed (temporary)',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** A network error in a sentence, without the URL (undici's messages and causes may carry it). */
function networkError(error: unknown, timeout: AbortSignal): string {
  if (timeout.aborted) return 'no answer before the timeout';
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'AbortError') return 'aborted (shutting down)';
  const code = e.cause?.code;
  const known: Record<string, string> = {
    ...NETWORK_ERRORS,
    UND_ERR_SOCKET: 'connection closed by the receiver',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  };
  if (code && known[code]) return known[code];
  return redact(`request failed: ${e.cause?.message ?? e.message ?? String(error)}`).replace(
    /https?:\/\/\S+/g,
    '<url>',
  );
}
