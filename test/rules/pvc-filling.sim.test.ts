import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

test('pvc-filling: pvc-fill on the postgres claim fires over the threshold, with the expansion steps, and resolves after heal', async (t) => {
  const j = await startJudged(t);
  const mine = (): ReturnType<typeof j.firing> => j.firing().filter((f) => f.ruleId === 'pvc-filling');
  assert.deepEqual(
    (await j.evaluate()).findings.filter((f) => f.ruleId === 'pvc-filling'),
    [],
    'nothing on the healthy demo',
  );
  assert.ok(j.watcher.view.probes.volume('shop', 'data-postgres-0'), 'the summary reports the claim');
  assert.throws(() => j.sim.faults.start({ name: 'pvc-fill', target: 'shop/nope' }), {
    message: /^persistentvolumeclaim "shop\/nope" not found; claims: .*shop\/data-postgres-0/,
  });
  assert.throws(
    () => j.sim.faults.start({ name: 'pvc-fill', target: 'shop/data-postgres-0', args: ['90', '-1'] }),
    {
      message: /PER_HOUR must be a positive number/,
    },
  );
  j.sim.faults.start({ name: 'pvc-fill', target: 'shop/data-postgres-0', args: ['93'] });
  await j.advance(4 * 60_000 + 30_000);
  assert.deepEqual(mine(), [], 'pending during its 5 minutes');
  await j.advance(60_000);
  const firing = mine();
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['PersistentVolumeClaim/shop/data-postgres-0:notice'],
  );
  const f = firing[0]!;
  assert.match(f.title, /93\.\d% full/);
  assert.equal(f.facts.pod, 'postgres-0');
  assert.equal(f.facts.capacityBytes, 20 * 2 ** 30);
  assert.ok(f.evidence.some((e) => /93\.\d% used, 18\.\d GiB of 20\.0 GiB/.test(e.text)));
  assert.ok(f.evidence.some((e) => e.text === 'used by StatefulSet shop/postgres'));
  assert.ok(
    f.nextSteps.some((s) =>
      s.startsWith(
        `If it can, expand online: kubectl patch pvc -n shop data-postgres-0 -p '{"spec":{"resources":{"requests":{"storage":"30Gi"}}}}'`,
      ),
    ),
  );
  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(mine(), [], 'resolved after heal');
});

test('pvc-filling: a claim filling 30 points an hour is forecast full before it crosses the threshold', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'pvc-fill', target: 'shop/data-postgres-0', args: ['100', '30'] });
  await j.advance(16 * 60_000, 60_000);
  const f = j.firing().find((x) => x.ruleId === 'pvc-filling');
  assert.ok(f, 'forecast fires');
  assert.ok((f.facts.usedPercent as number) < 85, `below the threshold (${f.facts.usedPercent}%)`);
  assert.ok((f.facts.hoursToFull as number) <= 4);
  assert.match(f.title, /^PVC shop\/data-postgres-0 \d+\.\d% full, full in about \d/);
});
