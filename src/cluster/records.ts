/**
 * The slim records the cluster view keeps: only what rules and the dashboard read, projected from API
 * objects at parse time (no managedFields, no full specs). Times are epoch milliseconds of the API
 * server's clock; quantities are numbers (millicores, bytes).
 */

/** Labels of an object. */
export type Labels = Readonly<Record<string, string>>;

/** The controlling owner of an object. */
export interface OwnerRef {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/** Fields every record has. */
export interface RecordBase {
  readonly uid: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly createdAt: number;
  readonly labels: Labels | undefined;
  readonly owner: OwnerRef | undefined;
  /** When deletion was requested (graceful deletion in progress). */
  readonly deletedAt: number | undefined;
}

/** One condition, as recorded. */
export interface ConditionRecord {
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly lastTransitionAt: number | undefined;
  /** `lastUpdateTime` (Deployments) or `lastHeartbeatTime` (Nodes). */
  readonly lastUpdateAt: number | undefined;
}

/** Conditions by type. */
export type Conditions = Readonly<Record<string, ConditionRecord>>;

/** A container's last termination. */
export interface TerminationRecord {
  readonly reason: string | undefined;
  readonly exitCode: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
}

/** One container of a pod. */
export interface ContainerRecord {
  readonly name: string;
  readonly image: string;
  readonly isReady: boolean;
  readonly restarts: number;
  readonly state: 'running' | 'waiting' | 'terminated' | 'unknown';
  /** The waiting or terminated reason (`CrashLoopBackOff`, `ImagePullBackOff`, `OOMKilled`, ...). */
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly exitCode: number | undefined;
  readonly startedAt: number | undefined;
  readonly lastTermination: TerminationRecord | undefined;
}

/** A Pod. */
export interface PodRecord extends RecordBase {
  readonly kind: 'Pod';
  readonly nodeName: string | undefined;
  readonly phase: string;
  /** `status.reason` (Evicted, NodeLost, ...). */
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly startedAt: number | undefined;
  readonly conditions: Conditions;
  readonly containers: readonly ContainerRecord[];
  readonly initContainers: readonly ContainerRecord[];
  readonly qosClass: string | undefined;
  readonly priorityClassName: string | undefined;
  /** Summed requests of the containers. */
  readonly cpuRequest: number;
  readonly memoryRequest: number;
  /** Summed memory limits (0 when any container has none). */
  readonly memoryLimit: number;
  readonly claimNames: readonly string[];
  readonly isStatic: boolean;
}

/** A taint on a node. */
export interface TaintRecord {
  readonly key: string;
  readonly value: string | undefined;
  readonly effect: string;
  readonly addedAt: number | undefined;
}

/** A Node. */
export interface NodeRecord extends RecordBase {
  readonly kind: 'Node';
  readonly providerID: string | undefined;
  readonly isUnschedulable: boolean;
  readonly taints: readonly TaintRecord[];
  readonly conditions: Conditions;
  readonly kubeletVersion: string;
  readonly osImage: string;
  readonly kernelVersion: string;
  readonly containerRuntime: string;
  readonly internalIP: string | undefined;
  readonly roles: readonly string[];
  readonly zone: string | undefined;
  readonly region: string | undefined;
  readonly instanceType: string | undefined;
  readonly allocatableCpu: number;
  readonly allocatableMemory: number;
  readonly allocatablePods: number;
  readonly capacityCpu: number;
  readonly capacityMemory: number;
}

/** Rollout status fields shared by workload records. */
export interface WorkloadBase extends RecordBase {
  readonly generation: number;
  readonly observedGeneration: number | undefined;
  /** Label selector as `matchLabels` (expressions are kept in `selectorExpressions`). */
  readonly selector: Labels | undefined;
  readonly selectorExpressions: readonly { key: string; operator: string; values: readonly string[] }[];
  readonly images: readonly string[];
  readonly conditions: Conditions;
}

/** A Deployment. */
export interface DeploymentRecord extends WorkloadBase {
  readonly kind: 'Deployment';
  readonly replicas: number;
  readonly statusReplicas: number;
  readonly updatedReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly unavailableReplicas: number;
  readonly strategy: string;
  readonly maxUnavailable: string | number | undefined;
  readonly maxSurge: string | number | undefined;
  readonly progressDeadlineSeconds: number;
  readonly minReadySeconds: number;
  readonly isPaused: boolean;
  readonly revision: string | undefined;
}

/** A ReplicaSet. */
export interface ReplicaSetRecord extends WorkloadBase {
  readonly kind: 'ReplicaSet';
  readonly replicas: number;
  readonly statusReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly revision: string | undefined;
  readonly podTemplateHash: string | undefined;
}

/** A toleration, as DaemonSet eligibility needs it. */
export interface TolerationRecord {
  readonly key: string | undefined;
  readonly operator: string | undefined;
  readonly value: string | undefined;
  readonly effect: string | undefined;
}

/** A DaemonSet. */
export interface DaemonSetRecord extends WorkloadBase {
  readonly kind: 'DaemonSet';
  readonly desired: number;
  readonly current: number;
  readonly ready: number;
  readonly available: number;
  readonly unavailable: number;
  readonly updated: number;
  readonly misscheduled: number;
  readonly nodeSelector: Labels | undefined;
  readonly tolerations: readonly TolerationRecord[];
  readonly updateStrategy: string;
}

/** A StatefulSet. */
export interface StatefulSetRecord extends WorkloadBase {
  readonly kind: 'StatefulSet';
  readonly replicas: number;
  readonly statusReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly currentReplicas: number;
  readonly updatedReplicas: number;
  readonly currentRevision: string | undefined;
  readonly updateRevision: string | undefined;
}

/** A Job. */
export interface JobRecord extends RecordBase {
  readonly kind: 'Job';
  readonly completions: number | undefined;
  readonly parallelism: number | undefined;
  readonly backoffLimit: number | undefined;
  readonly active: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly startedAt: number | undefined;
  readonly completedAt: number | undefined;
  readonly conditions: Conditions;
  readonly isSuspended: boolean;
}

/** A CronJob. */
export interface CronJobRecord extends RecordBase {
  readonly kind: 'CronJob';
  readonly schedule: string;
  readonly timeZone: string | undefined;
  readonly isSuspended: boolean;
  readonly concurrencyPolicy: string;
  readonly startingDeadlineSeconds: number | undefined;
  readonly lastScheduleAt: number | undefined;
  readonly lastSuccessAt: number | undefined;
  readonly activeJobs: readonly string[];
}

/** An Event (core/v1). */
export interface EventRecord extends RecordBase {
  readonly kind: 'Event';
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly involved: {
    readonly kind: string;
    readonly namespace: string | undefined;
    readonly name: string;
    readonly uid: string | undefined;
    readonly fieldPath: string | undefined;
  };
  readonly count: number;
  readonly firstAt: number | undefined;
  readonly lastAt: number | undefined;
  readonly source: string | undefined;
  readonly host: string | undefined;
}

/** A Namespace. */
export interface NamespaceRecord extends RecordBase {
  readonly kind: 'Namespace';
  readonly phase: string;
}

/** A Lease (leader election, node heartbeats). */
export interface LeaseRecord extends RecordBase {
  readonly kind: 'Lease';
  readonly holder: string | undefined;
  readonly durationSeconds: number | undefined;
  readonly acquiredAt: number | undefined;
  readonly renewedAt: number | undefined;
  readonly transitions: number;
}

/** A PersistentVolumeClaim. */
export interface PvcRecord extends RecordBase {
  readonly kind: 'PersistentVolumeClaim';
  readonly phase: string | undefined;
  readonly storageClass: string | undefined;
  readonly volumeName: string | undefined;
  readonly requestBytes: number;
  readonly capacityBytes: number;
}

/** A cert-manager Certificate. */
export interface CertificateRecord extends RecordBase {
  readonly kind: 'Certificate';
  readonly secretName: string | undefined;
  readonly issuer: string | undefined;
  readonly dnsNames: readonly string[];
  readonly notAfter: number | undefined;
  readonly renewalAt: number | undefined;
  readonly conditions: Conditions;
}

/** Every record kind the view holds. */
export type AnyRecord =
  | PodRecord
  | NodeRecord
  | DeploymentRecord
  | ReplicaSetRecord
  | DaemonSetRecord
  | StatefulSetRecord
  | JobRecord
  | CronJobRecord
  | EventRecord
  | NamespaceRecord
  | LeaseRecord
  | PvcRecord
  | CertificateRecord;

/** The kind names of the records. */
export type RecordKind = AnyRecord['kind'];

/** The record type of a kind. */
export type RecordOf<K extends RecordKind> = Extract<AnyRecord, { kind: K }>;
