/**
 * Fidelity with @kubernetes/client-node 1.4.0 (the product's client): typed lists with paging, the apps
 * API, an informer through add/update/delete and a forced 410, Metrics and Health, all over TLS with a
 * bearer token (client-node refuses plain http unless TLS verification is switched off).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  Health,
  KubeConfig,
  makeInformer,
  Metrics,
  topNodes,
  type V1Pod,
} from '@kubernetes/client-node';
import { startSimulator, type RequestRecord, type Simulator } from '../src/sim/index.js';

const TOKEN = 'client-node-token';
const TIMEOUT = { timeout: 60_000 };

let sim: Simulator;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;

before(async () => {
  sim = await startSimulator({ clock: 'manual', tls: true, token: TOKEN });
  kc = new KubeConfig();
  kc.loadFromString(sim.kubeconfig());
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});

after(async () => {
  await sim?.close();
});

/** Polls `check` in real time (the client works asynchronously) until it holds, or fails. */
async function eventually(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await delay(20);
  }
}

function podKeys(pods: readonly V1Pod[]): string[] {
  return pods
    .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}@${p.metadata?.resourceVersion}`)
    .sort();
}

function isPodList(r: RequestRecord): boolean {
  return r.path === '/api/v1/pods' && !new URLSearchParams(r.query).has('watch');
}

test('KubeConfig.loadFromString reads the simulator kubeconfig', TIMEOUT, () => {
  const cluster = kc.getCurrentCluster();
  assert.ok(cluster);
  assert.equal(cluster.server, sim.url);
  assert.ok(cluster.server.startsWith('https://127.0.0.1:'));
  assert.ok(cluster.caData, 'the kubeconfig carries the simulator CA');
  assert.notEqual(cluster.skipTLSVerify, true);
  assert.equal(kc.getCurrentUser()?.token, TOKEN);
  assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'default');
});

test('CoreV1Api lists pods in pages with limit and _continue', TIMEOUT, async () => {
  const all = await core.listPodForAllNamespaces();
  assert.ok(all.items.length > 8);
  // Real list items carry no kind/apiVersion (kubernetes#3030); the list itself does.
  assert.equal(all.kind, 'PodList');
  assert.equal(all.apiVersion, 'v1');
  assert.ok(all.items.every((p) => p.kind === undefined && p.apiVersion === undefined));

  const names: string[] = [];
  let token: string | undefined;
  let pages = 0;
  let remaining = Number.POSITIVE_INFINITY;
  do {
    const page = await core.listPodForAllNamespaces({ limit: 4, ...(token ? { _continue: token } : {}) });
    pages++;
    assert.ok(page.items.length <= 4);
    assert.equal(page.metadata?.resourceVersion, all.metadata?.resourceVersion, 'one snapshot for all pages');
    names.push(...page.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
    token = page.metadata?._continue;
    if (token) {
      const left = page.metadata?.remainingItemCount ?? -1;
      assert.ok(left >= 0 && left < remaining, `remainingItemCount ${left}`);
      remaining = left;
    } else {
      assert.equal(page.metadata?.remainingItemCount, undefined);
    }
  } while (token && pages < 50);
  assert.equal(pages, Math.ceil(all.items.length / 4));
  assert.deepEqual(
    names,
    all.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`),
  );

  const nodes = await core.listNode();
  assert.deepEqual(nodes.items.map((n) => n.metadata?.name).sort(), [
    'sim-control-plane',
    'sim-worker',
    'sim-worker2',
    'sim-worker3',
    'sim-worker4',
  ]);
  const shop = await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=frontend' });
  assert.equal(shop.items.length, 3);
  assert.ok(shop.items.every((p) => p.status?.phase === 'Running'));
});

test('an expired continue token is a 410 the client surfaces as ApiException', TIMEOUT, async () => {
  const first = await core.listPodForAllNamespaces({ limit: 4 });
  const token = first.metadata?._continue;
  assert.ok(token);
  sim.faults.start({ name: 'watch-compact' });
  await assert.rejects(core.listPodForAllNamespaces({ limit: 4, _continue: token }), (error: unknown) => {
    assert.ok(error instanceof ApiException);
    assert.equal(error.code, 410);
    const body = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as {
      kind: string;
      reason: string;
      metadata: { continue?: string };
    };
    assert.equal(body.kind, 'Status');
    assert.equal(body.reason, 'Expired');
    // Regression: upstream hands out a token to continue inconsistently; the simulator used to omit it.
    assert.ok(body.metadata.continue, 'the 410 carries an inconsistent-continue token');
    return true;
  });
});

test('AppsV1Api reads deployments and scales one through the scale subresource', TIMEOUT, async () => {
  const system = await apps.listNamespacedDeployment({ namespace: 'kube-system' });
  const coredns = system.items.find((d) => d.metadata?.name === 'coredns');
  assert.ok(coredns);
  assert.equal(coredns.spec?.replicas, 2);
  assert.equal(coredns.status?.readyReplicas, 2);
  assert.equal(coredns.spec?.selector.matchLabels?.['k8s-app'], 'kube-dns');

  const one = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'checkout' });
  assert.equal(one.kind, 'Deployment');
  assert.equal(one.apiVersion, 'apps/v1');

  const scale = await apps.readNamespacedDeploymentScale({ namespace: 'shop', name: 'checkout' });
  assert.equal(scale.kind, 'Scale');
  assert.equal(scale.spec?.replicas, 2);
  await apps.replaceNamespacedDeploymentScale({
    namespace: 'shop',
    name: 'checkout',
    body: { ...scale, spec: { replicas: 3 } },
  });
  sim.advance(60_000);
  const scaled = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'checkout' });
  assert.equal(scaled.spec?.replicas, 3);
  assert.equal(scaled.status?.readyReplicas, 3);
  const sets = await apps.listNamespacedReplicaSet({ namespace: 'shop', labelSelector: 'app=checkout' });
  assert.equal(
    sets.items.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0),
    3,
  );
});

test('an informer on pods sees add, update and delete, and survives a forced 410', TIMEOUT, async () => {
  const informer = makeInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  const seen: string[] = [];
  const errors: unknown[] = [];
  let connects = 0;
  informer.on('add', (p) => seen.push(`add ${p.metadata?.name}`));
  informer.on('update', (p) => seen.push(`update ${p.metadata?.name}`));
  informer.on('delete', (p) => seen.push(`delete ${p.metadata?.name}`));
  informer.on('error', (e) => errors.push(e));
  informer.on('connect', () => connects++);
  try {
    await informer.start();
    await sim.whenWatching('pods');
    const initial = await core.listPodForAllNamespaces();
    assert.equal(seen.filter((s) => s.startsWith('add ')).length, initial.items.length);
    assert.deepEqual(podKeys(informer.list()), podKeys(initial.items));

    // Delete a pod: update (terminating), add (the replacement), delete (grace period over).
    const victim = (await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=frontend' }))
      .items[0]!.metadata!.name!;
    await core.deleteNamespacedPod({ namespace: 'shop', name: victim });
    await eventually('update of the terminating pod', () => seen.includes(`update ${victim}`));
    assert.ok(informer.get(victim, 'shop')?.metadata?.deletionTimestamp);
    const addsBefore = seen.filter((s) => s.startsWith('add frontend-')).length;
    sim.advance(40_000);
    await eventually('delete of the pod', () => seen.includes(`delete ${victim}`));
    await eventually(
      'add of the replacement',
      () => seen.filter((s) => s.startsWith('add frontend-')).length > addsBefore,
    );
    assert.equal(informer.get(victim, 'shop'), undefined);

    // A compaction ends the watch with ERROR 410; a pod disappears before the informer re-lists, so
    // only the re-list can reveal it.
    const second = (await core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=frontend' }))
      .items[0]!.metadata!.name!;
    await core.deleteNamespacedPod({ namespace: 'shop', name: second });
    await eventually('update of the second pod', () => seen.includes(`update ${second}`));
    const opened = sim.api.watches.opened.get('pods') ?? 0;
    const logBefore = new Set(sim.requestLog());
    sim.faults.start({ name: 'watch-compact' });
    sim.advance(40_000);
    await eventually('a new watch after the 410', () => (sim.api.watches.opened.get('pods') ?? 0) > opened);
    await eventually('the re-list reveals the deletion', () => seen.includes(`delete ${second}`));
    const relists = sim.requestLog().filter((r) => !logBefore.has(r) && isPodList(r));
    assert.equal(relists.length, 1, 'exactly one re-list');
    assert.equal(connects, 2);
    assert.deepEqual(errors, []);
    assert.deepEqual(podKeys(informer.list()), podKeys((await core.listPodForAllNamespaces()).items));

    // The new watch streams again.
    const third = (await core.listNamespacedPod({ namespace: 'payments', labelSelector: 'app=api' }))
      .items[0]!.metadata!.name!;
    await core.deleteNamespacedPod({ namespace: 'payments', name: third });
    sim.advance(40_000);
    await eventually('delete seen on the new watch', () => seen.includes(`delete ${third}`));
    await delay(100);
    assert.deepEqual(podKeys(informer.list()), podKeys((await core.listPodForAllNamespaces()).items));
    assert.deepEqual(errors, []);
  } finally {
    await informer.stop();
  }
});

test('Metrics.getNodeMetrics and getPodMetrics read metrics.k8s.io', TIMEOUT, async () => {
  const metrics = new Metrics(kc);
  const nodes = await metrics.getNodeMetrics();
  assert.equal(nodes.kind, 'NodeMetricsList');
  assert.equal(nodes.apiVersion, 'metrics.k8s.io/v1beta1');
  assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), [
    'sim-control-plane',
    'sim-worker',
    'sim-worker2',
    'sim-worker3',
    'sim-worker4',
  ]);
  for (const n of nodes.items) {
    assert.match(n.usage.cpu, /^\d+n$/);
    assert.match(n.usage.memory, /^\d+Ki$/);
    assert.match(n.window, /^\d+(\.\d+)?s$/);
    assert.ok(!Number.isNaN(Date.parse(n.timestamp)));
  }
  const pods = await metrics.getPodMetrics('kube-system');
  assert.ok(pods.items.length > 0);
  assert.ok(pods.items.every((p) => p.metadata.namespace === 'kube-system'));
  assert.ok(pods.items.every((p) => p.containers.length > 0 && /^\d+n$/.test(p.containers[0]!.usage.cpu)));

  // topNodes combines the node list (allocatable) with the metrics.
  const top = await topNodes(core);
  assert.equal(top.length, 5);
  assert.ok(top.every((s) => Number(s.CPU.Capacity) > 0 && Number(s.Memory.Capacity) > 0));
});

test('Health.readyz is true, and false under apiserver-unready', TIMEOUT, async () => {
  const health = new Health(kc);
  assert.equal(await health.readyz({}), true);
  assert.equal(await health.livez({}), true);
  const fault = sim.faults.start({ name: 'apiserver-unready' });
  try {
    assert.equal(await health.readyz({}), false);
    assert.equal(await health.livez({}), true);
  } finally {
    sim.faults.stop(fault.id);
  }
  assert.equal(await health.readyz({}), true);
});
