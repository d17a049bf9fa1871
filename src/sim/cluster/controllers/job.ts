import type { Condition, Job, Pod } from '../../model.js';
import { R } from '../../api/resources.js';
import { matchesLabelSelector } from '../../api/selectors.js';
import { objectKey } from '../../api/store.js';
import { isoSeconds, parseTime } from '../../time.js';
import { controllerOf, controllerRef, getCondition, isPodReady, podFromTemplate } from '../objects.js';
import type { World } from '../world.js';

const SOURCE = { component: 'job-controller' };
/** The finalizer that keeps a Job's pods until the controller has counted them. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
const LEGACY_JOB_NAME_LABEL = 'job-name';
const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
const POD_FAILURE_BACKOFF_MS = 10_000;
const POD_FAILURE_BACKOFF_MAX_MS = 6 * 60_000;
const DEFAULT_BACKOFF_LIMIT = 6;

type JobSpecWire = Job['spec'] & { podReplacementPolicy?: string };

/** The condition types that end a Job. */
export type JobFinish = 'Complete' | 'Failed';

/** Whether a Job has finished, and how: its `Complete` or `Failed` condition is True. */
export function jobFinish(job: Job): JobFinish | undefined {
  for (const c of job.status.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

/**
 * The API server's defaulting of a new Job (the simulator's admission leaves Jobs alone): a generated
 * selector on `batch.kubernetes.io/controller-uid` with the four job labels on the pod template, and
 * the defaults of parallelism, completions, backoffLimit, completionMode, suspend and
 * podReplacementPolicy, and the template's labels on a Job that has none. Returns the same object when
 * there is nothing to add.
 */
export function defaultJob(job: Job): Job {
  const spec = job.spec as JobSpecWire;
  const isDefaulted =
    spec.selector !== undefined &&
    spec.parallelism !== undefined &&
    spec.backoffLimit !== undefined &&
    spec.completionMode !== undefined &&
    spec.suspend !== undefined &&
    spec.podReplacementPolicy !== undefined;
  if (isDefaulted) return job;
  const uid = job.metadata.uid;
  const name = job.metadata.name;
  const next: JobSpecWire = { ...spec };
  if (next.completions === undefined && next.parallelism === undefined) {
    next.completions = 1;
    next.parallelism = 1;
  }
  next.parallelism ??= 1;
  next.backoffLimit ??= DEFAULT_BACKOFF_LIMIT;
  next.completionMode ??= 'NonIndexed';
  next.suspend ??= false;
  next.podReplacementPolicy ??= 'TerminatingOrFailed';
  if (next.selector === undefined && next.manualSelector !== true) {
    next.selector = { matchLabels: { [CONTROLLER_UID_LABEL]: uid } };
    next.template = {
      ...next.template,
      metadata: {
        ...next.template.metadata,
        labels: {
          ...(next.template.metadata.labels ?? {}),
          [CONTROLLER_UID_LABEL]: uid,
          [JOB_NAME_LABEL]: name,
          [LEGACY_CONTROLLER_UID_LABEL]: uid,
          [LEGACY_JOB_NAME_LABEL]: name,
        },
      },
    };
  }
  // A Job without labels of its own takes its pod template's.
  const labels = next.template.metadata.labels;
  if (Object.keys(job.metadata.labels ?? {}).length === 0 && labels !== undefined) {
    return { ...job, metadata: { ...job.metadata, labels: { ...labels } }, spec: next };
  }
  return { ...job, spec: next };
}

/**
 * The Job controller: runs pods `<job>-<suffix>` up to parallelism until completions succeed, counts
 * finished pods once (through the `batch.kubernetes.io/job-tracking` finalizer), replaces failed pods
 * after an exponential back-off, fails the Job past backoffLimit or activeDeadlineSeconds
 * (`FailureTarget`, then `Failed` once its pods are gone), completes it (`SuccessCriteriaMet`, then
 * `Complete`), suspends and resumes it, and deletes it ttlSecondsAfterFinished after it finished (the
 * TTL-after-finished controller's job). Finished pods stay, as upstream keeps them.
 */
export class JobController {
  readonly name = 'job';
  readonly component = 'kube-controller-manager' as const;
  /** Pods removed before they were counted, by Job uid: pod uid → whether it had succeeded. */
  private readonly uncounted = new Map<string, Map<string, boolean>>();

  constructor(private readonly world: World) {
    world.addController(this);
    world.store.subscribe(R.jobs, (c) => {
      if (c.type === 'DELETED') this.uncounted.delete(c.object.metadata.uid);
      else world.enqueue(this.name, objectKey(c.object.metadata.namespace, c.object.metadata.name));
    });
    world.store.subscribe(R.pods, (c) => {
      const owner = controllerOf(c.object);
      if (owner?.kind !== 'Job') return;
      const pod = c.object as Pod;
      if (c.type === 'DELETED' && pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) {
        const job = world.store.get<Job>(R.jobs, pod.metadata.namespace, owner.name);
        if (job?.metadata.uid === owner.uid) {
          let lost = this.uncounted.get(owner.uid);
          if (!lost) this.uncounted.set(owner.uid, (lost = new Map<string, boolean>()));
          lost.set(pod.metadata.uid, pod.status.phase === 'Succeeded');
        }
      }
      world.enqueue(this.name, objectKey(pod.metadata.namespace, owner.name));
    });
  }

  *resyncKeys(): Iterable<string> {
    for (const job of this.world.store.iterate<Job>(R.jobs))
      yield objectKey(job.metadata.namespace, job.metadata.name);
  }

  sync(key: string): void {
    const slash = key.indexOf('/');
    const at = key.indexOf('@');
    const name = key.slice(slash + 1, at < 0 ? undefined : at);
    const stored = this.world.store.get<Job>(R.jobs, key.slice(0, slash), name);
    if (!stored || stored.metadata.deletionTimestamp) return;
    const defaulted = defaultJob(stored);
    // A Job created without the API server's defaults gets them first; the write brings the next sync.
    if (defaulted !== stored) {
      this.world.store.update(R.jobs, defaulted);
      return;
    }
    const job = defaulted;
    const pods = this.world
      .dependentsOf<Pod>(job.metadata.uid, R.pods)
      .filter(
        (p) => job.spec.selector === undefined || matchesLabelSelector(job.spec.selector, p.metadata.labels),
      );
    const finish = jobFinish(job);
    if (finish) {
      this.removeFinalizers(pods.filter(isFinished));
      this.uncounted.delete(job.metadata.uid);
      this.expire(job);
      return;
    }
    const now = this.world.now();
    const nowIso = isoSeconds(now);
    // Count newly finished pods once, then let them go.
    const newlyFinished = pods.filter(
      (p) => isFinished(p) && p.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER),
    );
    let succeeded =
      (job.status.succeeded ?? 0) + newlyFinished.filter((p) => p.status.phase === 'Succeeded').length;
    let failed = (job.status.failed ?? 0) + newlyFinished.filter((p) => p.status.phase === 'Failed').length;
    for (const isSucceeded of this.uncounted.get(job.metadata.uid)?.values() ?? []) {
      if (isSucceeded) succeeded++;
      else failed++;
    }
    this.uncounted.delete(job.metadata.uid);
    this.removeFinalizers(newlyFinished);
    const hasNewFailure = failed > (job.status.failed ?? 0);

    let conditions = [...(job.status.conditions ?? [])];
    let startTime = job.status.startTime;
    const spec = job.spec;
    const parallelism = spec.parallelism ?? 1;
    const isSuspended = spec.suspend === true;
    let active = pods.filter(isActive);

    // Suspension: stop the pods, and say so; resuming starts the clock again.
    const suspended = getCondition(conditions, 'Suspended');
    if (isSuspended && suspended?.status !== 'True') {
      conditions = upsert(
        conditions,
        jobCondition('Suspended', 'True', 'JobSuspended', 'Job suspended', nowIso),
      );
      this.world.record(this.target(job), 'Normal', 'Suspended', 'Job suspended', SOURCE);
    } else if (!isSuspended && suspended?.status === 'True') {
      conditions = upsert(
        conditions,
        jobCondition('Suspended', 'False', 'JobResumed', 'Job resumed', nowIso),
      );
      this.world.record(this.target(job), 'Normal', 'Resumed', 'Job resumed', SOURCE);
      startTime = nowIso;
    }
    if (!isSuspended && startTime === undefined) startTime = nowIso;

    let failureTarget = getCondition(conditions, 'FailureTarget');
    let successMet = getCondition(conditions, 'SuccessCriteriaMet');
    if (failureTarget?.status !== 'True' && successMet?.status !== 'True') {
      const deadline = spec.activeDeadlineSeconds;
      const started = parseTime(startTime);
      if (hasNewFailure && failed > (spec.backoffLimit ?? DEFAULT_BACKOFF_LIMIT)) {
        failureTarget = jobCondition(
          'FailureTarget',
          'True',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
          nowIso,
        );
      } else if (pastBackoffLimitOnFailure(job, active)) {
        failureTarget = jobCondition(
          'FailureTarget',
          'True',
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
          nowIso,
        );
      } else if (!isSuspended && deadline !== undefined && !Number.isNaN(started)) {
        if (now - started >= deadline * 1000) {
          failureTarget = jobCondition(
            'FailureTarget',
            'True',
            'DeadlineExceeded',
            'Job was active longer than specified deadline',
            nowIso,
          );
        } else {
          this.wakeAt(job, started + deadline * 1000);
        }
      }
      if (failureTarget?.status === 'True') {
        conditions = upsert(conditions, failureTarget);
      } else {
        const isSuccess =
          spec.completions !== undefined
            ? succeeded >= spec.completions
            : succeeded > 0 && active.length === 0;
        if (isSuccess) {
          successMet = jobCondition(
            'SuccessCriteriaMet',
            'True',
            'CompletionsReached',
            'Reached expected number of succeeded pods',
            nowIso,
          );
          conditions = upsert(conditions, successMet);
        }
      }
    }

    let completionTime = job.status.completionTime;
    if (failureTarget?.status === 'True' || successMet?.status === 'True' || isSuspended) {
      for (const pod of active) this.deletePod(job, pod);
      active = [];
    } else {
      active = this.manage(job, active, pods, succeeded, parallelism);
    }
    // Re-read: the pods deleted above are terminating now.
    const terminating = this.world
      .dependentsOf<Pod>(job.metadata.uid, R.pods)
      .filter((p) => p.metadata.deletionTimestamp && !isFinished(p)).length;
    if (active.length === 0 && terminating === 0) {
      if (failureTarget?.status === 'True') {
        conditions = upsert(
          conditions,
          jobCondition('Failed', 'True', failureTarget.reason ?? '', failureTarget.message ?? '', nowIso),
        );
        this.world.record(
          this.target(job),
          'Warning',
          failureTarget.reason ?? '',
          failureTarget.message ?? '',
          SOURCE,
        );
      } else if (successMet?.status === 'True') {
        conditions = upsert(
          conditions,
          jobCondition(
            'Complete',
            'True',
            'CompletionsReached',
            'Reached expected number of succeeded pods',
            nowIso,
          ),
        );
        completionTime = nowIso;
        this.world.record(this.target(job), 'Normal', 'Completed', 'Job completed', SOURCE);
      }
    }

    const status: Job['status'] = {};
    if (conditions.length > 0) status.conditions = conditions;
    if (startTime !== undefined) status.startTime = startTime;
    if (completionTime !== undefined) status.completionTime = completionTime;
    if (active.length > 0) status.active = active.length;
    if (succeeded > 0) status.succeeded = succeeded;
    if (failed > 0) status.failed = failed;
    status.terminating = terminating;
    status.uncountedTerminatedPods = {};
    status.ready = active.filter(isPodReady).length;
    this.world.store.modify<Job>(R.jobs, job.metadata.namespace, job.metadata.name, (x) =>
      JSON.stringify(x.status) === JSON.stringify(status) ? x : { ...x, status },
    );
  }

  /** Upstream `manageJob`: as many active pods as parallelism and the remaining completions allow. */
  private manage(
    job: Job,
    active: Pod[],
    pods: readonly Pod[],
    succeeded: number,
    parallelism: number,
  ): Pod[] {
    const completions = job.spec.completions;
    let want: number;
    if (completions === undefined) want = succeeded > 0 ? active.length : parallelism;
    else want = Math.max(0, Math.min(parallelism, completions - succeeded));
    if (active.length > want) {
      const extra = [...active].sort(deletionOrder).slice(0, active.length - want);
      for (const pod of extra) this.deletePod(job, pod);
      return active.filter((p) => !extra.includes(p));
    }
    if (active.length === want) return active;
    const remaining = this.backoffRemaining(pods);
    if (remaining > 0) {
      this.wakeAt(job, this.world.now() + remaining);
      return active;
    }
    const created = [...active];
    for (let i = active.length; i < want; i++) created.push(this.createPod(job));
    return created;
  }

  /** Time left before a replacement may start: 10 s doubling per failure since the last success, ≤ 6 min. */
  private backoffRemaining(pods: readonly Pod[]): number {
    const finished = pods
      .filter(isFinished)
      .map((p) => ({ isFailed: p.status.phase === 'Failed', at: finishedAt(p) }))
      .sort((a, b) => a.at - b.at);
    let failures = 0;
    let lastFailure = 0;
    for (const f of finished) {
      if (f.isFailed) {
        failures++;
        lastFailure = Math.max(lastFailure, f.at);
      } else {
        failures = 0;
      }
    }
    if (failures === 0) return 0;
    const delay = Math.min(POD_FAILURE_BACKOFF_MS * 2 ** (failures - 1), POD_FAILURE_BACKOFF_MAX_MS);
    return lastFailure + delay - this.world.now();
  }

  private target(job: Job): Parameters<World['record']>[0] {
    return { kind: 'Job', apiVersion: 'batch/v1', object: job };
  }

  private createPod(job: Job): Pod {
    const namespace = job.metadata.namespace!;
    const name = this.world.generateName(R.pods, namespace, `${job.metadata.name}-`);
    const pod = podFromTemplate(job.spec.template, {
      name,
      namespace,
      uid: this.world.uid(),
      owner: controllerRef(job, 'Job', 'batch/v1'),
      creationTimestamp: this.world.nowIso(),
    });
    pod.metadata.generateName = `${job.metadata.name}-`;
    pod.metadata.finalizers = [JOB_TRACKING_FINALIZER];
    const created = this.world.store.create(R.pods, pod);
    this.world.record(
      this.target(job),
      'Normal',
      'SuccessfulCreate',
      `Created pod: ${created.metadata.name}`,
      SOURCE,
    );
    return created;
  }

  private deletePod(job: Job, pod: Pod): void {
    this.world.deletePod(pod);
    this.world.record(
      this.target(job),
      'Normal',
      'SuccessfulDelete',
      `Deleted pod: ${pod.metadata.name}`,
      SOURCE,
    );
  }

  private removeFinalizers(pods: readonly Pod[]): void {
    for (const pod of pods) {
      if (!pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) continue;
      this.world.store.modify<Pod>(R.pods, pod.metadata.namespace, pod.metadata.name, (p) => {
        const finalizers = (p.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER);
        const metadata = { ...p.metadata };
        if (finalizers.length > 0) metadata.finalizers = finalizers;
        else delete metadata.finalizers;
        return { ...p, metadata };
      });
    }
  }

  /** ttlSecondsAfterFinished: delete the finished Job (the garbage collector then takes its pods). */
  private expire(job: Job): void {
    const ttl = job.spec.ttlSecondsAfterFinished;
    if (ttl === undefined) return;
    const finishedCondition = (job.status.conditions ?? []).find(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
    const finishedAtMs = parseTime(job.status.completionTime ?? finishedCondition?.lastTransitionTime);
    if (Number.isNaN(finishedAtMs)) return;
    const due = finishedAtMs + ttl * 1000;
    if (this.world.now() >= due) {
      this.world.store.delete(R.jobs, job.metadata.namespace, job.metadata.name);
      return;
    }
    this.wakeAt(job, due);
  }

  /**
   * Syncs the Job again at an instant. The key carries the instant (`ns/name@ms`) because the world
   * keeps one delayed entry per key: a later deadline must not swallow an earlier back-off.
   */
  private wakeAt(job: Job, at: number): void {
    const key = `${objectKey(job.metadata.namespace, job.metadata.name)}@${at}`;
    this.world.enqueueAfter(this.name, key, Math.max(0, at - this.world.now()));
  }
}

function jobCondition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  at: string,
): Condition {
  return { type, status, lastProbeTime: at, lastTransitionTime: at, reason, message };
}

/** Sets a condition, keeping its place and, when the status is unchanged, its transition time. */
function upsert(conditions: readonly Condition[], next: Condition): Condition[] {
  const index = conditions.findIndex((c) => c.type === next.type);
  if (index < 0) return [...conditions, next];
  const current = conditions[index]!;
  const out = [...conditions];
  out[index] =
    current.status === next.status
      ? { ...next, lastTransitionTime: current.lastTransitionTime ?? next.lastTransitionTime! }
      : next;
  return out;
}

function isFinished(pod: Pod): boolean {
  return pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
}

function isActive(pod: Pod): boolean {
  return !isFinished(pod) && !pod.metadata.deletionTimestamp;
}

/** When a finished pod finished: its last container's exit, else its last condition change. */
function finishedAt(pod: Pod): number {
  let at = Number.NaN;
  for (const c of pod.status.containerStatuses ?? []) {
    const t = parseTime(c.state.terminated?.finishedAt);
    if (!Number.isNaN(t) && !(t <= at)) at = t;
  }
  if (!Number.isNaN(at)) return at;
  const ready = parseTime(getCondition(pod.status.conditions, 'Ready')?.lastTransitionTime);
  return Number.isNaN(ready) ? parseTime(pod.metadata.creationTimestamp) : ready;
}

/** With restartPolicy OnFailure, container restarts count against backoffLimit. */
function pastBackoffLimitOnFailure(job: Job, active: readonly Pod[]): boolean {
  if (job.spec.template.spec.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const pod of active) {
    for (const c of [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])])
      restarts += c.restartCount;
  }
  const limit = job.spec.backoffLimit ?? DEFAULT_BACKOFF_LIMIT;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** Upstream's ActivePods ordering for scale-down: unbound, pending, not ready, then newest first. */
function deletionOrder(a: Pod, b: Pod): number {
  const rank = (p: Pod): number[] => [
    p.spec.nodeName ? 1 : 0,
    p.status.phase === 'Pending' ? 0 : 1,
    isPodReady(p) ? 1 : 0,
    -parseTime(p.metadata.creationTimestamp),
  ];
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
  return 0;
}
