import type { NodeRecord } from '../records.js';
import type { Collector } from './collector.js';
import { base, conditions, intern, istr, obj, objs, quantity, str, time } from './read.js';

/** Nodes: conditions and heartbeats, taints, versions, capacity, zone and provider. */
export const nodeCollector: Collector<'Node'> = {
  kind: 'Node',
  group: '',
  version: 'v1',
  plural: 'nodes',
  isNamespaced: false,
  project(raw): NodeRecord | undefined {
    const b = base(raw);
    if (!b) return undefined;
    const spec = obj(b.root.spec) ?? {};
    const status = obj(b.root.status) ?? {};
    const info = obj(status.nodeInfo) ?? {};
    const allocatable = obj(status.allocatable) ?? {};
    const capacity = obj(status.capacity) ?? {};
    const l = b.labels ?? {};
    const roles = Object.keys(l)
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => intern(k.slice('node-role.kubernetes.io/'.length)))
      .concat(l['kubernetes.io/role'] ? [l['kubernetes.io/role']] : [])
      .sort();
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'Node',
      providerID: str(spec.providerID),
      isUnschedulable: spec.unschedulable === true,
      taints: objs(spec.taints).map((t) => ({
        key: intern(str(t.key) ?? ''),
        value: istr(t.value),
        effect: intern(str(t.effect) ?? ''),
        addedAt: time(t.timeAdded),
      })),
      conditions: conditions(status.conditions),
      kubeletVersion: intern(str(info.kubeletVersion) ?? ''),
      osImage: intern(str(info.osImage) ?? ''),
      kernelVersion: intern(str(info.kernelVersion) ?? ''),
      containerRuntime: intern(str(info.containerRuntimeVersion) ?? ''),
      internalIP: str(objs(status.addresses).find((a) => a.type === 'InternalIP')?.address),
      roles,
      zone: l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'],
      region: l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'],
      instanceType: l['node.kubernetes.io/instance-type'] ?? l['beta.kubernetes.io/instance-type'],
      allocatableCpu: Math.round(quantity(allocatable.cpu) * 1000),
      allocatableMemory: quantity(allocatable.memory),
      allocatablePods: quantity(allocatable.pods),
      capacityCpu: Math.round(quantity(capacity.cpu) * 1000),
      capacityMemory: quantity(capacity.memory),
    };
  },
};
