import { z } from 'zod';
import type { NodeRecord, PodRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';

const options = z
  .object({
    /** Workloads with fewer desired replicas are not judged (one replica cannot be spread). */
    minReplicas: z.number().int().min(2).default(2),
  })
  .strict();

/** A node new pods can land on: Ready, not cordoned, without a NoSchedule or NoExecute taint. */
function isSchedulable(node: NodeRecord): boolean {
  return (
    node.deletedAt === undefined &&
    !node.isUnschedulable &&
    node.conditions.Ready?.status === 'True' &&
    !node.taints.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute')
  );
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of items) out.set(key(i), (out.get(key(i)) ?? 0) + 1);
  return out;
}

function countsText(counts: ReadonlyMap<string, number>): string {
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
}

/**
 * Deployments and StatefulSets whose replicas all run on one node, or all in one zone, while the
 * cluster has others: one node or zone failure takes the whole workload down. The scheduler spreads
 * replicas only when it places them, so drains, node replacements and rollouts onto a fresh node leave
 * them concentrated until something re-creates them.
 */
export const placementSkew: Rule<z.infer<typeof options>> = {
  id: 'placement-skew',
  summary: 'A workload’s replicas all on one node or in one zone while others exist',
  loop: 'replicas survive a node or zone failure only when they are spread; the scheduler spreads them only at placement, so they drift onto few nodes',
  rationale:
    'Nothing is broken yet and self-healing will recreate the replicas after a node dies, but in the meantime the whole workload is down: a person should add spread constraints and re-spread it in business hours.',
  defaultLevel: 'notice',
  defaultForMs: 10 * 60_000,
  inputs: ['Pod', 'Node', 'Deployment', 'StatefulSet'],
  options,
  evaluate(ctx) {
    const { view, options: o } = ctx;
    const nodes = new Map(view.list('Node').map((n) => [n.name, n]));
    const schedulable = [...nodes.values()].filter(isSchedulable);
    // A single-node cluster (or one with one usable node) cannot spread anything.
    if (schedulable.length < 2) return [];
    const findings: Finding[] = [];
    const workloads = [
      ...view.list('Deployment').map((w) => ({ w, kind: 'Deployment' as const, resource: 'deployment' })),
      ...view.list('StatefulSet').map((w) => ({ w, kind: 'StatefulSet' as const, resource: 'statefulset' })),
    ];
    for (const { w, kind, resource } of workloads) {
      if (w.deletedAt !== undefined || w.replicas < o.minReplicas || !ctx.inScope(w)) continue;
      const namespace = w.namespace ?? '';
      const pods = view
        .podsOf(kind, namespace, w.name)
        .filter(
          (p): p is PodRecord & { nodeName: string } =>
            p.deletedAt === undefined &&
            p.nodeName !== undefined &&
            p.phase !== 'Succeeded' &&
            p.phase !== 'Failed',
        );
      if (pods.length < o.minReplicas) continue;
      const perNode = countBy(pods, (p) => p.nodeName);
      const zoneOf = (name: string): string | undefined => nodes.get(name)?.zone;
      const hasZones = pods.every((p) => zoneOf(p.nodeName) !== undefined);
      const perZone = hasZones ? countBy(pods, (p) => zoneOf(p.nodeName)!) : new Map<string, number>();
      const [onlyNode] = perNode.size === 1 ? [...perNode.keys()] : [];
      const [onlyZone] = perZone.size === 1 ? [...perZone.keys()] : [];
      const otherNodes = schedulable.filter((n) => n.name !== onlyNode);
      const otherZones = new Set(
        schedulable.map((n) => n.zone).filter((z): z is string => z !== undefined && z !== onlyZone),
      );
      const isNodeSkew = onlyNode !== undefined && otherNodes.length > 0;
      const isZoneSkew = onlyZone !== undefined && otherZones.size > 0;
      if (!isNodeSkew && !isZoneSkew) continue;

      // The skew formed when the last of these pods was placed.
      const since = Math.max(...pods.map((p) => p.conditions.PodScheduled?.lastTransitionAt ?? p.createdAt));
      const zonesOfCluster = countBy(
        schedulable.filter((n) => n.zone !== undefined),
        (n) => n.zone!,
      );
      const where = isNodeSkew ? `on one node (${onlyNode})` : `in one zone (${onlyZone})`;
      const evidence: Evidence[] = [
        { type: 'metric', text: `pods per node: ${countsText(perNode)}` },
        ...(hasZones ? [{ type: 'metric' as const, text: `pods per zone: ${countsText(perZone)}` }] : []),
        {
          type: 'state',
          text: `schedulable nodes: ${schedulable.length}${zonesOfCluster.size > 0 ? ` in ${zonesOfCluster.size} zone${zonesOfCluster.size === 1 ? '' : 's'} (${countsText(zonesOfCluster)})` : ''}`,
        },
      ];
      const selector = Object.entries(w.selector ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      const topologyKey = isNodeSkew ? 'kubernetes.io/hostname' : 'topology.kubernetes.io/zone';
      findings.push({
        ruleId: 'placement-skew',
        level: ctx.level,
        object: { kind, namespace: w.namespace, name: w.name },
        title: `${kind} ${namespace}/${w.name}: all ${pods.length} replicas ${where}`,
        loop: placementSkew.loop,
        message: `All ${pods.length} running replicas are ${where} although the cluster has ${isNodeSkew ? `${otherNodes.length} other schedulable node${otherNodes.length === 1 ? '' : 's'}` : `schedulable nodes in ${otherZones.size} other zone${otherZones.size === 1 ? '' : 's'}`}: losing that ${isNodeSkew ? 'node' : 'zone'} takes the whole ${kind} down until its pods are recreated elsewhere.`,
        evidence,
        nextSteps: [
          `kubectl get pods${ns(w.namespace)}${selector ? ` -l ${selector}` : ''} -o wide`,
          `Make the spread part of the pod template: topologySpreadConstraints with topologyKey ${topologyKey} (maxSkew: 1, whenUnsatisfiable: ScheduleAnyway), or a preferred podAntiAffinity on the same key.`,
          `kubectl rollout restart ${resource}/${w.name}${ns(w.namespace)}   # re-spreads the pods: the scheduler spreads replicas only when it places them`,
        ],
        facts: {
          nodes: perNode.size,
          zones: perZone.size,
          replicas: pods.length,
          ...(onlyNode !== undefined ? { node: onlyNode } : {}),
          ...(onlyZone !== undefined ? { zone: onlyZone } : {}),
        },
        since,
      });
    }
    return findings;
  },
};
