/**
 * The wire shapes of the Kubernetes objects the simulator serves, as plain JSON (timestamps are RFC 3339
 * strings, quantities are strings). Only the fields the simulator writes or reads are typed; the server
 * sends objects as stored. Stored objects are never mutated in place: a write stores a new object, so
 * watch history and list snapshots can share them safely.
 */

export type Labels = Record<string, string>;

/** An owner reference, as in `metadata.ownerReferences`. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Object metadata as the API server returns it. */
export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Labels;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
}

/** Any stored object. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** A condition as most resources carry it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
  observedGeneration?: number;
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface ResourceList {
  cpu?: string;
  memory?: string;
  pods?: string;
  'ephemeral-storage'?: string;
  [name: string]: string | undefined;
}

export interface Node extends KObject {
  spec: {
    podCIDR?: string;
    podCIDRs?: string[];
    providerID?: string;
    taints?: Taint[];
    unschedulable?: boolean;
  };
  status: {
    capacity: ResourceList;
    allocatable: ResourceList;
    conditions: Condition[];
    addresses: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint: { Port: number } };
    nodeInfo: {
      machineID: string;
      systemUUID: string;
      bootID: string;
      kernelVersion: string;
      osImage: string;
      containerRuntimeVersion: string;
      kubeletVersion: string;
      kubeProxyVersion: string;
      operatingSystem: string;
      architecture: string;
    };
    images?: { names: string[]; sizeBytes: number }[];
  };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  args?: string[];
  command?: string[];
  ports?: ContainerPort[];
  env?: { name: string; value?: string }[];
  resources?: { requests?: ResourceList; limits?: ResourceList };
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
  restartPolicy?: string;
}

export interface Volume {
  name: string;
  persistentVolumeClaim?: { claimName: string };
  emptyDir?: Record<string, unknown>;
  hostPath?: { path: string; type?: string };
  configMap?: { name: string };
  projected?: Record<string, unknown>;
}

/** One requirement of a node selector term. */
export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

/** A node selector term of node affinity. */
export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

/** Pod affinity; only the required node affinity is typed (the scheduler and DaemonSets read it). */
export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    [other: string]: unknown;
  };
  [other: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  nodeName?: string;
  nodeSelector?: Labels;
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  terminationGracePeriodSeconds?: number;
  dnsPolicy?: string;
  serviceAccountName?: string;
  serviceAccount?: string;
  schedulerName?: string;
  priority?: number;
  priorityClassName?: string;
  hostNetwork?: boolean;
  tolerations?: Toleration[];
  affinity?: Affinity;
  securityContext?: Record<string, unknown>;
  enableServiceLinks?: boolean;
  preemptionPolicy?: string;
  hostname?: string;
  subdomain?: string;
}

export interface PodTemplateSpec {
  metadata: { labels?: Labels; annotations?: Record<string, string>; creationTimestamp?: null };
  spec: PodSpec;
}

export interface ContainerStateWaiting {
  reason: string;
  message?: string;
}

export interface ContainerStateRunning {
  startedAt: string;
}

export interface ContainerStateTerminated {
  exitCode: number;
  signal?: number;
  reason?: string;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
  containerID?: string;
}

export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: ContainerStateRunning;
  terminated?: ContainerStateTerminated;
}

export interface ContainerStatus {
  name: string;
  state: ContainerState;
  lastState: ContainerState;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started?: boolean;
}

export interface Pod extends KObject {
  spec: PodSpec;
  status: {
    phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
    conditions?: Condition[];
    message?: string;
    reason?: string;
    hostIP?: string;
    hostIPs?: { ip: string }[];
    podIP?: string;
    podIPs?: { ip: string }[];
    startTime?: string;
    initContainerStatuses?: ContainerStatus[];
    containerStatuses?: ContainerStatus[];
    qosClass?: string;
    nominatedNodeName?: string;
  };
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: {
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }[];
}

export interface Deployment extends KObject {
  spec: {
    replicas: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    strategy: {
      type: 'RollingUpdate' | 'Recreate';
      rollingUpdate?: { maxUnavailable: string | number; maxSurge: string | number };
    };
    revisionHistoryLimit?: number;
    progressDeadlineSeconds?: number;
    minReadySeconds?: number;
    paused?: boolean;
  };
  status: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: Condition[];
    collisionCount?: number;
  };
}

export interface ReplicaSet extends KObject {
  spec: {
    replicas: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    minReadySeconds?: number;
  };
  status: {
    replicas: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
    conditions?: Condition[];
  };
}

export interface DaemonSet extends KObject {
  spec: {
    selector: LabelSelector;
    template: PodTemplateSpec;
    updateStrategy: {
      type: string;
      rollingUpdate?: { maxUnavailable: string | number; maxSurge?: string | number };
    };
    revisionHistoryLimit?: number;
    minReadySeconds?: number;
  };
  status: {
    currentNumberScheduled: number;
    numberMisscheduled: number;
    desiredNumberScheduled: number;
    numberReady: number;
    observedGeneration?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    numberUnavailable?: number;
    conditions?: Condition[];
  };
}

export interface PersistentVolumeClaimTemplate {
  metadata: { name: string; labels?: Labels };
  spec: PersistentVolumeClaim['spec'];
}

export interface StatefulSet extends KObject {
  spec: {
    replicas: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    serviceName: string;
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    updateStrategy: { type: string; rollingUpdate?: { partition: number } };
    volumeClaimTemplates?: PersistentVolumeClaimTemplate[];
    revisionHistoryLimit?: number;
    minReadySeconds?: number;
    persistentVolumeClaimRetentionPolicy?: { whenDeleted: string; whenScaled: string };
  };
  status: {
    replicas: number;
    readyReplicas?: number;
    currentReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    observedGeneration?: number;
    collisionCount?: number;
  };
}

export interface Job extends KObject {
  spec: {
    parallelism?: number;
    completions?: number;
    backoffLimit?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    completionMode?: string;
    suspend?: boolean;
    selector?: LabelSelector;
    manualSelector?: boolean;
    template: PodTemplateSpec;
  };
  status: {
    active?: number;
    succeeded?: number;
    failed?: number;
    ready?: number;
    terminating?: number;
    startTime?: string;
    completionTime?: string;
    conditions?: Condition[];
    uncountedTerminatedPods?: Record<string, unknown>;
  };
}

export interface CronJob extends KObject {
  spec: {
    schedule: string;
    timeZone?: string;
    concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
    suspend?: boolean;
    startingDeadlineSeconds?: number;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    jobTemplate: { metadata?: { labels?: Labels }; spec: Job['spec'] };
  };
  status: {
    active?: { kind: string; namespace: string; name: string; uid: string; apiVersion: string }[];
    lastScheduleTime?: string;
    lastSuccessfulTime?: string;
  };
}

export interface Service extends KObject {
  spec: {
    type: string;
    selector?: Labels;
    ports: {
      name?: string;
      port: number;
      targetPort?: number | string;
      protocol: string;
      nodePort?: number;
    }[];
    clusterIP: string;
    clusterIPs?: string[];
    sessionAffinity?: string;
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    internalTrafficPolicy?: string;
  };
  status: { loadBalancer: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface PersistentVolumeClaim extends KObject {
  spec: {
    accessModes: string[];
    resources: { requests: ResourceList };
    storageClassName?: string;
    volumeMode?: string;
    volumeName?: string;
  };
  status: { phase?: string; accessModes?: string[]; capacity?: ResourceList };
}

export interface Lease extends KObject {
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface Namespace extends KObject {
  spec: { finalizers: string[] };
  status: { phase: 'Active' | 'Terminating' };
}

export interface ObjectReference {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** A core/v1 Event; the events.k8s.io/v1 view is converted from it on read. */
export interface CoreEvent extends KObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  source: { component?: string; host?: string };
  firstTimestamp: string | null;
  lastTimestamp: string | null;
  count: number;
  type: 'Normal' | 'Warning';
  eventTime: string | null;
  series?: { count: number; lastObservedTime: string };
  action?: string;
  related?: ObjectReference;
  reportingComponent: string;
  reportingInstance: string;
}
