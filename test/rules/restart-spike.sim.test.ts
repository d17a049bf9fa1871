import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

test('restart-spike: the restart-spike fault on shop/checkout fires one Notice for the Deployment against its quiet baseline, and clears after heal', async (t) => {
  const j = await startJudged(t);
  await j.advance(20 * 60_000, 60_000);
  assert.deepEqual(
    j.firing().filter((f) => f.ruleId === 'restart-spike'),
    [],
    'nothing on the healthy demo',
  );
  j.sim.faults.start({ name: 'restart-spike', target: 'shop/checkout' });
  await j.advance(8 * 60_000);
  const firing = j.firing().filter((f) => f.ruleId === 'restart-spike');
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['Deployment/shop/checkout:notice'],
  );
  const f = firing[0]!;
  assert.match(f.title, /\d+ restarts in 15m, usually none/);
  assert.ok(Number(f.facts.restarts) >= 3);
  assert.ok(f.evidence.some((e) => e.type === 'metric' && /baseline about 0\.0 per 15m/.test(e.text)));
  assert.ok(
    f.nextSteps.some((s) => s.startsWith('kubectl logs -n shop checkout-') && s.endsWith('--previous')),
  );
  j.sim.faults.heal();
  await j.advance(20 * 60_000, 60_000);
  assert.deepEqual(
    j.firing().filter((f) => f.ruleId === 'restart-spike'),
    [],
    'resolved once the restarts left the window',
  );
});

test('restart-spike: a crash loop (the crashloop fault) and OOM kills (the oom fault) are not reported again as restart spikes', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'crashloop', target: 'shop/checkout' });
  j.sim.faults.start({ name: 'oom', target: 'shop/cart' });
  const seen = new Set<string>();
  for (let i = 0; i < 24; i++) {
    await j.advance(30_000);
    // Raw findings, muted or not: a Deployment whose replicas are all down folds its crash loop and
    // OOM kills into the deployment-replicas verdict, but the rules must still see them.
    const { findings, muted } = await j.evaluate();
    for (const f of [...findings, ...muted]) seen.add(`${f.ruleId}:${f.object.name}`);
  }
  assert.ok(seen.has('crashloop:checkout'), 'crashloop reports the loop');
  assert.ok(seen.has('oom-killed:cart'), 'oom-killed reports the kills');
  assert.deepEqual(
    [...seen].filter((s) => s.startsWith('restart-spike:')),
    [],
    'no restart spike on top',
  );
});
