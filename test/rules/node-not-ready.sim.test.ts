import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText } from '../../src/domain/index.js';
import { deployment } from '../../src/sim/scenario/workloads.js';
import { startJudged } from '../helpers/judge.js';

test('node-not-ready: a stopped kubelet fires a Notice within 3 minutes, with its evidence, and resolves on restart', async (t) => {
  const j = await startJudged(t);
  const mine = (): ReturnType<typeof j.firing> => j.firing().filter((f) => f.ruleId === 'node-not-ready');
  assert.deepEqual(
    (await j.evaluate()).findings.filter((f) => f.ruleId === 'node-not-ready'),
    [],
    'nothing on the healthy demo',
  );
  j.sim.faults.start({ name: 'node-notready', target: 'sim-worker2' });
  let detectedAfter: number | undefined;
  for (let elapsed = 30_000; elapsed <= 5 * 60_000; elapsed += 30_000) {
    await j.advance(30_000);
    if (mine().length > 0) {
      detectedAfter = elapsed;
      break;
    }
  }
  assert.ok(detectedAfter !== undefined, 'fires');
  assert.ok(
    detectedAfter <= 3 * 60_000,
    `fires within 3 minutes of the failure (took ${detectedAfter / 1000} s)`,
  );
  assert.ok(detectedAfter > 60_000, 'not before the Unknown condition has lasted its `for`');
  const f = mine()[0]!;
  assert.equal(refText(f.object), 'Node/sim-worker2');
  assert.equal(f.level, 'notice');
  assert.match(f.title, /NotReady \(Unknown: no heartbeats\)/);
  assert.equal(f.facts.node, 'sim-worker2');
  assert.equal(f.facts.reason, 'NodeStatusUnknown');
  assert.ok(typeof f.facts.pods === 'number' && f.facts.pods > 0, 'counts the pods on it');
  assert.ok(
    f.evidence.some((e) => /Ready=Unknown \(NodeStatusUnknown\): Kubelet stopped posting/.test(e.text)),
  );
  assert.ok(
    f.evidence.some((e) => /node Lease kube-node-lease\/sim-worker2 last renewed \d+[sm] ago/.test(e.text)),
  );
  assert.ok(f.evidence.some((e) => /taint node\.kubernetes\.io\/unreachable:NoExecute/.test(e.text)));
  assert.ok(f.evidence.some((e) => /replicas lost with it: /.test(e.text)));
  assert.ok(f.nextSteps.includes('kubectl describe node sim-worker2'));

  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(mine(), [], 'resolved once the kubelet reports again');
});

test('node-not-ready: two of five nodes NotReady at once is a cluster problem: both escalate to Alerts', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'node-notready', target: 'sim-worker2' });
  j.sim.faults.start({ name: 'node-notready', target: 'sim-worker3' });
  await j.advance(3 * 60_000);
  const firing = j.firing().filter((f) => f.ruleId === 'node-not-ready');
  assert.deepEqual(firing.map((f) => `${refText(f.object)}:${f.level}`).sort(), [
    'Node/sim-worker2:alert',
    'Node/sim-worker3:alert',
  ]);
  assert.ok(firing.every((f) => f.facts.clusterProblem === true && f.facts.notReadyNodes === 2));
  assert.match(firing[0]!.message, /2 of 5 nodes are NotReady at once/);
});

const NODES_GROUP = new Set(['node-not-ready', 'node-pressure', 'node-filesystem', 'pvc-filling']);

for (const scenario of ['demo', 'eks']) {
  test(`nodes group: quiet on the healthy ${scenario} cluster through a rollout and a node added by the autoscaler`, async (t) => {
    const j = await startJudged(t, { sim: { scenario } });
    const nodesBefore = j.watcher.view.count('Node');
    j.sim.faults.start({ name: 'rollout', target: 'shop/cart' });
    // More CPU than the cluster has free: the autoscaler adds a node, which joins NotReady (CNI) first.
    deployment(j.sim.cluster.world, 'shop', 'burst', 6, {
      image: 'ghcr.io/healwatch-sim/burst:1.0.0',
      cpu: '3',
      memory: '256Mi',
    });
    const seen = new Set<string>();
    for (let i = 0; i < 15; i++) {
      await j.advance(60_000, 60_000);
      const { findings } = await j.evaluate();
      for (const f of findings) if (NODES_GROUP.has(f.ruleId)) seen.add(`${f.ruleId} ${f.title}`);
    }
    assert.ok(j.watcher.view.count('Node') > nodesBefore, 'the autoscaler added a node');
    assert.deepEqual([...seen], []);
  });
}
