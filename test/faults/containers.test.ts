/**
 * Container faults (crash loops, OOM kills, image pull failures, restart spikes, crashing add-ons),
 * seen as a real cluster shows them: container states and restart counts, `lastState.terminated`,
 * waiting reasons, the kubelet's BackOff and Failed events with growing counts, back-off spacing,
 * Deployment availability, and the crash in `pods/log`.
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
  firstContainer,
  findPod,
  getDeployment,
  getJson,
  getText,
  isPodReady,
  listPods,
  ownerName,
  replicaSetsOf,
  request,
  secondsBetween,
  startTestSim,
  waitFor,
  type List,
  type Pod,
} from '../helpers/sim.js';

/** Waits until every pod of a Deployment shows this waiting reason. */
async function allWaiting(
  sim: Simulator,
  ns: string,
  name: string,
  reason: string,
  maxSteps = 120,
): Promise<Pod[]> {
  return waitFor(
    sim,
    `${ns}/${name} pods in ${reason}`,
    async () => {
      const pods = await deploymentPods(sim, ns, name);
      return pods.length > 0 && pods.every((p) => firstContainer(p).state.waiting?.reason === reason) && pods;
    },
    { maxSteps },
  );
}

/**
 * Follows one pod second by second for `seconds` and returns, for each restart, the seconds between the
 * previous instance's exit and the new one's start (as its container status tells them).
 */
async function restartGaps(
  sim: Simulator,
  ns: string,
  pod: string,
  seconds: number,
): Promise<Map<number, number>> {
  const gaps = new Map<number, number>();
  for (let i = 0; i < seconds; i++) {
    const p = await findPod(sim, ns, pod);
    assert.ok(p, `pod ${pod} exists`);
    const c = firstContainer(p);
    if (c.restartCount > 0 && !gaps.has(c.restartCount) && c.state.running) {
      gaps.set(c.restartCount, secondsBetween(c.lastState.terminated?.finishedAt, c.state.running.startedAt));
    }
    sim.advance(1000);
  }
  return gaps;
}

test('crashloop NS/DEPLOY: exit code 1, CrashLoopBackOff with back-off 10 s, 20 s, 40 s, 80 s, growing BackOff events, crash in the logs', async (t) => {
  const sim = await startTestSim(t);
  const running = await deploymentPods(sim, 'shop', 'cart');
  sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  sim.advance(5000);
  for (const p of running) {
    const now = await findPod(sim, 'shop', p.metadata.name);
    assert.ok(now);
    assert.equal(
      firstContainer(now).state.running?.startedAt,
      firstContainer(p).state.running?.startedAt,
      'the running container keeps its start time until it crashes',
    );
  }
  const looping = await allWaiting(sim, 'shop', 'cart', 'CrashLoopBackOff');
  assert.equal(looping.length, 2);
  for (const pod of looping) {
    const c = firstContainer(pod);
    assert.equal(c.ready, false);
    assert.equal(c.restartCount, 1);
    assert.equal(c.lastState.terminated?.exitCode, 1);
    assert.equal(c.lastState.terminated?.reason, 'Error');
    assert.equal(
      c.state.waiting?.message,
      `back-off 10s restarting failed container=cart pod=${pod.metadata.name}_shop(${pod.metadata.uid})`,
    );
    assert.equal(pod.status.phase, 'Running', 'a crash-looping pod stays Running');
    assert.equal(condition(pod.status.conditions, 'Ready')?.status, 'False');
  }
  const deployment = await getDeployment(sim, 'shop', 'cart');
  assert.equal(deployment.status.availableReplicas, undefined, 'no available replicas (omitted when 0)');
  assert.equal(deployment.status.unavailableReplicas, 2);
  const available = condition(deployment.status.conditions, 'Available');
  assert.equal(available?.status, 'False');
  assert.equal(available?.reason, 'MinimumReplicasUnavailable');
  assert.equal(
    condition(deployment.status.conditions, 'Progressing')?.reason,
    'NewReplicaSetAvailable',
    'crashes after a completed rollout do not touch Progressing',
  );

  const [pod] = looping;
  assert.ok(pod);
  const name = pod.metadata.name;
  const backOff = async (): Promise<number> => {
    const e = (await eventsAbout(sim, name, 'shop')).find((x) => x.reason === 'BackOff');
    assert.ok(e, 'a BackOff event');
    assert.equal(e.type, 'Warning');
    assert.equal(
      e.message,
      `Back-off restarting failed container cart in pod ${name}_shop(${pod.metadata.uid})`,
    );
    assert.equal(e.involvedObject.fieldPath, 'spec.containers{cart}');
    assert.equal(e.source.component, 'kubelet');
    return eventCount(e);
  };
  const countBefore = await backOff();
  const logs = await getText(sim, `/api/v1/namespaces/shop/pods/${name}/log`);
  assert.match(
    logs,
    /"level":"fatal","msg":"exiting: dependency not available after 3 attempts"}\n$/,
    'the crash line',
  );
  const previous = await getText(sim, `/api/v1/namespaces/shop/pods/${name}/log?previous=true`);
  assert.match(previous, /failed to connect to database/);

  const gaps = await restartGaps(sim, 'shop', name, 300);
  // kubelet: the first restart is immediate, then 10 s doubling (plus a second for the status sync).
  for (const [restart, expected] of [
    [2, 10],
    [3, 20],
    [4, 40],
    [5, 80],
  ] as const) {
    const gap = gaps.get(restart);
    assert.ok(gap !== undefined, `restart ${restart} seen (gaps: ${JSON.stringify([...gaps])})`);
    assert.ok(
      gap >= expected && gap <= expected + 3,
      `restart ${restart} after ${gap} s, expected ~${expected} s`,
    );
  }
  assert.ok((await backOff()) > countBefore + 2, 'the BackOff event count grows with every back-off');

  sim.faults.heal();
  await waitFor(
    sim,
    'cart available again',
    async () => (await getDeployment(sim, 'shop', 'cart')).status.availableReplicas === 2,
    {
      maxSteps: 30,
    },
  );
  const restarts = (await deploymentPods(sim, 'shop', 'cart')).map((p) => firstContainer(p).restartCount);
  sim.advance(10 * 60_000);
  const after = await deploymentPods(sim, 'shop', 'cart');
  assert.deepEqual(
    after.map((p) => firstContainer(p).restartCount),
    restarts,
    'no more restarts after heal (restart counts are kept)',
  );
  assert.ok(after.every(isPodReady));
  assert.equal(
    condition((await getDeployment(sim, 'shop', 'cart')).status.conditions, 'Available')?.status,
    'True',
  );
});

test('crashloop: after ten healthy minutes the back-off is forgotten and the next crash restarts at once', async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'crashloop', target: 'shop/checkout' });
  const [pod] = await allWaiting(sim, 'shop', 'checkout', 'CrashLoopBackOff');
  assert.ok(pod);
  await waitFor(
    sim,
    'four restarts',
    async () => firstContainer((await findPod(sim, 'shop', pod.metadata.name))!).restartCount >= 4,
    {
      maxSteps: 200,
    },
  );
  sim.faults.heal();
  sim.advance(11 * 60_000);
  const healthy = await findPod(sim, 'shop', pod.metadata.name);
  assert.ok(healthy && isPodReady(healthy));
  const restarts = firstContainer(healthy).restartCount;
  sim.faults.start({ name: 'crashloop', target: 'shop/checkout' });
  const gaps = await restartGaps(sim, 'shop', pod.metadata.name, 40);
  const first = gaps.get(restarts + 1);
  assert.ok(first !== undefined && first <= 2, `restarted at once (${first} s), not after the old back-off`);
  const second = gaps.get(restarts + 2);
  assert.ok(
    second !== undefined && second >= 10 && second <= 13,
    `then back-off starts over at 10 s (${second} s)`,
  );
});

test('oom NS/DEPLOY: memory climbs to the limit, OOMKilled with exit code 137, CrashLoopBackOff, logs end at the allocation', async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'oom', target: 'payments/worker' });
  const [pod] = await deploymentPods(sim, 'payments', 'worker');
  assert.ok(pod);
  const name = pod.metadata.name;
  const limit = 256 * 2 ** 20;
  sim.advance(20_000);
  const metrics = await getJson<{ containers: { name: string; usage: { memory: string } }[] }>(
    sim,
    `/apis/metrics.k8s.io/v1beta1/namespaces/payments/pods/${name}`,
  );
  const memoryKi = Number(/^(\d+)Ki$/.exec(metrics.containers[0]?.usage.memory ?? '')?.[1]);
  assert.ok(
    memoryKi * 1024 >= 0.8 * limit,
    `working set near the 256Mi limit before the kill (${memoryKi} Ki)`,
  );

  const killed = await waitFor(sim, 'first OOM kill', async () => {
    const p = await findPod(sim, 'payments', name);
    return p && firstContainer(p).lastState.terminated && p;
  });
  const last = firstContainer(killed).lastState.terminated;
  assert.equal(last?.reason, 'OOMKilled');
  assert.equal(last?.exitCode, 137);
  const looping = await allWaiting(sim, 'payments', 'worker', 'CrashLoopBackOff');
  for (const p of looping) {
    assert.equal(firstContainer(p).lastState.terminated?.reason, 'OOMKilled');
    assert.equal(firstContainer(p).lastState.terminated?.exitCode, 137);
  }
  const backOff = (await eventsAbout(sim, name, 'payments')).find((e) => e.reason === 'BackOff');
  assert.equal(backOff?.type, 'Warning');
  const logs = await getText(sim, `/api/v1/namespaces/payments/pods/${name}/log?previous=true`);
  assert.match(logs, /"msg":"allocating buffer for batch".*\n$/);
  assert.equal(
    condition((await getDeployment(sim, 'payments', 'worker')).status.conditions, 'Available')?.status,
    'False',
  );

  sim.faults.heal();
  await waitFor(
    sim,
    'worker available again',
    async () => (await getDeployment(sim, 'payments', 'worker')).status.availableReplicas === 2,
    {
      maxSteps: 30,
    },
  );
});

test('restart-spike NS/DEPLOY: restarts every minute or two while the Deployment mostly serves; they stop after heal', async (t) => {
  const sim = await startTestSim(t);
  const total = async (): Promise<number> =>
    (await deploymentPods(sim, 'payments', 'api')).reduce((n, p) => n + firstContainer(p).restartCount, 0);
  assert.equal(await total(), 0);
  sim.faults.start({ name: 'restart-spike', target: 'payments/api' });
  let samples = 0;
  let serving = 0;
  for (let i = 0; i < 120; i++) {
    sim.advance(5000);
    const pods = await deploymentPods(sim, 'payments', 'api');
    samples++;
    if (pods.some(isPodReady)) serving++;
    const progressing = condition(
      (await getDeployment(sim, 'payments', 'api')).status.conditions,
      'Progressing',
    );
    assert.equal(
      progressing?.reason,
      'NewReplicaSetAvailable',
      'restarts outside a rollout are not progress',
    );
  }
  const restarts = await total();
  assert.ok(restarts >= 6, `3 pods restarted ${restarts} times in 10 minutes`);
  assert.ok(
    serving / samples >= 0.8,
    `at least one replica Ready ${Math.round((serving / samples) * 100)} % of the time`,
  );
  for (const p of await deploymentPods(sim, 'payments', 'api')) {
    const c = firstContainer(p);
    assert.ok(c.restartCount >= 1, `${p.metadata.name} restarted`);
    assert.equal(c.lastState.terminated?.reason, 'Error');
    assert.equal(c.lastState.terminated?.exitCode, 1);
  }
  const [one] = await deploymentPods(sim, 'payments', 'api');
  assert.ok(one);
  const logs = await getText(sim, `/api/v1/namespaces/payments/pods/${one.metadata.name}/log?previous=true`);
  assert.match(logs, /"level":"error","msg":"request failed"/, 'errors before the restarts');

  sim.faults.heal();
  await waitFor(
    sim,
    'all api pods Ready',
    async () => (await deploymentPods(sim, 'payments', 'api')).every(isPodReady),
    {
      maxSteps: 30,
    },
  );
  const settled = await total();
  sim.advance(15 * 60_000);
  assert.equal(await total(), settled, 'no restarts after heal');
});

test('bad-image NS/DEPLOY: the new pod cycles ErrImagePull / ImagePullBackOff, old pods keep serving, the rollout passes its deadline', async (t) => {
  const sim = await startTestSim(t);
  const [original] = await replicaSetsOf(sim, 'shop', 'checkout');
  assert.ok(original);
  sim.faults.start({ name: 'bad-image', target: 'shop/checkout' });
  const sets = await replicaSetsOf(sim, 'shop', 'checkout');
  const bad = sets.at(-1);
  assert.ok(bad && bad.metadata.name !== original.metadata.name, 'a new ReplicaSet');
  assert.equal(bad.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(
    bad.spec.template.spec.containers[0]?.image,
    'ghcr.io/healwatch-sim/shop-checkout:does-not-exist',
  );

  const pulling = await waitFor(sim, 'ErrImagePull', async () => {
    const p = (await deploymentPods(sim, 'shop', 'checkout')).find((x) => ownerName(x) === bad.metadata.name);
    return p && firstContainer(p).state.waiting?.reason === 'ErrImagePull' && p;
  });
  const name = pulling.metadata.name;
  assert.equal(pulling.status.phase, 'Pending');
  assert.match(firstContainer(pulling).state.waiting?.message ?? '', /not found$/);
  const backingOff = await waitFor(sim, 'ImagePullBackOff', async () => {
    const p = await findPod(sim, 'shop', name);
    return p && firstContainer(p).state.waiting?.reason === 'ImagePullBackOff' && p;
  });
  assert.match(
    firstContainer(backingOff).state.waiting?.message ?? '',
    /^Back-off pulling image "ghcr\.io\/healwatch-sim\/shop-checkout:does-not-exist"/,
  );
  const events = async (): Promise<Map<string, number>> => {
    const out = new Map<string, number>();
    for (const e of await eventsAbout(sim, name, 'shop')) {
      const key = `${e.type} ${e.reason} ${e.message.startsWith('Failed to pull image') ? 'Failed to pull image' : e.message}`;
      out.set(key, (out.get(key) ?? 0) + eventCount(e));
    }
    return out;
  };
  const early = await events();
  for (const key of [
    'Normal Pulling Pulling image "ghcr.io/healwatch-sim/shop-checkout:does-not-exist"',
    'Warning Failed Failed to pull image',
    'Warning Failed Error: ErrImagePull',
    'Normal BackOff Back-off pulling image "ghcr.io/healwatch-sim/shop-checkout:does-not-exist"',
    'Warning Failed Error: ImagePullBackOff',
  ]) {
    assert.ok(early.has(key), `event ${key} (have: ${[...early.keys()].join(' | ')})`);
  }
  const log = await request(sim, 'GET', `/api/v1/namespaces/shop/pods/${name}/log`);
  assert.equal(log.status, 400);
  assert.match(log.text, /is waiting to start: trying and failing to pull image/);

  sim.advance(5 * 60_000);
  const later = await events();
  const pulls = later.get('Warning Failed Error: ErrImagePull') ?? 0;
  assert.ok(pulls > (early.get('Warning Failed Error: ErrImagePull') ?? 0), 'pulls are retried');
  assert.ok(pulls <= 8, `with a growing back-off (${pulls} pulls in 5 minutes)`);
  const during = await getDeployment(sim, 'shop', 'checkout');
  assert.equal(during.status.availableReplicas, 2, 'the old pods keep serving');
  assert.equal(during.status.updatedReplicas, 1);
  assert.equal(condition(during.status.conditions, 'Progressing')?.status, 'True');
  assert.equal(condition(during.status.conditions, 'Available')?.status, 'True');

  const stuck = await waitFor(
    sim,
    'ProgressDeadlineExceeded',
    async () => {
      const d = await getDeployment(sim, 'shop', 'checkout');
      return condition(d.status.conditions, 'Progressing')?.status === 'False' && d;
    },
    { stepMs: 10_000, maxSteps: 60 },
  );
  const progressing = condition(stuck.status.conditions, 'Progressing');
  assert.equal(progressing?.reason, 'ProgressDeadlineExceeded');
  assert.equal(progressing?.message, `ReplicaSet "${bad.metadata.name}" has timed out progressing.`);
  const deploymentEvents = new Set((await eventsAbout(sim, 'checkout', 'shop')).map((e) => e.reason));
  assert.deepEqual([...deploymentEvents], ['ScalingReplicaSet'], 'the deadline is a condition, not an event');

  sim.faults.heal();
  const healed = await waitFor(
    sim,
    'checkout rolled back to the original image',
    async () => {
      const d = await getDeployment(sim, 'shop', 'checkout');
      const pods = await deploymentPods(sim, 'shop', 'checkout');
      return (
        condition(d.status.conditions, 'Progressing')?.reason === 'NewReplicaSetAvailable' &&
        pods.length === 2 &&
        pods.every((p) => ownerName(p) === original.metadata.name && isPodReady(p)) &&
        d
      );
    },
    { maxSteps: 60 },
  );
  assert.equal(healed.status.availableReplicas, 2);
  assert.equal(healed.spec.template.spec.containers[0]?.image, 'ghcr.io/healwatch-sim/shop-checkout:3.0.2');
});

test('addon-crash kube-system/metrics-server: the add-on crash-loops and the metrics API answers 503', async (t) => {
  const sim = await startTestSim(t);
  assert.equal((await request(sim, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes')).status, 200);
  sim.faults.start({ name: 'addon-crash', target: 'kube-system/metrics-server' });
  const [pod] = await allWaiting(sim, 'kube-system', 'metrics-server', 'CrashLoopBackOff');
  assert.ok(pod);
  assert.equal(firstContainer(pod).lastState.terminated?.exitCode, 1);
  const metrics = await request<{ code: number; reason: string }>(
    sim,
    'GET',
    '/apis/metrics.k8s.io/v1beta1/nodes',
  );
  assert.equal(metrics.status, 503);
  assert.equal(metrics.body.reason, 'ServiceUnavailable');
  const d = await getDeployment(sim, 'kube-system', 'metrics-server');
  assert.equal(condition(d.status.conditions, 'Available')?.status, 'False');
  sim.faults.heal();
  await waitFor(
    sim,
    'metrics API back',
    async () => (await request(sim, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes')).status === 200,
    {
      maxSteps: 30,
    },
  );
});

test('addon-crash kube-system/coredns: both replicas crash-loop, the crash is logged as CoreDNS logs it', async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'addon-crash', target: 'kube-system/coredns' });
  const pods = await allWaiting(sim, 'kube-system', 'coredns', 'CrashLoopBackOff');
  assert.equal(pods.length, 2);
  const d = await getDeployment(sim, 'kube-system', 'coredns');
  assert.equal(d.status.availableReplicas, undefined);
  const [pod] = pods;
  assert.ok(pod);
  const logs = await getText(
    sim,
    `/api/v1/namespaces/kube-system/pods/${pod.metadata.name}/log?previous=true`,
  );
  assert.match(
    logs,
    /\[(FATAL|ERROR)\]/,
    `a CoreDNS-style fatal line, got: ${logs.split('\n').slice(-3).join(' | ')}`,
  );
});

test('addon-crash on a DaemonSet (kube-system/calico-node): every node pod crash-loops', async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'addon-crash', target: 'kube-system/calico-node' });
  const pods = await waitFor(sim, 'calico-node pods in CrashLoopBackOff', async () => {
    const all = await listPods(sim, 'kube-system', 'k8s-app=calico-node');
    return (
      all.length === 5 &&
      all.every((p) => firstContainer(p).state.waiting?.reason === 'CrashLoopBackOff') &&
      all
    );
  });
  for (const p of pods) assert.equal(firstContainer(p).lastState.terminated?.exitCode, 1);
});

test('addon-crash: an unknown workload is a clear error listing the workloads', async (t) => {
  const sim = await startTestSim(t);
  assert.throws(() => sim.faults.start({ name: 'addon-crash', target: 'kube-system/nope' }), {
    message:
      /^workload "kube-system\/nope" not found \(Deployment, DaemonSet or StatefulSet\); workloads: .*kube-system\/coredns/,
  });
  assert.throws(() => sim.faults.start({ name: 'addon-crash', target: 'coredns' }), {
    message: 'target "coredns" must be NAMESPACE/NAME (usage: addon-crash NAMESPACE/NAME)',
  });
});

test('log-agent-errors: fluent-bit pods log output errors and restart now and then', async (t) => {
  const sim = await startTestSim(t);
  const before = await listPods(sim, 'logging', 'app.kubernetes.io/name=fluent-bit');
  assert.equal(before.length, 5, 'a fluent-bit pod per node');
  sim.faults.start({ name: 'log-agent-errors' });
  sim.advance(10 * 60_000);
  const pods = await listPods(sim, 'logging', 'app.kubernetes.io/name=fluent-bit');
  const restarts = pods.reduce((n, p) => n + firstContainer(p).restartCount, 0);
  assert.ok(restarts >= 5, `fluent-bit restarts (${restarts})`);
  const [pod] = pods;
  assert.ok(pod);
  const logs = await getText(sim, `/api/v1/namespaces/logging/pods/${pod.metadata.name}/log`);
  assert.match(logs, /\[error\] \[output:/, 'output errors in the agent log');
  sim.faults.heal();
  await waitFor(
    sim,
    'fluent-bit Ready',
    async () => (await listPods(sim, 'logging', 'app.kubernetes.io/name=fluent-bit')).every(isPodReady),
    {
      maxSteps: 30,
    },
  );
});

test('log-agent-errors: without a log-agent DaemonSet the fault says so', async (t) => {
  const sim = await startTestSim(t);
  const deleted = await request(sim, 'DELETE', '/apis/apps/v1/namespaces/logging/daemonsets/fluent-bit');
  assert.equal(deleted.status, 200);
  assert.throws(() => sim.faults.start({ name: 'log-agent-errors' }), {
    message:
      /^no log-agent DaemonSet \(fluent-bit, fluentd, vector, promtail, datadog-agent, otel-collector\) in this cluster$/,
  });
});

test('autoscaler-down: the Cluster Autoscaler crash-loops (exit 255) and pending pods get no nodes until heal', async (t) => {
  const sim = await startTestSim(t);
  sim.faults.start({ name: 'autoscaler-down' });
  const [ca] = await allWaiting(sim, 'kube-system', 'cluster-autoscaler', 'CrashLoopBackOff');
  assert.ok(ca);
  assert.equal(firstContainer(ca).lastState.terminated?.exitCode, 255);
  assert.equal(firstContainer(ca).lastState.terminated?.reason, 'Error');
  const nodesBefore = (await getJson<List<unknown>>(sim, '/api/v1/nodes')).items.length;
  await createDeployment(sim, 'default', 'big', 6, { cpu: '2', memory: '1Gi' });
  sim.advance(5 * 60_000);
  const pending = (await listPods(sim, 'default', 'app=big')).filter((p) => !p.spec.nodeName);
  assert.ok(pending.length >= 2, `pods stay Pending (${pending.length})`);
  assert.equal(
    (await getJson<List<unknown>>(sim, '/api/v1/nodes')).items.length,
    nodesBefore,
    'no nodes added',
  );
  for (const p of pending) {
    const reasons = (await eventsAbout(sim, p.metadata.name, 'default')).map((e) => e.reason);
    assert.ok(reasons.includes('FailedScheduling'));
    assert.ok(
      !reasons.includes('TriggeredScaleUp') && !reasons.includes('NotTriggerScaleUp'),
      'the autoscaler says nothing',
    );
  }
  sim.faults.heal();
  await waitFor(
    sim,
    'scale-up after heal',
    async () =>
      (await eventsAbout(sim, pending[0]!.metadata.name, 'default')).some(
        (e) => e.reason === 'TriggeredScaleUp',
      ),
    { maxSteps: 60 },
  );
});
