import { z } from 'zod';
import type { ContainerRecord, PodRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, containerEvidence, eventEvidence, ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import { isCrashLooping, judgeDaemonSet, recentBackOffs, skippedText } from '../addons-helpers.js';

const MINUTE = 60_000;

const options = z
  .object({
    /** Minutes a node must have been Ready before it is expected to run a ready agent. */
    nodeGraceMinutes: z.number().min(0).default(5),
    /** An agent whose container restarted within this many minutes counts as restarting. */
    restartWindowMinutes: z.number().min(1).default(15),
  })
  .strict();

type Options = z.infer<typeof options>;

/** A container's last restart, when it ended within the window (a crash, not a clean exit). */
function recentRestart(c: ContainerRecord, now: number, windowMs: number): number | undefined {
  const at = c.lastTermination?.finishedAt;
  if (c.restarts === 0 || at === undefined || now - at > windowMs) return undefined;
  return at;
}

/**
 * The log pipeline, one finding per log-agent DaemonSet: every node it should run on (Ready for a
 * while, schedulable, taints tolerated, nodeSelector matched) has a ready agent, and the agents are
 * not restarting. Output errors themselves are only in the agents' logs; the view shows their
 * consequences: restarts and crash loops.
 */
export const logAgent: Rule<Options> = {
  id: 'log-agent',
  summary: 'The log-agent DaemonSet: nodes without a ready agent, agents restarting or crash-looping',
  loop: 'the DaemonSet controller keeps one log agent per node and the kubelet restarts it; while an agent is missing or restarting, that node’s container logs are not shipped',
  rationale:
    'Applications keep running, so nobody needs paging; but logs lost now are missing when the next incident needs them, and restarting does not fix an output that rejects data. One finding per pipeline, never one per pod, so a backend outage does not become an alert storm.',
  defaultLevel: 'notice',
  defaultForMs: 5 * MINUTE,
  inputs: ['DaemonSet', 'Pod', 'Node', 'Event'],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const agent = ctx.classification.logAgent;
    if (!agent) return [];
    const ds = view.get('DaemonSet', agent.namespace, agent.name);
    if (!ds || ds.deletedAt !== undefined || !ctx.inScope(ds)) return [];
    const graceMs = o.nodeGraceMinutes * MINUTE;
    const windowMs = o.restartWindowMinutes * MINUTE;
    // Plain readiness here: restarts are reported on their own, and keep the finding alive between them.
    const j = judgeDaemonSet(view, ds, now, graceMs, false);
    // When each judged node last turned Ready: a restart before that is the node's outage (a reboot,
    // a kubelet restart), already told by node findings, not the agent's.
    const readySince = new Map(
      j.eligibility.eligible.map((n) => [n.name, n.conditions.Ready?.lastTransitionAt ?? n.createdAt]),
    );
    const eligibleNames = new Set(j.nodes.map((n) => n.node));

    // Agents restarting: on the nodes judged, containers whose last crash ended within the window.
    const restarting: { pod: PodRecord; c: ContainerRecord; at: number }[] = [];
    for (const pod of view.podsOf('DaemonSet', ds.namespace ?? '', ds.name)) {
      if (pod.deletedAt !== undefined || !pod.nodeName || !eligibleNames.has(pod.nodeName)) continue;
      for (const c of [...pod.initContainers, ...pod.containers]) {
        const at = recentRestart(c, now, windowMs);
        if (at !== undefined && at >= (readySince.get(pod.nodeName) ?? 0)) restarting.push({ pod, c, at });
      }
    }
    const restartingPods = [...new Set(restarting.map((r) => r.pod))];
    const looping = restartingPods.filter((p) => isCrashLooping(view, p, now));
    if (j.bad.length === 0 && restartingPods.length === 0) return [];

    const without = j.bad.map((n) => n.node);
    const missing = j.bad.filter((n) => n.state === 'missing').map((n) => n.node);
    const restarts = restarting.reduce((sum, r) => sum + r.c.restarts, 0);
    // Since: the first restart or BackOff still in the window, and when the unready agents went unready.
    let since = now;
    for (const r of restarting) {
      since = Math.min(since, r.at);
      for (const e of recentBackOffs(view, r.pod, now, windowMs))
        if (e.firstAt !== undefined && now - e.firstAt <= windowMs) since = Math.min(since, e.firstAt);
    }
    for (const n of j.bad)
      for (const p of n.pods) {
        const ready = p.conditions.Ready;
        if (ready?.status !== 'True' && ready?.lastTransitionAt !== undefined)
          since = Math.min(since, ready.lastTransitionAt);
      }

    const evidence: Evidence[] = [];
    if (without.length > 0)
      evidence.push({
        type: 'state',
        text: `nodes without a ready agent: ${without.slice(0, 8).join(', ')}${without.length > 8 ? ', ...' : ''}${missing.length > 0 ? ` (${missing.length} with no agent pod at all)` : ''}`,
      });
    const shown = new Set<PodRecord>();
    for (const r of [...restarting].sort((a, b) => b.at - a.at)) {
      if (shown.size >= 3 || shown.has(r.pod)) continue;
      shown.add(r.pod);
      evidence.push(...containerEvidence(r.pod, r.c, now));
    }
    for (const n of j.bad)
      for (const p of n.pods) {
        if (shown.size >= 4 || shown.has(p)) continue;
        shown.add(p);
        for (const c of p.containers.filter((x) => !x.isReady))
          evidence.push(...containerEvidence(p, c, now));
      }
    for (const p of [...shown].slice(0, 2))
      evidence.push(
        ...eventEvidence(view.eventsFor('Pod', p.namespace, p.name), now, 2, (e) => e.type === 'Warning'),
      );
    const skipped = skippedText(j.eligibility.skipped, graceMs);
    if (skipped) evidence.push({ type: 'state', text: `judged against ${j.nodes.length} nodes; ${skipped}` });

    const name = `${ds.namespace}/${ds.name}`;
    const latest = [...restarting].sort((a, b) => b.at - a.at)[0];
    const problems = [
      without.length > 0
        ? `${without.length} of ${j.nodes.length} node${j.nodes.length === 1 ? '' : 's'} ${without.length === 1 ? 'has' : 'have'} no ready agent`
        : '',
      restartingPods.length > 0
        ? `${restartingPods.length} agent${restartingPods.length === 1 ? '' : 's'} restarted in the last ${o.restartWindowMinutes}m${looping.length > 0 ? ` (${looping.length} crash-looping)` : ''}${latest ? `, the latest ${ago(now - latest.at)} ago with ${latest.c.lastTermination?.reason ?? 'an error'} (exit code ${latest.c.lastTermination?.exitCode})` : ''}`
        : '',
    ].filter(Boolean);
    const finding: Finding = {
      ruleId: 'log-agent',
      level: ctx.level,
      object: { kind: 'DaemonSet', namespace: ds.namespace, name: ds.name },
      title: `Log agent ${name}: ${problems.join('; ')}`,
      loop: logAgent.loop,
      message: `The log pipeline ${name} is losing logs: ${problems.join('; ')}. ${j.ready} of ${j.nodes.length} eligible nodes have a ready agent. Container logs on the affected nodes are not shipped, and are lost for good when their pods go away. Agents that restart usually fail on their output (the backend rejects or throttles data, credentials, buffer limits); the errors are in the agent logs.`,
      evidence,
      nextSteps: [
        `kubectl get daemonset${ns(ds.namespace)} ${ds.name} -o wide`,
        `kubectl get pods${ns(ds.namespace)} -o wide | grep ${ds.name}`,
        ...(latest
          ? [
              `kubectl logs${ns(ds.namespace)} ${latest.pod.name} -c ${latest.c.name} --previous | grep -iE 'error|warn|retry'`,
            ]
          : []),
        `kubectl logs${ns(ds.namespace)} daemonset/${ds.name} --tail=100 | grep -iE 'error|retry|rejected|429|5[0-9][0-9]'`,
        'Output errors (HTTP 429/5xx, rejected chunks, failed retries) mean the backend cannot keep up or refuses the data: check the backend, then the agent’s buffer and retry settings; crash loops after a config change mean the configuration is wrong.',
      ],
      facts: {
        agent: name,
        nodesWithout: without.length,
        readyAgents: j.ready,
        eligibleNodes: j.nodes.length,
        restartingAgents: restartingPods.length,
        restarts,
      },
      since,
    };
    return [finding];
  },
};
