import { z } from 'zod';
import type { ClusterView, ContainerRecord, PodRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, containerEvidence, eventEvidence, groupByWorkload, ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import { allContainers, memoryText, minutesText, singleNode } from '../pods-helpers.js';

const options = z
  .object({
    /** How long an OOM kill is reported after it happened (by its finish time). */
    windowMinutes: z.number().int().min(1).max(360).default(60),
  })
  .strict();

/** How far back `sample` keeps track of OOM kills: the longest window the options allow. */
const HORIZON_MS = 6 * 3_600_000;

/**
 * When a container was last OOM-killed: its last termination, or its current state when it is
 * terminated (restartPolicy Never, or the moment before a restart), which the record does not date.
 */
function lastOomAt(pod: PodRecord, c: ContainerRecord): number | undefined {
  if (c.state === 'terminated' && c.reason === 'OOMKilled') {
    // The current kill is at least as recent as everything the record dates: the previous
    // termination (the API server keeps the one before in lastState), the pod turning unready, the
    // container's start.
    const candidates = [
      c.lastTermination?.finishedAt,
      pod.conditions.Ready?.status === 'False' ? pod.conditions.Ready.lastTransitionAt : undefined,
      c.startedAt,
    ].filter((t): t is number => t !== undefined);
    if (candidates.length > 0) return Math.max(...candidates);
  }
  if (c.lastTermination?.reason === 'OOMKilled') return c.lastTermination.finishedAt;
  return undefined;
}

/** The series of one container's OOM kill times. */
const oomKey = (pod: PodRecord, c: ContainerRecord): string => `oom:${pod.namespace}/${pod.name}/${c.name}`;
/** The series of one container's terminations so far (restarts, plus one while it is down). */
const endsKey = (pod: PodRecord, c: ContainerRecord): string => `ends:${pod.namespace}/${pod.name}/${c.name}`;
const terminations = (c: ContainerRecord): number => c.restarts + (c.state === 'running' ? 0 : 1);
/** The series of one pod's memory usage (metrics.k8s.io). */
const memKey = (pod: PodRecord): string => `mem:${pod.namespace}/${pod.name}`;

/**
 * Remembers, for the pods with an OOM kill in the last hours only, the time of each container's last
 * kill (so several kills in the window can be counted, not only the last one the status keeps) and the
 * pod's memory usage from metrics.k8s.io (so the peak before a kill can be shown).
 */
function sampleOoms(view: ClusterView, now: number): Record<string, number> {
  const out: Record<string, number> = {};
  const metrics = view.probes.metrics?.isAvailable ? view.probes.metrics.pods : undefined;
  for (const pod of view.list('Pod')) {
    if (pod.deletedAt !== undefined) continue;
    let hasOom = false;
    for (const c of allContainers(pod)) {
      const at = lastOomAt(pod, c);
      if (at === undefined || at < now - HORIZON_MS) continue;
      out[oomKey(pod, c)] = at;
      out[endsKey(pod, c)] = terminations(c);
      hasOom = true;
    }
    const usage = hasOom ? metrics?.get(`${pod.namespace}/${pod.name}`) : undefined;
    if (usage) out[memKey(pod)] = usage.memoryBytes;
  }
  return out;
}

/**
 * Containers killed for exceeding their memory limit, one finding per workload, with the limit beside
 * the peak usage seen: the kubelet restarts them, but they will be killed again until the limit or the
 * memory use changes.
 */
export const oomKilled: Rule<z.infer<typeof options>> = {
  id: 'oom-killed',
  summary: 'Containers OOM-killed (memory limit exceeded) recently, one finding per workload',
  loop: 'the kubelet restarts an OOM-killed container, which fills its memory and is killed again; restarts do not give it more memory',
  rationale:
    'An OOM kill is an event: the container comes back, so nothing needs a person at night, but it will be killed again until its limit is raised or its memory use (a leak, a bigger load) is fixed, and every kill drops its in-flight requests. A workload that stops serving raises its own Alert (deployment-replicas, component-unavailable).',
  defaultLevel: 'notice',
  defaultForMs: 0,
  inputs: ['Pod'],
  options,
  sample: (view, now) => sampleOoms(view, now),
  evaluate(ctx) {
    const { view, now, options: o, samples } = ctx;
    const windowStart = now - o.windowMinutes * 60_000;
    const killedPods = new Map<PodRecord, { c: ContainerRecord; times: number[]; count: number }[]>();
    for (const pod of view.list('Pod')) {
      if (!ctx.inScope(pod) || pod.deletedAt !== undefined) continue;
      for (const c of allContainers(pod)) {
        const last = lastOomAt(pod, c);
        if (last === undefined || last < windowStart) continue;
        // Every distinct kill time seen in the window (the status keeps only the last one).
        const kills = new Set<number>([last]);
        for (const s of samples.series(oomKey(pod, c))) if (s.value >= windowStart) kills.add(s.value);
        // The samples keep one kill time a minute, and kills come faster than that at the start of
        // a back-off: the terminations counted since the window began (or since the first kill was
        // seen) catch the ones in between.
        const ends = samples.series(endsKey(pod, c));
        const base = samples.valueAt(endsKey(pod, c), windowStart);
        const firstSeen = ends.find((e) => e.at >= windowStart);
        const counted =
          base !== undefined
            ? terminations(c) - base
            : firstSeen !== undefined
              ? terminations(c) - firstSeen.value + 1
              : 1;
        let list = killedPods.get(pod);
        if (!list) killedPods.set(pod, (list = []));
        list.push({ c, times: [...kills].sort((a, b) => a - b), count: Math.max(kills.size, counted) });
      }
    }
    const findings: Finding[] = [];
    for (const { workload, pods } of groupByWorkload(view, [...killedPods.keys()]).values()) {
      let kills = 0;
      let since = now;
      let lastKill = 0;
      let peak = 0;
      let lastSeen: number | undefined;
      let first: { pod: PodRecord; container: string } | undefined;
      const evidence: Evidence[] = [];
      for (const pod of pods) {
        for (const { c, times, count } of killedPods.get(pod)!) {
          kills += count;
          since = Math.min(since, times[0]!);
          if (times[times.length - 1]! >= lastKill) {
            lastKill = times[times.length - 1]!;
            first = { pod, container: c.name };
          }
          if (evidence.length < 8) evidence.push(...containerEvidence(pod, c, now));
        }
        const usage = samples.series(memKey(pod)).filter((s) => s.at >= windowStart);
        for (const s of usage) peak = Math.max(peak, s.value);
        const current = view.probes.metrics?.isAvailable
          ? view.probes.metrics.pods.get(`${pod.namespace}/${pod.name}`)?.memoryBytes
          : undefined;
        if (current !== undefined) {
          peak = Math.max(peak, current);
          lastSeen = current;
        }
        const oomEvents = view
          .eventsFor('Pod', pod.namespace, pod.name)
          .filter((e) => /OOM|BackOff/i.test(e.reason) || /oom/i.test(e.message));
        if (evidence.length < 12) evidence.push(...eventEvidence(oomEvents, now, 1));
      }
      const ref = first?.pod ?? pods[0]!;
      const limit = ref.memoryLimit;
      const request = ref.memoryRequest;
      const memoryLine =
        limit > 0
          ? `memory limit ${memoryText(limit)} per pod (request ${memoryText(request)})`
          : `no memory limit on every container (request ${memoryText(request)})`;
      const usageLine =
        peak > 0
          ? `peak usage seen ${memoryText(peak)}${lastSeen !== undefined ? `, now ${memoryText(lastSeen)}` : ''}${limit > 0 ? ` (${Math.round((peak / limit) * 100)}% of the limit)` : ''}`
          : 'no usage measured (metrics.k8s.io not available or the pod was not running when sampled)';
      evidence.unshift({ type: 'metric', text: `${memoryLine}; ${usageLine}` });
      const nodes = singleNode(pods);
      if ('node' in nodes) {
        const summary = view.probes.summaries.get(nodes.node);
        const node = view.get('Node', undefined, nodes.node);
        if (summary?.memoryWorkingSetBytes !== undefined && node && node.allocatableMemory > 0)
          evidence.push({
            type: 'metric',
            text: `node ${nodes.node}: ${memoryText(summary.memoryWorkingSetBytes)} of ${memoryText(node.allocatableMemory)} allocatable memory in use`,
            at: summary.serverAt,
          });
      }
      const where = `${workload.namespace}/${workload.name}`;
      const nsFlag = ns(workload.namespace);
      findings.push({
        ruleId: 'oom-killed',
        level: ctx.level,
        object: workload,
        title: `${workload.kind} ${where}: ${kills} OOM kill${kills === 1 ? '' : 's'} in ${minutesText(o.windowMinutes)}${limit > 0 ? ` (limit ${memoryText(limit)}${peak > 0 ? `, peak ${memoryText(peak)}` : ''})` : ''}`,
        loop: oomKilled.loop,
        message: `${pods.length} pod${pods.length === 1 ? '' : 's'} of ${workload.kind} ${where} had a container killed for running out of memory ${kills === 1 ? 'once' : `at least ${kills} times`} in the last ${o.windowMinutes} minutes, last ${ago(now - lastKill)} ago${first ? ` (container ${first.container})` : ''}: ${memoryLine}; ${usageLine}. The kubelet restarts it, and it will be killed again until the limit or its memory use changes.`,
        evidence,
        nextSteps: [
          ...(first
            ? [
                `kubectl top pod${nsFlag} ${first.pod.name} --containers`,
                `kubectl describe pod${nsFlag} ${first.pod.name}`,
                `kubectl logs${nsFlag} ${first.pod.name} -c ${first.container} --previous`,
              ]
            : []),
          limit > 0
            ? 'If the usage legitimately grows with load or data, raise resources.limits.memory (and the request with it); if it climbs steadily until each kill, look for a leak (heap size settings such as -Xmx or GOMEMLIMIT above the limit are a common cause).'
            : 'Without a limit, the kernel killed it because the node ran out of memory: check the node (kubectl describe node) and set requests and limits so the scheduler can place it.',
        ],
        facts: {
          kills,
          pods: pods.length,
          ...(first ? { pod: first.pod.name, container: first.container } : {}),
          memoryLimitBytes: limit,
          memoryRequestBytes: request,
          ...(peak > 0 ? { peakUsageBytes: peak } : {}),
          lastKillAt: lastKill,
          ...nodes,
        },
        since,
      });
    }
    return findings;
  },
};
