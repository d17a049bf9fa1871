import type { ApiServer } from '../api/server.js';
import type { TimerHandle } from '../clock.js';
import { hashString } from '../random.js';
import { R } from '../api/resources.js';
import { generateServingCertificate } from '../api/tls.js';
import type { Behavior } from '../cluster/behavior.js';
import type { Cluster } from '../cluster/cluster.js';
import { controllerOf } from '../cluster/objects.js';
import type { Container, DaemonSet, Deployment, KObject, Pod, ReplicaSet } from '../model.js';
import { deployment as createDeployment, namespace as createNamespace } from '../scenario/workloads.js';
import { tooOldResourceVersion } from '../api/status.js';

/** What a fault gets to work with. */
export interface FaultContext {
  cluster: Cluster;
  api: ApiServer | undefined;
  apiOptions: { host: string; tls: boolean };
  /** Installs this fault's container behavior override (replacing an earlier one). */
  setOverride(fn: (pod: Pod, container: Container) => Behavior | undefined): void;
  clearOverride(): void;
  fail(message: string): Error;
}

/** A started fault. */
export interface FaultHandle {
  stop(): void;
  /** The fault did its work at once (a rollout, a compaction): nothing stays active. */
  isInstant?: boolean;
  /** The fault ends by itself after this long (api-down SECONDS). */
  durationMs?: number;
}

/** One entry of the fault catalog. */
export interface FaultDefinition {
  name: string;
  usage: string;
  summary: string;
  target: 'none' | 'required' | 'optional';
  /** The fault makes containers crash, so it can start in the past (`--since`): history is backdated. */
  canBackdate?: boolean;
  start(ctx: FaultContext, target: string | undefined, args: string[]): FaultHandle;
}

type Workload = { kind: 'Deployment' | 'DaemonSet' | 'StatefulSet'; object: KObject };

/** The release that removed some well-known deprecated APIs (the `deprecated-api` fault's default). */
const KNOWN_REMOVALS: Readonly<Record<string, string>> = {
  'policy/v1beta1/poddisruptionbudgets': '1.25',
  'policy/v1beta1/podsecuritypolicies': '1.25',
  'batch/v1beta1/cronjobs': '1.25',
  'autoscaling/v2beta2/horizontalpodautoscalers': '1.26',
  'flowcontrol.apiserver.k8s.io/v1beta2/flowschemas': '1.29',
  'flowcontrol.apiserver.k8s.io/v1beta3/flowschemas': '1.32',
};

function splitTarget(ctx: FaultContext, target: string, usage: string): [string, string] {
  const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(target);
  if (!m) throw ctx.fail(`target "${target}" must be NAMESPACE/NAME (usage: ${usage})`);
  return [m[1]!, m[2]!];
}

function listNames(objects: KObject[]): string {
  const names = objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();
  return names.length > 25 ? `${names.slice(0, 25).join(', ')}, ...` : names.join(', ');
}

function findDeployment(ctx: FaultContext, target: string, usage: string): Deployment {
  const [ns, name] = splitTarget(ctx, target, usage);
  const d = ctx.cluster.world.store.get<Deployment>(R.deployments, ns, name);
  if (!d) {
    const all = ctx.cluster.world.store
      .list<Deployment>(R.deployments)
      .filter((x) => !x.metadata.namespace?.startsWith('load-'));
    throw ctx.fail(`deployment "${target}" not found; deployments: ${listNames(all)}`);
  }
  return d;
}

function findWorkload(ctx: FaultContext, target: string, usage: string): Workload {
  const [ns, name] = splitTarget(ctx, target, usage);
  const store = ctx.cluster.world.store;
  const d = store.get(R.deployments, ns, name);
  if (d) return { kind: 'Deployment', object: d };
  const ds = store.get(R.daemonsets, ns, name);
  if (ds) return { kind: 'DaemonSet', object: ds };
  const sts = store.get(R.statefulsets, ns, name);
  if (sts) return { kind: 'StatefulSet', object: sts };
  const all = [
    ...store.list(R.deployments),
    ...store.list(R.daemonsets),
    ...store.list(R.statefulsets),
  ].filter((x) => x.metadata.namespace !== undefined && !x.metadata.namespace.startsWith('load-'));
  throw ctx.fail(
    `workload "${target}" not found (Deployment, DaemonSet or StatefulSet); workloads: ${listNames(all)}`,
  );
}

/** Whether a pod belongs to a workload (directly, or through a ReplicaSet of a Deployment). */
function belongsTo(cluster: Cluster, pod: Pod, workloadUid: string): boolean {
  const owner = controllerOf(pod);
  if (!owner) return false;
  if (owner.uid === workloadUid) return true;
  if (owner.kind !== 'ReplicaSet') return false;
  const rs = cluster.world.store.get<ReplicaSet>(R.replicasets, pod.metadata.namespace, owner.name);
  return rs !== undefined && controllerOf(rs)?.uid === workloadUid;
}

function podsOf(cluster: Cluster, workloadUid: string, namespace: string): Pod[] {
  return cluster.world.store.list<Pod>(R.pods, namespace).filter((p) => belongsTo(cluster, p, workloadUid));
}

/** Restarts the crashed containers of pods at once (a fixed manifest or config makes the kubelet retry now). */
function restartNow(cluster: Cluster, pods: Pod[]): void {
  for (const pod of pods) {
    if (pod.spec.nodeName) cluster.kubelets.get(pod.spec.nodeName)?.restartNow(pod.metadata.uid);
  }
}

/** A fault that overrides the behavior of a workload's containers until stopped. */
function workloadBehavior(
  ctx: FaultContext,
  target: string,
  usage: string,
  behavior: Behavior,
  containerFilter?: string,
): FaultHandle {
  const w = findWorkload(ctx, target, usage);
  const uid = w.object.metadata.uid;
  const ns = w.object.metadata.namespace!;
  ctx.setOverride((pod, container) =>
    pod.metadata.namespace === ns &&
    belongsTo(ctx.cluster, pod, uid) &&
    (!containerFilter || container.name === containerFilter)
      ? behavior
      : undefined,
  );
  return {
    stop: () => {
      ctx.clearOverride();
      restartNow(ctx.cluster, podsOf(ctx.cluster, uid, ns));
    },
  };
}

function staticPodBehavior(
  ctx: FaultContext,
  component: 'kube-scheduler' | 'kube-controller-manager',
): FaultHandle {
  const cp = ctx.cluster.controlPlane;
  if (!cp.isSelfManaged) {
    // On a managed platform the provider runs it: there is no pod to crash, it is simply gone.
    cp.managedDown.add(component);
    return { stop: () => cp.managedDown.delete(component) };
  }
  const pod = cp.staticPod(component);
  if (!pod) throw ctx.fail(`the ${component} static pod does not exist`);
  cp.failingStart.add(component);
  ctx.setOverride((p) =>
    p.metadata.uid === pod.metadata.uid
      ? { kind: 'crash', afterMs: 3000, exitCode: 1, reason: 'Error' }
      : undefined,
  );
  return {
    stop: () => {
      cp.failingStart.delete(component);
      ctx.clearOverride();
      const current = cp.staticPod(component);
      if (current) restartNow(ctx.cluster, [current]);
    },
  };
}

function nextVersionTag(image: string): string {
  const m = /^(.*):(v?)(\d+)\.(\d+)\.(\d+)$/.exec(image);
  if (m) return `${m[1]}:${m[2]}${m[3]}.${m[4]}.${Number(m[5]) + 1}`;
  const base = image.replace(/:[^/:]+$/, '');
  return `${base}:v2`;
}

function patchTemplate(
  ctx: FaultContext,
  d: Deployment,
  fn: (t: Deployment['spec']['template']) => Deployment['spec']['template'],
): void {
  ctx.cluster.world.store.modify<Deployment>(R.deployments, d.metadata.namespace, d.metadata.name, (x) => ({
    ...x,
    metadata: { ...x.metadata, generation: (x.metadata.generation ?? 1) + 1 },
    spec: { ...x.spec, template: fn(x.spec.template) },
  }));
}

function restoreTemplate(ctx: FaultContext, d: Deployment): void {
  const original = d.spec.template;
  patchTemplate(ctx, d, () => original);
}

/** A rollout restart, as `kubectl rollout restart` does it (a template annotation). */
function rolloutRestart(ctx: FaultContext, d: Deployment): void {
  patchTemplate(ctx, d, (t) => ({
    ...t,
    metadata: {
      ...t.metadata,
      annotations: {
        ...(t.metadata.annotations ?? {}),
        'kubectl.kubernetes.io/restartedAt': ctx.cluster.world.nowIso(),
      },
    },
  }));
}

/** The optional growth rate of the fill faults, in percentage points of the capacity per hour. */
function parsePerHour(ctx: FaultContext, arg: string | undefined): number | undefined {
  if (arg === undefined) return undefined;
  const perHour = Number(arg.replace(/%?(\/h)?$/, ''));
  if (!Number.isFinite(perHour) || perHour <= 0)
    throw ctx.fail(`PER_HOUR must be a positive number of percentage points per hour, got "${arg}"`);
  return perHour;
}

/** The volume fills of the active pvc-fill faults per cluster, keyed `namespace/claim`: used percent at a time. */
const volumeFills = new WeakMap<Cluster, Map<string, (now: number) => number>>();

/**
 * Installs (once per cluster) the summary hook that makes a filled claim's volume report the fill:
 * extra bytes on top of the baseline usage the summary gives every volume.
 */
function volumeFillsOf(cluster: Cluster): Map<string, (now: number) => number> {
  const fills = volumeFills.get(cluster);
  if (fills) return fills;
  const active = new Map<string, (now: number) => number>();
  volumeFills.set(cluster, active);
  const previous = cluster.volumeFill;
  cluster.volumeFill = (pod, volume, capacity) => {
    const claim = (pod.spec.volumes ?? []).find((v) => v.name === volume)?.persistentVolumeClaim?.claimName;
    const percent = claim ? active.get(`${pod.metadata.namespace}/${claim}`) : undefined;
    if (!percent) return previous(pod, volume, capacity);
    return Math.max(0, (capacity * percent(cluster.world.now())) / 100 - capacity * volumeBaseline(claim!));
  };
  return active;
}

/** The share of its capacity the summary reports a claim's volume using by default (see Cluster.summary). */
function volumeBaseline(claim: string): number {
  return 0.2 + (hashString(claim) % 500) / 1000;
}

const LOG_AGENTS = /fluent-bit|fluentd|vector|promtail|datadog|otel|opentelemetry|filebeat/;

/** Every fault the simulator can inject. */
export const FAULTS: readonly FaultDefinition[] = [
  {
    name: 'scheduler-down',
    canBackdate: true,
    usage: 'scheduler-down',
    summary: 'kube-scheduler crash-loops: new pods stay Pending, its Lease goes stale',
    target: 'none',
    start: (ctx) => staticPodBehavior(ctx, 'kube-scheduler'),
  },
  {
    name: 'controller-manager-down',
    canBackdate: true,
    usage: 'controller-manager-down',
    summary: 'kube-controller-manager crash-loops: ReplicaSets stop creating pods, nodes are not judged',
    target: 'none',
    start: (ctx) => staticPodBehavior(ctx, 'kube-controller-manager'),
  },
  {
    name: 'apiserver-unready',
    usage: 'apiserver-unready',
    summary: '/readyz fails its etcd-readiness check; the kube-apiserver pod turns unready',
    target: 'none',
    start: (ctx) => {
      const cp = ctx.cluster.controlPlane;
      cp.failingReadyz.add('etcd-readiness');
      const pod = cp.staticPod('kube-apiserver');
      if (pod)
        ctx.setOverride((p) => (p.metadata.uid === pod.metadata.uid ? { kind: 'unready' } : undefined));
      return {
        stop: () => {
          cp.failingReadyz.delete('etcd-readiness');
          ctx.clearOverride();
        },
      };
    },
  },
  {
    name: 'addon-crash',
    canBackdate: true,
    usage: 'addon-crash NAMESPACE/NAME',
    summary: 'a kube-system or add-on workload (Deployment or DaemonSet) crash-loops',
    target: 'required',
    start: (ctx, target) =>
      workloadBehavior(ctx, target!, 'addon-crash NAMESPACE/NAME', {
        kind: 'crash',
        afterMs: 8000,
        exitCode: 1,
        reason: 'Error',
      }),
  },
  {
    name: 'node-notready',
    usage: 'node-notready NODE',
    summary: 'the kubelet stops: no heartbeats, the node turns NotReady (Unknown) after the grace period',
    target: 'required',
    start: (ctx, target) => {
      const kubelet = ctx.cluster.kubelets.get(target!);
      if (!kubelet)
        throw ctx.fail(
          `node "${target}" not found; nodes: ${[...ctx.cluster.kubelets.keys()].slice(0, 25).join(', ')}`,
        );
      kubelet.stop();
      return { stop: () => kubelet.start() };
    },
  },
  {
    name: 'disk-fill',
    usage: 'disk-fill NODE [PERCENT] [PER_HOUR]',
    summary:
      'the node filesystem fills to PERCENT (default 92), at once or growing PER_HOUR points an hour: image GC fails, DiskPressure, evictions',
    target: 'required',
    start: (ctx, target, args) => {
      const kubelet = ctx.cluster.kubelets.get(target!);
      if (!kubelet)
        throw ctx.fail(
          `node "${target}" not found; nodes: ${[...ctx.cluster.kubelets.keys()].slice(0, 25).join(', ')}`,
        );
      const percent = args[0] === undefined ? 92 : Number(args[0]);
      if (!Number.isFinite(percent) || percent <= 0 || percent > 100)
        throw ctx.fail(`PERCENT must be a number in (0, 100], got "${args[0]}"`);
      const perHour = parsePerHour(ctx, args[1]);
      const before = kubelet.fillBytes;
      const used = kubelet.fsUsedBytes() - before;
      const fill = Math.max(0, (kubelet.fsCapacityBytes * percent) / 100 - used);
      let timer: TimerHandle | undefined;
      if (perHour === undefined) kubelet.fillBytes = fill;
      else {
        // A steady fill (a log storm, a runaway emptyDir) for the fill-rate forecast: it grows every
        // 10 s, as often as the kubelet checks its eviction signals.
        const world = ctx.cluster.world;
        const startedAt = world.now();
        const grow = (): void => {
          const grown = (kubelet.fsCapacityBytes * perHour * (world.now() - startedAt)) / 100 / 3_600_000;
          kubelet.fillBytes = Math.max(before, Math.min(fill, before + grown));
        };
        timer = world.clock.every(10_000, grow);
      }
      return {
        stop: () => {
          timer?.cancel();
          kubelet.fillBytes = before;
          kubelet.reportStatus();
        },
      };
    },
  },
  {
    name: 'pvc-fill',
    usage: 'pvc-fill NAMESPACE/CLAIM [PERCENT] [PER_HOUR]',
    summary:
      "a PersistentVolumeClaim's volume fills to PERCENT (default 95), at once or growing PER_HOUR points an hour (kubelet summary)",
    target: 'required',
    start: (ctx, target, args) => {
      const usage = 'pvc-fill NAMESPACE/CLAIM [PERCENT] [PER_HOUR]';
      const [ns, name] = splitTarget(ctx, target!, usage);
      const store = ctx.cluster.world.store;
      if (!store.get(R.pvcs, ns, name))
        throw ctx.fail(
          `persistentvolumeclaim "${target}" not found; claims: ${listNames(store.list(R.pvcs)) || '(none)'}`,
        );
      const percent = args[0] === undefined ? 95 : Number(args[0]);
      if (!Number.isFinite(percent) || percent <= 0 || percent > 100)
        throw ctx.fail(`PERCENT must be a number in (0, 100], got "${args[0]}"`);
      const perHour = parsePerHour(ctx, args[1]);
      const startedAt = ctx.cluster.world.now();
      const from = volumeBaseline(name) * 100;
      const fills = volumeFillsOf(ctx.cluster);
      const key = `${ns}/${name}`;
      fills.set(key, (now) =>
        perHour === undefined
          ? Math.max(from, percent)
          : Math.max(from, Math.min(percent, from + (perHour * (now - startedAt)) / 3_600_000)),
      );
      return { stop: () => fills.delete(key) };
    },
  },
  {
    name: 'log-agent-errors',
    canBackdate: true,
    usage: 'log-agent-errors',
    summary: 'the log-agent DaemonSet logs output errors and its pods restart now and then (logs are lost)',
    target: 'none',
    start: (ctx) => {
      const agent = ctx.cluster.world.store
        .list<DaemonSet>(R.daemonsets)
        .find((d) => LOG_AGENTS.test(d.metadata.name));
      if (!agent)
        throw ctx.fail(
          'no log-agent DaemonSet (fluent-bit, fluentd, vector, promtail, datadog-agent, otel-collector) in this cluster',
        );
      return workloadBehavior(ctx, `${agent.metadata.namespace}/${agent.metadata.name}`, 'log-agent-errors', {
        kind: 'flaky',
        everyMs: 150_000,
      });
    },
  },
  {
    name: 'oom',
    canBackdate: true,
    usage: 'oom NAMESPACE/DEPLOYMENT',
    summary: "the Deployment's containers exceed their memory limit and are OOMKilled, then back off",
    target: 'required',
    start: (ctx, target) => {
      findDeployment(ctx, target!, 'oom NAMESPACE/DEPLOYMENT');
      return workloadBehavior(ctx, target!, 'oom NAMESPACE/DEPLOYMENT', {
        kind: 'crash',
        afterMs: 25_000,
        exitCode: 137,
        reason: 'OOMKilled',
      });
    },
  },
  {
    name: 'crashloop',
    canBackdate: true,
    usage: 'crashloop NAMESPACE/DEPLOYMENT',
    summary: "the Deployment's containers exit with an error and go into CrashLoopBackOff",
    target: 'required',
    start: (ctx, target) => {
      findDeployment(ctx, target!, 'crashloop NAMESPACE/DEPLOYMENT');
      return workloadBehavior(ctx, target!, 'crashloop NAMESPACE/DEPLOYMENT', {
        kind: 'crash',
        afterMs: 10_000,
        exitCode: 1,
        reason: 'Error',
      });
    },
  },
  {
    name: 'bad-image',
    usage: 'bad-image NAMESPACE/DEPLOYMENT',
    summary: 'a rollout to an image tag that does not exist: ErrImagePull, ImagePullBackOff, a stuck rollout',
    target: 'required',
    start: (ctx, target) => {
      const d = findDeployment(ctx, target!, 'bad-image NAMESPACE/DEPLOYMENT');
      patchTemplate(ctx, d, (t) => ({
        ...t,
        spec: {
          ...t.spec,
          containers: t.spec.containers.map((c, i) =>
            i === 0 ? { ...c, image: c.image.replace(/:[^/:]+$/, '') + ':does-not-exist' } : c,
          ),
        },
      }));
      return { stop: () => restoreTemplate(ctx, d) };
    },
  },
  {
    name: 'restart-spike',
    canBackdate: true,
    usage: 'restart-spike NAMESPACE/DEPLOYMENT',
    summary: "the Deployment's containers restart every minute or two while mostly serving",
    target: 'required',
    start: (ctx, target) => {
      findDeployment(ctx, target!, 'restart-spike NAMESPACE/DEPLOYMENT');
      return workloadBehavior(ctx, target!, 'restart-spike NAMESPACE/DEPLOYMENT', {
        kind: 'flaky',
        everyMs: 90_000,
      });
    },
  },
  {
    name: 'skew',
    usage: 'skew NAMESPACE/DEPLOYMENT [NODE]',
    summary: "all of the Deployment's replicas end up on one node (stopping it rolls them out again)",
    target: 'required',
    start: (ctx, target, args) => {
      const d = findDeployment(ctx, target!, 'skew NAMESPACE/DEPLOYMENT [NODE]');
      const pods = podsOf(ctx.cluster, d.metadata.uid, d.metadata.namespace!);
      const node = args[0] ?? pods.find((p) => p.spec.nodeName)?.spec.nodeName;
      if (!node || !ctx.cluster.kubelets.has(node))
        throw ctx.fail(
          `node "${args[0] ?? ''}" not found; nodes: ${[...ctx.cluster.kubelets.keys()].slice(0, 25).join(', ')}`,
        );
      const owners = ctx.cluster.world
        .dependentsOf<ReplicaSet>(d.metadata.uid, R.replicasets)
        .map((rs) => rs.metadata.uid);
      for (const uid of owners) ctx.cluster.scheduler.preferredNode.set(uid, node);
      // The replicas elsewhere are evicted (as by node drains): deleted gracefully, their kubelets stop
      // them, and the replacements land together.
      for (const pod of pods) {
        if (pod.spec.nodeName === node || pod.metadata.deletionTimestamp) continue;
        ctx.cluster.world.deletePod(pod);
      }
      return {
        stop: () => {
          for (const uid of owners) ctx.cluster.scheduler.preferredNode.delete(uid);
          const current = ctx.cluster.world.store.get<Deployment>(
            R.deployments,
            d.metadata.namespace,
            d.metadata.name,
          );
          if (current) rolloutRestart(ctx, current);
        },
      };
    },
  },
  {
    name: 'capacity-exhausted',
    usage: 'capacity-exhausted',
    summary: 'a batch Deployment requests more CPU than the cluster has, with the autoscaler at its maximum',
    target: 'none',
    start: (ctx) => {
      const world = ctx.cluster.world;
      const autoscaler = ctx.cluster.autoscaler;
      const previousMax = autoscaler?.maxNodes;
      if (autoscaler) autoscaler.maxNodes = autoscaler.currentNodes();
      if (!world.store.get(R.namespaces, undefined, 'batch')) createNamespace(world, 'batch');
      createDeployment(world, 'batch', 'model-training', 12, {
        image: 'ghcr.io/healwatch-sim/trainer:1.4.0',
        cpu: '2',
        memory: '4Gi',
      });
      return {
        stop: () => {
          if (autoscaler && previousMax !== undefined) autoscaler.maxNodes = previousMax;
          world.store.delete(R.deployments, 'batch', 'model-training');
        },
      };
    },
  },
  {
    name: 'autoscaler-down',
    canBackdate: true,
    usage: 'autoscaler-down',
    summary: 'the Cluster Autoscaler crash-loops: unschedulable pods get no new nodes',
    target: 'none',
    start: (ctx) => {
      const ca = ctx.cluster.world.store
        .list<Deployment>(R.deployments, 'kube-system')
        .find((d) => d.metadata.name === 'cluster-autoscaler');
      if (!ca)
        throw ctx.fail(
          'this cluster has no visible cluster-autoscaler Deployment (on GKE and AKS the provider runs it)',
        );
      // It exits while starting up, so in the seconds it runs it neither leads nor scales.
      const cp = ctx.cluster.controlPlane;
      cp.failingStart.add('cluster-autoscaler');
      const handle = workloadBehavior(ctx, 'kube-system/cluster-autoscaler', 'autoscaler-down', {
        kind: 'crash',
        afterMs: 5000,
        exitCode: 255,
        reason: 'Error',
      });
      return {
        stop: () => {
          cp.failingStart.delete('cluster-autoscaler');
          handle.stop();
        },
      };
    },
  },
  {
    name: 'cronjob-fail',
    usage: 'cronjob-fail NAMESPACE/CRONJOB',
    summary: "the CronJob's runs fail: each Job's pods exit 1 until the Job hits its backoffLimit",
    target: 'required',
    start: (ctx, target) => {
      const usage = 'cronjob-fail NAMESPACE/CRONJOB';
      const [ns, name] = splitTarget(ctx, target!, usage);
      const store = ctx.cluster.world.store;
      const cj = store.get<KObject>(R.cronjobs, ns, name);
      if (!cj)
        throw ctx.fail(
          `cronjob "${target}" not found; cronjobs: ${listNames(store.list<KObject>(R.cronjobs))}`,
        );
      // The pods of the CronJob's Jobs (also the runs already going) exit 1 after 10 s; with the
      // template's restartPolicy Never each failed pod counts against the Job's backoffLimit.
      ctx.setOverride((pod) => {
        const owner = controllerOf(pod);
        if (pod.metadata.namespace !== ns || owner?.kind !== 'Job') return undefined;
        const job = store.get<KObject>(R.jobs, ns, owner.name);
        return job && controllerOf(job)?.uid === cj.metadata.uid
          ? { kind: 'fail', afterMs: 10_000 }
          : undefined;
      });
      return { stop: () => ctx.clearOverride() };
    },
  },
  {
    name: 'rollout',
    usage: 'rollout NAMESPACE/DEPLOYMENT',
    summary: 'a healthy rollout to the next image version',
    target: 'required',
    start: (ctx, target) => {
      const d = findDeployment(ctx, target!, 'rollout NAMESPACE/DEPLOYMENT');
      patchTemplate(ctx, d, (t) => ({
        ...t,
        spec: {
          ...t.spec,
          containers: t.spec.containers.map((c, i) =>
            i === 0 ? { ...c, image: nextVersionTag(c.image) } : c,
          ),
        },
      }));
      return { stop: () => undefined, isInstant: true };
    },
  },
  {
    name: 'rollout-stuck',
    usage: 'rollout-stuck NAMESPACE/DEPLOYMENT',
    summary: 'a rollout whose new pods never become ready: it stalls and passes its progress deadline',
    target: 'required',
    start: (ctx, target) => {
      const d = findDeployment(ctx, target!, 'rollout-stuck NAMESPACE/DEPLOYMENT');
      patchTemplate(ctx, d, (t) => ({
        metadata: {
          ...t.metadata,
          annotations: { ...(t.metadata.annotations ?? {}), 'sim.healwatch.io/behavior': 'unready' },
        },
        spec: {
          ...t.spec,
          containers: t.spec.containers.map((c, i) =>
            i === 0 ? { ...c, image: nextVersionTag(c.image) } : c,
          ),
        },
      }));
      return { stop: () => restoreTemplate(ctx, d) };
    },
  },
  {
    name: 'version',
    usage: 'version VERSION',
    summary: 'the API server reports another version (e.g. v1.29.4, past end of life)',
    target: 'required',
    start: (ctx, target) => {
      if (!/^v\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(target!))
        throw ctx.fail(`VERSION must look like v1.29.4, got "${target}"`);
      const world = ctx.cluster.world;
      const before = world.gitVersion;
      world.gitVersion = target!;
      return {
        stop: () => {
          world.gitVersion = before;
        },
      };
    },
  },
  {
    name: 'cert-expiry',
    usage: 'cert-expiry DAYS',
    summary:
      'the API serving certificate and the kubelet client certificates expire in DAYS (negative: expired)',
    target: 'required',
    start: (ctx, target) => {
      const days = Number(target);
      if (!Number.isFinite(days)) throw ctx.fail(`DAYS must be a number, got "${target}"`);
      const world = ctx.cluster.world;
      const notAfter = world.now() + days * 86_400_000;
      const previous = [...ctx.cluster.kubelets.values()].map((k) => [k, k.clientCertNotAfter] as const);
      for (const k of ctx.cluster.kubelets.values()) k.clientCertNotAfter = notAfter;
      const api = ctx.api;
      const before = api?.servingCertificate;
      const authority = ctx.cluster.certificateAuthority;
      if (api && before && authority) {
        api.setCertificate(
          generateServingCertificate(authority, {
            hosts: [
              ctx.apiOptions.host,
              'localhost',
              '127.0.0.1',
              'kubernetes',
              'kubernetes.default',
              'kubernetes.default.svc',
            ],
            notBefore: new Date(Math.min(notAfter, world.now()) - 365 * 86_400_000),
            notAfter: new Date(notAfter),
          }),
        );
      }
      return {
        stop: () => {
          for (const [k, at] of previous) k.clientCertNotAfter = at;
          if (api && before) api.setCertificate(before);
        },
      };
    },
  },
  {
    name: 'deprecated-api',
    usage: 'deprecated-api GROUP/VERSION/RESOURCE [REMOVED_RELEASE]',
    summary:
      'a client keeps requesting a deprecated API (e.g. policy/v1beta1/poddisruptionbudgets, removed in 1.25): the API server /metrics reports it',
    target: 'required',
    start: (ctx, target, args) => {
      const usage = 'deprecated-api GROUP/VERSION/RESOURCE [REMOVED_RELEASE]';
      const m = /^(?:([a-z0-9.-]+)\/)?(v[0-9a-z]+)\/([a-z0-9-]+)$/.exec(target!);
      if (!m) throw ctx.fail(`target "${target}" must be GROUP/VERSION/RESOURCE (usage: ${usage})`);
      const removed = args[0] ?? KNOWN_REMOVALS[target!] ?? '';
      if (removed !== '' && !/^\d+\.\d+$/.test(removed))
        throw ctx.fail(`REMOVED_RELEASE must look like 1.25, got "${removed}"`);
      const api = ctx.api;
      if (!api) throw ctx.fail('the API server is not running');
      const entry = {
        group: m[1] ?? '',
        version: m[2]!,
        resource: m[3]!,
        subresource: '',
        removedRelease: removed,
      };
      api.deprecatedApis.push(entry);
      return {
        stop: () => {
          const i = api.deprecatedApis.indexOf(entry);
          if (i >= 0) api.deprecatedApis.splice(i, 1);
        },
      };
    },
  },
  {
    name: 'api-down',
    usage: 'api-down SECONDS',
    summary: 'the API server drops every connection for SECONDS (simulated time), watches included',
    target: 'required',
    start: (ctx, target) => {
      const seconds = Number(target);
      if (!Number.isFinite(seconds) || seconds <= 0)
        throw ctx.fail(`SECONDS must be a positive number, got "${target}"`);
      const api = ctx.api;
      if (!api) throw ctx.fail('the API server is not running');
      api.faults.isDown = true;
      api.dropConnections();
      return {
        durationMs: seconds * 1000,
        stop: () => {
          api.faults.isDown = false;
        },
      };
    },
  },
  {
    name: 'api-slow',
    usage: 'api-slow MS',
    summary: 'every API answer is delayed MS real milliseconds',
    target: 'required',
    start: (ctx, target) => {
      const ms = Number(target);
      if (!Number.isFinite(ms) || ms < 0) throw ctx.fail(`MS must be a non-negative number, got "${target}"`);
      const api = ctx.api;
      if (!api) throw ctx.fail('the API server is not running');
      api.faults.slowMs = ms;
      return {
        stop: () => {
          api.faults.slowMs = 0;
        },
      };
    },
  },
  {
    name: 'api-429',
    usage: 'api-429',
    summary: 'the API server answers 429 Too Many Requests (Retry-After: 1) to every request but health',
    target: 'none',
    start: (ctx) => {
      const api = ctx.api;
      if (!api) throw ctx.fail('the API server is not running');
      api.faults.isThrottling = true;
      return {
        stop: () => {
          api.faults.isThrottling = false;
        },
      };
    },
  },
  {
    name: 'watch-compact',
    usage: 'watch-compact',
    summary:
      'history is compacted: open watches get a 410 ERROR event and close, old resourceVersions and continue tokens expire',
    target: 'none',
    start: (ctx) => {
      const store = ctx.cluster.world.store;
      const requested = store.resourceVersion;
      store.compact();
      for (const w of ctx.api?.watches.list() ?? [])
        w.fail(tooOldResourceVersion(requested - 1, requested + 1).toStatus());
      return { stop: () => undefined, isInstant: true };
    },
  },
  {
    name: 'watch-stall',
    usage: 'watch-stall',
    summary:
      'open watches go silent without closing (no events, no bookmarks), as behind a half-open connection',
    target: 'none',
    start: (ctx) => {
      for (const w of ctx.api?.watches.list() ?? []) w.stall();
      return { stop: () => undefined, isInstant: true };
    },
  },
  {
    name: 'watch-garbage',
    usage: 'watch-garbage',
    summary: 'every open watch receives a malformed event line, then goes on streaming',
    target: 'none',
    start: (ctx) => {
      for (const w of ctx.api?.watches.list() ?? [])
        w.inject('{"type":"MODIFIED","object":{"kind":"Pod","metadata":\n');
      return { stop: () => undefined, isInstant: true };
    },
  },
  {
    name: 'heal',
    usage: 'heal',
    summary: 'ends every active fault',
    target: 'none',
    start: () => ({ stop: () => undefined, isInstant: true }),
  },
];
