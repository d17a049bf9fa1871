import type { Node } from '../model.js';
import { Autoscaler } from '../cluster/autoscaler.js';
import type { Cluster, NodeSpec } from '../cluster/cluster.js';
import type { Platform } from '../cluster/world.js';
import { hashString, Random } from '../random.js';
import {
  cronJob,
  daemonSet,
  deployment,
  namespace,
  service,
  statefulSet,
  type PodShape,
} from './workloads.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The shape of the cluster a scenario builds. */
export interface ClusterShape {
  platform: Platform;
  /** Worker nodes. */
  nodes: number;
  /** When set, filler Deployments bring the cluster to about this many pods per worker (scale tests). */
  podsPerNode: number | undefined;
  /** Most workers the Cluster Autoscaler may reach. */
  maxNodes: number;
}

/** Names of the scenarios built into the simulator. */
export const BUILTIN_SCENARIOS = ['demo', 'eks', 'gke', 'aks'] as const;

/** Kubernetes 1.32 was released on this day; a minor release has followed about every four months. */
const V1_32_RELEASED = Date.UTC(2024, 11, 11);
const RELEASE_INTERVAL_MS = (365.25 / 3) * 86_400_000;

/**
 * The Kubernetes minor a well-kept cluster runs at `at`: the release before the newest one, so the
 * simulated cluster is healthy by version too (never at or near end of life) whatever the date.
 */
export function currentMinor(at: number): number {
  return Math.max(32, 32 + Math.floor((at - V1_32_RELEASED) / RELEASE_INTERVAL_MS) - 1);
}

/**
 * The default `/version` of each platform at the cluster's start time (kubectl's dispatcher picks its
 * client from the minor). Set `version` (`--kube-version`) for a fixed one.
 */
export function defaultVersion(platform: Platform, at = Date.now()): string {
  const minor = currentMinor(at);
  switch (platform) {
    case 'eks':
      return `v1.${minor}.9-eks-113cf36`;
    case 'gke':
      return `v1.${minor}.4-gke.1415000`;
    case 'aks':
      return `v1.${minor}.7`;
    default:
      return `v1.${minor}.2`;
  }
}

const ZONES: Record<Platform, { region: string; zones: string[] }> = {
  kubeadm: { region: 'sim-region', zones: ['sim-zone-a', 'sim-zone-b'] },
  eks: { region: 'eu-west-1', zones: ['eu-west-1a', 'eu-west-1b'] },
  gke: { region: 'europe-west1', zones: ['europe-west1-b', 'europe-west1-c'] },
  aks: { region: 'westeurope', zones: ['westeurope-1', 'westeurope-2'] },
};

/** Builds the spec of worker `index` for a platform (also used by the autoscaler for new nodes). */
export function workerSpec(platform: Platform, index: number, createdAt: number, seed: string): NodeSpec {
  const { region, zones } = ZONES[platform];
  const zone = zones[index % zones.length]!;
  const rng = new Random(`${seed}/node/${index}`);
  const a = 1 + (index % 3) * 16 + Math.floor(index / 250);
  const b = 10 + (index % 240);
  const base = {
    role: 'worker' as const,
    zone,
    region,
    cpu: 4,
    memoryGiB: 16,
    createdAt,
    internalIp: `10.0.${a % 256}.${b}`,
    group: 'default',
  };
  switch (platform) {
    case 'eks': {
      const name = `ip-10-0-${a % 256}-${b}.${region}.compute.internal`;
      return {
        ...base,
        name,
        instanceType: 'm6i.xlarge',
        providerID: `aws:///${zone}/i-0${rng.hex(16)}`,
        labels: {
          'eks.amazonaws.com/nodegroup': 'default',
          'eks.amazonaws.com/capacityType': 'ON_DEMAND',
          'eks.amazonaws.com/nodegroup-image': 'ami-0c1e2d3f4a5b6c7d8',
          'k8s.io/cloud-provider-aws': rng.hex(32),
        },
      };
    }
    case 'gke': {
      const name = `gke-sim-default-pool-${rng.hex(8)}-${rng.nameSuffix(4)}`;
      return {
        ...base,
        name,
        instanceType: 'e2-standard-4',
        providerID: `gce://sim-project/${zone}/${name}`,
        labels: {
          'cloud.google.com/gke-nodepool': 'default-pool',
          'cloud.google.com/gke-os-distribution': 'cos',
          'cloud.google.com/machine-family': 'e2',
          'cloud.google.com/gke-boot-disk': 'pd-balanced',
        },
      };
    }
    case 'aks': {
      const n = index.toString(36).padStart(6, '0');
      const name = `aks-nodepool1-${String(hashString(seed) % 100_000_000).padStart(8, '0')}-vmss${n}`;
      return {
        ...base,
        name,
        instanceType: 'Standard_D4s_v5',
        providerID: `azure:///subscriptions/${new Random(seed).uuid()}/resourceGroups/mc_sim_sim_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-vmss/virtualMachines/${index}`,
        labels: {
          'kubernetes.azure.com/agentpool': 'nodepool1',
          'kubernetes.azure.com/cluster': 'MC_sim_sim_westeurope',
          agentpool: 'nodepool1',
        },
      };
    }
    default:
      return {
        ...base,
        name: index === 0 ? 'sim-worker' : `sim-worker${index + 1}`,
        instanceType: 'sim.xlarge',
      };
  }
}

/**
 * Builds the cluster a scenario starts from, as if it had been running for three weeks: nodes, the
 * control plane (static pods when self-managed), kube-system add-ons, the log agent, an ingress
 * controller, cert-manager, and application namespaces with Deployments, a StatefulSet and a CronJob.
 * Objects are created through the real controllers while the clock walks through that history.
 */
export function buildCluster(cluster: Cluster, shape: ClusterShape, now: number): void {
  const world = cluster.world;
  const { platform } = shape;
  const birth = now - 21 * DAY;
  world.clock.jumpTo(Math.max(world.now(), birth));
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) namespace(world, ns);
  let cpNode: Node | undefined;
  if (platform === 'kubeadm') {
    cpNode = cluster.addNode({
      name: 'sim-control-plane',
      role: 'control-plane',
      zone: ZONES.kubeadm.zones[0]!,
      region: ZONES.kubeadm.region,
      instanceType: 'sim.large',
      cpu: 2,
      memoryGiB: 8,
      createdAt: birth,
      internalIp: '10.0.0.10',
      taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
    });
  }
  cluster.initControlPlane(cpNode);
  for (let i = 0; i < shape.nodes; i++)
    cluster.addNode(workerSpec(platform, i, birth + 60_000 + i * 1000, world.options.seed));
  cluster.autoscaler = new Autoscaler(
    cluster,
    shape.maxNodes,
    (i, t) => workerSpec(platform, i, t, world.options.seed),
    shape.nodes,
  );
  world.settle();

  world.clock.jumpTo(birth + 5 * 60_000);
  const critical = { priorityClassName: 'system-cluster-critical' };
  const nodeCritical = { priorityClassName: 'system-node-critical' };
  const everywhere = [{ operator: 'Exists' as const }];
  deployment(world, 'kube-system', 'coredns', 2, {
    image: 'registry.k8s.io/coredns/coredns:v1.11.3',
    container: 'coredns',
    labels: { 'k8s-app': 'kube-dns' },
    cpu: '100m',
    memory: '70Mi',
    memoryLimit: '170Mi',
    ports: [53, 9153],
    readinessProbe: true,
    ...critical,
  });
  service(world, 'kube-system', 'kube-dns', { 'k8s-app': 'kube-dns' }, 53, '10.96.0.10');
  if (platform !== 'gke') {
    daemonSet(world, 'kube-system', 'kube-proxy', {
      image: `registry.k8s.io/kube-proxy:${world.gitVersion.replace(/-.*$/, '')}`,
      container: 'kube-proxy',
      labels: { 'k8s-app': 'kube-proxy' },
      hostNetwork: true,
      tolerations: everywhere,
      ...nodeCritical,
    });
  }
  const cni: Record<Platform, [string, string, string]> = {
    kubeadm: ['calico-node', 'docker.io/calico/node:v3.29.1', 'calico-node'],
    eks: [
      'aws-node',
      '602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1',
      'aws-node',
    ],
    gke: ['anetd', 'gke.gcr.io/cilium/cilium:v1.15.9-gke.5', 'cilium-agent'],
    aks: ['azure-cns', 'mcr.microsoft.com/containernetworking/azure-cns:v1.6.18', 'cns-container'],
  };
  const [cniName, cniImage, cniContainer] = cni[platform];
  daemonSet(world, 'kube-system', cniName, {
    image: cniImage,
    container: cniContainer,
    labels: { 'k8s-app': cniName },
    cpu: '100m',
    hostNetwork: true,
    tolerations: everywhere,
    ...nodeCritical,
  });
  if (platform === 'kubeadm') {
    deployment(world, 'kube-system', 'calico-kube-controllers', 1, {
      image: 'docker.io/calico/kube-controllers:v3.29.1',
      container: 'calico-kube-controllers',
      labels: { 'k8s-app': 'calico-kube-controllers' },
      ...critical,
    });
  }
  deployment(world, 'kube-system', 'metrics-server', 1, {
    image: 'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
    container: 'metrics-server',
    labels: { 'k8s-app': 'metrics-server', 'app.kubernetes.io/name': 'metrics-server' },
    cpu: '100m',
    memory: '200Mi',
    ports: [10250],
    readinessProbe: true,
    ...critical,
  });
  if (platform === 'kubeadm' || platform === 'eks') {
    deployment(world, 'kube-system', 'cluster-autoscaler', 1, {
      image: 'registry.k8s.io/autoscaling/cluster-autoscaler:v1.32.0',
      container: 'cluster-autoscaler',
      labels: { app: 'cluster-autoscaler', 'app.kubernetes.io/name': 'cluster-autoscaler' },
      cpu: '100m',
      memory: '300Mi',
      args: [
        '--cloud-provider=clusterapi',
        '--nodes=1:' + shape.maxNodes + ':default',
        '--scale-down-unneeded-time=10m',
      ],
      ...critical,
    });
  }
  world.settle();

  world.clock.jumpTo(birth + HOUR);
  namespace(world, 'logging');
  daemonSet(world, 'logging', 'fluent-bit', {
    image: 'cr.fluentbit.io/fluent/fluent-bit:3.2.4',
    container: 'fluent-bit',
    labels: { 'app.kubernetes.io/name': 'fluent-bit', 'app.kubernetes.io/instance': 'fluent-bit' },
    cpu: '50m',
    memory: '64Mi',
    tolerations: everywhere,
  });
  namespace(world, 'ingress-nginx');
  deployment(world, 'ingress-nginx', 'ingress-nginx-controller', 2, {
    image: 'registry.k8s.io/ingress-nginx/controller:v1.12.0',
    container: 'controller',
    labels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' },
    cpu: '100m',
    memory: '90Mi',
    ports: [80, 443],
    readinessProbe: true,
  });
  namespace(world, 'cert-manager');
  for (const [name, image] of [
    ['cert-manager', 'quay.io/jetstack/cert-manager-controller:v1.16.2'],
    ['cert-manager-cainjector', 'quay.io/jetstack/cert-manager-cainjector:v1.16.2'],
    ['cert-manager-webhook', 'quay.io/jetstack/cert-manager-webhook:v1.16.2'],
  ] as const) {
    deployment(world, 'cert-manager', name, 1, {
      image,
      container: name.replace('cert-manager-', '').replace('cert-manager', 'cert-manager-controller'),
      labels: {
        app: name,
        'app.kubernetes.io/name': name.replace('cert-manager-', '') || 'cert-manager',
        'app.kubernetes.io/instance': 'cert-manager',
      },
      cpu: '10m',
      memory: '32Mi',
    });
  }
  world.settle();

  world.clock.jumpTo(birth + 2 * DAY);
  namespace(world, 'shop');
  const app = (image: string, extra: Partial<PodShape> = {}): PodShape => ({
    image,
    cpu: '100m',
    memory: '128Mi',
    memoryLimit: '256Mi',
    ports: [8080],
    readinessProbe: true,
    ...extra,
  });
  deployment(world, 'shop', 'frontend', 3, app('ghcr.io/healwatch-sim/shop-frontend:2.4.1'));
  service(world, 'shop', 'frontend', { app: 'frontend' }, 8080, '10.96.12.40');
  deployment(world, 'shop', 'cart', 2, app('ghcr.io/healwatch-sim/shop-cart:1.9.0'));
  deployment(world, 'shop', 'checkout', 2, app('ghcr.io/healwatch-sim/shop-checkout:3.0.2'));
  statefulSet(
    world,
    'shop',
    'postgres',
    1,
    { image: 'docker.io/library/postgres:16.6', cpu: '250m', memory: '512Mi', ports: [5432] },
    { claim: 'data', size: '20Gi', mountPath: '/var/lib/postgresql/data' },
  );
  service(world, 'shop', 'postgres', { app: 'postgres' }, 5432, '10.96.12.41');
  namespace(world, 'payments');
  deployment(world, 'payments', 'api', 3, app('ghcr.io/healwatch-sim/payments-api:5.2.0'));
  deployment(
    world,
    'payments',
    'worker',
    2,
    app('ghcr.io/healwatch-sim/payments-worker:5.2.0', { ports: [9090] }),
  );
  cronJob(world, 'payments', 'settlement-report', '*/15 * * * *', {
    image: 'ghcr.io/healwatch-sim/payments-report:5.2.0',
    cpu: '50m',
    memory: '64Mi',
    behavior: 'complete:40s',
  });
  world.settle();

  if (shape.podsPerNode !== undefined) addFiller(cluster, shape);

  world.clock.jumpTo(now - 3 * DAY);
  world.settle();
}

/** Filler Deployments that bring a large cluster to its pods-per-node target (for scale runs). */
function addFiller(cluster: Cluster, shape: ClusterShape): void {
  const world = cluster.world;
  const perNode = shape.podsPerNode ?? 0;
  // DaemonSets already run 3 pods per worker; the demo apps about 15 in all.
  const wanted = Math.max(0, shape.nodes * (perNode - 3) - 15);
  const replicasPer = 50;
  const deployments = Math.ceil(wanted / replicasPer);
  const perNamespace = 100;
  for (let i = 0; i < deployments; i++) {
    const ns = `load-${Math.floor(i / perNamespace)}`;
    if (i % perNamespace === 0) namespace(world, ns);
    const replicas = Math.min(replicasPer, wanted - i * replicasPer);
    deployment(world, ns, `svc-${i % perNamespace}`, replicas, {
      image: `ghcr.io/healwatch-sim/load:${1 + (i % 7)}.0`,
      cpu: '10m',
      memory: '32Mi',
    });
    if (i % 20 === 19) world.settle();
  }
  world.settle();
}
