/**
 * Scheduling and rollout faults: skewed placement, a cluster out of capacity with the autoscaler at its
 * maximum (and, for contrast, the autoscaler adding nodes when it can), healthy and stuck rollouts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Simulator } from '../../src/sim/index.js';
import {
  condition,
  createDeployment,
  deploymentPods,
  eventCount,
  eventsAbout,
  getDeployment,
  getJson,
  isPodReady,
  listPods,
  ownerName,
  replicaSetsOf,
  scaleDeployment,
  simNow,
  startTestSim,
  waitFor,
  type CoreEvent,
  type List,
  type Node,
  type Pod,
} from '../helpers/sim.js';

function nodesOf(pods: readonly Pod[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of pods) counts.set(p.spec.nodeName ?? '', (counts.get(p.spec.nodeName ?? '') ?? 0) + 1);
  return counts;
}

async function liveReadyPods(sim: Simulator, ns: string, name: string): Promise<Pod[]> {
  return (await deploymentPods(sim, ns, name)).filter((p) => !p.metadata.deletionTimestamp && isPodReady(p));
}

async function rolledOut(sim: Simulator, ns: string, name: string): Promise<boolean> {
  const d = await getDeployment(sim, ns, name);
  const pods = await deploymentPods(sim, ns, name);
  return (
    condition(d.status.conditions, 'Progressing')?.reason === 'NewReplicaSetAvailable' &&
    d.status.updatedReplicas === d.spec.replicas &&
    d.status.availableReplicas === d.spec.replicas &&
    pods.length === d.spec.replicas
  );
}

test('skew NS/DEPLOY: every replica ends up on one node, scale-ups land there too; stopping it rolls them out spread again', async (t) => {
  const sim = await startTestSim(t);
  const before = await deploymentPods(sim, 'shop', 'frontend');
  assert.ok(nodesOf(before).size >= 2, 'frontend starts spread');
  sim.faults.start({ name: 'skew', target: 'shop/frontend' });
  const evicted = (await deploymentPods(sim, 'shop', 'frontend')).filter((p) => p.metadata.deletionTimestamp);
  assert.ok(evicted.length >= 1, 'the replicas elsewhere are evicted');
  assert.ok(
    evicted.every((p) => before.some((b) => b.metadata.name === p.metadata.name)),
    'gracefully: they are Terminating, not gone at once',
  );
  const skewed = await waitFor(
    sim,
    'all frontend replicas Ready on one node',
    async () => {
      const pods = await liveReadyPods(sim, 'shop', 'frontend');
      return pods.length === 3 && nodesOf(pods).size === 1 && pods;
    },
    { maxSteps: 60 },
  );
  const node = skewed[0]!.spec.nodeName!;
  await scaleDeployment(sim, 'shop', 'frontend', 4);
  await waitFor(
    sim,
    'the fourth replica on the same node',
    async () => {
      const pods = await liveReadyPods(sim, 'shop', 'frontend');
      return pods.length === 4 && pods.every((p) => p.spec.nodeName === node);
    },
    { maxSteps: 60 },
  );

  sim.faults.stopMatching('skew');
  const sets = await replicaSetsOf(sim, 'shop', 'frontend');
  const newest = sets.at(-1);
  assert.ok(
    newest?.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'],
    'a rollout restart',
  );
  await waitFor(sim, 'the restart rolled out', () => rolledOut(sim, 'shop', 'frontend'), { maxSteps: 120 });
  const spread = nodesOf(await deploymentPods(sim, 'shop', 'frontend'));
  assert.equal(spread.size, 4, `spread over the four workers: ${JSON.stringify([...spread])}`);
});

const EXHAUSTED =
  '0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 4 Insufficient cpu. preemption: 0/5 nodes are available: 1 Preemption is not helpful for scheduling, 4 No preemption victims found for incoming pod.';

test("capacity-exhausted: pods Pending as Unschedulable with the scheduler's message, FailedScheduling and NotTriggerScaleUp events, no new nodes", async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'capacity-exhausted' });
  sim.advance(30_000);
  const pods = await listPods(sim, 'batch');
  const pending = pods.filter((p) => !p.spec.nodeName);
  assert.equal(pods.length, 12);
  assert.equal(pending.length, 8, 'one 2-CPU replica fits on each 4-CPU worker');
  for (const p of pending) {
    assert.equal(p.status.phase, 'Pending');
    const scheduled = condition(p.status.conditions, 'PodScheduled');
    assert.equal(scheduled?.status, 'False');
    assert.equal(scheduled?.reason, 'Unschedulable');
    assert.equal(scheduled?.message, EXHAUSTED);
  }
  const [first] = pending;
  assert.ok(first);
  const events = async (): Promise<CoreEvent[]> => eventsAbout(sim, first.metadata.name, 'batch');
  const failed = (await events()).find((e) => e.reason === 'FailedScheduling');
  assert.equal(failed?.type, 'Warning');
  assert.equal(failed?.message, EXHAUSTED);
  assert.equal(failed?.reportingComponent, 'default-scheduler');
  const notTriggered = (await events()).find((e) => e.reason === 'NotTriggerScaleUp');
  assert.equal(notTriggered?.message, "pod didn't trigger scale-up: 1 max node group size reached");
  assert.equal(notTriggered?.source.component, 'cluster-autoscaler');
  const d = await getDeployment(sim, 'batch', 'model-training');
  assert.equal(d.status.availableReplicas, 4);
  assert.equal(
    condition(d.status.conditions, 'Available')?.status,
    'False',
    '4 of 12 is below minimum availability',
  );

  sim.advance(5 * 60_000);
  assert.equal((await getJson<List<Node>>(sim, '/api/v1/nodes')).items.length, 5, 'no node is added');
  assert.equal((await listPods(sim, 'batch')).filter((p) => !p.spec.nodeName).length, 8);
  const later = (await events()).find((e) => e.reason === 'NotTriggerScaleUp');
  assert.ok(
    later && notTriggered && eventCount(later) > eventCount(notTriggered),
    'the autoscaler keeps saying so',
  );

  sim.faults.heal();
  await waitFor(sim, 'the batch pods gone', async () => (await listPods(sim, 'batch')).length === 0, {
    maxSteps: 60,
  });
});

test('the Cluster Autoscaler adds nodes up to its maximum for pods that do not fit (no fault)', async (t) => {
  const sim = await startTestSim(t);
  await createDeployment(sim, 'default', 'big', 8, { cpu: '2', memory: '1Gi' });
  sim.advance(2000);
  const pending = (await listPods(sim, 'default', 'app=big')).filter((p) => !p.spec.nodeName);
  assert.equal(pending.length, 4);
  const [first] = pending;
  assert.ok(first);
  const triggered = await waitFor(sim, 'TriggeredScaleUp', async () =>
    (await eventsAbout(sim, first.metadata.name, 'default')).find((e) => e.reason === 'TriggeredScaleUp'),
  );
  assert.equal(triggered.message, 'pod triggered scale-up: [{default 4->6 (max: 6)}]');
  assert.equal(triggered.source.component, 'cluster-autoscaler');
  const requestedAt = simNow(sim);
  sim.advance(30_000);
  assert.equal(
    (await getJson<List<Node>>(sim, '/api/v1/nodes')).items.length,
    5,
    'nodes take time to provision',
  );

  const registered = await waitFor(
    sim,
    'the first new Node registered',
    async () =>
      (await getJson<List<Node>>(sim, '/api/v1/nodes')).items.find((n) => n.metadata.name === 'sim-worker5'),
    { maxSteps: 120 },
  );
  const notReady = condition(registered.status.conditions, 'Ready');
  assert.equal(notReady?.status, 'False', 'a new node starts NotReady until its CNI is up');
  assert.equal(notReady?.reason, 'KubeletNotReady');
  assert.match(notReady?.message ?? '', /NetworkPluginNotReady/);
  const nodes = await waitFor(
    sim,
    'two new Ready nodes',
    async () => {
      const all = (await getJson<List<Node>>(sim, '/api/v1/nodes')).items;
      const ready = all.filter((n) => condition(n.status.conditions, 'Ready')?.status === 'True');
      return all.length === 7 && ready.length === 7 && all;
    },
    { maxSteps: 120 },
  );
  const provisionS = (simNow(sim) - requestedAt) / 1000;
  assert.ok(provisionS >= 30 && provisionS <= 120, `provisioned in ${provisionS} s`);
  const added = nodes.filter(
    (n) =>
      !['sim-control-plane', 'sim-worker', 'sim-worker2', 'sim-worker3', 'sim-worker4'].includes(
        n.metadata.name,
      ),
  );
  assert.deepEqual(added.map((n) => n.metadata.name).sort(), ['sim-worker5', 'sim-worker6']);
  for (const n of added) {
    assert.ok(Date.parse(n.metadata.creationTimestamp) >= requestedAt - 1000, 'a new Node object');
    assert.equal(n.status.allocatable.cpu, '3900m');
    const ready = (await eventsAbout(sim, n.metadata.name)).find((e) => e.reason === 'NodeReady');
    assert.equal(ready?.message, `Node ${n.metadata.name} status is now: NodeReady`);
  }
  await waitFor(sim, 'pods placed on the new nodes', async () => {
    const pods = await listPods(sim, 'default', 'app=big');
    return (
      pods.filter((p) => p.spec.nodeName === 'sim-worker5' || p.spec.nodeName === 'sim-worker6').length === 2
    );
  });
  sim.advance(30_000);
  const still = (await listPods(sim, 'default', 'app=big')).filter((p) => !p.spec.nodeName);
  assert.equal(still.length, 2, 'two replicas still do not fit');
  const atMax = (await eventsAbout(sim, still[0]!.metadata.name, 'default')).find(
    (e) => e.reason === 'NotTriggerScaleUp',
  );
  assert.equal(atMax?.message, "pod didn't trigger scale-up: 1 max node group size reached");
});

test('rollout NS/DEPLOY: a new ReplicaSet at revision 2 replaces the old one without losing availability', async (t) => {
  const sim = await startTestSim(t);
  const [old] = await replicaSetsOf(sim, 'shop', 'frontend');
  assert.ok(old);
  const started = sim.faults.start({ name: 'rollout', target: 'shop/frontend' });
  assert.equal(
    sim.faults.active().some((f) => f.id === started.id),
    false,
    'a rollout is done at once, not an active fault',
  );
  const d0 = await getDeployment(sim, 'shop', 'frontend');
  assert.equal(d0.spec.template.spec.containers[0]?.image, 'ghcr.io/healwatch-sim/shop-frontend:2.4.2');
  for (let i = 0; i < 90 && !(await rolledOut(sim, 'shop', 'frontend')); i++) {
    const d = await getDeployment(sim, 'shop', 'frontend');
    // 3 replicas: maxUnavailable 25 % rounds down to 0, maxSurge up to 1.
    assert.ok(
      (d.status.availableReplicas ?? 0) >= 3,
      `availability kept during the rollout (${d.status.availableReplicas})`,
    );
    assert.ok((d.status.replicas ?? 0) <= 4, 'at most one surge pod');
    sim.advance(1000);
  }
  assert.ok(await rolledOut(sim, 'shop', 'frontend'), 'the rollout completes');
  const sets = await replicaSetsOf(sim, 'shop', 'frontend');
  const fresh = sets.at(-1);
  assert.ok(fresh && fresh.metadata.name !== old.metadata.name);
  assert.equal(fresh.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(fresh.spec.replicas, 3);
  const oldNow = sets.find((rs) => rs.metadata.name === old.metadata.name);
  assert.equal(oldNow?.spec.replicas, 0, 'the old ReplicaSet is kept, scaled to 0');
  assert.ok(
    (await deploymentPods(sim, 'shop', 'frontend')).every((p) => ownerName(p) === fresh.metadata.name),
  );
  const d = await getDeployment(sim, 'shop', 'frontend');
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(d.status.observedGeneration, d.metadata.generation);
  const progressing = condition(d.status.conditions, 'Progressing');
  assert.equal(progressing?.status, 'True');
  assert.equal(progressing?.message, `ReplicaSet "${fresh.metadata.name}" has successfully progressed.`);
  const scaling = (await eventsAbout(sim, 'frontend', 'shop'))
    .filter((e) => e.reason === 'ScalingReplicaSet')
    .map((e) => e.message);
  assert.equal(scaling[0], `Scaled up replica set ${fresh.metadata.name} from 0 to 1`);
  assert.ok(scaling.includes(`Scaled down replica set ${old.metadata.name} from 3 to 2`));
  assert.equal(scaling.at(-1), `Scaled down replica set ${old.metadata.name} from 1 to 0`);
});

test('rollout-stuck NS/DEPLOY: the new pod never turns Ready, old pods keep serving, Progressing=False after 600 s', async (t) => {
  const sim = await startTestSim(t);
  const [old] = await replicaSetsOf(sim, 'shop', 'frontend');
  assert.ok(old);
  const startedAt = simNow(sim);
  sim.faults.start({ name: 'rollout-stuck', target: 'shop/frontend' });
  const stuckRs = (await replicaSetsOf(sim, 'shop', 'frontend')).at(-1);
  assert.ok(stuckRs && stuckRs.metadata.name !== old.metadata.name);
  const newPod = await waitFor(sim, 'the new pod running', async () => {
    const p = (await deploymentPods(sim, 'shop', 'frontend')).find(
      (x) => ownerName(x) === stuckRs.metadata.name,
    );
    return p?.status.phase === 'Running' && p;
  });
  sim.advance(60_000);
  const unhealthy = (await eventsAbout(sim, newPod.metadata.name, 'shop')).find(
    (e) => e.reason === 'Unhealthy',
  );
  assert.equal(unhealthy?.type, 'Warning');
  assert.match(unhealthy?.message ?? '', /^Readiness probe failed: /);
  const firstCount = unhealthy ? eventCount(unhealthy) : 0;

  sim.advance(startedAt + 590_000 - simNow(sim));
  const before = await getDeployment(sim, 'shop', 'frontend');
  assert.equal(condition(before.status.conditions, 'Progressing')?.status, 'True', 'not yet at 590 s');
  assert.equal(before.status.updatedReplicas, 1);
  assert.equal(before.status.availableReplicas, 3, 'the old pods keep serving');
  const current = (await deploymentPods(sim, 'shop', 'frontend')).find(
    (p) => p.metadata.name === newPod.metadata.name,
  );
  assert.ok(current && !isPodReady(current), 'the new pod is still not Ready');
  assert.equal(current.status.phase, 'Running');
  const oldPods = (await deploymentPods(sim, 'shop', 'frontend')).filter(
    (p) => ownerName(p) === old.metadata.name,
  );
  assert.equal(oldPods.filter(isPodReady).length, 3);

  const stuck = await waitFor(
    sim,
    'ProgressDeadlineExceeded',
    async () => {
      const d = await getDeployment(sim, 'shop', 'frontend');
      return condition(d.status.conditions, 'Progressing')?.status === 'False' && d;
    },
    { maxSteps: 30 },
  );
  const elapsedS = (simNow(sim) - startedAt) / 1000;
  assert.ok(elapsedS >= 600 && elapsedS <= 615, `deadline passed at ${elapsedS} s`);
  const progressing = condition(stuck.status.conditions, 'Progressing');
  assert.equal(progressing?.reason, 'ProgressDeadlineExceeded');
  assert.equal(progressing?.message, `ReplicaSet "${stuckRs.metadata.name}" has timed out progressing.`);
  assert.equal(condition(stuck.status.conditions, 'Available')?.status, 'True');
  const later = (await eventsAbout(sim, newPod.metadata.name, 'shop')).find((e) => e.reason === 'Unhealthy');
  assert.ok(later && eventCount(later) > firstCount, 'the readiness probe keeps failing');

  sim.faults.heal();
  await waitFor(
    sim,
    'rolled back to the old ReplicaSet',
    async () => {
      const pods = await deploymentPods(sim, 'shop', 'frontend');
      return (
        (await rolledOut(sim, 'shop', 'frontend')) && pods.every((p) => ownerName(p) === old.metadata.name)
      );
    },
    { maxSteps: 60 },
  );
  const sets = await replicaSetsOf(sim, 'shop', 'frontend');
  assert.equal(
    sets.at(-1)?.metadata.name,
    old.metadata.name,
    'the old template is the newest revision again',
  );
  assert.equal(sets.at(-1)?.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
});
