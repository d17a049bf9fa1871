import type {
  CronJobRecord,
  DaemonSetRecord,
  DeploymentRecord,
  JobRecord,
  RecordBase,
  ReplicaSetRecord,
  StatefulSetRecord,
  WorkloadBase,
} from '../records.js';
import type { Collector } from './collector.js';
import {
  base,
  conditions,
  intern,
  istr,
  labels,
  NONE,
  num,
  obj,
  objs,
  optNum,
  str,
  time,
  type Raw,
} from './read.js';

function templateImages(template: Raw | undefined): string[] {
  return objs(obj(template?.spec)?.containers)
    .map((c) => str(c.image))
    .filter((i): i is string => i !== undefined)
    .map(intern);
}

/** The workload fields beyond the common ones (each collector copies them into its record literal). */
function workload(
  b: NonNullable<ReturnType<typeof base>>,
  spec: Raw,
  status: Raw,
): Omit<WorkloadBase, keyof RecordBase> {
  const selector = obj(spec.selector);
  const expressions = objs(selector?.matchExpressions);
  return {
    generation: num(b.meta.generation, 1),
    observedGeneration: optNum(status.observedGeneration),
    selector: labels(selector?.matchLabels),
    selectorExpressions:
      expressions.length === 0
        ? NONE
        : expressions.map((e) => ({
            key: str(e.key) ?? '',
            operator: str(e.operator) ?? '',
            values: (Array.isArray(e.values) ? e.values : []).filter(
              (v): v is string => typeof v === 'string',
            ),
          })),
    images: templateImages(obj(spec.template)),
    conditions: conditions(status.conditions),
  };
}

function parts(
  raw: unknown,
): { b: NonNullable<ReturnType<typeof base>>; spec: Raw; status: Raw } | undefined {
  const b = base(raw);
  if (!b) return undefined;
  return { b, spec: obj(b.root.spec) ?? {}, status: obj(b.root.status) ?? {} };
}

function intOrString(value: unknown): string | number | undefined {
  return typeof value === 'number' || typeof value === 'string' ? value : undefined;
}

/** Deployments: desired and observed replicas, rollout conditions, strategy. */
export const deploymentCollector: Collector<'Deployment'> = {
  kind: 'Deployment',
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  isNamespaced: true,
  project(raw): DeploymentRecord | undefined {
    const p = parts(raw);
    if (!p) return undefined;
    const { b, spec, status } = p;
    const w = workload(b, spec, status);
    const strategy = obj(spec.strategy);
    const rolling = obj(strategy?.rollingUpdate);
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      generation: w.generation,
      observedGeneration: w.observedGeneration,
      selector: w.selector,
      selectorExpressions: w.selectorExpressions,
      images: w.images,
      conditions: w.conditions,
      kind: 'Deployment',
      replicas: num(spec.replicas, 1),
      statusReplicas: num(status.replicas),
      updatedReplicas: num(status.updatedReplicas),
      readyReplicas: num(status.readyReplicas),
      availableReplicas: num(status.availableReplicas),
      unavailableReplicas: num(status.unavailableReplicas),
      strategy: intern(str(strategy?.type) ?? 'RollingUpdate'),
      maxUnavailable: intOrString(rolling?.maxUnavailable),
      maxSurge: intOrString(rolling?.maxSurge),
      progressDeadlineSeconds: num(spec.progressDeadlineSeconds, 600),
      minReadySeconds: num(spec.minReadySeconds),
      isPaused: spec.paused === true,
      revision: str(obj(b.meta.annotations)?.['deployment.kubernetes.io/revision']),
    };
  },
};

/** ReplicaSets: replicas per revision of a Deployment. */
export const replicaSetCollector: Collector<'ReplicaSet'> = {
  kind: 'ReplicaSet',
  group: 'apps',
  version: 'v1',
  plural: 'replicasets',
  isNamespaced: true,
  project(raw): ReplicaSetRecord | undefined {
    const p = parts(raw);
    if (!p) return undefined;
    const { b, spec, status } = p;
    const w = workload(b, spec, status);
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      generation: w.generation,
      observedGeneration: w.observedGeneration,
      selector: w.selector,
      selectorExpressions: w.selectorExpressions,
      images: w.images,
      conditions: w.conditions,
      kind: 'ReplicaSet',
      replicas: num(spec.replicas, 1),
      statusReplicas: num(status.replicas),
      readyReplicas: num(status.readyReplicas),
      availableReplicas: num(status.availableReplicas),
      revision: str(obj(b.meta.annotations)?.['deployment.kubernetes.io/revision']),
      podTemplateHash: b.labels?.['pod-template-hash'],
    };
  },
};

/** DaemonSets: scheduled, ready and updated counts, and what decides their nodes. */
export const daemonSetCollector: Collector<'DaemonSet'> = {
  kind: 'DaemonSet',
  group: 'apps',
  version: 'v1',
  plural: 'daemonsets',
  isNamespaced: true,
  project(raw): DaemonSetRecord | undefined {
    const p = parts(raw);
    if (!p) return undefined;
    const { b, spec, status } = p;
    const w = workload(b, spec, status);
    const podSpec = obj(obj(spec.template)?.spec);
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      generation: w.generation,
      observedGeneration: w.observedGeneration,
      selector: w.selector,
      selectorExpressions: w.selectorExpressions,
      images: w.images,
      conditions: w.conditions,
      kind: 'DaemonSet',
      desired: num(status.desiredNumberScheduled),
      current: num(status.currentNumberScheduled),
      ready: num(status.numberReady),
      available: num(status.numberAvailable),
      unavailable: num(status.numberUnavailable),
      updated: num(status.updatedNumberScheduled),
      misscheduled: num(status.numberMisscheduled),
      nodeSelector: labels(podSpec?.nodeSelector),
      tolerations: objs(podSpec?.tolerations).map((t) => ({
        key: istr(t.key),
        operator: istr(t.operator),
        value: istr(t.value),
        effect: istr(t.effect),
      })),
      updateStrategy: intern(str(obj(spec.updateStrategy)?.type) ?? 'RollingUpdate'),
    };
  },
};

/** StatefulSets: ordered replicas and revisions. */
export const statefulSetCollector: Collector<'StatefulSet'> = {
  kind: 'StatefulSet',
  group: 'apps',
  version: 'v1',
  plural: 'statefulsets',
  isNamespaced: true,
  project(raw): StatefulSetRecord | undefined {
    const p = parts(raw);
    if (!p) return undefined;
    const { b, spec, status } = p;
    const w = workload(b, spec, status);
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      generation: w.generation,
      observedGeneration: w.observedGeneration,
      selector: w.selector,
      selectorExpressions: w.selectorExpressions,
      images: w.images,
      conditions: w.conditions,
      kind: 'StatefulSet',
      replicas: num(spec.replicas, 1),
      statusReplicas: num(status.replicas),
      readyReplicas: num(status.readyReplicas),
      availableReplicas: num(status.availableReplicas),
      currentReplicas: num(status.currentReplicas),
      updatedReplicas: num(status.updatedReplicas),
      currentRevision: str(status.currentRevision),
      updateRevision: str(status.updateRevision),
    };
  },
};

/** Jobs: completions, successes and failures, final conditions. */
export const jobCollector: Collector<'Job'> = {
  kind: 'Job',
  group: 'batch',
  version: 'v1',
  plural: 'jobs',
  isNamespaced: true,
  project(raw): JobRecord | undefined {
    const p = parts(raw);
    if (!p) return undefined;
    const { b, spec, status } = p;
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'Job',
      completions: optNum(spec.completions),
      parallelism: optNum(spec.parallelism),
      backoffLimit: optNum(spec.backoffLimit),
      active: num(status.active),
      succeeded: num(status.succeeded),
      failed: num(status.failed),
      startedAt: time(status.startTime),
      completedAt: time(status.completionTime),
      conditions: conditions(status.conditions),
      isSuspended: spec.suspend === true,
    };
  },
};

/** CronJobs: schedule, last runs, active jobs. */
export const cronJobCollector: Collector<'CronJob'> = {
  kind: 'CronJob',
  group: 'batch',
  version: 'v1',
  plural: 'cronjobs',
  isNamespaced: true,
  project(raw): CronJobRecord | undefined {
    const p = parts(raw);
    if (!p) return undefined;
    const { b, spec, status } = p;
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'CronJob',
      schedule: str(spec.schedule) ?? '',
      timeZone: str(spec.timeZone),
      isSuspended: spec.suspend === true,
      concurrencyPolicy: intern(str(spec.concurrencyPolicy) ?? 'Allow'),
      startingDeadlineSeconds: optNum(spec.startingDeadlineSeconds),
      lastScheduleAt: time(status.lastScheduleTime),
      lastSuccessAt: time(status.lastSuccessfulTime),
      activeJobs: objs(status.active)
        .map((a) => str(a.name))
        .filter((n): n is string => n !== undefined),
    };
  },
};
