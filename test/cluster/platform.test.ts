import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClusterView,
  ClusterWatcher,
  COLLECTORS,
  Connection,
  detectPlatform,
  Prober,
  type PlatformInfo,
} from '../../src/cluster/index.js';
import { startSimulator } from '../../src/sim/index.js';

async function detect(scenario: 'demo' | 'eks' | 'gke' | 'aks'): Promise<PlatformInfo> {
  const sim = await startSimulator({ port: 0, clock: 'manual', scenario, seed: `platform-${scenario}` });
  const watcher = new ClusterWatcher(Connection.fromString(sim.kubeconfig()), {
    kinds: ['Node', 'Pod', 'Lease', 'DaemonSet'],
  });
  try {
    await watcher.start();
    await watcher.synced();
    const prober = new Prober(watcher.connection, watcher.view);
    await prober.runOnce(['version']);
    assert.ok(watcher.view.probes.version, 'the version probe ran');
    return detectPlatform(watcher.view, watcher.view.probes.version);
  } finally {
    await watcher.stop();
    await sim.close();
  }
}

test('demo: self-managed, all four control-plane components visible as static pods', async () => {
  const p = await detect('demo');
  assert.equal(p.platform, 'self-managed');
  assert.equal(p.label, 'self-managed');
  assert.equal(p.isManaged, false);
  assert.match(p.evidence.join('; '), /static pods in kube-system: kube-apiserver, etcd, kube-scheduler/);
  for (const c of ['kube-apiserver', 'etcd', 'kube-scheduler', 'kube-controller-manager'] as const) {
    assert.deepEqual(p.controlPlane[c], {
      visibility: 'visible',
      how: 'static-pod',
      object: `kube-system/${c}-sim-control-plane`,
    });
  }
  assert.deepEqual(p.controlPlane['cloud-controller-manager'], {
    visibility: 'absent',
    how: 'none',
    object: undefined,
  });
  assert.deepEqual(p.components, {
    'kube-apiserver': 'static-pod',
    etcd: 'static-pod',
    'kube-scheduler': 'static-pod',
    'kube-controller-manager': 'static-pod',
    'cloud-controller-manager': 'absent',
  });
  assert.deepEqual(p.kubeProxy, { state: 'present', replacedBy: undefined });
  assert.equal(p.isKubeProxyReplaced, false);
});

for (const [scenario, evidence, proxy] of [
  [
    'eks',
    [/version v1\.\d+\.\d+-eks-\S+ has the EKS suffix/, /node\(s\) labelled eks\.amazonaws\.com/, /aws:\/\//],
    'present',
  ],
  [
    'gke',
    [/version v1\.\d+\.\d+-gke\.\S+ has the GKE suffix/, /cloud\.google\.com\/gke-/, /gce:\/\//],
    'replaced',
  ],
  ['aks', [/node\(s\) labelled kubernetes\.azure\.com/, /azure:\/\//], 'present'],
] as const) {
  test(`${scenario}: detected with evidence; the control plane is provider-managed, not missing`, async () => {
    const p = await detect(scenario);
    assert.equal(p.platform, scenario);
    assert.equal(p.label, scenario.toUpperCase());
    assert.equal(p.isManaged, true);
    for (const e of evidence)
      assert.ok(
        p.evidence.some((x) => e.test(x)),
        `${e} in ${p.evidence.join('; ')}`,
      );
    assert.deepEqual(p.controlPlane['kube-apiserver'], {
      visibility: 'provider-managed',
      how: 'api',
      object: undefined,
    });
    assert.deepEqual(p.controlPlane.etcd, { visibility: 'provider-managed', how: 'none', object: undefined });
    // The provider leaves the leader-election Leases visible: that is all the monitor can see.
    for (const c of ['kube-scheduler', 'kube-controller-manager'] as const)
      assert.deepEqual(p.controlPlane[c], {
        visibility: 'provider-managed',
        how: 'lease-only',
        object: `kube-system/${c}`,
      });
    for (const c of ['kube-apiserver', 'etcd', 'kube-scheduler', 'kube-controller-manager'] as const)
      assert.equal(p.components[c], 'provider-managed', c);
    assert.equal(p.kubeProxy.state, proxy);
    assert.equal(p.isKubeProxyReplaced, scenario === 'gke');
    if (scenario === 'gke')
      assert.equal(p.kubeProxy.replacedBy, 'kube-system/anetd', 'GKE Dataplane V2 replaces kube-proxy');
  });
}

function view(objects: { kind: string; raw: Record<string, unknown> }[]): ClusterView {
  const v = new ClusterView();
  for (const { kind, raw } of objects) {
    const collector = COLLECTORS.find((c) => c.kind === kind)!;
    const record = collector.project({
      ...raw,
      metadata: {
        uid: `uid-${String((raw.metadata as { name: string }).name)}`,
        creationTimestamp: '2026-01-01T00:00:00Z',
        ...(raw.metadata as object),
      },
    });
    assert.ok(record, `${kind} projects`);
    (v.store(record.kind) as { upsert(r: typeof record): void }).upsert(record);
  }
  return v;
}

test('cloud VMs alone are not a managed control plane; nothing visible is "unknown"; kube-proxy absent is not replaced', () => {
  const onEc2 = view([
    {
      kind: 'Node',
      raw: { metadata: { name: 'ip-10-0-0-1' }, spec: { providerID: 'aws:///eu-west-1a/i-0abc' } },
    },
    {
      kind: 'Node',
      raw: {
        metadata: { name: 'cp-1', labels: { 'node-role.kubernetes.io/control-plane': '' } },
        spec: { providerID: 'aws:///eu-west-1a/i-0def' },
      },
    },
    {
      kind: 'Lease',
      raw: {
        metadata: { name: 'kube-scheduler', namespace: 'kube-system' },
        spec: { holderIdentity: 'cp-1_x' },
      },
    },
  ]);
  const p = detectPlatform(onEc2, 'v1.31.4');
  assert.equal(p.platform, 'self-managed');
  assert.match(p.evidence.join('; '), /1 control-plane node\(s\): cp-1/);
  assert.match(
    p.evidence.join('; '),
    /2 node\(s\) with aws:\/\/ provider IDs, but no managed control plane markers/,
  );
  assert.deepEqual(p.controlPlane['kube-scheduler'], {
    visibility: 'visible',
    how: 'lease-only',
    object: 'kube-system/kube-scheduler',
  });
  assert.equal(p.components['kube-scheduler'], 'lease-only');
  assert.deepEqual(p.controlPlane['kube-apiserver'], {
    visibility: 'visible',
    how: 'api',
    object: undefined,
  });
  assert.equal(p.kubeProxy.state, 'absent');

  const bare = detectPlatform(view([{ kind: 'Node', raw: { metadata: { name: 'n1' } } }]), undefined);
  assert.equal(bare.platform, 'unknown');
  assert.equal(bare.controlPlane.etcd.visibility, 'absent');

  const cilium = detectPlatform(
    view([{ kind: 'DaemonSet', raw: { metadata: { name: 'cilium', namespace: 'kube-system' }, spec: {} } }]),
    'v1.32.0',
  );
  assert.deepEqual(cilium.kubeProxy, { state: 'replaced', replacedBy: 'kube-system/cilium' });
});
