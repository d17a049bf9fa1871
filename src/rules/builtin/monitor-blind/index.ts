import { z } from 'zod';
import type { WatchHealth } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import { serverClockOffset } from '../cluster-helpers.js';

const options = z
  .object({
    /** Seconds a watch may fail (retrying) before its records no longer count as current. */
    graceSeconds: z.number().int().min(0).default(60),
    /**
     * Seconds a synced, open watch may go without any event or bookmark. The API server sends a
     * bookmark about once a minute and the reflector abandons a watch silent for 150 s, so a watch
     * silent for longer means that recovery is not working.
     */
    silentWatchSeconds: z.number().int().min(1).default(300),
    /** Runs in a row the `/version`, `/readyz` or `/livez` probe must fail before the API counts as unreachable. */
    probeFailures: z.number().int().min(1).default(2),
  })
  .strict();

/** The probes that only need the API server to answer: their failing means it is unreachable. */
const API_PROBES = ['version', 'readyz', 'livez'] as const;

/** Whether a watch is one the monitor runs (a kind the cluster does not serve, or a stopped loop, is not blind). */
function isActive(w: WatchHealth): boolean {
  return w.state !== 'unavailable' && w.state !== 'stopped';
}

/**
 * The monitor itself cannot see: watches that never synced or keep failing, open watches gone silent,
 * or the API server not answering the probes. One finding for the monitor, naming the blind record
 * kinds (`facts.kinds`) so inhibition mutes the rules that judge from them instead of letting them
 * report a stale picture.
 */
export const monitorBlind: Rule<z.infer<typeof options>> = {
  id: 'monitor-blind',
  summary: 'Healwatch cannot see the cluster: watches failing or stale, or the API server unreachable',
  loop: 'the monitor watches every other loop; while it is blind, nothing else it reports can be trusted and new failures go unseen',
  rationale:
    'A blind monitor is silent, and silence looks like health: every other Alert may be missing. Nobody repairs the monitor but a person, so it pages, and it mutes the findings it can no longer judge.',
  defaultLevel: 'alert',
  defaultForMs: 60_000,
  // It judges the monitor's own health, not records: it must run on the tick, whatever changes.
  inputs: [],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    // Watch and probe health are stamped on the local clock; `now` is the API server's. Convert once:
    // local = server - offset, server = local + offset.
    const offset = serverClockOffset(view);
    const localNow = now - offset;
    const toServer = (local: number): number => local + offset;
    const watchEvidence: Evidence[] = [];
    const probeEvidence: Evidence[] = [];
    const starts: number[] = [];
    const errors: string[] = [];

    const blind = new Map<string, WatchHealth>();
    for (const w of view.blindSpots(localNow, o.graceSeconds * 1000)) blind.set(w.kind, w);
    for (const w of view.watches()) {
      if (!isActive(w) || w.state !== 'watching' || !w.isSynced) continue;
      const last = w.lastEventAt ?? w.syncedAt ?? w.stateSince;
      if (localNow - last > o.silentWatchSeconds * 1000) blind.set(w.kind, w);
    }
    for (const w of blind.values()) {
      const started = w.state === 'watching' ? (w.lastEventAt ?? w.syncedAt ?? w.stateSince) : w.stateSince;
      starts.push(toServer(started));
      const what =
        w.state === 'watching'
          ? `open but silent for ${ago(localNow - started)} (no event or bookmark)`
          : !w.isSynced
            ? `never synced (${w.state} for ${ago(localNow - w.stateSince)})`
            : `failing for ${ago(localNow - w.stateSince)}, ${w.consecutiveFailures} failure${w.consecutiveFailures === 1 ? '' : 's'} in a row`;
      watchEvidence.push({
        type: 'state',
        text: `watch ${w.resource} (${w.kind}): ${what}${w.lastError ? `; last error${w.lastErrorAt !== undefined ? ` ${ago(localNow - w.lastErrorAt)} ago` : ''}: ${w.lastError}` : ''}`,
        at: toServer(started),
      });
      if (w.lastError) errors.push(w.lastError);
    }

    // The API server not answering at all: every watch is blind, even one that still looks open.
    const failingProbes = API_PROBES.map((name) => view.probes.health.get(name)).filter(
      (h): h is NonNullable<typeof h> =>
        h !== undefined && h.state === 'failing' && h.consecutiveFailures >= o.probeFailures,
    );
    const isApiUnreachable = failingProbes.length > 0;
    for (const h of failingProbes) {
      const lastOk = h.lastSuccessAt;
      const started = lastOk ?? h.lastErrorAt ?? localNow;
      starts.push(toServer(started));
      probeEvidence.push({
        type: 'state',
        text: `probe ${h.name}: ${h.consecutiveFailures} failures in a row${lastOk !== undefined ? `, last success ${ago(localNow - lastOk)} ago` : ', never succeeded'}${h.lastError ? `; last error: ${h.lastError}` : ''}`,
        at: toServer(started),
      });
      if (h.lastError) errors.push(h.lastError);
    }
    if (isApiUnreachable)
      for (const w of view.watches()) if (isActive(w) && !blind.has(w.kind)) blind.set(w.kind, w);

    if (blind.size === 0 && !isApiUnreachable) return [];
    // The probes first (they say whether the API answers at all); many failing watches in one line
    // beyond the first few, since they usually fail for the same reason.
    const shown = watchEvidence.slice(0, 4);
    const evidence: Evidence[] = [...probeEvidence, ...shown];
    // `blind` lists the watches described above first, then those the unreachable API adds.
    const rest = [...blind.keys()].slice(shown.length);
    if (rest.length > 0)
      evidence.push({
        type: 'state',
        text: `${shown.length > 0 ? 'and ' : ''}${rest.length} more watch${rest.length === 1 ? '' : 'es'} not current: ${rest.join(', ')}`,
      });
    const kinds = [...blind.keys()].sort();
    const total = view.watches().filter(isActive).length;
    const since = starts.length > 0 ? Math.min(...starts) : undefined;
    const lastError = errors[errors.length - 1];
    const isForbidden = errors.some((e) => /\b(401|403)\b|forbidden|unauthorized/i.test(e));
    const finding: Finding = {
      ruleId: 'monitor-blind',
      level: ctx.level,
      object: { kind: 'Healwatch', name: 'monitor' },
      title: isApiUnreachable
        ? `Healwatch is blind: the API server does not answer${since !== undefined ? ` (for ${ago(now - since)})` : ''}`
        : `Healwatch is blind to ${kinds.length === total && total > 1 ? 'every watched kind' : kinds.join(', ')}`,
      loop: monitorBlind.loop,
      message: `${
        isApiUnreachable
          ? `The API server has not answered ${failingProbes.map((h) => `/${h.name}`).join(', ')} ${failingProbes[0]!.consecutiveFailures} times in a row: either it is down (then no controller or kubelet can reach it either) or the path from Healwatch to it is broken.`
          : `${kinds.length} of ${total} watches are not current (${kinds.join(', ')}).`
      } Findings that depend on ${kinds.length === total ? 'any watched kind' : `${kinds.join(', ')}`} are muted until it sees again, and new failures there go unnoticed.${lastError ? ` Last error: ${lastError}.` : ''}`,
      evidence,
      nextSteps: [
        'kubectl get --raw=/readyz (from where Healwatch runs): does the API server answer at all?',
        "kubectl auth can-i list pods -A (as Healwatch's identity: add --as=system:serviceaccount:NAMESPACE:NAME)",
        isForbidden
          ? "The errors say 401/403: Healwatch's credentials expired or its RBAC lost list/watch permissions (check its ClusterRole and binding)."
          : 'Connection errors usually mean a network path (proxy, firewall, load balancer in front of the API server) or the API server itself; a silent watch, a half-open connection through a proxy.',
      ],
      facts: {
        kinds: kinds.join(','),
        blindWatches: blind.size,
        watches: total,
        apiUnreachable: isApiUnreachable,
        ...(lastError ? { lastError } : {}),
      },
      ...(since !== undefined ? { since } : {}),
    };
    return [finding];
  },
};
