import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/sim/index.js';
import { defaultVersion } from '../src/sim/scenario/builtin.js';
import { runCli, type CliResult } from './helpers/cli.js';

/** What the demo's /version reports today. */
const DEMO_VERSION = defaultVersion('kubeadm');

const run = (args: string[]): Promise<CliResult> => runCli(args, { env: { KUBECONFIG: '' } });

interface InventoryJson {
  cluster: { version: string; platform: string };
  controlPlane: { name: string; visibility: string; status: string; leaseHolder?: string }[];
  nodes: { name: string; status: string; kubeletVersion: string }[];
  workloads: {
    namespace: string;
    name: string;
    kind: string;
    desired: number;
    available: number;
    status: string;
    component?: string;
  }[];
}

test('healwatch inventory prints the demo cluster: control plane, nodes, components, platform', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-inv-'));
  const sim = await startSimulator({ port: 0, seed: 'inventory', tls: true });
  try {
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, sim.kubeconfig());
    const text = await run(['inventory', '--kubeconfig', kubeconfig]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Version\\s+${DEMO_VERSION}$`, 'm'));
    assert.match(text.stdout, /^Platform\s+self-managed/m);
    assert.match(text.stdout, /^kube-scheduler\s+static-pod\s+Healthy\s+sim-control-plane_/m);
    assert.match(
      text.stdout,
      new RegExp(
        `^sim-worker2\\s+Ready\\s+<none>\\s+${DEMO_VERSION.replaceAll('.', '\\.')}\\s+sim-zone-b`,
        'm',
      ),
    );
    assert.match(text.stdout, /^kube-system\s+Deployment\s+coredns\s+coredns\s+2\s+2\s+Healthy/m);
    assert.match(text.stdout, /^logging\s+DaemonSet\s+fluent-bit\s+log-agent\s+5\s+5\s+Healthy/m);
    const json = await run(['inventory', '--kubeconfig', kubeconfig, '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const inv = JSON.parse(json.stdout) as InventoryJson;
    assert.deepEqual(
      inv.controlPlane.map((c) => `${c.name}:${c.visibility}:${c.status}`),
      [
        'kube-apiserver:static-pod:Healthy',
        'etcd:static-pod:Healthy',
        'kube-scheduler:static-pod:Healthy',
        'kube-controller-manager:static-pod:Healthy',
      ],
    );
    assert.equal(inv.nodes.length, 5);
    assert.ok(inv.nodes.every((n) => n.status === 'Ready' && n.kubeletVersion === DEMO_VERSION));
    const names = inv.workloads.map((w) => `${w.namespace}/${w.name}`);
    for (const n of [
      'kube-system/kube-proxy',
      'kube-system/calico-node',
      'kube-system/metrics-server',
      'kube-system/cluster-autoscaler',
      'logging/fluent-bit',
      'ingress-nginx/ingress-nginx-controller',
      'cert-manager/cert-manager',
    ]) {
      assert.ok(names.includes(n), `${n} missing from the inventory`);
    }
    assert.ok(!names.some((n) => n.startsWith('shop/')), 'application workloads are not cluster components');
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('healwatch inventory shows a broken component as such', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-inv-'));
  const sim = await startSimulator({ port: 0, seed: 'inventory-broken', speed: 20 });
  try {
    sim.faults.start({ name: 'scheduler-down', since: '10m' });
    sim.faults.start({ name: 'addon-crash', target: 'kube-system/coredns', since: '10m' });
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, sim.kubeconfig());
    const r = await run(['inventory', '--kubeconfig', kubeconfig, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const inv = JSON.parse(r.stdout) as InventoryJson;
    const scheduler = inv.controlPlane.find((c) => c.name === 'kube-scheduler')!;
    assert.equal(scheduler.status, 'Unhealthy');
    const coredns = inv.workloads.find((w) => w.name === 'coredns')!;
    assert.equal(coredns.available, 0);
    assert.equal(coredns.status, 'Down');
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('against a server that does not exist, or a bad kubeconfig, inventory prints one clear error and exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-inv-'));
  try {
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:9\n    insecure-skip-tls-verify: true\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n',
    );
    const down = await run(['inventory', '--kubeconfig', kubeconfig]);
    assert.equal(down.code, 1);
    assert.equal(down.stdout, '');
    assert.match(
      down.stderr,
      /^healwatch: cannot reach the API server at http:\/\/127\.0\.0\.1:9 \(from .*config\): ECONNREFUSED.*\[HW_ERR_CLUSTER_UNREACHABLE\]\n$/,
    );
    writeFileSync(kubeconfig, 'clusters: [oops\n');
    const bad = await run(['inventory', '--kubeconfig', kubeconfig]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^healwatch: kubeconfig .*config: .*\[HW_ERR_KUBECONFIG_INVALID\]\n$/);
    const missing = await run(['inventory', '--kubeconfig', join(dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /kubeconfig .*nope: no such file \[HW_ERR_KUBECONFIG_INVALID\]/);
    const context = await run([
      'inventory',
      '--kubeconfig',
      kubeconfig.replace('config', 'nope'),
      '--context',
      'x',
    ]);
    assert.equal(context.code, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
