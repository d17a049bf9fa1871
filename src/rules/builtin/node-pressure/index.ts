import { z } from 'zod';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, eventEvidence } from '../../helpers.js';
import type { Rule } from '../../rule.js';

const options = z.object({}).strict();

const PRESSURES = ['MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;
type Pressure = (typeof PRESSURES)[number];

/** What runs out, and where to look, per pressure. */
const ABOUT: Record<Pressure, { resource: string; hint: string }> = {
  MemoryPressure: {
    resource: 'memory',
    hint: 'Memory: pods without limits or with limits far above their requests overcommit the node; compare `kubectl top pods -A --sort-by=memory` with their requests.',
  },
  DiskPressure: {
    resource: 'disk (nodefs or imagefs)',
    hint: 'Disk: container logs, emptyDir volumes and writable layers, or images the garbage collector cannot free; see the node-filesystem finding and `kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary`.',
  },
  PIDPressure: {
    resource: 'process IDs',
    hint: 'PIDs: a pod forking without bound (a leak, a fork bomb); set `pids` limits (podPidsLimit) and find the pod with the most processes.',
  },
};

/** Events the kubelet's eviction manager leaves on the node. */
const EVICTION_EVENTS = new Set([
  'EvictionThresholdMet',
  'NodeHasDiskPressure',
  'NodeHasInsufficientMemory',
  'NodeHasInsufficientPID',
  'ImageGCFailed',
  'FreeDiskSpaceFailed',
]);

/**
 * Nodes under memory, disk or PID pressure, one finding per node listing the pressures: the kubelet's
 * eviction manager is already evicting pods (BestEffort first) to protect the node, and the scheduler
 * keeps new pods off it.
 */
export const nodePressure: Rule<z.infer<typeof options>> = {
  id: 'node-pressure',
  summary: 'Nodes under MemoryPressure, DiskPressure or PIDPressure, one finding per node',
  loop: "the kubelet's eviction manager evicts pods to relieve a node that runs out of memory, disk or PIDs, and the scheduler keeps new pods away; it cannot remove what fills the node",
  rationale:
    'Evictions keep the node alive and controllers recreate the evicted pods elsewhere, so nothing pages; but what exhausts the node (a leak, logs, images, an overcommitted node) is outside what eviction repairs, and pods keep being evicted until a person finds it.',
  defaultLevel: 'notice',
  defaultForMs: 2 * 60_000,
  inputs: ['Node', 'Pod', 'Event'],
  options,
  evaluate(ctx) {
    const { view, now } = ctx;
    const findings: Finding[] = [];
    for (const node of view.list('Node')) {
      if (node.deletedAt !== undefined || !ctx.inScope(node)) continue;
      const under = PRESSURES.filter((p) => node.conditions[p]?.status === 'True');
      if (under.length === 0) continue;
      const evidence: Evidence[] = [];
      let since = now;
      for (const p of under) {
        const c = node.conditions[p]!;
        if (c.lastTransitionAt !== undefined) since = Math.min(since, c.lastTransitionAt);
        evidence.push({
          type: 'condition',
          text: `${p}=True (${c.reason ?? 'no reason'})${c.message ? `: ${c.message}` : ''}${c.lastTransitionAt !== undefined ? `, since ${ago(now - c.lastTransitionAt)} ago` : ''}`,
          ...(c.lastTransitionAt !== undefined ? { at: c.lastTransitionAt } : {}),
        });
      }
      for (const t of node.taints.filter((x) =>
        /^node\.kubernetes\.io\/(memory|disk|pid)-pressure$/.test(x.key),
      ))
        evidence.push({
          type: 'state',
          text: `taint ${t.key}:${t.effect}: new pods without a toleration stay off`,
        });
      const evicted = view
        .podsOnNode(node.name)
        .filter((p) => p.reason === 'Evicted' && p.phase === 'Failed');
      // Evictions that belong to this episode: since the pressure began (a minute of slack for clocks).
      const recent = evicted.filter((p) => {
        const at = view.eventsFor('Pod', p.namespace, p.name).find((e) => e.reason === 'Evicted')?.lastAt;
        return at === undefined || at >= since - 60_000;
      });
      if (recent.length > 0)
        evidence.push({
          type: 'state',
          text: `${recent.length} pod${recent.length === 1 ? '' : 's'} evicted: ${recent
            .slice(0, 6)
            .map((p) => `${p.namespace}/${p.name}${p.message ? ` (${p.message.trim()})` : ''}`)
            .join('; ')}${recent.length > 6 ? ` and ${recent.length - 6} more` : ''}`,
        });
      const events = view.eventsFor('Node', undefined, node.name);
      const thresholdMet = events.filter((e) => e.reason === 'EvictionThresholdMet');
      evidence.push(...eventEvidence(events, now, 4, (e) => EVICTION_EVENTS.has(e.reason)));
      const resources = under.map((p) => ABOUT[p].resource);
      findings.push({
        ruleId: 'node-pressure',
        level: ctx.level,
        object: { kind: 'Node', name: node.name },
        title: `Node ${node.name} is under ${under.join(', ')}${recent.length > 0 ? `, ${recent.length} pod${recent.length === 1 ? '' : 's'} evicted` : ''}`,
        loop: nodePressure.loop,
        message: `The kubelet on ${node.name} is running out of ${resources.join(' and ')}: it ${
          recent.length > 0 || thresholdMet.length > 0
            ? `met its eviction threshold${recent.length > 0 ? ` and evicted ${recent.length} pod${recent.length === 1 ? '' : 's'}` : ''}`
            : 'will evict pods (BestEffort first) if it gets worse'
        }, and the scheduler keeps new pods off the node. Evictions relieve the node but do not remove what fills it.`,
        evidence,
        nextSteps: [
          `kubectl describe node ${node.name}`,
          `kubectl get pods -A --field-selector spec.nodeName=${node.name} -o wide`,
          `kubectl get events -A --field-selector involvedObject.name=${node.name} --sort-by=.lastTimestamp`,
          ...under.map((p) => ABOUT[p].hint.replace('NODE', node.name)),
        ],
        facts: {
          node: node.name,
          pressures: under.join(','),
          evicted: recent.length,
        },
        since,
      });
    }
    return findings;
  },
};
