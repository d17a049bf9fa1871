import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

test('oom-killed: the oom fault on shop/cart fires one Notice for the Deployment, with the limit beside the usage', async (t) => {
  // The fault hits every replica, so the deployment-replicas Alert would fold this symptom in (see
  // test/check-faults.test.ts); off here to judge the symptom rule itself.
  const j = await startJudged(t, { config: 'rules:\n  deployment-replicas: { level: off }\n' });
  assert.deepEqual(
    (await j.evaluate()).findings.filter((f) => f.ruleId === 'oom-killed'),
    [],
    'nothing on the healthy demo',
  );
  j.sim.faults.start({ name: 'oom', target: 'shop/cart' });
  await j.advance(20_000);
  assert.deepEqual(
    j.firing().filter((f) => f.ruleId === 'oom-killed'),
    [],
    'no kill yet 20 s in (the containers fill their memory for 25 s)',
  );
  await j.advance(3 * 60_000);
  const firing = j.firing().filter((f) => f.ruleId === 'oom-killed');
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['Deployment/shop/cart:notice'],
  );
  const f = firing[0]!;
  assert.match(f.title, /\d+ OOM kills? in 1h \(limit 256Mi/);
  assert.ok(Number(f.facts.kills) >= 2, `several kills counted, got ${f.facts.kills}`);
  assert.equal(f.facts.memoryLimitBytes, 256 * 2 ** 20);
  assert.ok(f.evidence.some((e) => /OOMKilled, exit code 137/.test(e.text)));
  assert.ok(f.evidence.some((e) => /memory limit 256Mi per pod/.test(e.text)));
  assert.ok(f.nextSteps.some((s) => s.startsWith('kubectl top pod -n shop cart-')));
  j.sim.faults.heal();
  await j.advance(10 * 60_000, 60_000);
  assert.equal(
    j.firing().filter((f) => f.ruleId === 'oom-killed').length,
    1,
    'a kill within the last hour is still reported after the heal',
  );
  await j.advance(55 * 60_000, 5 * 60_000);
  assert.deepEqual(
    j.firing().filter((f) => f.ruleId === 'oom-killed'),
    [],
    'resolved once the last kill left the window',
  );
});
