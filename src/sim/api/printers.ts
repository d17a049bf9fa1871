/**
 * Server-side Table printers, ported from upstream kubernetes `pkg/printers/internalversion/printers.go`
 * (v1.32). The API server always prints with `Wide: true`, so every row carries the priority-1 columns too;
 * kubectl hides them unless `-o wide`. Cells keep upstream's JSON types: Go `int64` cells are numbers even
 * where the column claims `string` (deployment Up-to-date, event Count), everything else is a string.
 */

import type {
  Condition,
  Container,
  CronJob,
  DaemonSet,
  Deployment,
  Job,
  KObject,
  Labels,
  LabelSelector,
  Lease,
  Namespace,
  Node,
  PersistentVolumeClaim,
  Pod,
  ReplicaSet,
  Service,
  StatefulSet,
} from '../model.js';
import { humanDuration, parseTimestamp, translateTimestampSince } from './duration.js';
import type { ResourceType } from './resources.js';
import { DEFAULT_PRINTER, type ColumnDefinition, type Printer } from './table.js';

interface ColumnOptions {
  type?: ColumnDefinition['type'];
  format?: string;
  wide?: boolean;
}

function column(name: string, description: string, options: ColumnOptions = {}): ColumnDefinition {
  return {
    name,
    type: options.type ?? 'string',
    format: options.format ?? '',
    description,
    priority: options.wide === true ? 1 : 0,
  };
}

// Upstream takes these two from the ObjectMeta swagger docs, as the default printer already does.
const NAME_DOC = DEFAULT_PRINTER.columns[0]?.description ?? '';
const CREATED_DOC = DEFAULT_PRINTER.columns[1]?.description ?? '';

const NAME = column('Name', NAME_DOC, { format: 'name' });
const AGE = column('Age', CREATED_DOC);
const CONTAINERS = column('Containers', 'Names of each container in the template.', { wide: true });
const IMAGES = column('Images', 'Images referenced by each container in the template.', { wide: true });
const SELECTOR_DOC =
  'A label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this resource.';

function firstNonEmpty(...values: (string | undefined)[]): string {
  return values.find((v) => v !== undefined && v !== '') ?? '';
}

function age(object: KObject, now: number): string {
  return translateTimestampSince(object.metadata.creationTimestamp, now);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `labels.Set.String()`: sorted `key=value` pairs, or `<none>` (`labels.FormatLabels`). */
function formatLabels(labels: Labels | undefined): string {
  const pairs = Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);
  return pairs.length === 0 ? '<none>' : pairs.sort(compareStrings).join(',');
}

/**
 * `metav1.LabelSelectorAsSelector(s).String()`: requirements sorted by key, `undefined` for an invalid
 * selector. A nil selector (Nothing) and an empty one (Everything) both print as ''.
 */
function selectorString(selector: LabelSelector | undefined): string | undefined {
  if (selector === undefined) return '';
  const requirements: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    requirements.push({ key, text: `${key}=${value}` });
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    switch (operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return undefined;
        requirements.push({
          key,
          text: `${key} ${operator === 'In' ? 'in' : 'notin'} (${[...values].sort(compareStrings).join(',')})`,
        });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) return undefined;
        requirements.push({ key, text: operator === 'Exists' ? key : `!${key}` });
        break;
      default:
        return undefined;
    }
  }
  return requirements
    .sort((a, b) => compareStrings(a.key, b.key))
    .map((r) => r.text)
    .join(',');
}

/** `metav1.FormatLabelSelector`: like `selectorString`, but `<none>` when empty and `<error>` when invalid. */
function formatLabelSelector(selector: LabelSelector | undefined): string {
  const text = selectorString(selector);
  if (text === undefined) return '<error>';
  return text === '' ? '<none>' : text;
}

/** `layoutContainerCells`: container names and images, each comma-joined. */
function containerCells(containers: readonly Container[]): [string, string] {
  return [containers.map((c) => c.name).join(','), containers.map((c) => c.image).join(',')];
}

function printBoolPtr(value: boolean | undefined): string {
  if (value === undefined) return '<unset>';
  return value ? 'True' : 'False';
}

function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** Narrowing readers for fields the model does not type (events.k8s.io/v1 events, optional wire fields). */
function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function stringField(value: unknown, key: string): string {
  const v = field(value, key);
  return typeof v === 'string' ? v : '';
}

function numberField(value: unknown, key: string): number {
  const v = field(value, key);
  return typeof v === 'number' ? v : 0;
}

function timestampField(value: unknown, key: string): string | undefined {
  const v = field(value, key);
  return typeof v === 'string' ? v : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Pods

type PodWire = Pod & { spec: Pod['spec'] & { readinessGates?: { conditionType: string }[] } };

const POD_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
  column('Status', 'The aggregate status of the containers in this pod.'),
  column(
    'Restarts',
    'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
  ),
  AGE,
  column(
    'IP',
    'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
    { wide: true },
  ),
  column(
    'Node',
    'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName.',
    { wide: true },
  ),
  column(
    'Nominated Node',
    'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.',
    { wide: true },
  ),
  column(
    'Readiness Gates',
    'If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to "True".',
    { wide: true },
  ),
];

const TERMINAL_POD_PHASES: ReadonlySet<string> = new Set(['Succeeded', 'Failed']);

function isRestartableInitContainer(container: Container | undefined): boolean {
  return container?.restartPolicy === 'Always';
}

/** The later of a running maximum and a `finishedAt`; a missing timestamp is Go's zero time and never wins. */
function laterOf(current: number | undefined, ts: string | undefined): number | undefined {
  const at = parseTimestamp(ts);
  if (at === undefined) return current;
  return current === undefined || current < at ? at : current;
}

function podCells(object: KObject, now: number): unknown[] {
  const pod = object as PodWire;
  const { spec, status } = pod;
  const initSpecs = spec.initContainers ?? [];
  let restarts = 0;
  let restartableInitContainerRestarts = 0;
  let totalContainers = spec.containers.length;
  let readyContainers = 0;
  let lastRestartDate: number | undefined;
  let lastRestartableInitContainerRestartDate: number | undefined;

  const podPhase = status.phase;
  let reason = firstNonEmpty(status.reason, podPhase);
  for (const condition of status.conditions ?? []) {
    if (condition.type === 'PodScheduled' && condition.reason === 'SchedulingGated') {
      reason = 'SchedulingGated';
    }
  }

  const initContainers = new Map(initSpecs.map((c) => [c.name, c]));
  totalContainers += initSpecs.filter(isRestartableInitContainer).length;

  let initializing = false;
  for (const [i, container] of (status.initContainerStatuses ?? []).entries()) {
    restarts += container.restartCount;
    const lastTerminated = container.lastState.terminated;
    if (lastTerminated) lastRestartDate = laterOf(lastRestartDate, lastTerminated.finishedAt);
    const restartable = isRestartableInitContainer(initContainers.get(container.name));
    if (restartable) {
      restartableInitContainerRestarts += container.restartCount;
      if (lastTerminated) {
        lastRestartableInitContainerRestartDate = laterOf(
          lastRestartableInitContainerRestartDate,
          lastTerminated.finishedAt,
        );
      }
    }
    const { terminated, waiting } = container.state;
    if (terminated && terminated.exitCode === 0) continue;
    if (restartable && container.started === true) {
      if (container.ready) readyContainers++;
      continue;
    }
    if (terminated) {
      // Initialization failed.
      if (firstNonEmpty(terminated.reason) === '') {
        reason =
          (terminated.signal ?? 0) !== 0
            ? `Init:Signal:${terminated.signal ?? 0}`
            : `Init:ExitCode:${terminated.exitCode}`;
      } else {
        reason = `Init:${terminated.reason ?? ''}`;
      }
    } else if (waiting && firstNonEmpty(waiting.reason) !== '' && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || isConditionTrue(status.conditions, 'Initialized')) {
    // Once initialized, only sidecar restarts carry over from the init containers.
    restarts = restartableInitContainerRestarts;
    lastRestartDate = lastRestartableInitContainerRestartDate;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    // Upstream walks backwards, so the first container's state is the one that ends up in `reason`.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const container = statuses[i];
      if (!container) continue;
      restarts += container.restartCount;
      const lastTerminated = container.lastState.terminated;
      if (lastTerminated) lastRestartDate = laterOf(lastRestartDate, lastTerminated.finishedAt);
      const { waiting, terminated, running } = container.state;
      if (waiting && firstNonEmpty(waiting.reason) !== '') {
        reason = waiting.reason;
      } else if (terminated && firstNonEmpty(terminated.reason) !== '') {
        reason = terminated.reason ?? '';
      } else if (terminated) {
        reason =
          (terminated.signal ?? 0) !== 0
            ? `Signal:${terminated.signal ?? 0}`
            : `ExitCode:${terminated.exitCode}`;
      } else if (container.ready && running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = isConditionTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata.deletionTimestamp !== undefined && status.reason === 'NodeLost') {
    reason = 'Unknown';
  } else if (pod.metadata.deletionTimestamp !== undefined && !TERMINAL_POD_PHASES.has(podPhase)) {
    reason = 'Terminating';
  }

  let restartsText = String(restarts);
  if (restarts !== 0 && lastRestartDate !== undefined) {
    restartsText = `${restarts} (${humanDuration(now - lastRestartDate)} ago)`;
  }

  // The v1 -> internal conversion makes podIP authoritative over podIPs[0].
  const podIP = firstNonEmpty(status.podIP, status.podIPs?.[0]?.ip) || '<none>';
  const nodeName = firstNonEmpty(spec.nodeName) || '<none>';
  const nominatedNodeName = firstNonEmpty(status.nominatedNodeName) || '<none>';
  let readinessGates = '<none>';
  const gates = spec.readinessGates ?? [];
  if (gates.length > 0) {
    const trueConditions = gates.filter(
      (gate) => (status.conditions ?? []).find((c) => c.type === gate.conditionType)?.status === 'True',
    ).length;
    readinessGates = `${trueConditions}/${gates.length}`;
  }

  return [
    pod.metadata.name,
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsText,
    age(pod, now),
    podIP,
    nodeName,
    nominatedNodeName,
    readinessGates,
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Nodes

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';
const NODE_ROLE_LABEL = 'kubernetes.io/role';

const NODE_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Status', 'The status of the node'),
  column('Roles', 'The roles of the node'),
  AGE,
  column('Version', 'Kubelet Version reported by the node.'),
  column('Internal-IP', 'List of addresses reachable to the node.', { wide: true }),
  column('External-IP', 'List of addresses reachable to the node.', { wide: true }),
  column(
    'OS-Image',
    'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
    { wide: true },
  ),
  column(
    'Kernel-Version',
    "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
    {
      wide: true,
    },
  ),
  column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API.', {
    wide: true,
  }),
];

function findNodeRoles(node: Node): string[] {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith(NODE_ROLE_PREFIX)) {
      const role = key.slice(NODE_ROLE_PREFIX.length);
      if (role !== '') roles.add(role);
    } else if (key === NODE_ROLE_LABEL && value !== '') {
      roles.add(value);
    }
  }
  return [...roles].sort(compareStrings);
}

function nodeAddress(node: Node, type: string): string {
  return node.status.addresses.find((a) => a.type === type)?.address ?? '<none>';
}

function nodeCells(object: KObject, now: number): unknown[] {
  const node = object as Node;
  // Upstream only consults the Ready condition: any status but True reads as NotReady.
  const ready = node.status.conditions.find((c) => c.type === 'Ready');
  const status = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (node.spec.unschedulable === true) status.push('SchedulingDisabled');
  const roles = findNodeRoles(node).join(',') || '<none>';
  const info = node.status.nodeInfo;
  return [
    node.metadata.name,
    status.join(','),
    roles,
    age(node, now),
    info.kubeletVersion,
    nodeAddress(node, 'InternalIP'),
    nodeAddress(node, 'ExternalIP'),
    firstNonEmpty(info.osImage) || '<unknown>',
    firstNonEmpty(info.kernelVersion) || '<unknown>',
    firstNonEmpty(info.containerRuntimeVersion) || '<unknown>',
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Workloads

const DEPLOYMENT_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Ready', 'Number of the pod with ready state'),
  column(
    'Up-to-date',
    'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
  ),
  column(
    'Available',
    'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
  ),
  AGE,
  CONTAINERS,
  IMAGES,
  column(
    'Selector',
    'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.',
    { wide: true },
  ),
];

function deploymentCells(object: KObject, now: number): unknown[] {
  const d = object as Deployment;
  const [names, images] = containerCells(d.spec.template.spec.containers);
  return [
    d.metadata.name,
    `${d.status.readyReplicas ?? 0}/${d.spec.replicas}`,
    d.status.updatedReplicas ?? 0,
    d.status.availableReplicas ?? 0,
    age(d, now),
    names,
    images,
    selectorString(d.spec.selector) ?? '<invalid>',
  ];
}

const REPLICA_SET_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Desired', 'Replicas is the number of desired replicas.', { type: 'integer' }),
  column('Current', 'Replicas is the most recently observed number of replicas.', { type: 'integer' }),
  column('Ready', 'The number of ready replicas for this replica set.', { type: 'integer' }),
  AGE,
  CONTAINERS,
  IMAGES,
  column('Selector', SELECTOR_DOC, { wide: true }),
];

function replicaSetCells(object: KObject, now: number): unknown[] {
  const rs = object as ReplicaSet;
  const [names, images] = containerCells(rs.spec.template.spec.containers);
  return [
    rs.metadata.name,
    rs.spec.replicas,
    rs.status.replicas,
    rs.status.readyReplicas ?? 0,
    age(rs, now),
    names,
    images,
    formatLabelSelector(rs.spec.selector),
  ];
}

const DAEMON_SET_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Desired', 'The total number of nodes that should be running the daemon pod.', { type: 'integer' }),
  column(
    'Current',
    'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.',
    {
      type: 'integer',
    },
  ),
  column(
    'Ready',
    'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.',
    {
      type: 'integer',
    },
  ),
  column('Up-to-date', 'The total number of nodes that are running updated daemon pod', { type: 'integer' }),
  column(
    'Available',
    'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.',
    {
      type: 'integer',
    },
  ),
  column('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
  AGE,
  CONTAINERS,
  IMAGES,
  column('Selector', 'A label query over pods that are managed by the daemon set.', { wide: true }),
];

function daemonSetCells(object: KObject, now: number): unknown[] {
  const ds = object as DaemonSet;
  const [names, images] = containerCells(ds.spec.template.spec.containers);
  return [
    ds.metadata.name,
    ds.status.desiredNumberScheduled,
    ds.status.currentNumberScheduled,
    ds.status.numberReady,
    ds.status.updatedNumberScheduled ?? 0,
    ds.status.numberAvailable ?? 0,
    formatLabels(ds.spec.template.spec.nodeSelector),
    age(ds, now),
    names,
    images,
    formatLabelSelector(ds.spec.selector),
  ];
}

const STATEFUL_SET_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Ready', 'Number of the pod with ready state'),
  AGE,
  CONTAINERS,
  IMAGES,
];

function statefulSetCells(object: KObject, now: number): unknown[] {
  const sts = object as StatefulSet;
  const [names, images] = containerCells(sts.spec.template.spec.containers);
  return [
    sts.metadata.name,
    `${sts.status.readyReplicas ?? 0}/${sts.spec.replicas}`,
    age(sts, now),
    names,
    images,
  ];
}

const JOB_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Status', 'Status of the job.'),
  column('Completions', 'The number of pods which reached phase Succeeded.'),
  column('Duration', 'Time required to complete the job.'),
  AGE,
  CONTAINERS,
  IMAGES,
  column('Selector', 'A label query over pods that should match the pod count.', { wide: true }),
];

/** Upstream `hasJobCondition`: the first condition of the type decides. */
function hasJobCondition(conditions: readonly Condition[] | undefined, type: string): boolean {
  return (conditions ?? []).find((c) => c.type === type)?.status === 'True';
}

function jobCells(object: KObject, now: number): unknown[] {
  const job = object as Job;
  const succeeded = job.status.succeeded ?? 0;
  let completions: string;
  if (job.spec.completions !== undefined) {
    completions = `${succeeded}/${job.spec.completions}`;
  } else {
    const parallelism = job.spec.parallelism ?? 0;
    completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
  }
  const start = parseTimestamp(job.status.startTime);
  const completion = parseTimestamp(job.status.completionTime);
  let jobDuration = '';
  if (start !== undefined) jobDuration = humanDuration((completion ?? now) - start);

  const conditions = job.status.conditions;
  let status = 'Running';
  if (hasJobCondition(conditions, 'Complete')) status = 'Complete';
  else if (hasJobCondition(conditions, 'Failed')) status = 'Failed';
  else if (job.metadata.deletionTimestamp !== undefined) status = 'Terminating';
  else if (hasJobCondition(conditions, 'Suspended')) status = 'Suspended';
  else if (hasJobCondition(conditions, 'FailureTarget')) status = 'FailureTarget';

  const [names, images] = containerCells(job.spec.template.spec.containers);
  return [
    job.metadata.name,
    status,
    completions,
    jobDuration,
    age(job, now),
    names,
    images,
    formatLabelSelector(job.spec.selector),
  ];
}

const CRON_JOB_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Schedule', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
  column(
    'Timezone',
    'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.',
  ),
  column(
    'Suspend',
    'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.',
    {
      type: 'boolean',
    },
  ),
  column('Active', 'A list of pointers to currently running jobs.', { type: 'integer' }),
  column('Last Schedule', 'Information when was the last time the job was successfully scheduled.'),
  AGE,
  CONTAINERS,
  IMAGES,
  column('Selector', 'A label query over pods that should match the pod count.', { wide: true }),
];

function cronJobCells(object: KObject, now: number): unknown[] {
  const cj = object as CronJob;
  const lastSchedule =
    cj.status.lastScheduleTime === undefined
      ? '<none>'
      : translateTimestampSince(cj.status.lastScheduleTime, now);
  const jobSpec = cj.spec.jobTemplate.spec;
  const [names, images] = containerCells(jobSpec.template.spec.containers);
  return [
    cj.metadata.name,
    cj.spec.schedule,
    cj.spec.timeZone ?? '<none>',
    printBoolPtr(cj.spec.suspend),
    (cj.status.active ?? []).length,
    lastSchedule,
    age(cj, now),
    names,
    images,
    formatLabelSelector(jobSpec.selector),
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Services, claims, leases, namespaces

type ServiceWire = Service & { spec: Service['spec'] & { externalIPs?: string[]; externalName?: string } };

const SERVICE_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Type', 'type determines how the Service is exposed. Defaults to ClusterIP.'),
  column('Cluster-IP', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
  column(
    'External-IP',
    'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
  ),
  column('Port(s)', 'The list of ports that are exposed by this service.'),
  AGE,
  column('Selector', 'Route service traffic to pods with label keys and values matching this selector.', {
    wide: true,
  }),
];

/** `loadBalancerStatusStringer` with `wide` set, as the server prints: sorted, de-duplicated IPs or hostnames. */
function loadBalancerIngress(service: ServiceWire): string {
  const result = new Set<string>();
  for (const ingress of service.status.loadBalancer.ingress ?? []) {
    const value = firstNonEmpty(ingress.ip, ingress.hostname);
    if (value !== '') result.add(value);
  }
  return [...result].sort(compareStrings).join(',');
}

function serviceExternalIP(service: ServiceWire): string {
  const externalIPs = service.spec.externalIPs ?? [];
  switch (service.spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lbIps = loadBalancerIngress(service);
      if (externalIPs.length > 0)
        return [...(lbIps === '' ? [] : lbIps.split(',')), ...externalIPs].join(',');
      return lbIps === '' ? '<pending>' : lbIps;
    }
    case 'ExternalName':
      return service.spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function servicePorts(service: ServiceWire): string {
  return service.spec.ports
    .map((p) => ((p.nodePort ?? 0) > 0 ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`))
    .join(',');
}

function serviceCells(object: KObject, now: number): unknown[] {
  const svc = object as ServiceWire;
  // Defaulting copies clusterIP into clusterIPs, so the first of clusterIPs is what upstream reads.
  const clusterIP = firstNonEmpty(svc.spec.clusterIPs?.[0], svc.spec.clusterIP) || '<none>';
  return [
    svc.metadata.name,
    svc.spec.type,
    clusterIP,
    serviceExternalIP(svc),
    servicePorts(svc) || '<none>',
    age(svc, now),
    formatLabels(svc.spec.selector),
  ];
}

type PvcWire = PersistentVolumeClaim & {
  spec: PersistentVolumeClaim['spec'] & { volumeAttributesClassName?: string };
};

const PVC_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Status', 'phase represents the current phase of PersistentVolumeClaim.'),
  column('Volume', 'volumeName is the binding reference to the PersistentVolume backing this claim.'),
  column('Capacity', 'capacity represents the actual resources of the underlying volume.'),
  column('Access Modes', 'accessModes contains the actual access modes the volume backing the PVC has.'),
  column('StorageClass', 'StorageClass of the pvc'),
  column('VolumeAttributesClass', 'VolumeAttributesClass of the pvc'),
  AGE,
  column('VolumeMode', 'volumeMode defines what type of volume is required by the claim.', { wide: true }),
];

/** `helper.GetAccessModesAsString`: abbreviations in a fixed order, duplicates dropped. */
function accessModesString(modes: readonly string[] | undefined): string {
  const present = new Set(modes ?? []);
  const order: [string, string][] = [
    ['ReadWriteOnce', 'RWO'],
    ['ReadOnlyMany', 'ROX'],
    ['ReadWriteMany', 'RWX'],
    ['ReadWriteOncePod', 'RWOP'],
  ];
  return order
    .filter(([mode]) => present.has(mode))
    .map(([, short]) => short)
    .join(',');
}

function pvcCells(object: KObject, now: number): unknown[] {
  const pvc = object as PvcWire;
  const phase = pvc.metadata.deletionTimestamp !== undefined ? 'Terminating' : (pvc.status.phase ?? '');
  const volumeName = pvc.spec.volumeName ?? '';
  let capacity = '';
  let accessModes = '';
  if (volumeName !== '') {
    accessModes = accessModesString(pvc.status.accessModes);
    // A missing quantity is Go's zero Quantity, which prints as "0".
    capacity = pvc.status.capacity?.storage ?? '0';
  }
  // The beta annotation wins over spec.storageClassName (`GetPersistentVolumeClaimClass`).
  const annotations = pvc.metadata.annotations ?? {};
  const storageClass =
    'volume.beta.kubernetes.io/storage-class' in annotations
      ? (annotations['volume.beta.kubernetes.io/storage-class'] ?? '')
      : (pvc.spec.storageClassName ?? '');
  return [
    pvc.metadata.name,
    phase,
    volumeName,
    capacity,
    accessModes,
    storageClass,
    pvc.spec.volumeAttributesClassName ?? '<unset>',
    age(pvc, now),
    pvc.spec.volumeMode ?? '<unset>',
  ];
}

const LEASE_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Holder', 'holderIdentity contains the identity of the holder of a current lease.'),
  AGE,
];

function leaseCells(object: KObject, now: number): unknown[] {
  const lease = object as Lease;
  return [lease.metadata.name, lease.spec.holderIdentity ?? '', age(lease, now)];
}

const NAMESPACE_COLUMNS: readonly ColumnDefinition[] = [
  NAME,
  column('Status', 'The status of the namespace'),
  AGE,
];

function namespaceCells(object: KObject, now: number): unknown[] {
  const ns = object as Namespace;
  return [ns.metadata.name, ns.status.phase, age(ns, now)];
}

// ---------------------------------------------------------------------------------------------------------
// Events

/** An event in the shape of upstream's internal `api.Event`, read from either API version. */
interface EventView {
  name: string;
  type: string;
  reason: string;
  message: string;
  kind: string;
  objectName: string;
  fieldPath: string;
  component: string;
  host: string;
  reportingController: string;
  reportingInstance: string;
  firstTimestamp: string | undefined;
  lastTimestamp: string | undefined;
  eventTime: string | undefined;
  count: number;
  series: { count: number; lastObservedTime: string | undefined } | undefined;
}

/** Reads a core/v1 Event, or an events.k8s.io/v1 one through the fields its conversion to internal uses. */
function eventView(object: KObject, isEventsV1: boolean): EventView {
  const seriesValue = field(object, 'series');
  const series =
    typeof seriesValue === 'object' && seriesValue !== null
      ? {
          count: numberField(seriesValue, 'count'),
          lastObservedTime: timestampField(seriesValue, 'lastObservedTime'),
        }
      : undefined;
  const regarding = field(object, isEventsV1 ? 'regarding' : 'involvedObject');
  const source = field(object, isEventsV1 ? 'deprecatedSource' : 'source');
  return {
    name: object.metadata.name,
    type: stringField(object, 'type'),
    reason: stringField(object, 'reason'),
    message: stringField(object, isEventsV1 ? 'note' : 'message'),
    kind: stringField(regarding, 'kind'),
    objectName: stringField(regarding, 'name'),
    fieldPath: stringField(regarding, 'fieldPath'),
    component: stringField(source, 'component'),
    host: stringField(source, 'host'),
    reportingController: stringField(object, isEventsV1 ? 'reportingController' : 'reportingComponent'),
    reportingInstance: stringField(object, 'reportingInstance'),
    firstTimestamp: timestampField(object, isEventsV1 ? 'deprecatedFirstTimestamp' : 'firstTimestamp'),
    lastTimestamp: timestampField(object, isEventsV1 ? 'deprecatedLastTimestamp' : 'lastTimestamp'),
    eventTime: timestampField(object, 'eventTime'),
    count: numberField(object, isEventsV1 ? 'deprecatedCount' : 'count'),
    series,
  };
}

/** `formatEventSource`: `component, host`, falling back to the reporting controller and instance. */
function formatEventSource(e: EventView): string {
  const component = firstNonEmpty(e.component, e.reportingController);
  const instance = firstNonEmpty(e.host, e.reportingInstance);
  return instance === '' ? component : `${component}, ${instance}`;
}

const EVENT_COLUMNS: readonly ColumnDefinition[] = [
  column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
  column('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
  column(
    'Reason',
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ),
  column('Object', 'The object that this event is about.'),
  column(
    'Subobject',
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].',
    {
      wide: true,
    },
  ),
  column('Source', 'The component reporting this event. Should be a short machine understandable string.', {
    wide: true,
  }),
  column('Message', 'A human-readable description of the status of this operation.'),
  column(
    'First Seen',
    'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
    {
      wide: true,
    },
  ),
  column('Count', 'The number of times this event has occurred.', { wide: true }),
  column('Name', NAME_DOC, { format: 'name', wide: true }),
];

function eventCells(e: EventView, now: number): unknown[] {
  const firstSeen =
    parseTimestamp(e.firstTimestamp) === undefined
      ? translateTimestampSince(e.eventTime, now)
      : translateTimestampSince(e.firstTimestamp, now);
  let lastSeen =
    parseTimestamp(e.lastTimestamp) === undefined ? firstSeen : translateTimestampSince(e.lastTimestamp, now);
  let count = e.count;
  if (e.series !== undefined) {
    lastSeen = translateTimestampSince(e.series.lastObservedTime, now);
    count = e.series.count;
  } else if (count === 0) {
    // Singleton events don't have a count set in the new API.
    count = 1;
  }
  const kind = e.kind.toLowerCase();
  const target = e.objectName === '' ? kind : `${kind}/${e.objectName}`;
  return [
    lastSeen,
    e.type,
    e.reason,
    target,
    e.fieldPath,
    formatEventSource(e),
    e.message.trim(),
    firstSeen,
    count,
    e.name,
  ];
}

/**
 * The `<last> (x<count> over <first>)` interval that `kubectl events` and `kubectl describe` compute on the
 * client (kubectl `getInterval`); the server-side Table's Last Seen column never carries it.
 */
export function eventInterval(event: KObject, now: number): string {
  const e = eventView(
    event,
    field(event, 'involvedObject') === undefined && field(event, 'regarding') !== undefined,
  );
  const firstSince =
    parseTimestamp(e.eventTime) === undefined
      ? translateTimestampSince(e.firstTimestamp, now)
      : translateTimestampSince(e.eventTime, now);
  if (e.series !== undefined) {
    return `${translateTimestampSince(e.series.lastObservedTime, now)} (x${e.series.count} over ${firstSince})`;
  }
  if (e.count > 1) return `${translateTimestampSince(e.lastTimestamp, now)} (x${e.count} over ${firstSince})`;
  return firstSince;
}

// ---------------------------------------------------------------------------------------------------------
// Registry

const printer = (columns: readonly ColumnDefinition[], cells: Printer['cells']): Printer => ({
  columns,
  cells,
});

const PRINTERS: ReadonlyMap<string, Printer> = new Map([
  ['/pods', printer(POD_COLUMNS, podCells)],
  ['/nodes', printer(NODE_COLUMNS, nodeCells)],
  ['/namespaces', printer(NAMESPACE_COLUMNS, namespaceCells)],
  ['/services', printer(SERVICE_COLUMNS, serviceCells)],
  ['/persistentvolumeclaims', printer(PVC_COLUMNS, pvcCells)],
  ['/events', printer(EVENT_COLUMNS, (o, now) => eventCells(eventView(o, false), now))],
  ['events.k8s.io/events', printer(EVENT_COLUMNS, (o, now) => eventCells(eventView(o, true), now))],
  ['apps/deployments', printer(DEPLOYMENT_COLUMNS, deploymentCells)],
  ['apps/replicasets', printer(REPLICA_SET_COLUMNS, replicaSetCells)],
  ['apps/daemonsets', printer(DAEMON_SET_COLUMNS, daemonSetCells)],
  ['apps/statefulsets', printer(STATEFUL_SET_COLUMNS, statefulSetCells)],
  ['batch/jobs', printer(JOB_COLUMNS, jobCells)],
  ['batch/cronjobs', printer(CRON_JOB_COLUMNS, cronJobCells)],
  ['coordination.k8s.io/leases', printer(LEASE_COLUMNS, leaseCells)],
]);

/** The Table printer of a resource (keyed by `group/plural`), or the Name/Created At default printer. */
export function printerFor(resource: ResourceType): Printer {
  return PRINTERS.get(`${resource.group}/${resource.plural}`) ?? DEFAULT_PRINTER;
}
