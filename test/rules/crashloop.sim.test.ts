import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

test('crashloop: the crashloop fault on shop/cart fires one Notice for the Deployment, with its evidence', async (t) => {
  // The fault hits every replica, so the deployment-replicas Alert would fold this symptom in (see
  // test/check-faults.test.ts); off here to judge the symptom rule itself.
  const j = await startJudged(t, { config: 'rules:\n  deployment-replicas: { level: off }\n' });
  assert.deepEqual(
    (await j.evaluate()).findings.filter((f) => f.ruleId === 'crashloop'),
    [],
    'nothing on the healthy demo',
  );
  j.sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  await j.advance(6 * 60_000);
  const firing = j.firing().filter((f) => f.ruleId === 'crashloop');
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['Deployment/shop/cart:notice'],
  );
  const f = firing[0]!;
  assert.match(f.title, /2 pods in CrashLoopBackOff/);
  assert.ok(f.evidence.some((e) => /exit code 1/.test(e.text)));
  assert.ok(f.evidence.some((e) => e.type === 'event' && /BackOff \(x\d+/.test(e.text)));
  assert.ok(f.nextSteps.some((s) => s.startsWith('kubectl logs -n shop cart-') && s.endsWith('--previous')));
  j.sim.faults.heal();
  await j.advance(2 * 60_000);
  assert.deepEqual(
    j.firing().filter((f) => f.ruleId === 'crashloop'),
    [],
    'resolved after heal',
  );
});
