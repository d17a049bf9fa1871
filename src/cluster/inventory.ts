import { componentOf, DEFAULT_ADDON_NAMESPACES } from './components.js';
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
