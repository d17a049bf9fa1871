import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { R } from '../../src/sim/api/resources.js';
import type { Deployment } from '../../src/sim/model.js';
import { deployment as createDeployment } from '../../src/sim/scenario/workloads.js';
import { startJudged, type Judged } from '../helpers/judge.js';

const RULE = 'deployment-replicas';

function ours(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.ruleId === RULE);
}

/** Advances in steps until the rule fires for `object`; returns the simulated ms it took (or undefined). */
async function untilFiring(
  j: Judged,
  object: string,
  limitMs: number,
  stepMs = 10_000,
): Promise<number | undefined> {
  for (let t = stepMs; t <= limitMs; t += stepMs) {
    await j.advance(stepMs, stepMs);
    if (ours(j.firing()).some((f) => refText(f.object) === object)) return t;
  }
  return undefined;
}

/** Advances in steps and collects every finding of the rule seen on the way (pending or not). */
async function seenWhile(j: Judged, ms: number, stepMs = 30_000): Promise<Finding[]> {
  const seen: Finding[] = [];
  for (let t = 0; t < ms; t += stepMs) {
    await j.advance(stepMs, stepMs);
    seen.push(...ours((await j.evaluate()).findings));
  }
  return seen;
}

test('deployment-replicas: a stuck rollout pages within 5 minutes of the fault, and resolves after heal', async (t) => {
  const j = await startJudged(t);
  assert.deepEqual(ours((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  j.sim.faults.start({ name: 'rollout-stuck', target: 'payments/api' });
  const detectMs = await untilFiring(j, 'Deployment/payments/api', 10 * 60_000);
  t.diagnostic(
    `rollout-stuck detected ${detectMs} ms after the fault (kubernetes-mixin: 10m deadline + 15m)`,
  );
  assert.ok(detectMs !== undefined && detectMs <= 5 * 60_000, `fired after ${detectMs} ms`);
  // Not before the 3-minute `for`.
  assert.ok(detectMs >= 2 * 60_000, `fired after ${detectMs} ms, before its for`);
  const f = ours(j.firing())[0]!;
  assert.equal(f.level, 'alert');
  assert.equal(f.facts.verdict, 'rollout-stuck');
  assert.equal(f.facts.desired, 3);
  assert.equal(f.facts.available, 3, 'the old revision still serves');
  assert.equal(f.facts.revision, '2');
  assert.match(f.title, /^Deployment payments\/api: 3 of 3 replicas available, rollout stuck/);
  assert.ok(f.evidence.some((e) => /^revision 2 \(ReplicaSet api-\w+, new\): 0 of 1 ready/.test(e.text)));
  assert.ok(f.evidence.some((e) => /^revision 1 \(ReplicaSet api-\w+, old\): 3 of 3 ready/.test(e.text)));
  assert.ok(f.evidence.some((e) => /running but not ready/.test(e.text)));
  assert.ok(f.nextSteps.includes('kubectl rollout undo deployment/api -n payments'));
  assert.ok(f.nextSteps.includes('kubectl rollout status deployment/api -n payments'));
  // Past the 10-minute deadline it stays one alert, now on the controller's own verdict.
  await j.advance(8 * 60_000);
  const late = ours(j.firing());
  assert.equal(late.length, 1);
  assert.equal(late[0]!.facts.deadlineExceeded, true);
  assert.equal(late[0]!.facts.verdict, 'rollout-stuck');
  assert.ok(late[0]!.evidence.some((e) => /Progressing=False \(ProgressDeadlineExceeded\)/.test(e.text)));
  j.sim.faults.heal();
  await j.advance(3 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved after heal');
});

test('deployment-replicas: a bad image on a rollout is blocked-by-image, with the pull errors as evidence', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'bad-image', target: 'shop/cart' });
  const detectMs = await untilFiring(j, 'Deployment/shop/cart', 8 * 60_000);
  assert.ok(detectMs !== undefined && detectMs <= 4 * 60_000, `fired after ${detectMs} ms`);
  const f = ours(j.firing())[0]!;
  assert.equal(f.facts.verdict, 'blocked-by-image');
  assert.match(f.title, /2 of 2 replicas available, rollout blocked, image cannot be pulled/);
  assert.ok(f.evidence.some((e) => /ImagePullBackOff|ErrImagePull/.test(e.text)));
  assert.ok(f.evidence.some((e) => /does-not-exist/.test(e.text)));
  j.sim.faults.heal();
  await j.advance(3 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved after heal');
});

test('deployment-replicas: every replica crash-looping outside a rollout is replicas-lost, one finding', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  const detectMs = await untilFiring(j, 'Deployment/shop/cart', 8 * 60_000);
  assert.ok(detectMs !== undefined && detectMs <= 5 * 60_000, `fired after ${detectMs} ms`);
  const firing = ours(j.firing());
  assert.deepEqual(
    firing.map((f) => refText(f.object)),
    ['Deployment/shop/cart'],
  );
  const f = firing[0]!;
  assert.equal(f.facts.verdict, 'replicas-lost');
  assert.equal(f.facts.cause, 'crash');
  assert.match(f.title, /^Deployment shop\/cart: 0 of 2 replicas available, replicas lost, crash-looping/);
  assert.ok(f.nextSteps.some((s) => /^kubectl logs -n shop cart-\S+ --previous$/.test(s)));
  // It stays firing through the short runs between crashes (pods briefly ready do not reset it).
  for (let i = 0; i < 6; i++) {
    await j.advance(20_000, 20_000);
    assert.equal(ours(j.firing()).length, 1, `still firing ${i}`);
  }
  j.sim.faults.heal();
  await j.advance(3 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved after heal');
});

test('deployment-replicas: capacity exhausted blocks the new batch Deployment by scheduling', async (t) => {
  // capacity-stuck (the cluster cannot add capacity) mutes this verdict; off here to see the verdict itself.
  const j = await startJudged(t, { config: 'rules:\n  capacity-stuck: { level: off }\n' });
  j.sim.faults.start({ name: 'capacity-exhausted' });
  const detectMs = await untilFiring(j, 'Deployment/batch/model-training', 8 * 60_000);
  assert.ok(detectMs !== undefined && detectMs <= 5 * 60_000, `fired after ${detectMs} ms`);
  const f = ours(j.firing()).find((x) => x.object.name === 'model-training')!;
  assert.equal(f.facts.verdict, 'blocked-by-scheduling');
  assert.ok(f.evidence.some((e) => /PodScheduled=False \(Unschedulable\)/.test(e.text)));
  assert.deepEqual(
    ours(j.firing()).map((x) => refText(x.object)),
    ['Deployment/batch/model-training'],
    'nothing else',
  );
});

test('deployment-replicas: quiet during a healthy rollout and a slow rollout with minReadySeconds', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'rollout', target: 'shop/frontend' });
  assert.deepEqual(await seenWhile(j, 4 * 60_000, 10_000), [], 'healthy rollout');
  // A slow rollout: each new pod must stay ready 3 minutes before it counts as available.
  j.sim.cluster.world.store.modify<Deployment>(R.deployments, 'payments', 'api', (x) => ({
    ...x,
    metadata: { ...x.metadata, generation: (x.metadata.generation ?? 1) + 1 },
    spec: { ...x.spec, minReadySeconds: 180 },
  }));
  await j.advance(60_000);
  j.sim.faults.start({ name: 'rollout', target: 'payments/api' });
  assert.deepEqual(await seenWhile(j, 15 * 60_000), [], 'slow rollout');
  const d = j.watcher.view.get('Deployment', 'payments', 'api')!;
  assert.equal(d.conditions.Progressing?.reason, 'NewReplicaSetAvailable', 'the slow rollout completed');
});

test('deployment-replicas: a paused Deployment and one scaled to zero stay silent', async (t) => {
  const j = await startJudged(t);
  for (const name of ['cart', 'checkout'])
    j.sim.cluster.world.store.modify<Deployment>(R.deployments, 'shop', name, (x) => ({
      ...x,
      metadata: { ...x.metadata, generation: (x.metadata.generation ?? 1) + 1 },
      spec: name === 'cart' ? { ...x.spec, paused: true } : { ...x.spec, replicas: 0 },
    }));
  await j.advance(30_000);
  // A person paused cart (to debug it, or to batch changes): its replicas crashing is theirs to see.
  j.sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  j.sim.faults.start({ name: 'bad-image', target: 'shop/checkout' });
  assert.deepEqual(await seenWhile(j, 6 * 60_000), []);
  const restarts = j.watcher.view
    .podsOf('Deployment', 'shop', 'cart')
    .flatMap((p) => p.containers.map((c) => c.restarts));
  assert.ok(restarts.length > 0 && restarts.every((r) => r >= 2), 'cart did crash-loop');
});

test('deployment-replicas: a rollout blocked while the scheduler is down is muted by the scheduler alert', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'scheduler-down' });
  await j.advance(60_000);
  j.sim.faults.start({ name: 'rollout', target: 'shop/checkout' });
  await j.advance(6 * 60_000);
  const { findings, muted } = await j.evaluate();
  const blocked = ours([...findings, ...muted]).find((f) => f.object.name === 'checkout');
  assert.equal(blocked?.facts.verdict, 'blocked-by-scheduling', 'judged blocked by scheduling');
  if (findings.some((f) => f.ruleId === 'control-plane' && f.facts.component === 'kube-scheduler')) {
    assert.ok(muted.includes(blocked), 'muted by the scheduler finding');
    assert.deepEqual(
      ours(j.firing()).filter((f) => f.object.name === 'checkout'),
      [],
      'not firing on its own',
    );
  } else {
    t.diagnostic('no control-plane finding for kube-scheduler in this catalog: muting not checked');
  }
});

test("deployment-replicas: quiet while a lost node's replicas are evicted and replaced", async (t) => {
  const j = await startJudged(t);
  const onNode = j.watcher.view
    .podsOnNode('sim-worker2')
    .filter((p) => ['shop', 'payments'].includes(p.namespace ?? '') && p.owner?.kind === 'ReplicaSet');
  assert.ok(onNode.length > 0, 'an application replica runs on sim-worker2');
  j.sim.faults.start({ name: 'node-notready', target: 'sim-worker2' });
  assert.deepEqual(await seenWhile(j, 10 * 60_000), []);
});

test('deployment-replicas: quiet while the Cluster Autoscaler adds a node for a new Deployment', async (t) => {
  const j = await startJudged(t);
  const before = j.watcher.view.count('Node');
  createDeployment(j.sim.cluster.world, 'shop', 'recommender', 5, {
    image: 'ghcr.io/healwatch-sim/recommender:1.0.0',
    cpu: '3',
    memory: '1Gi',
  });
  assert.deepEqual(await seenWhile(j, 8 * 60_000, 15_000), []);
  assert.ok(j.watcher.view.count('Node') > before, 'the autoscaler added a node');
  const d = j.watcher.view.get('Deployment', 'shop', 'recommender')!;
  assert.equal(d.availableReplicas, 5, 'and the new Deployment became available');
});

for (const scenario of ['eks', 'gke', 'aks']) {
  test(`deployment-replicas: quiet on the healthy ${scenario} demo and its rollouts`, async (t) => {
    const j = await startJudged(t, { sim: { scenario } });
    j.sim.faults.start({ name: 'rollout', target: 'payments/api' });
    assert.deepEqual(await seenWhile(j, 5 * 60_000), []);
  });
}
