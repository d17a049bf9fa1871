/**
 * Shared judgement of the add-on rules (`component-unavailable`, `log-agent`): which nodes a DaemonSet
 * should run on, which pods are starting or being replaced (not down), and which are crash-looping
 * even when a readiness check happens to catch them up.
 */
import type {
  ClusterView,
  ConditionRecord,
  DaemonSetRecord,
  EventRecord,
  NodeRecord,
  PodRecord,
  TaintRecord,
  TolerationRecord,
} from '../../cluster/index.js';

const MINUTE = 60_000;

/**
 * The tolerations the DaemonSet controller adds to every daemon pod (upstream
 * `AddOrUpdateDaemonPodTolerations`): daemon pods stay on NotReady, unreachable, pressured and cordoned
 * nodes. `network-unavailable` is added only for host-network pods, which the view cannot tell, so such
 * nodes are skipped instead (see `eligibleNodes`).
 */
const DAEMON_TOLERATIONS: readonly TolerationRecord[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', value: undefined, effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', value: undefined, effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', value: undefined, effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', value: undefined, effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', value: undefined, effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', value: undefined, effect: 'NoSchedule' },
];

/** Taints that say a node is going away (scale-down, Karpenter disruption, shutdown). */
const LEAVING_TAINTS = new Set([
  'ToBeDeletedByClusterAutoscaler',
  'karpenter.sh/disrupted',
  'karpenter.sh/disruption',
  'node.cloudprovider.kubernetes.io/shutdown',
  'node.kubernetes.io/out-of-service',
]);

/** Whether one toleration tolerates a taint (the upstream matching rules). */
function tolerates(t: TolerationRecord, taint: TaintRecord): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** Why a node is left out of a DaemonSet's judgement. */
export type SkipReason = 'young' | 'not-ready' | 'cordoned' | 'leaving' | 'not-targeted';

/** The nodes a DaemonSet should run on, and the ones left out with why. */
export interface NodeEligibility {
  readonly eligible: NodeRecord[];
  readonly skipped: ReadonlyMap<SkipReason, string[]>;
}

function readyCondition(node: NodeRecord): ConditionRecord | undefined {
  return node.conditions.Ready;
}

/**
 * The nodes a DaemonSet is judged against: Ready, not cordoned, not going away, matching its
 * nodeSelector, with every NoSchedule/NoExecute taint tolerated, and Ready for at least `graceMs` (a
 * node the autoscaler just added, or one that just came back, gets time to start its daemon pods).
 * NotReady, cordoned and leaving nodes are left out on purpose: their pods are explained by the
 * node's own findings, and a node shutting down must not make every DaemonSet look broken.
 */
export function eligibleNodes(
  view: ClusterView,
  ds: Pick<DaemonSetRecord, 'nodeSelector' | 'tolerations'>,
  now: number,
  graceMs: number,
): NodeEligibility {
  const eligible: NodeRecord[] = [];
  const skipped = new Map<SkipReason, string[]>();
  const skip = (reason: SkipReason, node: NodeRecord): void => {
    const list = skipped.get(reason) ?? [];
    list.push(node.name);
    skipped.set(reason, list);
  };
  const tolerations = [...ds.tolerations, ...DAEMON_TOLERATIONS];
  for (const node of view.list('Node')) {
    // Not targeted first: a node the DaemonSet never runs on is no news whatever its state.
    if (Object.entries(ds.nodeSelector ?? {}).some(([k, v]) => node.labels?.[k] !== v)) {
      skip('not-targeted', node);
      continue;
    }
    const hard = node.taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    if (hard.some((t) => !tolerations.some((x) => tolerates(x, t)))) {
      skip('not-targeted', node);
      continue;
    }
    const ready = readyCondition(node);
    if (node.deletedAt !== undefined || node.taints.some((t) => LEAVING_TAINTS.has(t.key))) {
      skip('leaving', node);
      continue;
    }
    if (ready?.status !== 'True' || hard.some((t) => t.key === 'node.kubernetes.io/network-unavailable')) {
      skip('not-ready', node);
      continue;
    }
    if (node.isUnschedulable) {
      skip('cordoned', node);
      continue;
    }
    const readySince = Math.max(node.createdAt, ready.lastTransitionAt ?? node.createdAt);
    if (now - readySince < graceMs) {
      skip('young', node);
      continue;
    }
    eligible.push(node);
  }
  return { eligible, skipped };
}

/** `2 nodes left out (1 joined less than 5m ago, 1 NotReady)`, or nothing. */
export function skippedText(skipped: ReadonlyMap<SkipReason, string[]>, graceMs: number): string {
  const words: Record<SkipReason, string> = {
    young: `joined or turned Ready less than ${Math.round(graceMs / MINUTE)}m ago`,
    'not-ready': 'NotReady',
    cordoned: 'cordoned',
    leaving: 'being deleted or shut down',
    'not-targeted': '',
  };
  const parts = (['young', 'not-ready', 'cordoned', 'leaving'] as const)
    .filter((r) => (skipped.get(r)?.length ?? 0) > 0)
    .map((r) => `${skipped.get(r)!.length} ${words[r]}`);
  if (parts.length === 0) return '';
  const n = (['young', 'not-ready', 'cordoned', 'leaving'] as const).reduce(
    (sum, r) => sum + (skipped.get(r)?.length ?? 0),
    0,
  );
  return `${n} node${n === 1 ? '' : 's'} left out (${parts.join(', ')})`;
}

/** Whether a pod's Ready condition is True. */
export function isPodReady(pod: PodRecord): boolean {
  return pod.conditions.Ready?.status === 'True';
}

/** Waiting reasons of a container that is on its way up, not failing. */
const STARTING_REASONS = new Set(['ContainerCreating', 'PodInitializing']);

/**
 * Whether a pod shows a failure: a container waiting for another reason than being created
 * (CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError, ...), terminated, restarted, or the
 * pod unschedulable or failed.
 */
export function showsFailure(pod: PodRecord): boolean {
  if (pod.phase === 'Failed') return true;
  if (pod.conditions.PodScheduled?.status === 'False') return true;
  return [...pod.initContainers, ...pod.containers].some(
    (c) =>
      (c.state === 'waiting' && c.reason !== undefined && !STARTING_REASONS.has(c.reason)) ||
      (c.state === 'terminated' && c.reason !== 'Completed') ||
      c.restarts > 0,
  );
}

/**
 * A pod still starting: younger than `graceMs` and showing no failure. Such a pod (a replacement
 * after a node drain, a DaemonSet rollout moving from node to node) is self-healing at work.
 */
export function isStarting(pod: PodRecord, now: number, graceMs: number): boolean {
  return now - pod.createdAt < graceMs && !showsFailure(pod);
}

/** The BackOff events of a pod (restarting a failed container) seen within `windowMs`. */
export function recentBackOffs(
  view: ClusterView,
  pod: PodRecord,
  now: number,
  windowMs: number,
): EventRecord[] {
  return view
    .eventsFor('Pod', pod.namespace, pod.name)
    .filter(
      (e) =>
        e.reason === 'BackOff' && /restarting failed container/i.test(e.message) && recent(e, now, windowMs),
    );
}

function recent(e: EventRecord, now: number, windowMs: number): boolean {
  const at = e.lastAt ?? e.firstAt;
  return at !== undefined && now - at <= windowMs;
}

/**
 * Whether a pod is crash-looping: a container in CrashLoopBackOff now, or backed off within the last
 * two minutes. A crash-looping container is Ready for a few seconds between crashes; counting it as
 * available then would make the finding flicker and restart its `for`.
 */
export function isCrashLooping(view: ClusterView, pod: PodRecord, now: number): boolean {
  return (
    [...pod.initContainers, ...pod.containers].some((c) => c.reason === 'CrashLoopBackOff') ||
    recentBackOffs(view, pod, now, 2 * MINUTE).length > 0
  );
}

/**
 * When a pod became unavailable, by its own record: the first BackOff of the current crash loop, else
 * the Ready condition's transition to False, else its creation.
 */
export function unavailableSince(view: ClusterView, pod: PodRecord, now: number): number {
  let since = now;
  for (const e of recentBackOffs(view, pod, now, 15 * MINUTE))
    if (e.firstAt !== undefined) since = Math.min(since, e.firstAt);
  const ready = pod.conditions.Ready;
  if (ready && ready.status !== 'True' && ready.lastTransitionAt !== undefined)
    since = Math.min(since, ready.lastTransitionAt);
  else if (!ready) since = Math.min(since, pod.createdAt);
  return since;
}

/** How one eligible node stands for a DaemonSet. */
export interface DaemonNodeStatus {
  readonly node: string;
  /** `ready`: a ready, not crash-looping pod; `starting`: being created or replaced; `unready`: a pod that is not ready; `missing`: no pod. */
  readonly state: 'ready' | 'starting' | 'unready' | 'missing';
  /** Its live (not terminating) pods of this DaemonSet. */
  readonly pods: PodRecord[];
}

/** A DaemonSet judged against the nodes it should run on. */
export interface DaemonSetJudgement {
  readonly eligibility: NodeEligibility;
  /** One entry per eligible node. */
  readonly nodes: DaemonNodeStatus[];
  /** Nodes that count against it: unready or missing (not starting). */
  readonly bad: DaemonNodeStatus[];
  readonly ready: number;
}

/**
 * Judges a DaemonSet node by node. A node with no pod counts as missing only when the controller
 * itself says pods are missing (`desiredNumberScheduled` above `currentNumberScheduled`): the view has
 * no node affinity, so a node the DaemonSet's affinity excludes would otherwise look uncovered. With
 * `crashLoopingIsUnready`, a pod that is Ready between two crashes does not count as ready.
 */
export function judgeDaemonSet(
  view: ClusterView,
  ds: DaemonSetRecord,
  now: number,
  graceMs: number,
  crashLoopingIsUnready: boolean,
): DaemonSetJudgement {
  const eligibility = eligibleNodes(view, ds, now, graceMs);
  const byNode = new Map<string, PodRecord[]>();
  for (const pod of view.podsOf('DaemonSet', ds.namespace ?? '', ds.name)) {
    if (!pod.nodeName) continue;
    const list = byNode.get(pod.nodeName) ?? [];
    list.push(pod);
    byNode.set(pod.nodeName, list);
  }
  const controllerSaysMissing = ds.desired > ds.current || (ds.observedGeneration ?? 0) < ds.generation;
  const nodes: DaemonNodeStatus[] = [];
  for (const node of eligibility.eligible) {
    const all = byNode.get(node.name) ?? [];
    const live = all.filter((p) => p.deletedAt === undefined && p.phase !== 'Failed');
    let state: DaemonNodeStatus['state'];
    if (live.some((p) => isPodReady(p) && !(crashLoopingIsUnready && isCrashLooping(view, p, now))))
      state = 'ready';
    else if (live.length > 0) state = live.every((p) => isStarting(p, now, graceMs)) ? 'starting' : 'unready';
    // The old pod is terminating and its replacement not created yet (a rolling update).
    else if (all.some((p) => p.deletedAt !== undefined && now - p.deletedAt < graceMs)) state = 'starting';
    else if (!controllerSaysMissing) continue;
    else state = 'missing';
    nodes.push({ node: node.name, state, pods: live });
  }
  return {
    eligibility,
    nodes,
    bad: nodes.filter((n) => n.state === 'unready' || n.state === 'missing'),
    ready: nodes.filter((n) => n.state === 'ready').length,
  };
}
