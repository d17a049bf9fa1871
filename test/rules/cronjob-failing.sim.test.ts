import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { parseCronSchedule } from '../../src/rules/builtin/scheduling-helpers.js';
import { parseCron } from '../../src/sim/cluster/cron.js';
import { startJudged } from '../helpers/judge.js';

const mine = (fs: readonly Finding[]): Finding[] => fs.filter((f) => f.ruleId === 'cronjob-failing');

test('cronjob-failing: cronjob-fail on payments/settlement-report fires once a run fails, counts the streak, and resolves when a run succeeds after heal', async (t) => {
  const j = await startJudged(t);
  const view = j.watcher.view;
  assert.deepEqual(mine((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  const cj = view.get('CronJob', 'payments', 'settlement-report')!;
  assert.ok(cj.lastSuccessAt !== undefined, 'the demo CronJob has succeeded before');

  assert.throws(() => j.sim.faults.start({ name: 'cronjob-fail', target: 'payments/nope' }), {
    message: 'cronjob "payments/nope" not found; cronjobs: payments/settlement-report',
  });
  j.sim.faults.start({ name: 'cronjob-fail', target: 'payments/settlement-report' });
  // The next run starts within 15 minutes; its pods exit 1 three times (backoffLimit 2).
  let firedAfter: number | undefined;
  for (let elapsed = 60_000; elapsed <= 20 * 60_000; elapsed += 60_000) {
    await j.advance(60_000, 60_000);
    if (mine(j.firing()).length > 0) {
      firedAfter = elapsed;
      break;
    }
  }
  assert.ok(firedAfter !== undefined, 'fires after the first failed run');
  let f = mine(j.firing())[0]!;
  assert.equal(refText(f.object), 'CronJob/payments/settlement-report');
  assert.equal(f.level, 'notice');
  assert.match(f.title, /last run failed/);
  assert.equal(f.facts.failedRuns, 1);
  assert.ok(f.evidence.some((e) => /Failed=True BackoffLimitExceeded/.test(e.text)));
  assert.ok(
    f.evidence.some((e) => /exit code 1/.test(e.text)),
    'the failed pod’s exit code',
  );
  assert.ok(f.nextSteps.some((s) => /^kubectl logs -n payments settlement-report-\d+-\S+ -c /.test(s)));

  // Past the next schedule: the second run fails too; Kubernetes keeps only one failed Job
  // (failedJobsHistoryLimit 1), the streak is still counted.
  await j.advance(16 * 60_000, 60_000);
  f = mine(j.firing())[0]!;
  assert.ok(f, 'still firing after two schedules');
  assert.equal(f.facts.failedRuns, 2);
  assert.match(f.title, /last 2 runs failed/);
  const failedJobs = view.ownedBy('Job', cj.uid).filter((job) => job.conditions.Failed?.status === 'True');
  assert.equal(failedJobs.length, 1, 'one failed Job object is left, the older one was trimmed');

  j.sim.faults.heal();
  await j.advance(16 * 60_000, 60_000);
  assert.deepEqual(mine(j.firing()), [], 'resolved: the run after heal succeeded');
  const latest = view.get('CronJob', 'payments', 'settlement-report')!;
  assert.ok((latest.lastSuccessAt ?? 0) > cj.lastSuccessAt, 'a new successful run');
  assert.ok(
    view.ownedBy('Job', cj.uid).some((job) => job.conditions.Failed?.status === 'True'),
    'quiet although the failed Job object is still there',
  );
});

test('cronjob-failing: its cron reader agrees with the controller’s (the simulator’s robfig-compatible parser)', () => {
  const expressions = [
    '*/15 * * * *',
    '0 9 * * 1-5',
    '30 2 1 * *',
    '0 0 29 2 *',
    '5 4 * * sun',
    '0 */6 * * *',
    '@daily',
    '@hourly',
    '@weekly',
    '0 0 13 * 5',
    '15,45 8-18/2 * jan-mar,oct *',
  ];
  for (const expression of expressions) {
    for (const zone of [undefined, 'America/New_York', 'Europe/Berlin']) {
      const ours = parseCronSchedule(expression, zone);
      const theirs = parseCron(expression, zone);
      assert.ok(ours, `${expression} parses`);
      // Through 2026, across both daylight-saving changes, from instants on and between runs.
      let t = Date.UTC(2026, 0, 1, 0, 0, 0) + 12_345;
      for (let i = 0; i < 200; i++) {
        const want = theirs.next(t);
        assert.equal(
          ours.next(t),
          want,
          `${expression} (${zone ?? 'UTC'}) after ${new Date(t).toISOString()}`,
        );
        if (want === undefined) break;
        t = want + (i % 3) * 7000;
      }
    }
  }
  assert.equal(parseCronSchedule('61 * * * *'), undefined);
  assert.equal(parseCronSchedule('every day'), undefined);
  const every = parseCronSchedule('@every 1h30m')!;
  assert.equal(every.next(0), 90 * 60_000);
});
