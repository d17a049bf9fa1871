import type {
  PersistentVolumeClaim,
  PersistentVolumeClaimTemplate,
  Pod,
  PodTemplateSpec,
  StatefulSet,
  Volume,
} from '../../model.js';
import { R } from '../../api/resources.js';
import { matchesLabelSelector } from '../../api/selectors.js';
import { objectKey } from '../../api/store.js';
import {
  controllerOf,
  controllerRef,
  isPodAvailable,
  isPodReady,
  podFromTemplate,
  templateHash,
} from '../objects.js';
import type { Platform, World } from '../world.js';

const SOURCE = { component: 'statefulset-controller' };
const REVISION_LABEL = 'controller-revision-hash';
const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
const STORAGE_CLASS = 'standard';
const PROVISIONERS: Record<Platform, string> = {
  kubeadm: 'rancher.io/local-path',
  eks: 'ebs.csi.aws.com',
  gke: 'pd.csi.storage.gke.io',
  aks: 'disk.csi.azure.com',
};

/**
 * The StatefulSet controller: ordinal pods `<set>-0..N-1` with stable hostnames under the governing
 * Service, a PersistentVolumeClaim per volumeClaimTemplate and ordinal (`<claim>-<set>-<ordinal>`,
 * bound at once as a dynamic provisioner would), OrderedReady or Parallel pod management, scale-down from
 * the highest ordinal, RollingUpdate in reverse ordinal order down to the partition, and the status
 * revisions (`<set>-<hash>`) that `kubectl rollout status` follows.
 */
export class StatefulSetController {
  readonly name = 'statefulset';
  readonly component = 'kube-controller-manager' as const;
  /** Templates by revision name: the ControllerRevisions the simulator does not store as objects. */
  private readonly revisions = new Map<string, PodTemplateSpec>();

  constructor(private readonly world: World) {
    world.addController(this);
    world.store.subscribe(R.statefulsets, (c) => {
      if (c.type !== 'DELETED')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, c.object.metadata.name));
    });
    world.store.subscribe(R.pods, (c) => {
      const owner = controllerOf(c.object);
      if (owner?.kind === 'StatefulSet')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, owner.name));
    });
  }

  *resyncKeys(): Iterable<string> {
    for (const sts of this.world.store.iterate<StatefulSet>(R.statefulsets))
      yield objectKey(sts.metadata.namespace, sts.metadata.name);
  }

  sync(key: string): void {
    const slash = key.indexOf('/');
    const set = this.world.store.get<StatefulSet>(R.statefulsets, key.slice(0, slash), key.slice(slash + 1));
    if (!set) return;
    const updateRevision = `${set.metadata.name}-${templateHash(set.spec.template, set.status.collisionCount ?? 0)}`;
    this.revisions.set(updateRevision, set.spec.template);
    const currentRevision =
      set.status.currentRevision && this.revisions.has(set.status.currentRevision)
        ? set.status.currentRevision
        : updateRevision;
    if (!set.metadata.deletionTimestamp) this.reconcile(set, currentRevision, updateRevision);
    this.updateStatus(set, currentRevision, updateRevision);
  }

  private podsOf(set: StatefulSet): { replicas: (Pod | undefined)[]; condemned: Pod[] } {
    const count = set.spec.replicas;
    const replicas: (Pod | undefined)[] = new Array<Pod | undefined>(count).fill(undefined);
    const condemned: Pod[] = [];
    for (const pod of this.world.dependentsOf<Pod>(set.metadata.uid, R.pods)) {
      if (!matchesLabelSelector(set.spec.selector, pod.metadata.labels)) continue;
      const ordinal = ordinalOf(set, pod);
      if (ordinal === undefined) continue;
      if (ordinal < count) replicas[ordinal] = pod;
      else condemned.push(pod);
    }
    condemned.sort((a, b) => ordinalOf(set, b)! - ordinalOf(set, a)!);
    return { replicas, condemned };
  }

  /** Upstream `updateStatefulSet` (one pass; the next pod event brings the next pass). */
  private reconcile(set: StatefulSet, currentRevision: string, updateRevision: string): void {
    const isMonotonic = set.spec.podManagementPolicy !== 'Parallel';
    const minReady = set.spec.minReadySeconds ?? 0;
    const now = this.world.now();
    const { replicas, condemned } = this.podsOf(set);
    const isHealthy = (p: Pod): boolean => isRunningAndReady(p) && !p.metadata.deletionTimestamp;
    let firstUnhealthy: Pod | undefined;
    for (const p of replicas) if (p && !isHealthy(p) && !firstUnhealthy) firstUnhealthy = p;
    for (let i = condemned.length - 1; i >= 0; i--) {
      const p = condemned[i]!;
      if (!isHealthy(p) && !firstUnhealthy) firstUnhealthy = p;
    }

    for (let ordinal = 0; ordinal < replicas.length; ordinal++) {
      const pod = replicas[ordinal];
      if (!pod) {
        this.createPod(set, ordinal, currentRevision, updateRevision);
        if (isMonotonic) return;
        continue;
      }
      if (pod.status.phase === 'Failed' || pod.status.phase === 'Succeeded') {
        if (!pod.metadata.deletionTimestamp) {
          const isFailed = pod.status.phase === 'Failed';
          this.world.record(
            this.target(set),
            isFailed ? 'Warning' : 'Normal',
            isFailed ? 'RecreatingFailedPod' : 'RecreatingTerminatedPod',
            `StatefulSet ${set.metadata.namespace}/${set.metadata.name} is recreating ${isFailed ? 'failed' : 'terminated'} Pod ${pod.metadata.name}`,
            SOURCE,
          );
          this.deletePod(set, pod);
        }
        if (isMonotonic) return;
        continue;
      }
      if (pod.status.phase === 'Pending') this.createClaims(set, pod, ordinal);
      if (!isMonotonic) continue;
      if (pod.metadata.deletionTimestamp || !isRunningAndReady(pod)) return;
      if (!isPodAvailable(pod, minReady, now)) {
        this.world.enqueueAfter(
          this.name,
          objectKey(set.metadata.namespace, set.metadata.name),
          minReady * 1000,
        );
        return;
      }
    }

    for (const pod of condemned) {
      if (pod.metadata.deletionTimestamp) {
        if (isMonotonic) return;
        continue;
      }
      if (isMonotonic && pod !== firstUnhealthy && !isRunningAndReady(pod)) return;
      if (isMonotonic && pod !== firstUnhealthy && !isPodAvailable(pod, minReady, now)) return;
      this.deletePod(set, pod);
      if (isMonotonic) return;
    }

    if ((set.spec.updateStrategy.type || 'RollingUpdate') !== 'RollingUpdate') return;
    // Replace from the highest ordinal down to the partition, one pod at a time.
    const partition = set.spec.updateStrategy.rollingUpdate?.partition ?? 0;
    for (let ordinal = replicas.length - 1; ordinal >= partition; ordinal--) {
      const pod = replicas[ordinal];
      if (!pod) return;
      if (pod.metadata.labels?.[REVISION_LABEL] !== updateRevision && !pod.metadata.deletionTimestamp) {
        this.deletePod(set, pod);
        return;
      }
      if (!isHealthy(pod)) return;
    }
  }

  private target(set: StatefulSet): Parameters<World['record']>[0] {
    return { kind: 'StatefulSet', apiVersion: 'apps/v1', object: set };
  }

  /** Upstream `newVersionedStatefulSetPod`: ordinals below the partition keep the current revision. */
  private createPod(
    set: StatefulSet,
    ordinal: number,
    currentRevision: string,
    updateRevision: string,
  ): void {
    const partition = set.spec.updateStrategy.rollingUpdate?.partition ?? 0;
    const isCurrent =
      (set.spec.updateStrategy.type || 'RollingUpdate') === 'RollingUpdate' && ordinal < partition;
    const revision = isCurrent ? currentRevision : updateRevision;
    const template = this.revisions.get(revision) ?? set.spec.template;
    const name = `${set.metadata.name}-${ordinal}`;
    const pod = podFromTemplate(template, {
      name,
      namespace: set.metadata.namespace!,
      uid: this.world.uid(),
      owner: controllerRef(set, 'StatefulSet', 'apps/v1'),
      labels: {
        [REVISION_LABEL]: revision,
        [POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
      },
      creationTimestamp: this.world.nowIso(),
      hostname: name,
      subdomain: set.spec.serviceName,
    });
    pod.metadata.generateName = `${set.metadata.name}-`;
    const claims = set.spec.volumeClaimTemplates ?? [];
    if (claims.length > 0) {
      const claimVolumes: Volume[] = claims.map((c) => ({
        name: c.metadata.name,
        persistentVolumeClaim: { claimName: claimName(set, c, ordinal) },
      }));
      const others = (template.spec.volumes ?? []).filter(
        (v) => !claims.some((c) => c.metadata.name === v.name),
      );
      pod.spec.volumes = [...claimVolumes, ...others];
    }
    this.createClaims(set, pod, ordinal);
    this.world.store.create(R.pods, pod);
    this.world.record(
      this.target(set),
      'Normal',
      'SuccessfulCreate',
      `create Pod ${name} in StatefulSet ${set.metadata.name} successful`,
      SOURCE,
    );
  }

  /**
   * Creates the missing claims of an ordinal. No PersistentVolume controller runs in the simulator, so a
   * claim is created Bound, with the volume name and capacity a dynamic provisioner would give it.
   */
  private createClaims(set: StatefulSet, pod: Pod, ordinal: number): void {
    const namespace = set.metadata.namespace!;
    for (const template of set.spec.volumeClaimTemplates ?? []) {
      const name = claimName(set, template, ordinal);
      if (this.world.store.get(R.pvcs, namespace, name)) continue;
      const uid = this.world.uid();
      const provisioner = PROVISIONERS[this.world.options.platform];
      const accessModes = template.spec.accessModes ?? ['ReadWriteOnce'];
      const storage = template.spec.resources.requests.storage ?? '1Gi';
      const claim: PersistentVolumeClaim = {
        metadata: {
          name,
          namespace,
          uid,
          resourceVersion: '',
          creationTimestamp: this.world.nowIso(),
          labels: { ...(template.metadata.labels ?? {}), ...(set.spec.selector.matchLabels ?? {}) },
          annotations: {
            'pv.kubernetes.io/bind-completed': 'yes',
            'pv.kubernetes.io/bound-by-controller': 'yes',
            'volume.beta.kubernetes.io/storage-provisioner': provisioner,
            'volume.kubernetes.io/storage-provisioner': provisioner,
          },
          finalizers: ['kubernetes.io/pvc-protection'],
        },
        spec: {
          accessModes,
          resources: { requests: { storage } },
          storageClassName: template.spec.storageClassName ?? STORAGE_CLASS,
          volumeMode: template.spec.volumeMode ?? 'Filesystem',
          volumeName: `pvc-${uid}`,
        },
        status: { phase: 'Bound', accessModes, capacity: { storage } },
      };
      this.world.store.create(R.pvcs, claim);
      this.world.record(
        this.target(set),
        'Normal',
        'SuccessfulCreate',
        `create Claim ${name} Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} success`,
        SOURCE,
      );
    }
  }

  private deletePod(set: StatefulSet, pod: Pod): void {
    this.world.deletePod(pod);
    this.world.record(
      this.target(set),
      'Normal',
      'SuccessfulDelete',
      `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      SOURCE,
    );
  }

  /** Upstream `computeReplicaStatus` and `completeRollingUpdate`. */
  private updateStatus(set: StatefulSet, currentRevision: string, updateRevision: string): void {
    const now = this.world.now();
    const minReady = set.spec.minReadySeconds ?? 0;
    let replicas = 0;
    let ready = 0;
    let available = 0;
    let current = 0;
    let updated = 0;
    for (const pod of this.world.dependentsOf<Pod>(set.metadata.uid, R.pods)) {
      if (ordinalOf(set, pod) === undefined || !matchesLabelSelector(set.spec.selector, pod.metadata.labels))
        continue;
      replicas++;
      if (isRunningAndReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
      }
      if (!pod.metadata.deletionTimestamp) {
        const revision = pod.metadata.labels?.[REVISION_LABEL];
        if (revision === currentRevision) current++;
        if (revision === updateRevision) updated++;
      }
    }
    let revision = currentRevision;
    const desired = set.spec.replicas;
    if (updated === desired && ready === desired && replicas === desired) {
      current = updated;
      revision = updateRevision;
    }
    const status: StatefulSet['status'] = {
      observedGeneration: set.metadata.generation ?? 1,
      replicas,
      availableReplicas: available,
      currentRevision: revision,
      updateRevision,
      collisionCount: set.status.collisionCount ?? 0,
    };
    if (ready > 0) status.readyReplicas = ready;
    if (current > 0) status.currentReplicas = current;
    if (updated > 0) status.updatedReplicas = updated;
    this.world.store.modify<StatefulSet>(R.statefulsets, set.metadata.namespace, set.metadata.name, (x) =>
      JSON.stringify(x.status) === JSON.stringify(status) ? x : { ...x, status },
    );
    if (minReady > 0 && ready !== available) {
      this.world.enqueueAfter(
        this.name,
        objectKey(set.metadata.namespace, set.metadata.name),
        minReady * 1000,
      );
    }
  }
}

function claimName(set: StatefulSet, template: PersistentVolumeClaimTemplate, ordinal: number): string {
  return `${template.metadata.name}-${set.metadata.name}-${ordinal}`;
}

/** The ordinal in a pod's name (`<set>-<n>`), or undefined for a pod that is not one of the set's. */
function ordinalOf(set: StatefulSet, pod: Pod): number | undefined {
  const prefix = `${set.metadata.name}-`;
  const name = pod.metadata.name;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

function isRunningAndReady(pod: Pod): boolean {
  return pod.status.phase === 'Running' && isPodReady(pod);
}
