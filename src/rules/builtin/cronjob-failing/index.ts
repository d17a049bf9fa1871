import { z } from 'zod';
import type { CronJobRecord, JobRecord } from '../../../cluster/index.js';
import type { Evidence, Finding } from '../../../domain/index.js';
import { ago, containerEvidence, eventEvidence, ns } from '../../helpers.js';
import type { Rule } from '../../rule.js';
import { parseCronSchedule } from '../scheduling-helpers.js';

const options = z
  .object({
    /** Consecutive failed runs (the newest finished ones) before the CronJob is reported. */
    failedRuns: z.number().int().min(1).default(1),
    /** Also report a schedule missed for two periods (plus startingDeadlineSeconds). */
    missedSchedule: z.boolean().default(true),
  })
  .strict();

/** Slack for the controller to create a due Job before a run counts as missed. */
const CONTROLLER_GRACE_MS = 60_000;
/** Most schedule instants counted when inferring runs whose Jobs were trimmed from the history. */
const MAX_INFERRED = 100;

interface Run {
  job: JobRecord;
  /** When it was scheduled (from the Job name the controller gives it), else when it started. */
  scheduledAt: number;
  startedAt: number;
  outcome: 'failed' | 'succeeded' | 'active';
}

/** The scheduled time of a CronJob's Job: the controller names it `<cronjob>-<minutes since epoch>`. */
function scheduledAtOf(cj: CronJobRecord, job: JobRecord): number {
  const suffix = job.name.startsWith(`${cj.name}-`) ? job.name.slice(cj.name.length + 1) : '';
  const started = job.startedAt ?? job.createdAt;
  if (/^\d{7,9}$/.test(suffix)) {
    const at = Number(suffix) * 60_000;
    // Only trust it when it is close to when the Job appeared (a manual Job may have any name).
    if (Math.abs(job.createdAt - at) < 24 * 3_600_000) return at;
  }
  return started;
}

function outcomeOf(job: JobRecord): Run['outcome'] {
  // A Job that completed after retries succeeded: Complete=True wins whatever `failed` says.
  if (job.conditions.Complete?.status === 'True') return 'succeeded';
  if (job.conditions.Failed?.status === 'True') return 'failed';
  return 'active';
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/**
 * CronJobs judged by their last runs, not by leftover Job objects: the newest `failedRuns` finished
 * runs all failed, or the schedule was missed for two periods. A run that succeeded after earlier
 * failures clears it; a Job that completed after retries succeeded.
 */
export const cronjobFailing: Rule<z.infer<typeof options>> = {
  id: 'cronjob-failing',
  summary: 'CronJobs whose last runs failed or that missed their schedule',
  loop: 'the Job controller retries a failing run up to its backoffLimit and the CronJob controller starts the next run on schedule; neither fixes what makes the run fail',
  rationale:
    'By the time a run is marked Failed, the Job has used its retries (backoffLimit): self-healing has given up on that run and its work (a report, a backup, a sync) was not done. Nothing serves users live, so a person follows up in business hours; a later successful run clears it.',
  defaultLevel: 'notice',
  defaultForMs: 0,
  inputs: ['CronJob', 'Job'],
  options,
  evaluate(ctx) {
    const { view, now, options: o } = ctx;
    const findings: Finding[] = [];
    for (const cj of view.list('CronJob')) {
      if (cj.deletedAt !== undefined || !ctx.inScope(cj)) continue;
      const namespace = cj.namespace ?? '';
      const runs: Run[] = view
        .ownedBy('Job', cj.uid)
        .filter((j) => j.deletedAt === undefined)
        .map((job) => ({
          job,
          scheduledAt: scheduledAtOf(cj, job),
          startedAt: job.startedAt ?? job.createdAt,
          outcome: outcomeOf(job),
        }))
        .sort((a, b) => a.startedAt - b.startedAt || a.scheduledAt - b.scheduledAt);
      const finished = runs.filter((r) => r.outcome !== 'active');
      const failures: Run[] = [];
      for (let i = finished.length - 1; i >= 0 && finished[i]!.outcome === 'failed'; i--)
        failures.push(finished[i]!);
      const lastSucceededJob = finished.filter((r) => r.outcome === 'succeeded').at(-1);
      const lastSuccess = Math.max(
        cj.lastSuccessAt ?? -Infinity,
        lastSucceededJob?.job.completedAt ?? lastSucceededJob?.startedAt ?? -Infinity,
      );
      const schedule = parseCronSchedule(cj.schedule, cj.timeZone);

      // failedJobsHistoryLimit (default 1) deletes older failed Jobs, so a streak of failures may show
      // as one Job. The runs scheduled between the last success and the oldest visible failure did not
      // succeed either (had one succeeded, lastSuccessfulTime would be later): count them from the
      // schedule, so failedRuns > 1 works with the default history, and the facts give the streak.
      let failedRuns = failures.length;
      let inferred = 0;
      const oldestFailure = failures.at(-1);
      if (oldestFailure && schedule !== undefined) {
        let t = Number.isFinite(lastSuccess) ? lastSuccess : cj.createdAt;
        for (let next = schedule.next(t); next !== undefined && inferred < MAX_INFERRED;) {
          if (next >= oldestFailure.scheduledAt) break;
          inferred++;
          t = next;
          next = schedule.next(t);
        }
        failedRuns += inferred;
      }
      const isFailing = failures.length > 0 && failedRuns >= o.failedRuns;

      // A missed schedule: the second run after the last scheduled one (or the creation) is overdue.
      let missedSince: number | undefined;
      if (o.missedSchedule && !cj.isSuspended && schedule !== undefined) {
        const base = cj.lastScheduleAt ?? cj.createdAt;
        const first = schedule.next(base);
        const second = first === undefined ? undefined : schedule.next(first);
        if (second !== undefined) {
          const due = second + (cj.startingDeadlineSeconds ?? 0) * 1000 + CONTROLLER_GRACE_MS;
          if (now >= due) missedSince = due;
        }
      }
      if (!isFailing && missedSince === undefined) continue;

      const evidence: Evidence[] = [];
      const newestFailure = failures[0];
      for (const r of failures.slice(0, 3)) {
        const c = r.job.conditions.Failed;
        evidence.push({
          type: 'condition',
          text: `Job ${r.job.name} (scheduled ${iso(r.scheduledAt)}): Failed=True${c?.reason ? ` ${c.reason}` : ''}${c?.message ? `: ${c.message}` : ''}; ${r.job.failed} failed pod${r.job.failed === 1 ? '' : 's'}${r.job.backoffLimit !== undefined ? `, backoffLimit ${r.job.backoffLimit}` : ''}`,
          ...(c?.lastTransitionAt !== undefined ? { at: c.lastTransitionAt } : {}),
        });
      }
      if (inferred > 0)
        evidence.push({
          type: 'state',
          text: `${inferred} earlier scheduled run${inferred === 1 ? '' : 's'} since the last success left no Job (failed Jobs beyond failedJobsHistoryLimit are deleted) and did not succeed`,
        });
      let failedPod: { pod: string; container: string } | undefined;
      if (newestFailure) {
        const pods = view
          .ownedBy('Pod', newestFailure.job.uid)
          .filter((p) => p.phase === 'Failed')
          .sort((a, b) => a.createdAt - b.createdAt);
        const pod = pods.at(-1);
        const container = pod?.containers.find((c) => c.exitCode !== undefined && c.exitCode !== 0);
        if (pod && container) {
          failedPod = { pod: pod.name, container: container.name };
          evidence.push(...containerEvidence(pod, container, now).slice(0, 2));
        }
        evidence.push(
          ...eventEvidence(
            view.eventsFor('Job', newestFailure.job.namespace, newestFailure.job.name),
            now,
            1,
            (e) => e.type === 'Warning',
          ),
        );
      }
      evidence.push({
        type: 'state',
        text: `last successful run: ${Number.isFinite(lastSuccess) ? `${iso(lastSuccess)} (${ago(now - lastSuccess)} ago)` : 'never'}; last scheduled: ${cj.lastScheduleAt !== undefined ? iso(cj.lastScheduleAt) : 'never'}; schedule "${cj.schedule}"${cj.timeZone ? ` (${cj.timeZone})` : ''}`,
      });

      const active = runs.filter((r) => r.outcome === 'active');
      const isBlockedByActive = cj.concurrencyPolicy === 'Forbid' && active.length > 0;
      if (missedSince !== undefined) {
        evidence.push({
          type: 'state',
          text: isBlockedByActive
            ? `the previous run ${active[0]!.job.name} is still active (started ${ago(now - active[0]!.startedAt)} ago) and concurrencyPolicy is Forbid, so later runs are skipped`
            : `no run started since ${cj.lastScheduleAt !== undefined ? iso(cj.lastScheduleAt) : `the CronJob was created (${iso(cj.createdAt)})`}, although two more were due`,
        });
        evidence.push(
          ...eventEvidence(
            view.eventsFor('CronJob', cj.namespace, cj.name),
            now,
            2,
            (e) => e.type === 'Warning',
          ),
        );
      }

      const nextSteps: string[] = [];
      if (isFailing && newestFailure) {
        if (failedPod)
          nextSteps.push(`kubectl logs${ns(cj.namespace)} ${failedPod.pod} -c ${failedPod.container}`);
        else nextSteps.push(`kubectl logs${ns(cj.namespace)} job/${newestFailure.job.name}`);
        nextSteps.push(
          `kubectl describe job${ns(cj.namespace)} ${newestFailure.job.name}`,
          `kubectl create job${ns(cj.namespace)} --from=cronjob/${cj.name} ${cj.name}-manual   # try a fix without waiting for the schedule`,
          newestFailure.job.conditions.Failed?.reason === 'DeadlineExceeded'
            ? 'DeadlineExceeded: the run took longer than activeDeadlineSeconds; check what it waits on, or raise the deadline.'
            : 'BackoffLimitExceeded: every retry exited with an error; the logs of the last pod say why (configuration, credentials, the service it talks to).',
        );
      }
      if (missedSince !== undefined) {
        nextSteps.push(
          `kubectl get cronjob${ns(cj.namespace)} ${cj.name} -o jsonpath='{.spec.schedule} {.spec.suspend} {.status.lastScheduleTime}{"\\n"}'`,
          isBlockedByActive
            ? `kubectl describe job${ns(cj.namespace)} ${active[0]!.job.name}   # the run that never ends; set activeDeadlineSeconds so a stuck run cannot block the schedule`
            : `kubectl get events${ns(cj.namespace)} --field-selector involvedObject.name=${cj.name}   # MissSchedule, TooManyMissedTimes; also check kube-controller-manager (it runs the CronJob controller)`,
        );
      }

      const title =
        isFailing && missedSince !== undefined
          ? `last ${failedRuns === 1 ? 'run' : `${failedRuns} runs`} failed and the schedule is missed`
          : isFailing
            ? `last ${failedRuns === 1 ? 'run' : `${failedRuns} runs`} failed`
            : isBlockedByActive
              ? 'runs skipped: the previous run is still active'
              : 'missed its schedule';
      const failureReason = newestFailure?.job.conditions.Failed?.reason;
      const messages: string[] = [];
      if (isFailing)
        messages.push(
          `The last ${failedRuns === 1 ? 'run' : `${failedRuns} runs`} of "${cj.schedule}" failed${failureReason ? ` (${failureReason})` : ''}; the last success was ${Number.isFinite(lastSuccess) ? `${ago(now - lastSuccess)} ago` : 'never seen'}.`,
        );
      if (missedSince !== undefined)
        messages.push(
          isBlockedByActive
            ? 'No new run has started for two schedule periods because the previous run is still active and concurrencyPolicy is Forbid.'
            : `No run has started for two schedule periods${cj.startingDeadlineSeconds !== undefined ? ` plus the ${cj.startingDeadlineSeconds}s starting deadline` : ''} although it is not suspended.`,
        );
      const oldest = failures.at(-1);
      const failingSince = oldest
        ? (oldest.job.conditions.Failed?.lastTransitionAt ?? oldest.job.completedAt ?? oldest.startedAt)
        : undefined;
      findings.push({
        ruleId: 'cronjob-failing',
        level: ctx.level,
        object: { kind: 'CronJob', namespace: cj.namespace, name: cj.name },
        title: `CronJob ${namespace}/${cj.name}: ${title}`,
        loop: cronjobFailing.loop,
        message: messages.join(' '),
        evidence,
        nextSteps,
        facts: {
          failedRuns: isFailing ? failedRuns : 0,
          lastSuccess: Number.isFinite(lastSuccess) ? iso(lastSuccess) : 'never',
          missedSchedule: missedSince !== undefined,
          ...(newestFailure ? { job: newestFailure.job.name } : {}),
        },
        since: Math.min(
          ...[isFailing ? failingSince : undefined, missedSince].filter((t): t is number => t !== undefined),
        ),
      });
    }
    return findings;
  },
};
