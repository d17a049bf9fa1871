import { z } from 'zod';
import type { ClusterView, PodRecord } from '../../../cluster/index.js';
import type { Evidence } from '../../../domain/index.js';
import type { Rule } from '../../rule.js';

const options = z
  .object({
    /** How many namespaces (most Pending, most Failed) the evidence names. */
    topNamespaces: z.number().int().min(0).default(5),
  })
  .strict();

/** The pod phases, in the order they are reported. */
const PHASES = ['Running', 'Pending', 'Succeeded', 'Failed', 'Unknown'] as const;
type Phase = (typeof PHASES)[number];

/** The phase a pod counts under (anything unexpected is Unknown). */
function phaseOf(pod: PodRecord): Phase {
  return (PHASES as readonly string[]).includes(pod.phase) ? (pod.phase as Phase) : 'Unknown';
}

/** The counts the finding and the samples rest on. */
function countPods(pods: readonly PodRecord[]): Record<string, number> {
  const counts: Record<string, number> = { pods: pods.length, terminating: 0, runningNotReady: 0 };
  for (const p of PHASES) counts[p.toLowerCase()] = 0;
  for (const pod of pods) {
    const phase = phaseOf(pod);
    counts[phase.toLowerCase()]! += 1;
    if (pod.deletedAt !== undefined) counts.terminating! += 1;
    if (phase === 'Running' && pod.conditions.Ready?.status !== 'True') counts.runningNotReady! += 1;
  }
  return counts;
}

/** The namespaces with the most pods matching, as `ns 3, other 1`. */
function topText(pods: readonly PodRecord[], max: number, label: (p: PodRecord) => string): string {
  const counts = new Map<string, number>();
  for (const p of pods) counts.set(label(p), (counts.get(label(p)) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = sorted
    .slice(0, max)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return sorted.length > max ? `${shown}, ${sorted.length - max} more` : shown;
}

function allPods(view: ClusterView): PodRecord[] {
  return view.list('Pod');
}

/**
 * The number of pods by phase, as one cluster-wide None finding: Running, Pending, Succeeded, Failed,
 * Unknown, and how many are terminating (a subset, counted in their phase too). Deployments and
 * DaemonSets keep the count right; the rules about pods judge what goes wrong with them.
 */
export const podPhases: Rule<z.infer<typeof options>> = {
  id: 'pod-phases',
  summary: 'Number of pods by phase (Running, Pending, Succeeded, Failed, Unknown) and terminating',
  loop: 'Deployments, StatefulSets and DaemonSets recreate missing pods; the scheduler places Pending pods; Jobs retry failed ones',
  rationale:
    'Controllers keep the number of pods right by themselves, so the count is shown, never notified. Pods that stay Pending raise pods-unschedulable, crashing pods crashloop, and a workload below its replicas deployment-replicas.',
  defaultLevel: 'none',
  defaultForMs: 0,
  inputs: ['Pod'],
  options,
  sample(view) {
    return countPods(allPods(view));
  },
  evaluate(ctx) {
    const { view, options: o } = ctx;
    const pods = allPods(view).filter((p) => ctx.inScope(p));
    const counts = countPods(pods);
    const n = (k: string): number => counts[k] ?? 0;
    const evidence: Evidence[] = [
      {
        type: 'metric',
        text: `${pods.length} pods: ${PHASES.map((p) => `${n(p.toLowerCase())} ${p}`).join(', ')}; ${n('terminating')} terminating`,
      },
    ];
    if (n('runningNotReady') > 0)
      evidence.push({
        type: 'metric',
        text: `${n('runningNotReady')} Running pod${n('runningNotReady') === 1 ? ' is' : 's are'} not Ready`,
      });
    const pending = pods.filter((p) => phaseOf(p) === 'Pending');
    if (pending.length > 0 && o.topNamespaces > 0) {
      const unscheduled = pending.filter((p) => p.nodeName === undefined).length;
      evidence.push({
        type: 'state',
        text: `Pending by namespace: ${topText(pending, o.topNamespaces, (p) => p.namespace ?? '')} (${unscheduled} not yet on a node)`,
      });
    }
    const failed = pods.filter((p) => phaseOf(p) === 'Failed');
    if (failed.length > 0 && o.topNamespaces > 0) {
      evidence.push({
        type: 'state',
        text: `Failed by reason: ${topText(failed, o.topNamespaces, (p) => p.reason ?? 'Error')}`,
      });
    }
    const namespaces = new Set(pods.map((p) => p.namespace)).size;
    const shown = PHASES.filter((p) => p === 'Running' || n(p.toLowerCase()) > 0);
    const terminating = n('terminating');
    return [
      {
        ruleId: 'pod-phases',
        level: ctx.level,
        object: { kind: 'Cluster', name: 'cluster' },
        title: `${pods.length} pod${pods.length === 1 ? '' : 's'}: ${shown.map((p) => `${n(p.toLowerCase())} ${p}`).join(', ')}${terminating > 0 ? ` (${terminating} terminating)` : ''}`,
        loop: podPhases.loop,
        message: `${pods.length} pods in ${namespaces} namespace${namespaces === 1 ? '' : 's'}: ${n('running')} Running, ${n('pending')} Pending, ${n('succeeded')} Succeeded, ${n('failed')} Failed${n('unknown') > 0 ? `, ${n('unknown')} Unknown` : ''}. Controllers keep these numbers right; the pod rules report what they cannot repair.`,
        evidence,
        nextSteps: [
          'kubectl get pods -A --field-selector=status.phase=Pending',
          'kubectl get pods -A --field-selector=status.phase=Failed',
          ...(failed.length > 0
            ? [
                'Failed pods of finished Jobs and evicted pods stay until their owner or the pod garbage collector removes them: kubectl delete pods -A --field-selector=status.phase=Failed',
              ]
            : []),
        ],
        facts: counts,
      },
    ];
  },
};
