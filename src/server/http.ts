import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Muted } from '../alerts/inhibit.js';
import type { Alert } from '../alerts/tracker.js';
import type { ServiceCounters, ServiceHealth } from '../app/service.js';
import { fingerprintOf, HealwatchError, LEVELS, type Finding, type Level } from '../domain/index.js';
import type { AlertEvent, HistoryQuery } from '../store/index.js';
import { renderMetrics } from './metrics.js';

/** What the HTTP API reads (the Service implements it; tests may stub it). */
export interface ServiceApi {
  health(): ServiceHealth;
  counters(): ServiceCounters;
  findings(): readonly Finding[];
  muted(): readonly Muted[];
  alerts(): readonly Alert[];
  /** The API server's clock now. */
  now(): number;
}

/** Options of the HTTP server. */
export interface ServerOptions {
  service: ServiceApi;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 8080; 0: any free port). */
  port?: number;
  /**
   * The bearer token every endpoint but `/healthz` and `/readyz` requires. Without one the server
   * only listens on a loopback address.
   */
  token?: string | undefined;
  /**
   * The durable store (`healwatch run --data DIR`), for `/api/v1/history`; without it that endpoint answers
   * 404.
   */
  store?: { history(query: HistoryQuery): AlertEvent[] } | undefined;
}

/** A listening server. */
export interface HttpServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` (IPv6 hosts in brackets). */
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Whether an address is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** Refuses an empty token, and a non-loopback address without a token (the API would be open). */
export function assertSafeListen(host: string, token: string | undefined): void {
  if (token !== undefined && token.trim() === '')
    throw new HealwatchError('HW_ERR_USAGE', 'the API token is empty');
  if (token === undefined && !isLoopback(host)) {
    throw new HealwatchError(
      'HW_ERR_USAGE',
      `refusing to listen on ${host} without a token: the API would be open to the network; pass --token-file FILE (or set HEALWATCH_TOKEN), or listen on 127.0.0.1`,
    );
  }
}

/** Parses `HOST:PORT`, `[IPV6]:PORT` or a bare `PORT` (loopback). */
export function parseListen(text: string): { host: string; port: number } {
  const bad = (why: string): HealwatchError =>
    new HealwatchError(
      'HW_ERR_USAGE',
      `--listen ${text}: ${why} (use HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)`,
    );
  let host: string;
  let portText: string;
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (/^\d+$/.test(text)) {
    host = '127.0.0.1';
    portText = text;
  } else {
    const i = text.lastIndexOf(':');
    if (i <= 0) throw bad('no host');
    host = text.slice(0, i);
    portText = text.slice(i + 1);
    if (host.includes(':')) throw bad('an IPv6 address must be in brackets');
  }
  if (!/^\d+$/.test(portText)) throw bad('the port must be a number');
  const port = Number(portText);
  if (port > 65_535) throw bad('the port must be at most 65535');
  return { host, port };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Checks the Authorization header against the token in constant time (over the token's digest). */
function authorize(req: IncomingMessage, tokenDigest: Buffer | undefined): void {
  if (!tokenDigest) return;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) {
    throw new HttpError(401, 'a bearer token is required', {
      'WWW-Authenticate': 'Bearer realm="healwatch"',
    });
  }
  if (!timingSafeEqual(digest(m[1]!), tokenDigest)) {
    throw new HttpError(401, 'the bearer token is not valid', {
      'WWW-Authenticate': 'Bearer realm="healwatch", error="invalid_token"',
    });
  }
}

function send(
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

function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(req, res, status, `${JSON.stringify(value, null, 2)}\n`, 'application/json; charset=utf-8', headers);
}

function intParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, `${name} must be a non-negative integer`);
  const n = Number(raw);
  if (n > max) throw new HttpError(400, `${name} must be at most ${max}`);
  return n;
}

function listParam<T extends string>(
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

function page<T>(
  items: readonly T[],
  params: URLSearchParams,
): { total: number; limit: number; offset: number; items: T[] } {
  const limit = intParam(params, 'limit', 100, 1000);
  const offset = intParam(params, 'offset', 0, Number.MAX_SAFE_INTEGER);
  return { total: items.length, limit, offset, items: items.slice(offset, offset + limit) };
}

/** A time bound: epoch milliseconds, or an ISO 8601 date and time. */
function timeParam(params: URLSearchParams, name: string): number | undefined {
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

function alertJson(a: Alert): unknown {
  return {
    fingerprint: a.fingerprint,
    state: a.state,
    level: a.level,
    ruleId: a.finding.ruleId,
    object: a.finding.object,
    title: a.finding.title,
    pendingSince: a.pendingSince,
    firingSince: a.firingSince ?? null,
    resolvedAt: a.resolvedAt ?? null,
    lastSeenAt: a.lastSeenAt,
    flaps: a.flaps,
    levelHistory: a.levelHistory,
    finding: a.finding,
  };
}

const LEVEL_ORDER = (l: Level): number => LEVELS.indexOf(l);

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** The routes of the API; `/healthz` and `/readyz` need no token. */
function routes(
  service: ServiceApi,
  store: ServerOptions['store'],
): Map<string, { isPublic: boolean; handle: Route }> {
  const r = new Map<string, { isPublic: boolean; handle: Route }>();
  r.set('/healthz', {
    isPublic: true,
    handle: (req, res) => send(req, res, 200, 'ok\n', 'text/plain; charset=utf-8'),
  });
  r.set('/readyz', {
    isPublic: true,
    handle: (req, res) => {
      const h = service.health();
      sendJson(req, res, h.ready ? 200 : 503, {
        ready: h.ready,
        state: h.state,
        synced: h.synced,
        ...(h.reason !== undefined ? { reason: h.reason } : {}),
        blindSpots: h.blindSpots,
      });
    },
  });
  r.set('/api/v1/findings', {
    isPublic: false,
    handle: (req, res, url) => {
      const p = url.searchParams;
      const levels = listParam(p, 'level', LEVELS);
      const namespaces = listParam(p, 'namespace');
      const rules = listParam(p, 'rule');
      const items = service
        .findings()
        .filter(
          (f) =>
            (!levels || levels.has(f.level)) &&
            (!namespaces || namespaces.has(f.object.namespace ?? '')) &&
            (!rules || rules.has(f.ruleId)),
        )
        .sort(
          (a, b) =>
            LEVEL_ORDER(b.level) - LEVEL_ORDER(a.level) || fingerprintOf(a).localeCompare(fingerprintOf(b)),
        )
        .map((f) => ({ fingerprint: fingerprintOf(f), ...f }));
      const h = service.health();
      sendJson(req, res, 200, {
        at: h.lastEvaluation?.at ?? null,
        muted: service.muted().length,
        ...page(items, p),
      });
    },
  });
  r.set('/api/v1/alerts', {
    isPublic: false,
    handle: (req, res, url) => {
      const p = url.searchParams;
      const states = listParam(p, 'state', ['pending', 'firing', 'resolved'] as const);
      const levels = listParam(p, 'level', LEVELS);
      const items = service
        .alerts()
        .filter((a) => (!states || states.has(a.state)) && (!levels || levels.has(a.level)))
        .sort(
          (a, b) => LEVEL_ORDER(b.level) - LEVEL_ORDER(a.level) || a.fingerprint.localeCompare(b.fingerprint),
        )
        .map(alertJson);
      sendJson(req, res, 200, { at: service.now(), ...page(items, p) });
    },
  });
  r.set('/api/v1/history', {
    isPublic: false,
    handle: (req, res, url) => {
      if (!store)
        throw new HttpError(
          404,
          'no alert history: Healwatch was started without --data DIR, so alerts are kept in memory only',
        );
      const p = url.searchParams;
      const fingerprint = p.get('fingerprint')?.trim() || undefined;
      const from = timeParam(p, 'from');
      const to = timeParam(p, 'to');
      if (from !== undefined && to !== undefined && to < from)
        throw new HttpError(400, 'to must not be before from');
      const limit = intParam(p, 'limit', 100, 1000);
      const orderRaw = p.get('order') ?? 'desc';
      if (orderRaw !== 'asc' && orderRaw !== 'desc')
        throw new HttpError(400, 'order must be one of asc, desc');
      const items = store.history({ fingerprint, from, to, limit, order: orderRaw });
      sendJson(req, res, 200, {
        at: service.now(),
        fingerprint: fingerprint ?? null,
        from: from ?? null,
        to: to ?? null,
        limit,
        order: orderRaw,
        items: items.map((e) => ({ ...e, previousLevel: e.previousLevel ?? null })),
      });
    },
  });
  r.set('/api/v1/health', {
    isPublic: false,
    handle: (req, res) => sendJson(req, res, 200, service.health()),
  });
  r.set('/metrics', {
    isPublic: false,
    handle: (req, res) =>
      send(
        req,
        res,
        200,
        renderMetrics({
          counters: service.counters(),
          health: service.health(),
          alerts: service.alerts(),
          findings: service.findings(),
        }),
        'text/plain; version=0.0.4; charset=utf-8',
      ),
  });
  return r;
}

/**
 * Starts the HTTP API: `/healthz`, `/readyz`, `/api/v1/findings`, `/api/v1/alerts`, `/api/v1/history`
 * (with a store), `/api/v1/health` and `/metrics`. With a token, everything but the two health endpoints needs `Authorization: Bearer`;
 * without one, it refuses to listen anywhere but loopback.
 */
export async function startServer(options: ServerOptions): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const token = options.token;
  assertSafeListen(host, token);
  const tokenDigest = token === undefined ? undefined : digest(token);
  const table = routes(options.service, options.store);
  const server = createServer((req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://healwatch.invalid');
      const route = table.get(url.pathname);
      if (!route?.isPublic) authorize(req, tokenDigest);
      if (!route) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      if (req.method !== 'GET' && req.method !== 'HEAD')
        throw new HttpError(405, `method ${req.method ?? ''} not allowed`, { Allow: 'GET, HEAD' });
      route.handle(req, res, url);
    } catch (error) {
      if (error instanceof HttpError) {
        sendJson(req, res, error.status, { error: error.message, status: error.status }, error.headers);
        return;
      }
      sendJson(req, res, 500, { error: 'internal error', status: 500 });
    }
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        new HealwatchError(
          'HW_ERR_USAGE',
          `cannot listen on ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'the address is in use' : error.code === 'EACCES' ? 'permission denied' : error.message}`,
          1,
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    url: `http://${shown}:${address.port}`,
    server,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
