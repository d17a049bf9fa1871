import type { IncomingMessage, ServerResponse } from 'node:http';

/** Shared pieces of the HTTP API's handlers: errors, answers, query parameters, the route table. */

/** An error answered as `{ error, status }` with its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string,
  type: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(req, res, status, `${JSON.stringify(value, null, 2)}\n`, 'application/json; charset=utf-8', headers);
}

export function intParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, `${name} must be a non-negative integer`);
  const n = Number(raw);
  if (n > max) throw new HttpError(400, `${name} must be at most ${max}`);
  return n;
}

export function listParam<T extends string>(
  params: URLSearchParams,
  name: string,
  allowed?: readonly T[],
): Set<T> | undefined {
  const values = params
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (values.length === 0) return undefined;
  if (allowed) {
    const bad = values.find((v) => !allowed.includes(v as T));
    if (bad !== undefined) throw new HttpError(400, `${name} must be one of ${allowed.join(', ')}`);
  }
  return new Set(values as T[]);
}

export function page<T>(
  items: readonly T[],
  params: URLSearchParams,
): { total: number; limit: number; offset: number; items: T[] } {
  const limit = intParam(params, 'limit', 100, 1000);
  const offset = intParam(params, 'offset', 0, Number.MAX_SAFE_INTEGER);
  return { total: items.length, limit, offset, items: items.slice(offset, offset + limit) };
}

/** A time bound: epoch milliseconds, or an ISO 8601 date and time. */
export function timeParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name)?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  const t = /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(t))
    throw new HttpError(
      400,
      `${name} must be epoch milliseconds or an ISO 8601 time (e.g. 2026-01-31T12:00:00Z)`,
    );
  return t;
}

export function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  param: string | undefined,
) => void | Promise<void>;

export interface Route {
  isPublic: boolean;
  /** Methods besides GET and HEAD (which every route takes). */
  methods?: readonly ('POST' | 'DELETE')[];
  handle: Handler;
}
