import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitCodeOf, runCheck } from '../src/app/check.js';
import { parseConfig } from '../src/config/index.js';
import { refText, type Level } from '../src/domain/index.js';
import { startSimulator, type FaultRequest } from '../src/sim/index.js';

/**
 * `healwatch check` against the simulator with each fault: the right rule fires at the right level,
 * explains itself, and the exit code follows the highest level. The simulated clock runs the fault
 * for `afterMs` first, so a one-shot check judges each rule's `for` from the objects' own times.
 */
interface FaultCase {
  fault: FaultRequest;
  afterMs: number;
  /** The rule expected to fire; undefined: nothing at Notice or above (exit 0). */
  rule: string | undefined;
  level?: Level;
  /** The object the finding is about (`Kind/ns/name`), when it is fixed. */
  object?: string;
  /** Text the title must contain. */
  title?: RegExp;
  /** Symptom rules the verdict must have folded in (muted under it). */
  muted?: string[];
}

const MIN = 60_000;
const CASES: FaultCase[] = [
  {
    fault: { name: 'crashloop', target: 'shop/cart' },
    afterMs: 6 * MIN,
    rule: 'deployment-replicas',
    level: 'alert',
    object: 'Deployment/shop/cart',
    title: /crash/,
    muted: ['crashloop'],
  },
  {
    fault: { name: 'oom', target: 'shop/cart' },
    afterMs: 6 * MIN,
    rule: 'deployment-replicas',
    level: 'alert',
    object: 'Deployment/shop/cart',
    muted: ['oom-killed'],
  },
  {
    fault: { name: 'bad-image', target: 'shop/frontend' },
    afterMs: 5 * MIN,
    rule: 'deployment-replicas',
    level: 'alert',
    object: 'Deployment/shop/frontend',
    title: /image/,
    muted: ['image-pull'],
  },
  {
    fault: { name: 'rollout-stuck', target: 'payments/api' },
    afterMs: 5 * MIN,
    rule: 'deployment-replicas',
    level: 'alert',
    object: 'Deployment/payments/api',
  },
  {
    fault: { name: 'node-notready', target: 'sim-worker2' },
    afterMs: 3 * MIN,
    rule: 'node-not-ready',
    level: 'notice',
    object: 'Node/sim-worker2',
  },
  {
    fault: { name: 'scheduler-down' },
    afterMs: 3 * MIN,
    rule: 'control-plane',
    level: 'alert',
    title: /kube-scheduler/,
  },
  {
    fault: { name: 'controller-manager-down' },
    afterMs: 3 * MIN,
    rule: 'control-plane',
    level: 'alert',
    title: /kube-controller-manager/,
  },
  {
    fault: { name: 'apiserver-unready' },
    afterMs: 3 * MIN,
    rule: 'control-plane',
    level: 'alert',
    title: /etcd-readiness|kube-apiserver/,
  },
  {
    fault: { name: 'addon-crash', target: 'kube-system/coredns' },
    afterMs: 5 * MIN,
    rule: 'component-unavailable',
    level: 'alert',
    object: 'Deployment/kube-system/coredns',
  },
  {
    fault: { name: 'autoscaler-down' },
    afterMs: 5 * MIN,
    rule: 'component-unavailable',
    level: 'alert',
    object: 'Deployment/kube-system/cluster-autoscaler',
  },
  { fault: { name: 'capacity-exhausted' }, afterMs: 8 * MIN, rule: 'capacity-stuck', level: 'alert' },
  { fault: { name: 'log-agent-errors' }, afterMs: 12 * MIN, rule: 'log-agent', level: 'notice' },
  {
    fault: { name: 'disk-fill', target: 'sim-worker3', args: ['95'] },
    afterMs: 8 * MIN,
    rule: 'node-filesystem',
    level: 'notice',
  },
  {
    fault: { name: 'pvc-fill', target: 'shop/data-postgres-0' },
    afterMs: 8 * MIN,
    rule: 'pvc-filling',
    level: 'notice',
    object: 'PersistentVolumeClaim/shop/data-postgres-0',
  },
  {
    fault: { name: 'skew', target: 'shop/frontend' },
    afterMs: 15 * MIN,
    rule: 'placement-skew',
    level: 'notice',
    object: 'Deployment/shop/frontend',
  },
  {
    fault: { name: 'cronjob-fail', target: 'payments/settlement-report' },
    afterMs: 35 * MIN,
    rule: 'cronjob-failing',
    level: 'notice',
    object: 'CronJob/payments/settlement-report',
  },
  { fault: { name: 'version', target: 'v1.29.4' }, afterMs: MIN, rule: 'version-eol', level: 'notice' },
  { fault: { name: 'cert-expiry', target: '20' }, afterMs: MIN, rule: 'certificate-expiry', level: 'notice' },
  { fault: { name: 'cert-expiry', target: '5' }, afterMs: MIN, rule: 'certificate-expiry', level: 'alert' },
  {
    fault: { name: 'deprecated-api', target: 'policy/v1beta1/poddisruptionbudgets' },
    afterMs: MIN,
    rule: 'deprecated-apis',
    level: 'notice',
  },
  { fault: { name: 'rollout', target: 'shop/frontend' }, afterMs: 5 * MIN, rule: undefined },
  { fault: { name: 'watch-stall' }, afterMs: MIN, rule: undefined },
];

for (const c of CASES) {
  const name = `${c.fault.name}${c.fault.target ? ` ${c.fault.target}` : ''}`;
  test(`healwatch check with fault ${name}: ${c.rule ? `${c.rule} at ${c.level}` : 'nothing at Notice or above'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-check-faults-'));
    const sim = await startSimulator({ port: 0, clock: 'manual', seed: 'check-faults' });
    try {
      const kubeconfig = join(dir, 'config');
      writeFileSync(kubeconfig, sim.kubeconfig());
      sim.faults.start(c.fault);
      for (let t = 0; t < c.afterMs; t += 15_000) sim.advance(Math.min(15_000, c.afterMs - t));
      const report = await runCheck({ kubeconfig, config: parseConfig('{}', 'defaults'), timeoutMs: 30_000 });
      assert.deepEqual(report.errors, [], 'no rule threw');
      const summary = report.firing.map((f) => `${f.ruleId}:${f.level}:${refText(f.object)}: ${f.title}`);
      if (c.rule === undefined) {
        assert.equal(exitCodeOf(report, 'notice'), 0, summary.join(' | '));
        return;
      }
      const found = report.firing.filter((f) => f.ruleId === c.rule);
      assert.ok(found.length > 0, `${c.rule} did not fire; firing: ${summary.join(' | ') || 'nothing'}`);
      const f = found.find((x) => !c.object || refText(x.object) === c.object);
      assert.ok(
        f,
        `${c.rule} fired about ${found.map((x) => refText(x.object)).join(', ')}, not ${c.object}`,
      );
      assert.equal(f.level, c.level, f.title);
      if (c.title) assert.match(f.title, c.title);
      assert.ok(f.loop.length > 10 && f.message.length > 20, 'it says which loop is broken and what it saw');
      assert.ok(f.evidence.length > 0, 'it shows evidence');
      assert.ok(f.nextSteps.length > 0, 'it says what to do next');
      for (const symptom of c.muted ?? [])
        assert.ok(
          report.muted.some(
            (m) => m.finding.ruleId === symptom && refText(m.finding.object) === refText(f.object),
          ),
          `${symptom} is folded into the ${c.rule} verdict`,
        );
      const expected = report.firing.some((x) => x.level === 'alert') ? 2 : 1;
      assert.equal(exitCodeOf(report, 'notice'), expected);
      assert.equal(exitCodeOf(report, 'alert'), expected === 2 ? 2 : 0);
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('healwatch check says which rules need history it does not have (restart baselines, fill forecasts)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-check-faults-'));
  const sim = await startSimulator({ port: 0, clock: 'manual', seed: 'check-faults' });
  try {
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, sim.kubeconfig());
    const report = await runCheck({ kubeconfig, config: parseConfig('{}', 'defaults'), timeoutMs: 30_000 });
    assert.deepEqual(report.needsHistory.map((h) => h.ruleId).sort(), [
      'node-filesystem',
      'pvc-filling',
      'restart-spike',
    ]);
    const off = await runCheck({
      kubeconfig,
      config: parseConfig('rules:\n  restart-spike: { level: off }\n', 'test'),
      timeoutMs: 30_000,
    });
    assert.ok(!off.needsHistory.some((h) => h.ruleId === 'restart-spike'), 'a rule turned off is not listed');
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
