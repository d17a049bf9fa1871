import { z } from 'zod';
import type {
  ClusterView,
  ConditionRecord,
  DaemonSetRecord,
  DeploymentRecord,
  PodRecord,
  StatefulSetRecord,
} from '../../../cluster/index.js';
import type { Evidence, Finding, ObjectRef } from '../../../domain/index.js';
import { ago, containerEvidence, eventEvidence, ns } from '../../helpers.js';
import type { Rule, RuleContext } from '../../rule.js';
import {
  isCrashLooping,
  isPodReady,
  isStarting,
  judgeDaemonSet,
  skippedText,
  unavailableSince,
} from '../addons-helpers.js';

const MINUTE = 60_000;

const options = z
  .object({
    /**
     * Minutes a node must have been Ready (a new node, one that came back) before its daemon pods are
     * expected; also how long a new pod may take to start before it counts as unavailable.
     */
    nodeGraceMinutes: z.number().min(0).default(5),
  })
  .strict();

type Options = z.infer<typeof options>;

/** A workload judged unavailable, before it becomes a finding. */
interface Verdict {
  workload: ObjectRef;
  desired: number;
  available: number;
  /** The pods that count against it (not ready, or crash-looping). */
  pods: PodRecord[];
  /** Nodes expected to run a daemon pod that have none (DaemonSets). */
  missingNodes: string[];
  conditions: [string, ConditionRecord][];
  since: number;
  /** Extra words for the message (left-out nodes, replicas not created). */
  note: string;
}

/** Deployments: a rollout in progress and within its progress deadline is self-healing at work. */
function isRollingOut(d: DeploymentRecord, now: number): boolean {
  if ((d.observedGeneration ?? 0) < d.generation) return true;
  const p = d.conditions.Progressing;
  if (p?.status !== 'True' || (p.reason !== 'ReplicaSetUpdated' && p.reason !== 'NewReplicaSetCreated'))
    return false;
  // The controller sets ProgressDeadlineExceeded; checking the time too covers a controller that stopped.
  return now - (p.lastUpdateAt ?? p.lastTransitionAt ?? now) <= d.progressDeadlineSeconds * 1000;
}

/** Whether a pod's node is gone, NotReady or being deleted (its pods are that node's story). */
function onBadNode(view: ClusterView, pod: PodRecord): boolean {
  if (!pod.nodeName) return false;
  const node = view.get('Node', undefined, pod.nodeName);
  return !node || node.deletedAt !== undefined || node.conditions.Ready?.status !== 'True';
}

function sinceOf(view: ClusterView, pods: readonly PodRecord[], now: number): number {
  return pods.reduce((min, p) => Math.min(min, unavailableSince(view, p, now)), now);
}

/**
 * Replica workloads (Deployments, StatefulSets): unavailable pods, minus what self-healing explains
 * while some replicas still serve: a rollout in progress, pods still starting, pods on a node that is
 * down (the node's own finding tells that story). Zero available is never explained away.
 */
function judgeReplicas(
  view: ClusterView,
  now: number,
  graceMs: number,
  w: DeploymentRecord | StatefulSetRecord,
  statusAvailable: number,
  isRolling: boolean,
): Verdict | undefined {
  const desired = w.replicas;
  if (desired === 0) return undefined;
  const live = view
    .podsOf(w.kind, w.namespace ?? '', w.name)
    // Evicted (Failed) pods linger as objects but were replaced: they are not replicas any more.
    .filter((p) => p.deletedAt === undefined && p.phase !== 'Succeeded' && p.phase !== 'Failed');
  // A crash-looping pod is Ready for seconds between crashes: it does not serve.
  const flickering = live.filter((p) => isPodReady(p) && isCrashLooping(view, p, now)).length;
  const available = Math.max(0, Math.min(desired, statusAvailable - flickering));
  if (available >= desired) return undefined;
  const pods = live.filter((p) => !isPodReady(p) || isCrashLooping(view, p, now));
  if (available > 0) {
    if (isRolling) return undefined;
    const explained = pods.filter((p) => isStarting(p, now, graceMs) || onBadNode(view, p)).length;
    if (desired - available <= explained) return undefined;
  }
  const notCreated = Math.max(0, desired - live.length);
  const since = Math.min(
    sinceOf(view, pods, now),
    w.conditions.Available?.status === 'False' ? (w.conditions.Available.lastTransitionAt ?? now) : now,
  );
  return {
    workload: { kind: w.kind, namespace: w.namespace, name: w.name },
    desired,
    available,
    pods,
    missingNodes: [],
    conditions: Object.entries(w.conditions),
    since,
    note:
      notCreated > 0 ? `${notCreated} replica${notCreated === 1 ? ' has' : 's have'} no pod at all. ` : '',
  };
}

function judgeDaemon(
  view: ClusterView,
  now: number,
  graceMs: number,
  ds: DaemonSetRecord,
): Verdict | undefined {
  const j = judgeDaemonSet(view, ds, now, graceMs, true);
  if (j.bad.length === 0) return undefined;
  const pods = j.bad.flatMap((n) => n.pods);
  const missingNodes = j.bad.filter((n) => n.state === 'missing').map((n) => n.node);
  const skipped = skippedText(j.eligibility.skipped, graceMs);
  return {
    workload: { kind: 'DaemonSet', namespace: ds.namespace, name: ds.name },
    desired: j.nodes.length,
    available: j.ready,
    pods,
    missingNodes,
    conditions: Object.entries(ds.conditions),
    since: sinceOf(view, pods, now),
    note: [
      missingNodes.length > 0
        ? `${missingNodes.length} eligible node${missingNodes.length === 1 ? ' has' : 's have'} no pod (${missingNodes.slice(0, 5).join(', ')}${missingNodes.length > 5 ? ', ...' : ''}).`
        : '',
      skipped ? `Judged against ${j.nodes.length} eligible nodes; ${skipped}.` : '',
    ]
      .filter(Boolean)
      .join(' ')
      .concat(' '),
  };
}

function toFinding(ctx: RuleContext<Options>, v: Verdict): Finding {
  const { view, now } = ctx;
  const w = v.workload;
  const component = ctx.classification.componentOf(w.name);
  const label = component?.name ?? w.name;
  const evidence: Evidence[] = [];
  for (const [type, c] of v.conditions) {
    evidence.push({
      type: 'condition',
      text: `${type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}${c.lastTransitionAt !== undefined ? `, since ${ago(now - c.lastTransitionAt)} ago` : ''}`,
      ...(c.lastTransitionAt !== undefined ? { at: c.lastTransitionAt } : {}),
    });
  }
  let first: { pod: PodRecord; container: string; crashed: boolean } | undefined;
  for (const pod of v.pods.slice(0, 3)) {
    const bad = [...pod.initContainers, ...pod.containers].filter(
      (c) =>
        !(c.state === 'terminated' && c.reason === 'Completed') &&
        (!c.isReady || c.restarts > 0 || c.state !== 'running'),
    );
    for (const c of bad.slice(0, 2)) {
      evidence.push(...containerEvidence(pod, c, now));
      first ??= { pod, container: c.name, crashed: c.lastTermination !== undefined };
    }
    if (bad.length === 0 && pod.phase === 'Pending')
      evidence.push({
        type: 'state',
        text: `pod ${pod.namespace}/${pod.name} is Pending${pod.conditions.PodScheduled?.message ? `: ${pod.conditions.PodScheduled.message}` : ''}`,
      });
    evidence.push(
      ...eventEvidence(view.eventsFor('Pod', pod.namespace, pod.name), now, 2, (e) => e.type === 'Warning'),
    );
  }
  evidence.push(
    ...eventEvidence(view.eventsFor(w.kind, w.namespace, w.name), now, 2, (e) => e.type === 'Warning'),
  );
  const nodes = [...new Set(v.pods.map((p) => p.nodeName).filter((n): n is string => n !== undefined))];
  const node = v.missingNodes.length === 0 && nodes.length === 1 ? nodes[0] : undefined;
  const whenDown =
    component?.whenDown ??
    'what this add-on provides to the cluster stops working, and it does not recover by itself';
  const looping = v.pods.filter((p) => isCrashLooping(view, p, now)).length;
  const unit = w.kind === 'DaemonSet' ? 'nodes' : 'replicas';
  const nextSteps = [
    `kubectl get ${w.kind.toLowerCase()}${ns(w.namespace)} ${w.name} -o wide`,
    `kubectl get pods${ns(w.namespace)} -o wide | grep ${w.name}`,
    ...(first ? [`kubectl describe pod${ns(w.namespace)} ${first.pod.name}`] : []),
    ...(first?.crashed
      ? [`kubectl logs${ns(w.namespace)} ${first.pod.name} -c ${first.container} --previous`]
      : []),
    looping > 0
      ? 'Crash-looping: the previous logs usually name the cause (configuration, a dependency, permissions after an upgrade).'
      : v.missingNodes.length > 0
        ? `Nodes without a pod: check \`kubectl describe daemonset${ns(w.namespace)} ${w.name}\` events (FailedCreate, quota, admission) and the node's taints.`
        : 'Not ready: check the readiness probe, Pending pods (scheduling events) and image pulls in the pod events.',
  ];
  return {
    ruleId: 'component-unavailable',
    level: ctx.level,
    object: w,
    title: `${w.kind} ${w.namespace}/${w.name}${component && component.name !== w.name ? ` (${component.name})` : ''}: ${v.available} of ${v.desired} ${unit} available`,
    loop: `${componentUnavailable.loop}; when ${label} is down, ${whenDown}`,
    message: `Cluster component ${label} is ${v.available === 0 ? 'down' : 'degraded'}: ${v.available} of ${v.desired} ${unit} available${looping > 0 ? `, ${looping} pod${looping === 1 ? '' : 's'} crash-looping` : ''}. ${v.note}When it is down, ${whenDown}.`,
    evidence,
    nextSteps,
    facts: {
      component: label,
      desired: v.desired,
      available: v.available,
      ...(node !== undefined ? { node } : {}),
      // Every missing replica is a pod waiting for a node: a stopped scheduler explains it (inhibition).
      ...(v.pods.length > 0 &&
      v.missingNodes.length === 0 &&
      v.pods.length >= v.desired - v.available &&
      v.pods.every((p) => p.nodeName === undefined)
        ? { cause: 'unscheduled' }
        : {}),
    },
    since: v.since,
  };
}

/**
 * Cluster components (kube-system and add-on namespaces, known add-ons anywhere) that are not
 * available, one finding per workload: Deployments and StatefulSets below their replicas outside a
 * healthy rollout, DaemonSets missing ready pods on the nodes they should run on.
 */
export const componentUnavailable: Rule<Options> = {
  id: 'component-unavailable',
  summary: 'Cluster components (kube-system and add-ons) not available, one finding per workload',
  loop: 'the controllers keep replacing the pods of cluster components, but the pods do not become available',
  rationale:
    'What self-healing itself stands on (DNS, service routing, the CNI, the autoscaler, ingress, certificates) is down or degraded and is not recovering: users may already be affected, so it pages. Rollouts, new nodes and NotReady nodes are left to their own findings.',
  defaultLevel: 'alert',
  defaultForMs: 2 * MINUTE,
  inputs: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Pod', 'Node', 'Event'],
  options,
  evaluate(ctx) {
    const { view, now, options: o, classification: cls } = ctx;
    const graceMs = o.nodeGraceMinutes * MINUTE;
    const isComponent = (w: { namespace: string | undefined; name: string; deletedAt: number | undefined }) =>
      w.deletedAt === undefined && cls.isClusterComponent(w.namespace, w.name) && ctx.inScope(w);
    const verdicts: Verdict[] = [];
    for (const d of view.list('Deployment').filter(isComponent)) {
      const v = judgeReplicas(view, now, graceMs, d, d.availableReplicas, isRollingOut(d, now));
      if (v) verdicts.push(v);
    }
    for (const s of view.list('StatefulSet').filter(isComponent)) {
      const isRolling =
        (s.observedGeneration ?? 0) < s.generation ||
        (s.updateRevision !== undefined && s.currentRevision !== s.updateRevision);
      const v = judgeReplicas(view, now, graceMs, s, s.readyReplicas, isRolling);
      if (v) verdicts.push(v);
    }
    for (const ds of view.list('DaemonSet').filter(isComponent)) {
      // The log agent has its own rule (log-agent) at its own level.
      if (cls.logAgent && cls.logAgent.namespace === ds.namespace && cls.logAgent.name === ds.name) continue;
      const v = judgeDaemon(view, now, graceMs, ds);
      if (v) verdicts.push(v);
    }
    return verdicts.map((v) => toFinding(ctx, v));
  },
};
