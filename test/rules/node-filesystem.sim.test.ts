import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprintOf, refText } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

test('node-filesystem: disk-fill above the threshold and a steady fill forecast full both fire before DiskPressure, and resolve after heal', async (t) => {
  const j = await startJudged(t);
  const mine = (): ReturnType<typeof j.firing> => j.firing().filter((f) => f.ruleId === 'node-filesystem');
  assert.deepEqual(
    (await j.evaluate()).findings.filter((f) => f.ruleId === 'node-filesystem'),
    [],
    'nothing on the healthy demo',
  );
  // Threshold: 88 % is above 85 % but below the kubelet's eviction (10 % free), so no DiskPressure yet.
  j.sim.faults.start({ name: 'disk-fill', target: 'sim-worker', args: ['88'] });
  // Forecast: from about 10 % used, 30 points an hour (a log storm): full in about 3 hours.
  j.sim.faults.start({ name: 'disk-fill', target: 'sim-worker2', args: ['100', '30'] });
  await j.advance(4 * 60_000 + 30_000);
  assert.deepEqual(mine(), [], 'pending during its 5 minutes');
  await j.advance(60_000);
  assert.deepEqual(
    mine().map((f) => fingerprintOf(f)),
    ['node-filesystem|Node/sim-worker|nodefs'],
    'the threshold fires after 5 minutes; the forecast needs 10 minutes of samples first',
  );
  const over = mine()[0]!;
  assert.equal(over.level, 'notice');
  assert.match(over.title, /nodefs 88\.\d% full/);
  assert.ok(over.evidence.some((e) => /88\.\d% used, 88\.\d GiB of 100\.0 GiB/.test(e.text)));
  assert.ok(over.evidence.some((e) => /images take \d+\.\d GiB of it/.test(e.text)));
  assert.equal(j.watcher.view.get('Node', undefined, 'sim-worker')?.conditions.DiskPressure?.status, 'False');

  await j.advance(10 * 60_000);
  const forecast = mine().find((f) => f.object.name === 'sim-worker2');
  assert.ok(forecast, 'the steady fill is forecast full');
  assert.equal(refText(forecast.object), 'Node/sim-worker2');
  assert.equal(forecast.key, 'nodefs');
  const used = forecast.facts.usedPercent as number;
  assert.ok(used < 30, `fires long before the threshold (${used}% used)`);
  const rate = forecast.facts.ratePercentPerHour as number;
  assert.ok(Math.abs(rate - 30) < 3, `fits the fill rate (${rate} points an hour)`);
  assert.ok((forecast.facts.hoursToFull as number) < 4);
  assert.match(forecast.title, /full in about [23]h/);
  assert.ok(
    forecast.evidence.some((e) =>
      /grows 3\d\.\d% of its capacity per hour \(3\d\.\d GiB\/h, least squares over the last 15m/.test(
        e.text,
      ),
    ),
  );

  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(mine(), [], 'resolved after heal');
});
