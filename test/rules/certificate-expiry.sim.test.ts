import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

const summary = (findings: readonly Finding[]): string[] =>
  findings
    .filter((f) => f.ruleId === 'certificate-expiry')
    .map((f) => `${f.key}:${f.level}`)
    .sort();

test('certificate-expiry: the cert-expiry fault is a Notice at 29 days, an Alert at 6, and quiet at 31 and after heal', async (t) => {
  // TLS on, so the prober reads the API serving certificate from the handshake.
  const j = await startJudged(t, { sim: { tls: true } });
  assert.deepEqual(summary((await j.evaluate()).findings), [], 'nothing on the healthy demo');

  j.sim.faults.start({ name: 'cert-expiry', target: '31' });
  assert.deepEqual(summary((await j.evaluate()).findings), [], '31 days out is quiet');
  j.sim.faults.heal();

  j.sim.faults.start({ name: 'cert-expiry', target: '29' });
  await j.advance(30_000);
  assert.deepEqual(summary(j.firing()), ['api-serving:notice', 'kubelet-client:notice']);
  const serving = j.firing().find((f) => f.key === 'api-serving')!;
  assert.match(serving.title, /serving certificate expires in 2[89] days/);
  assert.match(serving.message, /kubeadm/, 'the demo is self-managed: kubeadm owns the serving certificate');
  assert.ok(serving.nextSteps.some((s) => s.includes('kubeadm certs check-expiration')));
  const kubelet = j.firing().find((f) => f.key === 'kubelet-client')!;
  assert.equal(kubelet.object.kind, 'Cluster', 'one finding for every node, not one per node');
  assert.ok(Number(kubelet.facts.nodes) >= 2, 'it lists the nodes');
  assert.match(kubelet.message, /rotation is failing/);
  assert.ok(kubelet.nextSteps.some((s) => s.startsWith('kubectl get csr')));
  j.sim.faults.heal();

  j.sim.faults.start({ name: 'cert-expiry', target: '6' });
  await j.advance(30_000);
  assert.deepEqual(
    summary(j.firing()),
    ['api-serving:alert', 'kubelet-client:alert'],
    'escalated, same alerts',
  );
  const alert = j.tracker.get('certificate-expiry|Cluster/cluster|api-serving')!;
  assert.deepEqual(
    alert.levelHistory.map((h) => h.level),
    ['notice', 'alert'],
    'the Notice escalated to an Alert rather than a second alert',
  );

  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(summary(j.firing()), [], 'resolved after heal');
});
