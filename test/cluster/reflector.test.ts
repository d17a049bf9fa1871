/**
 * Resilience of the watch layer (research §7, the reflector checklist) against the simulator's API
 * faults: after each fault the ClusterView must converge to what the API serves, and the reflectors
 * must have taken the right path to get there (relist or resume, back-off, Retry-After, idle abort).
 * Every test runs on port 0 with short timers and bounded waits, and closes what it started.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectionPath, recordKey, type RecordKind } from '../../src/cluster/index.js';
import { R } from '../../src/sim/api/resources.js';
import { objectKey } from '../../src/sim/api/store.js';
import type { Deployment, Lease, Node, Pod } from '../../src/sim/model.js';
import {
  backoffRequestBound,
  converged,
  counters,
  grown,
  isWatch,
  podsOfDeployment,
  sleep,
  startWatched,
  statusBody,
  waitConverged,
  waitUntil,
  type InjectedAnswer,
  type Watched,
} from '../helpers/cluster.js';

const WATCHED_KINDS: readonly RecordKind[] = [
  'Namespace',
  'Node',
  'Lease',
  'Deployment',
  'DaemonSet',
  'StatefulSet',
  'ReplicaSet',
  'CronJob',
  'Job',
  'PersistentVolumeClaim',
  'Pod',
  'Event',
];

function everyKind(values: Map<RecordKind, number>, test: (n: number) => boolean): boolean {
  return WATCHED_KINDS.every((k) => test(values.get(k) ?? Number.NaN));
}

function describeCounts(values: Map<RecordKind, number>): string {
  return [...values].map(([k, n]) => `${k}=${n}`).join(' ');
}

/** Deletes pods straight in the simulator's store (no API request, no grace): returns their keys. */
function deletePods(w: Watched, pods: readonly Pod[]): string[] {
  const store = w.sim.cluster.world.store;
  for (const p of pods) store.delete(R.pods, p.metadata.namespace, p.metadata.name);
  return pods.map((p) => objectKey(p.metadata.namespace, p.metadata.name));
}

/** Scales a Deployment in the store and lets the controllers act (ReplicaSet, pods). */
function scale(w: Watched, namespace: string, name: string, replicas: number): void {
  w.sim.cluster.world.store.modify<Deployment>(R.deployments, namespace, name, (d) => ({
    ...d,
    spec: { ...d.spec, replicas },
  }));
  w.sim.cluster.world.settle();
}

/** The resourceVersion of the first watch on `path` that the proxy saw after index `from`. */
function firstWatchAfter(w: Watched, from: number, path: string): string | undefined {
  return (
    w.proxy?.log
      .slice(from)
      .find((r) => r.path === path && isWatch(r.query))
      ?.query.get('resourceVersion') ?? undefined
  );
}

test('the first sync matches the API for every kind, and converged() notices a difference', async (t) => {
  const w = await startWatched(t);
  assert.deepEqual(
    w.watcher.reflectors.map((r) => r.collector.kind),
    WATCHED_KINDS,
    'one reflector per served kind (Certificates are not served by the demo cluster)',
  );
  assert.deepEqual(converged(w.view, w.sim), []);
  assert.ok(w.view.count('Pod') >= 40 && w.view.count('Node') === 5 && w.view.count('Lease') === 7);
  // The comparison is not vacuous: a pod deleted in the API is a difference until its event arrives.
  const [pod] = w.sim.cluster.world.store.list<Pod>(R.pods, 'shop');
  assert.ok(pod);
  const [key] = deletePods(w, [pod]);
  assert.deepEqual(converged(w.view, w.sim), [`Pod ${key}: in the view, gone from the API`]);
  await waitConverged(w, 'after one deletion');
  assert.equal(w.reflector('Pod').health.relists, 0);
});

test('a forced 410 (watch-compact) relists every kind within 5 s, with synthetic deletes for what vanished', async (t) => {
  const w = await startWatched(t);
  const relists = counters(w, 'relists');
  const store = w.sim.cluster.world.store;
  w.changes.length = 0;
  // Compaction ends every open watch with a 410 ERROR event; the pods deleted right after never reach
  // a watch (the old ones are closed, the new ones start after them), so only the relist can drop them.
  w.sim.faults.start({ name: 'watch-compact' });
  const victims = deletePods(w, podsOfDeployment(w.sim, 'shop', 'frontend'));
  const deletedAtRv = store.resourceVersion;
  assert.equal(victims.length, 3);
  await waitUntil('every kind relisted', () => everyKind(grown(w, relists, 'relists'), (n) => n >= 1), {
    timeoutMs: 5_000,
    explain: () => describeCounts(grown(w, relists, 'relists')),
  });
  await waitConverged(w, 'after watch-compact');
  const podDeletes = w.changes.filter((c) => c.kind === 'Pod' && c.change.type === 'deleted');
  assert.deepEqual(podDeletes.map((c) => recordKey(c.change.record)).sort(), [...victims].sort());
  assert.ok(
    podDeletes.every((c) => c.change.isResync),
    'the deletions are synthetic: they come from the relist, not from a watch event',
  );
  // The relist replaced the store: objects that did not change are not reported as deleted.
  assert.equal(w.changes.filter((c) => c.change.type === 'deleted').length, victims.length);
  assert.ok(Number(w.reflector('Pod').health.resourceVersion) >= deletedAtRv);
  await waitUntil('every reflector watches again', () =>
    w.watcher.reflectors.every((r) => r.health.state === 'watching'),
  );
});

test('the API down for a minute: back-off while down, then the changes made meanwhile arrive', async (t) => {
  const w = await startWatched(t);
  const relists = counters(w, 'relists');
  const errors = counters(w, 'errors');
  const store = w.sim.cluster.world.store;
  const frontend = store.get<Deployment>(R.deployments, 'shop', 'frontend');
  assert.ok(frontend);
  const replicas = frontend.spec.replicas;

  w.sim.faults.start({ name: 'api-down', target: '60' });
  // While the API is down (real time passes, simulated time does not): scale a Deployment (its
  // ReplicaSet creates the pods) and delete the pods of another.
  scale(w, 'shop', 'frontend', replicas + 2);
  const deleted = deletePods(w, podsOfDeployment(w.sim, 'payments', 'api'));
  assert.equal(deleted.length, 3);
  await waitUntil(
    'every reflector failed at least twice and is retrying',
    () =>
      everyKind(grown(w, errors, 'errors'), (n) => n >= 2) &&
      w.watcher.reflectors.every((r) => r.health.state === 'retrying'),
    { timeoutMs: 5_000, explain: () => describeCounts(grown(w, errors, 'errors')) },
  );
  await sleep(1_000);
  assert.equal(w.view.get('Deployment', 'shop', 'frontend')?.replicas, replicas, 'the outage was real');
  assert.ok(deleted.every((key) => w.view.store('Pod').get(key) !== undefined));
  for (const r of w.watcher.reflectors) assert.match(r.health.lastError ?? '', /ECONNRESET|socket hang up/);

  w.sim.advance(60_000); // the outage ends; a minute of cluster life happened meanwhile
  assert.equal(w.sim.faults.active().length, 0);
  await waitConverged(w, 'after the outage');
  assert.equal(w.view.get('Deployment', 'shop', 'frontend')?.replicas, replicas + 2);
  assert.equal(podsOfDeployment(w.sim, 'shop', 'frontend').length, replicas + 2);
  assert.ok(deleted.every((key) => w.view.store('Pod').get(key) === undefined));
  assert.ok(
    everyKind(grown(w, relists, 'relists'), (n) => n === 0),
    `resumed from the resourceVersion, without a relist: ${describeCounts(grown(w, relists, 'relists'))}`,
  );
  await waitUntil('every reflector watches again', () =>
    w.watcher.reflectors.every((r) => r.health.state === 'watching'),
  );
});

test('objects deleted while disconnected disappear: from the watch history, or by a relist when it is gone', async (t) => {
  // A watch history of 20 events per resource: the pods deleted below overflow it, the lease does not.
  const w = await startWatched(t, { sim: { historySize: 20 } });
  const relists = counters(w, 'relists');
  const store = w.sim.cluster.world.store;
  w.sim.faults.start({ name: 'api-down', target: '600' });
  await waitUntil('every reflector is retrying', () =>
    w.watcher.reflectors.every((r) => r.health.state === 'retrying'),
  );
  w.changes.length = 0;
  // ReplicaSet pods: their replacements get new names (a StatefulSet's would come back as the same key).
  const pods = store.list<Pod>(R.pods).filter((p) => p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet');
  assert.ok(pods.length >= 21, `${pods.length} pods`);
  const deletedPods = deletePods(w, pods.slice(0, 21));
  store.delete(R.leases, 'kube-node-lease', 'sim-worker4');
  w.sim.faults.heal();

  await waitConverged(w, 'after the reconnect');
  assert.ok((grown(w, relists, 'relists').get('Pod') ?? 0) >= 1, 'the pod history expired: relist');
  assert.equal(grown(w, relists, 'relists').get('Lease'), 0, 'the lease history was kept: resume');
  const deletes = w.changes.filter((c) => c.change.type === 'deleted');
  const podDeletes = deletes.filter((c) => c.kind === 'Pod');
  assert.deepEqual(podDeletes.map((c) => recordKey(c.change.record)).sort(), [...deletedPods].sort());
  assert.ok(
    podDeletes.every((c) => c.change.isResync),
    'synthetic deletes from the relist',
  );
  const leaseDeletes = deletes.filter((c) => c.kind === 'Lease');
  assert.equal(leaseDeletes.length, 1);
  assert.equal(recordKey(leaseDeletes[0]!.change.record), 'kube-node-lease/sim-worker4');
  assert.equal(leaseDeletes[0]!.change.isResync, false, 'a DELETED event replayed from the history');
});

test('request rates stay bounded during an outage: exponential back-off, no request storm', async (t) => {
  const w = await startWatched(t);
  const requests = counters(w, 'requests');
  const relists = counters(w, 'relists');
  const started = performance.now();
  w.sim.faults.start({ name: 'api-down', target: '600' });
  await sleep(3_000);
  const windowMs = performance.now() - started;
  const sent = grown(w, requests, 'requests');
  // Each reflector: the re-watch after its watch was cut, then one request per back-off delay
  // (30, 60, 120, 240, then 400 ms): about a dozen in 3 s. A hot loop would send thousands.
  const bound = backoffRequestBound(w.options, windowMs, 2);
  const total = [...sent.values()].reduce((a, b) => a + b, 0);
  assert.ok(
    everyKind(sent, (n) => n >= 4 && n <= bound),
    `per reflector between 4 (still retrying) and ${bound} requests in ${windowMs.toFixed(0)} ms: ${describeCounts(sent)}`,
  );
  assert.ok(total <= WATCHED_KINDS.length * bound, `${total} requests in all`);
  assert.ok(total < 200, `${total} requests in all`);
  assert.ok(
    w.watcher.reflectors.every((r) => r.health.consecutiveFailures >= 4),
    'failures accumulate (the back-off is not reset between attempts)',
  );
  assert.ok(
    everyKind(grown(w, relists, 'relists'), (n) => n === 0),
    'no relist while down',
  );

  w.sim.faults.heal();
  await waitConverged(w, 'after the outage');
  assert.ok(
    everyKind(grown(w, relists, 'relists'), (n) => n === 0),
    'resumed without a relist',
  );
});

test('a 429 storm: Retry-After is honoured (requests one second apart), then the view converges', async (t) => {
  // Watches of 1–2 s, so that every reflector soon asks again and meets the storm; a proxy logs when.
  const w = await startWatched(t, { proxy: true, reflector: { watchTimeoutSeconds: [1, 2] } });
  const relists = counters(w, 'relists');
  const errors = counters(w, 'errors');
  const requests = counters(w, 'requests');
  const proxy = w.proxy!;
  const from = proxy.log.length;
  const started = performance.now();
  w.sim.faults.start({ name: 'api-429' });
  const deleted = deletePods(w, podsOfDeployment(w.sim, 'shop', 'cart'));
  await waitUntil(
    'every reflector met the storm twice',
    () => everyKind(grown(w, errors, 'errors'), (n) => n >= 2),
    { timeoutMs: 8_000, explain: () => describeCounts(grown(w, errors, 'errors')) },
  );
  await sleep(1_500);
  w.sim.faults.stopMatching('api-429');
  const windowMs = performance.now() - started;
  for (const r of w.watcher.reflectors) assert.match(r.health.lastError ?? '', /^429 /);

  const throttled = proxy.log.slice(from).filter((r) => r.status === 429);
  const byPath = new Map<string, number[]>();
  for (const r of throttled) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.at]);
  assert.equal(byPath.size, WATCHED_KINDS.length, [...byPath.keys()].join(' '));
  for (const [path, times] of byPath) {
    for (let i = 1; i < times.length; i++) {
      const gap = times[i]! - times[i - 1]!;
      assert.ok(gap >= 950, `${path}: requests ${gap.toFixed(0)} ms apart during the storm`);
    }
  }
  // At most one request per second per reflector, plus the one that met the storm first.
  const sent = grown(w, requests, 'requests');
  const bound = Math.ceil(windowMs / 1000) + 1;
  assert.ok(
    everyKind(sent, (n) => n <= bound),
    `at most ${bound} each: ${describeCounts(sent)}`,
  );

  await waitConverged(w, 'after the storm');
  assert.ok(deleted.every((key) => w.view.store('Pod').get(key) === undefined));
  assert.ok(
    everyKind(grown(w, relists, 'relists'), (n) => n === 0),
    'resumed without a relist',
  );
});

test('a watch that goes silent without closing is abandoned after idleTimeoutMs and resumed', async (t) => {
  // Long watches, so that only the idle timer (600 ms) can end the stalled ones.
  const w = await startWatched(t, { reflector: { watchTimeoutSeconds: [20, 30] } });
  const idle = counters(w, 'idleAborts');
  const relists = counters(w, 'relists');
  const store = w.sim.cluster.world.store;
  let idleAbortsWhenDeleted: number | undefined;
  w.view.subscribe((kind, change) => {
    if (kind === 'Pod' && change.type === 'deleted')
      idleAbortsWhenDeleted ??= w.reflector('Pod').health.idleAborts;
  });
  w.sim.faults.start({ name: 'watch-stall' });
  const started = performance.now();
  const deleted = deletePods(w, podsOfDeployment(w.sim, 'payments', 'worker'));
  store.modify<Node>(R.nodes, undefined, 'sim-worker3', (n) => ({
    ...n,
    status: {
      ...n.status,
      conditions: n.status.conditions.map((c) => (c.type === 'Ready' ? { ...c, status: 'Unknown' } : c)),
    },
  }));
  await waitConverged(w, 'after the stall');
  const recoveredMs = performance.now() - started;
  assert.equal(w.view.get('Node', undefined, 'sim-worker3')?.conditions.Ready?.status, 'Unknown');
  assert.ok(deleted.every((key) => w.view.store('Pod').get(key) === undefined));
  assert.ok(
    (idleAbortsWhenDeleted ?? 0) > (idle.get('Pod') ?? 0),
    'the deletions came through a new watch, after the stalled one was abandoned',
  );
  assert.ok(
    everyKind(grown(w, idle, 'idleAborts'), (n) => n >= 1),
    `every stalled watch was abandoned: ${describeCounts(grown(w, idle, 'idleAborts'))}`,
  );
  assert.ok(
    everyKind(grown(w, relists, 'relists'), (n) => n === 0),
    'resumed without a relist',
  );
  assert.ok(recoveredMs < 5_000, `recovered in ${recoveredMs.toFixed(0)} ms`);
});

test('a malformed event line ends the watch, which resumes from the last resourceVersion without a relist', async (t) => {
  // Long watches, opened at the first sync: the resourceVersion moves on inside them before the fault.
  const w = await startWatched(t, { proxy: true, reflector: { watchTimeoutSeconds: [20, 30] } });
  const store = w.sim.cluster.world.store;
  const watchesAtStart = counters(w, 'watches');
  deletePods(w, podsOfDeployment(w.sim, 'shop', 'checkout').slice(0, 1));
  store.modify<Lease>(R.leases, 'kube-system', 'kube-scheduler', (l) => ({
    ...l,
    spec: { ...l.spec, renewTime: new Date(w.sim.cluster.world.now() + 1_000).toISOString() },
  }));
  const rv = String(store.resourceVersion);
  // Events and bookmarks bring every reflector to the latest resourceVersion, on the same watch.
  await waitUntil('every reflector is at the latest resourceVersion', () =>
    w.watcher.reflectors.every((r) => r.health.resourceVersion === rv),
  );
  assert.ok(
    everyKind(grown(w, watchesAtStart, 'watches'), (n) => n === 0),
    `still the first watches: ${describeCounts(grown(w, watchesAtStart, 'watches'))} ${w.watcher.reflectors.map((r) => `${r.health.kind} ${r.health.lastError ?? ''} idle ${r.health.idleAborts}`).join(', ')}`,
  );
  const relists = counters(w, 'relists');
  const malformed = counters(w, 'malformedLines');
  const watches = counters(w, 'watches');
  const from = w.proxy!.log.length;

  w.sim.faults.start({ name: 'watch-garbage' });
  await waitUntil('every reflector watches again', () =>
    everyKind(grown(w, watches, 'watches'), (n) => n >= 1),
  );
  assert.ok(
    everyKind(grown(w, malformed, 'malformedLines'), (n) => n === 1),
    'one malformed line each',
  );
  assert.ok(
    everyKind(grown(w, relists, 'relists'), (n) => n === 0),
    'no relist',
  );
  for (const r of w.watcher.reflectors) {
    assert.equal(
      firstWatchAfter(w, from, collectionPath(r.collector)),
      rv,
      `${r.collector.kind} re-watches from the last resourceVersion it saw`,
    );
  }
  const deleted = deletePods(w, podsOfDeployment(w.sim, 'shop', 'checkout'));
  assert.ok(deleted.length > 0);
  await waitConverged(w, 'after the malformed line');
});

test('a list whose continue token expires mid-list restarts from the first page', async (t) => {
  // Pages of 5 pods; the simulator is compacted (continue tokens expire) just before page 2 is served,
  // and the first pod listed is deleted then: the restarted list must not keep it.
  let compactions = 0;
  let firstPod: Pod | undefined;
  const w = await startWatched(t, {
    reflector: { pageSize: 5 },
    noSync: true,
    intercept: (sim) => (path, query) => {
      if (path === '/api/v1/pods' && query.has('continue') && compactions === 0) {
        compactions++;
        sim.faults.start({ name: 'watch-compact' });
        const store = sim.cluster.world.store;
        firstPod = store
          .list<Pod>(R.pods)
          .sort((a, b) =>
            objectKey(a.metadata.namespace, a.metadata.name) <
            objectKey(b.metadata.namespace, b.metadata.name)
              ? -1
              : 1,
          )[0];
        if (firstPod) store.delete(R.pods, firstPod.metadata.namespace, firstPod.metadata.name);
      }
      return undefined;
    },
  });
  await waitUntil('the first sync', () => w.watcher.reflectors.every((r) => r.health.isSynced));
  await waitConverged(w, 'after the restarted list');
  assert.equal(compactions, 1);
  assert.ok(firstPod);
  assert.equal(
    w.view.store('Pod').get(objectKey(firstPod.metadata.namespace, firstPod.metadata.name)),
    undefined,
  );
  const podLists = w.proxy!.log.filter((r) => r.path === '/api/v1/pods' && !isWatch(r.query));
  const expired = podLists.findIndex((r) => r.status === 410);
  assert.ok(expired > 0, `a continued page answered 410: ${podLists.map((r) => r.status).join(' ')}`);
  assert.equal(podLists[expired]!.query.get('limit'), '5');
  assert.ok(podLists[expired]!.query.has('continue'));
  assert.equal(podLists[expired + 1]?.query.has('continue'), false, 'the list restarts from the beginning');
  assert.ok(podLists.length >= 2 + Math.ceil(w.view.count('Pod') / 5), `${podLists.length} pages`);
  assert.equal(w.reflector('Pod').health.relists, 1);
});

test('bookmarks advance the resourceVersion of quiet resources, and the next watch starts from it', async (t) => {
  const w = await startWatched(t, { proxy: true, reflector: { watchTimeoutSeconds: [1, 2] } });
  const store = w.sim.cluster.world.store;
  const namespaces = w.reflector('Namespace');
  const before = namespaces.health.resourceVersion;
  w.changes.length = 0;
  // Writes to leases only: no namespace changes, so only a bookmark can move the namespaces' RV.
  for (let i = 1; i <= 3; i++) {
    store.modify<Lease>(R.leases, 'kube-system', 'kube-controller-manager', (l) => ({
      ...l,
      spec: { ...l.spec, renewTime: new Date(w.sim.cluster.world.now() + i * 1_000).toISOString() },
    }));
  }
  const rv = String(store.resourceVersion);
  assert.notEqual(rv, before);
  const from = w.proxy!.log.length;
  await waitUntil(
    'a bookmark brings the namespaces to the latest resourceVersion',
    () => namespaces.health.resourceVersion === rv,
  );
  assert.equal(w.changes.filter((c) => c.kind === 'Namespace').length, 0, 'no namespace event');
  await waitUntil('the namespaces are watched again', () => firstWatchAfter(w, from, '/api/v1/namespaces'));
  assert.equal(firstWatchAfter(w, from, '/api/v1/namespaces'), rv, 'the new watch starts at the bookmark');
  assert.equal(namespaces.health.relists, 0);
});

test('every error path retries and never stops: 500, 403, unreadable pages, timeouts, an ERROR event', async (t) => {
  let mode: 'error500' | 'error403' | 'garbage' | 'noItems' | 'watchError' | 'forward' = 'error500';
  const watchErrors = new Set<string>();
  const intercept = (path: string, query: URLSearchParams): InjectedAnswer | undefined => {
    if (!path.startsWith('/api/v1/') && !path.startsWith('/apis/')) return undefined;
    if (mode === 'error500') return { status: 500, body: statusBody(500, 'InternalError', 'etcd is sad') };
    if (mode === 'error403')
      return { status: 403, body: statusBody(403, 'Forbidden', 'RBAC: access denied') };
    if (mode === 'garbage' && !isWatch(query)) return { status: 200, body: '{"kind":"PodList","items":[{' };
    if (mode === 'noItems' && !isWatch(query)) return { status: 200, body: '{"kind":"List","metadata":{}}' };
    if (mode === 'watchError' && isWatch(query) && !watchErrors.has(path)) {
      watchErrors.add(path);
      const status = JSON.parse(statusBody(500, 'InternalError', 'watch failed')) as unknown;
      return { status: 200, body: `${JSON.stringify({ type: 'ERROR', object: status })}\n` };
    }
    return undefined;
  };
  const w = await startWatched(t, {
    intercept: () => intercept,
    noSync: true,
    reflector: { requestTimeoutMs: 800 },
  });
  const phase = async (next: typeof mode, pattern: RegExp): Promise<void> => {
    mode = next;
    const errors = counters(w, 'errors');
    await waitUntil(
      `${next}: every reflector fails twice more and keeps retrying`,
      () =>
        everyKind(grown(w, errors, 'errors'), (n) => n >= 2) &&
        w.watcher.reflectors.every(
          (r) => r.health.state === 'retrying' && pattern.test(r.health.lastError ?? ''),
        ),
      {
        explain: () =>
          w.watcher.reflectors
            .map((r) => `${r.health.kind}: ${r.health.state} ${r.health.lastError}`)
            .join('\n'),
      },
    );
  };
  await phase('error500', /^500 etcd is sad/);
  await phase('error403', /^403 RBAC: access denied/);
  await phase('garbage', /JSON|Unexpected|Expected/);
  await phase('noItems', /the list answer has no items/);
  // Answers slower than the request timeout (800 ms).
  w.sim.faults.start({ name: 'api-slow', target: '1500' });
  await phase('forward', /no response within 800 ms/);
  assert.ok(
    w.watcher.reflectors.every((r) => !r.health.isSynced),
    'nothing synced so far',
  );
  w.sim.faults.stopMatching('api-slow');
  await waitConverged(w, 'once the API answers');
  const relists = counters(w, 'relists');
  const errors = counters(w, 'errors');
  mode = 'watchError'; // the next watch of each resource gets one ERROR event (watches end every 2–4 s)
  await waitUntil('every reflector got an ERROR event', () =>
    everyKind(grown(w, errors, 'errors'), (n) => n >= 1),
  );
  for (const r of w.watcher.reflectors)
    assert.match(r.health.lastError ?? '', /^watch error 500: watch failed/);
  const deleted = deletePods(w, podsOfDeployment(w.sim, 'payments', 'api'));
  await waitConverged(w, 'after the ERROR events');
  assert.ok(deleted.every((key) => w.view.store('Pod').get(key) === undefined));
  assert.ok(
    everyKind(grown(w, relists, 'relists'), (n) => n === 0),
    'a non-410 ERROR does not relist',
  );
  await waitUntil('every reflector watches again', () =>
    w.watcher.reflectors.every((r) => r.health.state === 'watching'),
  );
});

test('a watch that expires at once after every relist backs off instead of relisting in a hot loop', async (t) => {
  // Every pods watch is answered with a 410 ERROR event, as by a server whose cache lags its lists.
  let isExpiring = true;
  const w = await startWatched(t, {
    intercept: () => (path, query) =>
      isExpiring && path === '/api/v1/pods' && isWatch(query)
        ? {
            status: 200,
            body: `${JSON.stringify({ type: 'ERROR', object: JSON.parse(statusBody(410, 'Expired', 'too old resource version')) as unknown })}\n`,
          }
        : undefined,
    noSync: true,
  });
  const started = performance.now();
  await sleep(2_000);
  const windowMs = performance.now() - started;
  const lists = w.proxy!.log.filter((r) => r.path === '/api/v1/pods' && !isWatch(r.query)).length;
  const bound = backoffRequestBound(w.options, windowMs, 1);
  assert.ok(
    lists >= 3 && lists <= bound,
    `${lists} pod lists in ${windowMs.toFixed(0)} ms (at most ${bound})`,
  );
  const pods = w.reflector('Pod').health;
  assert.ok(pods.consecutiveFailures >= 3, `${pods.consecutiveFailures} consecutive failures`);
  isExpiring = false;
  await waitConverged(w, 'once watches stop expiring');
  await waitUntil('the pods are watched', () => pods.state === 'watching');
});

test('a list page that stalls mid-body is abandoned after idleTimeoutMs and the list retried', async (t) => {
  let stalled = 0;
  const w = await startWatched(t, {
    intercept: () => (path, query) => {
      if (path !== '/api/v1/pods' || isWatch(query) || stalled > 0) return undefined;
      stalled++;
      return {
        status: 200,
        body: '{"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[',
        stall: true,
      };
    },
    noSync: true,
  });
  await waitUntil('the first sync', () => w.watcher.reflectors.every((r) => r.health.isSynced), {
    explain: () => `pods: ${w.reflector('Pod').health.state} ${w.reflector('Pod').health.lastError ?? ''}`,
  });
  assert.equal(stalled, 1);
  assert.match(w.reflector('Pod').health.lastError ?? '', /no data for 600 ms/);
  await waitConverged(w, 'after the stalled page');
});

test('a discovery answer that stalls mid-body does not hold up the start', async (t) => {
  // Certificates are optional: the watcher asks discovery first. That answer stalls after its headers.
  const w = await startWatched(t, {
    intercept: () => (path) =>
      path === '/apis/cert-manager.io/v1'
        ? { status: 200, body: '{"kind":"APIResourceList",', stall: true }
        : undefined,
    reflector: { requestTimeoutMs: 500 },
  });
  assert.equal(w.watcher.reflectors.length, WATCHED_KINDS.length);
  const certificates = w.view.watches().find((h) => h.kind === 'Certificate');
  assert.equal(certificates?.state, 'unavailable');
  await waitConverged(w, 'after the stalled discovery');
});

test('stop() ends every loop at once, even in the middle of a back-off', async (t) => {
  const w = await startWatched(t, { reflector: { backoffInitialMs: 5_000, backoffMaxMs: 10_000 } });
  w.sim.faults.start({ name: 'api-down', target: '600' });
  await waitUntil('every reflector is backing off', () =>
    w.watcher.reflectors.every((r) => r.health.state === 'retrying'),
  );
  const requests = counters(w, 'requests');
  const started = performance.now();
  await w.watcher.stop();
  assert.ok(performance.now() - started < 1_000, 'stop() does not wait for the back-off');
  assert.ok(w.watcher.reflectors.every((r) => r.health.state === 'stopped'));
  w.sim.faults.heal();
  await sleep(300);
  assert.ok(
    everyKind(grown(w, requests, 'requests'), (n) => n === 0),
    'no request after stop()',
  );
});

test('blindSpots names the watches that cannot be trusted: none when healthy, all during a long outage', async (t) => {
  const { sim, watcher } = await startWatched(t);
  assert.deepEqual(watcher.view.blindSpots(), []);
  sim.faults.start({ name: 'api-down', target: '600' });
  await waitUntil(
    'every watch retrying',
    () => watcher.view.watches().filter((w) => w.state === 'retrying').length >= 10,
  );
  assert.deepEqual(
    watcher.view.blindSpots(Date.now(), 60_000),
    [],
    'within the grace period nothing is blind yet',
  );
  const blind = watcher.view.blindSpots(Date.now() + 120_000, 60_000).map((w) => w.kind);
  assert.ok(blind.includes('Pod') && blind.includes('Node'), blind.join(', '));
  sim.faults.heal();
  await waitUntil('every watch back', () => watcher.view.watches().every((w) => w.state !== 'retrying'));
  assert.deepEqual(watcher.view.blindSpots(Date.now() + 120_000), []);
});
