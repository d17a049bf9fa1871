import { z } from 'zod';
import type { DeploymentRecord, EventRecord, PodRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, eventEvidence, groupByWorkload, ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';

const options = z
  .object({
    /**
     * Seconds after a `TriggeredScaleUp` during which the pods it was for count as being healed: cloud
     * nodes take a few minutes to boot and register.
     */
    scaleUpGraceSeconds: z.number().int().min(0).default(600),
  })
  .strict();

/** What the scheduler says when a pod does not fit for lack of capacity the autoscaler could add. */
const CAPACITY = /Insufficient \w+|Too many pods|didn't match/i;
/** What the Cluster Autoscaler says when its node groups are at their maximum. */
const AT_MAX = /max node group size reached|max cluster (cpu|memory|cores)|max.* limit reached/i;

/** What the autoscaler does about the stuck pods. */
type AutoscalerVerdict = 'absent' | 'down' | 'at-max' | 'not-helping';

/** Whether a pod waits for capacity: unscheduled, and the scheduler said it does not fit. */
function waitsForCapacity(pod: PodRecord, events: readonly EventRecord[]): boolean {
  if (pod.nodeName !== undefined || pod.deletedAt !== undefined || pod.phase !== 'Pending') return false;
  const scheduled = pod.conditions.PodScheduled;
  if (scheduled?.status !== 'False' || scheduled.reason !== 'Unschedulable') return false;
  if (CAPACITY.test(scheduled.message ?? '')) return true;
  const failed = events.filter((e) => e.reason === 'FailedScheduling');
  return failed.length > 0 && CAPACITY.test(failed[failed.length - 1]!.message);
}

/** A scale-up for the pod: the Cluster Autoscaler's `TriggeredScaleUp`, Karpenter's `Nominated`. */
const SCALE_UP = new Set(['TriggeredScaleUp', 'Nominated']);

function isAutoscalerEvent(e: EventRecord): boolean {
  return SCALE_UP.has(e.reason) || e.reason === 'NotTriggerScaleUp';
}

/** What the Cluster Autoscaler says when a scale-up it started failed (the node group backs off). */
const SCALE_UP_FAILED = /backoff|back-off|failed/i;

/**
 * Whether the autoscaler is healing a pod: it triggered a scale-up for it within the grace, and has not
 * said since that the scale-up failed. A later "max node group size reached" does not count against
 * it: the scale-up that reached the maximum is the one bringing this pod's node.
 */
function isBeingHealed(autoscaler: readonly EventRecord[], now: number, graceMs: number): boolean {
  const triggered = autoscaler.filter((e) => SCALE_UP.has(e.reason));
  const last = Math.max(...triggered.map((e) => e.lastAt ?? e.firstAt ?? 0));
  if (triggered.length === 0 || now - last > graceMs) return false;
  return !autoscaler.some(
    (e) => e.reason === 'NotTriggerScaleUp' && (e.lastAt ?? 0) >= last && SCALE_UP_FAILED.test(e.message),
  );
}

const VERDICT_TEXT: Record<AutoscalerVerdict, string> = {
  absent: 'there is no cluster autoscaler',
  down: 'the cluster autoscaler is down',
  'at-max': 'the cluster autoscaler is at its maximum',
  'not-helping': 'the cluster autoscaler is not adding nodes for them',
};

/**
 * Self-healing of capacity stuck: pods the scheduler cannot place for lack of resources while the
 * Cluster Autoscaler is absent, down, at its node group maximum, or not adding nodes for them. One
 * finding for the cluster, counting the pods per workload. Silent while a recent scale-up is under way.
 */
export const capacityStuck: Rule<z.infer<typeof options>> = {
  id: 'capacity-stuck',
  summary:
    'Pods unschedulable for lack of capacity while the cluster autoscaler is absent, down or at its maximum',
  loop: 'when pods do not fit, the Cluster Autoscaler adds nodes and the scheduler places them; here no node is coming',
  rationale:
    'Pods waiting for capacity are normal while the autoscaler adds a node, so a scale-up under way stays silent. When no node is coming (no autoscaler, it is down, or at its maximum) capacity does not heal by itself: new replicas and replacements of lost pods stay Pending, so it pages.',
  defaultLevel: 'alert',
  defaultForMs: 3 * 60_000,
  inputs: ['Pod', 'Event', 'Deployment', 'Node'],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const graceMs = o.scaleUpGraceSeconds * 1000;

    // The pods waiting for capacity that no recent scale-up is for.
    const stuck: { pod: PodRecord; events: EventRecord[]; autoscaler: EventRecord[] }[] = [];
    for (const pod of view.list('Pod')) {
      if (!ctx.inScope(pod)) continue;
      if (pod.nodeName !== undefined || pod.phase !== 'Pending') continue;
      // A DaemonSet pod that does not fit on its node is not healed by adding nodes (the autoscaler
      // ignores them too): the DaemonSet rules judge it.
      if (pod.owner?.kind === 'DaemonSet') continue;
      const events = view.eventsFor('Pod', pod.namespace, pod.name);
      if (!waitsForCapacity(pod, events)) continue;
      const autoscaler = events.filter(isAutoscalerEvent);
      if (isBeingHealed(autoscaler, now, graceMs)) continue;
      stuck.push({ pod, events, autoscaler });
    }
    if (stuck.length === 0) return [];

    // The autoscaler as the cluster shows it: its Deployment, where it is visible (GKE and AKS run it
    // out of sight; then only its events on the pods tell it exists).
    const deployments = view
      .list('Deployment')
      .filter((d) => ctx.classification.componentOf(d.name)?.role === 'autoscaler' && d.replicas > 0);
    const running = deployments.filter((d) => d.availableReplicas > 0);
    const notTriggered = stuck.flatMap((s) => s.autoscaler.filter((e) => e.reason === 'NotTriggerScaleUp'));
    const triggered = stuck.flatMap((s) => s.autoscaler.filter((e) => SCALE_UP.has(e.reason)));
    const podsSince = Math.min(
      ...stuck.map((s) => s.pod.conditions.PodScheduled?.lastTransitionAt ?? s.pod.createdAt),
    );
    let verdict: AutoscalerVerdict;
    let autoscalerSince: number | undefined;
    let down: DeploymentRecord | undefined;
    if (deployments.length > 0 && running.length === 0) {
      verdict = 'down';
      down = deployments[0]!;
      const available = down.conditions.Available;
      autoscalerSince = available?.status === 'False' ? available.lastTransitionAt : undefined;
    } else if (notTriggered.length > 0) {
      verdict = notTriggered.some((e) => AT_MAX.test(e.message)) ? 'at-max' : 'not-helping';
      autoscalerSince = Math.min(...notTriggered.map((e) => e.firstAt ?? e.lastAt ?? now));
    } else if (triggered.length > 0) {
      // It scaled up for them, but longer ago than the grace: the nodes did not come (quota, capacity
      // of the zone, nodes failing to join).
      verdict = 'not-helping';
      autoscalerSince = Math.max(...triggered.map((e) => e.lastAt ?? now)) + graceMs;
    } else {
      verdict = deployments.length > 0 ? 'not-helping' : 'absent';
    }
    const since = Math.max(podsSince, autoscalerSince ?? podsSince);

    const groups = [
      ...groupByWorkload(
        view,
        stuck.map((s) => s.pod),
      ).values(),
    ].sort((a, b) => b.pods.length - a.pods.length);
    const namespaces = new Map<string, number>();
    for (const s of stuck)
      namespaces.set(s.pod.namespace ?? '', (namespaces.get(s.pod.namespace ?? '') ?? 0) + 1);
    const cpu = stuck.reduce((n, s) => n + s.pod.cpuRequest, 0);
    const memory = stuck.reduce((n, s) => n + s.pod.memoryRequest, 0);

    const evidence: Evidence[] = [];
    for (const g of groups.slice(0, 5)) {
      const w = g.workload;
      const oldest = Math.min(
        ...g.pods.map((p) => p.conditions.PodScheduled?.lastTransitionAt ?? p.createdAt),
      );
      evidence.push({
        type: 'state',
        text: `${w.kind} ${w.namespace}/${w.name}: ${g.pods.length} pod${g.pods.length === 1 ? '' : 's'} unschedulable for up to ${ago(now - oldest)}`,
        at: oldest,
      });
    }
    if (groups.length > 5) evidence.push({ type: 'state', text: `and ${groups.length - 5} more workloads` });
    const sample = stuck[0]!;
    const scheduled = sample.pod.conditions.PodScheduled;
    if (scheduled?.message)
      evidence.push({
        type: 'condition',
        text: `pod ${sample.pod.namespace}/${sample.pod.name}: PodScheduled=False (Unschedulable): ${scheduled.message}`,
        ...(scheduled.lastTransitionAt !== undefined ? { at: scheduled.lastTransitionAt } : {}),
      });
    evidence.push(...eventEvidence(sample.events, now, 1, (e) => e.reason === 'FailedScheduling'));
    evidence.push(...eventEvidence(sample.autoscaler, now, 1));
    if (down) {
      const available = down.conditions.Available;
      evidence.push({
        type: 'condition',
        text: `Deployment ${down.namespace}/${down.name}: ${down.availableReplicas}/${down.replicas} available${available ? `, Available=${available.status}${available.reason ? ` (${available.reason})` : ''}` : ''}`,
        ...(available?.lastTransitionAt !== undefined ? { at: available.lastTransitionAt } : {}),
      });
    }

    const ca = down ?? deployments[0];
    const nextSteps: string[] = [
      'kubectl get pods -A --field-selector=status.phase=Pending',
      `kubectl describe pod${ns(sample.pod.namespace)} ${sample.pod.name}`,
      "kubectl describe nodes | grep -A 8 'Allocated resources'",
    ];
    if (ca) {
      nextSteps.push(`kubectl logs${ns(ca.namespace)} deploy/${ca.name} --tail=100`);
      if (ca.name === 'cluster-autoscaler')
        nextSteps.push(`kubectl get configmap${ns(ca.namespace)} cluster-autoscaler-status -o yaml`);
    }
    if (verdict === 'down')
      nextSteps.push(
        `kubectl describe deployment${ns(down!.namespace)} ${down!.name} (why its pods do not run: crash, image, permissions to the cloud API)`,
      );
    if (verdict === 'at-max')
      nextSteps.push(
        "Raise the node group maximum (--nodes=MIN:MAX:GROUP, or the managed node group / node pool limits), or lower the pods' requests; check the cloud quota before raising it.",
      );
    if (verdict === 'not-helping')
      nextSteps.push(
        'The autoscaler sees the pods but adds no node for them: no node group whose nodes would fit them (too large requests, a nodeSelector or affinity no group matches), or nodes that fail to join (cloud quota, zone capacity).',
      );
    if (verdict === 'absent')
      nextSteps.push(
        'No autoscaler is visible and none reacted to the pods: add nodes by hand, or install / enable the Cluster Autoscaler (on GKE and AKS: enable autoscaling on the node pool).',
      );

    const finding: Finding = {
      ruleId: 'capacity-stuck',
      level: ctx.level,
      object: { kind: 'Cluster', name: 'capacity' },
      title: `${stuck.length} pod${stuck.length === 1 ? '' : 's'} cannot be scheduled for lack of capacity and ${VERDICT_TEXT[verdict]}`,
      loop: capacityStuck.loop,
      message: `${stuck.length} pod${stuck.length === 1 ? '' : 's'} in ${groups.length} workload${groups.length === 1 ? '' : 's'} (${[...namespaces].map(([n, c]) => `${n}: ${c}`).join(', ')}) do not fit on any node, requesting ${Math.round(cpu)}m CPU and ${Math.round(memory / 2 ** 20)}Mi memory in total, and ${VERDICT_TEXT[verdict]}${verdict === 'at-max' ? ' (max node group size reached)' : ''}. Capacity will not heal by itself: new replicas and replacements of lost pods stay Pending.`,
      evidence,
      nextSteps,
      facts: {
        pending: stuck.length,
        autoscaler: verdict,
        workloads: groups.length,
        namespaces: [...namespaces.keys()].join(','),
        cpuRequestMilli: Math.round(cpu),
        memoryRequestBytes: memory,
        ...(ca ? { autoscalerDeployment: `${ca.namespace}/${ca.name}` } : {}),
      },
      since,
    };
    return [finding];
  },
};
