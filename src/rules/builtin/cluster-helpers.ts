import type { ClusterView, PodRecord } from '../../cluster/index.js';

/**
 * The difference between the API server's clock and the local clock (server minus local, ms), from the
 * most recent probe result that carries both stamps. Watch and probe health is stamped on the local
 * clock while rules get `now` on the server's clock: subtracting this offset from `now` gives the
 * local time to compare those stamps with (and adding it turns a local stamp into server time). Zero
 * when nothing has been probed yet (then both clocks are taken to agree).
 */
export function serverClockOffset(view: ClusterView): number {
  const stamped = [view.probes.version, view.probes.readyz, view.probes.livez]
    .filter((r): r is NonNullable<typeof r> => r !== undefined)
    .sort((a, b) => b.at - a.at)[0];
  return stamped ? stamped.serverAt - stamped.at : 0;
}

/**
 * Whether a pod is not serving: deleted, not Ready, or with a container that is not running (waiting in
 * CrashLoopBackOff, terminated).
 */
export function isPodDown(pod: PodRecord): boolean {
  if (pod.deletedAt !== undefined) return true;
  if (pod.conditions.Ready?.status !== 'True') return true;
  return pod.containers.some((c) => c.state !== 'running');
}

/** Since when a pod is not Ready (its Ready condition's transition), if it says. */
export function notReadySince(pod: PodRecord): number | undefined {
  const ready = pod.conditions.Ready;
  if (ready && ready.status !== 'True') return ready.lastTransitionAt;
  return undefined;
}
