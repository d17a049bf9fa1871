import { z } from 'zod';
import type { ClusterView, PodRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, containerEvidence, groupByWorkload, ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import type { Sample } from '../../samples.js';
import { allContainers, isCrashLooping, singleNode, workloadKey } from '../pods-helpers.js';

const options = z
  .object({
    /** The recent window whose restarts are compared with the baseline. */
    windowMinutes: z.number().int().min(1).max(120).default(15),
    /** Restarts in the window below which nothing is reported, whatever the baseline. */
    minRestarts: z.number().int().min(1).default(3),
    /** How many times the baseline's expected restarts the window must reach. */
    factor: z.number().min(1).default(3),
    /**
     * Sampled history before the window needed to trust the sampled baseline; with less (Healwatch
     * just started), the baseline is the pods' own lifetime restart rate.
     */
    minBaselineMinutes: z.number().int().min(5).max(300).default(60),
  })
  .strict();

/** The series that says since when the rule has been sampling (every evaluation records it). */
const SAMPLING = '_sampling';

/** Restart totals per workload (`Kind/namespace/name`), only for workloads that have restarts. */
function sampleRestarts(view: ClusterView): Record<string, number> {
  const live = view.list('Pod').filter((p) => p.deletedAt === undefined);
  const out: Record<string, number> = { [SAMPLING]: 1 };
  for (const { workload, pods } of groupByWorkload(view, live).values()) {
    const total = restartsOf(pods);
    if (total > 0) out[workloadKey(workload)] = total;
  }
  return out;
}

function restartsOf(pods: readonly PodRecord[]): number {
  let total = 0;
  for (const p of pods) for (const c of allContainers(p)) total += c.restarts;
  return total;
}

/**
 * Restart increases of a series, each at the sample that saw it. A falling total (pods replaced by a
 * rollout or deleted) is no restart; a series that begins after sampling began started from zero (the
 * workload had no restarts before, so its first total is new).
 */
function increases(series: readonly Sample[], samplingStart: number): { at: number; count: number }[] {
  const out: { at: number; count: number }[] = [];
  const first = series[0];
  if (!first) return out;
  if (first.at > samplingStart && first.value > 0) out.push({ at: first.at, count: first.value });
  for (let i = 1; i < series.length; i++) {
    const delta = series[i]!.value - series[i - 1]!.value;
    if (delta > 0) out.push({ at: series[i]!.at, count: delta });
  }
  return out;
}

/**
 * A sudden rise of restarts in a workload against its own baseline, one finding per workload:
 * containers that restart much more often than they used to, while the kubelet keeps bringing them
 * back (so nothing is down yet).
 */
export const restartSpike: Rule<z.infer<typeof options>> = {
  id: 'restart-spike',
  summary: "A sudden rise in a workload's container restarts against its own baseline",
  loop: 'the kubelet restarts failing containers so the workload keeps serving; a rise in restarts means something new makes them fail',
  rationale:
    "Restarts are self-healing working, so a fixed per-pod threshold only pages on the workloads that always restart. A rise against the workload's own baseline says something changed (a release, a dependency, memory, a liveness probe); restarts still bring it back, so a person follows up in business hours. Crash loops and OOM kills have their own findings (crashloop, oom-killed) and are not reported twice.",
  defaultLevel: 'notice',
  defaultForMs: 0,
  needsHistory:
    'a restart baseline over the past hours; without one only an absolute minimum of recent restarts applies',
  inputs: ['Pod', 'ReplicaSet'],
  options,
  sample: (view) => sampleRestarts(view),
  evaluate(ctx) {
    const { view, now, options: o, samples } = ctx;
    const windowMs = o.windowMinutes * 60_000;
    const windowStart = now - windowMs;
    const samplingStart = samples.series(SAMPLING)[0]?.at ?? now;
    const hasSampledBaseline = samplingStart <= windowStart - o.minBaselineMinutes * 60_000;
    const live = view.list('Pod').filter((p) => ctx.inScope(p) && p.deletedAt === undefined);
    const findings: Finding[] = [];
    for (const { workload, pods } of groupByWorkload(view, live).values()) {
      const total = restartsOf(pods);
      if (total === 0) continue;
      const containers = pods.flatMap((pod) => allContainers(pod).map((c) => ({ pod, c })));
      // Crash loops (mostly down) are crashloop's, OOM kills oom-killed's: one story, one finding.
      if (containers.some(({ c }) => isCrashLooping(c, now))) continue;
      if (
        containers.some(
          ({ c }) =>
            c.lastTermination?.reason === 'OOMKilled' && (c.lastTermination.finishedAt ?? 0) >= windowStart,
        )
      )
        continue;

      const series = samples.series(workloadKey(workload));
      const rises = increases(series, samplingStart);
      const sampledRecent = rises.filter((r) => r.at > windowStart).reduce((s, r) => s + r.count, 0);
      // What the objects say about the window: a pod born in it restarted only in it; an older pod's
      // container whose last termination lies in it restarted at least once in it. Restarts from long
      // ago do not count.
      const recentByPod = new Map<PodRecord, number>();
      for (const { pod, c } of containers) {
        const n =
          pod.createdAt >= windowStart
            ? c.restarts
            : c.restarts > 0 && (c.lastTermination?.finishedAt ?? 0) >= windowStart
              ? 1
              : 0;
        if (n > 0) recentByPod.set(pod, (recentByPod.get(pod) ?? 0) + n);
      }
      const objectRecent = [...recentByPod.values()].reduce((s, n) => s + n, 0);
      const recent = samplingStart <= windowStart ? sampledRecent : Math.max(sampledRecent, objectRecent);
      if (recent < o.minRestarts) continue;

      // The baseline: restarts per ms before the window, from the samples when they reach back far
      // enough, else from the pods' own lifetime (pods born in the window have none: only the minimum
      // applies to them).
      let rate: number;
      let baselineText: string;
      if (hasSampledBaseline) {
        const before = rises.filter((r) => r.at <= windowStart).reduce((s, r) => s + r.count, 0);
        const span = windowStart - samplingStart;
        rate = before / span;
        baselineText = `${before} restart${before === 1 ? '' : 's'} in the ${ago(span)} before`;
      } else {
        const old = pods.filter((p) => p.createdAt < windowStart);
        // The recent restarts of the pods born in the window are not the old pods' to discount.
        const recentOfOld = Math.max(0, recent - restartsOf(pods.filter((p) => p.createdAt >= windowStart)));
        const oldRestarts = Math.max(0, restartsOf(old) - recentOfOld);
        const meanAge =
          old.length > 0 ? old.reduce((s, p) => s + (windowStart - p.createdAt), 0) / old.length : 0;
        rate = meanAge > 0 ? oldRestarts / meanAge : 0;
        baselineText =
          old.length > 0
            ? `${oldRestarts} restart${oldRestarts === 1 ? '' : 's'} over the pods' ${ago(meanAge)} of life before`
            : 'no history (new pods)';
      }
      const expected = rate * windowMs;
      const threshold = Math.max(o.minRestarts, o.factor * expected);
      if (recent < threshold) continue;

      const affected = pods.filter((p) => recentByPod.has(p));
      const shown = affected.length > 0 ? affected : pods.filter((p) => restartsOf([p]) > 0);
      const evidence: Evidence[] = [
        {
          type: 'metric',
          text: `${recent} restarts in the last ${o.windowMinutes}m; baseline about ${expected.toFixed(1)} per ${o.windowMinutes}m (${baselineText})`,
        },
      ];
      let since = now;
      let first:
        { pod: PodRecord; container: string; reason: string | undefined; exitCode: number } | undefined;
      for (const pod of shown) {
        for (const c of allContainers(pod)) {
          const last = c.lastTermination;
          if (c.restarts === 0 || !last) continue;
          if (last.finishedAt !== undefined && last.finishedAt >= windowStart)
            since = Math.min(since, last.finishedAt);
          first ??= { pod, container: c.name, reason: last.reason, exitCode: last.exitCode };
          if (evidence.length < 10) evidence.push(...containerEvidence(pod, c, now));
        }
      }
      const firstRise = rises.find((r) => r.at > windowStart);
      if (firstRise) since = Math.min(since, firstRise.at);
      const where = `${workload.namespace}/${workload.name}`;
      findings.push({
        ruleId: 'restart-spike',
        level: ctx.level,
        object: workload,
        title: `${workload.kind} ${where}: ${recent} restarts in ${o.windowMinutes}m, ${expected < 0.05 ? 'usually none' : `about ${Math.round((recent / Math.max(expected, 0.01)) * 10) / 10}x its baseline`}`,
        loop: restartSpike.loop,
        message: `${shown.length} pod${shown.length === 1 ? '' : 's'} of ${workload.kind} ${where} restarted ${recent} times in the last ${o.windowMinutes} minutes, against about ${expected.toFixed(1)} usually (${baselineText}). The kubelet brings the containers back, but something new makes them fail${first ? ` (last exit: ${first.reason ?? 'unknown'}, exit code ${first.exitCode})` : ''}.`,
        evidence,
        nextSteps: [
          ...(first
            ? [
                `kubectl logs${ns(workload.namespace)} ${first.pod.name} -c ${first.container} --previous`,
                `kubectl describe pod${ns(workload.namespace)} ${first.pod.name}`,
              ]
            : []),
          `kubectl get events${ns(workload.namespace)} --field-selector reason=Unhealthy`,
          ...(workload.kind === 'Deployment'
            ? [`kubectl rollout history deployment${ns(workload.namespace)} ${workload.name}`]
            : []),
          'Usually a release, a dependency that times out, a liveness probe that fails under load, or memory pressure on the node: compare with what changed when the restarts began.',
        ],
        facts: {
          restarts: recent,
          windowMinutes: o.windowMinutes,
          baseline: Math.round(expected * 100) / 100,
          pods: shown.length,
          totalRestarts: total,
          ...(first ? { pod: first.pod.name, container: first.container } : {}),
          ...singleNode(shown),
        },
        since,
      });
    }
    return findings;
  },
};
