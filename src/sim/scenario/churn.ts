import type { Pod } from '../model.js';
import { R } from '../api/resources.js';
import type { Cluster } from '../cluster/cluster.js';

/**
 * Pod churn for benchmarks: deletes running pods of filler or app Deployments at a steady real-time
 * rate; their ReplicaSets replace them, so each deletion produces the full stream of watch events a
 * real replacement does (delete, create, bind, status updates).
 */
export class Churn {
  private timer: NodeJS.Timeout | undefined;
  private keys: string[] = [];
  private cursor = 0;

  constructor(
    private readonly cluster: Cluster,
    /** Pod deletions per real second. */
    readonly perSecond: number,
  ) {}

  start(): void {
    const tickMs = 50;
    let owed = 0;
    this.timer = setInterval(() => {
      owed += (this.perSecond * tickMs) / 1000;
      const n = Math.floor(owed);
      owed -= n;
      for (let i = 0; i < n; i++) this.deleteOne();
      this.cluster.world.settle();
    }, tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private deleteOne(): void {
    const store = this.cluster.world.store;
    if (this.cursor >= this.keys.length) {
      this.keys = [];
      for (const pod of store.iterate<Pod>(R.pods)) {
        const owner = pod.metadata.ownerReferences?.[0];
        if (owner?.kind === 'ReplicaSet' && pod.metadata.namespace !== 'kube-system')
          this.keys.push(`${pod.metadata.namespace}/${pod.metadata.name}`);
      }
      this.cursor = 0;
      if (this.keys.length === 0) return;
    }
    const key = this.keys[this.cursor++]!;
    const slash = key.indexOf('/');
    // Deleted at once (grace 0), as a force delete: the ReplicaSet creates the replacement.
    store.delete(R.pods, key.slice(0, slash), key.slice(slash + 1));
  }
}
