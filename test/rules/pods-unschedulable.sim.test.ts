import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { R } from '../../src/sim/api/resources.js';
import type { Node } from '../../src/sim/model.js';
import { deployment, namespace } from '../../src/sim/scenario/workloads.js';
import { startJudged } from '../helpers/judge.js';

const mine = (fs: readonly Finding[]): Finding[] => fs.filter((f) => f.ruleId === 'pods-unschedulable');
const describe = (fs: readonly Finding[]): string[] => mine(fs).map((f) => `${refText(f.object)}:${f.level}`);

test('pods-unschedulable: capacity-exhausted (autoscaler at its maximum) finds the Deployment after 5m with the scheduler’s reason, muted by capacity-stuck’s Alert; gone after heal', async (t) => {
  const j = await startJudged(t);
  assert.deepEqual(describe((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  const nodesBefore = j.watcher.view.count('Node');
  j.sim.faults.start({ name: 'capacity-exhausted' });
  await j.advance(5 * 60_000 + 30_000);
  assert.equal(j.watcher.view.count('Node'), nodesBefore, 'the autoscaler at its maximum added no node');
  const { findings, muted } = await j.evaluate();
  // One page for one failure: the capacity that cannot grow is the Alert, the Pending pods its symptom.
  assert.deepEqual(describe(findings), [], 'muted');
  assert.deepEqual(describe(muted), ['Deployment/batch/model-training:notice']);
  assert.ok(
    findings.some((f) => f.ruleId === 'capacity-stuck'),
    'by capacity-stuck',
  );
  const f = mine(muted)[0]!;
  assert.ok(f.since !== undefined && f.since <= j.sim.cluster.world.now() - 5 * 60_000, 'waiting over 5m');
  assert.ok(Number(f.facts.pending) > 0 && Number(f.facts.pending) < 12, `${f.facts.pending} pods pending`);
  assert.match(String(f.facts.reason), /^0\/\d+ nodes are available: .*Insufficient cpu$/);
  assert.match(f.title, /of 12 pods unschedulable \(not enough free resources\)$/);
  assert.ok(f.evidence.some((e) => e.type === 'event' && /FailedScheduling \(x\d+/.test(e.text)));
  assert.ok(f.evidence.some((e) => /NotTriggerScaleUp.*max node group size reached/.test(e.text)));
  assert.ok(f.evidence.some((e) => /each pod requests 2 CPU and 4Gi memory/.test(e.text)));
  assert.ok(f.nextSteps.some((s) => s.startsWith('kubectl describe pod -n batch model-training-')));
  assert.ok(f.nextSteps.some((s) => /raise the Cluster Autoscaler maximum/.test(s)));
  j.sim.faults.heal();
  await j.advance(60_000);
  const after = await j.evaluate();
  assert.deepEqual(describe([...after.findings, ...after.muted, ...j.firing()]), [], 'gone after heal');
});

test('pods-unschedulable: with the autoscaler down too (no TriggeredScaleUp, no NotTriggerScaleUp), the waiting pods are found after 5m; capacity-stuck pages for them', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'autoscaler-down' });
  j.sim.faults.start({ name: 'capacity-exhausted' });
  await j.advance(6 * 60_000);
  const { findings, muted } = await j.evaluate();
  assert.deepEqual(describe(muted), ['Deployment/batch/model-training:notice']);
  const stuck = findings.find((f) => f.ruleId === 'capacity-stuck');
  assert.equal(stuck?.facts.autoscaler, 'down');
  const f = mine(muted)[0]!;
  assert.ok(f.since !== undefined && f.since <= j.sim.cluster.world.now() - 5 * 60_000, 'waiting over 5m');
  assert.ok(!f.evidence.some((e) => /ScaleUp/.test(e.text)), 'no autoscaler event to show');
  assert.doesNotMatch(f.message, /Cluster Autoscaler/);
});

test('pods-unschedulable: pods whose nodeSelector no node matches fire a Notice after 5m (no autoscaler can help), and resolve when a node is labelled', async (t) => {
  // capacity-stuck is off: this is about this rule's judgement, not about which rule mutes which.
  const j = await startJudged(t, { config: 'rules: { capacity-stuck: { level: off } }' });
  const world = j.sim.cluster.world;
  namespace(world, 'ml');
  deployment(world, 'ml', 'indexer', 2, {
    image: 'ghcr.io/healwatch-sim/indexer:2.0.0',
    cpu: '100m',
    memory: '128Mi',
    nodeSelector: { disktype: 'nvme' },
  });
  world.settle();
  await j.advance(4 * 60_000 + 30_000);
  assert.deepEqual(describe(j.firing()), [], 'not before the 5m for');
  await j.advance(60_000);
  assert.deepEqual(describe(j.firing()), ['Deployment/ml/indexer:notice']);
  const f = mine(j.firing())[0]!;
  assert.equal(f.title, 'Deployment ml/indexer: 2 pods unschedulable (node selector or affinity)');
  assert.equal(f.facts.pending, 2);
  assert.equal(f.facts.cause, 'affinity');
  assert.ok(f.nextSteps.some((s) => /jsonpath='\{\.spec\.nodeSelector\}/.test(s)));
  assert.ok(f.nextSteps.includes('kubectl get nodes --show-labels'));
  // Labelling a node (what the person does) lets the scheduler place them.
  world.store.modify<Node>(R.nodes, undefined, 'sim-worker3', (n) => ({
    ...n,
    metadata: { ...n.metadata, labels: { ...n.metadata.labels, disktype: 'nvme' } },
  }));
  await j.advance(90_000);
  assert.deepEqual(describe(j.firing()), [], 'resolved once placed');
});

test('pods-unschedulable: quiet while the autoscaler adds nodes for pods that do not fit, and after they are placed', async (t) => {
  const j = await startJudged(t);
  const world = j.sim.cluster.world;
  const nodesBefore = j.watcher.view.count('Node');
  namespace(world, 'burst');
  deployment(world, 'burst', 'render', 2, {
    image: 'ghcr.io/healwatch-sim/render:1.0.0',
    cpu: '3700m',
    memory: '1Gi',
  });
  world.settle();
  let sawPending = false;
  for (let i = 0; i < 16; i++) {
    await j.advance(30_000);
    const pending = j.watcher.view
      .list('Pod', 'burst')
      .filter((p) => p.conditions.PodScheduled?.reason === 'Unschedulable').length;
    if (pending > 0) sawPending = true;
    // Not even pending its `for`: a scale-up under way is self-healing at work.
    assert.deepEqual(describe((await j.evaluate()).findings), [], `no finding at step ${i}`);
  }
  assert.ok(sawPending, 'the pods did wait for capacity');
  assert.ok(
    j.watcher.view.list('Event', 'burst').some((e) => e.reason === 'TriggeredScaleUp'),
    'the autoscaler said it scales up for them',
  );
  assert.ok(j.watcher.view.count('Node') > nodesBefore, 'the autoscaler added nodes');
  assert.ok(
    j.watcher.view.list('Pod', 'burst').every((p) => p.nodeName !== undefined),
    'and the pods were placed',
  );
});
