import type { Condition, Deployment, ReplicaSet } from '../../model.js';
import { R } from '../../api/resources.js';
import { objectKey } from '../../api/store.js';
import {
  controllerOf,
  controllerRef,
  getCondition,
  intOrPercent,
  setCondition,
  templateHash,
} from '../objects.js';
import type { World } from '../world.js';

const SOURCE = { component: 'deployment-controller' };
const REVISION = 'deployment.kubernetes.io/revision';

/**
 * The Deployment controller: one ReplicaSet per template (named by `pod-template-hash`), rolling
 * updates within maxSurge/maxUnavailable, Recreate, revision annotations, history cleanup, and the
 * status conditions clients watch: `Available` and `Progressing` with `NewReplicaSetCreated`,
 * `ReplicaSetUpdated`, `NewReplicaSetAvailable` and `ProgressDeadlineExceeded`.
 */
export class DeploymentController {
  readonly name = 'deployment';
  readonly component = 'kube-controller-manager' as const;

  constructor(private readonly world: World) {
    world.addController(this);
    world.store.subscribe(R.deployments, (c) => {
      if (c.type !== 'DELETED')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, c.object.metadata.name));
    });
    world.store.subscribe(R.replicasets, (c) => {
      const owner = controllerOf(c.object);
      if (owner?.kind === 'Deployment')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, owner.name));
    });
  }

  *resyncKeys(): Iterable<string> {
    for (const d of this.world.store.iterate<Deployment>(R.deployments))
      yield objectKey(d.metadata.namespace, d.metadata.name);
  }

  sync(key: string): void {
    const slash = key.indexOf('/');
    const d = this.world.store.get<Deployment>(R.deployments, key.slice(0, slash), key.slice(slash + 1));
    if (!d || d.metadata.deletionTimestamp) return;
    const all = this.world.dependentsOf<ReplicaSet>(d.metadata.uid, R.replicasets);
    const hash = templateHash(d.spec.template, d.status.collisionCount ?? 0);
    let newRs = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const old = all.filter((rs) => rs !== newRs);
    if (d.spec.paused) {
      this.writeStatus(d, newRs, all);
      return;
    }
    const desired = d.spec.replicas;
    if (!newRs) {
      newRs = this.createReplicaSet(d, hash, old, desired);
      all.push(newRs);
    } else {
      this.syncRevision(d, newRs, old);
    }
    if (d.spec.strategy.type === 'Recreate') {
      this.recreate(d, newRs, old);
    } else {
      this.rollingUpdate(d, newRs, old);
    }
    this.cleanup(d, old);
    const fresh = this.world.dependentsOf<ReplicaSet>(d.metadata.uid, R.replicasets);
    this.writeStatus(
      d,
      fresh.find((rs) => rs.metadata.uid === newRs.metadata.uid),
      fresh,
    );
  }

  private maxRevision(sets: readonly ReplicaSet[]): number {
    return sets.reduce((m, rs) => Math.max(m, Number(rs.metadata.annotations?.[REVISION] ?? 0)), 0);
  }

  private createReplicaSet(d: Deployment, hash: string, old: ReplicaSet[], desired: number): ReplicaSet {
    const revision = this.maxRevision(old) + 1;
    const isFirst = old.every((rs) => rs.spec.replicas === 0);
    // With no old pods there is nothing to roll over: start at full scale (as upstream's NewRSNewReplicas).
    const maxSurge = intOrPercent(
      d.spec.strategy.rollingUpdate?.maxSurge,
      desired,
      true,
      Math.ceil(desired * 0.25),
    );
    const current = old.reduce((n, rs) => n + rs.spec.replicas, 0);
    const replicas =
      d.spec.strategy.type === 'Recreate'
        ? 0
        : isFirst
          ? desired
          : Math.max(0, Math.min(desired, desired + maxSurge - current));
    const labels = { ...(d.spec.template.metadata.labels ?? {}), 'pod-template-hash': hash };
    const rs: ReplicaSet = {
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace!,
        uid: this.world.uid(),
        resourceVersion: '',
        generation: 1,
        creationTimestamp: this.world.nowIso(),
        labels,
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(desired),
          'deployment.kubernetes.io/max-replicas': String(desired + maxSurge),
          [REVISION]: String(revision),
        },
        ownerReferences: [controllerRef(d, 'Deployment', 'apps/v1')],
      },
      spec: {
        replicas,
        selector: {
          ...d.spec.selector,
          matchLabels: { ...(d.spec.selector.matchLabels ?? {}), 'pod-template-hash': hash },
        },
        template: { ...d.spec.template, metadata: { ...d.spec.template.metadata, labels } },
        ...(d.spec.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
      },
      status: { replicas: 0 },
    };
    const created = this.world.store.create(R.replicasets, rs);
    this.world.store.modify<Deployment>(R.deployments, d.metadata.namespace, d.metadata.name, (x) => ({
      ...x,
      metadata: {
        ...x.metadata,
        annotations: { ...(x.metadata.annotations ?? {}), [REVISION]: String(revision) },
      },
    }));
    if (replicas > 0) this.scaledEvent(d, created, 0, replicas);
    this.setProgressing(
      d,
      'True',
      'NewReplicaSetCreated',
      `Created new replica set "${created.metadata.name}"`,
      true,
    );
    return created;
  }

  private syncRevision(d: Deployment, newRs: ReplicaSet, old: ReplicaSet[]): void {
    const current = Number(newRs.metadata.annotations?.[REVISION] ?? 0);
    const max = this.maxRevision(old);
    // Rolling back to an old template makes its ReplicaSet the newest revision again.
    const revision = current > max ? current : max + 1;
    if (revision !== current) {
      this.world.store.modify<ReplicaSet>(
        R.replicasets,
        newRs.metadata.namespace,
        newRs.metadata.name,
        (x) => ({
          ...x,
          metadata: {
            ...x.metadata,
            annotations: { ...(x.metadata.annotations ?? {}), [REVISION]: String(revision) },
          },
        }),
      );
    }
    if (d.metadata.annotations?.[REVISION] !== String(revision)) {
      this.world.store.modify<Deployment>(R.deployments, d.metadata.namespace, d.metadata.name, (x) => ({
        ...x,
        metadata: {
          ...x.metadata,
          annotations: { ...(x.metadata.annotations ?? {}), [REVISION]: String(revision) },
        },
      }));
    }
  }

  private scale(d: Deployment, rs: ReplicaSet, replicas: number): void {
    if (rs.spec.replicas === replicas) return;
    const from = rs.spec.replicas;
    this.world.store.modify<ReplicaSet>(R.replicasets, rs.metadata.namespace, rs.metadata.name, (x) => ({
      ...x,
      metadata: {
        ...x.metadata,
        generation: (x.metadata.generation ?? 1) + 1,
        annotations: {
          ...(x.metadata.annotations ?? {}),
          'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas),
        },
      },
      spec: { ...x.spec, replicas },
    }));
    this.scaledEvent(d, rs, from, replicas);
  }

  private scaledEvent(d: Deployment, rs: ReplicaSet, from: number, to: number): void {
    const verb = to > from ? 'up' : 'down';
    this.world.record(
      { kind: 'Deployment', apiVersion: 'apps/v1', object: d },
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${to}`,
      SOURCE,
    );
  }

  private recreate(d: Deployment, newRs: ReplicaSet, old: ReplicaSet[]): void {
    const oldActive = old.filter((rs) => rs.spec.replicas > 0 || rs.status.replicas > 0);
    for (const rs of oldActive) this.scale(d, rs, 0);
    if (oldActive.some((rs) => rs.status.replicas > 0)) return;
    this.scale(d, newRs, d.spec.replicas);
  }

  private rollingUpdate(d: Deployment, newRs: ReplicaSet, old: ReplicaSet[]): void {
    const desired = d.spec.replicas;
    const maxSurge = intOrPercent(
      d.spec.strategy.rollingUpdate?.maxSurge,
      desired,
      true,
      Math.ceil(desired * 0.25),
    );
    let maxUnavailable = intOrPercent(
      d.spec.strategy.rollingUpdate?.maxUnavailable,
      desired,
      false,
      Math.floor(desired * 0.25),
    );
    if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    const total = (): number => [newRs, ...old].reduce((n, rs) => n + rs.spec.replicas, 0);
    // Scale the new ReplicaSet up as far as maxSurge allows.
    if (newRs.spec.replicas > desired) {
      this.scale(d, newRs, desired);
      newRs = this.reread(newRs);
    } else if (newRs.spec.replicas < desired) {
      const room = desired + maxSurge - total();
      const up = Math.min(room, desired - newRs.spec.replicas);
      if (up > 0) {
        this.scale(d, newRs, newRs.spec.replicas + up);
        newRs = this.reread(newRs);
      }
    }
    // Scale old ReplicaSets down as far as maxUnavailable allows (upstream reconcileOldReplicaSets).
    const minAvailable = desired - maxUnavailable;
    const newUnavailable = newRs.spec.replicas - (newRs.status.availableReplicas ?? 0);
    const byAge = (a: ReplicaSet, b: ReplicaSet): number =>
      a.metadata.creationTimestamp < b.metadata.creationTimestamp ? -1 : 1;
    let olds = old
      .map((rs) => this.reread(rs))
      .filter((rs) => rs.spec.replicas > 0)
      .sort(byAge);
    if (olds.length === 0) return;
    const maxScaledDown = total() - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return;
    // First the old replicas that are unavailable anyway: removing them costs no availability.
    let scaledDown = 0;
    for (const rs of olds) {
      if (scaledDown >= maxScaledDown) break;
      const unhealthy = rs.spec.replicas - (rs.status.availableReplicas ?? 0);
      if (unhealthy <= 0) continue;
      const n = Math.min(maxScaledDown - scaledDown, unhealthy);
      this.scale(d, rs, rs.spec.replicas - n);
      scaledDown += n;
    }
    olds = olds.map((rs) => this.reread(rs)).filter((rs) => rs.spec.replicas > 0);
    const available = [newRs, ...olds].reduce((n, rs) => n + (rs.status.availableReplicas ?? 0), 0);
    if (available <= minAvailable) return;
    const toScaleDown = available - minAvailable;
    let done = 0;
    for (const rs of olds) {
      if (done >= toScaleDown) break;
      const n = Math.min(rs.spec.replicas, toScaleDown - done);
      this.scale(d, rs, rs.spec.replicas - n);
      done += n;
    }
  }

  private reread(rs: ReplicaSet): ReplicaSet {
    return this.world.store.get<ReplicaSet>(R.replicasets, rs.metadata.namespace, rs.metadata.name) ?? rs;
  }

  /** Deletes old, scaled-down ReplicaSets beyond `revisionHistoryLimit` (default 10). */
  private cleanup(d: Deployment, old: ReplicaSet[]): void {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = old
      .map((rs) => this.reread(rs))
      .filter((rs) => rs.spec.replicas === 0 && rs.status.replicas === 0)
      .sort(
        (a, b) =>
          Number(a.metadata.annotations?.[REVISION] ?? 0) - Number(b.metadata.annotations?.[REVISION] ?? 0),
      );
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      this.world.store.delete(R.replicasets, rs.metadata.namespace, rs.metadata.name);
    }
  }

  private setProgressing(
    d: Deployment,
    status: Condition['status'],
    reason: string,
    message: string,
    isProgress: boolean,
  ): void {
    this.world.store.modify<Deployment>(R.deployments, d.metadata.namespace, d.metadata.name, (x) => {
      const current = getCondition(x.status.conditions, 'Progressing');
      if (
        current?.status === status &&
        current.reason === reason &&
        current.message === message &&
        !isProgress
      )
        return x;
      const now = this.world.nowIso();
      const next: Condition = {
        type: 'Progressing',
        status,
        lastUpdateTime: isProgress || !current ? now : (current.lastUpdateTime ?? now),
        lastTransitionTime: current?.status === status ? (current.lastTransitionTime ?? now) : now,
        reason,
        message,
      };
      return {
        ...x,
        status: {
          ...x.status,
          conditions: orderDeploymentConditions(setCondition(x.status.conditions, next)),
        },
      };
    });
  }

  private writeStatus(d: Deployment, newRs: ReplicaSet | undefined, all: ReplicaSet[]): void {
    const current = this.world.store.get<Deployment>(R.deployments, d.metadata.namespace, d.metadata.name);
    if (!current) return;
    const desired = current.spec.replicas;
    const maxUnavailable = intOrPercent(
      current.spec.strategy.rollingUpdate?.maxUnavailable,
      desired,
      false,
      Math.floor(desired * 0.25),
    );
    const specTotal = all.reduce((n, rs) => n + rs.spec.replicas, 0);
    const available = all.reduce((n, rs) => n + (rs.status.availableReplicas ?? 0), 0);
    const status: Deployment['status'] = {
      observedGeneration: current.metadata.generation ?? 1,
      replicas: all.reduce((n, rs) => n + rs.status.replicas, 0),
      updatedReplicas: newRs?.status.replicas ?? 0,
      readyReplicas: all.reduce((n, rs) => n + (rs.status.readyReplicas ?? 0), 0),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, specTotal - available),
      conditions: current.status.conditions ?? [],
    };
    const now = this.world.nowIso();
    const isAvailable =
      available >= desired - (current.spec.strategy.type === 'Recreate' ? 0 : maxUnavailable);
    const availableCondition: Condition = isAvailable
      ? {
          type: 'Available',
          status: 'True',
          lastUpdateTime: now,
          lastTransitionTime: now,
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        }
      : {
          type: 'Available',
          status: 'False',
          lastUpdateTime: now,
          lastTransitionTime: now,
          reason: 'MinimumReplicasUnavailable',
          message: 'Deployment does not have minimum availability.',
        };
    const previousAvailable = getCondition(status.conditions, 'Available');
    if (
      previousAvailable?.status === availableCondition.status &&
      previousAvailable.reason === availableCondition.reason
    ) {
      availableCondition.lastUpdateTime = previousAvailable.lastUpdateTime ?? now;
    }
    status.conditions = setCondition(status.conditions, availableCondition);
    // Progress: complete, progressing, or past its deadline.
    const previous = current.status;
    const isComplete =
      newRs !== undefined &&
      (status.updatedReplicas ?? 0) === desired &&
      (status.replicas ?? 0) === desired &&
      available >= desired &&
      (newRs.status.availableReplicas ?? 0) >= desired;
    const progressing = getCondition(status.conditions, 'Progressing');
    const hasProgressed =
      (status.updatedReplicas ?? 0) > (previous.updatedReplicas ?? 0) ||
      (status.availableReplicas ?? 0) > (previous.availableReplicas ?? 0) ||
      (status.readyReplicas ?? 0) > (previous.readyReplicas ?? 0) ||
      (status.replicas ?? 0) < (previous.replicas ?? 0);
    const rsName = newRs?.metadata.name ?? '';
    const deadline = current.spec.progressDeadlineSeconds ?? 600;
    // Upstream estimates no progress once a rollout has completed and no old replicas remain: pods
    // that crash or turn unready later change Available, never Progressing.
    const isRolledOut =
      (status.replicas ?? 0) === (status.updatedReplicas ?? 0) &&
      progressing?.reason === 'NewReplicaSetAvailable';
    let next: Condition | undefined;
    if (isRolledOut) {
      // Nothing to estimate.
    } else if (isComplete) {
      if (progressing?.reason !== 'NewReplicaSetAvailable') {
        next = {
          type: 'Progressing',
          status: 'True',
          lastUpdateTime: now,
          lastTransitionTime: progressing?.status === 'True' ? (progressing.lastTransitionTime ?? now) : now,
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${rsName}" has successfully progressed.`,
        };
      }
    } else if (hasProgressed) {
      next = {
        type: 'Progressing',
        status: 'True',
        lastUpdateTime: now,
        lastTransitionTime: progressing?.status === 'True' ? (progressing.lastTransitionTime ?? now) : now,
        reason: 'ReplicaSetUpdated',
        message: `ReplicaSet "${rsName}" is progressing.`,
      };
    } else if (
      progressing &&
      progressing.reason !== 'ProgressDeadlineExceeded' &&
      progressing.reason !== 'NewReplicaSetAvailable'
    ) {
      const since = Date.parse(progressing.lastUpdateTime ?? now);
      if (this.world.now() - since > deadline * 1000) {
        // Upstream records no event for this: the condition is the only signal.
        next = {
          type: 'Progressing',
          status: 'False',
          lastUpdateTime: now,
          lastTransitionTime: now,
          reason: 'ProgressDeadlineExceeded',
          message: `ReplicaSet "${rsName}" has timed out progressing.`,
        };
      } else {
        this.world.enqueueAfter(
          this.name,
          objectKey(current.metadata.namespace, current.metadata.name),
          since + deadline * 1000 - this.world.now() + 1000,
        );
      }
    } else if (!progressing && newRs) {
      next = {
        type: 'Progressing',
        status: 'True',
        lastUpdateTime: now,
        lastTransitionTime: now,
        reason: 'NewReplicaSetAvailable',
        message: `ReplicaSet "${rsName}" has successfully progressed.`,
      };
    }
    if (next) status.conditions = setCondition(status.conditions, next);
    status.conditions = orderDeploymentConditions(status.conditions);
    if (this.world.isBootstrapping) {
      status.conditions = status.conditions.map((c) => ({
        ...c,
        lastUpdateTime: current.metadata.creationTimestamp,
        lastTransitionTime: current.metadata.creationTimestamp,
      }));
    }
    for (const k of [
      'readyReplicas',
      'availableReplicas',
      'unavailableReplicas',
      'updatedReplicas',
      'replicas',
    ] as const) {
      if (status[k] === 0) delete status[k];
    }
    this.world.store.modify<Deployment>(
      R.deployments,
      current.metadata.namespace,
      current.metadata.name,
      (x) =>
        JSON.stringify(x.status) === JSON.stringify({ ...x.status, ...status })
          ? x
          : {
              ...x,
              status: {
                ...status,
                ...(x.status.collisionCount ? { collisionCount: x.status.collisionCount } : {}),
              },
            },
    );
  }
}

function orderDeploymentConditions(conditions: Condition[]): Condition[] {
  const order = ['Available', 'Progressing', 'ReplicaFailure'];
  return [...conditions].sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
}
