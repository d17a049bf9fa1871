import { z } from 'zod';
import type { Evidence, Finding } from '../../../domain/index.js';
import { containerEvidence, eventEvidence, groupByWorkload, ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';

const options = z
  .object({
    /** Restarts a container must have before a back-off counts (one crash is not a loop). */
    minRestarts: z.number().int().min(1).default(2),
  })
  .strict();

/**
 * Containers in CrashLoopBackOff, one finding per workload: the kubelet keeps restarting them with a
 * growing back-off, which does not fix what makes them exit.
 */
export const crashloop: Rule<z.infer<typeof options>> = {
  id: 'crashloop',
  summary: 'Containers in CrashLoopBackOff, one finding per workload',
  loop: 'the kubelet restarts a crashing container with a growing back-off; restarting cannot fix the cause',
  rationale:
    'Self-healing keeps trying, so nothing needs a person at night; but the cause (configuration, a dependency, a bug) lies outside what restarts repair, and left alone the workload serves with fewer replicas. A Deployment that drops below its desired replicas raises its own Alert (deployment-replicas).',
  defaultLevel: 'notice',
  defaultForMs: 2 * 60_000,
  inputs: ['Pod', 'Event', 'ReplicaSet'],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const looping = view
      .list('Pod')
      .filter((p) => ctx.inScope(p) && p.deletedAt === undefined)
      .filter((p) =>
        [...p.containers, ...p.initContainers].some(
          (c) => c.reason === 'CrashLoopBackOff' && c.restarts >= o.minRestarts,
        ),
      );
    const findings: Finding[] = [];
    for (const { workload, pods } of groupByWorkload(view, looping).values()) {
      const evidence: Evidence[] = [];
      let since = now;
      let restarts = 0;
      let first:
        | { pod: string; container: string; exitCode: number | undefined; reason: string | undefined }
        | undefined;
      for (const pod of pods) {
        for (const c of [...pod.initContainers, ...pod.containers]) {
          if (c.reason !== 'CrashLoopBackOff') continue;
          restarts += c.restarts;
          first ??= {
            pod: pod.name,
            container: c.name,
            exitCode: c.lastTermination?.exitCode,
            reason: c.lastTermination?.reason,
          };
          if (evidence.length < 8) evidence.push(...containerEvidence(pod, c, now));
        }
        const backOffs = view.eventsFor('Pod', pod.namespace, pod.name).filter((e) => e.reason === 'BackOff');
        for (const e of backOffs) if (e.firstAt !== undefined) since = Math.min(since, e.firstAt);
        if (evidence.length < 12) evidence.push(...eventEvidence(backOffs, now, 1));
      }
      const total =
        workload.kind === 'Pod'
          ? 1
          : view
              .podsOf(workload.kind as 'Deployment', workload.namespace ?? '', workload.name)
              .filter((p) => p.deletedAt === undefined).length;
      const nodes = [...new Set(pods.map((p) => p.nodeName).filter((n): n is string => n !== undefined))];
      const exit = first?.exitCode;
      findings.push({
        ruleId: 'crashloop',
        level: ctx.level,
        object: workload,
        title: `${workload.kind} ${workload.namespace}/${workload.name}: ${pods.length}${total > pods.length ? ` of ${total}` : ''} pod${pods.length === 1 ? '' : 's'} in CrashLoopBackOff`,
        loop: crashloop.loop,
        message: `The container${first ? ` ${first.container}` : ''} keeps exiting${exit !== undefined ? ` (exit code ${exit}${first?.reason ? `, ${first.reason}` : ''})` : ''} and the kubelet restarts it with a growing back-off (${restarts} restarts so far). Restarting does not fix what makes it exit.`,
        evidence,
        nextSteps: [
          ...(first
            ? [`kubectl logs${ns(workload.namespace)} ${first.pod} -c ${first.container} --previous`]
            : []),
          ...(first ? [`kubectl describe pod${ns(workload.namespace)} ${first.pod}`] : []),
          exit === 137
            ? 'Exit code 137 means it was killed: OOMKilled (see its memory limit) or a failing liveness probe.'
            : exit === 1 || exit === 2
              ? 'Exit code 1 or 2 is the application giving up at start: check recent configuration, secrets and the dependencies it connects to.'
              : 'Check what changed recently: image, configuration, dependencies.',
        ],
        facts: {
          pods: pods.length,
          restarts,
          ...(exit !== undefined ? { exitCode: exit } : {}),
          ...(first ? { pod: first.pod, container: first.container } : {}),
          ...(nodes.length === 1 ? { node: nodes[0]! } : {}),
        },
        since,
      });
    }
    return findings;
  },
};
