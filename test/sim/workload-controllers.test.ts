import assert from 'node:assert/strict';
import { test } from 'node:test';

import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { R } from '../../src/sim/api/resources.js';
import { getCondition, isPodReady } from '../../src/sim/cluster/objects.js';
import { cronJob, daemonSet, deployment } from '../../src/sim/scenario/workloads.js';
import type {
  CoreEvent,
  CronJob,
  DaemonSet,
  Job,
  KObject,
  Node,
  PersistentVolumeClaim,
  Pod,
  StatefulSet,
} from '../../src/sim/model.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** A fixed start (a Monday, 7½ minutes past a quarter hour) keeps schedules and timings reproducible. */
const START = Date.parse('2025-03-03T10:07:30Z');

async function withSim(fn: (sim: Simulator) => void | Promise<void>): Promise<void> {
  const sim = await startSimulator({ clock: 'manual', seed: 't', startTime: START });
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

function store(sim: Simulator): Simulator['cluster']['world']['store'] {
  return sim.cluster.world.store;
}

function get<T extends KObject>(
  sim: Simulator,
  resource: string,
  namespace: string | undefined,
  name: string,
): T {
  const object = store(sim).get<T>(resource, namespace, name);
  assert.ok(object, `${resource} ${namespace ?? ''}/${name} exists`);
  return object;
}

function podsOf(sim: Simulator, owner: KObject): Pod[] {
  return sim.cluster.world.dependentsOf<Pod>(owner.metadata.uid, R.pods);
}

function jobsOf(sim: Simulator, owner: KObject): Job[] {
  return sim.cluster.world
    .dependentsOf<Job>(owner.metadata.uid, R.jobs)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

function events(sim: Simulator, kind: string, name: string): CoreEvent[] {
  return store(sim)
    .list<CoreEvent>(R.events)
    .filter((e) => e.involvedObject.kind === kind && e.involvedObject.name === name)
    .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
}

function nodeNames(sim: Simulator): string[] {
  return store(sim)
    .list<Node>(R.nodes)
    .map((n) => n.metadata.name)
    .sort();
}

/** Advances in steps, calling `check` after each; stops early when `until` holds. */
function stepUntil(
  sim: Simulator,
  maxMs: number,
  stepMs: number,
  until: () => boolean,
  check?: () => void,
): void {
  for (let elapsed = 0; elapsed < maxMs; elapsed += stepMs) {
    sim.advance(stepMs);
    check?.();
    if (until()) return;
  }
  assert.fail(`condition not reached within ${maxMs / 1000}s`);
}

function pinnedNode(pod: Pod): string | undefined {
  const terms =
    pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  assert.equal(terms.length, 1, 'one required node selector term');
  const field = terms[0]!.matchFields?.[0];
  assert.equal(field?.key, 'metadata.name');
  assert.equal(field.operator, 'In');
  return field.values?.[0];
}

function bumpTemplate<T extends DaemonSet | StatefulSet>(
  sim: Simulator,
  resource: string,
  object: T,
  image: string,
): void {
  store(sim).modify<T>(resource, object.metadata.namespace, object.metadata.name, (x) => ({
    ...x,
    metadata: { ...x.metadata, generation: (x.metadata.generation ?? 1) + 1 },
    spec: {
      ...x.spec,
      template: {
        ...x.spec.template,
        spec: {
          ...x.spec.template.spec,
          containers: x.spec.template.spec.containers.map((c, i) => (i === 0 ? { ...c, image } : c)),
        },
      },
    },
  }));
}

const DAEMON_SETS = [
  ['kube-system', 'kube-proxy'],
  ['kube-system', 'calico-node'],
  ['logging', 'fluent-bit'],
] as const;

test('the demo DaemonSets run one ready pod per node, the tainted control-plane node included', async () => {
  await withSim((sim) => {
    const nodes = nodeNames(sim);
    assert.equal(nodes.length, 5);
    const controlPlane = get<Node>(sim, R.nodes, undefined, 'sim-control-plane');
    assert.ok(
      controlPlane.spec.taints?.some(
        (t) => t.key === 'node-role.kubernetes.io/control-plane' && t.effect === 'NoSchedule',
      ),
      'the control-plane node carries its NoSchedule taint',
    );
    for (const [ns, name] of DAEMON_SETS) {
      const ds = get<DaemonSet>(sim, R.daemonsets, ns, name);
      const pods = podsOf(sim, ds);
      assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), nodes, `${name}: one pod on each node`);
      const hashes = new Set(pods.map((p) => p.metadata.labels?.['controller-revision-hash']));
      assert.equal(hashes.size, 1, `${name}: one revision`);
      assert.match([...hashes][0] ?? '', /^[bcdfghjklmnpqrstvwxz2456789]+$/);
      for (const pod of pods) {
        assert.match(pod.metadata.name, new RegExp(`^${name}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
        assert.equal(pod.metadata.generateName, `${name}-`);
        assert.equal(pinnedNode(pod), pod.spec.nodeName, `${pod.metadata.name} is pinned to its node`);
        assert.equal(pod.metadata.labels?.['pod-template-generation'], '1');
        assert.ok(
          pod.spec.tolerations?.some(
            (t) =>
              t.key === 'node.kubernetes.io/unreachable' &&
              t.effect === 'NoExecute' &&
              t.tolerationSeconds === undefined,
          ),
          'daemon pods tolerate unreachable nodes for ever',
        );
        assert.ok(pod.spec.tolerations?.some((t) => t.key === 'node.kubernetes.io/unschedulable'));
        assert.equal(pod.status.phase, 'Running');
        assert.ok(isPodReady(pod));
      }
      assert.deepEqual(ds.status, {
        currentNumberScheduled: 5,
        numberMisscheduled: 0,
        desiredNumberScheduled: 5,
        numberReady: 5,
        observedGeneration: 1,
        updatedNumberScheduled: 5,
        numberAvailable: 5,
      });
    }
  });
});

test('a DaemonSet follows nodeSelector and taints: no tolerations keeps it off the control plane', async () => {
  await withSim((sim) => {
    const world = sim.cluster.world;
    const plain = daemonSet(world, 'default', 'node-exporter', {
      image: 'quay.io/prometheus/node-exporter:v1.8.2',
    });
    const picky = daemonSet(world, 'default', 'ssd-agent', {
      image: 'ghcr.io/healwatch-sim/ssd-agent:1.0',
      nodeSelector: { disk: 'ssd' },
    });
    world.settle();
    sim.advance(30 * SECOND);
    const workers = nodeNames(sim).filter((n) => n !== 'sim-control-plane');
    assert.deepEqual(
      podsOf(sim, plain)
        .map((p) => p.spec.nodeName)
        .sort(),
      workers,
    );
    assert.equal(
      get<DaemonSet>(sim, R.daemonsets, 'default', 'node-exporter').status.desiredNumberScheduled,
      4,
    );
    assert.equal(podsOf(sim, picky).length, 0);
    assert.equal(get<DaemonSet>(sim, R.daemonsets, 'default', 'ssd-agent').status.desiredNumberScheduled, 0);

    const label = (value: string | undefined): void => {
      store(sim).modify<Node>(R.nodes, undefined, 'sim-worker3', (n) => {
        const labels = { ...(n.metadata.labels ?? {}) };
        if (value === undefined) delete labels.disk;
        else labels.disk = value;
        return { ...n, metadata: { ...n.metadata, labels } };
      });
    };
    label('ssd');
    sim.advance(30 * SECOND);
    const placed = podsOf(sim, picky);
    assert.deepEqual(
      placed.map((p) => p.spec.nodeName),
      ['sim-worker3'],
    );
    assert.equal(placed[0]?.status.phase, 'Running');
    assert.deepEqual(
      events(sim, 'DaemonSet', 'ssd-agent').map((e) => `${e.reason} ${e.message}`),
      [`SuccessfulCreate Created pod: ${placed[0].metadata.name}`],
    );

    label(undefined);
    sim.advance(30 * SECOND);
    assert.equal(podsOf(sim, picky).length, 0, 'the pod left the node that no longer matches');
    const status = get<DaemonSet>(sim, R.daemonsets, 'default', 'ssd-agent').status;
    assert.equal(status.desiredNumberScheduled, 0);
    assert.equal(status.numberMisscheduled, 0);
    assert.deepEqual(
      events(sim, 'DaemonSet', 'ssd-agent').map((e) => e.reason),
      ['SuccessfulCreate', 'SuccessfulDelete'],
    );
  });
});

test('NotReady and cordoned nodes keep their daemon pods; NotReady ones still count as scheduled', async () => {
  await withSim((sim) => {
    const world = sim.cluster.world;
    const plain = daemonSet(world, 'default', 'node-exporter', {
      image: 'quay.io/prometheus/node-exporter:v1.8.2',
    });
    world.settle();
    sim.advance(30 * SECOND);
    store(sim).modify<Node>(R.nodes, undefined, 'sim-worker3', (n) => ({
      ...n,
      spec: { ...n.spec, unschedulable: true },
    }));
    sim.faults.start({ name: 'node-notready', target: 'sim-worker2' });
    sim.advance(2 * MINUTE);

    const node = get<Node>(sim, R.nodes, undefined, 'sim-worker2');
    assert.equal(getCondition(node.status.conditions, 'Ready')?.status, 'Unknown');
    assert.ok(
      node.spec.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'),
    );

    for (const [ns, name] of DAEMON_SETS) {
      const ds = get<DaemonSet>(sim, R.daemonsets, ns, name);
      const pods = podsOf(sim, ds);
      const onLost = pods.filter((p) => p.spec.nodeName === 'sim-worker2');
      assert.equal(onLost.length, 1, `${name} keeps its pod on the NotReady node`);
      assert.equal(onLost[0]?.metadata.deletionTimestamp, undefined);
      assert.equal(
        pods.filter((p) => p.spec.nodeName === 'sim-worker3').length,
        1,
        `${name} stays on the cordoned node`,
      );
      assert.equal(ds.status.desiredNumberScheduled, 5, `${name} tolerates everything`);
      assert.equal(ds.status.currentNumberScheduled, 5);
      assert.equal(ds.status.numberReady, 4, `${name}: the pod on the lost node is not ready`);
      assert.equal(ds.status.numberUnavailable, 1);
    }
    // Without tolerations of its own, a DaemonSet does not want the unreachable node (NoSchedule) but
    // keeps the pod there (NoExecute is tolerated): upstream counts it as misscheduled.
    const exporter = get<DaemonSet>(sim, R.daemonsets, 'default', 'node-exporter');
    assert.equal(exporter.status.desiredNumberScheduled, 3);
    assert.equal(exporter.status.numberMisscheduled, 1);
    assert.equal(podsOf(sim, plain).filter((p) => p.spec.nodeName === 'sim-worker2').length, 1);

    // A new DaemonSet still lands on the cordoned node: its pods tolerate `unschedulable`.
    const late = daemonSet(world, 'default', 'late-agent', { image: 'ghcr.io/healwatch-sim/agent:1.0' });
    world.settle();
    sim.advance(30 * SECOND);
    const onCordoned = podsOf(sim, late).find((p) => p.spec.nodeName === 'sim-worker3');
    assert.equal(onCordoned?.status.phase, 'Running');
  });
});

test('nodes the autoscaler adds get daemon pods; deleted nodes lose them', async () => {
  await withSim((sim) => {
    const world = sim.cluster.world;
    // Pods too big for any current worker make the Cluster Autoscaler add its two spare nodes.
    deployment(world, 'default', 'big', 2, { image: 'ghcr.io/healwatch-sim/big:1.0', cpu: '3700m' });
    world.settle();
    stepUntil(sim, 5 * MINUTE, 10 * SECOND, () => nodeNames(sim).length === 7);
    sim.advance(MINUTE);
    const added = nodeNames(sim).filter((n) => n === 'sim-worker5' || n === 'sim-worker6');
    assert.deepEqual(added, ['sim-worker5', 'sim-worker6']);
    for (const [ns, name] of DAEMON_SETS) {
      const ds = get<DaemonSet>(sim, R.daemonsets, ns, name);
      for (const node of added) {
        const pods = podsOf(sim, ds).filter((p) => p.spec.nodeName === node);
        assert.equal(pods.length, 1, `${name} on ${node}`);
        assert.equal(pods[0]?.status.phase, 'Running');
        assert.ok(
          events(sim, 'DaemonSet', name).some(
            (e) => e.reason === 'SuccessfulCreate' && e.message === `Created pod: ${pods[0]!.metadata.name}`,
          ),
        );
      }
      assert.equal(ds.status.desiredNumberScheduled, 7);
      assert.equal(ds.status.numberAvailable, 7);
    }

    store(sim).delete(R.nodes, undefined, 'sim-worker6');
    sim.advance(MINUTE);
    for (const [ns, name] of DAEMON_SETS) {
      const ds = get<DaemonSet>(sim, R.daemonsets, ns, name);
      assert.equal(podsOf(sim, ds).filter((p) => p.spec.nodeName === 'sim-worker6').length, 0, name);
      assert.equal(ds.status.desiredNumberScheduled, 6);
      assert.equal(ds.status.currentNumberScheduled, 6);
    }
  });
});

test('a template change rolls a DaemonSet one node at a time', async () => {
  await withSim((sim) => {
    const ds = get<DaemonSet>(sim, R.daemonsets, 'logging', 'fluent-bit');
    const oldHash = podsOf(sim, ds)[0]?.metadata.labels?.['controller-revision-hash'];
    const nodes = nodeNames(sim);
    bumpTemplate(sim, R.daemonsets, ds, 'cr.fluentbit.io/fluent/fluent-bit:3.2.5');
    sim.cluster.world.settle();
    const replacedOrder: string[] = [];
    let maxNodesWithoutAvailablePod = 0;
    const isDone = (): boolean => {
      const pods = podsOf(sim, ds);
      return (
        pods.length === 5 &&
        pods.every((p) => p.metadata.labels?.['controller-revision-hash'] !== oldHash && isPodReady(p))
      );
    };
    stepUntil(sim, 10 * MINUTE, SECOND, isDone, () => {
      const pods = podsOf(sim, ds);
      const without = nodes.filter(
        (n) => !pods.some((p) => p.spec.nodeName === n && !p.metadata.deletionTimestamp && isPodReady(p)),
      );
      maxNodesWithoutAvailablePod = Math.max(maxNodesWithoutAvailablePod, without.length);
      for (const p of pods) {
        if (
          p.metadata.labels?.['controller-revision-hash'] !== oldHash &&
          !replacedOrder.includes(p.spec.nodeName!)
        )
          replacedOrder.push(p.spec.nodeName!);
      }
    });
    assert.equal(maxNodesWithoutAvailablePod, 1, 'maxUnavailable 1: never two nodes down at once');
    assert.deepEqual([...replacedOrder].sort(), nodes);
    const after = podsOf(sim, ds);
    assert.ok(after.every((p) => p.spec.containers[0]?.image === 'cr.fluentbit.io/fluent/fluent-bit:3.2.5'));
    assert.ok(after.every((p) => p.metadata.labels?.['pod-template-generation'] === '2'));
    const status = get<DaemonSet>(sim, R.daemonsets, 'logging', 'fluent-bit').status;
    assert.equal(status.observedGeneration, 2);
    assert.equal(status.updatedNumberScheduled, 5);
    assert.equal(status.numberAvailable, 5);
    const reasons = events(sim, 'DaemonSet', 'fluent-bit').map((e) => e.reason);
    // Delete, then create on that node, five times over.
    assert.deepEqual(
      reasons,
      Array.from({ length: 5 }, () => ['SuccessfulDelete', 'SuccessfulCreate']).flat(),
    );
  });
});

test('postgres-0 runs with its claim data-postgres-0 Bound and mounted', async () => {
  await withSim((sim) => {
    const set = get<StatefulSet>(sim, R.statefulsets, 'shop', 'postgres');
    const pod = get<Pod>(sim, R.pods, 'shop', 'postgres-0');
    assert.equal(pod.status.phase, 'Running');
    assert.ok(isPodReady(pod));
    assert.equal(pod.spec.hostname, 'postgres-0');
    assert.equal(pod.spec.subdomain, 'postgres');
    assert.equal(pod.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'postgres-0');
    assert.equal(pod.metadata.labels?.['apps.kubernetes.io/pod-index'], '0');
    assert.match(set.status.updateRevision ?? '', /^postgres-[bcdfghjklmnpqrstvwxz2456789]+$/);
    assert.equal(pod.metadata.labels?.['controller-revision-hash'], set.status.updateRevision);
    assert.deepEqual(pod.spec.volumes, [
      { name: 'data', persistentVolumeClaim: { claimName: 'data-postgres-0' } },
    ]);
    const claim = get<PersistentVolumeClaim>(sim, R.pvcs, 'shop', 'data-postgres-0');
    assert.equal(claim.status.phase, 'Bound');
    assert.deepEqual(claim.status.capacity, { storage: '20Gi' });
    assert.deepEqual(claim.status.accessModes, ['ReadWriteOnce']);
    assert.equal(claim.spec.storageClassName, 'standard');
    assert.equal(claim.spec.volumeName, `pvc-${claim.metadata.uid}`);
    assert.equal(claim.metadata.labels?.app, 'postgres');
    assert.deepEqual(set.status, {
      observedGeneration: 1,
      replicas: 1,
      availableReplicas: 1,
      currentRevision: set.status.updateRevision,
      updateRevision: set.status.updateRevision,
      collisionCount: 0,
      readyReplicas: 1,
      currentReplicas: 1,
      updatedReplicas: 1,
    });
  });
});

test('scaling postgres to 3 creates -1, then -2 once -1 is ready; scaling down removes -2 first', async () => {
  await withSim((sim) => {
    const scale = (replicas: number): void => {
      store(sim).modify<StatefulSet>(R.statefulsets, 'shop', 'postgres', (x) => ({
        ...x,
        metadata: { ...x.metadata, generation: (x.metadata.generation ?? 1) + 1 },
        spec: { ...x.spec, replicas },
      }));
      sim.cluster.world.settle();
    };
    const pod = (n: number): Pod | undefined => store(sim).get<Pod>(R.pods, 'shop', `postgres-${n}`);
    scale(3);
    assert.ok(pod(1), 'postgres-1 is created at once');
    assert.equal(pod(2), undefined, 'postgres-2 waits for postgres-1');
    let oneReadyAt: number | undefined;
    let twoCreatedAt: number | undefined;
    stepUntil(
      sim,
      3 * MINUTE,
      SECOND,
      () => [0, 1, 2].every((n) => pod(n) !== undefined && isPodReady(pod(n)!)),
      () => {
        const now = sim.cluster.world.now();
        if (oneReadyAt === undefined && pod(1) && isPodReady(pod(1)!)) oneReadyAt = now;
        if (twoCreatedAt === undefined && pod(2)) twoCreatedAt = now;
      },
    );
    assert.ok(oneReadyAt !== undefined && twoCreatedAt !== undefined);
    assert.ok(twoCreatedAt >= oneReadyAt, 'postgres-2 came after postgres-1 was Running and Ready');
    for (const n of [1, 2]) {
      const claim = get<PersistentVolumeClaim>(sim, R.pvcs, 'shop', `data-postgres-${n}`);
      assert.equal(claim.status.phase, 'Bound');
    }
    assert.deepEqual(
      events(sim, 'StatefulSet', 'postgres').map((e) => e.message),
      [
        'create Claim data-postgres-1 Pod postgres-1 in StatefulSet postgres success',
        'create Pod postgres-1 in StatefulSet postgres successful',
        'create Claim data-postgres-2 Pod postgres-2 in StatefulSet postgres success',
        'create Pod postgres-2 in StatefulSet postgres successful',
      ],
    );
    let status = get<StatefulSet>(sim, R.statefulsets, 'shop', 'postgres').status;
    assert.equal(status.replicas, 3);
    assert.equal(status.readyReplicas, 3);
    assert.equal(status.observedGeneration, 2);

    scale(1);
    const gone: number[] = [];
    stepUntil(
      sim,
      2 * MINUTE,
      SECOND,
      () => pod(1) === undefined && pod(2) === undefined,
      () => {
        for (const n of [2, 1]) if (pod(n) === undefined && !gone.includes(n)) gone.push(n);
      },
    );
    assert.deepEqual(gone, [2, 1], 'the highest ordinal goes first');
    assert.ok(store(sim).get(R.pvcs, 'shop', 'data-postgres-2'), 'claims are retained on scale-down');
    status = get<StatefulSet>(sim, R.statefulsets, 'shop', 'postgres').status;
    assert.equal(status.replicas, 1);
  });
});

test('a StatefulSet rolling update replaces pods in reverse ordinal order', async () => {
  await withSim((sim) => {
    store(sim).modify<StatefulSet>(R.statefulsets, 'shop', 'postgres', (x) => ({
      ...x,
      metadata: { ...x.metadata, generation: 2 },
      spec: { ...x.spec, replicas: 3 },
    }));
    sim.cluster.world.settle();
    const pod = (n: number): Pod | undefined => store(sim).get<Pod>(R.pods, 'shop', `postgres-${n}`);
    stepUntil(sim, 3 * MINUTE, SECOND, () => [0, 1, 2].every((n) => pod(n) && isPodReady(pod(n)!)));
    const before = get<StatefulSet>(sim, R.statefulsets, 'shop', 'postgres');
    const oldRevision = before.status.updateRevision;
    bumpTemplate(sim, R.statefulsets, before, 'docker.io/library/postgres:16.7');
    sim.cluster.world.settle();
    const updateRevision = get<StatefulSet>(sim, R.statefulsets, 'shop', 'postgres').status.updateRevision;
    assert.notEqual(updateRevision, oldRevision);
    const deletedOrder: number[] = [];
    stepUntil(
      sim,
      5 * MINUTE,
      SECOND,
      () =>
        get<StatefulSet>(sim, R.statefulsets, 'shop', 'postgres').status.currentRevision === updateRevision,
      () => {
        for (const n of [0, 1, 2]) {
          const p = pod(n);
          if ((!p || p.metadata.deletionTimestamp) && !deletedOrder.includes(n)) deletedOrder.push(n);
        }
      },
    );
    assert.deepEqual(deletedOrder, [2, 1, 0]);
    for (const n of [0, 1, 2]) {
      assert.equal(pod(n)?.metadata.labels?.['controller-revision-hash'], updateRevision);
      assert.equal(pod(n)?.spec.containers[0]?.image, 'docker.io/library/postgres:16.7');
    }
    const status = get<StatefulSet>(sim, R.statefulsets, 'shop', 'postgres').status;
    assert.equal(status.updatedReplicas, 3);
    assert.equal(status.currentReplicas, 3);
    assert.equal(status.readyReplicas, 3);
  });
});

test('the demo CronJob starts with its last three runs completed, quietly', async () => {
  await withSim((sim) => {
    const cj = get<CronJob>(sim, R.cronjobs, 'payments', 'settlement-report');
    const jobs = jobsOf(sim, cj);
    assert.equal(jobs.length, 3);
    const now = sim.cluster.world.now();
    const workers = nodeNames(sim).filter((n) => n !== 'sim-control-plane');
    const scheduledTimes: number[] = [];
    for (const job of jobs) {
      const minutes = Number(job.metadata.name.slice('settlement-report-'.length));
      const scheduled = minutes * MINUTE;
      scheduledTimes.push(scheduled);
      assert.equal(minutes % 15, 0, `${job.metadata.name} ran on the quarter hour`);
      assert.equal(
        job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'],
        new Date(scheduled).toISOString().replace('.000Z', 'Z'),
      );
      assert.equal(job.metadata.ownerReferences?.[0]?.uid, cj.metadata.uid);
      assert.deepEqual(
        job.status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`),
        ['SuccessCriteriaMet=True/CompletionsReached', 'Complete=True/CompletionsReached'],
      );
      assert.equal(job.status.succeeded, 1);
      const pods = podsOf(sim, job);
      assert.equal(pods.length, 1);
      assert.equal(pods[0]?.status.phase, 'Succeeded');
      assert.ok(workers.includes(pods[0].spec.nodeName!), 'ran on a worker');
      assert.equal(pods[0]?.metadata.labels?.['batch.kubernetes.io/job-name'], job.metadata.name);
      assert.ok(Date.parse(job.status.completionTime!) < now);
    }
    assert.deepEqual(
      scheduledTimes.slice(1).map((t, i) => t - scheduledTimes[i]!),
      [15 * MINUTE, 15 * MINUTE],
    );
    assert.equal(Date.parse(cj.status.lastScheduleTime!), scheduledTimes[2]);
    assert.equal(cj.status.lastSuccessfulTime, jobs[2]?.status.completionTime);
    assert.equal(cj.status.active, undefined);
    const cronEvents = store(sim)
      .list<CoreEvent>(R.events)
      .filter(
        (e) =>
          ['CronJob', 'Job'].includes(e.involvedObject.kind) ||
          e.involvedObject.name.startsWith('settlement'),
      );
    assert.deepEqual(cronEvents, [], 'no events for the backdated history');
  });
});

test('every 15 minutes the CronJob runs a Job to completion and keeps three in its history', async () => {
  await withSim((sim) => {
    const world = sim.cluster.world;
    const cj = get<CronJob>(sim, R.cronjobs, 'payments', 'settlement-report');
    const before = jobsOf(sim, cj).map((j) => j.metadata.name);
    const nextRun = (Math.floor(world.now() / (15 * MINUTE)) + 1) * 15 * MINUTE;
    const name = `settlement-report-${nextRun / MINUTE}`;
    sim.advance(nextRun - world.now() + SECOND);
    const job = get<Job>(sim, R.jobs, 'payments', name);
    assert.equal(
      Date.parse(job.metadata.creationTimestamp),
      nextRun,
      'created on time: the controller woke itself',
    );
    assert.equal(
      job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'],
      new Date(nextRun).toISOString().replace('.000Z', 'Z'),
    );
    assert.equal(job.metadata.ownerReferences?.[0]?.kind, 'CronJob');
    assert.deepEqual(
      get<CronJob>(sim, R.cronjobs, 'payments', 'settlement-report').status.active?.map((r) => r.name),
      [name],
    );
    assert.equal(job.status.active, 1);

    sim.advance(2 * MINUTE);
    const done = get<Job>(sim, R.jobs, 'payments', name);
    assert.equal(getCondition(done.status.conditions, 'Complete')?.status, 'True');
    assert.equal(getCondition(done.status.conditions, 'SuccessCriteriaMet')?.status, 'True');
    assert.equal(done.status.succeeded, 1);
    assert.ok(done.status.completionTime);
    const pods = podsOf(sim, done);
    assert.equal(pods.length, 1);
    assert.equal(pods[0]?.status.phase, 'Succeeded');
    assert.equal(pods[0]?.metadata.finalizers, undefined, 'the tracking finalizer is gone once counted');

    const after = jobsOf(sim, cj).map((j) => j.metadata.name);
    assert.equal(after.length, 3, 'history trimmed to successfulJobsHistoryLimit');
    assert.deepEqual(after, [...before.slice(1), name]);
    assert.equal(store(sim).get(R.jobs, 'payments', before[0]!), undefined);
    sim.advance(MINUTE);
    assert.equal(
      store(sim)
        .list<Pod>(R.pods, 'payments')
        .filter((p) => p.metadata.name.startsWith(`${before[0]!}-`)).length,
      0,
      'the garbage collector removed the deleted Job’s pod',
    );
    const status = get<CronJob>(sim, R.cronjobs, 'payments', 'settlement-report').status;
    assert.equal(status.active, undefined);
    assert.equal(Date.parse(status.lastScheduleTime!), nextRun);
    assert.equal(status.lastSuccessfulTime, done.status.completionTime);
    assert.deepEqual(
      events(sim, 'CronJob', 'settlement-report').map((e) => `${e.reason}: ${e.message}`),
      [
        `SuccessfulCreate: Created job ${name}`,
        `SawCompletedJob: Saw completed job: ${name}, condition: Complete`,
        `SuccessfulDelete: Deleted job ${before[0]!}`,
      ],
    );
    assert.deepEqual(
      events(sim, 'Job', name).map((e) => `${e.reason}: ${e.message}`),
      [`SuccessfulCreate: Created pod: ${pods[0].metadata.name}`, 'Completed: Job completed'],
    );
  });
});

function failingJob(sim: Simulator, name: string, spec: Partial<Job['spec']>, behavior: string): Job {
  const world = sim.cluster.world;
  return store(sim).create<Job>(R.jobs, {
    metadata: {
      name,
      namespace: 'default',
      uid: world.uid(),
      resourceVersion: '',
      generation: 1,
      creationTimestamp: world.nowIso(),
    },
    spec: {
      ...spec,
      template: {
        metadata: { annotations: { 'sim.healwatch.io/behavior': behavior } },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'task', image: 'ghcr.io/healwatch-sim/task:1.0' }],
        },
      },
    },
    status: {},
  });
}

test('a Job whose pods fail past backoffLimit 1 ends Failed with BackoffLimitExceeded', async () => {
  await withSim((sim) => {
    failingJob(sim, 'migrate', { backoffLimit: 1 }, 'fail:5s');
    sim.cluster.world.settle();
    const defaulted = get<Job>(sim, R.jobs, 'default', 'migrate');
    assert.deepEqual(defaulted.spec.selector, {
      matchLabels: { 'batch.kubernetes.io/controller-uid': defaulted.metadata.uid },
    });
    assert.equal(defaulted.spec.completions, 1);
    assert.equal(defaulted.spec.parallelism, 1);
    stepUntil(sim, 3 * MINUTE, SECOND, () => {
      const job = get<Job>(sim, R.jobs, 'default', 'migrate');
      return getCondition(job.status.conditions, 'Failed')?.status === 'True';
    });
    const job = get<Job>(sim, R.jobs, 'default', 'migrate');
    assert.deepEqual(
      job.status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`),
      [
        'FailureTarget=True/BackoffLimitExceeded: Job has reached the specified backoff limit',
        'Failed=True/BackoffLimitExceeded: Job has reached the specified backoff limit',
      ],
    );
    assert.equal(job.status.failed, 2);
    assert.equal(job.status.succeeded, undefined);
    assert.equal(job.status.active, undefined);
    assert.equal(job.status.completionTime, undefined);
    const pods = podsOf(sim, job).sort(
      (a, b) => Date.parse(a.metadata.creationTimestamp) - Date.parse(b.metadata.creationTimestamp),
    );
    assert.equal(pods.length, 2, 'failed pods stay');
    assert.ok(pods.every((p) => p.status.phase === 'Failed'));
    assert.ok(
      pods.every(
        (p) =>
          p.metadata.labels?.['job-name'] === 'migrate' &&
          p.metadata.labels['controller-uid'] === job.metadata.uid,
      ),
    );
    // The replacement waited out the 10 s back-off after the first failure.
    const firstFailed = Date.parse(pods[0]!.status.containerStatuses![0]!.state.terminated!.finishedAt!);
    assert.ok(Date.parse(pods[1]!.metadata.creationTimestamp) >= firstFailed + 10 * SECOND);
    const jobEvents = events(sim, 'Job', 'migrate');
    assert.deepEqual(
      jobEvents.map((e) => `${e.type} ${e.reason}`),
      ['Normal SuccessfulCreate', 'Normal SuccessfulCreate', 'Warning BackoffLimitExceeded'],
    );
    assert.equal(jobEvents[2]?.message, 'Job has reached the specified backoff limit');
  });
});

test('a Job runs completions with at most parallelism pods at a time', async () => {
  await withSim((sim) => {
    failingJob(sim, 'batch', { completions: 3, parallelism: 2 }, 'complete:10s');
    sim.cluster.world.settle();
    let maxActive = 0;
    stepUntil(
      sim,
      3 * MINUTE,
      SECOND,
      () =>
        getCondition(get<Job>(sim, R.jobs, 'default', 'batch').status.conditions, 'Complete')?.status ===
        'True',
      () => {
        const job = get<Job>(sim, R.jobs, 'default', 'batch');
        maxActive = Math.max(
          maxActive,
          podsOf(sim, job).filter((p) => p.status.phase === 'Pending' || p.status.phase === 'Running').length,
        );
      },
    );
    const job = get<Job>(sim, R.jobs, 'default', 'batch');
    assert.equal(maxActive, 2);
    assert.equal(job.status.succeeded, 3);
    assert.equal(podsOf(sim, job).filter((p) => p.status.phase === 'Succeeded').length, 3);
    assert.ok(job.status.startTime && job.status.completionTime);
  });
});

test('concurrencyPolicy Forbid, Replace and Allow', async () => {
  await withSim((sim) => {
    const world = sim.cluster.world;
    const make = (name: string, policy: 'Forbid' | 'Replace' | 'Allow'): CronJob => {
      const created = cronJob(world, 'default', name, '* * * * *', {
        image: 'ghcr.io/healwatch-sim/long:1.0',
        behavior: 'run',
      });
      return (
        store(sim).modify<CronJob>(R.cronjobs, 'default', name, (x) => ({
          ...x,
          spec: { ...x.spec, concurrencyPolicy: policy },
        })) ?? created
      );
    };
    // Start just after a minute boundary: the next 3½ minutes hold exactly three runs.
    sim.advance(MINUTE - (world.now() % MINUTE) + SECOND);
    const forbid = make('forbid', 'Forbid');
    const replace = make('replace', 'Replace');
    const allow = make('allow', 'Allow');
    world.settle();
    sim.advance(3 * MINUTE + 30 * SECOND);

    assert.equal(jobsOf(sim, forbid).length, 1, 'Forbid: the first run keeps the slot');
    assert.ok(events(sim, 'CronJob', 'forbid').some((e) => e.reason === 'JobAlreadyActive'));

    const replaced = jobsOf(sim, replace);
    assert.equal(replaced.length, 1, 'Replace: only the newest run is left');
    const replaceStatus = get<CronJob>(sim, R.cronjobs, 'default', 'replace').status;
    assert.deepEqual(
      replaceStatus.active?.map((r) => r.name),
      [replaced[0]!.metadata.name],
    );
    assert.equal(events(sim, 'CronJob', 'replace').filter((e) => e.reason === 'SuccessfulDelete').length, 2);

    const allowed = jobsOf(sim, allow);
    assert.equal(allowed.length, 3, 'Allow: the runs overlap');
    assert.equal(get<CronJob>(sim, R.cronjobs, 'default', 'allow').status.active?.length, 3);
    const minutes = allowed.map((j) => Number(j.metadata.name.split('-').pop()));
    assert.deepEqual(
      minutes.slice(1).map((m, i) => m - minutes[i]!),
      [1, 1],
    );
  });
});

test('a run missed past startingDeadlineSeconds while the controller manager was down is reported, not started', async () => {
  await withSim((sim) => {
    const world = sim.cluster.world;
    cronJob(world, 'default', 'nightly', '*/5 * * * *', {
      image: 'ghcr.io/healwatch-sim/report:1.0',
      behavior: 'complete:20s',
    });
    const cj = store(sim).modify<CronJob>(R.cronjobs, 'default', 'nightly', (x) => ({
      ...x,
      spec: { ...x.spec, startingDeadlineSeconds: 60 },
    }))!;
    world.settle();
    const fault = sim.faults.start({ name: 'controller-manager-down' });
    // Down across at least one five-minute slot, and more than a minute past it.
    const slot = (Math.floor(world.now() / (5 * MINUTE)) + 1) * 5 * MINUTE;
    sim.advance(slot - world.now() + 2 * MINUTE);
    assert.equal(jobsOf(sim, cj).length, 0);
    sim.faults.stop(fault.id);
    sim.advance(30 * SECOND);
    const warnings = events(sim, 'CronJob', 'nightly').filter((e) => e.reason === 'MissSchedule');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.type, 'Warning');
    assert.match(
      warnings[0]?.message ?? '',
      /^Missed scheduled time to start a job: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:00 \+0000$/,
    );
    assert.equal(jobsOf(sim, cj).length, 0, 'too late to start the missed run');
    // The next slot runs normally.
    const next = (Math.floor(world.now() / (5 * MINUTE)) + 1) * 5 * MINUTE;
    sim.advance(next - world.now() + SECOND);
    assert.deepEqual(
      jobsOf(sim, cj).map((j) => j.metadata.name),
      [`nightly-${next / MINUTE}`],
    );
  });
});
