import type { Condition, Lease, Node, Pod, Taint } from '../../model.js';
import { R } from '../../api/resources.js';
import { isoSeconds, parseTime } from '../../time.js';
import { getCondition, setCondition, tolerates } from '../objects.js';
import type { World } from '../world.js';

/** kube-controller-manager's `--node-monitor-grace-period` default since 1.32. */
export const NODE_MONITOR_GRACE_MS = 50_000;
const MONITOR_PERIOD_MS = 5000;
const SOURCE = { component: 'node-controller' };

const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NOT_READY = 'node.kubernetes.io/not-ready';
const CONDITION_TAINTS: Record<string, string> = {
  DiskPressure: 'node.kubernetes.io/disk-pressure',
  MemoryPressure: 'node.kubernetes.io/memory-pressure',
  PIDPressure: 'node.kubernetes.io/pid-pressure',
};

/**
 * The node lifecycle controller and taint-based eviction: it judges kubelet heartbeats by when it
 * observed the node Lease change (its own clock, as upstream does, so skew cannot fake a dead node),
 * marks silent nodes' conditions Unknown after the grace period, taints nodes from their conditions,
 * marks their pods not ready, and evicts pods whose NoExecute toleration runs out.
 */
export class NodeLifecycleController {
  readonly name = 'node-lifecycle';
  readonly component = 'kube-controller-manager' as const;
  readonly resyncMs = MONITOR_PERIOD_MS;
  private readonly observed = new Map<string, { renewTime: string; seenAt: number }>();

  constructor(private readonly world: World) {
    world.addController(this);
    world.store.subscribe(R.nodes, (c) => {
      if (c.type === 'DELETED') this.observed.delete(c.object.metadata.name);
      else world.enqueue(this.name, c.object.metadata.name);
    });
  }

  *resyncKeys(): Iterable<string> {
    for (const n of this.world.store.iterate<Node>(R.nodes)) yield n.metadata.name;
  }

  sync(name: string): void {
    const node = this.world.store.get<Node>(R.nodes, undefined, name);
    if (!node || this.world.isBootstrapping) return;
    const now = this.world.now();
    const lease = this.world.store.get<Lease>(R.leases, 'kube-node-lease', name);
    const renewTime = lease?.spec.renewTime ?? '';
    const seen = this.observed.get(name);
    if (!seen || seen.renewTime !== renewTime) this.observed.set(name, { renewTime, seenAt: now });
    const lastSeen = this.observed.get(name)!.seenAt;
    const ready = getCondition(node.status.conditions, 'Ready');
    if (now - lastSeen > NODE_MONITOR_GRACE_MS && ready?.status !== 'Unknown') {
      this.markUnknown(node);
      return;
    }
    this.reconcileTaints(node);
    this.evictIntolerant(node);
  }

  private markUnknown(node: Node): void {
    const now = isoSeconds(this.world.now());
    const updated = this.world.store.modify<Node>(R.nodes, undefined, node.metadata.name, (n) => {
      let conditions: Condition[] = n.status.conditions;
      for (const c of n.status.conditions) {
        if (!['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'].includes(c.type)) continue;
        conditions = setCondition(conditions, {
          ...c,
          status: 'Unknown',
          reason: 'NodeStatusUnknown',
          message: 'Kubelet stopped posting node status.',
          lastTransitionTime: now,
        });
      }
      return { ...n, status: { ...n.status, conditions } };
    });
    if (!updated) return;
    this.world.record(
      { kind: 'Node', apiVersion: 'v1', object: updated },
      'Normal',
      'NodeNotReady',
      `Node ${node.metadata.name} status is now: NodeNotReady`,
      SOURCE,
    );
    // MarkPodsNotReady: the pods on a lost node are no longer Ready; endpoints drop them.
    for (const pod of this.world.podsOnNode(node.metadata.name)) {
      if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') continue;
      const marked = this.world.store.modify<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name, (p) => ({
        ...p,
        status: {
          ...p.status,
          conditions: setCondition(p.status.conditions, {
            type: 'Ready',
            status: 'False',
            lastProbeTime: null,
            lastTransitionTime: now,
          }),
        },
      }));
      if (marked)
        this.world.record(
          { kind: 'Pod', apiVersion: 'v1', object: marked },
          'Warning',
          'NodeNotReady',
          'Node is not ready',
          SOURCE,
        );
    }
    this.reconcileTaints(updated);
  }

  /** Taints from conditions: unreachable / not-ready (NoSchedule and NoExecute), and pressure taints. */
  private reconcileTaints(node: Node): void {
    const ready = getCondition(node.status.conditions, 'Ready');
    const wanted: Taint[] = [];
    const now = isoSeconds(this.world.now());
    if (ready?.status === 'Unknown') {
      wanted.push({ key: UNREACHABLE, effect: 'NoSchedule' }, { key: UNREACHABLE, effect: 'NoExecute' });
    } else if (ready?.status === 'False') {
      wanted.push({ key: NOT_READY, effect: 'NoSchedule' }, { key: NOT_READY, effect: 'NoExecute' });
    }
    for (const [type, key] of Object.entries(CONDITION_TAINTS)) {
      if (getCondition(node.status.conditions, type)?.status === 'True')
        wanted.push({ key, effect: 'NoSchedule' });
    }
    const managed = new Set([UNREACHABLE, NOT_READY, ...Object.values(CONDITION_TAINTS)]);
    const current = node.spec.taints ?? [];
    const kept = current.filter(
      (t) => !managed.has(t.key) || wanted.some((w) => w.key === t.key && w.effect === t.effect),
    );
    const added = wanted
      .filter((w) => !current.some((t) => t.key === w.key && t.effect === w.effect))
      .map((w) => ({ ...w, timeAdded: now }));
    if (added.length === 0 && kept.length === current.length) return;
    const taints = [...kept, ...added];
    this.world.store.modify<Node>(R.nodes, undefined, node.metadata.name, (n) => {
      const spec = { ...n.spec };
      if (taints.length > 0) spec.taints = taints;
      else delete spec.taints;
      return { ...n, spec };
    });
  }

  /** Deletes pods on a NoExecute-tainted node once their toleration (if any) has run out. */
  private evictIntolerant(node: Node): void {
    const taints = (node.spec.taints ?? []).filter((t) => t.effect === 'NoExecute');
    if (taints.length === 0) return;
    const now = this.world.now();
    let nextCheck = Infinity;
    for (const pod of this.world.podsOnNode(node.metadata.name)) {
      if (pod.metadata.deletionTimestamp || pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed')
        continue;
      let evictAt = -Infinity;
      let isTolerated = true;
      for (const taint of taints) {
        const toleration = (pod.spec.tolerations ?? []).find((t) => tolerates([t], taint));
        if (!toleration) {
          isTolerated = false;
          break;
        }
        if (toleration.tolerationSeconds !== undefined) {
          evictAt = Math.max(evictAt, parseTime(taint.timeAdded) + toleration.tolerationSeconds * 1000);
        }
      }
      if (isTolerated && (evictAt === -Infinity || evictAt > now)) {
        if (evictAt > now) nextCheck = Math.min(nextCheck, evictAt);
        continue;
      }
      const deleted = this.world.deletePod(pod);
      if (deleted) {
        this.world.record(
          { kind: 'Pod', apiVersion: 'v1', object: deleted },
          'Normal',
          'TaintManagerEviction',
          `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
          { component: 'taint-eviction-controller' },
        );
      }
    }
    if (nextCheck < Infinity) this.world.enqueueAfter(this.name, node.metadata.name, nextCheck - now + 100);
  }
}
