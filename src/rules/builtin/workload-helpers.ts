import type { ClusterView, ConditionRecord, PodRecord } from '../../cluster/index.js';
import type { Evidence } from '../../domain/index.js';
import { ago, containerEvidence, eventEvidence } from '../helpers.js';

/** Container waiting reasons that mean the image cannot be pulled. */
const IMAGE_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
/** Container waiting reasons that mean the kubelet cannot even create the container (config, secrets). */
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);
/** A container that exited with an error this recently, after restarts, is not serving reliably. */
const CRASH_WINDOW_MS = 10 * 60_000;

/**
 * Why a pod of a workload is not serving, or that it is on its way:
 * - `ok`: ready;
 * - `starting`: created recently, nothing wrong yet (pulling, starting, waiting for readiness or a new node);
 * - `healing`: on a node that stopped reporting, within the time Kubernetes waits before evicting it;
 * - `unschedulable`: the scheduler found no node (`PodScheduled=False`, `Unschedulable`);
 * - `unscheduled`: nobody scheduled it for too long (no scheduler verdict at all: the scheduler is down);
 * - `image`: its image cannot be pulled;
 * - `crash`: a container keeps exiting with an error (even when it is ready between crashes);
 * - `config`: the kubelet cannot create a container (missing Secret or ConfigMap, bad command);
 * - `unready`: running, but not ready for longer than a start may take;
 * - `node-lost`: on a node that stopped reporting, past the eviction grace, and not replaced.
 */
export type PodBlock =
  | 'ok'
  | 'starting'
  | 'healing'
  | 'unschedulable'
  | 'unscheduled'
  | 'image'
  | 'crash'
  | 'config'
  | 'unready'
  | 'node-lost';

/** A pod and the judgement of its state. */
export interface PodJudgement {
  readonly pod: PodRecord;
  readonly block: PodBlock;
  /** Since when it is blocked (or starting), by the objects' own times. */
  readonly since: number;
  /** The node it is on, when that node is not ready. */
  readonly lostNode?: string | undefined;
}

/** The thresholds of `judgePod`. */
export interface PodJudgeOptions {
  /** A pod not ready this long after it was created (or scheduled) is stuck, not starting. */
  readonly stalledAfterMs: number;
  /** Pods on a node that stopped reporting are evicted and replaced after about this long. */
  readonly nodeLossGraceMs: number;
  /** An unschedulable pod the Cluster Autoscaler is adding a node for is on its way this long. */
  readonly scaleUpGraceMs: number;
}

/** Blocks that are problems (everything but ok, starting and healing), most specific first. */
export const PROBLEM_BLOCKS: readonly PodBlock[] = [
  'image',
  'crash',
  'config',
  'unschedulable',
  'unscheduled',
  'node-lost',
  'unready',
];

/** Whether a pod is still part of its workload (not terminating, not finished). */
export function isActivePod(pod: PodRecord): boolean {
  return pod.deletedAt === undefined && pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

function isTrue(c: ConditionRecord | undefined): boolean {
  return c?.status === 'True';
}

/**
 * Whether a pod's containers keep exiting with errors: in CrashLoopBackOff, just exited with an error
 * after restarts, or running again after a back-off at least as long as their previous run (a crash
 * loop's short runs, when the pod may even be ready for a few seconds). A container that serves for
 * minutes between quick restarts (a restart spike) is not crashing in this sense: it mostly serves.
 */
export function isCrashing(pod: PodRecord, now: number): boolean {
  return [...pod.initContainers, ...pod.containers].some((c) => {
    if (c.state === 'waiting' && c.reason === 'CrashLoopBackOff') return true;
    const last = c.lastTermination;
    if (c.restarts < 2 || !last || last.exitCode === 0 || last.finishedAt === undefined) return false;
    if (now - last.finishedAt > CRASH_WINDOW_MS) return false;
    if (c.state === 'terminated') return true;
    if (c.state !== 'running' || c.startedAt === undefined || last.startedAt === undefined) return false;
    const ran = last.finishedAt - last.startedAt;
    const down = c.startedAt - last.finishedAt;
    return down >= ran && now - c.startedAt < Math.max(down, 60_000);
  });
}

/** The first time a pod backed off a crash (its earliest BackOff event), if known. */
function firstBackOff(view: ClusterView, pod: PodRecord): number | undefined {
  let first: number | undefined;
  for (const e of view.eventsFor('Pod', pod.namespace, pod.name)) {
    if (e.reason !== 'BackOff' || e.firstAt === undefined) continue;
    first = first === undefined ? e.firstAt : Math.min(first, e.firstAt);
  }
  return first;
}

/**
 * Whether the Cluster Autoscaler is adding a node for this pod (it said `TriggeredScaleUp`). A later
 * `NotTriggerScaleUp` does not cancel it: the autoscaler may report the group at its maximum while the
 * nodes it already asked for are still joining.
 */
function isScalingUpFor(view: ClusterView, pod: PodRecord): boolean {
  return view.eventsFor('Pod', pod.namespace, pod.name).some((e) => e.reason === 'TriggeredScaleUp');
}

/** How long the autoscaler may take to notice an unschedulable pod (it scans every 10 s). */
const AUTOSCALER_REACTION_MS = 60_000;

/** Judges one active pod of a workload: serving, on its way, or blocked (and by what). */
export function judgePod(view: ClusterView, pod: PodRecord, now: number, o: PodJudgeOptions): PodJudgement {
  const containers = [...pod.initContainers, ...pod.containers];
  const ready = isTrue(pod.conditions.Ready);
  // On a node that stopped reporting, the pod's last state is stale: the node decides its fate.
  if (pod.nodeName) {
    const node = view.get('Node', undefined, pod.nodeName);
    const nodeReady = node?.conditions.Ready;
    if (node && nodeReady && nodeReady.status !== 'True') {
      const lostAt = nodeReady.lastTransitionAt ?? now;
      return {
        pod,
        block: now - lostAt < o.nodeLossGraceMs ? 'healing' : 'node-lost',
        since: lostAt,
        lostNode: node.name,
      };
    }
  }
  if (isCrashing(pod, now)) {
    // A crash-looping pod is often briefly ready between crashes: it still does not serve.
    return { pod, block: 'crash', since: Math.min(firstBackOff(view, pod) ?? now, now) };
  }
  if (ready) return { pod, block: 'ok', since: now };
  // Not ready since it was created, or since it last turned unready (a pod that served for days and
  // now fails is judged from that moment, not from its creation).
  const unreadySince = Math.max(pod.createdAt, pod.conditions.Ready?.lastTransitionAt ?? pod.createdAt);
  if (containers.some((c) => c.state === 'waiting' && IMAGE_REASONS.has(c.reason ?? '')))
    return { pod, block: 'image', since: unreadySince };
  if (containers.some((c) => c.state === 'waiting' && CONFIG_REASONS.has(c.reason ?? '')))
    return { pod, block: 'config', since: unreadySince };
  const age = now - pod.createdAt;
  if (!pod.nodeName) {
    const scheduled = pod.conditions.PodScheduled;
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      const at = scheduled.lastTransitionAt ?? pod.createdAt;
      // While the autoscaler brings a node for it, the pod is on its way (a new node takes minutes);
      // before the autoscaler had a chance to look, it may be too. Either way `since` stays the
      // transition, so once it counts it pages on time.
      if ((isScalingUpFor(view, pod) && age < o.scaleUpGraceMs) || now - at < AUTOSCALER_REACTION_MS)
        return { pod, block: 'starting', since: at };
      return { pod, block: 'unschedulable', since: at };
    }
    return { pod, block: age < o.stalledAfterMs ? 'starting' : 'unscheduled', since: pod.createdAt };
  }
  return { pod, block: now - unreadySince < o.stalledAfterMs ? 'starting' : 'unready', since: unreadySince };
}

/** Evidence for a condition, as `Available=False (MinimumReplicasUnavailable) for 4m: message`. */
export function conditionEvidence(type: string, c: ConditionRecord | undefined, now: number): Evidence[] {
  if (!c) return [];
  const at = c.lastTransitionAt;
  return [
    {
      type: 'condition',
      text: `${type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${at !== undefined ? ` for ${ago(now - at)}` : ''}${c.message ? `: ${c.message}` : ''}`,
      ...(at !== undefined ? { at } : {}),
    },
  ];
}

/** Evidence for a blocked pod: why it is blocked, its failing containers and its recent warning events. */
export function blockedPodEvidence(view: ClusterView, j: PodJudgement, now: number): Evidence[] {
  const { pod } = j;
  const out: Evidence[] = [];
  const scheduled = pod.conditions.PodScheduled;
  if (j.block === 'unschedulable' || j.block === 'unscheduled') {
    out.push({
      type: 'state',
      text: `pod ${pod.namespace}/${pod.name}: Pending for ${ago(now - pod.createdAt)}, ${
        scheduled?.status === 'False'
          ? `PodScheduled=False (${scheduled.reason ?? 'unknown'})${scheduled.message ? `: ${scheduled.message}` : ''}`
          : 'not scheduled by any scheduler'
      }`,
      at: pod.createdAt,
    });
  } else if (j.block === 'node-lost' || j.block === 'healing') {
    out.push({
      type: 'state',
      text: `pod ${pod.namespace}/${pod.name} is on node ${j.lostNode ?? pod.nodeName ?? '?'}, which has not been ready for ${ago(now - j.since)}`,
      at: j.since,
    });
  } else {
    for (const c of [...pod.initContainers, ...pod.containers]) {
      if (c.isReady && j.block !== 'crash') continue;
      out.push(...containerEvidence(pod, c, now));
    }
    if (j.block === 'unready')
      out.push({
        type: 'state',
        text: `pod ${pod.namespace}/${pod.name}: running but not ready for ${ago(now - pod.createdAt)} (its readiness probe fails)`,
      });
  }
  out.push(
    ...eventEvidence(view.eventsFor('Pod', pod.namespace, pod.name), now, 2, (e) => e.type === 'Warning'),
  );
  return out;
}

/** Resolves an int-or-percent against a total, as the controllers do (maxUnavailable down, maxSurge up). */
export function intOrPercent(
  value: string | number | undefined,
  total: number,
  roundUp: boolean,
  fallback: string,
): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number(v) || 0;
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}
