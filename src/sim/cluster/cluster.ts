import type { Container, KObject, Node, Pod, Taint } from '../model.js';
import { R, storageOf, type ResourceType } from '../api/resources.js';
import type { DeleteOptions, HealthCheck, RawResponse } from '../api/server.js';
import { ApiError, badRequest, notFound } from '../api/status.js';
import { formatKi, formatNanoCores, parseQuantity } from '../quantity.js';
import { hashString } from '../random.js';
import { isoSeconds } from '../time.js';
import type { Behavior } from './behavior.js';
import type { CertificateAuthority } from '../api/tls.js';
import type { Autoscaler } from './autoscaler.js';
import { admit } from './admission.js';
import { ControlPlane } from './control-plane.js';
import { CronJobController } from './controllers/cronjob.js';
import { DaemonSetController } from './controllers/daemonset.js';
import { DeploymentController } from './controllers/deployment.js';
import { GarbageCollector } from './controllers/garbage-collector.js';
import { JobController } from './controllers/job.js';
import { NodeLifecycleController } from './controllers/node-lifecycle.js';
import { ReplicaSetController } from './controllers/replicaset.js';
import { StatefulSetController } from './controllers/statefulset.js';
import { Kubelet } from './kubelet.js';
import { Scheduler } from './scheduler.js';
import { containerUsage } from './usage.js';
import { World, type Component, type Platform, type WorldOptions } from './world.js';

/** The shape of one node to add. */
export interface NodeSpec {
  name: string;
  role: 'control-plane' | 'worker';
  zone: string;
  region: string;
  instanceType: string;
  cpu: number;
  memoryGiB: number;
  maxPods?: number;
  labels?: Record<string, string>;
  taints?: Taint[];
  providerID?: string;
  createdAt: number;
  internalIp: string;
  /** Node group (for the Cluster Autoscaler). */
  group?: string;
}

/** Overrides container behavior; the fault engine installs one. */
export type BehaviorOverride = (pod: Pod, container: Container) => Behavior | undefined;

/**
 * The simulated cluster: the world, a kubelet per node, the control plane and every controller, plus
 * the API-facing operations the server needs (admission defaults, deletion semantics, metrics, the
 * kubelet endpoints behind the node proxy).
 */
export class Cluster {
  readonly world: World;
  readonly kubelets = new Map<string, Kubelet>();
  readonly scheduler: Scheduler;
  readonly garbageCollector: GarbageCollector;
  controlPlane!: ControlPlane;
  /** The Cluster Autoscaler (scale-up), when the scenario has one. */
  autoscaler: Autoscaler | undefined;
  /** The cluster CA that signs the API serving certificate, when serving TLS. */
  certificateAuthority: CertificateAuthority | undefined;
  behaviorOverride: BehaviorOverride = () => undefined;
  private nodeIndex = 0;

  constructor(options: WorldOptions) {
    this.world = new World(options);
    this.scheduler = new Scheduler(this.world);
    new ReplicaSetController(this.world);
    new DeploymentController(this.world);
    new DaemonSetController(this.world);
    new StatefulSetController(this.world);
    new JobController(this.world);
    new CronJobController(this.world);
    new NodeLifecycleController(this.world);
    this.garbageCollector = new GarbageCollector(this.world);
    // A deleted Node's kubelet goes with it (its machine was removed): no more heartbeats or pods.
    this.world.store.subscribe(R.nodes, (c) => {
      if (c.type !== 'DELETED') return;
      this.kubelets.get(c.object.metadata.name)?.stop();
      this.kubelets.delete(c.object.metadata.name);
    });
    this.world.store.subscribe(R.pods, (c) => {
      const pod = c.object as Pod;
      const node = pod.spec.nodeName ?? (c.previous as Pod | undefined)?.spec.nodeName;
      if (node) this.kubelets.get(node)?.onPodChange(c);
    });
  }

  /** The platform the cluster pretends to run on. */
  get platform(): Platform {
    return this.world.options.platform;
  }

  /** Creates the control plane (static pods on `controlPlaneNode` when self-managed). */
  initControlPlane(controlPlaneNode: Node | undefined): void {
    this.controlPlane = new ControlPlane(this.world, controlPlaneNode?.metadata.name);
    if (controlPlaneNode) this.controlPlane.createStaticPods(controlPlaneNode);
  }

  /** Whether a component is up. */
  isUp(component: Component): boolean {
    return this.world.isComponentUp(component);
  }

  /** Adds a node and starts its kubelet. */
  addNode(spec: NodeSpec): Node {
    const world = this.world;
    const index = this.nodeIndex++;
    const kubeletVersion = world.gitVersion;
    const allocatableMemory = Math.max(1, spec.memoryGiB * 1024 * 1024 - 350 * 1024);
    const labels: Record<string, string> = {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/instance-type': spec.instanceType,
      'beta.kubernetes.io/os': 'linux',
      'failure-domain.beta.kubernetes.io/region': spec.region,
      'failure-domain.beta.kubernetes.io/zone': spec.zone,
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': spec.name,
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': spec.instanceType,
      'topology.kubernetes.io/region': spec.region,
      'topology.kubernetes.io/zone': spec.zone,
      ...(spec.role === 'control-plane'
        ? {
            'node-role.kubernetes.io/control-plane': '',
            'node.kubernetes.io/exclude-from-external-load-balancers': '',
          }
        : {}),
      ...(spec.labels ?? {}),
    };
    const node: Node = {
      metadata: {
        name: spec.name,
        uid: world.uid(),
        resourceVersion: '',
        creationTimestamp: isoSeconds(spec.createdAt),
        labels,
        annotations: {
          'node.alpha.kubernetes.io/ttl': '0',
          'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
          ...(this.platform === 'kubeadm'
            ? { 'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock' }
            : {}),
        },
      },
      spec: {
        podCIDR: `10.244.${index % 256}.0/24`,
        podCIDRs: [`10.244.${index % 256}.0/24`],
        ...(spec.providerID ? { providerID: spec.providerID } : {}),
        ...(spec.taints && spec.taints.length > 0 ? { taints: spec.taints } : {}),
      },
      status: {
        capacity: {
          cpu: String(spec.cpu),
          'ephemeral-storage': '102687672Ki',
          'hugepages-1Gi': '0',
          'hugepages-2Mi': '0',
          memory: `${spec.memoryGiB * 1024 * 1024}Ki`,
          pods: String(spec.maxPods ?? 110),
        },
        allocatable: {
          cpu: spec.cpu > 2 ? `${spec.cpu * 1000 - 100}m` : String(spec.cpu),
          'ephemeral-storage': '94635070922',
          'hugepages-1Gi': '0',
          'hugepages-2Mi': '0',
          memory: `${allocatableMemory}Ki`,
          pods: String(spec.maxPods ?? 110),
        },
        conditions: [],
        addresses: [
          { type: 'InternalIP', address: spec.internalIp },
          { type: 'Hostname', address: spec.name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          machineID: world.rng.hex(32),
          systemUUID: world.rng.uuid(),
          bootID: world.rng.uuid(),
          kernelVersion:
            this.platform === 'gke'
              ? '6.6.72+'
              : this.platform === 'eks'
                ? '6.1.128-136.201.amzn2023.x86_64'
                : '6.1.0-28-cloud-amd64',
          osImage:
            this.platform === 'gke'
              ? 'Container-Optimized OS from Google'
              : this.platform === 'eks'
                ? 'Amazon Linux 2023.6.20250203'
                : this.platform === 'aks'
                  ? 'Ubuntu 22.04.5 LTS'
                  : 'Debian GNU/Linux 12 (bookworm)',
          containerRuntimeVersion: 'containerd://1.7.24',
          kubeletVersion,
          kubeProxyVersion: '',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
        images: [],
      },
    };
    const created = world.store.create(R.nodes, node);
    const kubelet = new Kubelet(
      world,
      spec.name,
      { behaviorOverride: (p, c) => this.behaviorOverride(p, c) },
      { podCidrIndex: index },
    );
    this.kubelets.set(spec.name, kubelet);
    kubelet.reportStatus();
    return world.store.get<Node>(R.nodes, undefined, created.metadata.name) ?? created;
  }

  /** Re-evaluates container behavior on every node (after a fault starts or stops). */
  refreshBehavior(): void {
    for (const k of this.kubelets.values()) k.refreshBehavior();
  }

  /** Admission for objects created through the API: defaults and validation (see admission.ts). */
  admit(resource: ResourceType, object: KObject): KObject {
    return admit(resource, object);
  }

  /** Deletion through the API (see ApiBackend.remove). */
  remove(resource: ResourceType, object: KObject, options: DeleteOptions): KObject | undefined {
    const storage = storageOf(resource);
    const store = this.world.store;
    const { namespace, name } = object.metadata;
    if (storage === R.pods) return this.world.deletePod(object as Pod, options.gracePeriodSeconds);
    if (storage === R.namespaces) {
      if (['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(name)) {
        throw new ApiError(
          403,
          'Forbidden',
          `namespaces "${name}" is forbidden: this namespace may not be deleted`,
        );
      }
      for (const r of [
        R.deployments,
        R.daemonsets,
        R.statefulsets,
        R.cronjobs,
        R.jobs,
        R.replicasets,
        R.pods,
        R.services,
        R.pvcs,
        R.leases,
        R.events,
      ]) {
        for (const o of store.list(r, name)) store.delete(r, name, o.metadata.name);
      }
    }
    if (options.propagationPolicy === 'Orphan') this.garbageCollector.orphan(object.metadata.uid);
    store.delete(storage, namespace, name);
    return undefined;
  }

  /** `metrics.k8s.io` NodeMetrics and PodMetrics, as metrics-server serves them. */
  metrics(kind: 'NodeMetrics' | 'PodMetrics', namespace: string | undefined): KObject[] {
    if (!this.isUp('metrics-server')) {
      throw new ApiError(503, 'ServiceUnavailable', 'the server is currently unable to handle the request');
    }
    const now = this.world.now();
    const timestamp = isoSeconds(now - 5000);
    const window = `${(15 + (now % 10_000) / 1000).toFixed(3)}s`;
    if (kind === 'NodeMetrics') {
      const out: KObject[] = [];
      for (const node of this.world.store.iterate<Node>(R.nodes)) {
        const kubelet = this.kubelets.get(node.metadata.name);
        if (!kubelet?.isRunning) continue; // metrics-server drops nodes it cannot scrape
        const usage = this.nodeUsage(node.metadata.name, now);
        out.push({
          metadata: {
            name: node.metadata.name,
            creationTimestamp: isoSeconds(now),
            ...(node.metadata.labels ? { labels: node.metadata.labels } : {}),
          },
          timestamp,
          window,
          usage: { cpu: formatNanoCores(usage.cpu), memory: formatKi(usage.memory) },
        } as unknown as KObject);
      }
      return out;
    }
    const out: KObject[] = [];
    for (const pod of this.world.store.iterate<Pod>(R.pods, namespace)) {
      if (
        pod.status.phase !== 'Running' ||
        !pod.spec.nodeName ||
        !this.kubelets.get(pod.spec.nodeName)?.isRunning
      )
        continue;
      const containers = this.podContainerUsage(pod, now).map(({ name, usage }) => ({
        name,
        usage: { cpu: formatNanoCores(usage.cpu), memory: formatKi(usage.memory) },
      }));
      if (containers.length === 0) continue;
      out.push({
        metadata: {
          name: pod.metadata.name,
          namespace: pod.metadata.namespace,
          creationTimestamp: isoSeconds(now),
          ...(pod.metadata.labels ? { labels: pod.metadata.labels } : {}),
        },
        timestamp,
        window,
        containers,
      } as unknown as KObject);
    }
    return out;
  }

  /** Usage of each running container of a pod. */
  podContainerUsage(pod: Pod, now: number): { name: string; usage: { cpu: number; memory: number } }[] {
    const kubelet = pod.spec.nodeName ? this.kubelets.get(pod.spec.nodeName) : undefined;
    const out: { name: string; usage: { cpu: number; memory: number } }[] = [];
    for (const c of pod.spec.containers) {
      const rt = kubelet?.containerRuntime(pod.metadata.uid, c.name);
      if (!rt || rt.state !== 'running') continue;
      const isOom = rt.behavior.kind === 'crash' && rt.behavior.reason === 'OOMKilled';
      out.push({ name: c.name, usage: containerUsage(pod, c, now, isOom, rt.startedAt ?? now) });
    }
    return out;
  }

  /** Usage of a whole node: its pods plus the system daemons. */
  nodeUsage(nodeName: string, now: number): { cpu: number; memory: number } {
    let cpu = 80 + (hashString(nodeName) % 60) + 20 * Math.sin(now / 300_000);
    let memory = (550 + (hashString(nodeName) % 300)) * 2 ** 20;
    for (const pod of this.world.podsOnNode(nodeName)) {
      if (pod.status.phase !== 'Running') continue;
      for (const { usage } of this.podContainerUsage(pod, now)) {
        cpu += usage.cpu;
        memory += usage.memory;
      }
    }
    return { cpu, memory };
  }

  /** The kubelet endpoints behind `/api/v1/nodes/NAME/proxy/...`. */
  nodeProxy(nodeName: string, path: string, query: URLSearchParams): RawResponse {
    const kubelet = this.kubelets.get(nodeName);
    const node = this.world.store.get<Node>(R.nodes, undefined, nodeName);
    if (!kubelet || !node) throw notFound('nodes', '', nodeName);
    if (!kubelet.isRunning) {
      throw new ApiError(
        503,
        'ServiceUnavailable',
        `error trying to reach service: dial tcp ${kubelet.internalIp()}:10250: connect: connection refused`,
      );
    }
    const clean = path.replace(/^\/+/, '');
    if (clean === 'healthz') return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'ok' };
    if (clean === 'stats/summary') {
      return {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify(this.summary(node, kubelet, query.get('only_cpu_and_memory') === 'true')),
      };
    }
    if (clean === 'metrics')
      return {
        status: 200,
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        body: this.kubeletMetrics(node, kubelet),
      };
    if (clean === 'pods') {
      const items = this.world.podsOnNode(nodeName);
      return {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items }),
      };
    }
    return { status: 404, contentType: 'text/plain; charset=utf-8', body: '404 page not found\n' };
  }

  /** The kubelet Summary API (`/stats/summary`), shaped as the stats/v1alpha1 types. */
  private summary(node: Node, kubelet: Kubelet, isCpuAndMemoryOnly: boolean): unknown {
    const now = this.world.now();
    const time = isoSeconds(now);
    const usage = this.nodeUsage(node.metadata.name, now);
    const capacityMemory = parseQuantity(node.status.capacity.memory);
    const cpuStats = (milli: number, since: number): unknown => ({
      time,
      usageNanoCores: Math.round(milli * 1e6),
      usageCoreNanoSeconds: Math.round(milli * 1e6 * ((now - since) / 1000)),
    });
    const memStats = (bytes: number, limit?: number): unknown => ({
      time,
      ...(limit ? { availableBytes: Math.max(0, Math.round(limit - bytes)) } : {}),
      usageBytes: Math.round(bytes * 1.25),
      workingSetBytes: Math.round(bytes),
      rssBytes: Math.round(bytes * 0.8),
      pageFaults: Math.round(bytes / 4096) % 100_000_000,
      majorPageFaults: Math.round(bytes / 2 ** 24) % 1000,
    });
    const fsStats = (capacity: number, used: number, available: number): unknown => ({
      time,
      availableBytes: Math.round(available),
      capacityBytes: Math.round(capacity),
      usedBytes: Math.round(used),
      inodesFree: 6_000_000 - Math.round(used / 40_000),
      inodes: 6_553_600,
      inodesUsed: 553_600 + Math.round(used / 40_000),
    });
    const startedAt = isoSeconds(kubelet.startedAt);
    const fsCapacity = kubelet.fsCapacityBytes;
    const fsUsed = kubelet.fsUsedBytes();
    const fsAvailable = kubelet.fsAvailableBytes();
    const nodeStats: Record<string, unknown> = {
      nodeName: node.metadata.name,
      systemContainers: [
        {
          name: 'kubelet',
          startTime: startedAt,
          cpu: cpuStats(25, kubelet.startedAt),
          memory: memStats(80 * 2 ** 20),
        },
        {
          name: 'runtime',
          startTime: startedAt,
          cpu: cpuStats(12, kubelet.startedAt),
          memory: memStats(60 * 2 ** 20),
        },
        {
          name: 'pods',
          startTime: startedAt,
          cpu: cpuStats(usage.cpu * 0.85, kubelet.startedAt),
          memory: memStats(usage.memory * 0.8, capacityMemory),
        },
      ],
      startTime: isoSeconds(Date.parse(node.metadata.creationTimestamp)),
      cpu: cpuStats(usage.cpu, Date.parse(node.metadata.creationTimestamp)),
      memory: memStats(usage.memory, capacityMemory),
    };
    if (!isCpuAndMemoryOnly) {
      nodeStats.network = {
        time,
        name: 'eth0',
        rxBytes: Math.round((now / 1000) * 50_000) % 2 ** 40,
        rxErrors: 0,
        txBytes: Math.round((now / 1000) * 40_000) % 2 ** 40,
        txErrors: 0,
        interfaces: [
          {
            name: 'eth0',
            rxBytes: Math.round((now / 1000) * 50_000) % 2 ** 40,
            rxErrors: 0,
            txBytes: Math.round((now / 1000) * 40_000) % 2 ** 40,
            txErrors: 0,
          },
        ],
      };
      nodeStats.fs = fsStats(fsCapacity, fsUsed, fsAvailable);
      nodeStats.runtime = {
        imageFs: fsStats(fsCapacity, kubelet.imageBytes(), fsAvailable),
        containerFs: fsStats(fsCapacity, fsUsed - kubelet.imageBytes(), fsAvailable),
      };
      nodeStats.rlimit = {
        time,
        maxpid: 4_194_304,
        curproc: 300 + this.world.podKeysOnNode(node.metadata.name).size * 12,
      };
    }
    const pods: unknown[] = [];
    for (const pod of this.world.podsOnNode(node.metadata.name)) {
      if (pod.status.phase !== 'Running') continue;
      const containers = this.podContainerUsage(pod, now);
      const start = Date.parse(pod.status.startTime ?? pod.metadata.creationTimestamp);
      const cpu = containers.reduce((n, c) => n + c.usage.cpu, 0);
      const memory = containers.reduce((n, c) => n + c.usage.memory, 0);
      const ephemeral = kubelet.podEphemeralBytes(pod.metadata.uid);
      const stats: Record<string, unknown> = {
        podRef: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
        startTime: isoSeconds(start),
        containers: containers.map((c) => ({
          name: c.name,
          startTime: isoSeconds(start),
          cpu: cpuStats(c.usage.cpu, start),
          memory: memStats(c.usage.memory),
          ...(isCpuAndMemoryOnly
            ? {}
            : {
                rootfs: fsStats(fsCapacity, ephemeral * 0.7, fsAvailable),
                logs: fsStats(fsCapacity, ephemeral * 0.3, fsAvailable),
              }),
        })),
        cpu: cpuStats(cpu, start),
        memory: memStats(memory),
      };
      if (!isCpuAndMemoryOnly) {
        stats.volume = (pod.spec.volumes ?? []).map((v) => {
          if (v.persistentVolumeClaim) {
            const claim = this.world.store.get<
              KObject & { spec: { resources: { requests: { storage?: string } } } }
            >(R.pvcs, pod.metadata.namespace, v.persistentVolumeClaim.claimName);
            const capacity = parseQuantity(claim?.spec.resources.requests.storage ?? '10Gi');
            const used =
              capacity * (0.2 + (hashString(v.persistentVolumeClaim.claimName) % 500) / 1000) +
              this.volumeFill(pod, v.name, capacity);
            return {
              ...(fsStats(capacity, Math.min(used, capacity), Math.max(0, capacity - used)) as object),
              name: v.name,
              pvcRef: { name: v.persistentVolumeClaim.claimName, namespace: pod.metadata.namespace },
            };
          }
          return {
            ...(fsStats(fsCapacity, 4096 + (hashString(v.name) % 100_000), fsAvailable) as object),
            name: v.name,
          };
        });
        stats['ephemeral-storage'] = fsStats(fsCapacity, ephemeral, fsAvailable);
        stats.process_stats = { process_count: containers.length * 3 };
      }
      pods.push(stats);
    }
    return { node: nodeStats, pods };
  }

  /** Extra bytes used in a pod volume (a hook for faults; none by default). */
  volumeFill: (pod: Pod, volume: string, capacity: number) => number = () => 0;

  /** The kubelet's Prometheus metrics (the parts a monitor reads: certificate TTLs, running pods). */
  private kubeletMetrics(node: Node, kubelet: Kubelet): string {
    const now = this.world.now();
    const running = this.world.podsOnNode(node.metadata.name).filter((p) => p.status.phase === 'Running');
    // The kubelet reports its own build, which may differ from the API server's during an upgrade.
    const kubeletVersion = node.status.nodeInfo.kubeletVersion;
    const [, major = '1', minor = '0'] = /^v(\d+)\.(\d+)/.exec(kubeletVersion) ?? [];
    const containers = running.reduce(
      (n, p) => n + (p.status.containerStatuses ?? []).filter((c) => c.state.running).length,
      0,
    );
    return [
      '# HELP kubelet_certificate_manager_client_expiration_renew_errors [ALPHA] Counter of certificate renewal errors.',
      '# TYPE kubelet_certificate_manager_client_expiration_renew_errors counter',
      'kubelet_certificate_manager_client_expiration_renew_errors 0',
      "# HELP kubelet_certificate_manager_client_ttl_seconds [ALPHA] Gauge of the TTL (time-to-live) of the Kubelet's client certificate. The value is in seconds until certificate expiry (negative if already expired). If client certificate is invalid or unused, the value will be +INF.",
      '# TYPE kubelet_certificate_manager_client_ttl_seconds gauge',
      `kubelet_certificate_manager_client_ttl_seconds ${Math.round((kubelet.clientCertNotAfter - now) / 1000)}`,
      "# HELP kubelet_certificate_manager_server_ttl_seconds [ALPHA] Gauge of the shortest TTL (time-to-live) of the Kubelet's serving certificate. The value is in seconds until certificate expiry (negative if already expired). If serving certificate is invalid or unused, the value will be +INF.",
      '# TYPE kubelet_certificate_manager_server_ttl_seconds gauge',
      `kubelet_certificate_manager_server_ttl_seconds ${Math.round((kubelet.serverCertNotAfter - now) / 1000)}`,
      "# HELP kubelet_node_name [ALPHA] The node's name. The count is always 1.",
      '# TYPE kubelet_node_name gauge',
      `kubelet_node_name{node="${node.metadata.name}"} 1`,
      '# HELP kubelet_running_pods [ALPHA] Number of pods that have a running pod sandbox',
      '# TYPE kubelet_running_pods gauge',
      `kubelet_running_pods ${running.length}`,
      '# HELP kubelet_running_containers [ALPHA] Number of containers currently running',
      '# TYPE kubelet_running_containers gauge',
      `kubelet_running_containers{container_state="running"} ${containers}`,
      "# HELP kubernetes_build_info [ALPHA] A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.",
      '# TYPE kubernetes_build_info gauge',
      `kubernetes_build_info{build_date="2025-02-12T21:19:47Z",compiler="gc",git_commit="67a30c0adcf52bd3f56ff0893ce19966be12991f",git_tree_state="clean",git_version="${kubeletVersion}",go_version="go1.23.6",major="${major}",minor="${minor}",platform="linux/amd64"} 1`,
      '',
    ].join('\n');
  }

  /** The API server health checks. */
  healthChecks(endpoint: 'livez' | 'readyz' | 'healthz'): HealthCheck[] {
    return this.controlPlane.healthChecks(endpoint);
  }

  /** Validates a node name argument for faults and returns its kubelet. */
  requireKubelet(name: string): Kubelet {
    const kubelet = this.kubelets.get(name);
    if (!kubelet) {
      const names = [...this.kubelets.keys()];
      throw badRequest(
        `node "${name}" not found; nodes: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''}`,
      );
    }
    return kubelet;
  }
}
