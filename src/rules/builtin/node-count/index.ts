import { z } from 'zod';
import type { NodeRecord } from '../../../cluster/index.js';
import type { Evidence } from '../../../domain/index.js';
import { ago } from '../../helpers.js';
import type { Rule } from '../../rule.js';

const options = z
  .object({
    /** At most this many NotReady and cordoned nodes are named in the evidence. */
    maxListed: z.number().int().min(0).default(10),
    /** A NotReady node younger than this is counted as joining (the autoscaler just added it). */
    joiningGraceMinutes: z.number().min(0).default(10),
  })
  .strict();

/** Whether the node's Ready condition is True. */
function isReady(node: NodeRecord): boolean {
  return node.conditions.Ready?.status === 'True';
}

/** Counts per key, as `a 3, b 2` in key order. */
function countsText(counts: Map<string, { total: number; ready: number }>): string {
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, c]) => `${k} ${c.total}${c.ready < c.total ? ` (${c.total - c.ready} not ready)` : ''}`)
    .join(', ');
}

function add(counts: Map<string, { total: number; ready: number }>, key: string, ready: boolean): void {
  let c = counts.get(key);
  if (!c) counts.set(key, (c = { total: 0, ready: 0 }));
  c.total++;
  if (ready) c.ready++;
}

/**
 * The number of nodes and their readiness, as one cluster-wide None finding: total, ready, not ready
 * (with those still joining), cordoned, and the split by zone and role. The Cluster Autoscaler keeps
 * the count right; a node that stays NotReady is node-not-ready's business.
 */
export const nodeCount: Rule<z.infer<typeof options>> = {
  id: 'node-count',
  summary: 'Number of nodes, ready, not ready and cordoned, by zone and role',
  loop: 'the Cluster Autoscaler adds nodes when pods cannot be placed and removes idle ones; the node lifecycle controller evicts pods from lost nodes',
  rationale:
    'Kubernetes keeps the node count right by itself, so the count is shown, never notified. A node that stays NotReady raises its own Notice (node-not-ready), and capacity that does not heal raises an Alert (capacity-stuck).',
  defaultLevel: 'none',
  defaultForMs: 0,
  inputs: ['Node'],
  options,
  sample(view) {
    let ready = 0;
    let unschedulable = 0;
    const nodes = view.list('Node');
    for (const n of nodes) {
      if (isReady(n)) ready++;
      if (n.isUnschedulable) unschedulable++;
    }
    return { nodes: nodes.length, ready, notReady: nodes.length - ready, unschedulable };
  },
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const nodes = view
      .list('Node')
      .filter((n) => ctx.inScope(n))
      .sort((a, b) => a.name.localeCompare(b.name));
    const byZone = new Map<string, { total: number; ready: number }>();
    const byRole = new Map<string, { total: number; ready: number }>();
    const notReady: NodeRecord[] = [];
    const cordoned: NodeRecord[] = [];
    let joining = 0;
    for (const n of nodes) {
      const ready = isReady(n);
      add(byZone, n.zone ?? '(no zone)', ready);
      for (const role of n.roles.length > 0 ? n.roles : ['worker']) add(byRole, role, ready);
      if (!ready) {
        notReady.push(n);
        if (now - n.createdAt < o.joiningGraceMinutes * 60_000) joining++;
      }
      if (n.isUnschedulable) cordoned.push(n);
    }
    const ready = nodes.length - notReady.length;
    const evidence: Evidence[] = [
      { type: 'metric', text: `${nodes.length} nodes: ${ready} ready, ${notReady.length} not ready` },
    ];
    if (byZone.size > 0) evidence.push({ type: 'metric', text: `by zone: ${countsText(byZone)}` });
    if (byRole.size > 0) evidence.push({ type: 'metric', text: `by role: ${countsText(byRole)}` });
    for (const n of notReady.slice(0, o.maxListed)) {
      const c = n.conditions.Ready;
      const young = now - n.createdAt < o.joiningGraceMinutes * 60_000;
      evidence.push({
        type: 'condition',
        text: `${n.name}: Ready ${c?.status ?? 'missing'}${c?.reason ? ` (${c.reason})` : ''}${c?.lastTransitionAt !== undefined ? ` for ${ago(now - c.lastTransitionAt)}` : ''}${young ? `, joined ${ago(now - n.createdAt)} ago` : ''}`,
        ...(c?.lastTransitionAt !== undefined ? { at: c.lastTransitionAt } : {}),
      });
    }
    if (notReady.length > o.maxListed)
      evidence.push({ type: 'state', text: `and ${notReady.length - o.maxListed} more not ready` });
    for (const n of cordoned.slice(0, o.maxListed))
      evidence.push({ type: 'state', text: `${n.name}: cordoned (unschedulable)` });
    if (cordoned.length > o.maxListed)
      evidence.push({ type: 'state', text: `and ${cordoned.length - o.maxListed} more cordoned` });
    const parts = [`${ready} ready`];
    if (notReady.length > 0)
      parts.push(`${notReady.length} not ready${joining > 0 ? ` (${joining} joining)` : ''}`);
    if (cordoned.length > 0) parts.push(`${cordoned.length} cordoned`);
    const firstNotReady = notReady[0];
    return [
      {
        ruleId: 'node-count',
        level: ctx.level,
        object: { kind: 'Cluster', name: 'cluster' },
        title: `${nodes.length} node${nodes.length === 1 ? '' : 's'}: ${parts.join(', ')}`,
        loop: nodeCount.loop,
        message: `The cluster has ${nodes.length} node${nodes.length === 1 ? '' : 's'} in ${byZone.size} zone${byZone.size === 1 ? '' : 's'}; ${ready} ${ready === 1 ? 'is' : 'are'} ready${cordoned.length > 0 ? ` and ${cordoned.length} cordoned (no new pods)` : ''}. The Cluster Autoscaler and the node lifecycle controller keep this right without a person.`,
        evidence,
        nextSteps: [
          'kubectl get nodes -L topology.kubernetes.io/zone -L node.kubernetes.io/instance-type',
          ...(firstNotReady ? [`kubectl describe node ${firstNotReady.name}`] : []),
          ...(cordoned[0] ? [`kubectl uncordon ${cordoned[0].name}   # once its maintenance is done`] : []),
        ],
        facts: {
          nodes: nodes.length,
          ready,
          notReady: notReady.length,
          joining,
          unschedulable: cordoned.length,
          zones: byZone.size,
        },
      },
    ];
  },
};
