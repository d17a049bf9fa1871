import type {
  Condition,
  KObject,
  Labels,
  OwnerReference,
  Pod,
  PodTemplateSpec,
  Toleration,
} from '../model.js';
import { hashString } from '../random.js';

/** The owner reference a controller puts on what it creates. */
export function controllerRef(owner: KObject, kind: string, apiVersion: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The controlling owner reference of an object, if any. */
export function controllerOf(object: KObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((r) => r.controller);
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The `pod-template-hash` of a pod template: upstream hashes the template with FNV-32a and passes the
 * decimal digits through `rand.SafeEncodeString` (each byte modulo a vowel-free alphabet), giving names
 * like `web-7d4b9c8f5c`.
 */
export function templateHash(template: PodTemplateSpec, collisionCount = 0): string {
  const text = JSON.stringify(template) + (collisionCount > 0 ? String(collisionCount) : '');
  let out = '';
  for (const d of String(hashString(text))) out += SAFE[d.charCodeAt(0) % SAFE.length];
  return out;
}

/** The tolerations the DefaultTolerationSeconds admission plugin adds to every pod. */
export const DEFAULT_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

/** The tolerations the DaemonSet controller adds to its pods. */
export const DAEMONSET_TOLERATIONS: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** Whether a toleration list tolerates one taint. */
export function tolerates(
  tolerations: readonly Toleration[] | undefined,
  taint: { key: string; value?: string; effect: string },
): boolean {
  return (tolerations ?? []).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

/** The QoS class of a pod from its containers' requests and limits. */
export function qosClass(pod: Pick<Pod, 'spec'>): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  let hasAny = false;
  let isGuaranteed = true;
  for (const c of pod.spec.containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (req.cpu || req.memory || lim.cpu || lim.memory) hasAny = true;
    for (const r of ['cpu', 'memory'] as const) {
      const limit = lim[r];
      const request = req[r] ?? limit;
      if (!limit || request !== limit) isGuaranteed = false;
    }
  }
  if (!hasAny) return 'BestEffort';
  return isGuaranteed ? 'Guaranteed' : 'Burstable';
}

/** Builds a pod object from a template, as a workload controller creates it. */
export function podFromTemplate(
  template: PodTemplateSpec,
  options: {
    name: string;
    namespace: string;
    uid: string;
    owner: OwnerReference;
    labels?: Labels;
    creationTimestamp: string;
    extraTolerations?: readonly Toleration[];
    hostname?: string;
    subdomain?: string;
  },
): Pod {
  const spec = template.spec;
  const tolerations = [...(spec.tolerations ?? [])];
  for (const t of [...(options.extraTolerations ?? []), ...DEFAULT_TOLERATIONS]) {
    if (!tolerations.some((x) => x.key === t.key && x.effect === t.effect)) tolerations.push(t);
  }
  const pod: Pod = {
    metadata: {
      name: options.name,
      namespace: options.namespace,
      uid: options.uid,
      resourceVersion: '',
      creationTimestamp: options.creationTimestamp,
      labels: { ...(template.metadata.labels ?? {}), ...(options.labels ?? {}) },
      ownerReferences: [options.owner],
    },
    spec: {
      ...spec,
      restartPolicy: spec.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds ?? 30,
      dnsPolicy: spec.dnsPolicy ?? 'ClusterFirst',
      serviceAccountName: spec.serviceAccountName ?? 'default',
      serviceAccount: spec.serviceAccountName ?? 'default',
      schedulerName: spec.schedulerName ?? 'default-scheduler',
      securityContext: spec.securityContext ?? {},
      enableServiceLinks: spec.enableServiceLinks ?? true,
      preemptionPolicy: spec.preemptionPolicy ?? 'PreemptLowerPriority',
      priority:
        spec.priority ??
        (spec.priorityClassName?.startsWith('system-') ? priorityOf(spec.priorityClassName) : 0),
      tolerations,
    },
    status: { phase: 'Pending', qosClass: '' },
  };
  if (template.metadata.annotations) pod.metadata.annotations = { ...template.metadata.annotations };
  if (options.hostname) pod.spec.hostname = options.hostname;
  if (options.subdomain) pod.spec.subdomain = options.subdomain;
  pod.status.qosClass = qosClass(pod);
  return pod;
}

function priorityOf(className: string): number {
  return className === 'system-node-critical' ? 2000001000 : 2000000000;
}

/** Sets (or replaces) one condition, keeping `lastTransitionTime` when the status does not change. */
export function setCondition(conditions: readonly Condition[] | undefined, next: Condition): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  if (index < 0) {
    list.push(next);
    return list;
  }
  const current = list[index]!;
  const isSame = current.status === next.status;
  list[index] = {
    ...next,
    ...(isSame && current.lastTransitionTime ? { lastTransitionTime: current.lastTransitionTime } : {}),
  };
  return list;
}

/** Finds a condition by type. */
export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Whether a pod is active: not terminating and not finished (what ReplicaSets count). */
export function isPodActive(pod: Pod): boolean {
  return !pod.metadata.deletionTimestamp && pod.status.phase !== 'Succeeded' && pod.status.phase !== 'Failed';
}

/** Whether a pod's Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return getCondition(pod.status.conditions, 'Ready')?.status === 'True';
}

/** Whether a pod has been ready for at least `minReadySeconds` at `now`. */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const ready = getCondition(pod.status.conditions, 'Ready');
  if (ready?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(ready.lastTransitionTime ?? '');
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= now;
}

/** Resolves an int-or-percent (`25%` or `1`) against a total, rounding as upstream does. */
export function intOrPercent(
  value: string | number | undefined,
  total: number,
  isRoundUp: boolean,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number(value) || 0;
  const raw = (Number(m[1]) * total) / 100;
  return isRoundUp ? Math.ceil(raw) : Math.floor(raw);
}

/** The node a pod is pinned to by a required `matchFields metadata.name In [node]` term (DaemonSet pods). */
export function pinnedNode(pod: Pick<Pod, 'spec'>): string | undefined {
  const terms =
    pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) {
    for (const f of t.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}
