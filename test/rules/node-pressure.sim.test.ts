import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

test('node-pressure: disk-fill drives a node into DiskPressure: one Notice with the evictions, resolved after heal', async (t) => {
  const j = await startJudged(t);
  const mine = (): ReturnType<typeof j.firing> => j.firing().filter((f) => f.ruleId === 'node-pressure');
  assert.deepEqual(
    (await j.evaluate()).findings.filter((f) => f.ruleId === 'node-pressure'),
    [],
    'nothing on the healthy demo',
  );
  j.sim.faults.start({ name: 'disk-fill', target: 'sim-worker3' });
  await j.advance(90_000);
  assert.deepEqual(mine(), [], 'pending during its 2 minutes');
  await j.advance(90_000);
  const firing = mine();
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['Node/sim-worker3:notice'],
  );
  const f = firing[0]!;
  assert.equal(f.facts.pressures, 'DiskPressure');
  assert.equal(f.facts.node, 'sim-worker3');
  assert.match(f.title, /under DiskPressure/);
  assert.ok(f.evidence.some((e) => /^DiskPressure=True \(KubeletHasDiskPressure\)/.test(e.text)));
  assert.ok(f.evidence.some((e) => /taint node\.kubernetes\.io\/disk-pressure:NoSchedule/.test(e.text)));
  assert.ok(f.evidence.some((e) => e.type === 'event' && /EvictionThresholdMet \(x\d+/.test(e.text)));
  // The demo's pods all have requests (Burstable) and the simulated eviction manager evicts only
  // BestEffort pods, so no eviction happens here; the rule's cases cover the evicted-pods evidence.
  assert.equal(f.facts.evicted, 0);
  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(mine(), [], 'resolved after heal');
});
