import { z } from 'zod';
import type { DeploymentRecord, PodRecord, ReplicaSetRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, eventEvidence, ns } from '../../helpers.js';
import type { Rule, RuleContext } from '../../rule.js';
import {
  blockedPodEvidence,
  conditionEvidence,
  intOrPercent,
  isActivePod,
  judgePod,
  PROBLEM_BLOCKS,
  type PodBlock,
  type PodJudgement,
} from '../workload-helpers.js';

const options = z
  .object({
    /**
     * A new pod not ready this long after it was created is stuck, not starting (an image pull and a
     * readiness probe take seconds to a minute; raise this for applications that start slowly).
     */
    stalledAfterSeconds: z.number().int().min(10).default(120),
    /**
     * Pods on a node that stopped reporting are evicted after their `unreachable` toleration (300 s by
     * default) plus the node monitor grace: until then the missing replicas are self-healing on schedule.
     */
    nodeLossGraceSeconds: z.number().int().min(0).default(360),
    /**
     * Pods the Cluster Autoscaler is adding a node for (its `TriggeredScaleUp` event) are on their way
     * this long: a cloud node takes minutes to join (the autoscaler itself gives up after 15).
     */
    scaleUpGraceSeconds: z.number().int().min(0).default(600),
  })
  .strict();

type Options = z.infer<typeof options>;

/** The one verdict the rule gives a Deployment. */
export type DeploymentVerdict =
  | 'rollout-stuck'
  | 'blocked-by-scheduling'
  | 'blocked-by-image'
  | 'new-revision-crash-looping'
  | 'capacity-not-healing'
  | 'replicas-lost';

const LOOP =
  'the Deployment and ReplicaSet controllers keep the desired number of replicas available and roll out new revisions; when replacements cannot start, nothing heals by itself';

/** The newest ReplicaSet: the one whose revision is the Deployment's, else the highest revision. */
function newReplicaSet(d: DeploymentRecord, sets: readonly ReplicaSetRecord[]): ReplicaSetRecord | undefined {
  const exact = sets.find((rs) => d.revision !== undefined && rs.revision === d.revision);
  if (exact) return exact;
  return [...sets].sort((a, b) => Number(b.revision ?? 0) - Number(a.revision ?? 0))[0];
}

/** The most specific problem among judged pods (image and crash beat scheduling, scheduling beats unready). */
function mainProblem(judged: readonly PodJudgement[]): { block: PodBlock; pods: PodJudgement[] } | undefined {
  for (const block of PROBLEM_BLOCKS) {
    const pods = judged.filter((j) => j.block === block);
    if (pods.length > 0) return { block, pods };
  }
  return undefined;
}

function verdictOf(
  block: PodBlock | undefined,
  isRollout: boolean,
  isNewRevision: boolean,
  isDeadlineExceeded: boolean,
): DeploymentVerdict {
  switch (block) {
    case 'image':
      return 'blocked-by-image';
    case 'crash':
      return isRollout && isNewRevision ? 'new-revision-crash-looping' : 'replicas-lost';
    case 'unscheduled':
      // Nobody schedules the pods: inhibition mutes this verdict while the scheduler is down.
      return 'blocked-by-scheduling';
    case 'unschedulable':
      return isRollout && isNewRevision ? 'blocked-by-scheduling' : 'capacity-not-healing';
    case 'node-lost':
      return 'capacity-not-healing';
    default:
      // Old pods lost during a rollout are lost replicas; the rollout is stuck when its new pods are.
      return isDeadlineExceeded || (isRollout && isNewRevision) ? 'rollout-stuck' : 'replicas-lost';
  }
}

const CAUSE_TEXT: Record<PodBlock, string> = {
  ok: '',
  starting: '',
  healing: '',
  image: 'image cannot be pulled',
  crash: 'crash-looping',
  config: 'containers cannot be created',
  unschedulable: 'pods unschedulable',
  unscheduled: 'pods not scheduled',
  'node-lost': 'pods stuck on a lost node',
  unready: 'pods never turn ready',
};

/**
 * Judges one application Deployment: one verdict from its conditions, generation, ReplicaSet revisions,
 * the state of its pods (scheduling, image pulls, crashes, readiness) and its nodes; or nothing while a
 * rollout or self-healing is on its way.
 */
function judge(ctx: RuleContext<Options>, d: DeploymentRecord): Finding | undefined {
  const { view, now, options: o } = ctx;
  const desired = d.replicas;
  if (d.isPaused || desired === 0) return undefined;
  const namespace = d.namespace ?? '';
  const sets = view.ownedBy('ReplicaSet', d.uid);
  const newRs = newReplicaSet(d, sets);
  const pods = sets.flatMap((rs) => view.ownedBy('Pod', rs.uid)).filter(isActivePod);
  const judgeOptions = {
    stalledAfterMs: o.stalledAfterSeconds * 1000,
    nodeLossGraceMs: o.nodeLossGraceSeconds * 1000,
    scaleUpGraceMs: o.scaleUpGraceSeconds * 1000,
  };
  const judged = pods.map((p) => judgePod(view, p, now, judgeOptions));
  const isNew = (p: PodRecord): boolean => newRs !== undefined && p.owner?.uid === newRs.uid;

  const progressing = d.conditions.Progressing;
  const availableCondition = d.conditions.Available;
  const isDeadlineExceeded =
    progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded';
  // A rollout is under way until the controller reports the new ReplicaSet available; after that,
  // upstream no longer estimates progress, so lost pods change `Available`, never `Progressing`.
  const isRollout =
    isDeadlineExceeded ||
    d.generation > (d.observedGeneration ?? 0) ||
    (progressing !== undefined && progressing.reason !== 'NewReplicaSetAvailable') ||
    d.statusReplicas > d.updatedReplicas;

  // Pods the kubelet keeps restarting are sometimes ready for a few seconds: they do not serve.
  // A ReplicaSet that cannot create its pods (a full ResourceQuota, an admission webhook refusing them)
  // leaves no pod to judge: its ReplicaFailure condition is the evidence.
  const createFailure = [d.conditions.ReplicaFailure, ...sets.map((rs) => rs.conditions.ReplicaFailure)].find(
    (c) => c?.status === 'True',
  );
  const flapping = judged.filter((j) => j.block === 'crash' && j.pod.conditions.Ready?.status === 'True');
  const available = Math.max(0, d.availableReplicas - flapping.length);

  let problem: { block: PodBlock; pods: PodJudgement[] } | undefined;
  let isNewRevision = false;
  let since: number | undefined;
  if (isDeadlineExceeded) {
    // Past its progress deadline: an Alert whatever the cause; the pods only refine the verdict.
    problem = mainProblem(judged.filter((j) => isNew(j.pod))) ?? mainProblem(judged);
    isNewRevision = problem !== undefined && problem.pods.some((j) => isNew(j.pod));
    since = progressing?.lastTransitionAt;
  } else if (isRollout) {
    // A rollout is healthy while its new pods start; it is stuck as soon as one of them is blocked
    // (the deadline, 10 minutes by default, is only the controller giving up). Old pods lost during a
    // rollout count when availability falls below what the rollout itself allows.
    const maxUnavailable =
      d.strategy === 'Recreate' ? desired : intOrPercent(d.maxUnavailable, desired, false, '25%');
    problem = mainProblem(judged.filter((j) => isNew(j.pod)));
    isNewRevision = problem !== undefined;
    if (!problem && available < desired - maxUnavailable) problem = mainProblem(judged);
    if (problem) since = Math.min(...problem.pods.map((j) => j.since));
    else if (createFailure) {
      isNewRevision = true;
      since = createFailure.lastTransitionAt;
    } else return undefined;
  } else {
    if (available >= desired) return undefined;
    problem = mainProblem(judged);
    if (!problem && !createFailure) {
      // Replacements on their way (starting, or waiting for a lost node's pods to be evicted) are
      // self-healing at work; only a shortfall nothing explains is a problem.
      const onTheWay = judged.filter((j) => j.block === 'starting' || j.block === 'healing').length;
      const readyNotAvailable = Math.max(0, d.readyReplicas - d.availableReplicas);
      if (desired - available <= onTheWay + readyNotAvailable) return undefined;
    }
    const lostAt = availableCondition?.status === 'False' ? availableCondition.lastTransitionAt : undefined;
    const problemSince = problem
      ? Math.min(...problem.pods.map((j) => j.since))
      : createFailure?.lastTransitionAt;
    since =
      lostAt !== undefined && problemSince !== undefined
        ? Math.min(lostAt, problemSince)
        : (lostAt ?? problemSince);
  }

  const verdict = verdictOf(problem?.block, isRollout, isNewRevision, isDeadlineExceeded);
  const ref = { kind: 'Deployment', namespace: d.namespace, name: d.name };
  const cause = problem ? CAUSE_TEXT[problem.block] : createFailure ? 'pods cannot be created' : '';
  const causeText =
    verdict === 'new-revision-crash-looping'
      ? 'new revision crash-looping'
      : verdict === 'blocked-by-image'
        ? `${isNewRevision ? 'rollout blocked, ' : ''}image cannot be pulled`
        : verdict === 'blocked-by-scheduling'
          ? `${isNewRevision ? 'rollout blocked, ' : ''}${cause}`
          : verdict === 'capacity-not-healing'
            ? `capacity not healing, ${cause}`
            : verdict === 'rollout-stuck'
              ? ['rollout stuck', isDeadlineExceeded ? 'progress deadline exceeded' : '', cause]
                  .filter((x) => x !== '')
                  .join(', ')
              : `replicas lost${cause ? `, ${cause}` : ''}`;
  const title = `Deployment ${namespace}/${d.name}: ${available} of ${desired} replica${desired === 1 ? '' : 's'} available, ${causeText}`;

  // Evidence: conditions, ReplicaSet revisions with their ready counts, then the blocking pods.
  const evidence: Evidence[] = [
    ...conditionEvidence('Available', availableCondition, now),
    ...conditionEvidence('Progressing', progressing, now),
    ...conditionEvidence('ReplicaFailure', d.conditions.ReplicaFailure ?? createFailure, now),
  ];
  if (d.generation > (d.observedGeneration ?? 0))
    evidence.push({
      type: 'state',
      text: `generation ${d.generation} not yet observed by the controller (observed ${d.observedGeneration ?? 'none'})`,
    });
  const active = sets
    .filter((rs) => rs === newRs || rs.replicas > 0 || rs.statusReplicas > 0)
    .sort((a, b) => Number(b.revision ?? 0) - Number(a.revision ?? 0));
  for (const rs of active) {
    evidence.push({
      type: 'state',
      text: `revision ${rs.revision ?? '?'} (ReplicaSet ${rs.name}${rs === newRs ? ', new' : ', old'}): ${rs.readyReplicas} of ${rs.replicas} ready, ${rs.availableReplicas} available${rs.images.length > 0 ? `, ${rs.images.join(', ')}` : ''}`,
    });
  }
  const blocking = problem?.pods ?? [];
  for (const j of blocking.slice(0, 3)) evidence.push(...blockedPodEvidence(view, j, now));
  if (blocking.length > 3)
    evidence.push({ type: 'state', text: `and ${blocking.length - 3} more pods like these` });
  evidence.push(
    ...eventEvidence(view.eventsFor('Deployment', d.namespace, d.name), now, 2, (e) => e.type === 'Warning'),
  );

  const first = blocking[0]?.pod;
  const crashedPod = blocking.find((j) => j.block === 'crash')?.pod;
  const crashedContainer = crashedPod
    ? [...crashedPod.initContainers, ...crashedPod.containers].find((c) => c.lastTermination !== undefined)
    : undefined;
  const crashed =
    crashedPod && crashedContainer ? { pod: crashedPod.name, container: crashedContainer.name } : undefined;
  const n = ns(d.namespace);
  const nextSteps: string[] = [];
  if (isRollout) nextSteps.push(`kubectl rollout status deployment/${d.name}${n}`);
  if (first) nextSteps.push(`kubectl describe pod${n} ${first.name}`);
  switch (verdict) {
    case 'blocked-by-image':
      nextSteps.push(
        'Check the image name and tag, and that the registry is reachable and its pull secret valid.',
      );
      if (isRollout) nextSteps.push(`kubectl rollout undo deployment/${d.name}${n}`);
      break;
    case 'new-revision-crash-looping':
      if (first) nextSteps.push(`kubectl logs${n} ${first.name} --previous`);
      nextSteps.push(
        `kubectl rollout undo deployment/${d.name}${n}`,
        'The new revision exits at start: compare its image, configuration and environment with the previous revision (kubectl rollout history).',
      );
      break;
    case 'rollout-stuck':
      if (first) nextSteps.push(`kubectl logs${n} ${first.name}`);
      nextSteps.push(`kubectl rollout undo deployment/${d.name}${n}`);
      if (problem?.block === 'unready')
        nextSteps.push(
          'New pods that never turn ready usually fail their readiness probe: a dependency they cannot reach, or a probe that does not match the new version.',
        );
      break;
    case 'blocked-by-scheduling':
    case 'capacity-not-healing':
      nextSteps.push(
        `kubectl get events${n} --field-selector reason=FailedScheduling`,
        'Pods no node can take: requests larger than free capacity, node selectors, affinity or taints; check the Cluster Autoscaler (at its maximum, or down) and whether the scheduler is running.',
      );
      break;
    default:
      if (first && problem?.block === 'crash') nextSteps.push(`kubectl logs${n} ${first.name} --previous`);
      {
        const selector = Object.entries(d.selector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        nextSteps.push(
          `kubectl get pods${n}${selector ? ` -l ${selector}` : ''} -o wide`,
          'Replicas below desired outside a rollout: pods crashing, evicted, or not recreated (ReplicaFailure: quota, admission); see the events of the ReplicaSet.',
        );
      }
  }

  if (createFailure && !problem) {
    const failing = sets.find((rs) => rs.conditions.ReplicaFailure?.status === 'True') ?? newRs;
    if (failing) nextSteps.push(`kubectl describe replicaset${n} ${failing.name}`);
    nextSteps.push(
      `kubectl describe resourcequota${n}`,
      'A ReplicaSet that cannot create pods is refused by the API server: a full ResourceQuota or LimitRange, or an admission webhook (policy engines) rejecting the pod.',
    );
  }
  const revision = newRs?.revision ?? d.revision;
  const blockedText = problem
    ? `${blocking.length} pod${blocking.length === 1 ? ' is' : 's are'} blocked (${cause})`
    : createFailure
      ? `the ReplicaSet cannot create pods (${createFailure.reason ?? 'ReplicaFailure'}${createFailure.message ? `: ${createFailure.message}` : ''})`
      : '';
  const message = [
    isDeadlineExceeded
      ? `The rollout passed its progress deadline (${d.progressDeadlineSeconds}s)${since !== undefined ? ` ${ago(now - since)} ago` : ''} and the controller stopped waiting for it${blockedText ? `; ${blockedText}` : ''}.`
      : isNewRevision
        ? `The rollout to revision ${revision ?? '?'} cannot progress: ${blockedText}.`
        : isRollout
          ? `During the rollout to revision ${revision ?? '?'}, ${available} of ${desired} replicas are available, fewer than the rollout allows, and ${blockedText}.`
          : `Outside any rollout, ${available} of ${desired} replicas are available${blockedText ? ` and ${blockedText}` : ' and nothing is recreating the rest'}.`,
    isRollout ? `${d.updatedReplicas} of ${desired} replicas run the new revision.` : '',
  ]
    .filter((s) => s !== '')
    .join(' ');

  return {
    ruleId: 'deployment-replicas',
    level: ctx.level,
    object: ref,
    title,
    loop: LOOP,
    message,
    evidence,
    nextSteps,
    facts: {
      verdict,
      desired,
      available,
      updated: d.updatedReplicas,
      ...(revision !== undefined ? { revision } : {}),
      ...(problem
        ? { cause: problem.block, blockedPods: blocking.length }
        : createFailure
          ? { cause: 'create-failed' }
          : {}),
      ...(isDeadlineExceeded ? { deadlineExceeded: true } : {}),
      // A crashing container is named so the edge that prints or sends the finding can add its last log lines.
      ...(crashed ? { pod: crashed.pod, container: crashed.container } : {}),
    },
    ...(since !== undefined ? { since: Math.min(since, now) } : {}),
  };
}

/**
 * Application Deployments whose replicas are not available outside a rollout, or whose rollout is
 * blocked: one verdict per Deployment (blocked by scheduling, by the image, new revision crash-looping,
 * capacity not healing, replicas lost, rollout stuck), silent during healthy rollouts and self-healing.
 */
export const deploymentReplicas: Rule<Options> = {
  id: 'deployment-replicas',
  summary:
    'Deployments below their desired replicas outside a rollout, or with a blocked or stuck rollout: one verdict per Deployment',
  loop: LOOP,
  rationale:
    'Outside a rollout available replicas must match desired: a shortfall the controllers cannot repair (pods that cannot be scheduled, pulled or kept running) means users lose capacity now and self-healing is not recovering. A rollout whose new pods are blocked will never finish and leaves no room to ship a fix; it pages within minutes instead of after the 10-minute progress deadline. Healthy and slow rollouts, replacements on their way and paused Deployments stay silent. Cluster components are judged by component-unavailable.',
  defaultLevel: 'alert',
  defaultForMs: 2 * 60_000,
  inputs: ['Deployment', 'ReplicaSet', 'Pod', 'Node', 'Event'],
  options,
  evaluate(ctx) {
    const findings: Finding[] = [];
    for (const d of ctx.view.list('Deployment')) {
      if (d.deletedAt !== undefined || !ctx.inScope(d)) continue;
      if (ctx.classification.isClusterComponent(d.namespace, d.name)) continue;
      const f = judge(ctx, d);
      if (f) findings.push(f);
    }
    return findings;
  },
};
