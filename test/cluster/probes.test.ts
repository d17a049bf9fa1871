import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterWatcher, Connection, Prober } from '../../src/cluster/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/index.js';

async function setup(
  t: TestContext,
  options: SimulatorOptions = {},
): Promise<{ sim: Simulator; watcher: ClusterWatcher; prober: Prober }> {
  const sim = await startSimulator({ port: 0, clock: 'manual', seed: 'probes', ...options });
  const watcher = new ClusterWatcher(Connection.fromString(sim.kubeconfig()), {
    kinds: ['Node', 'Pod', 'Namespace'],
  });
  await watcher.start();
  await watcher.synced();
  const prober = new Prober(watcher.connection, watcher.view, { timeoutMs: 5000 });
  t.after(async () => {
    prober.stop();
    await watcher.stop();
    await sim.close();
  });
  return { sim, watcher, prober };
}

test('version, health checks and the server clock offset', async (t) => {
  const { sim, watcher, prober } = await setup(t);
  await prober.runOnce();
  const p = watcher.view.probes;
  assert.equal(p.version?.gitVersion, 'v1.32.2');
  assert.equal(p.version?.minor, 32);
  assert.equal(p.readyz?.isOk, true);
  assert.ok(p.readyz.checks.some((c) => c.name === 'etcd-readiness' && c.isOk));
  assert.equal(p.livez?.isOk, true);
  // The manual clock does not move with real time: the offset follows the simulated Date header.
  sim.advance(3_600_000);
  await prober.runOnce();
  assert.ok(p.version.serverClockOffsetMs > 3_500_000, `offset ${p.version.serverClockOffsetMs}`);
  sim.faults.start({ name: 'apiserver-unready' });
  await prober.runOnce();
  assert.equal(p.readyz?.isOk, false);
  assert.equal(p.readyz?.status, 500);
  assert.deepEqual(
    p.readyz.checks.filter((c) => !c.isOk).map((c) => c.name),
    ['etcd-readiness'],
  );
  assert.equal(p.livez?.isOk, true, 'livez does not include the readiness check');
  assert.equal(p.health.get('readyz')?.state, 'ok', 'a failing check is a result, not a failing probe');
});

test('kubelet summaries: node fs, image fs, usage, PVC volumes; disk-fill shows; an unreachable kubelet fails alone', async (t) => {
  const { sim, watcher, prober } = await setup(t);
  await prober.runOnce();
  const p = watcher.view.probes;
  assert.equal(p.summaries.size, 5);
  const worker = p.summaries.get('sim-worker2')!;
  assert.ok(worker.fsCapacityBytes! > 50 * 2 ** 30);
  assert.ok(worker.fsUsedBytes! > 0 && worker.fsUsedBytes! < worker.fsCapacityBytes!);
  assert.ok(worker.imageFsUsedBytes! > 0);
  assert.ok(worker.cpuNanoCores! > 0 && worker.memoryWorkingSetBytes! > 0);
  const pg = [...p.summaries.values()].flatMap((s) => s.volumes).find((v) => v.claim === 'data-postgres-0');
  assert.ok(pg, 'the postgres PVC volume is reported');
  assert.equal(pg.namespace, 'shop');
  assert.ok(pg.usedBytes > 0 && pg.capacityBytes === 20 * 2 ** 30);
  sim.faults.start({ name: 'disk-fill', target: 'sim-worker2', args: ['95'] });
  sim.faults.start({ name: 'node-notready', target: 'sim-worker3' });
  await prober.runOnce();
  const full = p.summaries.get('sim-worker2')!;
  assert.ok(
    full.fsUsedBytes! / full.fsCapacityBytes! >= 0.95,
    `${full.fsUsedBytes} of ${full.fsCapacityBytes}`,
  );
  assert.match(p.summaryErrors.get('sim-worker3') ?? '', /HTTP 503/);
  assert.equal(p.health.get('summary')?.state, 'ok');
});

test('the summary probe keeps at most nodeConcurrency node requests in flight', async (t) => {
  const { sim, watcher } = await setup(t, { nodes: 30 });
  sim.faults.start({ name: 'api-slow', target: '40' });
  const prober = new Prober(watcher.connection, watcher.view, { nodeConcurrency: 4, timeoutMs: 5000 });
  const started = Date.now();
  await prober.runOnce();
  const elapsed = Date.now() - started;
  // 31 nodes at 40 ms each, four at a time, take at least 8 rounds; all at once would take one.
  assert.ok(elapsed >= 7 * 40, `took ${elapsed} ms`);
  assert.equal(watcher.view.probes.summaries.size, 31);
});

test('metrics.k8s.io usage, and "unavailable" while metrics-server is down', async (t) => {
  const { sim, watcher, prober } = await setup(t);
  await prober.runOnce();
  const p = watcher.view.probes;
  assert.equal(p.metrics?.isAvailable, true);
  assert.equal(p.metrics.nodes.size, 5);
  assert.ok(p.metrics.nodes.get('sim-worker')!.cpuMilli > 0);
  assert.ok(p.metrics.pods.get('shop/postgres-0')!.memoryBytes > 0);
  sim.faults.start({ name: 'addon-crash', target: 'kube-system/metrics-server', since: '10m' });
  await prober.runOnce();
  assert.equal(p.metrics?.isAvailable, false);
  assert.match(p.metrics.reason!, /503/);
  assert.equal(p.health.get('metrics')?.state, 'unavailable');
});

test('certificates: the API serving certificate from the handshake, the kubeconfig client certificate, kubelet TTLs', async (t) => {
  const { sim, watcher, prober } = await setup(t, { tls: true });
  await prober.runOnce();
  const certs = watcher.view.probes.certificates;
  const now = Date.now();
  const serving = certs.get('api-serving')!;
  assert.ok(serving.notAfter - now > 300 * 86_400_000);
  assert.match(serving.sans ?? '', /IP Address:127\.0\.0\.1/);
  const client = certs.get('kubeconfig-client')!;
  assert.match(client.subject ?? '', /CN=kubernetes-admin/);
  assert.ok(client.notAfter > now);
  assert.ok(certs.get('kubelet-client/sim-worker'));
  sim.faults.start({ name: 'cert-expiry', target: '5' });
  await prober.runOnce();
  const days = (ms: number): number => (ms - now) / 86_400_000;
  assert.ok(
    Math.abs(days(certs.get('api-serving')!.notAfter) - 5) < 1,
    `serving ${days(certs.get('api-serving')!.notAfter)}`,
  );
  assert.ok(Math.abs(days(certs.get('kubelet-client/sim-worker2')!.notAfter) - 5) < 1);
});
