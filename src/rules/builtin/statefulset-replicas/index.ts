import { z } from 'zod';
import type { PodRecord, StatefulSetRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { eventEvidence, ns } from '../../helpers.js';
import type { Rule, RuleContext } from '../../rule.js';
import {
  blockedPodEvidence,
  judgePod,
  PROBLEM_BLOCKS,
  type PodBlock,
  type PodJudgement,
} from '../workload-helpers.js';

const options = z
  .object({
    /** A pod not ready this long after it started (or turned unready) is stuck, not starting. */
    stalledAfterSeconds: z.number().int().min(10).default(120),
    /**
     * Pods on a node that stopped reporting count as healing this long. A StatefulSet pod is not
     * replaced until the old one is confirmed gone, so past it the replica stays lost until someone acts.
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

/** The label that names the revision (ControllerRevision) a StatefulSet pod runs. */
const REVISION_LABEL = 'controller-revision-hash';

const LOOP =
  'the StatefulSet controller recreates each missing replica with its identity and storage, one ordinal at a time; a replica that cannot start blocks every one after it';

const CAUSE_TEXT: Record<PodBlock, string> = {
  ok: '',
  starting: '',
  healing: '',
  image: 'image cannot be pulled',
  crash: 'crash-looping',
  config: 'containers cannot be created',
  unschedulable: 'pods unschedulable',
  unscheduled: 'pods not scheduled',
  'node-lost': 'a pod stuck on a lost node',
  unready: 'pods never turn ready',
};

function mainProblem(judged: readonly PodJudgement[]): { block: PodBlock; pods: PodJudgement[] } | undefined {
  for (const block of PROBLEM_BLOCKS) {
    const pods = judged.filter((j) => j.block === block);
    if (pods.length > 0) return { block, pods };
  }
  return undefined;
}

/** The ordinal of a StatefulSet pod (`name-3` → 3). */
function ordinalOf(set: StatefulSetRecord, pod: PodRecord): number {
  const n = Number(pod.name.slice(set.name.length + 1));
  return Number.isInteger(n) ? n : Number.MAX_SAFE_INTEGER;
}

function judge(ctx: RuleContext<Options>, set: StatefulSetRecord): Finding | undefined {
  const { view, now, options: o } = ctx;
  const desired = set.replicas;
  if (desired === 0) return undefined;
  // Pods on a lost node stay (terminating) until the kubelet confirms them gone, and the controller
  // will not recreate that identity before: they are the replica's fate, so they are judged too.
  const pods = view
    .ownedBy('Pod', set.uid)
    .filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed')
    .sort((a, b) => ordinalOf(set, a) - ordinalOf(set, b));
  const judged = pods
    .map((p) =>
      judgePod(view, p, now, {
        stalledAfterMs: o.stalledAfterSeconds * 1000,
        nodeLossGraceMs: o.nodeLossGraceSeconds * 1000,
        scaleUpGraceMs: o.scaleUpGraceSeconds * 1000,
      }),
    )
    .filter((j) => j.pod.deletedAt === undefined || j.lostNode !== undefined);
  const isUpdating =
    set.updateRevision !== undefined &&
    set.currentRevision !== undefined &&
    set.updateRevision !== set.currentRevision;
  // The pod label holds the full ControllerRevision name, as `status.updateRevision` does.
  const isNew = (p: PodRecord): boolean =>
    set.updateRevision !== undefined && p.labels?.[REVISION_LABEL] === set.updateRevision;
  const ready = Math.max(
    0,
    set.readyReplicas -
      judged.filter((j) => j.block === 'crash' && j.pod.conditions.Ready?.status === 'True').length,
  );

  let problem: { block: PodBlock; pods: PodJudgement[] } | undefined;
  let isNewRevision = false;
  if (isUpdating) {
    // A rolling update replaces one pod at a time: the one being replaced is briefly missing or
    // starting, which is no problem. It is stuck when a pod of the new revision is blocked; a partition
    // or OnDelete update simply waits. An old pod blocked meanwhile is judged as outside an update.
    problem = mainProblem(judged.filter((j) => isNew(j.pod)));
    isNewRevision = problem !== undefined;
    if (!problem && ready < desired) problem = mainProblem(judged);
    if (!problem) return undefined;
  } else {
    if (ready >= desired) return undefined;
    problem = mainProblem(judged);
    if (!problem) {
      const onTheWay = judged.filter((j) => j.block === 'starting' || j.block === 'healing').length;
      // Ordinals not created yet wait for the one before them: only a blocked pod or a shortfall that
      // nothing is recreating is a problem.
      if (desired - ready <= onTheWay) return undefined;
    }
  }
  const since = problem ? Math.min(...problem.pods.map((j) => j.since)) : undefined;
  const verdict =
    problem?.block === 'image'
      ? 'blocked-by-image'
      : problem?.block === 'crash'
        ? isUpdating && isNewRevision
          ? 'new-revision-crash-looping'
          : 'replicas-lost'
        : problem?.block === 'unscheduled' ||
            (problem?.block === 'unschedulable' && isUpdating && isNewRevision)
          ? 'blocked-by-scheduling'
          : problem?.block === 'unschedulable' || problem?.block === 'node-lost'
            ? 'capacity-not-healing'
            : isUpdating && isNewRevision
              ? 'rollout-stuck'
              : 'replicas-lost';
  const cause = problem ? CAUSE_TEXT[problem.block] : 'replicas not recreated';
  const namespace = set.namespace ?? '';
  const title = `StatefulSet ${namespace}/${set.name}: ${ready} of ${desired} replica${desired === 1 ? '' : 's'} ready, ${verdict === 'new-revision-crash-looping' ? 'new revision crash-looping' : `${isUpdating && isNewRevision ? 'rolling update blocked' : verdict === 'capacity-not-healing' ? 'capacity not healing' : 'replicas lost'}, ${cause}`}`;

  const evidence: Evidence[] = [
    {
      type: 'state',
      text: `${set.readyReplicas} of ${desired} ready, ${set.currentReplicas} on revision ${set.currentRevision ?? '?'}${isUpdating ? `, ${set.updatedReplicas} on the update revision ${set.updateRevision ?? '?'}` : ''}`,
    },
  ];
  if (set.generation > (set.observedGeneration ?? 0))
    evidence.push({
      type: 'state',
      text: `generation ${set.generation} not yet observed by the controller (observed ${set.observedGeneration ?? 'none'})`,
    });
  const blocking = problem?.pods ?? [];
  for (const j of blocking.slice(0, 3)) evidence.push(...blockedPodEvidence(view, j, now));
  if (blocking.length > 3)
    evidence.push({ type: 'state', text: `and ${blocking.length - 3} more pods like these` });
  evidence.push(
    ...eventEvidence(
      view.eventsFor('StatefulSet', set.namespace, set.name),
      now,
      3,
      (e) => e.type === 'Warning',
    ),
  );

  const n = ns(set.namespace);
  const first = blocking[0]?.pod;
  const nextSteps: string[] = [];
  if (isUpdating) nextSteps.push(`kubectl rollout status statefulset/${set.name}${n}`);
  if (first) nextSteps.push(`kubectl describe pod${n} ${first.name}`);
  if (first && problem?.block === 'crash') nextSteps.push(`kubectl logs${n} ${first.name} --previous`);
  if (
    verdict === 'new-revision-crash-looping' ||
    verdict === 'blocked-by-image' ||
    verdict === 'rollout-stuck'
  )
    nextSteps.push(
      `kubectl rollout undo statefulset/${set.name}${n}`,
      'With OrderedReady, a broken pod of the new revision stays broken after a rollback until it is deleted: kubectl delete pod after the undo.',
    );
  if (problem?.block === 'node-lost' && first)
    nextSteps.push(
      `kubectl delete pod${n} ${first.name} --grace-period=0 --force   # only once the node is really gone: two pods with one identity can corrupt its data`,
    );
  if (problem?.block === 'unschedulable' || problem?.block === 'unscheduled')
    nextSteps.push(
      `kubectl get pvc${n}`,
      'A StatefulSet pod is bound to its volume: a volume in another zone, or one not yet provisioned, makes it unschedulable; so do requests larger than free capacity.',
    );
  if (!first) nextSteps.push(`kubectl describe statefulset${n} ${set.name}`);

  return {
    ruleId: 'statefulset-replicas',
    level: ctx.level,
    object: { kind: 'StatefulSet', namespace: set.namespace, name: set.name },
    title,
    loop: LOOP,
    message: isNewRevision
      ? `The rolling update to revision ${set.updateRevision ?? '?'} cannot progress: ${blocking.length} pod${blocking.length === 1 ? ' is' : 's are'} blocked (${cause}).`
      : `Outside any rolling update, ${ready} of ${desired} replicas are ready${problem ? ` and ${blocking.length} pod${blocking.length === 1 ? ' is' : 's are'} blocked (${cause})` : ' and nothing is recreating the rest'}; later ordinals wait for earlier ones.`,
    evidence,
    nextSteps,
    facts: {
      verdict,
      desired,
      ready,
      updated: set.updatedReplicas,
      ...(set.updateRevision !== undefined ? { revision: set.updateRevision } : {}),
      ...(problem ? { cause: problem.block, blockedPods: blocking.length } : {}),
    },
    ...(since !== undefined ? { since: Math.min(since, now) } : {}),
  };
}

/**
 * Application StatefulSets with fewer ready replicas than desired outside a rolling update, or whose
 * rolling update is blocked: one verdict per StatefulSet, in the shape of deployment-replicas.
 */
export const statefulsetReplicas: Rule<Options> = {
  id: 'statefulset-replicas',
  summary:
    'StatefulSets below their desired ready replicas outside a rolling update, or with a blocked update: one verdict per StatefulSet',
  loop: LOOP,
  rationale:
    'A StatefulSet replica is an identity with its own data (a database member, a queue partition): while it is missing the set runs degraded, and with OrderedReady pod management one blocked ordinal stops every later one, so self-healing stalls. Rolling updates, replicas being recreated and partitioned or OnDelete updates stay silent. Cluster components are judged by component-unavailable.',
  defaultLevel: 'alert',
  defaultForMs: 3 * 60_000,
  inputs: ['StatefulSet', 'Pod', 'Node', 'Event'],
  options,
  evaluate(ctx) {
    const findings: Finding[] = [];
    for (const set of ctx.view.list('StatefulSet')) {
      if (set.deletedAt !== undefined || !ctx.inScope(set)) continue;
      if (ctx.classification.isClusterComponent(set.namespace, set.name)) continue;
      const f = judge(ctx, set);
      if (f) findings.push(f);
    }
    return findings;
  },
};
