import type { CertificateRecord, EventRecord, LeaseRecord, NamespaceRecord, PvcRecord } from '../records.js';
import type { Collector } from './collector.js';
import { base, clip, conditions, intern, istr, num, obj, optNum, quantity, str, time } from './read.js';

/** Events (core/v1, Normal and Warning): reason, message, counts and the object they are about. */
export const eventCollector: Collector<'Event'> = {
  kind: 'Event',
  group: '',
  version: 'v1',
  plural: 'events',
  isNamespaced: true,
  project(raw): EventRecord | undefined {
    const b = base(raw);
    if (!b) return undefined;
    const r = b.root;
    const involved = obj(r.involvedObject) ?? {};
    const series = obj(r.series);
    const source = obj(r.source);
    const first = time(r.firstTimestamp) ?? time(r.eventTime);
    const last = time(series?.lastObservedTime) ?? time(r.lastTimestamp) ?? time(r.eventTime) ?? first;
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'Event',
      type: intern(str(r.type) ?? 'Normal'),
      reason: intern(str(r.reason) ?? ''),
      message: clip(r.message, 1024) ?? '',
      involved: {
        kind: intern(str(involved.kind) ?? ''),
        namespace: istr(involved.namespace),
        name: str(involved.name) ?? '',
        uid: str(involved.uid),
        fieldPath: istr(involved.fieldPath),
      },
      count: series ? num(series.count, 1) : num(r.count, 1) || 1,
      firstAt: first,
      lastAt: last,
      source: istr(source?.component) ?? istr(r.reportingComponent),
      host: istr(source?.host) ?? istr(r.reportingInstance),
    };
  },
};

/** Namespaces. */
export const namespaceCollector: Collector<'Namespace'> = {
  kind: 'Namespace',
  group: '',
  version: 'v1',
  plural: 'namespaces',
  isNamespaced: false,
  project(raw): NamespaceRecord | undefined {
    const b = base(raw);
    if (!b) return undefined;
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'Namespace',
      phase: intern(str(obj(b.root.status)?.phase) ?? 'Active'),
    };
  },
};

/** Leases: leader election of control-plane components, node heartbeats. */
export const leaseCollector: Collector<'Lease'> = {
  kind: 'Lease',
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  isNamespaced: true,
  project(raw): LeaseRecord | undefined {
    const b = base(raw);
    if (!b) return undefined;
    const spec = obj(b.root.spec) ?? {};
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'Lease',
      holder: str(spec.holderIdentity),
      durationSeconds: optNum(spec.leaseDurationSeconds),
      acquiredAt: time(spec.acquireTime),
      renewedAt: time(spec.renewTime),
      transitions: num(spec.leaseTransitions),
    };
  },
};

/** PersistentVolumeClaims. */
export const pvcCollector: Collector<'PersistentVolumeClaim'> = {
  kind: 'PersistentVolumeClaim',
  group: '',
  version: 'v1',
  plural: 'persistentvolumeclaims',
  isNamespaced: true,
  project(raw): PvcRecord | undefined {
    const b = base(raw);
    if (!b) return undefined;
    const spec = obj(b.root.spec) ?? {};
    const status = obj(b.root.status) ?? {};
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'PersistentVolumeClaim',
      phase: istr(status.phase),
      storageClass: istr(spec.storageClassName),
      volumeName: str(spec.volumeName),
      requestBytes: quantity(obj(obj(spec.resources)?.requests)?.storage),
      capacityBytes: quantity(obj(status.capacity)?.storage),
    };
  },
};

/** cert-manager Certificates, when the CRD is installed. */
export const certificateCollector: Collector<'Certificate'> = {
  kind: 'Certificate',
  group: 'cert-manager.io',
  version: 'v1',
  plural: 'certificates',
  isNamespaced: true,
  isOptional: true,
  project(raw): CertificateRecord | undefined {
    const b = base(raw);
    if (!b) return undefined;
    const spec = obj(b.root.spec) ?? {};
    const status = obj(b.root.status) ?? {};
    const issuer = obj(spec.issuerRef);
    return {
      uid: b.uid,
      name: b.name,
      namespace: b.namespace,
      createdAt: b.createdAt,
      labels: b.labels,
      owner: b.owner,
      deletedAt: b.deletedAt,
      kind: 'Certificate',
      secretName: str(spec.secretName),
      issuer: issuer ? `${str(issuer.kind) ?? 'Issuer'}/${str(issuer.name) ?? ''}` : undefined,
      dnsNames: (Array.isArray(spec.dnsNames) ? spec.dnsNames : []).filter(
        (d): d is string => typeof d === 'string',
      ),
      notAfter: time(status.notAfter),
      renewalAt: time(status.renewalTime),
      conditions: conditions(status.conditions),
    };
  },
};
