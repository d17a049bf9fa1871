import type { ClusterView } from './view.js';

/** Where the cluster runs. */
export type PlatformName = 'eks' | 'gke' | 'aks' | 'self-managed' | 'unknown';

/** How a control-plane component can be seen from inside the cluster. */
export type Visibility = 'static-pod' | 'pod' | 'lease-only' | 'provider-managed' | 'absent';

/** The platform and what the monitor can observe of the control plane. */
export interface PlatformInfo {
  platform: PlatformName;
  /** Human-readable name, e.g. `EKS`, `self-managed`. */
  label: string;
  isManaged: boolean;
  /** Why: the facts the detection rests on. */
  evidence: string[];
  components: Record<
    'kube-apiserver' | 'etcd' | 'kube-scheduler' | 'kube-controller-manager' | 'cloud-controller-manager',
    Visibility
  >;
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

/**
 * Detects EKS, GKE, AKS or a self-managed cluster from the version string, node provider IDs and node
 * labels, and tells for each control-plane component whether it is visible (as a static pod, a pod, or
 * only through its leader Lease) or owned by the provider — so a component the platform hides is never
 * taken for one that is down.
 */
export function detectPlatform(view: ClusterView, gitVersion: string | undefined): PlatformInfo {
  const votes: Record<'eks' | 'gke' | 'aks', string[]> = { eks: [], gke: [], aks: [] };
  if (gitVersion && /-eks-/.test(gitVersion)) votes.eks.push(`version ${gitVersion}`);
  if (gitVersion && /-gke\./.test(gitVersion)) votes.gke.push(`version ${gitVersion}`);
  const nodes = view.list('Node');
  const count = (test: (n: (typeof nodes)[number]) => boolean): number => nodes.filter(test).length;
  const aws = count((n) => n.providerID?.startsWith('aws://') === true);
  const gce = count((n) => n.providerID?.startsWith('gce://') === true);
  const azure = count((n) => n.providerID?.startsWith('azure://') === true);
  const eksLabels = count((n) => Object.keys(n.labels ?? {}).some((k) => k.startsWith('eks.amazonaws.com/')));
  const gkeLabels = count((n) =>
    Object.keys(n.labels ?? {}).some((k) => k.startsWith('cloud.google.com/gke-')),
  );
  const aksLabels = count((n) =>
    Object.keys(n.labels ?? {}).some((k) => k.startsWith('kubernetes.azure.com/')),
  );
  if (eksLabels > 0) votes.eks.push(`${eksLabels} node(s) labelled eks.amazonaws.com/*`);
  if (gkeLabels > 0) votes.gke.push(`${gkeLabels} node(s) labelled cloud.google.com/gke-*`);
  if (aksLabels > 0) votes.aks.push(`${aksLabels} node(s) labelled kubernetes.azure.com/*`);
  // A cloud provider ID alone (self-managed on EC2, GCE, Azure VMs) is not a managed control plane.
  if (aws > 0 && votes.eks.length > 0) votes.eks.push(`${aws} aws:// provider ID(s)`);
  if (gce > 0 && votes.gke.length > 0) votes.gke.push(`${gce} gce:// provider ID(s)`);
  if (azure > 0 && votes.aks.length > 0) votes.aks.push(`${azure} azure:// provider ID(s)`);

  const staticPods = view
    .list('Pod', 'kube-system')
    .filter((p) => p.isStatic || p.labels?.tier === 'control-plane');
  const componentPod = (name: string) =>
    staticPods.find((p) => p.labels?.component === name) ??
    view
      .list('Pod', 'kube-system')
      .find((p) => p.name.startsWith(`${name}-`) && p.labels?.tier === 'control-plane');
  const managed = (Object.entries(votes) as [PlatformName, string[]][])
    .filter(([, v]) => v.length > 0)
    .sort((a, b) => b[1].length - a[1].length)[0];
  let platform: PlatformName;
  let evidence: string[];
  if (managed) {
    [platform, evidence] = managed;
  } else if (componentPod('kube-apiserver') || componentPod('kube-scheduler')) {
    platform = 'self-managed';
    evidence = ['control-plane static pods in kube-system'];
  } else if (nodes.some((n) => n.roles.includes('control-plane') || n.roles.includes('master'))) {
    platform = 'self-managed';
    evidence = ['control-plane nodes'];
  } else {
    platform = 'unknown';
    evidence = ['no provider markers and no visible control plane'];
  }
  const isManaged = platform === 'eks' || platform === 'gke' || platform === 'aks';
  const visibility = (name: string, hasLease: boolean): Visibility => {
    const pod = componentPod(name);
    if (pod) return pod.isStatic ? 'static-pod' : 'pod';
    if (isManaged) return 'provider-managed';
    if (hasLease && view.get('Lease', 'kube-system', name)) return 'lease-only';
    return 'absent';
  };
  const daemonSets = view.list('DaemonSet', 'kube-system').map((d) => d.name);
  const hasKubeProxy = daemonSets.includes('kube-proxy');
  const replacement = daemonSets.find((d) => d === 'cilium' || d === 'anetd' || d.startsWith('cilium-'));
  return {
    platform,
    label: LABELS[platform],
    isManaged,
    evidence,
    components: {
      // The API server is reachable by definition: on a managed platform it is the provider's.
      'kube-apiserver': componentPod('kube-apiserver')
        ? visibility('kube-apiserver', false)
        : isManaged
          ? 'provider-managed'
          : 'absent',
      etcd: visibility('etcd', false),
      'kube-scheduler': visibility('kube-scheduler', true),
      'kube-controller-manager': visibility('kube-controller-manager', true),
      'cloud-controller-manager': visibility('cloud-controller-manager', true),
    },
    isKubeProxyReplaced: !hasKubeProxy && replacement !== undefined,
  };
}
