import { createReadStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Alert } from '../alerts/tracker.js';
import type { ServiceHealth } from '../app/service.js';
import {
  DEFAULT_ADDON_NAMESPACES,
  detectPlatform,
  inventoryControlPlane,
  inventoryCore,
  type ClusterView,
} from '../cluster/index.js';
import { fingerprintOf, refText, type Finding, type Level } from '../domain/index.js';
import type { OutboxPayload, ReceiverHealth } from '../notify/types.js';
import type { OutboxMessage, SamplePoint } from '../store/index.js';
import { HttpError, intParam, iso, sendJson, timeParam, type Route } from './respond.js';

/** What the dashboard reads of the service (the Service implements it). */
export interface DashboardSource {
  view(): ClusterView | undefined;
  findings(): readonly Finding[];
  alerts(): readonly Alert[];
  health(): ServiceHealth;
  now(): number;
  /** The cluster's name and the add-on namespaces from the configuration. */
  settings?(): { clusterName: string | undefined; addonNamespaces: readonly string[] };
}

/** What the dashboard reads of the store. */
export interface DashboardStore {
  seriesNames(): string[];
  querySamples(series: string, from: number, to: number): SamplePoint[];
  recentOutbox(query?: { receiver?: string; fingerprint?: string; limit?: number }): OutboxMessage[];
}

/** `red` (an Alert fires), `amber` (a Notice fires, or something pends or degrades), `green`, `grey` (not observable). */
export type Colour = 'red' | 'amber' | 'green' | 'grey';

const RANK: Record<Colour, number> = { grey: 0, green: 1, amber: 2, red: 3 };
const worst = (...cs: Colour[]): Colour =>
  cs.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), 'green' as Colour);

/** The colour an alert gives what it is about. */
function alertColour(a: Alert): Colour {
  if (a.state === 'firing') return a.level === 'alert' ? 'red' : a.level === 'notice' ? 'amber' : 'green';
  if (a.state === 'pending' && a.level !== 'none') return 'amber';
  return 'green';
}

interface Related {
  colour: Colour;
  alerts: { fingerprint: string; level: Level; state: string; title: string }[];
}

/** Indexes the active alerts (Notice and Alert) by what they touch: component, node, object, namespace. */
class AlertIndex {
  private readonly by = new Map<string, Alert[]>();
  constructor(alerts: readonly Alert[]) {
    for (const a of alerts) {
      if (a.state === 'resolved' || a.level === 'none') continue;
      const f = a.finding;
      const keys = new Set<string>([`object:${refText(f.object)}`]);
      if (f.object.namespace) keys.add(`ns:${f.object.namespace}`);
      if (f.object.kind === 'Component') keys.add(`component:${f.object.name}`);
      if (f.object.kind === 'Node') keys.add(`node:${f.object.name}`);
      if (typeof f.facts.component === 'string') keys.add(`component:${f.facts.component}`);
      if (typeof f.facts.node === 'string') keys.add(`node:${f.facts.node}`);
      for (const k of keys) {
        const list = this.by.get(k) ?? [];
        list.push(a);
        this.by.set(k, list);
      }
    }
  }
  related(...keys: string[]): Related {
    const seen = new Map<string, Alert>();
    for (const k of keys) for (const a of this.by.get(k) ?? []) seen.set(a.fingerprint, a);
    const list = [...seen.values()];
    return {
      colour: worst(...list.map(alertColour)),
      alerts: list.map((a) => ({
        fingerprint: a.fingerprint,
        level: a.level,
        state: a.state,
        title: a.finding.title,
      })),
    };
  }
}

/** What each kind of node component does for self-healing (shown beside it). */
const NODE_WHEN_DOWN =
  'its pods are not restarted or reported; after the eviction timeout they are replaced on other nodes';

/**
 * Values computed once per evaluation: the map and the node inventory change with the alerts, which change
 * only when the rules run; between two evaluations every page view gets the same answer without walking
 * 150,000 pods again.
 */
class PerEvaluation<T> {
  private at: number | undefined;
  private value: T | undefined;
  get(source: DashboardSource, compute: () => T): T {
    const at = source.health().lastEvaluation?.at;
    if (at === undefined || at !== this.at || this.value === undefined) {
      this.value = compute();
      this.at = at;
    }
    return this.value;
  }
}

/** The self-healing map: control plane, nodes, cluster components and workloads, each with a colour. */
export function overview(source: DashboardSource, receivers: readonly ReceiverHealth[]): unknown {
  const view = source.view();
  const now = source.now();
  const health = source.health();
  const alerts = source.alerts();
  const index = new AlertIndex(alerts);
  const settings = source.settings?.() ?? {
    clusterName: undefined,
    addonNamespaces: DEFAULT_ADDON_NAMESPACES,
  };
  const firing = alerts.filter((a) => a.state === 'firing');
  const counts = {
    alerts: firing.filter((a) => a.level === 'alert').length,
    notices: firing.filter((a) => a.level === 'notice').length,
    pending: alerts.filter((a) => a.state === 'pending' && a.level !== 'none').length,
  };
  const monitor = {
    ready: health.ready,
    reason: health.reason ?? null,
    blind: health.blindSpots.map((b) => b.resource),
    watchLagSeconds: watchLag(health, Date.now()),
    lastEvaluation: health.lastEvaluation ? iso(health.lastEvaluation.at) : null,
    receiversFailing: receivers.filter((r) => r.state === 'failing').map((r) => r.name),
  };
  if (!view)
    return {
      cluster: settings.clusterName ?? null,
      counts,
      monitor,
      controlPlane: [],
      nodes: null,
      components: [],
      namespaces: [],
    };
  const platform = detectPlatform(view, view.probes.version);
  const controlPlane = inventoryControlPlane(view, now, platform, view.probes.readyz).map((c) => {
    const rel = index.related(`component:${c.name}`);
    const managed = c.status === 'not observable here (provider-managed)';
    const own: Colour = managed
      ? 'grey'
      : c.status === 'Unhealthy'
        ? 'red'
        : c.status === 'unknown'
          ? 'grey'
          : 'green';
    return {
      name: c.name,
      status: managed ? 'owned by the provider' : c.status,
      reason: c.reason ?? null,
      whenDown: c.whenDown,
      colour: managed && rel.alerts.length === 0 ? 'grey' : worst(own, rel.colour),
      alerts: rel.alerts,
    };
  });
  const core = inventoryCore(view, now, settings.addonNamespaces);
  const nodeItems = core.nodes.map((n) => {
    const rel = index.related(`node:${n.name}`, `object:Node/${n.name}`);
    const own: Colour = n.status === 'Ready' ? 'green' : 'red';
    return {
      name: n.name,
      status: n.status,
      reason: n.reason ?? null,
      colour: worst(own, rel.colour),
      alerts: rel.alerts.length,
    };
  });
  const nodeColour = worst(...nodeItems.map((n) => n.colour));
  // Large clusters: the map shows the nodes that need attention first, and at most 60.
  const shownNodes = [...nodeItems]
    .sort((a, b) => RANK[b.colour] - RANK[a.colour] || (a.name < b.name ? -1 : 1))
    .slice(0, 60);
  const components = core.workloads.map((w) => {
    // By the object only: several workloads share a component name (cert-manager and its webhook).
    const rel = index.related(`object:${w.kind}/${w.namespace}/${w.name}`);
    const own: Colour = w.status === 'Down' ? 'red' : w.status === 'Degraded' ? 'amber' : 'green';
    return {
      namespace: w.namespace,
      kind: w.kind,
      name: w.name,
      component: w.component ?? null,
      desired: w.desired,
      available: w.available,
      status: w.status,
      whenDown: w.whenDown ?? null,
      colour: worst(own, rel.colour),
      alerts: rel.alerts,
    };
  });
  const componentNamespaces = new Set(['kube-system', ...settings.addonNamespaces]);
  const namespaces = new Map<
    string,
    { namespace: string; workloads: number; degraded: number; colour: Colour; alerts: number }
  >();
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const) {
    for (const w of view.list(kind)) {
      const ns = w.namespace ?? '';
      if (componentNamespaces.has(ns)) continue;
      const row = namespaces.get(ns) ?? {
        namespace: ns,
        workloads: 0,
        degraded: 0,
        colour: 'green' as Colour,
        alerts: 0,
      };
      row.workloads++;
      const [desired, available] = desiredAvailable(w);
      if (available < desired) row.degraded++;
      namespaces.set(ns, row);
    }
  }
  for (const row of namespaces.values()) {
    const rel = index.related(`ns:${row.namespace}`);
    row.colour = worst(row.degraded > 0 ? 'amber' : 'green', rel.colour);
    row.alerts = rel.alerts.length;
  }
  return {
    cluster: settings.clusterName ?? null,
    platform: platform.label,
    version: view.probes.version?.gitVersion ?? null,
    counts,
    monitor,
    controlPlane,
    nodes: {
      total: nodeItems.length,
      ready: nodeItems.filter((n) => n.status === 'Ready').length,
      colour: nodeItems.length === 0 ? 'grey' : nodeColour,
      whenDown: NODE_WHEN_DOWN,
      shown: shownNodes,
    },
    components,
    namespaces: [...namespaces.values()].sort(
      (a, b) => RANK[b.colour] - RANK[a.colour] || (a.namespace < b.namespace ? -1 : 1),
    ),
  };
}

/** Seconds since the quietest synced watch last heard anything (events or bookmarks). */
function watchLag(health: ServiceHealth, now: number): number | null {
  const ages = health.watches
    .filter((w) => w.isSynced && w.lastEventAt !== undefined)
    .map((w) => (now - w.lastEventAt!) / 1000);
  return ages.length === 0 ? null : Math.round(Math.max(...ages));
}

type WorkloadRec = { kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' } & Record<string, unknown>;
function desiredAvailable(w: unknown): [number, number] {
  const r = w as WorkloadRec & {
    replicas?: number;
    availableReplicas?: number;
    desired?: number;
    available?: number;
  };
  return r.kind === 'DaemonSet'
    ? [r.desired ?? 0, r.available ?? 0]
    : [r.replicas ?? 0, r.availableReplicas ?? 0];
}

/** A filter on names: case-insensitive substring. */
function matches(q: string | null, ...values: (string | undefined)[]): boolean {
  if (!q) return true;
  const needle = q.toLowerCase();
  return values.some((v) => v?.toLowerCase().includes(needle));
}

function pageOf<T>(
  items: T[],
  params: URLSearchParams,
): { total: number; offset: number; limit: number; items: T[] } {
  const limit = intParam(params, 'limit', 50, 500);
  const offset = intParam(params, 'offset', 0, Number.MAX_SAFE_INTEGER);
  return { total: items.length, offset, limit, items: items.slice(offset, offset + limit) };
}

interface NodeRow {
  name: string;
  status: string;
  reason: string | null;
  schedulable: boolean;
  roles: string[];
  zone: string | null;
  kubeletVersion: string;
  pods: number;
  heartbeatAgeSeconds: number | null;
  colour: Colour;
  alerts: number;
}

/** Every node as the Nodes page shows it, problems first. */
function nodeRows(source: DashboardSource, view: ClusterView): NodeRow[] {
  const index = new AlertIndex(source.alerts());
  return inventoryCore(view, source.now(), [])
    .nodes.map((n): NodeRow => {
      const rel = index.related(`node:${n.name}`, `object:Node/${n.name}`);
      return {
        name: n.name,
        status: n.status,
        reason: n.reason ?? null,
        schedulable: n.isSchedulable,
        roles: n.roles,
        zone: n.zone ?? null,
        kubeletVersion: n.kubeletVersion,
        pods: n.pods,
        heartbeatAgeSeconds: n.heartbeatAgeSeconds === undefined ? null : Math.round(n.heartbeatAgeSeconds),
        colour: worst(n.status === 'Ready' ? 'green' : 'red', rel.colour),
        alerts: rel.alerts.length,
      };
    })
    .sort((a, b) => RANK[b.colour] - RANK[a.colour] || (a.name < b.name ? -1 : 1));
}

/** Nodes: readiness, pods, zone, findings; problems first; paged and filterable (by name or zone). */
export function nodesPage(
  source: DashboardSource,
  params: URLSearchParams,
  cache?: PerEvaluation<NodeRow[]>,
): unknown {
  const view = source.view();
  if (!view) return { total: 0, offset: 0, limit: 0, items: [] };
  const q = params.get('q');
  const all = cache ? cache.get(source, () => nodeRows(source, view)) : nodeRows(source, view);
  return pageOf(q ? all.filter((n) => matches(q, n.name, n.zone ?? undefined)) : all, params);
}

/**
 * Workloads (Deployments, StatefulSets, DaemonSets): desired/available, restarts and placement across
 * nodes and zones for the page shown (the skew made visible); problems first; paged and filterable.
 */
export function workloadsPage(source: DashboardSource, params: URLSearchParams): unknown {
  const view = source.view();
  if (!view) return { total: 0, offset: 0, limit: 0, items: [] };
  const index = new AlertIndex(source.alerts());
  const q = params.get('q');
  const ns = params.get('namespace');
  const rows: {
    kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
    namespace: string;
    name: string;
    desired: number;
    available: number;
    colour: Colour;
    alerts: number;
  }[] = [];
  for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet'] as const) {
    for (const w of view.list(kind)) {
      const namespace = w.namespace ?? '';
      if (ns && namespace !== ns) continue;
      if (!matches(q, w.name, namespace)) continue;
      const [desired, available] = desiredAvailable(w);
      const rel = index.related(`object:${kind}/${namespace}/${w.name}`);
      rows.push({
        kind,
        namespace,
        name: w.name,
        desired,
        available,
        colour: worst(available < desired ? 'amber' : 'green', rel.colour),
        alerts: rel.alerts.length,
      });
    }
  }
  rows.sort(
    (a, b) =>
      RANK[b.colour] - RANK[a.colour] ||
      (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1),
  );
  const page = pageOf(rows, params);
  const zoneOf = new Map(view.list('Node').map((n) => [n.name, n.zone ?? '']));
  return {
    ...page,
    items: page.items.map((r) => {
      const pods = view.podsOf(r.kind, r.namespace, r.name).filter((p) => p.deletedAt === undefined);
      const byNode: Record<string, number> = {};
      const byZone: Record<string, number> = {};
      let restarts = 0;
      for (const p of pods) {
        for (const c of p.containers) restarts += c.restarts;
        if (!p.nodeName) continue;
        byNode[p.nodeName] = (byNode[p.nodeName] ?? 0) + 1;
        const z = zoneOf.get(p.nodeName) || '(no zone)';
        byZone[z] = (byZone[z] ?? 0) + 1;
      }
      const onOneNode = Math.max(0, ...Object.values(byNode));
      // The ten fullest nodes (a DaemonSet has one pod on each of thousands: the count says enough).
      const top = Object.entries(byNode)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, 10);
      return {
        ...r,
        pods: pods.length,
        restarts,
        placement: { nodes: Object.fromEntries(top), nodeCount: Object.keys(byNode).length, zones: byZone },
        // More than half of three or more replicas on one node: one node's loss takes most of it.
        skewed: r.kind !== 'DaemonSet' && pods.length >= 3 && onOneNode > pods.length / 2,
      };
    }),
  };
}

/** The notification history: what was sent to whom, and how it went. */
export function notificationsPage(store: DashboardStore, params: URLSearchParams): unknown {
  const limit = intParam(params, 'limit', 100, 1000);
  const receiver = params.get('receiver') ?? undefined;
  const fingerprint = params.get('fingerprint') ?? undefined;
  const items = store
    .recentOutbox({ ...(receiver ? { receiver } : {}), ...(fingerprint ? { fingerprint } : {}), limit })
    .map((m) => {
      const p = m.payload as Partial<OutboxPayload>;
      return {
        id: m.id,
        receiver: m.receiver,
        kind: m.kind,
        state: m.state,
        fingerprint: m.fingerprint ?? null,
        level: m.level ?? null,
        title: p.alert?.title ?? null,
        createdAt: iso(m.createdAt),
        notBefore: iso(m.nextAttemptAt),
        sentAt: iso(m.sentAt),
        attempts: m.attempts,
        lastError: m.lastError ?? null,
      };
    });
  return { items };
}

/** Points of one or more series between `from` and `to` (default: the last `window` ms, 6 hours). */
export function seriesPoints(store: DashboardStore, params: URLSearchParams, now: number): unknown {
  const names = params.getAll('series');
  if (names.length === 0) return { series: store.seriesNames() };
  if (names.length > 20) throw new HttpError(400, 'at most 20 series at once');
  // Times are the API server's (the samples' clock); `window` asks for the last so many ms up to now.
  const to = timeParam(params, 'to') ?? now;
  const window = intParam(params, 'window', 6 * 3_600_000, 400 * 86_400_000);
  const from = timeParam(params, 'from') ?? to - window;
  if (!(from < to)) throw new HttpError(400, 'from must be before to');
  return {
    from: iso(from),
    to: iso(to),
    series: names.map((name) => ({
      name,
      points: store.querySamples(name, from, to).map((p) => [p.at, p.value]),
    })),
  };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);

/** The dashboard's files: the page and styles from `web/`, its compiled script from `dist/web/`, uPlot. */
function assetPath(name: string): string | undefined {
  const table: Record<string, string> = {
    'index.html': join(ROOT, 'web', 'index.html'),
    'style.css': join(ROOT, 'web', 'style.css'),
    'app.js': join(ROOT, 'dist', 'web', 'app.js'),
    'uplot.js': require.resolve('uplot/dist/uPlot.esm.js'),
    'uplot.css': require.resolve('uplot/dist/uPlot.min.css'),
    'favicon.svg': join(ROOT, 'web', 'favicon.svg'),
  };
  const file = table[name];
  if (!file) return undefined;
  const resolved = normalize(file);
  if (resolved.split(sep).includes('..')) return undefined;
  return resolved;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Serves one dashboard file (public: nothing secret is in them; the data needs the token). */
function serveAsset(req: IncomingMessage, res: ServerResponse, name: string): void {
  const file = assetPath(name);
  if (!file || !existsSync(file)) {
    if (name === 'app.js')
      throw new HttpError(
        503,
        'the dashboard is not built: run `npm run build` (or `npm ci`, which builds it)',
      );
    throw new HttpError(404, `no such file: ${name}`);
  }
  const size = statSync(file).size;
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': size,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    // Everything the page loads comes from here: no CDN, no inline script.
    'Content-Security-Policy':
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}

/**
 * Server-sent events: `update` after each evaluation (with the open counts), so the page refreshes
 * what it shows without reloading; a comment every 15 s keeps proxies from closing the stream.
 */
function stream(source: DashboardSource, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  let last: number | undefined = -1;
  let ticks = 0;
  const push = (): void => {
    const at = source.health().lastEvaluation?.at;
    ticks++;
    if (at !== last) {
      last = at;
      const firing = source.alerts().filter((a) => a.state === 'firing');
      const data = {
        at: iso(at),
        alerts: firing.filter((a) => a.level === 'alert').length,
        notices: firing.filter((a) => a.level === 'notice').length,
        fingerprints: firing.filter((a) => a.level !== 'none').map((a) => fingerprintOf(a.finding)),
      };
      res.write(`event: update\ndata: ${JSON.stringify(data)}\n\n`);
    } else if (ticks % 15 === 0) res.write(': ping\n\n');
  };
  push();
  const timer = setInterval(push, 1000);
  req.on('close', () => clearInterval(timer));
}

/** The dashboard's routes: its page and assets, and the API it reads. */
export function dashboardRoutes(options: {
  source: DashboardSource;
  store: DashboardStore | undefined;
  receivers: () => readonly ReceiverHealth[];
}): { exact: Map<string, Route>; prefixed: Map<string, Route> } {
  const { source, store } = options;
  const exact = new Map<string, Route>();
  const prefixed = new Map<string, Route>();
  const needStore = (): DashboardStore => {
    if (!store) throw new HttpError(503, 'this needs the store');
    return store;
  };
  exact.set('/', { isPublic: true, handle: (req, res) => serveAsset(req, res, 'index.html') });
  prefixed.set('/assets/', {
    isPublic: true,
    handle: (req, res, _url, name) => serveAsset(req, res, name ?? ''),
  });
  const overviewCache = new PerEvaluation<unknown>();
  const nodesCache = new PerEvaluation<NodeRow[]>();
  exact.set('/api/v1/overview', {
    isPublic: false,
    handle: (req, res) =>
      sendJson(
        req,
        res,
        200,
        overviewCache.get(source, () => overview(source, options.receivers())),
      ),
  });
  exact.set('/api/v1/nodes', {
    isPublic: false,
    handle: (req, res, url) => sendJson(req, res, 200, nodesPage(source, url.searchParams, nodesCache)),
  });
  exact.set('/api/v1/workloads', {
    isPublic: false,
    handle: (req, res, url) => sendJson(req, res, 200, workloadsPage(source, url.searchParams)),
  });
  exact.set('/api/v1/notifications', {
    isPublic: false,
    handle: (req, res, url) => sendJson(req, res, 200, notificationsPage(needStore(), url.searchParams)),
  });
  exact.set('/api/v1/series', {
    isPublic: false,
    handle: (req, res, url) =>
      sendJson(req, res, 200, seriesPoints(needStore(), url.searchParams, source.now())),
  });
  exact.set('/api/v1/stream', { isPublic: false, handle: (req, res) => stream(source, req, res) });
  return { exact, prefixed };
}
