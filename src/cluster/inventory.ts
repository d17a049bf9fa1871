import { componentOf, CONTROL_PLANE, DEFAULT_ADDON_NAMESPACES } from './components.js';
import type { PlatformInfo, Visibility } from './platform.js';
import type { HealthEndpointResult } from './probes/results.js';
import type { ConditionRecord, NodeRecord } from './records.js';
import type { ClusterView } from './view.js';

/** A node as the inventory shows it. */
export interface InventoryNode {
  name: string;
  status: 'Ready' | 'NotReady' | 'Unknown';
  /** Why, when not Ready (the condition's reason and message). */
  reason: string | undefined;
  isSchedulable: boolean;
  roles: string[];
  kubeletVersion: string;
  zone: string | undefined;
  pods: number;
  /** Seconds since the node's Lease was renewed (server clock). */
  heartbeatAgeSeconds: number | undefined;
}

/** A cluster-component workload (kube-system and add-on namespaces). */
export interface InventoryWorkload {
  namespace: string;
  kind: 'Deployment' | 'DaemonSet' | 'StatefulSet';
  name: string;
  component: string | undefined;
  desired: number;
  available: number;
  status: 'Healthy' | 'Degraded' | 'Down' | 'Scaled to zero';
  whenDown: string | undefined;
}

/** The workload and node part of the inventory (control plane and platform come from the probes). */
export interface InventoryCore {
  nodes: InventoryNode[];
  workloads: InventoryWorkload[];
}

function nodeStatus(ready: ConditionRecord | undefined): InventoryNode['status'] {
  if (ready?.status === 'True') return 'Ready';
  if (ready?.status === 'False') return 'NotReady';
  return 'Unknown';
}

/** Nodes with readiness and versions, and every cluster-component workload with desired/available. */
export function inventoryCore(
  view: ClusterView,
  serverNow: number,
  addonNamespaces = DEFAULT_ADDON_NAMESPACES,
): InventoryCore {
  const nodes = view
    .list('Node')
    .sort((a: NodeRecord, b: NodeRecord) => (a.name < b.name ? -1 : 1))
    .map((n): InventoryNode => {
      const ready = n.conditions.Ready;
      const lease = view.get('Lease', 'kube-node-lease', n.name);
      const status = nodeStatus(ready);
      return {
        name: n.name,
        status,
        reason:
          status === 'Ready'
            ? undefined
            : [ready?.reason, ready?.message].filter(Boolean).join(': ') || undefined,
        isSchedulable: !n.isUnschedulable,
        roles: [...n.roles],
        kubeletVersion: n.kubeletVersion,
        zone: n.zone,
        pods: view.podsOnNode(n.name).filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed').length,
        heartbeatAgeSeconds:
          lease?.renewedAt === undefined
            ? undefined
            : Math.max(0, Math.round((serverNow - lease.renewedAt) / 1000)),
      };
    });
  const workloads: InventoryWorkload[] = [];
  const isAddonNamespace = (ns: string | undefined): boolean =>
    ns !== undefined && addonNamespaces.includes(ns);
  const judge = (desired: number, available: number): InventoryWorkload['status'] =>
    desired === 0
      ? 'Scaled to zero'
      : available >= desired
        ? 'Healthy'
        : available === 0
          ? 'Down'
          : 'Degraded';
  for (const d of view.list('Deployment')) {
    const component = componentOf(d.name);
    if (!isAddonNamespace(d.namespace) && !component) continue;
    workloads.push({
      namespace: d.namespace ?? '',
      kind: 'Deployment',
      name: d.name,
      component: component?.name,
      desired: d.replicas,
      available: d.availableReplicas,
      status: judge(d.replicas, d.availableReplicas),
      whenDown: component?.whenDown,
    });
  }
  for (const ds of view.list('DaemonSet')) {
    const component = componentOf(ds.name);
    if (!isAddonNamespace(ds.namespace) && !component) continue;
    workloads.push({
      namespace: ds.namespace ?? '',
      kind: 'DaemonSet',
      name: ds.name,
      component: component?.name,
      desired: ds.desired,
      available: ds.available,
      status: judge(ds.desired, ds.available),
      whenDown: component?.whenDown,
    });
  }
  for (const s of view.list('StatefulSet')) {
    const component = componentOf(s.name);
    if (!isAddonNamespace(s.namespace) && !component) continue;
    workloads.push({
      namespace: s.namespace ?? '',
      kind: 'StatefulSet',
      name: s.name,
      component: component?.name,
      desired: s.replicas,
      available: s.availableReplicas,
      status: judge(s.replicas, s.availableReplicas),
      whenDown: component?.whenDown,
    });
  }
  workloads.sort((a, b) =>
    a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
  );
  return { nodes, workloads };
}

/** A control-plane component as the inventory shows it. */
export interface InventoryComponent {
  name: string;
  /** How Healwatch sees it: as a static pod, a pod, only through its leader Lease, or not at all. */
  visibility: Visibility;
  status: 'Healthy' | 'Unhealthy' | 'not observable here (provider-managed)' | 'unknown';
  reason: string | undefined;
  leaseHolder: string | undefined;
  leaseRenewAgeSeconds: number | undefined;
  leaseDurationSeconds: number | undefined;
  whenDown: string;
}

/**
 * The control-plane components: from their static pods (running), their leader-election Leases
 * (renewed within the lease duration), and `/readyz` for the API server. Components the platform runs
 * out of sight are "not observable here", never "down"; a cloud-controller-manager nowhere to be seen
 * is simply not used.
 */
export function inventoryControlPlane(
  view: ClusterView,
  serverNow: number,
  platform: PlatformInfo,
  readyz: HealthEndpointResult | undefined,
): InventoryComponent[] {
  const rows = CONTROL_PLANE.map(({ name, whenDown }): InventoryComponent => {
    const visibility = platform.components[name as keyof PlatformInfo['components']];
    const pod = view
      .list('Pod', 'kube-system')
      .find(
        (p) =>
          (p.isStatic || p.labels?.tier === 'control-plane') &&
          (p.labels?.component === name || p.name.startsWith(`${name}-`)),
      );
    const lease =
      name === 'kube-scheduler' || name === 'kube-controller-manager' || name === 'cloud-controller-manager'
        ? view.get('Lease', 'kube-system', name)
        : undefined;
    const renewAge =
      lease?.renewedAt === undefined ? undefined : Math.max(0, (serverNow - lease.renewedAt) / 1000);
    const isLeaseStale =
      lease !== undefined && renewAge !== undefined && renewAge > (lease.durationSeconds ?? 15);
    const failing = readyz && !readyz.isOk ? readyz.checks.filter((c) => !c.isOk).map((c) => c.name) : [];
    let status: InventoryComponent['status'] = 'unknown';
    let reason: string | undefined;
    if (pod) {
      const c = pod.containers[0];
      const isUp = pod.phase === 'Running' && c?.state === 'running';
      status = isUp && !isLeaseStale ? 'Healthy' : 'Unhealthy';
      if (!isUp) reason = c?.reason ?? pod.phase;
      else if (isLeaseStale) reason = `leader Lease not renewed for ${Math.round(renewAge)} s`;
    } else if (lease) {
      status = isLeaseStale ? 'Unhealthy' : 'Healthy';
      if (isLeaseStale) reason = `leader Lease not renewed for ${Math.round(renewAge)} s`;
    } else if (visibility === 'provider-managed' && name !== 'kube-apiserver') {
      status = 'not observable here (provider-managed)';
    }
    // The API server is always observable through the API itself, managed or not.
    if (name === 'kube-apiserver' && readyz) {
      if (!readyz.isOk) {
        status = 'Unhealthy';
        reason = `/readyz failing: ${failing.join(', ') || `HTTP ${readyz.status}`}`;
      } else if (status === 'unknown') {
        status = 'Healthy';
      }
    }
    return {
      name,
      visibility,
      status,
      reason,
      leaseHolder: lease?.holder,
      leaseRenewAgeSeconds: renewAge === undefined ? undefined : Math.round(renewAge),
      leaseDurationSeconds: lease?.durationSeconds,
      whenDown,
    };
  });
  return rows.filter((r) => r.name !== 'cloud-controller-manager' || r.visibility !== 'absent');
}
