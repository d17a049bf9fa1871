import type { ClusterView, ContainerRecord, PodRecord } from '../../cluster/index.js';
import type { ObjectRef } from '../../domain/index.js';

/** `Kind/namespace/name`, the key `groupByWorkload` and the restart samples use. */
export function workloadKey(ref: ObjectRef): string {
  return `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** The live pods of a workload (a bare pod is its own workload). */
export function livePodsOf(view: ClusterView, workload: ObjectRef): PodRecord[] {
  if (workload.kind === 'Pod') {
    const pod = view.get('Pod', workload.namespace, workload.name);
    return pod && pod.deletedAt === undefined ? [pod] : [];
  }
  if (!['Deployment', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob', 'ReplicaSet'].includes(workload.kind))
    return [];
  return view
    .podsOf(workload.kind as 'Deployment', workload.namespace ?? '', workload.name)
    .filter((p) => p.deletedAt === undefined);
}

/** All containers of a pod, init containers first. */
export function allContainers(pod: PodRecord): readonly ContainerRecord[] {
  return [...pod.initContainers, ...pod.containers];
}

/**
 * The node of a group of pods when they all run on the same one (inhibition mutes pod findings on a
 * NotReady node through `facts.node`; pods spread over several nodes are not explained by one node).
 */
export function singleNode(pods: readonly PodRecord[]): { node: string } | Record<string, never> {
  const nodes = new Set(pods.map((p) => p.nodeName));
  const [only] = [...nodes];
  return nodes.size === 1 && only !== undefined ? { node: only } : {};
}

/** `256Mi`, `1.5Gi`, `900Ki`: binary units as kubectl shows memory. */
export function memoryText(bytes: number): string {
  const units: [string, number][] = [
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      const v = bytes / size;
      return `${v >= 100 ? Math.round(v) : Math.round(v * 10) / 10}${unit}`;
    }
  }
  return `${Math.round(bytes)}B`;
}

/** A Go duration as the kubelet prints it (`10s`, `2m40s`, `5m0s`, `1h0m0s`) in ms, if it is one. */
export function parseGoDuration(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$/.exec(text);
  if (!m || text === '') return undefined;
  return (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
}

/**
 * Whether a container's restarts are a crash loop, the kind `crashloop` reports: it spends more time
 * down than up. A container in CrashLoopBackOff whose current back-off is at least as long as its last
 * run, or a running container that came back from such a back-off (its down time before this start
 * was at least its previous run), is crash-looping. A container that serves for minutes between short
 * back-offs is not: the kubelet shows CrashLoopBackOff for a few seconds between its restarts, but its
 * restarts are a restart spike. Judged from the last termination, so the verdict does not flip with the
 * phase of each restart cycle.
 */
export function isCrashLooping(c: ContainerRecord, now: number): boolean {
  const last = c.lastTermination;
  const ran =
    last?.startedAt !== undefined && last.finishedAt !== undefined
      ? last.finishedAt - last.startedAt
      : undefined;
  if (c.state === 'waiting' && c.reason === 'CrashLoopBackOff') {
    // Without its last run we cannot tell: a back-off is what crashloop reports.
    if (ran === undefined || last?.finishedAt === undefined) return true;
    const backOff = /back-off (\S+) restarting/.exec(c.message ?? '')?.[1];
    const delay = backOff !== undefined ? parseGoDuration(backOff) : undefined;
    const down = Math.max(now - last.finishedAt, delay ?? 0);
    return down >= ran;
  }
  if (
    c.state === 'running' &&
    ran !== undefined &&
    last?.finishedAt !== undefined &&
    c.startedAt !== undefined
  ) {
    const down = c.startedAt - last.finishedAt;
    // Only while the restart is fresh: a container that has run fine for longer than it was down is
    // serving again.
    return down >= ran && now - c.startedAt < Math.max(down, ran) * 2;
  }
  return false;
}

/** A window in minutes as people say it: `15m`, `1h`, `90m`, `6h`. */
export function minutesText(minutes: number): string {
  return minutes >= 60 && minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}
