import type { VersionResult } from './probes/results.js';
import type { NodeRecord, PodRecord } from './records.js';
import type { ClusterView } from './view.js';

/** The platform names tell where the cluster runs. */
export type PlatformName = 'eks' | 'gke' | 'aks' | 'self-managed' | 'unknown';

/** These are the control-plane components whose visibility is detected. */
export type ControlPlaneComponentName =
  'kube-apiserver' | 'etcd' | 'kube-scheduler' | 'kube-controller-manager' | 'cloud-controller-manager';

/** The control-plane components are listed in the order they are reported. */
export const CONTROL_PLANE_COMPONENT_NAMES: readonly ControlPlaneComponentName[] = [
  'kube-apiserver',
  'etcd',
  'kube-scheduler',
  'kube-controller-manager',
  'cloud-controller-manager',
];

/**
 * How a control-plane component can be seen from inside the cluster, flattened into one value:
 * `static-pod`, `pod` or `lease-only` when the monitor sees it, `provider-managed` when a managed
 * platform runs it out of sight, `absent` otherwise. `PlatformInfo.controlPlane` has the two parts apart.
 */
export type Visibility = 'static-pod' | 'pod' | 'lease-only' | 'provider-managed' | 'absent';

/** This tells whether and how the monitor can observe one control-plane component. */
export interface ComponentVisibility {
  /** `visible`: the monitor observes it; `provider-managed`: the platform owns it; `absent`: not seen. */
  visibility: 'visible' | 'provider-managed' | 'absent';
  /**
   * What the monitor sees of it: its mirror pod (`static-pod`), an ordinary pod (`pod`), only its
   * leader-election Lease (`lease-only`), only the API itself (`api`, the API server), or nothing.
   */
  how: 'static-pod' | 'pod' | 'lease-only' | 'api' | 'none';
  /** The pod or Lease the observation rests on, `namespace/name`. */
  object: string | undefined;
}

/** This tells whether kube-proxy runs, or what replaced it. */
export interface KubeProxyInfo {
  /** `replaced`: no kube-proxy, but a CNI that does its job (Cilium, GKE Dataplane V2's anetd). */
  state: 'present' | 'replaced' | 'absent';
  /** The DaemonSet (`kube-system/anetd`) that replaces it. */
  replacedBy: string | undefined;
}

/** This is the detected platform and what the monitor can observe of the control plane. */
export interface PlatformInfo {
  platform: PlatformName;
  /** Human-readable name, e.g. `EKS`, `self-managed`. */
  label: string;
  isManaged: boolean;
  /** Why: the facts the detection rests on. */
  evidence: string[];
  /** Per component, whether and how it can be observed. */
  controlPlane: Record<ControlPlaneComponentName, ComponentVisibility>;
  /** The same, flattened into one value per component (what `healwatch inventory` shows). */
  components: Record<ControlPlaneComponentName, Visibility>;
  kubeProxy: KubeProxyInfo;
  /** kube-proxy is absent because the CNI replaces it (Cilium, GKE Dataplane V2): not missing. */
  isKubeProxyReplaced: boolean;
}

const LABELS: Record<PlatformName, string> = {
  eks: 'EKS',
  gke: 'GKE',
  aks: 'AKS',
  'self-managed': 'self-managed',
  unknown: 'unknown',
};

type Managed = 'eks' | 'gke' | 'aks';

// AKS builds carry no vendor suffix in their version.
const MARKERS: Record<Managed, { suffix: RegExp | undefined; providerId: string; labelPrefix: string }> = {
  eks: { suffix: /-eks-/, providerId: 'aws://', labelPrefix: 'eks.amazonaws.com/' },
  gke: { suffix: /-gke\./, providerId: 'gce://', labelPrefix: 'cloud.google.com/gke-' },
  aks: { suffix: undefined, providerId: 'azure://', labelPrefix: 'kubernetes.azure.com/' },
};

/** DaemonSets of CNIs that replace kube-proxy when kube-proxy is not installed. */
const KUBE_PROXY_REPLACEMENTS = [/^cilium$/, /^cilium-agent$/, /^anetd$/, /^kube-router$/];

function hasLabelPrefix(node: NodeRecord, prefix: string): boolean {
  return Object.keys(node.labels ?? {}).some((k) => k.startsWith(prefix));
}

/** The kube-system pod that runs a control-plane component, preferring its static (mirror) pod. */
function componentPod(pods: readonly PodRecord[], name: ControlPlaneComponentName): PodRecord | undefined {
  const matches = pods.filter(
    (p) =>
      p.labels?.component === name ||
      p.labels?.['k8s-app'] === name ||
      ((p.isStatic || p.labels?.tier === 'control-plane') && p.name.startsWith(`${name}-`)),
  );
  return matches.find((p) => p.isStatic) ?? matches[0];
}

/**
 * Detects EKS, GKE, AKS or a self-managed cluster from the version string (`-eks-`, `-gke.`), node
 * provider IDs (`aws://`, `gce://`, `azure://`) and node labels, and tells for each control-plane
 * component whether it is visible (as a static pod, a pod, or only through its leader Lease) or owned by
 * the provider — so a component the platform hides is never taken for one that is down. A cloud
 * provider ID alone (a self-managed cluster on cloud VMs) is not taken for a managed control plane.
 */
export function detectPlatform(view: ClusterView, version: VersionResult | string | undefined): PlatformInfo {
  const gitVersion = typeof version === 'string' ? version : version?.gitVersion;
  const nodes = view.list('Node');
  const votes: Record<Managed, string[]> = { eks: [], gke: [], aks: [] };
  for (const platform of ['eks', 'gke', 'aks'] as const) {
    const marker = MARKERS[platform];
    if (gitVersion !== undefined && marker.suffix?.test(gitVersion))
      votes[platform].push(`version ${gitVersion} has the ${LABELS[platform]} suffix`);
    const labelled = nodes.filter((n) => hasLabelPrefix(n, marker.labelPrefix)).length;
    if (labelled > 0) votes[platform].push(`${labelled} node(s) labelled ${marker.labelPrefix}*`);
  }
  const providerIds: Record<Managed, number> = { eks: 0, gke: 0, aks: 0 };
  for (const platform of ['eks', 'gke', 'aks'] as const) {
    providerIds[platform] = nodes.filter((n) =>
      n.providerID?.startsWith(MARKERS[platform].providerId),
    ).length;
    if (providerIds[platform] > 0 && votes[platform].length > 0)
      votes[platform].push(
        `${providerIds[platform]} node(s) with ${MARKERS[platform].providerId} provider IDs`,
      );
  }

  const systemPods = view.list('Pod', 'kube-system');
  const pods = new Map(CONTROL_PLANE_COMPONENT_NAMES.map((name) => [name, componentPod(systemPods, name)]));
  const managed = (Object.entries(votes) as [Managed, string[]][])
    .filter(([, v]) => v.length > 0)
    .sort((a, b) => b[1].length - a[1].length)[0];
  const controlPlaneNodes = nodes.filter(
    (n) => n.roles.includes('control-plane') || n.roles.includes('master'),
  );
  let platform: PlatformName;
  let evidence: string[];
  if (managed) {
    [platform, evidence] = managed;
  } else if (pods.get('kube-apiserver') || pods.get('kube-scheduler') || pods.get('etcd')) {
    platform = 'self-managed';
    const seen = CONTROL_PLANE_COMPONENT_NAMES.filter((n) => pods.get(n)?.isStatic);
    evidence = [`control-plane static pods in kube-system: ${seen.join(', ') || 'none static'}`];
  } else if (controlPlaneNodes.length > 0) {
    platform = 'self-managed';
    evidence = [`${controlPlaneNodes.length} control-plane node(s): ${controlPlaneNodes[0]!.name}`];
  } else {
    platform = 'unknown';
    evidence = ['no provider markers and no visible control plane'];
  }
  if (!managed) {
    for (const p of ['eks', 'gke', 'aks'] as const)
      if (providerIds[p] > 0)
        evidence.push(
          `${providerIds[p]} node(s) with ${MARKERS[p].providerId} provider IDs, but no managed control plane markers`,
        );
  }
  const isManaged = platform === 'eks' || platform === 'gke' || platform === 'aks';

  const observe = (name: ControlPlaneComponentName): ComponentVisibility => {
    const pod = pods.get(name);
    if (pod)
      return {
        visibility: 'visible',
        how: pod.isStatic ? 'static-pod' : 'pod',
        object: `kube-system/${pod.name}`,
      };
    const lease =
      name === 'kube-apiserver' || name === 'etcd' ? undefined : view.get('Lease', 'kube-system', name);
    const leaseRef = lease ? `kube-system/${lease.name}` : undefined;
    if (isManaged) {
      // The provider runs it; its Lease (where the provider leaves it visible) is all there is to see.
      if (name === 'kube-apiserver') return { visibility: 'provider-managed', how: 'api', object: undefined };
      return { visibility: 'provider-managed', how: lease ? 'lease-only' : 'none', object: leaseRef };
    }
    // The API server answers the monitor, so it is visible even when it runs outside the cluster.
    if (name === 'kube-apiserver') return { visibility: 'visible', how: 'api', object: undefined };
    if (lease) return { visibility: 'visible', how: 'lease-only', object: leaseRef };
    return { visibility: 'absent', how: 'none', object: undefined };
  };
  const controlPlane = Object.fromEntries(
    CONTROL_PLANE_COMPONENT_NAMES.map((name) => [name, observe(name)]),
  ) as Record<ControlPlaneComponentName, ComponentVisibility>;
  const flatten = (name: ControlPlaneComponentName): Visibility => {
    const c = controlPlane[name];
    if (c.how === 'static-pod' || c.how === 'pod') return c.how;
    if (c.visibility === 'provider-managed') return 'provider-managed';
    if (c.how === 'lease-only') return 'lease-only';
    return 'absent';
  };
  const components = Object.fromEntries(
    CONTROL_PLANE_COMPONENT_NAMES.map((name) => [name, flatten(name)]),
  ) as Record<ControlPlaneComponentName, Visibility>;

  const daemonSets = view.list('DaemonSet', 'kube-system').map((d) => d.name);
  const replacement = daemonSets.find((d) => KUBE_PROXY_REPLACEMENTS.some((r) => r.test(d)));
  const kubeProxy: KubeProxyInfo = daemonSets.includes('kube-proxy')
    ? { state: 'present', replacedBy: undefined }
    : replacement
      ? { state: 'replaced', replacedBy: `kube-system/${replacement}` }
      : { state: 'absent', replacedBy: undefined };

  return {
    platform,
    label: LABELS[platform],
    isManaged,
    evidence,
    controlPlane,
    components,
    kubeProxy,
    isKubeProxyReplaced: kubeProxy.state === 'replaced',
  };
}
