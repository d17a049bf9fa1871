import { z } from 'zod';
import type { EventRecord, NodeRecord, PodRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, eventEvidence, groupByWorkload, ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import {
  causeOf,
  cpuText,
  memoryText,
  parseSchedulerMessage,
  type UnschedulableCause,
} from '../scheduling-helpers.js';

const options = z
  .object({
    /**
     * How long after the Cluster Autoscaler's last `TriggeredScaleUp` on a pod it stays muted: new
     * nodes take a few minutes to register, and pods waiting for them are self-healing at work.
     */
    scaleUpGraceMinutes: z.number().min(0).default(10),
  })
  .strict();

/** Whether a pod is waiting for a node because the scheduler found none. */
function isUnschedulable(pod: PodRecord): boolean {
  const c = pod.conditions.PodScheduled;
  return (
    pod.deletedAt === undefined &&
    pod.nodeName === undefined &&
    pod.phase === 'Pending' &&
    c?.status === 'False' &&
    c.reason === 'Unschedulable'
  );
}

function lastSeen(e: EventRecord): number {
  return e.lastAt ?? e.firstAt ?? e.createdAt;
}

function isReady(node: NodeRecord): boolean {
  return node.conditions.Ready?.status === 'True';
}

/** Requests of the pods still holding resources on a node (what the scheduler subtracts). */
function requestedOn(pods: readonly PodRecord[]): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const p of pods) {
    if (p.deletedAt !== undefined || p.phase === 'Succeeded' || p.phase === 'Failed') continue;
    cpu += p.cpuRequest;
    memory += p.memoryRequest;
  }
  return { cpu, memory };
}

/** A scale-up for the pod: the Cluster Autoscaler's `TriggeredScaleUp`, Karpenter's `Nominated`. */
const SCALE_UP = new Set(['TriggeredScaleUp', 'Nominated']);

const CONTROL_PLANE_TAINTS = new Set([
  'node-role.kubernetes.io/control-plane',
  'node-role.kubernetes.io/master',
]);

const CAUSE_WORDS: Record<UnschedulableCause, string> = {
  resources: 'not enough free resources',
  taints: 'untolerated taints',
  affinity: 'node selector or affinity',
  cordoned: 'cordoned nodes',
  volumes: 'volume placement',
  ports: 'host ports in use',
  'no-nodes': 'no nodes',
  other: 'other constraints',
};

/**
 * Pods the scheduler cannot place (`PodScheduled=False`, reason `Unschedulable`), one finding per
 * workload, with the scheduler's own reason. Quiet while the Cluster Autoscaler has recently triggered
 * a scale-up for them: that is self-healing at work.
 */
export const podsUnschedulable: Rule<z.infer<typeof options>> = {
  id: 'pods-unschedulable',
  summary: 'Pods the scheduler cannot place, one finding per workload, with the scheduler’s reason',
  loop: 'the scheduler places new pods and the Cluster Autoscaler adds nodes when none fits; here neither is placing them',
  rationale:
    'Pending pods do not serve, but the workload usually keeps its running replicas, and the cause (requests larger than what nodes have free, taints, selectors) is a configuration or capacity decision a person makes in business hours. While the autoscaler is adding nodes for them it stays quiet; when the autoscaler is down or at its maximum, capacity-stuck raises the Alert.',
  defaultLevel: 'notice',
  defaultForMs: 5 * 60_000,
  inputs: ['Pod', 'Event', 'Node'],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const graceMs = o.scaleUpGraceMinutes * 60_000;
    const waiting = view
      .list('Pod')
      .filter((p) => ctx.inScope(p) && isUnschedulable(p))
      .filter((p) => {
        // A recent scale-up for this pod: the autoscaler is healing it, give the new node time.
        const triggered = view
          .eventsFor('Pod', p.namespace, p.name)
          .some((e) => SCALE_UP.has(e.reason) && now - lastSeen(e) <= graceMs);
        return !triggered;
      });
    if (waiting.length === 0) return [];
    const nodes = view.list('Node').filter((n) => n.deletedAt === undefined);
    const findings: Finding[] = [];
    for (const { workload, pods } of groupByWorkload(view, waiting).values()) {
      let since = now;
      let failed: EventRecord | undefined;
      let notTriggered: EventRecord | undefined;
      for (const pod of pods) {
        const c = pod.conditions.PodScheduled;
        since = Math.min(since, c?.lastTransitionAt ?? pod.createdAt);
        for (const e of view.eventsFor('Pod', pod.namespace, pod.name)) {
          if (e.reason === 'FailedScheduling' && (!failed || lastSeen(e) >= lastSeen(failed))) failed = e;
          if (e.reason === 'NotTriggerScaleUp' && (!notTriggered || lastSeen(e) >= lastSeen(notTriggered)))
            notTriggered = e;
        }
      }
      const first = pods[0]!;
      const schedulerMessage = failed?.message ?? first.conditions.PodScheduled?.message ?? '';
      const { total, rejections } = parseSchedulerMessage(schedulerMessage);
      // Causes by how many nodes they rule out: `4 Insufficient cpu, 1 untolerated taint` is about
      // resources; the one tainted node is usually the control plane, which no app pod tolerates.
      const perCause = new Map<UnschedulableCause, number>();
      for (const r of rejections)
        perCause.set(causeOf(r.text), (perCause.get(causeOf(r.text)) ?? 0) + r.count);
      // A control-plane taint only says the control plane is not for workloads: not a cause to fix.
      const workerTaints = nodes.flatMap((n) => n.taints.filter((t) => !CONTROL_PLANE_TAINTS.has(t.key)));
      if (perCause.has('taints') && !workerTaints.some((t) => t.effect !== 'PreferNoSchedule'))
        perCause.delete('taints');
      const causes = [...perCause].sort((a, b) => b[1] - a[1]).map(([c]) => c);
      if (causes.length === 0 && total === 0) causes.push('no-nodes');
      const reason =
        schedulerMessage
          .replace(/\s+preemption:.*$/s, '')
          .trim()
          .replace(/\.$/, '') || 'no reason recorded';
      const ofTotal =
        workload.kind === 'Pod'
          ? 1
          : view
              .podsOf(workload.kind as 'Deployment', workload.namespace ?? '', workload.name)
              .filter((p) => p.deletedAt === undefined).length;

      const evidence: Evidence[] = [
        {
          type: 'condition',
          text: `PodScheduled=False (Unschedulable) on ${pods.length} pod${pods.length === 1 ? '' : 's'}, the oldest for ${ago(now - since)}: ${reason}`,
          at: since,
        },
      ];
      if (failed) evidence.push(...eventEvidence([failed], now, 1));
      if (notTriggered) evidence.push(...eventEvidence([notTriggered], now, 1));

      const nextSteps: string[] = [`kubectl describe pod${ns(first.namespace)} ${first.name}`];
      const schedulable = nodes.filter((n) => !n.isUnschedulable && isReady(n));
      if (causes.includes('resources')) {
        const want = { cpu: first.cpuRequest, memory: first.memoryRequest };
        let bigCpu = 0;
        let bigMemory = 0;
        let freeCpu = 0;
        let freeMemory = 0;
        for (const n of schedulable) {
          if (n.taints.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')) continue;
          const used = requestedOn(view.podsOnNode(n.name));
          bigCpu = Math.max(bigCpu, n.allocatableCpu);
          bigMemory = Math.max(bigMemory, n.allocatableMemory);
          freeCpu = Math.max(freeCpu, n.allocatableCpu - used.cpu);
          freeMemory = Math.max(freeMemory, n.allocatableMemory - used.memory);
        }
        evidence.push({
          type: 'metric',
          text: `each pod requests ${cpuText(want.cpu)} CPU and ${memoryText(want.memory)} memory; the largest untainted node has ${cpuText(bigCpu)} CPU and ${memoryText(bigMemory)} allocatable, the most free on one node is ${cpuText(Math.max(0, freeCpu))} CPU and ${memoryText(Math.max(0, freeMemory))}`,
        });
        const tooBig = want.cpu > bigCpu || want.memory > bigMemory;
        nextSteps.push(
          'kubectl describe nodes   # "Allocated resources": requests against allocatable per node',
          tooBig
            ? 'Each pod requests more than any node can allocate: no new node of this type fits it either. Lower the requests or add a node group with larger instances.'
            : 'The pods request more than the nodes have free: lower the requests if they are padded, scale down what is not needed, or raise the Cluster Autoscaler maximum so it can add nodes.',
        );
      }
      if (causes.includes('taints')) {
        const taints = new Map<string, number>();
        for (const n of nodes) {
          for (const t of n.taints) {
            if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue;
            if (CONTROL_PLANE_TAINTS.has(t.key)) continue;
            const text = `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`;
            taints.set(text, (taints.get(text) ?? 0) + 1);
          }
        }
        if (taints.size > 0)
          evidence.push({
            type: 'state',
            text: `node taints: ${[...taints].map(([t, n]) => `${t} on ${n} node${n === 1 ? '' : 's'}`).join(', ')}`,
          });
        nextSteps.push(
          'kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints',
          'Nodes carry taints the pods do not tolerate: add the matching toleration to the pod template, or remove the taint if it was left from maintenance (NotReady, DiskPressure and cordon taints clear themselves when the node recovers).',
        );
      }
      if (causes.includes('affinity')) {
        nextSteps.push(
          `kubectl get pod${ns(first.namespace)} ${first.name} -o jsonpath='{.spec.nodeSelector}{"\\n"}{.spec.affinity}{"\\n"}{.spec.topologySpreadConstraints}'`,
          'kubectl get nodes --show-labels',
          'No node has the labels the pods select (nodeSelector, node affinity), or pod (anti-)affinity or a DoNotSchedule spread constraint rules every node out: fix the selector or label a node pool for it.',
        );
      }
      if (causes.includes('cordoned')) {
        const cordoned = nodes.filter((n) => n.isUnschedulable).map((n) => n.name);
        nextSteps.push(
          `Cordoned nodes take no pods${cordoned.length > 0 ? ` (${cordoned.slice(0, 5).join(', ')})` : ''}: \`kubectl uncordon NODE\` once maintenance is over.`,
        );
      }
      if (causes.includes('volumes')) {
        nextSteps.push(
          `kubectl get pvc${ns(first.namespace)}`,
          'A volume binds the pod to a zone or node that cannot take it, or a claim is unbound: check the PersistentVolumes’ node affinity and the StorageClass (volumeBindingMode: WaitForFirstConsumer).',
        );
      }
      if (causes.includes('ports'))
        nextSteps.push(
          'The pods ask for a hostPort every node already uses: drop hostPort or use a Service.',
        );
      if (causes.includes('no-nodes'))
        nextSteps.push('The cluster has no node the scheduler can use: `kubectl get nodes`.');

      const causeText = causes.map((c) => CAUSE_WORDS[c]).join(', ');
      const autoscalerText = notTriggered
        ? ` The Cluster Autoscaler did not add a node for them (${notTriggered.message}).`
        : '';
      findings.push({
        ruleId: 'pods-unschedulable',
        level: ctx.level,
        object: workload,
        title: `${workload.kind} ${workload.namespace}/${workload.name}: ${pods.length}${ofTotal > pods.length ? ` of ${ofTotal}` : ''} pod${pods.length === 1 ? '' : 's'} unschedulable${causeText ? ` (${causeText})` : ''}`,
        loop: podsUnschedulable.loop,
        message: `${pods.length} pod${pods.length === 1 ? ' has' : 's have'} been Pending for ${ago(now - since)} because the scheduler finds no node for ${pods.length === 1 ? 'it' : 'them'}: ${reason}${failed && failed.count > 1 ? ` (tried ${failed.count} times)` : ''}.${autoscalerText}`,
        evidence,
        nextSteps,
        facts: {
          pending: pods.length,
          reason,
          cause: causes.join(','),
          ...(failed ? { attempts: failed.count } : {}),
          pod: first.name,
        },
        since,
      });
    }
    return findings;
  },
};
