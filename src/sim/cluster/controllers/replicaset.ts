import type { Pod, ReplicaSet } from '../../model.js';
import { R } from '../../api/resources.js';
import { matchesLabelSelector } from '../../api/selectors.js';
import { objectKey } from '../../api/store.js';
import {
  controllerOf,
  controllerRef,
  isPodActive,
  isPodAvailable,
  isPodReady,
  podFromTemplate,
} from '../objects.js';
import type { World } from '../world.js';

const SOURCE = { component: 'replicaset-controller' };

/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods (creating `<rs>-<suffix>` pods and
 * deleting the least valuable ones first), and reports replicas, ready and available counts.
 */
export class ReplicaSetController {
  readonly name = 'replicaset';
  readonly component = 'kube-controller-manager' as const;

  constructor(private readonly world: World) {
    world.addController(this);
    world.store.subscribe(R.replicasets, (c) => {
      if (c.type !== 'DELETED')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, c.object.metadata.name));
    });
    world.store.subscribe(R.pods, (c) => {
      const owner = controllerOf(c.object);
      if (owner?.kind === 'ReplicaSet')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, owner.name));
    });
  }

  *resyncKeys(): Iterable<string> {
    for (const rs of this.world.store.iterate<ReplicaSet>(R.replicasets)) {
      yield objectKey(rs.metadata.namespace, rs.metadata.name);
    }
  }

  sync(key: string): void {
    const slash = key.indexOf('/');
    const rs = this.world.store.get<ReplicaSet>(R.replicasets, key.slice(0, slash), key.slice(slash + 1));
    if (!rs || rs.metadata.deletionTimestamp) return;
    const pods = this.world
      .dependentsOf<Pod>(rs.metadata.uid, R.pods)
      .filter((p) => matchesLabelSelector(rs.spec.selector, p.metadata.labels));
    const active = pods.filter(isPodActive);
    const diff = active.length - rs.spec.replicas;
    if (diff < 0) {
      for (let i = 0; i < -diff; i++) this.createPod(rs);
    } else if (diff > 0) {
      for (const victim of [...active].sort(deletionOrder).slice(0, diff)) this.deletePod(rs, victim);
    }
    this.updateStatus(rs);
  }

  private createPod(rs: ReplicaSet): void {
    const namespace = rs.metadata.namespace!;
    const name = this.world.generateName(R.pods, namespace, `${rs.metadata.name}-`);
    const pod = podFromTemplate(rs.spec.template, {
      name,
      namespace,
      uid: this.world.uid(),
      owner: controllerRef(rs, 'ReplicaSet', 'apps/v1'),
      creationTimestamp: this.world.nowIso(),
    });
    pod.metadata.generateName = `${rs.metadata.name}-`;
    const created = this.world.store.create(R.pods, pod);
    this.world.record(
      { kind: 'ReplicaSet', apiVersion: 'apps/v1', object: rs },
      'Normal',
      'SuccessfulCreate',
      `Created pod: ${created.metadata.name}`,
      SOURCE,
    );
  }

  private deletePod(rs: ReplicaSet, pod: Pod): void {
    this.world.deletePod(pod);
    this.world.record(
      { kind: 'ReplicaSet', apiVersion: 'apps/v1', object: rs },
      'Normal',
      'SuccessfulDelete',
      `Deleted pod: ${pod.metadata.name}`,
      SOURCE,
    );
  }

  private updateStatus(rs: ReplicaSet): void {
    const now = this.world.now();
    const pods = this.world.dependentsOf<Pod>(rs.metadata.uid, R.pods).filter(isPodActive);
    const minReady = rs.spec.minReadySeconds ?? 0;
    const status: ReplicaSet['status'] = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.filter((p) => matchesAllLabels(rs, p)).length,
      readyReplicas: pods.filter(isPodReady).length,
      availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, now)).length,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    if (status.readyReplicas === 0) delete status.readyReplicas;
    if (status.availableReplicas === 0) delete status.availableReplicas;
    if (status.fullyLabeledReplicas === 0) delete status.fullyLabeledReplicas;
    this.world.store.modify<ReplicaSet>(R.replicasets, rs.metadata.namespace, rs.metadata.name, (current) =>
      JSON.stringify(current.status) === JSON.stringify(status) ? current : { ...current, status },
    );
    // Pods that are ready but not yet available for minReadySeconds need a later look.
    if (minReady > 0 && (status.readyReplicas ?? 0) > (status.availableReplicas ?? 0)) {
      this.world.enqueueAfter(this.name, objectKey(rs.metadata.namespace, rs.metadata.name), minReady * 1000);
    }
  }
}

function matchesAllLabels(rs: ReplicaSet, pod: Pod): boolean {
  return Object.entries(rs.spec.template.metadata.labels ?? {}).every(
    ([k, v]) => pod.metadata.labels?.[k] === v,
  );
}

/** Upstream's ActivePods ordering: unassigned, pending, not ready, more restarts, newer first. */
function deletionOrder(a: Pod, b: Pod): number {
  const rank = (p: Pod): number[] => [
    p.spec.nodeName ? 1 : 0,
    p.status.phase === 'Pending' ? 0 : p.status.phase === 'Unknown' ? 1 : 2,
    isPodReady(p) ? 1 : 0,
    -(p.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    -Date.parse(p.metadata.creationTimestamp),
  ];
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return 0;
}
