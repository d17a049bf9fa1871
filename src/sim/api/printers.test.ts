import assert from 'node:assert/strict';
import { test } from 'node:test';

import type {
  Condition,
  Container,
  ContainerState,
  ContainerStatus,
  CoreEvent,
  CronJob,
  DaemonSet,
  Deployment,
  Job,
  KObject,
  LabelSelector,
  Lease,
  Namespace,
  Node,
  ObjectMeta,
  PersistentVolumeClaim,
  Pod,
  PodSpec,
  PodTemplateSpec,
  ReplicaSet,
  Service,
  StatefulSet,
} from '../model.js';
import { eventInterval, printerFor } from './printers.js';
import { findResource, RESOURCES, toEventsV1, type ResourceType } from './resources.js';
import { DEFAULT_PRINTER, type Printer } from './table.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** An RFC 3339 timestamp `ms` before the simulated now, with second precision like metav1.Time. */
function ago(ms: number): string {
  return new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function meta(name: string, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return {
    name,
    namespace: 'default',
    uid: `uid-${name}`,
    resourceVersion: '1',
    creationTimestamp: ago(5 * MIN),
    ...extra,
  };
}

function resource(group: string, version: string, plural: string): ResourceType {
  const r = findResource(group, version, plural);
  if (!r) throw new Error(`no resource ${group}/${version}/${plural}`);
  return r;
}

const PODS = printerFor(resource('', 'v1', 'pods'));
const NODES = printerFor(resource('', 'v1', 'nodes'));
const DEPLOYMENTS = printerFor(resource('apps', 'v1', 'deployments'));
const REPLICA_SETS = printerFor(resource('apps', 'v1', 'replicasets'));
const DAEMON_SETS = printerFor(resource('apps', 'v1', 'daemonsets'));
const STATEFUL_SETS = printerFor(resource('apps', 'v1', 'statefulsets'));
const JOBS = printerFor(resource('batch', 'v1', 'jobs'));
const CRON_JOBS = printerFor(resource('batch', 'v1', 'cronjobs'));
const SERVICES = printerFor(resource('', 'v1', 'services'));
const PVCS = printerFor(resource('', 'v1', 'persistentvolumeclaims'));
const LEASES = printerFor(resource('coordination.k8s.io', 'v1', 'leases'));
const NAMESPACES = printerFor(resource('', 'v1', 'namespaces'));
const CORE_EVENTS = printerFor(resource('', 'v1', 'events'));
const EVENTS_V1 = printerFor(resource('events.k8s.io', 'v1', 'events'));

/** The cells of one row, checked to line up with the printer's columns. */
function cells<T extends KObject>(printer: Printer, object: T): unknown[] {
  const row = printer.cells(object, NOW);
  assert.equal(row.length, printer.columns.length, 'one cell per column');
  return row;
}

// ---------------------------------------------------------------------------------------------------------
// Columns

test('printerFor keys printers by group and plural, with upstream columns and wide priorities', () => {
  const cases: [Printer, string[], string[]][] = [
    [
      PODS,
      ['Name', 'Ready', 'Status', 'Restarts', 'Age'],
      ['IP', 'Node', 'Nominated Node', 'Readiness Gates'],
    ],
    [
      NODES,
      ['Name', 'Status', 'Roles', 'Age', 'Version'],
      ['Internal-IP', 'External-IP', 'OS-Image', 'Kernel-Version', 'Container-Runtime'],
    ],
    [DEPLOYMENTS, ['Name', 'Ready', 'Up-to-date', 'Available', 'Age'], ['Containers', 'Images', 'Selector']],
    [REPLICA_SETS, ['Name', 'Desired', 'Current', 'Ready', 'Age'], ['Containers', 'Images', 'Selector']],
    [
      DAEMON_SETS,
      ['Name', 'Desired', 'Current', 'Ready', 'Up-to-date', 'Available', 'Node Selector', 'Age'],
      ['Containers', 'Images', 'Selector'],
    ],
    [STATEFUL_SETS, ['Name', 'Ready', 'Age'], ['Containers', 'Images']],
    [JOBS, ['Name', 'Status', 'Completions', 'Duration', 'Age'], ['Containers', 'Images', 'Selector']],
    [
      CRON_JOBS,
      ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age'],
      ['Containers', 'Images', 'Selector'],
    ],
    [SERVICES, ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age'], ['Selector']],
    [
      PVCS,
      [
        'Name',
        'Status',
        'Volume',
        'Capacity',
        'Access Modes',
        'StorageClass',
        'VolumeAttributesClass',
        'Age',
      ],
      ['VolumeMode'],
    ],
    [LEASES, ['Name', 'Holder', 'Age'], []],
    [NAMESPACES, ['Name', 'Status', 'Age'], []],
    [
      CORE_EVENTS,
      ['Last Seen', 'Type', 'Reason', 'Object', 'Message'],
      ['Subobject', 'Source', 'First Seen', 'Count', 'Name'],
    ],
    [
      EVENTS_V1,
      ['Last Seen', 'Type', 'Reason', 'Object', 'Message'],
      ['Subobject', 'Source', 'First Seen', 'Count', 'Name'],
    ],
  ];
  for (const [printer, normal, wide] of cases) {
    assert.notEqual(printer, DEFAULT_PRINTER);
    assert.deepEqual(
      printer.columns.filter((c) => c.priority === 0).map((c) => c.name),
      normal,
    );
    assert.deepEqual(
      printer.columns.filter((c) => c.priority === 1).map((c) => c.name),
      wide,
    );
    for (const c of printer.columns) {
      assert.ok(c.description.length > 0, `${c.name} has a description`);
      assert.equal(c.format, c.name === 'Name' ? 'name' : '', `${c.name} format`);
    }
  }
});

test('event columns keep upstream wide order', () => {
  assert.deepEqual(
    CORE_EVENTS.columns.map((c) => c.name),
    [
      'Last Seen',
      'Type',
      'Reason',
      'Object',
      'Subobject',
      'Source',
      'Message',
      'First Seen',
      'Count',
      'Name',
    ],
  );
});

test('column types follow upstream', () => {
  const types = (p: Printer): string[] => p.columns.map((c) => `${c.name}:${c.type}`);
  assert.ok(types(PODS).includes('Restarts:string'));
  assert.deepEqual(types(REPLICA_SETS).slice(1, 4), ['Desired:integer', 'Current:integer', 'Ready:integer']);
  assert.deepEqual(types(DAEMON_SETS).slice(1, 6), [
    'Desired:integer',
    'Current:integer',
    'Ready:integer',
    'Up-to-date:integer',
    'Available:integer',
  ]);
  assert.deepEqual(types(DEPLOYMENTS).slice(1, 4), ['Ready:string', 'Up-to-date:string', 'Available:string']);
  assert.ok(types(CRON_JOBS).includes('Suspend:boolean'));
  assert.ok(types(CRON_JOBS).includes('Active:integer'));
});

test('resources without a printer fall back to the default printer', () => {
  assert.equal(printerFor(resource('metrics.k8s.io', 'v1beta1', 'pods')), DEFAULT_PRINTER);
  assert.equal(printerFor(resource('metrics.k8s.io', 'v1beta1', 'nodes')), DEFAULT_PRINTER);
  const configMaps: ResourceType = { ...resource('', 'v1', 'pods'), plural: 'configmaps', kind: 'ConfigMap' };
  assert.equal(printerFor(configMaps), DEFAULT_PRINTER);
  for (const r of RESOURCES) {
    const expectDefault = r.group === 'metrics.k8s.io';
    assert.equal(printerFor(r) === DEFAULT_PRINTER, expectDefault, `${r.group}/${r.plural}`);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Pods

function container(name: string, extra: Partial<Container> = {}): Container {
  return { name, image: `${name}:1.0`, ...extra };
}

function status(name: string, state: ContainerState, extra: Partial<ContainerStatus> = {}): ContainerStatus {
  return {
    name,
    state,
    lastState: {},
    ready: false,
    restartCount: 0,
    image: `${name}:1.0`,
    imageID: '',
    ...extra,
  };
}

const running: ContainerState = { running: { startedAt: ago(4 * MIN) } };
const waiting = (reason: string): ContainerState => ({ waiting: { reason } });
const terminated = (exitCode: number, extra: { reason?: string; signal?: number } = {}): ContainerState => ({
  terminated: { exitCode, ...extra, finishedAt: ago(3 * MIN) },
});
const lastTerminated = (finishedAgo: number): ContainerState => ({
  terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(finishedAgo) },
});
const cond = (type: string, value: Condition['status'], reason?: string): Condition =>
  reason === undefined ? { type, status: value } : { type, status: value, reason };

interface PodInput {
  containers?: Container[];
  initContainers?: Container[];
  statuses?: ContainerStatus[];
  initStatuses?: ContainerStatus[];
  phase?: Pod['status']['phase'];
  reason?: string;
  conditions?: Condition[];
  deletionTimestamp?: string;
  spec?: Partial<PodSpec> & { readinessGates?: { conditionType: string }[] };
  podIP?: string;
  podIPs?: { ip: string }[];
  nominatedNodeName?: string;
}

function pod(input: PodInput = {}): Pod {
  const podStatus: Pod['status'] = { phase: input.phase ?? 'Running' };
  if (input.reason !== undefined) podStatus.reason = input.reason;
  if (input.conditions) podStatus.conditions = input.conditions;
  if (input.statuses) podStatus.containerStatuses = input.statuses;
  if (input.initStatuses) podStatus.initContainerStatuses = input.initStatuses;
  if (input.podIP !== undefined) podStatus.podIP = input.podIP;
  if (input.podIPs) podStatus.podIPs = input.podIPs;
  if (input.nominatedNodeName !== undefined) podStatus.nominatedNodeName = input.nominatedNodeName;
  const spec: PodSpec = { containers: input.containers ?? [container('app')], ...input.spec };
  if (input.initContainers) spec.initContainers = input.initContainers;
  const metadata =
    input.deletionTimestamp === undefined
      ? meta('web-1')
      : meta('web-1', { deletionTimestamp: input.deletionTimestamp });
  return { metadata, spec, status: podStatus };
}

test('pod Ready, Status and Restarts follow upstream printPod', () => {
  const cases: { name: string; pod: Pod; expected: [string, string, string] }[] = [
    {
      name: 'running and ready',
      pod: pod({ statuses: [status('app', running, { ready: true })], conditions: [cond('Ready', 'True')] }),
      expected: ['1/1', 'Running', '0'],
    },
    {
      name: 'CrashLoopBackOff with the age of the last restart',
      pod: pod({
        statuses: [
          status('app', waiting('CrashLoopBackOff'), { restartCount: 5, lastState: lastTerminated(2 * MIN) }),
        ],
      }),
      expected: ['0/1', 'CrashLoopBackOff', '5 (2m ago)'],
    },
    {
      name: 'restarts without a finishedAt print the bare count',
      pod: pod({
        statuses: [
          status('app', running, {
            ready: true,
            restartCount: 2,
            lastState: { terminated: { exitCode: 1 } },
          }),
        ],
      }),
      expected: ['1/1', 'Running', '2'],
    },
    {
      name: 'ContainerCreating while pending',
      pod: pod({ phase: 'Pending', statuses: [status('app', waiting('ContainerCreating'))] }),
      expected: ['0/1', 'ContainerCreating', '0'],
    },
    {
      name: 'ImagePullBackOff',
      pod: pod({ phase: 'Pending', statuses: [status('app', waiting('ImagePullBackOff'))] }),
      expected: ['0/1', 'ImagePullBackOff', '0'],
    },
    { name: 'pending with no statuses', pod: pod({ phase: 'Pending' }), expected: ['0/1', 'Pending', '0'] },
    {
      name: 'terminated without a reason prints ExitCode',
      pod: pod({ phase: 'Failed', statuses: [status('app', terminated(137))] }),
      expected: ['0/1', 'ExitCode:137', '0'],
    },
    {
      name: 'terminated by a signal prints Signal',
      pod: pod({ phase: 'Failed', statuses: [status('app', terminated(0, { signal: 9 }))] }),
      expected: ['0/1', 'Signal:9', '0'],
    },
    {
      name: 'OOMKilled reason',
      pod: pod({
        statuses: [
          status('app', terminated(137, { reason: 'OOMKilled' }), {
            restartCount: 1,
            lastState: lastTerminated(30 * SEC),
          }),
        ],
      }),
      expected: ['0/1', 'OOMKilled', '1 (30s ago)'],
    },
    {
      name: 'succeeded pod shows Completed',
      pod: pod({ phase: 'Succeeded', statuses: [status('app', terminated(0, { reason: 'Completed' }))] }),
      expected: ['0/1', 'Completed', '0'],
    },
    {
      name: 'Completed turns back into Running while another container runs and the pod is Ready',
      pod: pod({
        containers: [container('job'), container('web')],
        statuses: [
          status('job', terminated(0, { reason: 'Completed' })),
          status('web', running, { ready: true }),
        ],
        conditions: [cond('Ready', 'True')],
      }),
      expected: ['1/2', 'Running', '0'],
    },
    {
      name: 'Completed turns into NotReady without the Ready condition',
      pod: pod({
        containers: [container('job'), container('web')],
        statuses: [
          status('job', terminated(0, { reason: 'Completed' })),
          status('web', running, { ready: true }),
        ],
        conditions: [cond('Ready', 'False')],
      }),
      expected: ['1/2', 'NotReady', '0'],
    },
    {
      name: 'the first container state wins because upstream walks backwards',
      pod: pod({
        containers: [container('a'), container('b')],
        statuses: [status('a', waiting('CrashLoopBackOff')), status('b', waiting('ImagePullBackOff'))],
      }),
      expected: ['0/2', 'CrashLoopBackOff', '0'],
    },
    {
      name: 'a ready container in a waiting state is not counted ready',
      pod: pod({ statuses: [status('app', waiting('CrashLoopBackOff'), { ready: true })] }),
      expected: ['0/1', 'CrashLoopBackOff', '0'],
    },
    {
      name: 'Init:i/n while an init container runs, counting init restarts',
      pod: pod({
        phase: 'Pending',
        initContainers: [container('init-a'), container('init-b')],
        initStatuses: [
          status('init-a', terminated(0, { reason: 'Completed' })),
          status('init-b', running, { restartCount: 2, lastState: lastTerminated(MIN) }),
        ],
        statuses: [status('app', waiting('PodInitializing'))],
        conditions: [cond('Initialized', 'False')],
      }),
      expected: ['0/1', 'Init:1/2', '2 (60s ago)'],
    },
    {
      name: 'Init:0/n when the init container waits on PodInitializing',
      pod: pod({
        phase: 'Pending',
        initContainers: [container('init')],
        initStatuses: [status('init', waiting('PodInitializing'))],
      }),
      expected: ['0/1', 'Init:0/1', '0'],
    },
    {
      name: 'Init:<reason> for a failed init container',
      pod: pod({
        phase: 'Pending',
        initContainers: [container('init')],
        initStatuses: [status('init', terminated(1, { reason: 'Error' }))],
      }),
      expected: ['0/1', 'Init:Error', '0'],
    },
    {
      name: 'Init:<waiting reason>',
      pod: pod({
        phase: 'Pending',
        initContainers: [container('init')],
        initStatuses: [
          status('init', waiting('CrashLoopBackOff'), {
            restartCount: 4,
            lastState: lastTerminated(15 * SEC),
          }),
        ],
      }),
      expected: ['0/1', 'Init:CrashLoopBackOff', '4 (15s ago)'],
    },
    {
      name: 'Init:ExitCode and Init:Signal without a reason',
      pod: pod({
        phase: 'Pending',
        initContainers: [container('init')],
        initStatuses: [status('init', terminated(2))],
      }),
      expected: ['0/1', 'Init:ExitCode:2', '0'],
    },
    {
      name: 'Init:Signal',
      pod: pod({
        phase: 'Pending',
        initContainers: [container('init')],
        initStatuses: [status('init', terminated(143, { signal: 15 }))],
      }),
      expected: ['0/1', 'Init:Signal:15', '0'],
    },
    {
      name: 'completed init containers: their restarts drop out once the pod runs',
      pod: pod({
        initContainers: [container('init')],
        initStatuses: [
          status('init', terminated(0, { reason: 'Completed' }), {
            restartCount: 3,
            lastState: lastTerminated(10 * MIN),
          }),
        ],
        statuses: [status('app', running, { ready: true })],
        conditions: [cond('Initialized', 'True'), cond('Ready', 'True')],
      }),
      expected: ['1/1', 'Running', '0'],
    },
    {
      name: 'started sidecars count as ready containers and their restarts carry over',
      pod: pod({
        initContainers: [container('proxy', { restartPolicy: 'Always' })],
        initStatuses: [
          status('proxy', running, {
            started: true,
            ready: true,
            restartCount: 3,
            lastState: lastTerminated(10 * MIN),
          }),
        ],
        statuses: [
          status('app', running, { ready: true, restartCount: 1, lastState: lastTerminated(30 * MIN) }),
        ],
        conditions: [cond('Initialized', 'True'), cond('Ready', 'True')],
      }),
      expected: ['2/2', 'Running', '4 (10m ago)'],
    },
    {
      name: 'a sidecar that has not started holds the pod in Init',
      pod: pod({
        phase: 'Pending',
        initContainers: [container('proxy', { restartPolicy: 'Always' }), container('migrate')],
        initStatuses: [
          status('proxy', running, { started: false }),
          status('migrate', waiting('PodInitializing')),
        ],
        statuses: [status('app', waiting('PodInitializing'))],
      }),
      expected: ['0/2', 'Init:0/2', '0'],
    },
    {
      name: 'deletionTimestamp gives Terminating',
      pod: pod({
        deletionTimestamp: ago(10 * SEC),
        statuses: [status('app', running, { ready: true })],
        conditions: [cond('Ready', 'True')],
      }),
      expected: ['1/1', 'Terminating', '0'],
    },
    {
      name: 'deletionTimestamp on a terminal pod keeps its status',
      pod: pod({
        phase: 'Succeeded',
        deletionTimestamp: ago(10 * SEC),
        statuses: [status('app', terminated(0, { reason: 'Completed' }))],
      }),
      expected: ['0/1', 'Completed', '0'],
    },
    {
      name: 'NodeLost with deletionTimestamp gives Unknown',
      pod: pod({
        reason: 'NodeLost',
        deletionTimestamp: ago(MIN),
        statuses: [status('app', running, { ready: true })],
      }),
      expected: ['1/1', 'Unknown', '0'],
    },
    {
      name: 'status.reason overrides the phase',
      pod: pod({ phase: 'Failed', reason: 'Evicted' }),
      expected: ['0/1', 'Evicted', '0'],
    },
    {
      name: 'SchedulingGated from the PodScheduled condition',
      pod: pod({ phase: 'Pending', conditions: [cond('PodScheduled', 'False', 'SchedulingGated')] }),
      expected: ['0/1', 'SchedulingGated', '0'],
    },
  ];
  for (const c of cases) {
    assert.deepEqual(cells(PODS, c.pod).slice(1, 4), c.expected, c.name);
  }
});

test('pod rows carry name, age and the wide cells', () => {
  const cases: { name: string; pod: Pod; expected: unknown[] }[] = [
    {
      name: 'scheduled pod',
      pod: pod({
        spec: { nodeName: 'sim-worker' },
        podIP: '10.244.1.7',
        statuses: [status('app', running, { ready: true })],
      }),
      expected: ['web-1', '1/1', 'Running', '0', '5m', '10.244.1.7', 'sim-worker', '<none>', '<none>'],
    },
    {
      name: 'unscheduled pod with a nominated node',
      pod: pod({ phase: 'Pending', nominatedNodeName: 'sim-worker2' }),
      expected: ['web-1', '0/1', 'Pending', '0', '5m', '<none>', '<none>', 'sim-worker2', '<none>'],
    },
    {
      name: 'podIPs when podIP is empty, and readiness gates',
      pod: pod({
        spec: {
          nodeName: 'sim-worker',
          readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }],
        },
        podIPs: [{ ip: 'fd00::7' }],
        conditions: [cond('example.com/lb', 'True'), cond('example.com/dns', 'False')],
      }),
      expected: ['web-1', '0/1', 'Running', '0', '5m', 'fd00::7', 'sim-worker', '<none>', '1/2'],
    },
  ];
  for (const c of cases) assert.deepEqual(cells(PODS, c.pod), c.expected, c.name);
});

// ---------------------------------------------------------------------------------------------------------
// Nodes

function node(
  name: string,
  input: {
    labels?: Record<string, string>;
    ready?: Condition['status'];
    unschedulable?: boolean;
    osImage?: string;
    addresses?: { type: string; address: string }[];
  } = {},
): Node {
  const metadata = meta(name, { creationTimestamp: ago(3 * DAY + HOUR) });
  delete metadata.namespace;
  if (input.labels) metadata.labels = input.labels;
  const n: Node = {
    metadata,
    spec: {},
    status: {
      capacity: {},
      allocatable: {},
      conditions: [
        cond('MemoryPressure', 'False'),
        ...(input.ready === undefined ? [] : [cond('Ready', input.ready)]),
      ],
      addresses: input.addresses ?? [
        { type: 'InternalIP', address: '172.18.0.2' },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '6.1.0-18-amd64',
        osImage: input.osImage ?? 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.18',
        kubeletVersion: 'v1.32.2',
        kubeProxyVersion: 'v1.32.2',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
  if (input.unschedulable !== undefined) n.spec.unschedulable = input.unschedulable;
  return n;
}

test('node rows: status, roles and wide columns', () => {
  const cases: { name: string; node: Node; expected: unknown[] }[] = [
    {
      name: 'ready control plane',
      node: node('sim-control-plane', {
        labels: { 'node-role.kubernetes.io/control-plane': '' },
        ready: 'True',
      }),
      expected: [
        'sim-control-plane',
        'Ready',
        'control-plane',
        '3d1h',
        'v1.32.2',
        '172.18.0.2',
        '<none>',
        'Debian GNU/Linux 12 (bookworm)',
        '6.1.0-18-amd64',
        'containerd://1.7.18',
      ],
    },
    {
      name: 'NotReady, cordoned, roles from both label forms, sorted',
      node: node('sim-worker', {
        labels: {
          'node-role.kubernetes.io/worker': '',
          'kubernetes.io/role': 'infra',
          'node-role.kubernetes.io/control-plane': 'true',
          'node-role.kubernetes.io/': '',
          'kubernetes.io/hostname': 'sim-worker',
        },
        ready: 'False',
        unschedulable: true,
      }),
      expected: [
        'sim-worker',
        'NotReady,SchedulingDisabled',
        'control-plane,infra,worker',
        '3d1h',
        'v1.32.2',
        '172.18.0.2',
        '<none>',
        'Debian GNU/Linux 12 (bookworm)',
        '6.1.0-18-amd64',
        'containerd://1.7.18',
      ],
    },
    {
      name: 'Ready=Unknown reads NotReady',
      node: node('sim-worker2', { ready: 'Unknown' }),
      expected: [
        'sim-worker2',
        'NotReady',
        '<none>',
        '3d1h',
        'v1.32.2',
        '172.18.0.2',
        '<none>',
        'Debian GNU/Linux 12 (bookworm)',
        '6.1.0-18-amd64',
        'containerd://1.7.18',
      ],
    },
    {
      name: 'no Ready condition reads Unknown; empty OS image and an external IP',
      node: node('sim-worker3', {
        unschedulable: true,
        osImage: '',
        addresses: [
          { type: 'ExternalIP', address: '203.0.113.4' },
          { type: 'InternalIP', address: '172.18.0.4' },
        ],
      }),
      expected: [
        'sim-worker3',
        'Unknown,SchedulingDisabled',
        '<none>',
        '3d1h',
        'v1.32.2',
        '172.18.0.4',
        '203.0.113.4',
        '<unknown>',
        '6.1.0-18-amd64',
        'containerd://1.7.18',
      ],
    },
  ];
  for (const c of cases) assert.deepEqual(cells(NODES, c.node), c.expected, c.name);
});

// ---------------------------------------------------------------------------------------------------------
// Workloads

function template(...containers: Container[]): PodTemplateSpec {
  return { metadata: { labels: { app: 'web' } }, spec: { containers } };
}

function deployment(selector: LabelSelector, st: Deployment['status'], replicas = 3): Deployment {
  return {
    metadata: meta('web', { creationTimestamp: ago(10 * MIN) }),
    spec: {
      replicas,
      selector,
      template: template(
        container('nginx', { image: 'nginx:1.25' }),
        container('proxy', { image: 'envoy:1.30' }),
      ),
      strategy: { type: 'RollingUpdate' },
    },
    status: st,
  };
}

test('deployment rows: ready/desired, integer up-to-date and available, selector string', () => {
  const cases: { name: string; deployment: Deployment; expected: unknown[] }[] = [
    {
      name: 'partially ready',
      deployment: deployment(
        { matchLabels: { app: 'web' } },
        { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
      ),
      expected: ['web', '2/3', 3, 2, '10m', 'nginx,proxy', 'nginx:1.25,envoy:1.30', 'app=web'],
    },
    {
      name: 'fresh deployment with an empty status',
      deployment: deployment({ matchLabels: { app: 'web' } }, {}, 1),
      expected: ['web', '0/1', 0, 0, '10m', 'nginx,proxy', 'nginx:1.25,envoy:1.30', 'app=web'],
    },
    {
      name: 'expressions sort by key with sorted values',
      deployment: deployment(
        {
          matchLabels: { app: 'web' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['frontend', 'edge'] },
            { key: 'canary', operator: 'DoesNotExist' },
            { key: 'zone', operator: 'NotIn', values: ['b'] },
            { key: 'beta', operator: 'Exists' },
          ],
        },
        { readyReplicas: 3, updatedReplicas: 3, availableReplicas: 3 },
      ),
      expected: [
        'web',
        '3/3',
        3,
        3,
        '10m',
        'nginx,proxy',
        'nginx:1.25,envoy:1.30',
        'app=web,beta,!canary,tier in (edge,frontend),zone notin (b)',
      ],
    },
    {
      name: 'an empty selector prints empty',
      deployment: deployment({}, {}),
      expected: ['web', '0/3', 0, 0, '10m', 'nginx,proxy', 'nginx:1.25,envoy:1.30', ''],
    },
    {
      name: 'an invalid selector prints <invalid>',
      deployment: deployment({ matchExpressions: [{ key: 'tier', operator: 'In', values: [] }] }, {}),
      expected: ['web', '0/3', 0, 0, '10m', 'nginx,proxy', 'nginx:1.25,envoy:1.30', '<invalid>'],
    },
  ];
  for (const c of cases) assert.deepEqual(cells(DEPLOYMENTS, c.deployment), c.expected, c.name);
});

test('replicaset rows use integers and FormatLabelSelector', () => {
  const rs = (selector: LabelSelector, st: ReplicaSet['status']): ReplicaSet => ({
    metadata: meta('web-7d4b9c', { creationTimestamp: ago(3 * HOUR + 5 * MIN) }),
    spec: { replicas: 3, selector, template: template(container('nginx', { image: 'nginx:1.25' })) },
    status: st,
  });
  assert.deepEqual(
    cells(
      REPLICA_SETS,
      rs({ matchLabels: { app: 'web', 'pod-template-hash': '7d4b9c' } }, { replicas: 3, readyReplicas: 1 }),
    ),
    ['web-7d4b9c', 3, 3, 1, '3h5m', 'nginx', 'nginx:1.25', 'app=web,pod-template-hash=7d4b9c'],
  );
  assert.deepEqual(cells(REPLICA_SETS, rs({}, { replicas: 0 })), [
    'web-7d4b9c',
    3,
    0,
    0,
    '3h5m',
    'nginx',
    'nginx:1.25',
    '<none>',
  ]);
  assert.deepEqual(
    cells(
      REPLICA_SETS,
      rs({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, { replicas: 0 }),
    )[7],
    '<error>',
  );
});

test('daemonset rows: integer counts and the node selector', () => {
  const ds = (nodeSelector?: Record<string, string>): DaemonSet => {
    const t = template(container('agent', { image: 'agent:2' }));
    if (nodeSelector) t.spec.nodeSelector = nodeSelector;
    return {
      metadata: meta('agent', { creationTimestamp: ago(9 * DAY) }),
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: t,
        updateStrategy: { type: 'RollingUpdate' },
      },
      status: {
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 2,
        numberMisscheduled: 0,
        updatedNumberScheduled: 3,
        numberAvailable: 2,
      },
    };
  };
  assert.deepEqual(cells(DAEMON_SETS, ds({ 'kubernetes.io/os': 'linux', disk: 'ssd' })), [
    'agent',
    3,
    3,
    2,
    3,
    2,
    'disk=ssd,kubernetes.io/os=linux',
    '9d',
    'agent',
    'agent:2',
    'app=agent',
  ]);
  assert.deepEqual(cells(DAEMON_SETS, ds())[6], '<none>');
});

test('statefulset rows print ready/desired', () => {
  const sts: StatefulSet = {
    metadata: meta('db', { creationTimestamp: ago(45 * SEC) }),
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'db' } },
      template: template(container('postgres', { image: 'postgres:16' })),
      serviceName: 'db',
      updateStrategy: { type: 'RollingUpdate' },
    },
    status: { replicas: 2, readyReplicas: 1 },
  };
  assert.deepEqual(cells(STATEFUL_SETS, sts), ['db', '1/3', '45s', 'postgres', 'postgres:16']);
  assert.deepEqual(cells(STATEFUL_SETS, { ...sts, status: { replicas: 0 } }).slice(0, 2), ['db', '0/3']);
});

function job(
  input: {
    completions?: number;
    parallelism?: number;
    status?: Job['status'];
    deleting?: boolean;
    selector?: LabelSelector;
  } = {},
): Job {
  const spec: Job['spec'] = { template: template(container('pi', { image: 'perl:5.34' })) };
  if (input.completions !== undefined) spec.completions = input.completions;
  if (input.parallelism !== undefined) spec.parallelism = input.parallelism;
  if (input.selector) spec.selector = input.selector;
  const metadata = meta('pi', { creationTimestamp: ago(12 * MIN) });
  if (input.deleting === true) metadata.deletionTimestamp = ago(5 * SEC);
  return { metadata, spec, status: input.status ?? {} };
}

test('job rows: status, completions and duration', () => {
  const started = ago(10 * MIN);
  const cases: { name: string; job: Job; expected: unknown[] }[] = [
    {
      name: 'complete',
      job: job({
        completions: 1,
        parallelism: 1,
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'abc' } },
        status: {
          succeeded: 1,
          startTime: started,
          completionTime: ago(8 * MIN),
          conditions: [cond('SuccessCriteriaMet', 'True'), cond('Complete', 'True')],
        },
      }),
      expected: [
        'pi',
        'Complete',
        '1/1',
        '2m',
        '12m',
        'pi',
        'perl:5.34',
        'batch.kubernetes.io/controller-uid=abc',
      ],
    },
    {
      name: 'running for 90s',
      job: job({ completions: 3, status: { active: 1, succeeded: 1, startTime: ago(90 * SEC) } }),
      expected: ['pi', 'Running', '1/3', '90s', '12m', 'pi', 'perl:5.34', '<none>'],
    },
    {
      name: 'not started has no duration',
      job: job({ completions: 1 }),
      expected: ['pi', 'Running', '0/1', '', '12m', 'pi', 'perl:5.34', '<none>'],
    },
    {
      name: 'work queue with parallelism',
      job: job({ parallelism: 3, status: { startTime: started } }),
      expected: ['pi', 'Running', '0/1 of 3', '10m', '12m', 'pi', 'perl:5.34', '<none>'],
    },
    {
      name: 'no completions and parallelism 1',
      job: job({ parallelism: 1, status: { startTime: started } }),
      expected: ['pi', 'Running', '0/1', '10m', '12m', 'pi', 'perl:5.34', '<none>'],
    },
    {
      name: 'failed',
      job: job({
        completions: 1,
        status: {
          failed: 7,
          startTime: started,
          conditions: [cond('FailureTarget', 'True'), cond('Failed', 'True')],
        },
      }),
      expected: ['pi', 'Failed', '0/1', '10m', '12m', 'pi', 'perl:5.34', '<none>'],
    },
    {
      name: 'failure target before the Failed condition',
      job: job({
        completions: 1,
        status: { startTime: started, conditions: [cond('FailureTarget', 'True')] },
      }),
      expected: ['pi', 'FailureTarget', '0/1', '10m', '12m', 'pi', 'perl:5.34', '<none>'],
    },
    {
      name: 'suspended',
      job: job({ completions: 1, status: { conditions: [cond('Suspended', 'True')] } }),
      expected: ['pi', 'Suspended', '0/1', '', '12m', 'pi', 'perl:5.34', '<none>'],
    },
    {
      name: 'terminating wins over suspended but not over complete',
      job: job({ completions: 1, deleting: true, status: { conditions: [cond('Suspended', 'True')] } }),
      expected: ['pi', 'Terminating', '0/1', '', '12m', 'pi', 'perl:5.34', '<none>'],
    },
    {
      name: 'a False Complete condition is still running',
      job: job({ completions: 1, status: { startTime: started, conditions: [cond('Complete', 'False')] } }),
      expected: ['pi', 'Running', '0/1', '10m', '12m', 'pi', 'perl:5.34', '<none>'],
    },
  ];
  for (const c of cases) assert.deepEqual(cells(JOBS, c.job), c.expected, c.name);
  const done = job({
    completions: 1,
    deleting: true,
    status: { succeeded: 1, conditions: [cond('Complete', 'True')] },
  });
  assert.equal(cells(JOBS, done)[1], 'Complete');
});

test('cronjob rows: schedule, timezone, suspend, active and last schedule', () => {
  const cronJob = (spec: Partial<CronJob['spec']>, st: CronJob['status']): CronJob => ({
    metadata: meta('backup', { creationTimestamp: ago(HOUR) }),
    spec: {
      schedule: '*/5 * * * *',
      jobTemplate: { spec: { template: template(container('backup', { image: 'busybox:1.36' })) } },
      ...spec,
    },
    status: st,
  });
  const active = { kind: 'Job', namespace: 'default', name: 'backup-1', uid: 'u', apiVersion: 'batch/v1' };
  assert.deepEqual(
    cells(CRON_JOBS, cronJob({ suspend: false }, { active: [active], lastScheduleTime: ago(3 * MIN) })),
    ['backup', '*/5 * * * *', '<none>', 'False', 1, '3m', '60m', 'backup', 'busybox:1.36', '<none>'],
  );
  assert.deepEqual(cells(CRON_JOBS, cronJob({ suspend: true, timeZone: 'Etc/UTC' }, {})).slice(2, 6), [
    'Etc/UTC',
    'True',
    0,
    '<none>',
  ]);
  assert.equal(cells(CRON_JOBS, cronJob({}, {}))[3], '<unset>');
});

// ---------------------------------------------------------------------------------------------------------
// Services, claims, leases, namespaces

function service(
  spec: Partial<Service['spec']> & { externalIPs?: string[]; externalName?: string },
  ingress?: { ip?: string; hostname?: string }[],
): Service {
  return {
    metadata: meta('web', { creationTimestamp: ago(2 * DAY) }),
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'TCP' }], ...spec },
    status: { loadBalancer: ingress === undefined ? {} : { ingress } },
  };
}

test('service rows: cluster IP, external IP and ports per type', () => {
  const cases: { name: string; service: Service; expected: unknown[] }[] = [
    {
      name: 'ClusterIP with a selector',
      service: service({
        clusterIPs: ['10.96.0.10'],
        selector: { app: 'web', tier: 'fe' },
        ports: [
          { port: 80, protocol: 'TCP', targetPort: 8080 },
          { port: 443, protocol: 'TCP' },
        ],
      }),
      expected: ['web', 'ClusterIP', '10.96.0.10', '<none>', '80/TCP,443/TCP', '2d', 'app=web,tier=fe'],
    },
    {
      name: 'headless without ports or selector',
      service: service({ clusterIP: 'None', ports: [] }),
      expected: ['web', 'ClusterIP', 'None', '<none>', '<none>', '2d', '<none>'],
    },
    {
      name: 'NodePort with external IPs',
      service: service({
        type: 'NodePort',
        externalIPs: ['198.51.100.1', '198.51.100.2'],
        ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }],
      }),
      expected: [
        'web',
        'NodePort',
        '10.96.0.10',
        '198.51.100.1,198.51.100.2',
        '80:30080/TCP',
        '2d',
        '<none>',
      ],
    },
    {
      name: 'LoadBalancer pending',
      service: service({ type: 'LoadBalancer', ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] }),
      expected: ['web', 'LoadBalancer', '10.96.0.10', '<pending>', '443:31443/TCP', '2d', '<none>'],
    },
    {
      name: 'LoadBalancer with de-duplicated, sorted ingress and no clipping (the server prints wide)',
      service: service({ type: 'LoadBalancer' }, [
        { ip: '203.0.113.9' },
        { hostname: 'a-very-long-load-balancer.example.com' },
        { ip: '203.0.113.9' },
      ]),
      expected: [
        'web',
        'LoadBalancer',
        '10.96.0.10',
        '203.0.113.9,a-very-long-load-balancer.example.com',
        '80/TCP',
        '2d',
        '<none>',
      ],
    },
    {
      name: 'LoadBalancer ingress plus external IPs',
      service: service({ type: 'LoadBalancer', externalIPs: ['198.51.100.1'] }, [{ ip: '203.0.113.9' }]),
      expected: ['web', 'LoadBalancer', '10.96.0.10', '203.0.113.9,198.51.100.1', '80/TCP', '2d', '<none>'],
    },
    {
      name: 'ExternalName',
      service: service({ type: 'ExternalName', clusterIP: '', externalName: 'db.example.com', ports: [] }),
      expected: ['web', 'ExternalName', '<none>', 'db.example.com', '<none>', '2d', '<none>'],
    },
  ];
  for (const c of cases) assert.deepEqual(cells(SERVICES, c.service), c.expected, c.name);
});

function pvc(input: {
  volumeName?: string;
  phase?: string;
  deleting?: boolean;
  annotations?: Record<string, string>;
  accessModes?: string[];
  capacity?: string;
  volumeMode?: string;
  volumeAttributesClassName?: string;
}): PersistentVolumeClaim {
  const metadata = meta('data', { creationTimestamp: ago(20 * MIN) });
  if (input.deleting === true) metadata.deletionTimestamp = ago(SEC);
  if (input.annotations) metadata.annotations = input.annotations;
  const spec: PersistentVolumeClaim['spec'] & { volumeAttributesClassName?: string } = {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '1Gi' } },
    storageClassName: 'standard',
  };
  if (input.volumeName !== undefined) spec.volumeName = input.volumeName;
  if (input.volumeMode !== undefined) spec.volumeMode = input.volumeMode;
  if (input.volumeAttributesClassName !== undefined)
    spec.volumeAttributesClassName = input.volumeAttributesClassName;
  const st: PersistentVolumeClaim['status'] = {};
  if (input.phase !== undefined) st.phase = input.phase;
  if (input.accessModes) st.accessModes = input.accessModes;
  if (input.capacity !== undefined) st.capacity = { storage: input.capacity };
  return { metadata, spec, status: st };
}

test('persistentvolumeclaim rows', () => {
  const cases: { name: string; pvc: PersistentVolumeClaim; expected: unknown[] }[] = [
    {
      name: 'bound',
      pvc: pvc({
        volumeName: 'pvc-123',
        phase: 'Bound',
        accessModes: ['ReadWriteOnce'],
        capacity: '1Gi',
        volumeMode: 'Filesystem',
      }),
      expected: ['data', 'Bound', 'pvc-123', '1Gi', 'RWO', 'standard', '<unset>', '20m', 'Filesystem'],
    },
    {
      name: 'pending shows no capacity or modes',
      pvc: pvc({ phase: 'Pending', accessModes: ['ReadWriteOnce'], capacity: '1Gi' }),
      expected: ['data', 'Pending', '', '', '', 'standard', '<unset>', '20m', '<unset>'],
    },
    {
      name: 'terminating, beta class annotation, fixed access-mode order',
      pvc: pvc({
        volumeName: 'pvc-9',
        phase: 'Bound',
        deleting: true,
        annotations: { 'volume.beta.kubernetes.io/storage-class': 'fast' },
        accessModes: ['ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOnce', 'ReadWriteOncePod', 'ReadOnlyMany'],
        volumeAttributesClassName: 'gold',
      }),
      expected: ['data', 'Terminating', 'pvc-9', '0', 'RWO,ROX,RWX,RWOP', 'fast', 'gold', '20m', '<unset>'],
    },
  ];
  for (const c of cases) assert.deepEqual(cells(PVCS, c.pvc), c.expected, c.name);
});

test('lease and namespace rows', () => {
  const lease: Lease = {
    metadata: meta('kube-scheduler', { namespace: 'kube-system', creationTimestamp: ago(3 * DAY) }),
    spec: { holderIdentity: 'sim-control-plane_1b2c', leaseDurationSeconds: 15 },
  };
  assert.deepEqual(cells(LEASES, lease), ['kube-scheduler', 'sim-control-plane_1b2c', '3d']);
  assert.deepEqual(cells(LEASES, { ...lease, spec: {} }), ['kube-scheduler', '', '3d']);
  const ns: Namespace = {
    metadata: meta('default', { creationTimestamp: ago(3 * DAY) }),
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
  assert.deepEqual(cells(NAMESPACES, ns), ['default', 'Active', '3d']);
  assert.deepEqual(cells(NAMESPACES, { ...ns, status: { phase: 'Terminating' } }), [
    'default',
    'Terminating',
    '3d',
  ]);
});

// ---------------------------------------------------------------------------------------------------------
// Events

function event(input: Partial<CoreEvent> = {}): CoreEvent {
  return {
    metadata: meta('crashy.17c8a1b2c3d4e5f6', { creationTimestamp: ago(59 * MIN) }),
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'crashy', fieldPath: 'spec.containers{app}' },
    reason: 'BackOff',
    message: 'Back-off restarting failed container app in pod crashy_default(uid-crashy)\n',
    source: { component: 'kubelet', host: 'sim-worker' },
    firstTimestamp: ago(59 * MIN),
    lastTimestamp: ago(20 * SEC),
    count: 31,
    type: 'Warning',
    eventTime: null,
    reportingComponent: 'kubelet',
    reportingInstance: 'sim-worker',
    ...input,
  };
}

test('core event rows follow upstream printEvent', () => {
  const message = 'Back-off restarting failed container app in pod crashy_default(uid-crashy)';
  const cases: { name: string; event: CoreEvent; expected: unknown[] }[] = [
    {
      name: 'repeated event: last seen, trimmed message, first seen and count',
      event: event(),
      expected: [
        '20s',
        'Warning',
        'BackOff',
        'pod/crashy',
        'spec.containers{app}',
        'kubelet, sim-worker',
        message,
        '59m',
        31,
        'crashy.17c8a1b2c3d4e5f6',
      ],
    },
    {
      name: 'no lastTimestamp falls back to first seen, count 0 reads 1',
      event: event({
        involvedObject: { kind: 'Node', name: 'sim-worker' },
        reason: 'NodeNotReady',
        type: 'Normal',
        message: 'Node sim-worker status is now: NodeNotReady',
        source: { component: 'node-controller' },
        reportingComponent: '',
        reportingInstance: '',
        firstTimestamp: ago(4 * MIN),
        lastTimestamp: null,
        count: 0,
      }),
      expected: [
        '4m',
        'Normal',
        'NodeNotReady',
        'node/sim-worker',
        '',
        'node-controller',
        'Node sim-worker status is now: NodeNotReady',
        '4m',
        1,
        'crashy.17c8a1b2c3d4e5f6',
      ],
    },
    {
      name: 'new-style event: eventTime, series and reporting controller',
      event: event({
        involvedObject: { kind: 'Deployment', name: 'web' },
        reason: 'ScalingReplicaSet',
        type: 'Normal',
        message: 'Scaled up replica set web-7d4b9c to 3',
        source: {},
        reportingComponent: 'deployment-controller',
        reportingInstance: '',
        firstTimestamp: null,
        lastTimestamp: null,
        eventTime: new Date(NOW - 10 * MIN).toISOString().replace('Z', '000Z'),
        count: 0,
        series: { count: 4, lastObservedTime: new Date(NOW - 90 * SEC).toISOString().replace('Z', '000Z') },
      }),
      expected: [
        '90s',
        'Normal',
        'ScalingReplicaSet',
        'deployment/web',
        '',
        'deployment-controller',
        'Scaled up replica set web-7d4b9c to 3',
        '10m',
        4,
        'crashy.17c8a1b2c3d4e5f6',
      ],
    },
    {
      name: 'no times at all and an object without a name',
      event: event({
        involvedObject: { kind: 'ClusterRole', name: '' },
        firstTimestamp: null,
        lastTimestamp: null,
        count: 2,
        source: { host: 'h1' },
        reportingComponent: 'rbac',
      }),
      expected: [
        '<unknown>',
        'Warning',
        'BackOff',
        'clusterrole',
        '',
        'rbac, h1',
        message,
        '<unknown>',
        2,
        'crashy.17c8a1b2c3d4e5f6',
      ],
    },
  ];
  for (const c of cases) assert.deepEqual(cells(CORE_EVENTS, c.event), c.expected, c.name);
});

test('events.k8s.io/v1 rows read regarding, note, the deprecated fields and series', () => {
  const cases: CoreEvent[] = [
    event(),
    event({
      firstTimestamp: null,
      lastTimestamp: null,
      count: 0,
      eventTime: new Date(NOW - 10 * MIN).toISOString().replace('Z', '000Z'),
      series: { count: 4, lastObservedTime: new Date(NOW - 90 * SEC).toISOString().replace('Z', '000Z') },
      source: {},
      reportingComponent: 'deployment-controller',
      reportingInstance: 'sim-control-plane',
    }),
  ];
  for (const core of cases) {
    const v1 = toEventsV1(core);
    assert.deepEqual(cells(EVENTS_V1, v1), cells(CORE_EVENTS, core));
  }
  assert.deepEqual(cells(EVENTS_V1, toEventsV1(event())).slice(0, 4), [
    '20s',
    'Warning',
    'BackOff',
    'pod/crashy',
  ]);
});

test('eventInterval prints the kubectl events/describe interval', () => {
  const cases: { name: string; event: KObject; expected: string }[] = [
    { name: 'core repeated event', event: event(), expected: '20s (x31 over 59m)' },
    { name: 'events.k8s.io view', event: toEventsV1(event()), expected: '20s (x31 over 59m)' },
    {
      name: 'series',
      event: event({
        eventTime: new Date(NOW - 3 * HOUR).toISOString().replace('Z', '000Z'),
        series: { count: 12, lastObservedTime: new Date(NOW - 5 * MIN).toISOString().replace('Z', '000Z') },
      }),
      expected: '5m (x12 over 3h)',
    },
    { name: 'singleton', event: event({ count: 1, firstTimestamp: ago(3 * MIN) }), expected: '3m' },
  ];
  for (const c of cases) assert.equal(eventInterval(c.event, NOW), c.expected, c.name);
});
