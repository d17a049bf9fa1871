import type { KObject, Pod } from '../../model.js';
import { R } from '../../api/resources.js';
import type { World } from '../world.js';

const DEPENDENT_KINDS = [R.replicasets, R.pods, R.jobs, R.leases, R.pvcs];
const POD_GC_MS = 40_000;

/**
 * The garbage collector (background cascading deletion: dependents of a deleted owner are deleted) and
 * the pod GC (pods bound to a node that no longer exists are deleted).
 */
export class GarbageCollector {
  readonly name = 'garbage-collector';
  readonly component = 'kube-controller-manager' as const;
  readonly resyncMs = POD_GC_MS;
  private readonly orphaned = new Set<string>();

  constructor(private readonly world: World) {
    world.addController(this);
    const onDelete = (object: KObject): void => {
      // The uid is the key: the owner is gone, so look its dependents up by uid.
      world.enqueue(this.name, `uid:${object.metadata.uid}`);
    };
    for (const r of [
      R.deployments,
      R.replicasets,
      R.daemonsets,
      R.statefulsets,
      R.jobs,
      R.cronjobs,
      R.nodes,
    ]) {
      world.store.subscribe(r, (c) => {
        if (c.type === 'DELETED') onDelete(c.object);
      });
    }
  }

  /** Marks dependents of an owner as orphaned (the `Orphan` propagation policy): they are kept. */
  orphan(ownerUid: string): void {
    this.orphaned.add(ownerUid);
  }

  *resyncKeys(): Iterable<string> {
    yield 'podgc';
  }

  sync(key: string): void {
    if (key === 'podgc') {
      this.collectPods();
      return;
    }
    const uid = key.slice(4);
    const isOrphaning = this.orphaned.delete(uid);
    for (const resource of DEPENDENT_KINDS) {
      for (const dependent of this.world.dependentsOf(uid, resource)) {
        if (isOrphaning) {
          this.world.store.modify(resource, dependent.metadata.namespace, dependent.metadata.name, (d) => {
            const refs = (d.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
            const metadata = { ...d.metadata };
            if (refs.length > 0) metadata.ownerReferences = refs;
            else delete metadata.ownerReferences;
            return { ...d, metadata };
          });
          continue;
        }
        // The simulator's objects have one owner each, so losing it means going too.
        this.deleteDependent(resource, dependent);
      }
    }
  }

  private deleteDependent(resource: string, object: KObject): void {
    if (resource === R.pods) {
      this.world.deletePod(object as Pod);
      return;
    }
    this.world.store.delete(resource, object.metadata.namespace, object.metadata.name);
  }

  /** Deletes pods bound to nodes that no longer exist. */
  private collectPods(): void {
    const nodes = new Set(this.world.store.list(R.nodes).map((n) => n.metadata.name));
    for (const pod of this.world.store.iterate<Pod>(R.pods)) {
      if (pod.spec.nodeName && !nodes.has(pod.spec.nodeName)) {
        this.world.store.delete(R.pods, pod.metadata.namespace, pod.metadata.name);
      }
    }
  }
}
