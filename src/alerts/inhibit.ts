import { fingerprintOf, refText, type Finding } from '../domain/index.js';

/** A finding held back because a deeper cause explains it. */
export interface Muted {
  readonly finding: Finding;
  /** The fingerprint of the finding that explains it. */
  readonly by: string;
  readonly reason: string;
}

/** What inhibition needs to know about the rules. */
export interface InhibitionContext {
  /** The record kinds a rule judges from (a blind watch on one of them makes its findings unreliable). */
  inputsOf(ruleId: string): readonly string[];
  /**
   * Workload verdicts that fired and resolved within the last `RESTART_ECHO_MS`, by object
   * (`Kind/ns/name` → the verdict's fingerprint): their restarts are still in restart-spike's window.
   */
  recentVerdicts?: ReadonlyMap<string, string>;
}

/** How long after a workload verdict resolves its restarts still count as its echo (restart-spike's window). */
export const RESTART_ECHO_MS = 15 * 60_000;

/** Rules whose findings are about pods and say which node they run on (`facts.node`). */
const POD_RULES = new Set(['crashloop', 'oom-killed', 'image-pull', 'restart-spike', 'placement-skew']);
/** Rules that give one availability verdict per workload; their finding includes the pods' evidence. */
export const WORKLOAD_VERDICT_RULES: ReadonlySet<string> = new Set([
  'deployment-replicas',
  'statefulset-replicas',
  'component-unavailable',
]);
/** Application replica rules whose `facts.verdict` says why replicas are missing. */
const REPLICA_RULES = new Set(['deployment-replicas', 'statefulset-replicas']);
/** Pod-symptom rules a workload verdict on the same workload explains (one finding per broken workload). */
const SYMPTOM_RULES = new Set(['crashloop', 'oom-killed', 'image-pull', 'restart-spike']);
/** Findings a stopped scheduler causes. */
const SCHEDULING_RULES = new Set(['pods-unschedulable', 'capacity-stuck']);

/**
 * Mutes findings a deeper cause explains, so one failure pages once: a NotReady node mutes the pod
 * findings on it; an unhealthy scheduler mutes the Pending pods (and stuck rollouts blocked by
 * scheduling) it causes; a blind monitor mutes what it can no longer judge; a workload's availability
 * verdict (deployment-replicas, statefulset-replicas, component-unavailable) mutes the pod symptoms of
 * the same workload (crash loop, OOM kills, image pulls, restart spike), whose evidence it carries;
 * a control-plane component found down mutes the symptoms of its static pods; stuck capacity
 * (capacity-stuck) mutes the workloads blocked by scheduling; a stopped controller
 * manager mutes the replicas nobody replaces. The muting finding stays.
 */
export function inhibit(
  findings: readonly Finding[],
  ctx: InhibitionContext,
): { active: Finding[]; muted: Muted[] } {
  const notReadyNodes = new Map<string, string>();
  let scheduler: string | undefined;
  let controllerManager: string | undefined;
  let capacity: string | undefined;
  const controlPlane = new Map<string, string>();
  const blindKinds = new Map<string, string>();
  const verdicts = new Map<string, Finding>();
  for (const f of findings) {
    if (WORKLOAD_VERDICT_RULES.has(f.ruleId)) verdicts.set(refText(f.object), f);
    if (f.ruleId === 'node-not-ready' && f.object.kind === 'Node')
      notReadyNodes.set(f.object.name, fingerprintOf(f));
    if (f.ruleId === 'control-plane' && f.facts.component === 'kube-scheduler') scheduler = fingerprintOf(f);
    if (f.ruleId === 'control-plane' && f.facts.component === 'kube-controller-manager')
      controllerManager = fingerprintOf(f);
    if (f.ruleId === 'capacity-stuck') capacity = fingerprintOf(f);
    if (f.ruleId === 'control-plane' && typeof f.facts.component === 'string')
      controlPlane.set(f.facts.component, fingerprintOf(f));
    if (f.ruleId === 'monitor-blind') {
      const kinds = typeof f.facts.kinds === 'string' ? f.facts.kinds.split(',') : [];
      for (const k of kinds) blindKinds.set(k.trim(), fingerprintOf(f));
    }
  }
  const active: Finding[] = [];
  const muted: Muted[] = [];
  for (const f of findings) {
    const node = typeof f.facts.node === 'string' ? f.facts.node : undefined;
    if (node && notReadyNodes.has(node) && (POD_RULES.has(f.ruleId) || f.object.kind === 'Pod')) {
      muted.push({ finding: f, by: notReadyNodes.get(node)!, reason: `node ${node} is not ready` });
      continue;
    }
    if (
      scheduler &&
      (SCHEDULING_RULES.has(f.ruleId) ||
        (f.ruleId === 'deployment-replicas' && f.facts.verdict === 'blocked-by-scheduling') ||
        (f.ruleId === 'component-unavailable' && f.facts.cause === 'unscheduled'))
    ) {
      muted.push({ finding: f, by: scheduler, reason: 'the scheduler is not running' });
      continue;
    }
    const replicaVerdict = REPLICA_RULES.has(f.ruleId) ? f.facts.verdict : undefined;
    if (
      capacity &&
      (f.ruleId === 'pods-unschedulable' ||
        replicaVerdict === 'blocked-by-scheduling' ||
        replicaVerdict === 'capacity-not-healing')
    ) {
      muted.push({ finding: f, by: capacity, reason: 'the cluster cannot add the capacity it needs' });
      continue;
    }
    if (controllerManager && replicaVerdict === 'replicas-lost') {
      muted.push({
        finding: f,
        by: controllerManager,
        reason: 'the controller manager is not running: nothing creates replacement pods',
      });
      continue;
    }
    // The static pods of a control-plane component (kube-scheduler-<node>) are that component.
    const component =
      SYMPTOM_RULES.has(f.ruleId) && f.object.kind === 'Pod' && f.object.namespace === 'kube-system'
        ? [...controlPlane.keys()].find((c) => f.object.name.startsWith(`${c}-`))
        : undefined;
    if (component) {
      muted.push({
        finding: f,
        by: controlPlane.get(component)!,
        reason: `${component} is reported as down`,
      });
      continue;
    }
    const verdict = SYMPTOM_RULES.has(f.ruleId) ? verdicts.get(refText(f.object)) : undefined;
    if (verdict) {
      muted.push({
        finding: f,
        by: fingerprintOf(verdict),
        reason: `${verdict.ruleId} reports ${refText(f.object)} as a whole (${verdict.title})`,
      });
      continue;
    }
    // A crash loop reported (and resolved) as the workload's verdict leaves its restarts in the spike
    // window for a while: the same failure, already told, not a new one.
    const echoOf = f.ruleId === 'restart-spike' ? ctx.recentVerdicts?.get(refText(f.object)) : undefined;
    if (echoOf !== undefined) {
      muted.push({
        finding: f,
        by: echoOf,
        reason: `the restarts of ${refText(f.object)} belong to a failure reported and resolved in the last ${RESTART_ECHO_MS / 60_000} minutes`,
      });
      continue;
    }
    if (f.ruleId !== 'monitor-blind' && blindKinds.size > 0) {
      const blind = ctx.inputsOf(f.ruleId).find((k) => blindKinds.has(k));
      if (blind) {
        muted.push({ finding: f, by: blindKinds.get(blind)!, reason: `the ${blind} watch is not current` });
        continue;
      }
    }
    active.push(f);
  }
  return { active, muted };
}
