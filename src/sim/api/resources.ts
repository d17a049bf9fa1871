import type { CoreEvent, KObject } from '../model.js';

/** A subresource as discovery lists it. */
export interface SubresourceType {
  readonly name: string;
  readonly kind: string;
  readonly group?: string;
  readonly version?: string;
  readonly verbs: readonly string[];
}

/**
 * One API resource the simulator serves. Discovery, routing, field selectors and Table printing are
 * all generated from this registry, so they cannot disagree.
 */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly subresources?: readonly SubresourceType[];
  /** Where the objects live in the store; two resources may share one (core and events.k8s.io events). */
  readonly storage?: string;
  /** Converts a stored object to this resource's version (events.k8s.io/v1 from core/v1). */
  readonly fromStorage?: (object: KObject) => KObject;
  /** Fields that field selectors may use besides `metadata.name` and `metadata.namespace`. */
  readonly fields?: readonly string[];
  /** Served by a computed handler (metrics.k8s.io) instead of the store. */
  readonly isVirtual?: boolean;
}

/** The verbs of a readable and writable resource. */
export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const READ_ONLY = ['get', 'list'];

/** `group/version`, or `version` for the core group. */
export function groupVersion(r: { group: string; version: string }): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** The store key of a resource. */
export function storageOf(r: ResourceType): string {
  return r.storage ?? (r.group === '' ? r.plural : `${r.group}/${r.plural}`);
}

const status = (kind: string, group?: string): SubresourceType => ({
  name: 'status',
  kind,
  ...(group === undefined ? {} : { group }),
  verbs: ['get', 'patch', 'update'],
});
const scale = (): SubresourceType => ({
  name: 'scale',
  kind: 'Scale',
  group: 'autoscaling',
  version: 'v1',
  verbs: ['get', 'patch', 'update'],
});

const EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

/** Every resource the simulator serves, in discovery order. */
export const RESOURCES: readonly ResourceType[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['ns'],
    subresources: [status('Namespace')],
    fields: ['status.phase'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'nodes',
    singular: 'node',
    kind: 'Node',
    namespaced: false,
    verbs: ALL_VERBS,
    shortNames: ['no'],
    subresources: [
      { name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
      status('Node'),
    ],
    fields: ['spec.unschedulable'],
  },
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: ['po'],
    categories: ['all'],
    subresources: [{ name: 'log', kind: 'Pod', verbs: ['get'] }, status('Pod')],
    fields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  },
  {
    group: '',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: ['ev'],
    fields: EVENT_FIELDS,
  },
  {
    group: '',
    version: 'v1',
    plural: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['svc'],
    categories: ['all'],
    subresources: [status('Service')],
  },
  {
    group: '',
    version: 'v1',
    plural: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    kind: 'PersistentVolumeClaim',
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: ['pvc'],
    subresources: [status('PersistentVolumeClaim')],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: [scale(), status('Deployment', 'apps')],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'replicasets',
    singular: 'replicaset',
    kind: 'ReplicaSet',
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: ['rs'],
    categories: ['all'],
    subresources: [scale(), status('ReplicaSet', 'apps')],
    fields: ['status.replicas'],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'daemonsets',
    singular: 'daemonset',
    kind: 'DaemonSet',
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: ['ds'],
    categories: ['all'],
    subresources: [status('DaemonSet', 'apps')],
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'statefulsets',
    singular: 'statefulset',
    kind: 'StatefulSet',
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: ['sts'],
    categories: ['all'],
    subresources: [scale(), status('StatefulSet', 'apps')],
  },
  {
    group: 'batch',
    version: 'v1',
    plural: 'jobs',
    singular: 'job',
    kind: 'Job',
    namespaced: true,
    verbs: ALL_VERBS,
    categories: ['all'],
    subresources: [status('Job', 'batch')],
    fields: ['status.successful'],
  },
  {
    group: 'batch',
    version: 'v1',
    plural: 'cronjobs',
    singular: 'cronjob',
    kind: 'CronJob',
    namespaced: true,
    verbs: ALL_VERBS,
    shortNames: ['cj'],
    categories: ['all'],
    subresources: [status('CronJob', 'batch')],
  },
  {
    group: 'events.k8s.io',
    version: 'v1',
    plural: 'events',
    singular: 'event',
    kind: 'Event',
    namespaced: true,
    verbs: ALL_VERBS,
    // Short names belong to the core resource; kubectl resolves `ev` there (see the wire note).
    storage: 'events',
    fromStorage: (o) => toEventsV1(o as CoreEvent),
    fields: [
      'regarding.kind',
      'regarding.namespace',
      'regarding.name',
      'regarding.uid',
      'regarding.apiVersion',
      'regarding.resourceVersion',
      'regarding.fieldPath',
      'reason',
      'reportingController',
      'type',
      'deprecatedSource',
    ],
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    singular: 'lease',
    kind: 'Lease',
    namespaced: true,
    verbs: ALL_VERBS,
  },
  {
    group: 'metrics.k8s.io',
    version: 'v1beta1',
    plural: 'nodes',
    singular: '',
    kind: 'NodeMetrics',
    namespaced: false,
    verbs: READ_ONLY,
    isVirtual: true,
  },
  {
    group: 'metrics.k8s.io',
    version: 'v1beta1',
    plural: 'pods',
    singular: '',
    kind: 'PodMetrics',
    namespaced: true,
    verbs: READ_ONLY,
    isVirtual: true,
  },
];

/** The distinct storage keys of the stored (non-virtual) resources. */
export const STORAGE_RESOURCES: readonly string[] = [
  ...new Set(RESOURCES.filter((r) => !r.isVirtual).map(storageOf)),
];

/** Storage key constants, so controllers do not spell them by hand. */
export const R = {
  namespaces: 'namespaces',
  nodes: 'nodes',
  pods: 'pods',
  events: 'events',
  services: 'services',
  pvcs: 'persistentvolumeclaims',
  deployments: 'apps/deployments',
  replicasets: 'apps/replicasets',
  daemonsets: 'apps/daemonsets',
  statefulsets: 'apps/statefulsets',
  jobs: 'batch/jobs',
  cronjobs: 'batch/cronjobs',
  leases: 'coordination.k8s.io/leases',
} as const;

/** Finds a resource by group, version and plural. */
export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/** Finds the served resource for a stored kind (the preferred, first-listed one). */
export function resourceOfStorage(storage: string): ResourceType {
  const r = RESOURCES.find((x) => !x.isVirtual && storageOf(x) === storage);
  if (!r) throw new Error(`no resource for storage ${storage}`);
  return r;
}

/**
 * Field selectors that upstream computes from Go zero values (`strconv.FormatBool`, `strconv.Itoa`), so an
 * absent field still selects as `false` or `0`; `status.successful` of a Job reads `status.succeeded`.
 */
const FIELD_DEFAULTS: Readonly<Record<string, { path?: string; zero: string }>> = {
  'spec.unschedulable': { zero: 'false' },
  'spec.hostNetwork': { zero: 'false' },
  'status.replicas': { zero: '0' },
  'status.successful': { path: 'status.succeeded', zero: '0' },
};

/** Reads a dotted field path (`involvedObject.name`) from an object for field selectors. */
export function readField(object: unknown, field: string): string | undefined {
  const known = FIELD_DEFAULTS[field];
  let value: unknown = object;
  for (const part of (known?.path ?? field).split('.')) {
    if (value === null || typeof value !== 'object') {
      value = undefined;
      break;
    }
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined || value === null) return known?.zero ?? '';
  if (typeof value === 'object') {
    // `source` on events selects on the component; `deprecatedSource` likewise.
    const component = (value as { component?: unknown }).component;
    return typeof component === 'string' ? component : '';
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  return '';
}

/** Converts a stored core/v1 Event into its events.k8s.io/v1 form, as the API server does on read. */
export function toEventsV1(e: CoreEvent): KObject {
  const out: Record<string, unknown> = {
    metadata: e.metadata,
    eventTime: e.eventTime ?? e.firstTimestamp?.replace(/Z$/, '.000000Z') ?? null,
    reportingController: e.reportingComponent || e.source.component || '',
    reportingInstance: e.reportingInstance || e.source.host || '',
    action: e.action ?? '',
    reason: e.reason,
    regarding: e.involvedObject,
    note: e.message,
    type: e.type,
    deprecatedSource: e.source,
    deprecatedFirstTimestamp: e.firstTimestamp,
    deprecatedLastTimestamp: e.lastTimestamp,
    deprecatedCount: e.count,
  };
  if (e.series) out.series = e.series;
  if (e.related) out.related = e.related;
  return out as unknown as KObject;
}
