import { z } from 'zod';
import type { NodeRecord, PodRecord } from '../../../cluster/index.js';
import { isAtLeast, type Evidence, type Finding, type Level } from '../../../domain/index.js';
import { ago, eventEvidence, groupByWorkload } from '../../helpers.js';
import type { Rule } from '../../rule.js';

const options = z
  .object({
    /** A node younger than this is still joining (CNI, kubelet registration): its NotReady is expected. */
    newNodeGraceMinutes: z.number().min(0).default(10),
    /** At least this share of the nodes NotReady at once is a cluster problem: those findings become Alerts. */
    clusterProblemPercent: z.number().min(0).max(100).default(30),
    /** ...and at least this many nodes (one node of three is not a cluster outage). */
    clusterProblemMinNodes: z.number().int().min(1).default(2),
  })
  .strict();

/** Taints the Cluster Autoscaler puts on nodes it is about to remove (their NotReady is the plan). */
const AUTOSCALER_TAINTS = new Set(['ToBeDeletedByClusterAutoscaler', 'DeletionCandidateOfClusterAutoscaler']);
const READINESS_TAINTS = new Set(['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready']);
/** Taint-based eviction starts after the default toleration of `unreachable`/`not-ready` (300 s). */
const EVICTION_AFTER_MS = 300_000;

function isLive(p: PodRecord): boolean {
  return p.phase !== 'Succeeded' && p.phase !== 'Failed';
}

/** Whether the node is on its way out by design: deleted, or being removed by the autoscaler. */
function isBeingRemoved(n: NodeRecord): boolean {
  return n.deletedAt !== undefined || n.taints.some((t) => AUTOSCALER_TAINTS.has(t.key));
}

/**
 * Nodes whose Ready condition is False or Unknown: the kubelet stopped reporting or reports itself not
 * ready, so nothing new is scheduled there and, after 300 s, its pods are evicted and recreated
 * elsewhere. One finding per node; many nodes at once is escalated to an Alert.
 */
export const nodeNotReady: Rule<z.infer<typeof options>> = {
  id: 'node-not-ready',
  summary: 'Nodes whose Ready condition is False or Unknown (kubelet down, node lost)',
  loop: 'the node controller taints a NotReady node and evicts its pods after 300 s so controllers recreate them elsewhere; the node itself is not repaired',
  rationale:
    'Self-healing moves the workloads (taints, eviction after 300 s, replacements scheduled elsewhere, the autoscaler adds capacity), so one lost node needs a person only to find out why (kubelet, runtime, the machine), in business hours. Workloads that lose capacity raise their own Alerts. Many nodes NotReady at once is a cluster problem (network, control plane, a bad node image) that self-healing cannot route around, so those findings become Alerts. Fires after 1 minute instead of the usual 15, so the cause is found while it is fresh.',
  defaultLevel: 'notice',
  defaultForMs: 60_000,
  inputs: ['Node', 'Pod', 'Lease', 'Event'],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const graceMs = o.newNodeGraceMinutes * 60_000;
    const considered = view.list('Node').filter((n) => !isBeingRemoved(n) && now - n.createdAt >= graceMs);
    const notReady = considered.filter((n) => {
      const ready = n.conditions.Ready;
      if (ready?.status === 'True') return false;
      if (!ctx.inScope(n)) return false;
      // A cordoned node with nothing but DaemonSet or static pods left is in maintenance (drained for
      // a reboot or an upgrade): its NotReady is planned and costs no workload anything.
      if (n.isUnschedulable) {
        const movable = view
          .podsOnNode(n.name)
          .filter(
            (p) => isLive(p) && p.deletedAt === undefined && !p.isStatic && p.owner?.kind !== 'DaemonSet',
          );
        if (movable.length === 0) return false;
      }
      return true;
    });
    const share = considered.length > 0 ? (notReady.length / considered.length) * 100 : 0;
    const isClusterProblem = notReady.length >= o.clusterProblemMinNodes && share >= o.clusterProblemPercent;
    const level: Level = isClusterProblem && isAtLeast(ctx.level, 'notice') ? 'alert' : ctx.level;

    const findings: Finding[] = [];
    for (const node of notReady) {
      const ready = node.conditions.Ready;
      const status = ready?.status ?? 'Unknown';
      const reason = ready?.reason ?? (ready ? 'unknown reason' : 'no Ready condition');
      // The for counts from the transition, or from the end of the new-node grace for a node that never
      // became Ready (its transition is its registration).
      const since = Math.max(ready?.lastTransitionAt ?? node.createdAt, node.createdAt + graceMs);
      const pods = view.podsOnNode(node.name).filter(isLive);
      const movable = pods.filter((p) => !p.isStatic && p.owner?.kind !== 'DaemonSet');
      const evicting = pods.filter((p) => p.deletedAt !== undefined);
      const workloads = [...groupByWorkload(view, movable).values()].sort(
        (a, b) => b.pods.length - a.pods.length,
      );
      const lease = view.get('Lease', 'kube-node-lease', node.name);
      const heartbeat = ready?.lastUpdateAt;
      const evidence: Evidence[] = [
        {
          type: 'condition',
          text: `Ready=${status} (${reason})${ready?.message ? `: ${ready.message}` : ''}, since ${ago(now - since)} ago`,
          ...(ready?.lastTransitionAt !== undefined ? { at: ready.lastTransitionAt } : {}),
        },
      ];
      if (heartbeat !== undefined)
        evidence.push({
          type: 'state',
          text: `last status heartbeat from the kubelet ${ago(now - heartbeat)} ago`,
          at: heartbeat,
        });
      if (lease?.renewedAt !== undefined)
        evidence.push({
          type: 'state',
          text: `node Lease kube-node-lease/${node.name} last renewed ${ago(now - lease.renewedAt)} ago (the kubelet renews it every 10 s)`,
          at: lease.renewedAt,
        });
      else evidence.push({ type: 'state', text: `no node Lease kube-node-lease/${node.name} is visible` });
      for (const t of node.taints.filter((x) => READINESS_TAINTS.has(x.key)))
        evidence.push({
          type: 'state',
          text: `taint ${t.key}:${t.effect}${t.addedAt !== undefined ? ` added ${ago(now - t.addedAt)} ago` : ''}`,
          ...(t.addedAt !== undefined ? { at: t.addedAt } : {}),
        });
      if (node.isUnschedulable)
        evidence.push({ type: 'state', text: 'the node is cordoned (unschedulable)' });
      evidence.push({
        type: 'state',
        text: `${pods.length} pod${pods.length === 1 ? '' : 's'} on the node (${movable.length} of workloads that can move elsewhere${evicting.length > 0 ? `, ${evicting.length} being evicted` : ''})`,
      });
      if (workloads.length > 0)
        evidence.push({
          type: 'state',
          text: `replicas lost with it: ${workloads
            .slice(0, 8)
            .map((w) => `${w.workload.kind} ${w.workload.namespace}/${w.workload.name} (${w.pods.length})`)
            .join(', ')}${workloads.length > 8 ? `, and ${workloads.length - 8} more` : ''}`,
        });
      evidence.push(...eventEvidence(view.eventsFor('Node', undefined, node.name), now, 3));
      if (isClusterProblem)
        evidence.push({
          type: 'state',
          text: `${notReady.length} of ${considered.length} nodes are NotReady at once (${Math.round(share)}%, at least ${o.clusterProblemPercent}% and ${o.clusterProblemMinNodes} nodes is a cluster problem)`,
        });

      const isSilent = status === 'Unknown';
      const untilEviction = since + EVICTION_AFTER_MS - now;
      findings.push({
        ruleId: 'node-not-ready',
        level,
        object: { kind: 'Node', name: node.name },
        title: `Node ${node.name} is NotReady (${status === 'Unknown' ? 'Unknown: no heartbeats' : reason})${isClusterProblem ? `, one of ${notReady.length} NotReady nodes` : ''}`,
        loop: nodeNotReady.loop,
        message: `${
          isSilent
            ? `The kubelet on ${node.name} stopped reporting: the node controller marked it Unknown after the heartbeat grace period.`
            : `The kubelet on ${node.name} reports the node not ready (${reason}).`
        } Nothing new is scheduled there; ${
          movable.length > 0
            ? untilEviction > 0
              ? `its ${movable.length} workload pods are evicted and recreated elsewhere in about ${ago(untilEviction)}.`
              : `its ${movable.length} workload pods are being evicted and recreated elsewhere.`
            : 'it runs no workload pods that could move.'
        }${
          isClusterProblem
            ? ` ${notReady.length} of ${considered.length} nodes are NotReady at once: this points at something they share (network, control plane connectivity, a node image or runtime update), which rescheduling cannot route around.`
            : ''
        }`,
        evidence,
        nextSteps: [
          `kubectl describe node ${node.name}`,
          `kubectl get lease -n kube-node-lease ${node.name} -o yaml`,
          isSilent
            ? 'No heartbeats: the kubelet is down, the machine is off or unreachable, or its network to the API server is cut. Check the instance in the cloud console, then `systemctl status kubelet` and `journalctl -u kubelet` on the node.'
            : 'The kubelet reports the problem itself: read the condition message (container runtime, CNI not ready, PLEG unhealthy), then `journalctl -u kubelet` and the runtime (`systemctl status containerd`) on the node.',
          `kubectl get pods -A --field-selector spec.nodeName=${node.name} -o wide   # after 300 s they are evicted and recreated elsewhere`,
          ...(isClusterProblem
            ? [
                'Many nodes at once: check what they share — a zone, the network, the API server endpoint, a recent node image or kubelet update.',
              ]
            : []),
        ],
        facts: {
          node: node.name,
          pods: pods.length,
          reason,
          status,
          notReadyNodes: notReady.length,
          nodes: considered.length,
          clusterProblem: isClusterProblem,
          ...(node.zone ? { zone: node.zone } : {}),
        },
        since,
      });
    }
    return findings;
  },
};
