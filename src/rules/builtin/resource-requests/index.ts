import { z } from 'zod';
import type { ClusterView, NodeRecord, PodRecord } from '../../../cluster/index.js';
import type { Evidence } from '../../../domain/index.js';
import type { Rule } from '../../rule.js';
import { bytesText, cpuText, MAX_NODE_SERIES, percent } from '../node-usage/quantities.js';

const options = z
  .object({
    /** How many of the most committed nodes the evidence names. */
    topNodes: z.number().int().min(0).default(5),
  })
  .strict();

/** What the pods on one node request, against what it can give. */
interface NodeCommitment {
  readonly node: NodeRecord;
  readonly pods: number;
  readonly cpuRequest: number;
  readonly memoryRequest: number;
  /** Summed memory limits of the pods that set one on every container. */
  readonly memoryLimit: number;
  /** Pods with a container without a memory limit (their limit is the node). */
  readonly unlimited: number;
  readonly cpuPercent: number;
  readonly memoryPercent: number;
}

/**
 * Whether a pod holds its requests on its node: the scheduler counts every pod bound to the node that
 * has not terminated (Succeeded or Failed), including one being deleted, until it is gone.
 */
function holdsResources(pod: PodRecord): boolean {
  return pod.phase !== 'Succeeded' && pod.phase !== 'Failed';
}

/** The commitment of every node, from the pods bound to it (only pods `include` accepts). */
function commitments(
  view: ClusterView,
  nodes: readonly NodeRecord[],
  include: (p: PodRecord) => boolean,
): NodeCommitment[] {
  return nodes.map((node) => {
    let pods = 0;
    let cpuRequest = 0;
    let memoryRequest = 0;
    let memoryLimit = 0;
    let unlimited = 0;
    for (const p of view.podsOnNode(node.name)) {
      if (!holdsResources(p) || !include(p)) continue;
      pods++;
      cpuRequest += p.cpuRequest;
      memoryRequest += p.memoryRequest;
      if (p.memoryLimit > 0) memoryLimit += p.memoryLimit;
      else unlimited++;
    }
    return {
      node,
      pods,
      cpuRequest,
      memoryRequest,
      memoryLimit,
      unlimited,
      cpuPercent: percent(cpuRequest, node.allocatableCpu),
      memoryPercent: percent(memoryRequest, node.allocatableMemory),
    };
  });
}

function sum(cs: readonly NodeCommitment[], f: (c: NodeCommitment) => number): number {
  return cs.reduce((n, c) => n + f(c), 0);
}

/**
 * Requested against allocatable CPU and memory, for the cluster and per node, as one cluster-wide None
 * finding with the most committed nodes in its evidence; memory limits beside them show overcommit.
 * Pods waiting for a node are counted apart: their requests are demand the cluster has not placed.
 */
export const resourceRequests: Rule<z.infer<typeof options>> = {
  id: 'resource-requests',
  summary: 'Requested vs allocatable CPU and memory, per cluster and node, with memory-limit overcommit',
  loop: 'the scheduler places pods by their requests; when none fits, the Cluster Autoscaler adds a node',
  rationale:
    'Requests decide where pods fit, and a full cluster grows by itself (the autoscaler adds nodes for pods that do not fit). Pods that stay unschedulable raise pods-unschedulable, and capacity that cannot grow raises capacity-stuck. So the commitment is shown, never notified.',
  defaultLevel: 'none',
  defaultForMs: 0,
  inputs: ['Pod', 'Node'],
  options,
  sample(view) {
    const nodes = view.list('Node');
    const cs = commitments(view, nodes, () => true);
    const out: Record<string, number> = {
      cpuRequestedMilli: sum(cs, (c) => c.cpuRequest),
      cpuAllocatableMilli: sum(cs, (c) => c.node.allocatableCpu),
      memoryRequestedBytes: sum(cs, (c) => c.memoryRequest),
      memoryAllocatableBytes: sum(cs, (c) => c.node.allocatableMemory),
      memoryLimitBytes: sum(cs, (c) => c.memoryLimit),
    };
    if (nodes.length <= MAX_NODE_SERIES) {
      for (const c of cs) {
        out[`cpuRequestPercent/${c.node.name}`] = c.cpuPercent;
        out[`memoryRequestPercent/${c.node.name}`] = c.memoryPercent;
      }
    }
    return out;
  },
  evaluate(ctx) {
    const { view, options: o } = ctx;
    const nodes = view.list('Node').filter((n) => ctx.inScope(n));
    const include = (p: PodRecord): boolean => ctx.inScope({ namespace: p.namespace, labels: p.labels });
    const cs = commitments(view, nodes, include);
    const cpuRequested = sum(cs, (c) => c.cpuRequest);
    const cpuAlloc = sum(cs, (c) => c.node.allocatableCpu);
    const memRequested = sum(cs, (c) => c.memoryRequest);
    const memAlloc = sum(cs, (c) => c.node.allocatableMemory);
    const memLimit = sum(cs, (c) => c.memoryLimit);
    const unlimited = sum(cs, (c) => c.unlimited);
    const cpuPercent = percent(cpuRequested, cpuAlloc);
    const memoryPercent = percent(memRequested, memAlloc);
    const memoryLimitPercent = percent(memLimit, memAlloc);
    // Demand not placed yet: pods waiting for a node (they have not terminated and have no node).
    const waiting = view
      .list('Pod')
      .filter((p) => p.nodeName === undefined && p.phase === 'Pending' && p.deletedAt === undefined)
      .filter(include);
    const waitingCpu = waiting.reduce((n, p) => n + p.cpuRequest, 0);
    const waitingMemory = waiting.reduce((n, p) => n + p.memoryRequest, 0);
    const most = [...cs].sort(
      (a, b) =>
        Math.max(b.cpuPercent, b.memoryPercent) - Math.max(a.cpuPercent, a.memoryPercent) ||
        a.node.name.localeCompare(b.node.name),
    );
    const top = most[0];
    const overcommitted = cs.filter((c) => c.memoryLimit > c.node.allocatableMemory);
    const evidence: Evidence[] = [
      {
        type: 'metric',
        text: `requested CPU ${cpuText(cpuRequested)} of ${cpuText(cpuAlloc)} allocatable (${cpuPercent}%), memory ${bytesText(memRequested)} of ${bytesText(memAlloc)} (${memoryPercent}%) on ${nodes.length} node${nodes.length === 1 ? '' : 's'}`,
      },
      {
        type: 'metric',
        text: `memory limits ${bytesText(memLimit)} (${memoryLimitPercent}% of allocatable)${unlimited > 0 ? `; ${unlimited} pod${unlimited === 1 ? ' has' : 's have'} a container without a memory limit` : ''}`,
      },
      ...most.slice(0, o.topNodes).map((c) => ({
        type: 'metric' as const,
        text: `${c.node.name}: ${c.pods} pods request CPU ${cpuText(c.cpuRequest)} of ${cpuText(c.node.allocatableCpu)} (${c.cpuPercent}%), memory ${bytesText(c.memoryRequest)} of ${bytesText(c.node.allocatableMemory)} (${c.memoryPercent}%); memory limits ${percent(c.memoryLimit, c.node.allocatableMemory)}%`,
      })),
    ];
    if (overcommitted.length > 0)
      evidence.push({
        type: 'state',
        text: `${overcommitted.length} node${overcommitted.length === 1 ? '' : 's'} with memory limits above allocatable (overcommitted): ${overcommitted
          .slice(0, 5)
          .map((c) => c.node.name)
          .join(', ')}${overcommitted.length > 5 ? ', …' : ''}`,
      });
    if (waiting.length > 0)
      evidence.push({
        type: 'state',
        text: `${waiting.length} pod${waiting.length === 1 ? '' : 's'} waiting for a node request CPU ${cpuText(waitingCpu)}, memory ${bytesText(waitingMemory)} more`,
      });
    const topText = (c: NodeCommitment): string =>
      c.memoryPercent >= c.cpuPercent ? `${c.memoryPercent}% memory` : `${c.cpuPercent}% CPU`;
    return [
      {
        ruleId: 'resource-requests',
        level: ctx.level,
        object: { kind: 'Cluster', name: 'cluster' },
        title: `Pods request ${cpuPercent}% CPU and ${memoryPercent}% memory of allocatable${top ? ` (most committed: ${top.node.name} at ${topText(top)})` : ''}`,
        loop: resourceRequests.loop,
        message: `The pods placed on ${nodes.length} node${nodes.length === 1 ? '' : 's'} request CPU ${cpuText(cpuRequested)} of ${cpuText(cpuAlloc)} and memory ${bytesText(memRequested)} of ${bytesText(memAlloc)}; their memory limits add up to ${memoryLimitPercent}% of allocatable${waiting.length > 0 ? `, and ${waiting.length} pod${waiting.length === 1 ? ' waits' : 's wait'} for a node` : ''}. The scheduler places pods by requests; when none fits, the Cluster Autoscaler adds a node.`,
        evidence,
        nextSteps: [
          ...(top
            ? [`kubectl describe node ${top.node.name}   # "Allocated resources" lists requests and limits`]
            : []),
          'kubectl get pods -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,CPU:.spec.containers[*].resources.requests.cpu,MEM:.spec.containers[*].resources.requests.memory',
          'Requests far above usage (compare node-usage) waste capacity; limits far above allocatable risk OOM kills under load.',
        ],
        facts: {
          nodes: nodes.length,
          cpuRequestedMilli: cpuRequested,
          cpuAllocatableMilli: cpuAlloc,
          cpuRequestPercent: cpuPercent,
          memoryRequestedBytes: memRequested,
          memoryAllocatableBytes: memAlloc,
          memoryRequestPercent: memoryPercent,
          memoryLimitBytes: memLimit,
          memoryLimitPercent,
          podsWithoutMemoryLimit: unlimited,
          overcommittedNodes: overcommitted.length,
          maxNodeCpuRequestPercent: cs.length > 0 ? Math.max(...cs.map((c) => c.cpuPercent)) : 0,
          maxNodeMemoryRequestPercent: cs.length > 0 ? Math.max(...cs.map((c) => c.memoryPercent)) : 0,
          waitingPods: waiting.length,
          waitingCpuRequestMilli: waitingCpu,
          waitingMemoryRequestBytes: waitingMemory,
          ...(top ? { mostCommittedNode: top.node.name } : {}),
        },
      },
    ];
  },
};
