import type { Node, Pod } from '../model.js';
import { R } from '../api/resources.js';
import { getCondition } from './objects.js';
import type { Cluster, NodeSpec } from './cluster.js';
import { podRequests } from './scheduler.js';

const LOOP_MS = 10_000;
const PROVISION_MS = 75_000;
const SOURCE = { component: 'cluster-autoscaler' };

/**
 * The Cluster Autoscaler, scale-up side: every 10 s it looks for pods the scheduler marked
 * Unschedulable for lack of resources, and adds nodes to the node group up to its maximum (new nodes
 * register after a provisioning delay). At the maximum it says so on the pods, with the real
 * `NotTriggerScaleUp` event. Scale-down is not simulated.
 */
export class Autoscaler {
  readonly name = 'cluster-autoscaler';
  readonly component = 'cluster-autoscaler' as const;
  readonly resyncMs = LOOP_MS;
  private provisioning = 0;

  constructor(
    private readonly cluster: Cluster,
    public maxNodes: number,
    private readonly makeNode: (index: number, createdAt: number) => NodeSpec,
    private nextIndex: number,
  ) {
    cluster.world.addController(this);
  }

  /** Workers in the node group now (the control-plane node is not in it). */
  currentNodes(): number {
    let n = 0;
    for (const node of this.cluster.world.store.iterate(R.nodes)) {
      if (node.metadata.labels?.['node-role.kubernetes.io/control-plane'] === undefined) n++;
    }
    return n;
  }

  /** Workers registered in the last ten minutes that are not Ready yet (still booting). */
  private joiningNodes(): number {
    const now = this.cluster.world.now();
    let n = 0;
    for (const node of this.cluster.world.store.iterate<Node>(R.nodes)) {
      if (node.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined) continue;
      const age = now - Date.parse(node.metadata.creationTimestamp ?? '');
      const ready = getCondition(node.status.conditions, 'Ready')?.status === 'True';
      if (!ready && age < 10 * 60_000) n++;
    }
    return n;
  }

  *resyncKeys(): Iterable<string> {
    yield 'loop';
  }

  sync(): void {
    const world = this.cluster.world;
    if (world.isBootstrapping) return;
    const pending: Pod[] = [];
    for (const pod of world.store.iterate<Pod>(R.pods)) {
      if (pod.spec.nodeName || pod.metadata.deletionTimestamp) continue;
      const scheduled = getCondition(pod.status.conditions, 'PodScheduled');
      if (scheduled?.reason === 'Unschedulable' && /Insufficient|Too many pods/.test(scheduled.message ?? ''))
        pending.push(pod);
    }
    if (pending.length === 0) return;
    const current = this.currentNodes() + this.provisioning;
    const template = this.makeNode(this.nextIndex, world.now());
    const cpuPerNode = template.cpu * 1000 - 100;
    const memPerNode = template.memoryGiB * 2 ** 30 * 0.9;
    const fitsAtAll = pending.filter((p) => {
      const r = podRequests(p);
      return r.cpu <= cpuPerNode && r.memory <= memPerNode;
    });
    // Like the real Cluster Autoscaler, nodes still coming (provisioning, or registered but not Ready
    // yet) are counted as if they were there: pods they will take trigger nothing and get no event.
    const upcoming = this.provisioning + this.joiningNodes();
    let demandCpu = fitsAtAll.reduce((n, p) => n + podRequests(p).cpu, 0) - upcoming * cpuPerNode;
    let demandMem = fitsAtAll.reduce((n, p) => n + podRequests(p).memory, 0) - upcoming * memPerNode;
    const tooBig = pending.filter((p) => !fitsAtAll.includes(p));
    const notTriggered = (pods: readonly Pod[], reason: string): void => {
      for (const pod of pods)
        world.record(
          { kind: 'Pod', apiVersion: 'v1', object: pod },
          'Normal',
          'NotTriggerScaleUp',
          `pod didn't trigger scale-up: ${reason}`,
          SOURCE,
        );
    };
    notTriggered(tooBig, "1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector");
    if (fitsAtAll.length === 0 || (demandCpu <= 0 && demandMem <= 0)) return;
    if (current >= this.maxNodes) {
      notTriggered(fitsAtAll, '1 max node group size reached');
      return;
    }
    demandCpu = Math.max(0, demandCpu);
    demandMem = Math.max(0, demandMem);
    const needed = Math.max(1, Math.ceil(Math.max(demandCpu / cpuPerNode, demandMem / memPerNode)));
    const adding = Math.min(needed, this.maxNodes - current);
    const from = this.currentNodes();
    const to = from + this.provisioning + adding;
    for (const pod of fitsAtAll) {
      world.record(
        { kind: 'Pod', apiVersion: 'v1', object: pod },
        'Normal',
        'TriggeredScaleUp',
        `pod triggered scale-up: [{default ${from + this.provisioning}->${to} (max: ${this.maxNodes})}]`,
        SOURCE,
      );
    }
    this.provisioning += adding;
    for (let i = 0; i < adding; i++) {
      const index = this.nextIndex++;
      world.clock.after(PROVISION_MS + i * 3000, () => {
        this.provisioning--;
        this.cluster.addNode(this.makeNode(index, world.now()));
      });
    }
  }
}
