import type { Condition, ContainerStatus, CronJob, Job, Node, Pod } from '../../model.js';
import { R } from '../../api/resources.js';
import { objectKey } from '../../api/store.js';
import { hashString } from '../../random.js';
import { isoSeconds, parseTime } from '../../time.js';
import { annotatedBehavior } from '../behavior.js';
import {
  CronSyntaxError,
  formatRfc1123z,
  formatRfc3339InZone,
  isKnownTimeZone,
  parseCron,
  type CronSchedule,
} from '../cron.js';
import { controllerOf, controllerRef, DEFAULT_TOLERATIONS, podFromTemplate, tolerates } from '../objects.js';
import type { World } from '../world.js';
import { defaultJob, jobFinish } from './job.js';

const SOURCE = { component: 'cronjob-controller' };
/** The annotation on each Job a CronJob creates: the scheduled time it runs for (RFC 3339, in the CronJob's zone). */
export const SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** Upstream requeues a little after the scheduled instant, so the instant has certainly passed. */
const NEXT_SCHEDULE_DELTA_MS = 100;
const MANY_MISSED = 100;
/** Scheduling to container start, and container exit to the Job's completion, in the seeded history. */
const START_DELAY_MS = 3000;
const COMPLETE_DELAY_MS = 1000;

type ActiveRef = NonNullable<CronJob['status']['active']>[number];

interface CronState {
  active: ActiveRef[];
  lastScheduleTime: string | undefined;
  lastSuccessfulTime: string | undefined;
}

interface RecentSchedule {
  /** The last schedule time, or the creation time (moved up to the starting deadline when asked). */
  earliest: number;
  /** The most recent unmet schedule time at or before now. */
  mostRecent: number | undefined;
  missed: 'none' | 'few' | 'many';
  error?: string;
}

/**
 * The CronJob controller (upstream's v2): creates Job `<cronjob>-<scheduled minutes since epoch>` at each
 * scheduled time, honours concurrencyPolicy (Allow, Forbid, Replace), suspend, startingDeadlineSeconds
 * and timeZone, tracks `status.active`, lastScheduleTime and lastSuccessfulTime, trims finished Jobs to
 * the history limits, and wakes itself for the next run with a delayed queue entry instead of polling.
 * The initial cluster's CronJobs get a plausible past: their last runs as completed Jobs.
 */
export class CronJobController {
  readonly name = 'cronjob';
  readonly component = 'kube-controller-manager' as const;
  /** Only a safety net: runs are woken by delayed queue entries, as upstream's requeue-after. */
  readonly resyncMs = 10 * 60_000;
  /** The missed time last reported per CronJob uid, so one miss makes one warning. */
  private readonly reportedMisses = new Map<string, number>();

  constructor(private readonly world: World) {
    world.addController(this);
    world.store.subscribe(R.cronjobs, (c) => {
      if (c.type === 'DELETED') this.reportedMisses.delete(c.object.metadata.uid);
      else world.enqueue(this.name, objectKey(c.object.metadata.namespace, c.object.metadata.name));
    });
    world.store.subscribe(R.jobs, (c) => {
      const owner = controllerOf(c.object);
      if (owner?.kind === 'CronJob')
        world.enqueue(this.name, objectKey(c.object.metadata.namespace, owner.name));
    });
    world.onStart(() => this.seedHistory());
  }

  *resyncKeys(): Iterable<string> {
    for (const cj of this.world.store.iterate<CronJob>(R.cronjobs))
      yield objectKey(cj.metadata.namespace, cj.metadata.name);
  }

  sync(key: string): void {
    // While the initial cluster is built its clock jumps over years of schedule; the history is
    // written at start instead (seedHistory).
    if (this.world.isBootstrapping) return;
    // Delayed entries carry their wake-up instant (`ns/name@ms`) so each instant has its own timer.
    const at = key.indexOf('@');
    const base = at < 0 ? key : key.slice(0, at);
    const slash = base.indexOf('/');
    const cj = this.world.store.get<CronJob>(R.cronjobs, base.slice(0, slash), base.slice(slash + 1));
    if (!cj) return;
    const now = this.world.now();
    const jobs = this.world
      .dependentsOf<Job>(cj.metadata.uid, R.jobs)
      .filter((j) => controllerOf(j)?.uid === cj.metadata.uid);
    const state: CronState = {
      active: [...(cj.status.active ?? [])],
      lastScheduleTime: cj.status.lastScheduleTime,
      lastSuccessfulTime: cj.status.lastSuccessfulTime,
    };
    const wakeAt = this.syncCronJob(cj, jobs, state, now);
    this.cleanupFinishedJobs(cj, jobs, state);
    this.writeStatus(cj, state);
    if (wakeAt !== undefined) {
      this.world.enqueueAfter(this.name, `${base}@${wakeAt}`, Math.max(0, wakeAt - now));
    }
  }

  private target(cj: CronJob): Parameters<World['record']>[0] {
    return { kind: 'CronJob', apiVersion: 'batch/v1', object: cj };
  }

  /** Upstream `syncCronJob`; returns when to look again. */
  private syncCronJob(cj: CronJob, jobs: readonly Job[], state: CronState, now: number): number | undefined {
    const children = new Set<string>();
    for (const job of jobs) {
      children.add(job.metadata.uid);
      const isActive = state.active.some((r) => r.uid === job.metadata.uid);
      const finish = jobFinish(job);
      if (!isActive && !finish) {
        this.world.record(
          this.target(cj),
          'Warning',
          'UnexpectedJob',
          `Saw a job that the controller did not create or forgot: ${job.metadata.name}`,
          SOURCE,
        );
      } else if (finish) {
        if (isActive) {
          state.active = state.active.filter((r) => r.uid !== job.metadata.uid);
          this.world.record(
            this.target(cj),
            'Normal',
            'SawCompletedJob',
            `Saw completed job: ${job.metadata.name}, condition: ${finish}`,
            SOURCE,
          );
        }
        const completed = job.status.completionTime;
        if (finish === 'Complete' && completed !== undefined) {
          if (
            state.lastSuccessfulTime === undefined ||
            parseTime(completed) > parseTime(state.lastSuccessfulTime)
          )
            state.lastSuccessfulTime = completed;
        }
      }
    }
    for (const ref of [...state.active]) {
      if (children.has(ref.uid)) continue;
      this.world.record(
        this.target(cj),
        'Normal',
        'MissingJob',
        `Active job went missing: ${ref.name}`,
        SOURCE,
      );
      state.active = state.active.filter((r) => r.uid !== ref.uid);
    }
    if (cj.metadata.deletionTimestamp) return undefined;
    const timeZone = cj.spec.timeZone;
    if (timeZone !== undefined && !isKnownTimeZone(timeZone)) {
      this.world.record(
        this.target(cj),
        'Warning',
        'UnknownTimeZone',
        `invalid timeZone: "${timeZone}": unknown time zone ${timeZone}`,
        SOURCE,
      );
      return undefined;
    }
    if (cj.spec.suspend === true) return undefined;
    let schedule: CronSchedule;
    try {
      schedule = parseCron(cj.spec.schedule, timeZone);
    } catch (e) {
      if (!(e instanceof CronSyntaxError)) throw e;
      this.world.record(
        this.target(cj),
        'Warning',
        'UnparseableSchedule',
        `unparseable schedule: "${cj.spec.schedule}" : ${e.message}`,
        SOURCE,
      );
      return undefined;
    }

    const recent = this.mostRecentScheduleTime(cj, state, now, schedule, true);
    if (recent.error !== undefined) {
      this.world.record(
        this.target(cj),
        'Warning',
        'InvalidSchedule',
        `invalid schedule: ${cj.spec.schedule} : ${recent.error}`,
        SOURCE,
      );
      return undefined;
    }
    if (recent.missed === 'many') {
      this.world.record(
        this.target(cj),
        'Warning',
        'TooManyMissedTimes',
        'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew',
        SOURCE,
      );
    }
    const scheduled = recent.mostRecent;
    const nextWake = (): number | undefined => this.nextWake(cj, state, now, schedule);
    if (scheduled === undefined) {
      this.reportMissedWindow(cj, state, now, schedule);
      return nextWake();
    }
    const deadline = cj.spec.startingDeadlineSeconds;
    if (deadline !== undefined && scheduled + deadline * 1000 < now) {
      this.world.record(
        this.target(cj),
        'Warning',
        'MissSchedule',
        `Missed scheduled time to start a job: ${formatRfc1123z(scheduled)}`,
        SOURCE,
      );
      return nextWake();
    }
    const jobName = `${cj.metadata.name}-${Math.floor(scheduled / 60_000)}`;
    if (
      state.active.some((r) => r.name === jobName) ||
      (state.lastScheduleTime !== undefined && parseTime(state.lastScheduleTime) === scheduled)
    ) {
      return nextWake();
    }
    const policy = cj.spec.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && state.active.length > 0) {
      this.world.record(
        this.target(cj),
        'Normal',
        'JobAlreadyActive',
        'Not starting job because prior execution is running and concurrency policy is Forbid',
        SOURCE,
      );
      return nextWake();
    }
    if (policy === 'Replace') {
      for (const ref of [...state.active]) {
        const job = this.world.store.get<Job>(R.jobs, ref.namespace, ref.name);
        if (job) this.deleteJob(cj, job, state);
      }
    }
    const namespace = cj.metadata.namespace!;
    const existing = this.world.store.get<Job>(R.jobs, namespace, jobName);
    let job: Job;
    if (existing) {
      // Created before but not recorded (or by someone else): adopt only our own.
      if (controllerOf(existing)?.uid !== cj.metadata.uid) return undefined;
      if (state.active.some((r) => r.uid === existing.metadata.uid)) return undefined;
      job = existing;
    } else {
      job = this.world.store.create(R.jobs, this.jobFor(cj, jobName, scheduled, this.world.nowIso()));
      this.world.record(
        this.target(cj),
        'Normal',
        'SuccessfulCreate',
        `Created job ${job.metadata.name}`,
        SOURCE,
      );
    }
    state.active = [...state.active, activeRef(job)];
    state.lastScheduleTime = isoSeconds(scheduled);
    return nextWake();
  }

  /**
   * Upstream `mostRecentScheduleTime`: the latest unmet schedule time since the last one (or the
   * creation), counting the misses roughly by the interval of the first two.
   */
  private mostRecentScheduleTime(
    cj: CronJob,
    state: CronState,
    now: number,
    schedule: CronSchedule,
    isDeadlineIncluded: boolean,
  ): RecentSchedule {
    let earliest = parseTime(state.lastScheduleTime ?? cj.metadata.creationTimestamp);
    const deadline = cj.spec.startingDeadlineSeconds;
    if (isDeadlineIncluded && deadline !== undefined && now - deadline * 1000 > earliest) {
      earliest = now - deadline * 1000;
    }
    const t1 = schedule.next(earliest);
    if (t1 === undefined || now < t1) return { earliest, mostRecent: undefined, missed: 'none' };
    const t2 = schedule.next(t1);
    if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 'none' };
    const between = Math.round((t2 - t1) / 1000);
    if (between < 1) {
      return {
        earliest,
        mostRecent: undefined,
        missed: 'none',
        error: 'time difference between two schedules is less than 1 second',
      };
    }
    const missedCount = Math.floor(Math.floor((now - t1) / 1000) / between) + 1;
    let mostRecent: number | undefined;
    const potentialEarliest = t1 + (missedCount - 2) * between * 1000;
    for (let t = schedule.next(potentialEarliest); t !== undefined && t <= now; t = schedule.next(t)) {
      mostRecent = t;
    }
    const missed = missedCount > MANY_MISSED ? 'many' : missedCount > 0 ? 'few' : 'none';
    return { earliest, mostRecent, missed };
  }

  /** Upstream `nextScheduleTimeDuration`, as an instant: just after the next schedule time. */
  private nextWake(cj: CronJob, state: CronState, now: number, schedule: CronSchedule): number | undefined {
    const recent = this.mostRecentScheduleTime(cj, state, now, schedule, false);
    let from: number;
    if (recent.error !== undefined) from = now;
    else if (recent.mostRecent !== undefined) from = recent.mostRecent;
    else from = recent.missed === 'none' ? recent.earliest : now;
    const next = schedule.next(from);
    return next === undefined ? undefined : next + NEXT_SCHEDULE_DELTA_MS;
  }

  /**
   * A warning for a run missed past startingDeadlineSeconds (the controller was down, or Forbid held
   * it back). Upstream moves its search window up to the deadline before it looks, so its own
   * `MissSchedule` event almost never fires; here the miss is reported once, with upstream's wording.
   */
  private reportMissedWindow(cj: CronJob, state: CronState, now: number, schedule: CronSchedule): void {
    const deadline = cj.spec.startingDeadlineSeconds;
    if (deadline === undefined) return;
    const missed = this.mostRecentScheduleTime(cj, state, now, schedule, false).mostRecent;
    if (missed === undefined || missed + deadline * 1000 >= now) return;
    if (this.reportedMisses.get(cj.metadata.uid) === missed) return;
    this.reportedMisses.set(cj.metadata.uid, missed);
    this.world.record(
      this.target(cj),
      'Warning',
      'MissSchedule',
      `Missed scheduled time to start a job: ${formatRfc1123z(missed)}`,
      SOURCE,
    );
  }

  /** Upstream `getJobFromTemplate2`, with the API server's Job defaults applied. */
  private jobFor(cj: CronJob, name: string, scheduled: number, creationTimestamp: string): Job {
    const template = cj.spec.jobTemplate;
    const templateAnnotations = (template.metadata as { annotations?: Record<string, string> } | undefined)
      ?.annotations;
    const labels = template.metadata?.labels;
    return defaultJob({
      metadata: {
        name,
        namespace: cj.metadata.namespace!,
        uid: this.world.uid(),
        resourceVersion: '',
        generation: 1,
        creationTimestamp,
        ...(labels ? { labels: { ...labels } } : {}),
        annotations: {
          ...(templateAnnotations ?? {}),
          [SCHEDULED_TIMESTAMP_ANNOTATION]: formatRfc3339InZone(scheduled, cj.spec.timeZone),
        },
        ownerReferences: [controllerRef(cj, 'CronJob', 'batch/v1')],
      },
      spec: template.spec,
      status: {},
    });
  }

  private deleteJob(cj: CronJob, job: Job, state: CronState): void {
    // Background propagation: the garbage collector removes the Job's pods.
    this.world.store.delete(R.jobs, job.metadata.namespace, job.metadata.name);
    state.active = state.active.filter((r) => r.uid !== job.metadata.uid);
    this.world.record(
      this.target(cj),
      'Normal',
      'SuccessfulDelete',
      `Deleted job ${job.metadata.name}`,
      SOURCE,
    );
  }

  /** Upstream `cleanupFinishedJobs`: keep the newest finished Jobs within each history limit. */
  private cleanupFinishedJobs(cj: CronJob, jobs: readonly Job[], state: CronState): void {
    const successLimit = cj.spec.successfulJobsHistoryLimit;
    const failedLimit = cj.spec.failedJobsHistoryLimit;
    if (successLimit === undefined && failedLimit === undefined) return;
    const trim = (finished: Job[], limit: number | undefined): void => {
      if (limit === undefined || finished.length <= limit) return;
      finished.sort(byStartTime);
      for (const job of finished.slice(0, finished.length - limit)) {
        if (this.world.store.get(R.jobs, job.metadata.namespace, job.metadata.name))
          this.deleteJob(cj, job, state);
      }
    };
    trim(
      jobs.filter((j) => jobFinish(j) === 'Complete'),
      successLimit,
    );
    trim(
      jobs.filter((j) => jobFinish(j) === 'Failed'),
      failedLimit,
    );
  }

  private writeStatus(cj: CronJob, state: CronState): void {
    const status: CronJob['status'] = {};
    if (state.active.length > 0) status.active = state.active;
    if (state.lastScheduleTime !== undefined) status.lastScheduleTime = state.lastScheduleTime;
    if (state.lastSuccessfulTime !== undefined) status.lastSuccessfulTime = state.lastSuccessfulTime;
    this.world.store.modify<CronJob>(R.cronjobs, cj.metadata.namespace, cj.metadata.name, (x) =>
      JSON.stringify(x.status) === JSON.stringify(status) ? x : { ...x, status },
    );
  }

  /**
   * Gives each CronJob of the initial cluster that has never run its recent past: its last
   * `successfulJobsHistoryLimit` runs as completed Jobs with Succeeded pods on worker nodes, backdated
   * and without events, so a fresh simulator neither shows an empty history nor a burst of missed
   * runs. CronJobs whose pods do not finish by themselves only get their last schedule time.
   */
  private seedHistory(): void {
    const now = this.world.now();
    for (const cj of this.world.store.list<CronJob>(R.cronjobs)) {
      this.world.enqueue(this.name, objectKey(cj.metadata.namespace, cj.metadata.name));
      if (cj.status.lastScheduleTime !== undefined || cj.spec.suspend === true) continue;
      if (cj.spec.timeZone !== undefined && !isKnownTimeZone(cj.spec.timeZone)) continue;
      let schedule: CronSchedule;
      try {
        schedule = parseCron(cj.spec.schedule, cj.spec.timeZone);
      } catch {
        continue;
      }
      const created = parseTime(cj.metadata.creationTimestamp);
      const runMs = runDuration(cj);
      const limit = cj.spec.successfulJobsHistoryLimit ?? 3;
      if (runMs === undefined || limit === 0) {
        const last = schedule.previous(now);
        if (last !== undefined && last > created)
          this.writeStatus(cj, {
            active: [],
            lastScheduleTime: isoSeconds(last),
            lastSuccessfulTime: undefined,
          });
        continue;
      }
      const times: number[] = [];
      for (
        let t = schedule.previous(now);
        t !== undefined && t > created && times.length < limit;
        t = schedule.previous(t - 1)
      ) {
        // A run that would still be going now is left to the controller, which starts it a little late.
        if (t + START_DELAY_MS + runMs + COMPLETE_DELAY_MS > now) continue;
        times.unshift(t);
      }
      const nodes = this.eligibleNodes(cj);
      if (times.length === 0 || nodes.length === 0) continue;
      let lastSuccessfulTime: string | undefined;
      for (const t of times) lastSuccessfulTime = this.seedRun(cj, t, runMs, nodes);
      this.writeStatus(cj, {
        active: [],
        lastScheduleTime: isoSeconds(times[times.length - 1]!),
        lastSuccessfulTime,
      });
    }
  }

  /** Writes one past run: the Job, completed, and its Succeeded pods. Returns the completion time. */
  private seedRun(cj: CronJob, scheduled: number, runMs: number, nodes: readonly Node[]): string {
    const name = `${cj.metadata.name}-${Math.floor(scheduled / 60_000)}`;
    const draft = this.jobFor(cj, name, scheduled, isoSeconds(scheduled));
    const completions = draft.spec.completions ?? 1;
    const parallelism = Math.max(1, draft.spec.parallelism ?? 1);
    const waves = Math.ceil(completions / parallelism);
    const finishedAt = scheduled + waves * (START_DELAY_MS + runMs);
    const completion = isoSeconds(finishedAt + COMPLETE_DELAY_MS);
    const conditions: Condition[] = ['SuccessCriteriaMet', 'Complete'].map((type) => ({
      type,
      status: 'True',
      lastProbeTime: completion,
      lastTransitionTime: completion,
      reason: 'CompletionsReached',
      message: 'Reached expected number of succeeded pods',
    }));
    const job = this.world.store.create<Job>(R.jobs, {
      ...draft,
      status: {
        conditions,
        startTime: isoSeconds(scheduled),
        completionTime: completion,
        succeeded: completions,
        terminating: 0,
        uncountedTerminatedPods: {},
        ready: 0,
      },
    });
    for (let i = 0; i < completions; i++) {
      const start = scheduled + Math.floor(i / parallelism) * (START_DELAY_MS + runMs);
      const node = nodes[hashString(`${name}/${i}`) % nodes.length]!;
      this.seedPod(job, start, runMs, node);
    }
    return completion;
  }

  private seedPod(job: Job, created: number, runMs: number, node: Node): void {
    const namespace = job.metadata.namespace!;
    let name = '';
    for (let attempt = 0; attempt < 10; attempt++) {
      name = `${job.metadata.name}-${this.world.rng.nameSuffix()}`;
      if (!this.world.store.get(R.pods, namespace, name)) break;
    }
    const pod = podFromTemplate(job.spec.template, {
      name,
      namespace,
      uid: this.world.uid(),
      owner: controllerRef(job, 'Job', 'batch/v1'),
      creationTimestamp: isoSeconds(created),
    });
    pod.metadata.generateName = `${job.metadata.name}-`;
    pod.spec.nodeName = node.metadata.name;
    const started = created + 1000;
    const containerStart = created + START_DELAY_MS;
    const finished = containerStart + runMs;
    const at = (ms: number): string => isoSeconds(ms);
    const hostIP = node.status.addresses.find((a) => a.type === 'InternalIP')?.address ?? '10.0.0.1';
    const cidr = node.spec.podCIDR?.split('.') ?? ['10', '244', '0'];
    const podIP = `${cidr[0]}.${cidr[1]}.${cidr[2]}.${200 + (hashString(pod.metadata.uid) % 50)}`;
    const statuses: ContainerStatus[] = pod.spec.containers.map((c) => {
      const image = c.image.includes('/') || c.image.includes('.') ? c.image : `docker.io/library/${c.image}`;
      const containerID = `containerd://${hashString(`${pod.metadata.uid}/${c.name}`).toString(16).padStart(8, '0')}${this.world.rng.hex(56)}`;
      return {
        name: c.name,
        state: {
          terminated: {
            exitCode: 0,
            reason: 'Completed',
            startedAt: at(containerStart),
            finishedAt: at(finished),
            containerID,
          },
        },
        lastState: {},
        ready: false,
        restartCount: 0,
        image,
        imageID: `${c.image.split(':')[0]!}@sha256:${(hashString(c.image).toString(16) + '0'.repeat(56)).slice(0, 64)}`,
        containerID,
        started: false,
      };
    });
    pod.status = {
      phase: 'Succeeded',
      conditions: [
        {
          type: 'PodReadyToStartContainers',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: at(finished),
        },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: at(started) },
        {
          type: 'Ready',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: at(finished),
          reason: 'PodCompleted',
        },
        {
          type: 'ContainersReady',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: at(finished),
          reason: 'PodCompleted',
        },
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: at(created) },
      ],
      hostIP,
      hostIPs: [{ ip: hostIP }],
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: at(started),
      containerStatuses: statuses,
      qosClass: pod.status.qosClass ?? 'BestEffort',
    };
    this.world.store.create(R.pods, pod);
  }

  /** Nodes a Job pod of this CronJob could have run on: selector matches, taints tolerated, not cordoned. */
  private eligibleNodes(cj: CronJob): Node[] {
    const spec = cj.spec.jobTemplate.spec.template.spec;
    const tolerations = [...(spec.tolerations ?? []), ...DEFAULT_TOLERATIONS];
    return this.world.store
      .list<Node>(R.nodes)
      .filter(
        (n) =>
          !n.spec.unschedulable &&
          Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => n.metadata.labels?.[k] === v) &&
          (n.spec.taints ?? []).every((t) => t.effect === 'PreferNoSchedule' || tolerates(tolerations, t)),
      )
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  }
}

/** How long a run's containers take, from their behavior annotation; undefined when they never finish. */
function runDuration(cj: CronJob): number | undefined {
  const template = cj.spec.jobTemplate.spec.template;
  const annotations = template.metadata.annotations;
  const probe: Pod = {
    metadata: {
      name: '',
      uid: '',
      resourceVersion: '',
      creationTimestamp: '',
      ...(annotations ? { annotations } : {}),
    },
    spec: template.spec,
    status: { phase: 'Pending' },
  };
  let longest = 0;
  for (const c of template.spec.containers) {
    let behavior;
    try {
      behavior = annotatedBehavior(probe, c);
    } catch {
      return undefined;
    }
    if (behavior?.kind !== 'complete') return undefined;
    longest = Math.max(longest, behavior.afterMs);
  }
  return longest;
}

function activeRef(job: Job): ActiveRef {
  return {
    kind: 'Job',
    namespace: job.metadata.namespace!,
    name: job.metadata.name,
    uid: job.metadata.uid,
    apiVersion: 'batch/v1',
  };
}

/** Upstream `byJobStartTime`: Jobs without a start time last, ties by name. */
function byStartTime(a: Job, b: Job): number {
  const ta = parseTime(a.status.startTime);
  const tb = parseTime(b.status.startTime);
  if (Number.isNaN(ta) || Number.isNaN(tb)) return Number.isNaN(ta) ? (Number.isNaN(tb) ? 0 : 1) : -1;
  if (ta !== tb) return ta - tb;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
