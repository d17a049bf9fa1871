import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

const ofRule = (fs: readonly Finding[]): Finding[] => fs.filter((f) => f.ruleId === 'control-plane');
const describe = (fs: readonly Finding[]): string[] =>
  ofRule(fs).map((f) => `${refText(f.object)}:${f.level}`);

test('control-plane: scheduler-down fires one Alert for kube-scheduler within two minutes and resolves after heal', async (t) => {
  const j = await startJudged(t);
  assert.deepEqual(describe((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  j.sim.faults.start({ name: 'scheduler-down' });
  await j.advance(30_000);
  assert.deepEqual(
    describe(j.firing()),
    [],
    'not one step after the failure (the lease is still valid, for: 1m)',
  );
  await j.advance(90_000);
  assert.deepEqual(describe(j.firing()), ['Component/kube-scheduler:alert']);
  const f = ofRule(j.firing())[0]!;
  assert.equal(f.facts.component, 'kube-scheduler');
  assert.equal(f.facts.leaseStale, true);
  assert.match(f.message, /new pods stay Pending/);
  assert.ok(f.evidence.some((e) => /Lease kube-system\/kube-scheduler/.test(e.text)));
  assert.ok(f.nextSteps.some((s) => s.startsWith('kubectl logs -n kube-system kube-scheduler-')));
  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(describe(j.firing()), [], 'resolved after heal');
});

test('control-plane: controller-manager-down names the controller-manager and what stops', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'controller-manager-down' });
  await j.advance(3 * 60_000);
  assert.deepEqual(describe(j.firing()), ['Component/kube-controller-manager:alert']);
  const f = ofRule(j.firing())[0]!;
  assert.equal(f.facts.component, 'kube-controller-manager');
  assert.match(f.message, /stop creating replicas/);
});

test('control-plane: apiserver-unready names the failing /readyz check', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'apiserver-unready' });
  await j.advance(30_000);
  assert.deepEqual(describe(j.firing()), [], 'for: 1m');
  await j.advance(90_000);
  assert.deepEqual(describe(j.firing()), ['Component/kube-apiserver:alert']);
  const f = ofRule(j.firing())[0]!;
  assert.equal(f.facts.component, 'kube-apiserver');
  assert.match(f.title, /\/readyz fails: etcd-readiness/);
  assert.equal(f.facts.failingChecks, 'etcd-readiness');
  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(describe(j.firing()), [], 'resolved after heal');
});

for (const scenario of ['eks', 'gke', 'aks']) {
  test(`control-plane: quiet on ${scenario}, where the provider runs the control plane, even when its scheduler is gone`, async (t) => {
    const j = await startJudged(t, { sim: { scenario } });
    assert.deepEqual(describe((await j.evaluate()).findings), []);
    j.sim.faults.start({ name: 'scheduler-down' });
    await j.advance(3 * 60_000);
    assert.deepEqual(describe(j.firing()), [], 'provider-managed: never a finding');
    assert.deepEqual(describe((await j.evaluate()).findings), []);
  });
}
