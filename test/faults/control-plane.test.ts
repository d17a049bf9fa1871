/**
 * Control-plane faults, seen through the API as a monitor (or kubectl) would see them: the static
 * pods crash-loop, leader-election Leases stop moving, and the self-healing loop the component runs
 * stops (scheduling, replica creation) until the fault ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Simulator } from '../../src/sim/index.js';
import {
  condition,
  deploymentPods,
  eventsAbout,
  firstContainer,
  findPod,
  getDeployment,
  getLease,
  isPodReady,
  replicaSetsOf,
  request,
  scaleDeployment,
  simNow,
  startTestSim,
  waitFor,
  type Pod,
} from '../helpers/sim.js';

const CP = 'sim-control-plane';

async function staticPod(sim: Simulator, component: string): Promise<Pod> {
  const pod = await findPod(sim, 'kube-system', `${component}-${CP}`);
  assert.ok(pod, `static pod ${component}-${CP} exists`);
  return pod;
}

test('scheduler-down: the scheduler crash-loops, its Lease goes stale, new pods stay Pending until heal', async (t) => {
  const sim = await startTestSim(t);
  const before = await getLease(sim, 'kube-system', 'kube-scheduler');
  sim.advance(5000);
  const renewed = await getLease(sim, 'kube-system', 'kube-scheduler');
  assert.notEqual(renewed.spec.renewTime, before.spec.renewTime, 'a healthy scheduler renews its Lease');

  sim.faults.start({ name: 'scheduler-down' });
  const crashing = await waitFor(sim, 'kube-scheduler in CrashLoopBackOff', async () => {
    const pod = await staticPod(sim, 'kube-scheduler');
    return firstContainer(pod).state.waiting?.reason === 'CrashLoopBackOff' && pod;
  });
  const status = firstContainer(crashing);
  assert.ok(status.restartCount >= 1);
  assert.equal(status.lastState.terminated?.exitCode, 1);
  assert.equal(status.lastState.terminated?.reason, 'Error');
  assert.match(
    status.state.waiting?.message ?? '',
    /^back-off \d+s restarting failed container=kube-scheduler/,
  );
  assert.equal(isPodReady(crashing), false);
  const backOff = (await eventsAbout(sim, `kube-scheduler-${CP}`, 'kube-system')).find(
    (e) => e.reason === 'BackOff',
  );
  assert.ok(backOff, 'a BackOff event for the scheduler pod');
  assert.equal(backOff.type, 'Warning');

  const frozen = await getLease(sim, 'kube-system', 'kube-scheduler');
  await scaleDeployment(sim, 'shop', 'frontend', 5);
  sim.advance(2000);
  const created = (await deploymentPods(sim, 'shop', 'frontend')).filter((p) => !p.spec.nodeName);
  assert.equal(created.length, 2, 'the controller-manager still creates the two new replicas');
  // Three minutes of the scheduler's crash loop: it runs a few seconds at a time, but never schedules.
  for (let i = 0; i < 180; i++) {
    sim.advance(1000);
    for (const p of created) {
      const now = await findPod(sim, 'shop', p.metadata.name);
      assert.ok(now, `pod ${p.metadata.name} still exists`);
      assert.equal(now.spec.nodeName, undefined, `pod ${p.metadata.name} stays unscheduled`);
      assert.equal(now.status.phase, 'Pending');
    }
  }
  for (const p of created) {
    const events = await eventsAbout(sim, p.metadata.name, 'shop');
    assert.deepEqual(
      events.filter((e) => e.reason === 'Scheduled' || e.reason === 'FailedScheduling'),
      [],
      'nothing schedules (or judges) the pod',
    );
  }
  const stale = await getLease(sim, 'kube-system', 'kube-scheduler');
  assert.equal(stale.spec.renewTime, frozen.spec.renewTime, 'the Lease is not renewed');
  assert.equal(stale.spec.holderIdentity, frozen.spec.holderIdentity);
  const ageS = (simNow(sim) - Date.parse(stale.spec.renewTime ?? '')) / 1000;
  assert.ok(ageS > (stale.spec.leaseDurationSeconds ?? 15), `the Lease is expired (${ageS} s old)`);

  sim.faults.heal();
  await waitFor(
    sim,
    'the new frontend pods scheduled after heal',
    async () => {
      const pods = await Promise.all(created.map((p) => findPod(sim, 'shop', p.metadata.name)));
      return pods.every((p) => p?.spec.nodeName !== undefined);
    },
    { maxSteps: 30 },
  );
  for (const p of created) {
    const scheduled = (await eventsAbout(sim, p.metadata.name, 'shop')).find((e) => e.reason === 'Scheduled');
    assert.ok(scheduled, `a Scheduled event for ${p.metadata.name}`);
    assert.match(
      scheduled.message,
      /^Successfully assigned shop\/frontend-[a-z0-9]+-[a-z0-9]+ to sim-worker\d*$/,
    );
  }
  const lease = await waitFor(sim, 'a new scheduler leader', async () => {
    const l = await getLease(sim, 'kube-system', 'kube-scheduler');
    return l.spec.holderIdentity !== frozen.spec.holderIdentity && l;
  });
  assert.equal(lease.spec.leaseTransitions, (frozen.spec.leaseTransitions ?? 0) + 1);
  assert.match(lease.spec.holderIdentity ?? '', new RegExp(`^${CP}_[0-9a-f-]{36}$`));
  const election = (await eventsAbout(sim, 'kube-scheduler', 'kube-system')).find(
    (e) => e.reason === 'LeaderElection',
  );
  assert.equal(election?.message, `${lease.spec.holderIdentity} became leader`);
  const healed = await waitFor(sim, 'kube-scheduler Ready again', async () => {
    const pod = await staticPod(sim, 'kube-scheduler');
    return isPodReady(pod) && pod;
  });
  assert.ok(firstContainer(healed).state.running);
});

test('controller-manager-down: scaling a Deployment creates no pods and deleted pods are not replaced until heal', async (t) => {
  const sim = await startTestSim(t);
  const before = await getLease(sim, 'kube-system', 'kube-controller-manager');
  sim.faults.start({ name: 'controller-manager-down' });
  const crashing = await waitFor(sim, 'kube-controller-manager in CrashLoopBackOff', async () => {
    const pod = await staticPod(sim, 'kube-controller-manager');
    return firstContainer(pod).state.waiting?.reason === 'CrashLoopBackOff' && pod;
  });
  assert.equal(firstContainer(crashing).lastState.terminated?.exitCode, 1);

  const [rsBefore] = await replicaSetsOf(sim, 'shop', 'cart');
  assert.ok(rsBefore);
  assert.equal(rsBefore.spec.replicas, 2);
  await scaleDeployment(sim, 'shop', 'cart', 4);
  // Deleting a pod: the kubelet stops and removes it, but no ReplicaSet controller replaces it.
  const [victim] = await deploymentPods(sim, 'shop', 'checkout');
  assert.ok(victim);
  const deleted = await request(sim, 'DELETE', `/api/v1/namespaces/shop/pods/${victim.metadata.name}`);
  assert.equal(deleted.status, 200);
  sim.advance(120_000);

  const cart = await getDeployment(sim, 'shop', 'cart');
  assert.equal(cart.spec.replicas, 4);
  assert.ok(
    (cart.status.observedGeneration ?? 0) < (cart.metadata.generation ?? 0),
    'the Deployment controller has not observed the new generation',
  );
  const [rsDuring] = await replicaSetsOf(sim, 'shop', 'cart');
  assert.equal(rsDuring?.spec.replicas, 2, 'no controller scaled the ReplicaSet');
  assert.equal((await deploymentPods(sim, 'shop', 'cart')).length, 2, 'no new cart pods');
  assert.equal(await findPod(sim, 'shop', victim.metadata.name), undefined, 'the deleted pod is gone');
  assert.equal((await deploymentPods(sim, 'shop', 'checkout')).length, 1, 'and not replaced');
  const checkout = await getDeployment(sim, 'shop', 'checkout');
  assert.equal(checkout.status.availableReplicas, 2, 'stale status: nobody updates it');
  const lease = await getLease(sim, 'kube-system', 'kube-controller-manager');
  const ageS = (simNow(sim) - Date.parse(lease.spec.renewTime ?? '')) / 1000;
  assert.ok(ageS >= 120, `the controller-manager Lease is stale (${ageS} s)`);
  assert.equal(lease.spec.holderIdentity, before.spec.holderIdentity);

  sim.faults.heal();
  await waitFor(
    sim,
    'cart scaled to 4 available and checkout back to 2 after heal',
    async () => {
      const c = await getDeployment(sim, 'shop', 'cart');
      const k = await getDeployment(sim, 'shop', 'checkout');
      return (
        c.status.availableReplicas === 4 &&
        c.status.observedGeneration === c.metadata.generation &&
        (await deploymentPods(sim, 'shop', 'checkout')).filter(isPodReady).length === 2 &&
        k.status.availableReplicas === 2
      );
    },
    { maxSteps: 60 },
  );
  const [rsAfter] = await replicaSetsOf(sim, 'shop', 'cart');
  assert.equal(rsAfter?.spec.replicas, 4);
  const scaled = (await eventsAbout(sim, 'cart', 'shop')).find((e) => e.reason === 'ScalingReplicaSet');
  assert.equal(scaled?.message, `Scaled up replica set ${rsAfter?.metadata.name} from 2 to 4`);
  const after = await getLease(sim, 'kube-system', 'kube-controller-manager');
  assert.equal(after.spec.leaseTransitions, (before.spec.leaseTransitions ?? 0) + 1);
});

test('apiserver-unready: /readyz fails its etcd-readiness check, /livez passes, the kube-apiserver pod turns unready', async (t) => {
  const sim = await startTestSim(t);
  assert.equal((await request(sim, 'GET', '/readyz')).text, 'ok');
  sim.faults.start({ name: 'apiserver-unready' });

  const readyz = await request(sim, 'GET', '/readyz');
  assert.equal(readyz.status, 500);
  assert.match(readyz.text, /^\[-\]etcd-readiness failed: reason withheld$/m);
  assert.match(readyz.text, /^\[\+\]etcd ok$/m);
  assert.match(readyz.text, /readyz check failed\n$/);
  const verbose = await request(sim, 'GET', '/readyz?verbose');
  assert.equal(verbose.status, 500);
  assert.match(verbose.text, /\[-\]etcd-readiness failed/);
  const excluded = await request(sim, 'GET', '/readyz?exclude=etcd-readiness');
  assert.equal(excluded.status, 200, 'excluding the failing check passes');
  const check = await request(sim, 'GET', '/readyz/etcd-readiness');
  assert.equal(check.status, 500);
  assert.match(check.text, /^internal server error: /);
  assert.equal((await request(sim, 'GET', '/livez')).status, 200, 'liveness is unaffected');
  assert.equal((await request(sim, 'GET', '/healthz')).status, 200);

  const pod = await waitFor(sim, 'kube-apiserver pod not Ready', async () => {
    const p = await staticPod(sim, 'kube-apiserver');
    return !isPodReady(p) && p;
  });
  assert.equal(pod.status.phase, 'Running');
  assert.ok(firstContainer(pod).state.running, 'the container keeps running (readiness, not liveness)');
  assert.equal(firstContainer(pod).ready, false);
  assert.equal(condition(pod.status.conditions, 'ContainersReady')?.status, 'False');
  sim.advance(60_000);
  const unhealthy = (await eventsAbout(sim, `kube-apiserver-${CP}`, 'kube-system')).find(
    (e) => e.reason === 'Unhealthy',
  );
  assert.ok(unhealthy, 'an Unhealthy event');
  assert.match(unhealthy.message, /^Readiness probe failed: /);
  assert.ok((unhealthy.count ?? 0) >= 3, `the probe keeps failing (count ${unhealthy.count})`);

  sim.faults.heal();
  assert.equal((await request(sim, 'GET', '/readyz')).status, 200);
  await waitFor(sim, 'kube-apiserver pod Ready again', async () =>
    isPodReady(await staticPod(sim, 'kube-apiserver')),
  );
});
