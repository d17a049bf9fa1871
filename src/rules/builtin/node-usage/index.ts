import { z } from 'zod';
import type { ClusterView, NodeRecord } from '../../../cluster/index.js';
import type { Evidence } from '../../../domain/index.js';
import { ago } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import { bytesText, cpuText, MAX_NODE_SERIES, percent } from './quantities.js';

const options = z
  .object({
    /** How many of the busiest nodes the evidence names. */
    topNodes: z.number().int().min(0).default(5),
  })
  .strict();

/** One node's measured usage against its allocatable. */
interface NodeUsage {
  readonly node: NodeRecord;
  readonly cpuMilli: number;
  readonly memoryBytes: number;
  readonly cpuPercent: number;
  readonly memoryPercent: number;
}

/** Where the measurements come from, or why there are none. */
type Measured =
  | { source: 'metrics' | 'summary'; usage: NodeUsage[]; serverAt: number }
  | { source: 'none'; reason: string };

/**
 * The usage of the nodes: from metrics.k8s.io (metrics-server) when it answers, else from the kubelet
 * Summary API the summary probe reads, else the reason neither is available.
 */
function measure(view: ClusterView, nodes: readonly NodeRecord[]): Measured {
  const metrics = view.probes.metrics;
  const toUsage = (node: NodeRecord, cpuMilli: number, memoryBytes: number): NodeUsage => ({
    node,
    cpuMilli,
    memoryBytes,
    cpuPercent: percent(cpuMilli, node.allocatableCpu),
    memoryPercent: percent(memoryBytes, node.allocatableMemory),
  });
  if (metrics?.isAvailable) {
    const usage: NodeUsage[] = [];
    for (const node of nodes) {
      const u = metrics.nodes.get(node.name);
      if (u) usage.push(toUsage(node, u.cpuMilli, u.memoryBytes));
    }
    if (usage.length > 0) return { source: 'metrics', usage, serverAt: metrics.serverAt };
  }
  const usage: NodeUsage[] = [];
  let serverAt = 0;
  for (const node of nodes) {
    const s = view.probes.summaries.get(node.name);
    if (s?.cpuNanoCores === undefined || s.memoryWorkingSetBytes === undefined) continue;
    usage.push(toUsage(node, s.cpuNanoCores / 1e6, s.memoryWorkingSetBytes));
    serverAt = Math.max(serverAt, s.serverAt);
  }
  if (usage.length > 0) return { source: 'summary', usage, serverAt };
  const health = view.probes.health.get('metrics');
  const reason =
    metrics && !metrics.isAvailable
      ? (metrics.reason ?? 'metrics.k8s.io is not available')
      : health?.lastError !== undefined
        ? `the metrics probe fails: ${health.lastError}`
        : metrics === undefined
          ? 'not measured yet (the metrics probe has not run)'
          : 'metrics.k8s.io reports none of these nodes';
  return { source: 'none', reason };
}

/** Sum of a field over the nodes. */
function sum(usage: readonly NodeUsage[], f: (u: NodeUsage) => number): number {
  return usage.reduce((n, u) => n + f(u), 0);
}

/**
 * Node CPU and memory usage against allocatable, as one cluster-wide None finding with the totals and
 * the busiest nodes in its evidence (one finding, not one per node: a 5,000-node cluster would
 * otherwise carry 5,000 findings nobody is told about). Per-node series are sampled for clusters up
 * to MAX_NODE_SERIES nodes.
 */
export const nodeUsage: Rule<z.infer<typeof options>> = {
  id: 'node-usage',
  summary: 'Node CPU and memory usage against allocatable, with the busiest nodes',
  loop: 'when pods cannot be placed the Cluster Autoscaler adds nodes; the kubelet evicts pods from a node under memory pressure',
  rationale:
    'Busy nodes are what a cluster is for, and Kubernetes places pods by requests, not usage: when pods cannot be placed the autoscaler adds nodes, and a node short of memory evicts pods and reports MemoryPressure (node-pressure). So usage is shown, never notified.',
  defaultLevel: 'none',
  defaultForMs: 0,
  inputs: ['Node'],
  options,
  sample(view) {
    const nodes = view.list('Node');
    const m = measure(view, nodes);
    if (m.source === 'none') return { available: 0 };
    const out: Record<string, number> = {
      available: 1,
      nodesMeasured: m.usage.length,
      cpuUsedMilli: sum(m.usage, (u) => u.cpuMilli),
      cpuAllocatableMilli: sum(m.usage, (u) => u.node.allocatableCpu),
      memoryUsedBytes: sum(m.usage, (u) => u.memoryBytes),
      memoryAllocatableBytes: sum(m.usage, (u) => u.node.allocatableMemory),
      maxNodeCpuPercent: Math.max(...m.usage.map((u) => u.cpuPercent)),
      maxNodeMemoryPercent: Math.max(...m.usage.map((u) => u.memoryPercent)),
    };
    if (nodes.length <= MAX_NODE_SERIES) {
      for (const u of m.usage) {
        out[`cpuPercent/${u.node.name}`] = u.cpuPercent;
        out[`memoryPercent/${u.node.name}`] = u.memoryPercent;
      }
    }
    return out;
  },
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const nodes = view.list('Node').filter((n) => ctx.inScope(n));
    const m = measure(view, nodes);
    const object = { kind: 'Cluster', name: 'cluster' };
    if (m.source === 'none') {
      const health = view.probes.health.get('metrics');
      return [
        {
          ruleId: 'node-usage',
          level: ctx.level,
          object,
          title: `Node usage not available: ${m.reason}`,
          loop: nodeUsage.loop,
          message: `Node CPU and memory usage cannot be shown: ${m.reason}. Neither metrics.k8s.io nor the kubelets' Summary API gave a measurement.${health?.state === 'unavailable' ? ' kubectl top and the Horizontal Pod Autoscaler depend on the same metrics-server.' : ''}`,
          evidence: [
            ...(health
              ? [
                  {
                    type: 'state' as const,
                    text: `metrics probe: ${health.state}${health.lastError ? ` (${health.lastError})` : ''}${health.lastSuccessAt !== undefined ? `, last success ${ago(now - health.lastSuccessAt)} ago` : ''}`,
                  },
                ]
              : []),
          ],
          nextSteps: [
            'kubectl get apiservice v1beta1.metrics.k8s.io',
            'kubectl -n kube-system get deployment metrics-server',
            'kubectl -n kube-system logs deployment/metrics-server',
          ],
          facts: { available: false, source: 'none', nodes: nodes.length, reason: m.reason },
        },
      ];
    }
    const usage = m.usage;
    const cpuUsed = sum(usage, (u) => u.cpuMilli);
    const cpuAlloc = sum(usage, (u) => u.node.allocatableCpu);
    const memUsed = sum(usage, (u) => u.memoryBytes);
    const memAlloc = sum(usage, (u) => u.node.allocatableMemory);
    const cpuPercent = percent(cpuUsed, cpuAlloc);
    const memoryPercent = percent(memUsed, memAlloc);
    const busiest = [...usage].sort(
      (a, b) =>
        Math.max(b.cpuPercent, b.memoryPercent) - Math.max(a.cpuPercent, a.memoryPercent) ||
        a.node.name.localeCompare(b.node.name),
    );
    const top = busiest[0];
    const topText = (u: NodeUsage): string =>
      u.memoryPercent >= u.cpuPercent ? `${u.memoryPercent}% memory` : `${u.cpuPercent}% CPU`;
    const from = m.source === 'metrics' ? 'metrics.k8s.io (metrics-server)' : "the kubelets' Summary API";
    const evidence: Evidence[] = [
      {
        type: 'metric',
        text: `CPU ${cpuText(cpuUsed)} of ${cpuText(cpuAlloc)} allocatable (${cpuPercent}%), memory ${bytesText(memUsed)} of ${bytesText(memAlloc)} (${memoryPercent}%) on ${usage.length} node${usage.length === 1 ? '' : 's'}`,
        at: m.serverAt,
      },
      ...busiest.slice(0, o.topNodes).map((u) => ({
        type: 'metric' as const,
        text: `${u.node.name}: CPU ${cpuText(u.cpuMilli)} of ${cpuText(u.node.allocatableCpu)} (${u.cpuPercent}%), memory ${bytesText(u.memoryBytes)} of ${bytesText(u.node.allocatableMemory)} (${u.memoryPercent}%)`,
        at: m.serverAt,
      })),
      { type: 'state', text: `measured by ${from} ${ago(now - m.serverAt)} ago` },
    ];
    const missing = nodes.length - usage.length;
    if (missing > 0) {
      const measured = new Set(usage.map((u) => u.node.name));
      const names = nodes
        .filter((n) => !measured.has(n.name))
        .slice(0, 5)
        .map((n) => n.name);
      evidence.push({
        type: 'state',
        text: `${missing} node${missing === 1 ? '' : 's'} without a measurement (not ready or not scraped): ${names.join(', ')}${missing > names.length ? ', …' : ''}`,
      });
    }
    if (m.source === 'summary' && view.probes.metrics && !view.probes.metrics.isAvailable)
      evidence.push({
        type: 'state',
        text: `metrics.k8s.io: ${view.probes.metrics.reason ?? 'not available'}`,
      });
    return [
      {
        ruleId: 'node-usage',
        level: ctx.level,
        object,
        title: `Nodes use ${cpuPercent}% CPU and ${memoryPercent}% memory of allocatable${top ? ` (busiest: ${top.node.name} at ${topText(top)})` : ''}`,
        loop: nodeUsage.loop,
        message: `${usage.length} node${usage.length === 1 ? '' : 's'} use CPU ${cpuText(cpuUsed)} of ${cpuText(cpuAlloc)} and memory ${bytesText(memUsed)} of ${bytesText(memAlloc)}, measured by ${from}. The scheduler places pods by their requests (see resource-requests), so high usage alone does not stop pods from being placed.`,
        evidence,
        nextSteps: [
          'kubectl top nodes',
          ...(top
            ? [`kubectl top pods -A --sort-by=memory   # then: kubectl describe node ${top.node.name}`]
            : []),
        ],
        facts: {
          available: true,
          source: m.source,
          nodes: nodes.length,
          nodesMeasured: usage.length,
          cpuUsedMilli: Math.round(cpuUsed),
          cpuAllocatableMilli: cpuAlloc,
          cpuPercent,
          memoryUsedBytes: memUsed,
          memoryAllocatableBytes: memAlloc,
          memoryPercent,
          maxNodeCpuPercent: Math.max(...usage.map((u) => u.cpuPercent)),
          maxNodeMemoryPercent: Math.max(...usage.map((u) => u.memoryPercent)),
          ...(top ? { busiestNode: top.node.name } : {}),
        },
      },
    ];
  },
};
