import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Muted } from '../alerts/inhibit.js';
import type { Alert } from '../alerts/tracker.js';
import type { ServiceCounters, ServiceHealth } from '../app/service.js';
import { fingerprintOf, HealwatchError, LEVELS, type Finding, type Level } from '../domain/index.js';
import { parseSilenceRequest, silenceJson, silenceState, SILENCE_STATES } from '../notify/silences.js';
import type { HeartbeatHealth } from '../notify/heartbeat.js';
import type { ReceiverHealth } from '../notify/types.js';
import type { Store } from '../store/index.js';
import { dashboardRoutes, type DashboardSource, type DashboardStore } from './dashboard.js';
import { renderMetrics } from './metrics.js';
import {
  HttpError,
  intParam,
  iso,
  listParam,
  page,
  send,
  sendJson,
  timeParam,
  type Route,
} from './respond.js';

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
   * The durable store (`healwatch run --data DIR`), for `/api/v1/history` and `/api/v1/silences`; without
   * it the history answers 404 and the silences 503.
   */
  store?: ServerStore | undefined;
  /** The notification service, for `/api/v1/receivers` and the notification metrics; without it there are no receivers. */
  notifications?: NotificationsApi | undefined;
}

/** What the HTTP API uses of the durable store (a `Store` fits). */
export type ServerStore = Pick<
  Store,
  'history' | 'addSilence' | 'getSilence' | 'listSilences' | 'expireSilence'
>;

/** What the HTTP API reads of the notification service. */
export interface NotificationsApi {
  /** How each configured receiver is doing, by name. */
  receivers(): readonly ReceiverHealth[];
  /** The dead man's switch heartbeat, when configured. */
  heartbeatHealth?(): HeartbeatHealth | undefined;
}

/** The largest request body the API reads (a silence is far smaller). */
export const MAX_BODY_BYTES = 64 * 1024;

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

function heartbeatJson(h: HeartbeatHealth | undefined): unknown {
  if (!h) return null;
  return {
    intervalSeconds: h.intervalMs / 1000,
    lastPingAt: iso(h.lastPingAt),
    lastError: h.lastError ?? null,
    lastErrorAt: iso(h.lastErrorAt),
    skipped: h.skipped,
  };
}

function receiverJson(r: ReceiverHealth): unknown {
  return {
    name: r.name,
    type: r.type,
    state: r.state,
    queued: r.queued,
    sent: r.sent,
    dead: r.dead,
    suppressed: r.suppressed,
    failedAttempts: r.failedAttempts,
    sinceStart: r.sinceStart,
    lastSentAt: iso(r.lastSentAt),
    lastError: r.lastError ?? null,
    lastErrorAt: iso(r.lastErrorAt),
    nextAttemptAt: iso(r.nextAttemptAt),
    oldestQueuedAt: iso(r.oldestQueuedAt),
  };
}

/** Reads a JSON request body of at most `MAX_BODY_BYTES`. */
function readJson(req: IncomingMessage): Promise<unknown> {
  const tooLarge = (): HttpError =>
    new HttpError(413, `the request body is larger than ${MAX_BODY_BYTES / 1024} KiB`, {
      Connection: 'close',
    });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.off('end', onEnd);
        // Drain the rest; the answer closes the connection.
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        reject(new HttpError(400, 'body: a JSON object is required'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new HttpError(400, `body: not valid JSON (${(error as Error).message})`));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}

/** The host name of a `Host` header (`name`, `name:port`, `[v6]:port`). */
function hostName(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  const i = header.lastIndexOf(':');
  return i >= 0 && header.indexOf(':') === i ? header.slice(0, i) : header;
}

/**
 * Refuses a state-changing request a browser may have sent on behalf of another site: one whose `Origin`
 * is not this server's own (as the `Host` header names it), and, when the API has no token, one whose
 * `Host` is not a loopback name (a DNS-rebound site would send its own name).
 */
function checkSameOrigin(req: IncomingMessage, hasToken: boolean): void {
  const host = req.headers.host?.trim().toLowerCase() ?? '';
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      const u = new URL(origin);
      if (u.protocol === 'http:' || u.protocol === 'https:') originHost = u.host.toLowerCase();
    } catch {
      // `null` or garbage: not our origin
    }
    if (originHost === undefined || originHost !== host)
      throw new HttpError(
        403,
        `cross-site request refused: Origin ${origin} is not this server's origin; use the CLI or a same-origin client`,
      );
  }
  if (!hasToken && !isLoopback(hostName(host)))
    throw new HttpError(
      403,
      `request refused: without an API token, changes are only accepted for a loopback Host (127.0.0.1, [::1] or localhost), not ${host === '' ? 'an empty Host' : host}`,
    );
}

/** `/api/v1/silences/ID`: the ID, or undefined when the path names no silence. */
function silenceId(param: string | undefined): number | undefined {
  if (param === undefined || !/^[1-9]\d{0,14}$/.test(param)) return undefined;
  return Number(param);
}

/** The routes of the API; `/healthz` and `/readyz` need no token. */
function routes(options: ServerOptions): {
  exact: Map<string, Route>;
  prefixed: Map<string, Route>;
} {
  const { service, store, notifications } = options;
  const r = new Map<string, Route>();
  const prefixed = new Map<string, Route>();
  const needStore = (): ServerStore => {
    if (!store) throw new HttpError(503, 'silences need the durable store: run with --data DIR');
    return store;
  };
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
  r.set('/api/v1/silences', {
    isPublic: false,
    methods: ['POST'],
    handle: async (req, res, url) => {
      const st = needStore();
      const now = service.now();
      if (req.method === 'POST') {
        const body = await readJson(req);
        let input;
        try {
          input = parseSilenceRequest(body, now);
        } catch (error) {
          if (error instanceof HealwatchError) throw new HttpError(400, error.message);
          throw error;
        }
        let created;
        try {
          created = st.addSilence(input);
        } catch (error) {
          if (error instanceof HealwatchError)
            throw new HttpError(500, `cannot store the silence: ${error.message}`);
          throw error;
        }
        sendJson(req, res, 201, silenceJson(created, now), {
          Location: `/api/v1/silences/${created.id}`,
        });
        return;
      }
      const p = url.searchParams;
      const states = listParam(p, 'state', [...SILENCE_STATES, 'all'] as const);
      const all = !states || states.has('all');
      const items = st
        .listSilences()
        .filter((s) => all || states.has(silenceState(s, now)))
        .map((s) => silenceJson(s, now));
      sendJson(req, res, 200, {
        at: new Date(now).toISOString(),
        state: all ? 'all' : [...states].join(','),
        ...page(items, p),
      });
    },
  });
  prefixed.set('/api/v1/silences/', {
    isPublic: false,
    methods: ['DELETE'],
    handle: (req, res, _url, param) => {
      const st = needStore();
      const now = service.now();
      const id = silenceId(param);
      const silence = id === undefined ? undefined : st.getSilence(id);
      if (id === undefined || !silence) throw new HttpError(404, `no silence with id ${param ?? ''}`);
      if (req.method === 'DELETE') {
        if (silenceState(silence, now) === 'expired' || !st.expireSilence(id, now)) {
          const over = st.getSilence(id) ?? silence;
          const at = Math.min(over.endsAt, over.expiredAt ?? Number.POSITIVE_INFINITY);
          throw new HttpError(409, `silence ${id} already expired at ${new Date(at).toISOString()}`);
        }
        sendJson(req, res, 200, silenceJson(st.getSilence(id) ?? silence, now));
        return;
      }
      sendJson(req, res, 200, silenceJson(silence, now));
    },
  });
  r.set('/api/v1/receivers', {
    isPublic: false,
    handle: (req, res) =>
      sendJson(req, res, 200, {
        receivers: (notifications?.receivers() ?? []).map(receiverJson),
        heartbeat: heartbeatJson(notifications?.heartbeatHealth?.()),
      }),
  });
  r.set('/metrics', {
    isPublic: false,
    handle: (req, res) => {
      let activeSilences: number | undefined;
      if (store) {
        try {
          activeSilences = store.listSilences({ activeAt: service.now() }).length;
        } catch {
          // A busy or broken store must not fail the scrape: leave the gauge out.
        }
      }
      send(
        req,
        res,
        200,
        renderMetrics({
          counters: service.counters(),
          health: service.health(),
          alerts: service.alerts(),
          findings: service.findings(),
          receivers: notifications?.receivers(),
          activeSilences,
        }),
        'text/plain; version=0.0.4; charset=utf-8',
      );
    },
  });
  // The dashboard and the API it reads, when the service can show its view (the real Service can).
  if ('view' in service && typeof (service as Partial<DashboardSource>).view === 'function') {
    const dash = dashboardRoutes({
      source: service as ServiceApi & DashboardSource,
      store: store && 'recentOutbox' in store ? (store as unknown as DashboardStore) : undefined,
      receivers: () => notifications?.receivers() ?? [],
    });
    for (const [k, v] of dash.exact) r.set(k, v);
    for (const [k, v] of dash.prefixed) prefixed.set(k, v);
  }
  return { exact: r, prefixed };
}

/**
 * Starts the HTTP API: `/healthz`, `/readyz`, `/api/v1/findings`, `/api/v1/alerts`, `/api/v1/history`
 * and `/api/v1/silences` (with a store), `/api/v1/receivers`, `/api/v1/health` and `/metrics` (see
 * docs/api.md). With a token, everything but the two health endpoints needs `Authorization: Bearer`;
 * without one, it refuses to listen anywhere but loopback. POST and DELETE are refused from another
 * origin (a browser on another site), and without a token unless the Host is a loopback name.
 */
export async function startServer(options: ServerOptions): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const token = options.token;
  assertSafeListen(host, token);
  const tokenDigest = token === undefined ? undefined : digest(token);
  const table = routes(options);
  const lookup = (path: string): { route: Route; param?: string } | undefined => {
    const route = table.exact.get(path);
    if (route) return { route };
    for (const [prefix, r] of table.prefixed) {
      const rest = path.slice(prefix.length);
      if (path.startsWith(prefix) && rest !== '' && !rest.includes('/')) return { route: r, param: rest };
    }
    return undefined;
  };
  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://healwatch.invalid');
      const found = lookup(url.pathname);
      if (!found?.route.isPublic) {
        authorize(req, tokenDigest);
        // Without a token the API listens on loopback only; a page whose DNS name was rebound to
        // 127.0.0.1 would still send its own name as Host: its reads are refused too, not only changes.
        if (tokenDigest === undefined) {
          const host = req.headers.host?.trim().toLowerCase() ?? '';
          if (!isLoopback(hostName(host)))
            throw new HttpError(
              403,
              `request refused: without an API token, only a loopback Host (127.0.0.1, [::1] or localhost) is served, not ${host === '' ? 'an empty Host' : host}`,
            );
        }
      }
      if (!found) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      const { route, param } = found;
      const allowed = ['GET', 'HEAD', ...(route.methods ?? [])];
      const method = req.method ?? '';
      if (!allowed.includes(method))
        throw new HttpError(405, `method ${method} not allowed`, { Allow: allowed.join(', ') });
      if (method !== 'GET' && method !== 'HEAD') {
        checkSameOrigin(req, tokenDigest !== undefined);
        if (method === 'POST') {
          const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (type !== 'application/json')
            throw new HttpError(415, 'the request body must be JSON: send Content-Type: application/json');
        }
      }
      await route.handle(req, res, url, param);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(req, res, error.status, { error: error.message, status: error.status }, error.headers);
        return;
      }
      sendJson(req, res, 500, { error: 'internal error', status: 500 });
    }
  };
  const server = createServer((req, res) => void dispatch(req, res));
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
        // Requests under way get a second to finish; open event streams (the dashboard's) never do.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      return closing;
    },
  };
}
