import type { Node, Pod } from '../model.js';
import type { Change } from '../api/store.js';
import { R } from '../api/resources.js';
import { milliCpu, parseQuantity } from '../quantity.js';
import { isoSeconds } from '../time.js';
import { controllerOf, getCondition, pinnedNode, setCondition, tolerates } from './objects.js';
import type { World } from './world.js';

const RETRY_UNSCHEDULABLE_MS = 60_000;

/** Why one node cannot take a pod, worded as the real scheduler's plugins word it. */
type Rejection = string;

interface NodeUsage {
  cpu: number;
  memory: number;
  pods: number;
  /** Pods per controlling owner UID, for spreading replicas. */
  owners: Map<string, number>;
}

interface PodUsage {
  node: string;
  cpu: number;
  memory: number;
  owner?: string;
  zone?: string;
}

const ZONE_LABEL = 'topology.kubernetes.io/zone';
/** Feasible nodes the bootstrap fast path looks at for one without siblings (bounded for scale). */
const BOOTSTRAP_CANDIDATES = 16;

/** The requests of a pod: CPU in millicores, memory in bytes. */
export function podRequests(pod: Pod): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec.containers) {
    cpu += milliCpu(c.resources?.requests?.cpu);
    memory += parseQuantity(c.resources?.requests?.memory);
  }
  return { cpu, memory };
}

/**
 * The default scheduler, simplified: filters nodes by readiness taints, `spec.unschedulable`, taints,
 * nodeSelector, node-name affinity (DaemonSet pods) and requested resources; scores the feasible ones
 * by spreading replicas of one owner and by least-allocated resources; binds, or leaves the pod Pending
 * with `PodScheduled=False` and a `FailedScheduling` event whose message matches the real one.
 */
export class Scheduler {
  readonly name = 'scheduler';
  readonly component = 'kube-scheduler' as const;
  readonly resyncMs = RETRY_UNSCHEDULABLE_MS;
  private readonly pending = new Set<string>();
  private rotation = 0;
  /** Node names in creation order: the scheduler's node cache (listing the store per pod is too slow at scale). */
  private nodeNames: string[] = [];
  private readonly nodeUsage = new Map<string, NodeUsage>();
  private readonly podUsage = new Map<string, PodUsage>();
  /** Pods per controlling owner UID per zone, for spreading replicas across zones. */
  private readonly ownerZones = new Map<string, Map<string, number>>();
  /** Pods of these owners go to the given node when they fit (the skew fault). */
  readonly preferredNode = new Map<string, string>();

  constructor(private readonly world: World) {
    world.addController(this);
    world.store.subscribe(R.pods, (c) => this.account(c));
    world.store.subscribe(R.pods, (c) => {
      const pod = c.object as Pod;
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (c.type === 'DELETED' || pod.spec.nodeName || pod.metadata.deletionTimestamp) {
        this.pending.delete(key);
        return;
      }
      if (c.type === 'ADDED') {
        this.pending.add(key);
        world.enqueue(this.name, key);
      }
    });
    // A new or changed node may make pending pods fit, as the scheduler's queue moves them on node events.
    world.store.subscribe(R.nodes, (c) => {
      if (c.type === 'ADDED') this.nodeNames.push(c.object.metadata.name);
      if (c.type === 'DELETED') {
        this.nodeNames = this.nodeNames.filter((n) => n !== c.object.metadata.name);
        return;
      }
      for (const key of this.pending) world.enqueue(this.name, key);
    });
  }

  resyncKeys(): Iterable<string> {
    return [...this.pending];
  }

  sync(key: string): void {
    const slash = key.indexOf('/');
    const pod = this.world.store.get<Pod>(R.pods, key.slice(0, slash), key.slice(slash + 1));
    if (!pod || pod.spec.nodeName || pod.metadata.deletionTimestamp) {
      this.pending.delete(key);
      return;
    }
    if ((pod.spec.schedulerName ?? 'default-scheduler') !== 'default-scheduler') return;
    this.schedule(pod);
  }

  private usage(node: string): NodeUsage {
    return this.nodeUsage.get(node) ?? { cpu: 0, memory: 0, pods: 0, owners: new Map() };
  }

  /**
   * Keeps the per-node requested resources and per-owner pod counts current from pod changes, as the
   * real scheduler's cache does, so that filtering a node is O(1) instead of a walk over its pods.
   */
  private account(change: Change): void {
    const pod = change.object as Pod;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const before = this.podUsage.get(key);
    if (before) {
      const u = this.nodeUsage.get(before.node);
      if (u) {
        u.cpu -= before.cpu;
        u.memory -= before.memory;
        u.pods--;
        if (before.owner) u.owners.set(before.owner, (u.owners.get(before.owner) ?? 1) - 1);
      }
      if (before.owner && before.zone) {
        const zones = this.ownerZones.get(before.owner);
        zones?.set(before.zone, (zones.get(before.zone) ?? 1) - 1);
      }
      this.podUsage.delete(key);
    }
    const isCounted =
      change.type !== 'DELETED' &&
      pod.spec.nodeName &&
      pod.status.phase !== 'Succeeded' &&
      pod.status.phase !== 'Failed';
    if (!isCounted) return;
    const node = pod.spec.nodeName!;
    const r =
      before && before.node === node
        ? before
        : {
            ...podRequests(pod),
            node,
            owner: controllerOf(pod)?.uid,
            zone: this.world.store.get<Node>(R.nodes, undefined, node)?.metadata.labels?.[ZONE_LABEL],
          };
    let u = this.nodeUsage.get(node);
    if (!u) this.nodeUsage.set(node, (u = { cpu: 0, memory: 0, pods: 0, owners: new Map() }));
    u.cpu += r.cpu;
    u.memory += r.memory;
    u.pods++;
    if (r.owner) u.owners.set(r.owner, (u.owners.get(r.owner) ?? 0) + 1);
    if (r.owner && r.zone) {
      let zones = this.ownerZones.get(r.owner);
      if (!zones) this.ownerZones.set(r.owner, (zones = new Map<string, number>()));
      zones.set(r.zone, (zones.get(r.zone) ?? 0) + 1);
    }
    this.podUsage.set(key, {
      cpu: r.cpu,
      memory: r.memory,
      node,
      ...(r.owner ? { owner: r.owner } : {}),
      ...(r.zone ? { zone: r.zone } : {}),
    });
  }

  /** Why a node cannot take a pod, or undefined when it can. */
  private reject(pod: Pod, node: Node, want: { cpu: number; memory: number }): Rejection[] | undefined {
    const wanted = pinnedNode(pod);
    if (wanted !== undefined && wanted !== node.metadata.name)
      return ["didn't match Pod's node affinity/selector"];
    for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) {
      if (node.metadata.labels?.[k] !== v) return ["didn't match Pod's node affinity/selector"];
    }
    if (
      node.spec.unschedulable &&
      !tolerates(pod.spec.tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })
    ) {
      return ['were unschedulable'];
    }
    for (const taint of node.spec.taints ?? []) {
      if (taint.effect === 'PreferNoSchedule') continue;
      if (!tolerates(pod.spec.tolerations, taint)) {
        return [`had untolerated taint {${taint.key}: ${taint.value ?? ''}}`];
      }
    }
    const reasons: Rejection[] = [];
    const usage = this.usage(node.metadata.name);
    const allocatable = node.status.allocatable;
    if (usage.pods + 1 > parseQuantity(allocatable.pods ?? '110')) reasons.push('Too many pods');
    if (usage.cpu + want.cpu > milliCpu(allocatable.cpu)) reasons.push('Insufficient cpu');
    if (usage.memory + want.memory > parseQuantity(allocatable.memory)) reasons.push('Insufficient memory');
    return reasons.length > 0 ? reasons : undefined;
  }

  private schedule(pod: Pod): void {
    const nodes = this.nodeNames;
    const want = podRequests(pod);
    const owner = controllerOf(pod);
    const feasible: { node: Node; score: number }[] = [];
    const rejected = new Map<string, number>();
    // Nodes rejected for a reason preemption cannot fix (taints, selectors), as opposed to resources.
    let unresolvable = 0;
    // Like percentageOfNodesToScore: on big clusters stop after enough feasible nodes.
    const enough =
      nodes.length > 100
        ? Math.max(100, Math.floor(nodes.length * Math.max(0.05, 0.5 - nodes.length / 12500)))
        : nodes.length;
    const start = this.world.isBootstrapping ? this.rotation++ % Math.max(1, nodes.length) : 0;
    for (let i = 0; i < nodes.length && feasible.length < enough; i++) {
      const node = this.world.store.get<Node>(R.nodes, undefined, nodes[(start + i) % nodes.length]!);
      if (!node) continue;
      const reasons = this.reject(pod, node, want);
      if (reasons) {
        for (const r of reasons) rejected.set(r, (rejected.get(r) ?? 0) + 1);
        if (!reasons.some(isResourceShortage)) unresolvable++;
        continue;
      }
      const usage = this.usage(node.metadata.name);
      const siblings = owner ? (usage.owners.get(owner.uid) ?? 0) : 0;
      const zone = node.metadata.labels?.[ZONE_LABEL];
      const zoneSiblings = owner && zone ? (this.ownerZones.get(owner.uid)?.get(zone) ?? 0) : 0;
      if (this.world.isBootstrapping) {
        // The fast path takes the first feasible node from a rotating start, but not one that already
        // runs a replica of the same owner (or, second, one in a zone that does) when another of the
        // next few will do: the real scheduler's default topology spread keeps replicas apart.
        feasible.push({ node, score: -(siblings * 2 + zoneSiblings) });
        if ((siblings === 0 && zoneSiblings === 0) || feasible.length >= BOOTSTRAP_CANDIDATES) break;
        continue;
      }
      const freeCpu = 1 - (usage.cpu + want.cpu) / Math.max(1, milliCpu(node.status.allocatable.cpu));
      const freeMem =
        1 - (usage.memory + want.memory) / Math.max(1, parseQuantity(node.status.allocatable.memory));
      // Spreading as the default PodTopologySpread constraints do: by node first, then by zone.
      let score = (freeCpu + freeMem) * 50 - siblings * 100 - zoneSiblings * 60;
      if (owner && this.preferredNode.get(owner.uid) === node.metadata.name) score += 10_000;
      feasible.push({ node, score });
    }
    if (feasible.length === 0) {
      this.fail(pod, nodes.length, rejected, unresolvable);
      return;
    }
    if (this.world.isBootstrapping) {
      // The first of the best: the rotation order, not the names, decides among equals.
      let best = feasible[0]!;
      for (const f of feasible) if (f.score > best.score) best = f;
      this.bind(pod, best.node);
      return;
    }
    feasible.sort((a, b) => b.score - a.score || (a.node.metadata.name < b.node.metadata.name ? -1 : 1));
    this.bind(pod, feasible[0]!.node);
  }

  private bind(pod: Pod, node: Node): void {
    const now = this.world.now();
    const bound = this.world.store.modify<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name, (p) => ({
      ...p,
      spec: { ...p.spec, nodeName: node.metadata.name },
      status: {
        ...p.status,
        conditions: setCondition(p.status.conditions, {
          type: 'PodScheduled',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: isoSeconds(now),
        }),
      },
    }));
    this.pending.delete(`${pod.metadata.namespace}/${pod.metadata.name}`);
    if (bound) {
      this.world.record(
        { kind: 'Pod', apiVersion: 'v1', object: bound },
        'Normal',
        'Scheduled',
        `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node.metadata.name}`,
        { component: 'default-scheduler', isEventsV1: true, instance: this.instance(), action: 'Binding' },
      );
    }
  }

  private instance(): string {
    return `default-scheduler-${this.world.options.platform === 'kubeadm' ? 'control-plane' : 'managed'}`;
  }

  private fail(pod: Pod, total: number, rejected: Map<string, number>, unresolvable: number): void {
    // Upstream's FitError sorts the "<count> <reason>" strings, count included.
    const parts = [...rejected.entries()]
      .map(
        ([reason, n]) =>
          `${n} ${reason.startsWith('had') || reason.startsWith('were') || reason.startsWith("didn't") ? `node(s) ${reason}` : reason}`,
      )
      .sort();
    const preemptionParts = [
      ...(unresolvable > 0 ? [`${unresolvable} Preemption is not helpful for scheduling`] : []),
      ...(total - unresolvable > 0
        ? [`${total - unresolvable} No preemption victims found for incoming pod`]
        : []),
    ].sort();
    const preemption = `preemption: 0/${total} nodes are available: ${preemptionParts.join(', ')}.`;
    const message = `0/${total} nodes are available: ${parts.join(', ')}. ${preemption}`;
    const now = isoSeconds(this.world.now());
    const updated = this.world.store.modify<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name, (p) => {
      const current = getCondition(p.status.conditions, 'PodScheduled');
      if (current?.status === 'False' && current.message === message) return p;
      return {
        ...p,
        status: {
          ...p.status,
          conditions: setCondition(p.status.conditions, {
            type: 'PodScheduled',
            status: 'False',
            lastProbeTime: null,
            lastTransitionTime: now,
            reason: 'Unschedulable',
            message,
          }),
        },
      };
    });
    if (updated) {
      this.world.record(
        { kind: 'Pod', apiVersion: 'v1', object: updated },
        'Warning',
        'FailedScheduling',
        message,
        {
          component: 'default-scheduler',
          isEventsV1: true,
          instance: this.instance(),
          action: 'Scheduling',
        },
      );
    }
  }
}

function isResourceShortage(reason: Rejection): boolean {
  return reason.startsWith('Insufficient') || reason === 'Too many pods';
}
