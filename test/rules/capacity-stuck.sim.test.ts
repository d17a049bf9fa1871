import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { deployment, namespace } from '../../src/sim/scenario/workloads.js';
import { startJudged } from '../helpers/judge.js';

const ofRule = (fs: readonly Finding[]): Finding[] => fs.filter((f) => f.ruleId === 'capacity-stuck');
const describe = (fs: readonly Finding[]): string[] =>
  ofRule(fs).map((f) => `${refText(f.object)}:${f.level}`);

test('capacity-stuck: capacity-exhausted (autoscaler at its maximum) fires one cluster Alert after 3m, and resolves after heal', async (t) => {
  const j = await startJudged(t);
  assert.deepEqual(describe((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  j.sim.faults.start({ name: 'capacity-exhausted' });
  await j.advance(2 * 60_000 + 30_000);
  assert.deepEqual(describe(j.firing()), [], 'not before the 3m for');
  await j.advance(90_000);
  assert.deepEqual(describe(j.firing()), ['Cluster/capacity:alert']);
  const f = ofRule(j.firing())[0]!;
  assert.equal(f.facts.autoscaler, 'at-max');
  assert.equal(f.facts.namespaces, 'batch');
  assert.ok(Number(f.facts.pending) > 0 && Number(f.facts.pending) < 12, `${f.facts.pending} pods pending`);
  assert.match(
    f.title,
    /cannot be scheduled for lack of capacity and the cluster autoscaler is at its maximum/,
  );
  assert.ok(f.evidence.some((e) => /Deployment batch\/model-training: \d+ pods unschedulable/.test(e.text)));
  assert.ok(f.evidence.some((e) => /FailedScheduling.*Insufficient cpu/.test(e.text)));
  assert.ok(f.evidence.some((e) => /NotTriggerScaleUp.*max node group size reached/.test(e.text)));
  assert.ok(f.nextSteps.some((s) => s.startsWith('kubectl logs -n kube-system deploy/cluster-autoscaler')));
  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(describe(j.firing()), [], 'resolved after heal');
});

test('capacity-stuck: with the autoscaler down (autoscaler-down), unschedulable pods fire with autoscaler=down', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'autoscaler-down' });
  await j.advance(2 * 60_000);
  assert.deepEqual(
    describe(j.firing()),
    [],
    'the autoscaler down alone, with nothing waiting, is not this rule',
  );
  j.sim.faults.start({ name: 'capacity-exhausted' });
  await j.advance(4 * 60_000);
  assert.deepEqual(describe(j.firing()), ['Cluster/capacity:alert']);
  const f = ofRule(j.firing())[0]!;
  assert.equal(f.facts.autoscaler, 'down');
  assert.ok(
    f.evidence.some((e) => /Deployment kube-system\/cluster-autoscaler: 0\/1 available/.test(e.text)),
  );
});

for (const scenario of ['demo', 'gke']) {
  // On GKE the provider runs the autoscaler: no Deployment to see, only its events on the pods.
  test(`capacity-stuck: quiet on ${scenario} while the autoscaler adds nodes for pods that do not fit, and after they are placed`, async (t) => {
    const j = await startJudged(t, { sim: { scenario } });
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
    for (let i = 0; i < 12; i++) {
      await j.advance(30_000);
      const pending = j.watcher.view
        .list('Pod', 'burst')
        .filter((p) => p.conditions.PodScheduled?.reason === 'Unschedulable').length;
      if (pending > 0) sawPending = true;
      assert.deepEqual(describe(j.firing()), [], `quiet at step ${i}`);
      // Not even pending: a scale-up under way is self-healing at work, not a problem waiting out its `for`.
      assert.deepEqual(describe((await j.evaluate()).findings), [], `no finding at step ${i}`);
    }
    assert.ok(sawPending, 'the pods did wait for capacity');
    assert.ok(j.watcher.view.count('Node') > nodesBefore, 'the autoscaler added nodes');
    assert.ok(
      j.watcher.view.list('Pod', 'burst').every((p) => p.nodeName !== undefined),
      'and the pods were placed',
    );
  });
}
