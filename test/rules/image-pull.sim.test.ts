import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

test('image-pull: the bad-image fault on shop/cart fires one Notice for the Deployment after two minutes, naming the image and the cause', async (t) => {
  // The fault hits every replica, so the deployment-replicas Alert would fold this symptom in (see
  // test/check-faults.test.ts); off here to judge the symptom rule itself.
  const j = await startJudged(t, { config: 'rules:\n  deployment-replicas: { level: off }\n' });
  assert.deepEqual(
    (await j.evaluate()).findings.filter((f) => f.ruleId === 'image-pull'),
    [],
    'nothing on the healthy demo',
  );
  j.sim.faults.start({ name: 'bad-image', target: 'shop/cart' });
  await j.advance(60_000);
  assert.deepEqual(
    j.firing().filter((f) => f.ruleId === 'image-pull'),
    [],
    'pending for its two minutes',
  );
  assert.ok(
    j.tracker.active().some((a) => a.finding.ruleId === 'image-pull' && a.state === 'pending'),
    'seen and pending',
  );
  await j.advance(2 * 60_000);
  const firing = j.firing().filter((f) => f.ruleId === 'image-pull');
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['Deployment/shop/cart:notice'],
  );
  const f = firing[0]!;
  assert.match(
    f.title,
    /cannot pull ghcr\.io\/healwatch-sim\/shop-cart:does-not-exist \(image or tag not found\)/,
  );
  assert.equal(f.facts.cause, 'not-found');
  assert.equal(f.facts.runsElsewhere, false);
  assert.ok(f.evidence.some((e) => e.type === 'event' && /Failed .*not found/.test(e.text)));
  assert.ok(f.nextSteps.includes('kubectl rollout undo deployment -n shop cart'));
  j.sim.faults.heal();
  await j.advance(2 * 60_000);
  assert.deepEqual(
    j.firing().filter((f) => f.ruleId === 'image-pull'),
    [],
    'resolved after heal',
  );
});
