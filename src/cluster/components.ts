/**
 * What self-healing stands on, as data: the cluster components Healwatch knows, how to recognise them
 * among workloads, and what breaks when each is down. The rules and the inventory read it; teams
 * extend it through configuration.
 */

/** The role a component plays. */
export type ComponentRole =
  | 'control-plane'
  | 'dns'
  | 'service-proxy'
  | 'network'
  | 'metrics'
  | 'autoscaler'
  | 'log-agent'
  | 'ingress'
  | 'certificates'
  | 'storage'
  | 'monitoring'
  | 'policy';

/** A known cluster component. */
export interface ComponentDefinition {
  /** A short name, e.g. `coredns`. */
  readonly name: string;
  readonly role: ComponentRole;
  /** Workload names (or name prefixes ending in `-`) it runs as. */
  readonly workloads: readonly string[];
  /** What stops working when it is down, said in terms of self-healing. */
  readonly whenDown: string;
}

/** The components Healwatch recognises out of the box. */
export const KNOWN_COMPONENTS: readonly ComponentDefinition[] = [
  {
    name: 'coredns',
    role: 'dns',
    workloads: ['coredns', 'kube-dns'],
    whenDown: 'services cannot find each other by name (DNS lookups fail)',
  },
  {
    name: 'kube-proxy',
    role: 'service-proxy',
    workloads: ['kube-proxy'],
    whenDown: 'traffic to Services is not routed to new or moved pods',
  },
  {
    name: 'cni',
    role: 'network',
    workloads: [
      'calico-node',
      'calico-kube-controllers',
      'cilium',
      'cilium-operator',
      'anetd',
      'aws-node',
      'azure-cns',
      'kube-flannel-ds',
      'weave-net',
      'antrea-agent',
    ],
    whenDown: 'new pods get no network and stay in ContainerCreating; node networking may break',
  },
  {
    name: 'metrics-server',
    role: 'metrics',
    workloads: ['metrics-server'],
    whenDown: '`kubectl top` and HorizontalPodAutoscalers stop working (autoscaling is blind)',
  },
  {
    name: 'cluster-autoscaler',
    role: 'autoscaler',
    workloads: ['cluster-autoscaler', 'karpenter'],
    whenDown: 'no new nodes are added when pods cannot be placed: capacity stops healing',
  },
  {
    name: 'log-agent',
    role: 'log-agent',
    workloads: [
      'fluent-bit',
      'fluentd',
      'vector',
      'promtail',
      'datadog-agent',
      'datadog',
      'otel-collector',
      'opentelemetry-collector',
      'filebeat',
      'alloy',
    ],
    whenDown: 'container logs are no longer shipped and are lost when pods go away',
  },
  {
    name: 'ingress-controller',
    role: 'ingress',
    workloads: ['ingress-nginx-controller', 'traefik', 'haproxy-ingress', 'contour', 'envoy-gateway'],
    whenDown: 'traffic from outside the cluster no longer reaches services',
  },
  {
    name: 'cert-manager',
    role: 'certificates',
    workloads: ['cert-manager', 'cert-manager-cainjector', 'cert-manager-webhook'],
    whenDown: 'certificates are not issued or renewed and eventually expire',
  },
  {
    name: 'csi-driver',
    role: 'storage',
    workloads: [
      'ebs-csi-controller',
      'ebs-csi-node',
      'efs-csi-controller',
      'pdcsi-node',
      'csi-azuredisk-node',
      'csi-azurefile-node',
      'csi-',
    ],
    whenDown: 'volumes cannot be attached or mounted: pods with PersistentVolumeClaims cannot start',
  },
  {
    name: 'kube-state-metrics',
    role: 'monitoring',
    workloads: ['kube-state-metrics'],
    whenDown: 'Prometheus loses the object metrics its alerts use',
  },
  {
    name: 'policy-engine',
    role: 'policy',
    workloads: ['kyverno-admission-controller', 'gatekeeper-controller-manager'],
    whenDown: 'admission webhooks may reject or time out every change',
  },
];

/** What breaks when each control-plane component is down. */
export const CONTROL_PLANE: readonly { name: string; whenDown: string }[] = [
  {
    name: 'kube-apiserver',
    whenDown: 'nothing can be read or changed; controllers and kubelets cannot report',
  },
  { name: 'etcd', whenDown: 'the API server cannot store or read cluster state' },
  { name: 'kube-scheduler', whenDown: 'new pods stay Pending' },
  {
    name: 'kube-controller-manager',
    whenDown: 'Deployments and ReplicaSets stop creating replicas, lost nodes are not noticed, CronJobs stop',
  },
  {
    name: 'cloud-controller-manager',
    whenDown: 'new nodes are not initialised and load balancers are not provisioned',
  },
];

/** Namespaces whose workloads count as cluster components besides `kube-system` (teams add their own). */
export const DEFAULT_ADDON_NAMESPACES: readonly string[] = [
  'kube-system',
  'logging',
  'ingress-nginx',
  'cert-manager',
  'monitoring',
  'kube-flannel',
  'calico-system',
  'tigera-operator',
  'cilium',
  'karpenter',
  'amazon-cloudwatch',
  'gmp-system',
  'gke-managed-system',
  'kyverno',
  'gatekeeper-system',
];

/** The known component a workload is part of, if any. */
export function componentOf(workloadName: string): ComponentDefinition | undefined {
  return KNOWN_COMPONENTS.find((c) =>
    c.workloads.some((w) => (w.endsWith('-') ? workloadName.startsWith(w) : workloadName === w)),
  );
}
