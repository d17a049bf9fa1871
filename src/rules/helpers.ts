import type { ClusterView, ContainerRecord, EventRecord, PodRecord } from '../cluster/index.js';
import type { Evidence, ObjectRef } from '../domain/index.js';

/** The workload a pod belongs to: its Deployment (through the ReplicaSet), CronJob (through the Job), or itself. */
export function workloadOf(view: ClusterView, pod: PodRecord): ObjectRef {
  const owner = pod.owner;
  if (!owner) return { kind: 'Pod', namespace: pod.namespace, name: pod.name };
  if (owner.kind === 'ReplicaSet') {
    const rs = view.get('ReplicaSet', pod.namespace, owner.name);
    if (rs?.owner?.kind === 'Deployment')
      return { kind: 'Deployment', namespace: pod.namespace, name: rs.owner.name };
  }
  if (owner.kind === 'Job') {
    const job = view.get('Job', pod.namespace, owner.name);
    if (job?.owner?.kind === 'CronJob')
      return { kind: 'CronJob', namespace: pod.namespace, name: job.owner.name };
  }
  if (owner.kind === 'Node') return { kind: 'Pod', namespace: pod.namespace, name: pod.name };
  return { kind: owner.kind, namespace: pod.namespace, name: owner.name };
}

/** Groups pods by their workload (`Kind/namespace/name`). */
export function groupByWorkload(
  view: ClusterView,
  pods: readonly PodRecord[],
): Map<string, { workload: ObjectRef; pods: PodRecord[] }> {
  const groups = new Map<string, { workload: ObjectRef; pods: PodRecord[] }>();
  for (const pod of pods) {
    const workload = workloadOf(view, pod);
    const key = `${workload.kind}/${workload.namespace ?? ''}/${workload.name}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { workload, pods: [] }));
    g.pods.push(pod);
  }
  return groups;
}

/** A duration in words: `45s`, `12m`, `3h20m`, `2d`. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`;
  return `${Math.round(s / 86_400)}d`;
}

/** Evidence lines for one container: state, restarts, last termination. */
export function containerEvidence(pod: PodRecord, c: ContainerRecord, now: number): Evidence[] {
  const out: Evidence[] = [];
  const where = `${pod.namespace}/${pod.name}${pod.nodeName ? ` on ${pod.nodeName}` : ''}`;
  out.push({
    type: 'state',
    text: `container ${c.name} of ${where}: ${c.state}${c.reason ? ` (${c.reason})` : ''}, ${c.restarts} restart${c.restarts === 1 ? '' : 's'}`,
  });
  const last = c.lastTermination;
  if (last) {
    out.push({
      type: 'restarts',
      text: `last terminated ${last.finishedAt !== undefined ? `${ago(now - last.finishedAt)} ago` : ''}: ${last.reason ?? 'unknown reason'}, exit code ${last.exitCode}`.replace(
        ' :',
        ':',
      ),
      ...(last.finishedAt !== undefined ? { at: last.finishedAt } : {}),
    });
  }
  if (c.message) out.push({ type: 'state', text: c.message });
  return out;
}

/** Evidence lines for the recent events of an object (newest last), with their counts. */
export function eventEvidence(
  events: readonly EventRecord[],
  now: number,
  max = 5,
  filter?: (e: EventRecord) => boolean,
): Evidence[] {
  return events
    .filter((e) => !filter || filter(e))
    .slice(-max)
    .map((e) => ({
      type: 'event' as const,
      text: `${e.type} ${e.reason}${e.count > 1 ? ` (x${e.count}${e.firstAt !== undefined ? ` over ${ago((e.lastAt ?? now) - e.firstAt)}` : ''})` : ''}: ${e.message}`,
      ...(e.lastAt !== undefined ? { at: e.lastAt } : {}),
    }));
}

/** `-n NS` for kubectl, or nothing for cluster-scoped objects. */
export function ns(namespace: string | undefined): string {
  return namespace ? ` -n ${namespace}` : '';
}
