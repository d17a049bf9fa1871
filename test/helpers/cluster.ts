/**
 * Helpers for tests of the watch layer against the simulator: a simulator (manual clock, port 0) with a
 * ClusterWatcher on short timers, both closed when the test ends; `converged`, which compares the view
 * with what the API serves; `waitUntil`, a bounded real-time wait; and a fault proxy that sits between
 * the watcher and the simulator to answer what the simulator cannot (500, 403, garbage pages, ERROR
 * events) and to run a hook at an exact request (e.g. compaction between two list pages).
 */
import assert from 'node:assert/strict';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import type { TestContext } from 'node:test';
import {
  ClusterWatcher,
  Connection,
  recordKey,
  type ClusterView,
  type RecordKind,
  type Reflector,
  type ReflectorOptions,
  type ViewChange,
} from '../../src/cluster/index.js';
import { R } from '../../src/sim/api/resources.js';
import { objectKey } from '../../src/sim/api/store.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/index.js';
import type {
  Condition,
  DaemonSet,
  Deployment,
  KObject,
  Lease,
  Namespace,
  Node,
  Pod,
  ReplicaSet,
} from '../../src/sim/model.js';

/** A small deterministic PRNG (mulberry32), so back-off jitter and watch timeouts repeat run to run. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Reflector timers for tests: back-off 30 ms → 400 ms, watches of 2–4 s, a silent watch abandoned
 * after 600 ms (the test simulator sends a bookmark every 150 ms, so only a stalled watch goes quiet).
 */
export const TEST_REFLECTOR: Partial<ReflectorOptions> = {
  pageSize: 500,
  watchTimeoutSeconds: [2, 4],
  backoffInitialMs: 30,
  backoffMaxMs: 400,
  backoffResetMs: 2_000,
  idleTimeoutMs: 600,
  requestTimeoutMs: 3_000,
};

/** Real milliseconds between bookmarks on the test simulator. */
export const TEST_BOOKMARK_MS = 150;

/** A simulator and a watcher on it. */
export interface Watched {
  sim: Simulator;
  watcher: ClusterWatcher;
  view: ClusterView;
  /** Options the reflectors run with. */
  options: Partial<ReflectorOptions>;
  /** The reflector of one kind (fails the test when the kind is not watched). */
  reflector(kind: RecordKind): Reflector;
  /** Every change the view applied since the start (or since `changes.length = 0`). */
  changes: { kind: RecordKind; change: ViewChange }[];
  /** The fault proxy in front of the simulator, when one was asked for. */
  proxy: FaultProxy | undefined;
}

/** Options of `startWatched`. */
export interface WatchedOptions {
  sim?: SimulatorOptions;
  reflector?: Partial<ReflectorOptions>;
  /** Put a fault proxy between the watcher and the simulator. */
  proxy?: boolean;
  /** Put a fault proxy in front of the simulator with this intercept (given the simulator) from the first request on. */
  intercept?: (sim: Simulator) => FaultProxy['intercept'];
  /** Start the watcher without waiting for its first sync. */
  noSync?: boolean;
}

/**
 * Starts a simulator (manual clock, port 0, bookmarks every 150 ms, watches capped at 30 s) and a
 * ClusterWatcher with the test timers, waits for the first sync (bounded), and closes everything
 * when the test ends.
 */
export async function startWatched(t: TestContext, options: WatchedOptions = {}): Promise<Watched> {
  const sim = await startSimulator({
    seed: 'healwatch-reflector',
    bookmarkIntervalMs: TEST_BOOKMARK_MS,
    maxWatchSeconds: 30,
    ...options.sim,
    clock: 'manual',
    port: 0,
  });
  const proxy = options.proxy || options.intercept ? await startFaultProxy(sim.url) : undefined;
  if (proxy && options.intercept) proxy.intercept = options.intercept(sim);
  const kubeconfig = proxy ? sim.kubeconfig().replace(sim.url, proxy.url) : sim.kubeconfig();
  const reflectorOptions: Partial<ReflectorOptions> = {
    ...TEST_REFLECTOR,
    random: seededRandom(7),
    ...options.reflector,
  };
  const watcher = new ClusterWatcher(Connection.fromString(kubeconfig, 'test'), {
    reflector: reflectorOptions,
  });
  t.after(async () => {
    await watcher.stop();
    await proxy?.close();
    await sim.close();
  });
  const changes: Watched['changes'] = [];
  watcher.view.subscribe((kind, change) => changes.push({ kind, change }));
  await watcher.start();
  if (!options.noSync) {
    await waitUntil('the first sync and watches', () =>
      watcher.reflectors.every((r) => r.health.isSynced && r.health.state === 'watching'),
    );
  }
  return {
    sim,
    watcher,
    view: watcher.view,
    options: reflectorOptions,
    changes,
    proxy,
    reflector(kind) {
      const r = watcher.reflectors.find((x) => x.collector.kind === kind);
      assert.ok(r, `no reflector for ${kind}`);
      return r;
    },
  };
}

/** Options of `waitUntil`. */
export interface WaitUntilOptions {
  /** Real milliseconds before failing (default 10 s). */
  timeoutMs?: number;
  /** Real milliseconds between checks (default 20). */
  intervalMs?: number;
  /** Describes the state when the wait fails. */
  explain?: () => string;
}

/**
 * Checks `check` every `intervalMs` real milliseconds until it answers something other than
 * undefined or false, and returns that; fails the test after `timeoutMs`.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitUntilOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() > deadline) {
      assert.fail(
        `${what}: not reached within ${timeoutMs} ms${options.explain ? `\n${options.explain()}` : ''}`,
      );
    }
    await sleep(options.intervalMs ?? 20);
  }
}

/** Waits real milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Which storage resource of the simulator each watched kind reads. */
export const STORAGE_OF: Readonly<Partial<Record<RecordKind, string>>> = {
  Namespace: R.namespaces,
  Node: R.nodes,
  Lease: R.leases,
  Deployment: R.deployments,
  DaemonSet: R.daemonsets,
  StatefulSet: R.statefulsets,
  ReplicaSet: R.replicasets,
  CronJob: R.cronjobs,
  Job: R.jobs,
  PersistentVolumeClaim: R.pvcs,
  Pod: R.pods,
  Event: R.events,
};

function conditionStatus(conditions: readonly Condition[] | undefined, type: string): string | undefined {
  return conditions?.find((c) => c.type === type)?.status;
}

/** The fields `converged` compares per kind, from the API object and from the view's record. */
function apiFields(kind: RecordKind, o: KObject): unknown {
  switch (kind) {
    case 'Pod': {
      const p = o as Pod;
      return {
        phase: p.status.phase,
        nodeName: p.spec.nodeName,
        restarts: p.spec.containers.map(
          (c) => p.status.containerStatuses?.find((s) => s.name === c.name)?.restartCount ?? 0,
        ),
        ready: conditionStatus(p.status.conditions, 'Ready'),
      };
    }
    case 'Node':
      return { ready: conditionStatus((o as Node).status.conditions, 'Ready') };
    case 'Deployment': {
      const d = o as Deployment;
      return { replicas: d.spec.replicas, ready: d.status.readyReplicas ?? 0 };
    }
    case 'ReplicaSet': {
      const rs = o as ReplicaSet;
      return { replicas: rs.spec.replicas, status: rs.status.replicas };
    }
    case 'DaemonSet': {
      const ds = o as DaemonSet;
      return { desired: ds.status.desiredNumberScheduled, ready: ds.status.numberReady };
    }
    case 'Namespace':
      return { phase: (o as Namespace).status.phase };
    case 'Lease': {
      const l = o as Lease;
      return {
        holder: l.spec.holderIdentity,
        renewedAt: l.spec.renewTime === undefined ? undefined : Date.parse(l.spec.renewTime),
      };
    }
    default:
      return undefined;
  }
}

function viewFields(kind: RecordKind, view: ClusterView, key: string): unknown {
  const slash = key.indexOf('/');
  const namespace = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  switch (kind) {
    case 'Pod': {
      const p = view.get('Pod', namespace, name);
      return (
        p && {
          phase: p.phase,
          nodeName: p.nodeName,
          restarts: p.containers.map((c) => c.restarts),
          ready: p.conditions.Ready?.status,
        }
      );
    }
    case 'Node': {
      const n = view.get('Node', namespace, name);
      return n && { ready: n.conditions.Ready?.status };
    }
    case 'Deployment': {
      const d = view.get('Deployment', namespace, name);
      return d && { replicas: d.replicas, ready: d.readyReplicas };
    }
    case 'ReplicaSet': {
      const rs = view.get('ReplicaSet', namespace, name);
      return rs && { replicas: rs.replicas, status: rs.statusReplicas };
    }
    case 'DaemonSet': {
      const ds = view.get('DaemonSet', namespace, name);
      return ds && { desired: ds.desired, ready: ds.ready };
    }
    case 'Namespace': {
      const ns = view.get('Namespace', namespace, name);
      return ns && { phase: ns.phase };
    }
    case 'Lease': {
      const l = view.get('Lease', namespace, name);
      return l && { holder: l.holder, renewedAt: l.renewedAt };
    }
    default:
      return undefined;
  }
}

/**
 * Compares the view with the simulator's current state: for every watched kind the same set of keys
 * with the same uids, and per kind the fields rules read (pod phase, node, restarts and readiness;
 * node Ready; Deployment and ReplicaSet replicas; DaemonSet counts; Namespace phase; Lease holder and
 * renewal). Returns the differences (at most `max`), empty when the view has converged.
 */
export function converged(view: ClusterView, sim: Simulator, max = 20): string[] {
  const store = sim.cluster.world.store;
  const diffs: string[] = [];
  for (const [k, storage] of Object.entries(STORAGE_OF)) {
    const kind = k as RecordKind;
    const objects = new Map<string, KObject>();
    for (const o of store.iterate(storage)) objects.set(objectKey(o.metadata.namespace, o.metadata.name), o);
    const records = view.store(kind);
    for (const [key, o] of objects) {
      const record = records.get(key);
      if (!record) {
        diffs.push(`${kind} ${key}: in the API, missing from the view`);
      } else if (record.uid !== o.metadata.uid) {
        diffs.push(`${kind} ${key}: uid ${record.uid} in the view, ${o.metadata.uid} in the API`);
      } else {
        const want = apiFields(kind, o);
        const got = viewFields(kind, view, key);
        try {
          assert.deepEqual(got, want);
        } catch {
          diffs.push(`${kind} ${key}: view ${JSON.stringify(got)} != API ${JSON.stringify(want)}`);
        }
      }
      if (diffs.length >= max) return diffs;
    }
    for (const record of records.values()) {
      const key = recordKey(record);
      if (!objects.has(key)) diffs.push(`${kind} ${key}: in the view, gone from the API`);
      if (diffs.length >= max) return diffs;
    }
  }
  return diffs;
}

/** Waits (bounded, real time) until the view matches the API; fails listing the differences. */
export async function waitConverged(w: Watched, what: string, timeoutMs = 10_000): Promise<void> {
  await waitUntil(
    `${what}: the view converges to the API's state`,
    () => converged(w.view, w.sim, 1).length === 0,
    {
      timeoutMs,
      explain: () =>
        [
          ...converged(w.view, w.sim),
          ...w.watcher.reflectors.map(
            (r) =>
              `${r.health.kind}: ${r.health.state} rv ${r.health.resourceVersion} errors ${r.health.errors} ` +
              `relists ${r.health.relists} last error ${r.health.lastError ?? '-'}`,
          ),
        ].join('\n'),
    },
  );
}

/** A snapshot of one counter of every reflector, by kind. */
export function counters(
  w: Watched,
  field: 'requests' | 'relists' | 'watches' | 'errors' | 'idleAborts' | 'malformedLines',
): Map<RecordKind, number> {
  return new Map(w.watcher.reflectors.map((r) => [r.collector.kind, r.health[field]]));
}

/** Per kind, how much a counter grew since a snapshot. */
export function grown(w: Watched, before: Map<RecordKind, number>, field: Parameters<typeof counters>[1]) {
  const now = counters(w, field);
  return new Map([...now].map(([kind, n]) => [kind, n - (before.get(kind) ?? 0)]));
}

/**
 * The most requests one reflector can send in `windowMs` while every request fails at once: the first,
 * then one after each back-off delay, the delays being at least backoffInitialMs × 2^n capped at
 * backoffMaxMs (jitter only lengthens them). `extra` allows for requests the window starts with.
 */
export function backoffRequestBound(options: Partial<ReflectorOptions>, windowMs: number, extra = 1): number {
  const initial = options.backoffInitialMs ?? 800;
  const max = options.backoffMaxMs ?? 30_000;
  let elapsed = 0;
  let count = 1;
  for (let n = 0; ; n++) {
    elapsed += Math.min(max, initial * 2 ** n);
    if (elapsed > windowMs) break;
    count++;
  }
  return count + extra;
}

/** The pods the simulator runs for a Deployment (through its ReplicaSets). */
export function podsOfDeployment(sim: Simulator, namespace: string, name: string): Pod[] {
  const store = sim.cluster.world.store;
  const sets = new Set(
    store
      .list<ReplicaSet>(R.replicasets, namespace)
      .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.name === name))
      .map((rs) => rs.metadata.name),
  );
  return store
    .list<Pod>(R.pods, namespace)
    .filter((p) => p.metadata.ownerReferences?.some((o) => o.kind === 'ReplicaSet' && sets.has(o.name)));
}

/** One request the fault proxy saw. */
export interface ProxiedRequest {
  /** performance.now() when it arrived. */
  at: number;
  path: string;
  query: URLSearchParams;
  /** The answer's status; 0 when the connection was dropped without one. */
  status: number;
  /** Whether the proxy answered it itself (a fault) instead of forwarding it. */
  isInjected: boolean;
}

/** What the fault proxy answers instead of forwarding. */
export interface InjectedAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
  /** Send the headers and the body, then go silent without ending (a stalled connection). */
  stall?: boolean;
}

/**
 * An HTTP proxy in front of the simulator. `intercept` sees every request first: it may run a side
 * effect (compact the simulator's history at an exact page) and answer `undefined` to forward the
 * request, or answer it itself.
 */
export interface FaultProxy {
  readonly url: string;
  intercept: ((path: string, query: URLSearchParams) => InjectedAnswer | undefined) | undefined;
  readonly log: ProxiedRequest[];
  close(): Promise<void>;
}

/** Starts a fault proxy on loopback, port 0, forwarding to `target`. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    url: '',
    intercept: undefined,
    log: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const entry: ProxiedRequest = {
      at: performance.now(),
      path: url.pathname,
      query: url.searchParams,
      status: 0,
      isInjected: false,
    };
    proxy.log.push(entry);
    const answer = proxy.intercept?.(url.pathname, url.searchParams);
    if (answer) {
      entry.status = answer.status;
      entry.isInjected = true;
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      if (answer.stall) res.write(answer.body);
      else res.end(answer.body);
      return;
    }
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        entry.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        // A connection the simulator drops mid-answer (api-down) is dropped towards the client too.
        up.on('close', () => {
          if (!up.complete) res.destroy();
        });
      },
    );
    out.on('error', () => res.destroy());
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  (proxy as { url: string }).url = `http://127.0.0.1:${address.port}`;
  return proxy;
}

/** A `Status` body as the API server sends it with an error. */
export function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
}

/** Whether a proxied or logged request is a watch. */
export function isWatch(query: URLSearchParams): boolean {
  return query.get('watch') === 'true';
}
