import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

const ours = (findings: readonly Finding[]): string[] =>
  findings
    .filter((f) => f.ruleId === 'version-eol')
    .map((f) => `${f.key}:${f.level}`)
    .sort();

// The simulated clock starts on 2025-06-01, when the demo's v1.32 is supported upstream (until
// 2026-02-28), so the healthy demo must be quiet; the `version` fault then reports v1.29, past its end
// of life on 2025-02-28, while the kubelets stay on v1.32 (newer than the API server).
test('version-eol: the version fault (v1.29.4) is a Notice about the end of life and the kubelet skew; quiet on the demo and after heal', async (t) => {
  const j = await startJudged(t, { sim: { startTime: Date.UTC(2025, 5, 1) } });
  assert.deepEqual(
    ours((await j.evaluate()).findings),
    [],
    'nothing on the healthy demo (v1.32 in June 2025)',
  );

  j.sim.faults.start({ name: 'version', target: 'v1.29.4' });
  await j.advance(60_000);
  assert.deepEqual(ours(j.firing()), ['control-plane:notice', 'kubelet-newer:notice']);
  const eol = j.firing().find((f) => f.key === 'control-plane')!;
  assert.equal(eol.title, 'Kubernetes 1.29 is past the end of upstream support (2025-02-28)');
  assert.match(eol.message, /v1\.29\.4/);
  assert.match(eol.message, /security and bug fixes stop/);
  assert.match(eol.message, /as of \d{4}-\d{2}-\d{2}/, 'the table is dated');
  assert.equal(eol.facts.eolDate, '2025-02-28');
  assert.ok(eol.nextSteps.some((s) => s.includes('kubeadm upgrade plan')));
  const skew = j.firing().find((f) => f.key === 'kubelet-newer')!;
  assert.match(skew.message, /v1\.32\.2/);
  assert.ok(Number(skew.facts.nodes) >= 2, 'one finding listing every node');

  j.sim.faults.heal();
  await j.advance(60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved after heal');
});

test('version-eol: an EKS cluster in paid extended support is a Notice that says so', async (t) => {
  const j = await startJudged(t, { sim: { scenario: 'eks', startTime: Date.UTC(2025, 5, 1) } });
  assert.deepEqual(ours((await j.evaluate()).findings), [], 'nothing on the healthy eks scenario (v1.32)');
  j.sim.faults.start({ name: 'version', target: 'v1.29.15-eks-1234567' });
  await j.advance(30_000);
  const f = j.firing().find((x) => x.ruleId === 'version-eol' && x.key === 'control-plane');
  assert.ok(f, 'fires');
  assert.match(
    f.title,
    /past the end of EKS standard support; the end of EKS extended support is in \d+ days/,
  );
  assert.match(f.message, /extra per cluster-hour/);
  assert.ok(f.nextSteps.some((s) => s.startsWith('aws eks update-cluster-version')));
});
