import type {
  Container,
  CronJob,
  DaemonSet,
  Deployment,
  KObject,
  Labels,
  Namespace,
  PodTemplateSpec,
  Service,
  StatefulSet,
  Toleration,
} from '../model.js';
import { R } from '../api/resources.js';
import { BEHAVIOR_ANNOTATION } from '../cluster/behavior.js';
import type { World } from '../cluster/world.js';
import { isoSeconds } from '../time.js';

/** What a scenario says about one workload's pods. */
export interface PodShape {
  image: string;
  /** Container name (default: the workload name's last word). */
  container?: string;
  cpu?: string;
  memory?: string;
  memoryLimit?: string;
  ports?: number[];
  labels?: Labels;
  /** `sim.healwatch.io/behavior` annotation (run, crash:30s, complete:20s, ...). */
  behavior?: string;
  tolerations?: Toleration[];
  priorityClassName?: string;
  nodeSelector?: Labels;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  readinessProbe?: boolean;
  volumes?: { name: string; claim?: string; mountPath: string }[];
  args?: string[];
  extraContainers?: Container[];
}

function meta(
  world: World,
  name: string,
  namespace: string | undefined,
  labels?: Labels,
  hasGeneration = true,
): KObject['metadata'] {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    uid: world.uid(),
    resourceVersion: '',
    ...(hasGeneration ? { generation: 1 } : {}),
    creationTimestamp: world.nowIso(),
    ...(labels ? { labels } : {}),
  };
}

/** A pod template for a workload. */
export function template(app: string, shape: PodShape, extraLabels: Labels = {}): PodTemplateSpec {
  const labels = { ...(shape.labels ?? { app }), ...extraLabels };
  const container: Container = {
    name: shape.container ?? app,
    image: shape.image,
    imagePullPolicy: 'IfNotPresent',
    resources: {
      ...(shape.cpu || shape.memory
        ? {
            requests: {
              ...(shape.cpu ? { cpu: shape.cpu } : {}),
              ...(shape.memory ? { memory: shape.memory } : {}),
            },
          }
        : {}),
      ...(shape.memoryLimit ? { limits: { memory: shape.memoryLimit } } : {}),
    },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
  if (shape.args) container.args = shape.args;
  if (shape.ports) container.ports = shape.ports.map((p) => ({ containerPort: p, protocol: 'TCP' }));
  if (shape.readinessProbe) {
    container.readinessProbe = {
      httpGet: { path: '/healthz', port: shape.ports?.[0] ?? 8080, scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    };
  }
  if (shape.volumes)
    container.volumeMounts = shape.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath }));
  const t: PodTemplateSpec = {
    metadata: { labels, creationTimestamp: null },
    spec: { containers: [container, ...(shape.extraContainers ?? [])] },
  };
  if (shape.behavior) t.metadata.annotations = { [BEHAVIOR_ANNOTATION]: shape.behavior };
  if (shape.tolerations) t.spec.tolerations = shape.tolerations;
  if (shape.priorityClassName) t.spec.priorityClassName = shape.priorityClassName;
  if (shape.nodeSelector) t.spec.nodeSelector = shape.nodeSelector;
  if (shape.hostNetwork) t.spec.hostNetwork = true;
  if (shape.serviceAccountName) t.spec.serviceAccountName = shape.serviceAccountName;
  const claims = shape.volumes?.filter((v) => v.claim === undefined) ?? [];
  const pvcs = shape.volumes?.filter((v) => v.claim !== undefined) ?? [];
  if (claims.length + pvcs.length > 0) {
    t.spec.volumes = [
      ...pvcs.map((v) => ({ name: v.name, persistentVolumeClaim: { claimName: v.claim! } })),
      ...claims.map((v) => ({ name: v.name, emptyDir: {} })),
    ];
  }
  return t;
}

/** Creates a namespace. */
export function namespace(world: World, name: string, labels: Labels = {}): Namespace {
  return world.store.create<Namespace>(R.namespaces, {
    metadata: meta(world, name, undefined, { 'kubernetes.io/metadata.name': name, ...labels }, false),
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  });
}

/** Creates a Deployment (the controllers then create its ReplicaSet and pods). */
export function deployment(
  world: World,
  ns: string,
  name: string,
  replicas: number,
  shape: PodShape,
  options: {
    labels?: Labels;
    strategy?: Deployment['spec']['strategy'];
    progressDeadlineSeconds?: number;
  } = {},
): Deployment {
  const t = template(name, shape);
  return world.store.create<Deployment>(R.deployments, {
    metadata: meta(world, name, ns, options.labels ?? { app: name }),
    spec: {
      replicas,
      selector: { matchLabels: t.metadata.labels ?? { app: name } },
      template: t,
      strategy: options.strategy ?? {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
      },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: options.progressDeadlineSeconds ?? 600,
    },
    status: {},
  });
}

/** Creates a DaemonSet. */
export function daemonSet(
  world: World,
  ns: string,
  name: string,
  shape: PodShape,
  labels?: Labels,
): DaemonSet {
  const t = template(name, shape);
  return world.store.create<DaemonSet>(R.daemonsets, {
    metadata: meta(world, name, ns, labels ?? t.metadata.labels ?? { app: name }),
    spec: {
      selector: { matchLabels: t.metadata.labels ?? { app: name } },
      template: t,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
    },
    status: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
  });
}

/** Creates a StatefulSet with one volume claim template. */
export function statefulSet(
  world: World,
  ns: string,
  name: string,
  replicas: number,
  shape: PodShape,
  storage: { claim: string; size: string; mountPath: string },
): StatefulSet {
  const t = template(name, shape);
  const c = t.spec.containers[0]!;
  c.volumeMounts = [...(c.volumeMounts ?? []), { name: storage.claim, mountPath: storage.mountPath }];
  return world.store.create<StatefulSet>(R.statefulsets, {
    metadata: meta(world, name, ns, { app: name }),
    spec: {
      replicas,
      selector: { matchLabels: t.metadata.labels ?? { app: name } },
      template: t,
      serviceName: name,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      volumeClaimTemplates: [
        {
          metadata: { name: storage.claim },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: storage.size } },
            volumeMode: 'Filesystem',
          },
        },
      ],
    },
    status: { replicas: 0 },
  });
}

/** Creates a CronJob. */
export function cronJob(world: World, ns: string, name: string, schedule: string, shape: PodShape): CronJob {
  const t = template(name, shape);
  t.spec.restartPolicy = 'Never';
  return world.store.create<CronJob>(R.cronjobs, {
    metadata: meta(world, name, ns, { app: name }),
    spec: {
      schedule,
      concurrencyPolicy: 'Forbid',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: { spec: { backoffLimit: 2, template: t } },
    },
    status: {},
  });
}

/** Creates a ClusterIP Service. */
export function service(
  world: World,
  ns: string,
  name: string,
  selector: Labels,
  port: number,
  clusterIP: string,
): Service {
  return world.store.create<Service>(R.services, {
    metadata: meta(world, name, ns, { app: name }, false),
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'http', port, targetPort: port, protocol: 'TCP' }],
      clusterIP,
      clusterIPs: [clusterIP],
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  });
}

/** Timestamp helper for scenarios. */
export function at(ms: number): string {
  return isoSeconds(ms);
}
