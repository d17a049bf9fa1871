import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { runCli, type CliResult } from './helpers/cli.js';

const run = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: { KUBECONFIG: '' }, timeoutMs: 90_000 });

async function withSim(
  fn: (sim: Simulator, kubeconfig: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hw-check-'));
  const sim = await startSimulator({ port: 0, seed: 'check' });
  try {
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, sim.kubeconfig());
    await fn(sim, kubeconfig, dir);
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('healwatch check: the healthy demo cluster has nothing at Notice or above and exits 0', async () => {
  await withSim(async (_sim, kubeconfig) => {
    const r = await run(['check', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Nothing at Notice or above: self-healing is working\./);
    const json = await run(['check', '--kubeconfig', kubeconfig, '-o', 'json']);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout) as { firing: { level: string }[] };
    assert.ok(
      report.firing.every((f) => f.level === 'none'),
      JSON.stringify(report.firing.map((f) => f.level)),
    );
  });
});

test('healwatch check: a Deployment whose pods all crash-loop since 20 minutes is one Alert with the crash evidence and log lines, exit 2', async () => {
  await withSim(async (sim, kubeconfig) => {
    sim.faults.start({ name: 'crashloop', target: 'shop/cart', since: '20m' });
    const r = await run(['check', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^ALERTS \(1\)$/m);
    assert.match(r.stdout, /\[ALERT\] Deployment shop\/cart: 0 of 2 replicas available/);
    assert.match(
      r.stdout,
      /loop: the Deployment and ReplicaSet controllers keep the desired number of replicas/,
    );
    assert.match(r.stdout, /Warning BackOff \(x\d+ over \d+m\)/);
    assert.match(
      r.stdout,
      /cart-[a-z0-9]+-[a-z0-9]+\/cart: .*failed to connect to database/,
      'the last log lines of the crashed container',
    );
    assert.doesNotMatch(
      r.stdout,
      /\[NOTICE\] Deployment shop\/cart/,
      'the crash loop is part of the verdict, not a second finding',
    );
    assert.match(r.stdout, /muted.*crashloop.*shop\/cart|crashloop.*Deployment\/shop\/cart.*muted/is);
    const json = await run(['check', '--kubeconfig', kubeconfig, '-o', 'json']);
    const report = JSON.parse(json.stdout) as {
      firing: { ruleId: string; level: string; facts: Record<string, unknown> }[];
      muted: { finding: { ruleId: string }; reason: string }[];
    };
    const verdict = report.firing.find((f) => f.ruleId === 'deployment-replicas');
    assert.equal(verdict?.level, 'alert');
    assert.equal(verdict?.facts.cause, 'crash');
    assert.ok(
      report.muted.some(
        (m) => m.finding.ruleId === 'crashloop' && /reports Deployment\/shop\/cart as a whole/.test(m.reason),
      ),
    );
  });
});

test('healwatch check: certificates expiring in 20 days are Notices, exit 1; --level alert exits 0', async () => {
  await withSim(async (sim, kubeconfig) => {
    sim.faults.start({ name: 'cert-expiry', target: '20' });
    const r = await run(['check', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^NOTICES \(\d+\)$/m);
    assert.doesNotMatch(r.stdout, /^ALERTS/m);
    assert.match(r.stdout, /\[NOTICE\] .*certificate/i);
    const alertOnly = await run(['check', '--kubeconfig', kubeconfig, '--level', 'alert']);
    assert.equal(alertOnly.code, 0, alertOnly.stdout);
  });
});

test('healwatch check: a failure of the check itself exits 3 with one line on stderr', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-check-'));
  try {
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: "http://127.0.0.1:9", insecure-skip-tls-verify: true}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n',
    );
    const r = await run(['check', '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      /cannot reach the API server at http:\/\/127\.0\.0\.1:9 .*\[HW_ERR_CLUSTER_UNREACHABLE\]\n$/,
    );
    const badConfig = join(dir, 'healwatch.yaml');
    writeFileSync(badConfig, 'rules:\n  nope: {}\n');
    const c = await run(['check', '--kubeconfig', kubeconfig, '--config', badConfig]);
    assert.equal(c.code, 3);
    assert.match(c.stderr, /healwatch\.yaml:2: rules\.nope: unknown rule/);
    const valid = await run(['config', 'validate', badConfig]);
    assert.equal(valid.code, 1);
    writeFileSync(badConfig, 'rules:\n  crashloop: { level: alert }\n');
    const ok = await run(['config', 'validate', badConfig]);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /valid \(\d+ rules, 1 changed from their defaults: crashloop\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
