import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterWatcher, Connection, detectPlatform } from '../../src/cluster/index.js';
import { startSimulator } from '../../src/sim/index.js';

async function detect(scenario: 'demo' | 'eks' | 'gke' | 'aks'): Promise<ReturnType<typeof detectPlatform>> {
  const sim = await startSimulator({ port: 0, clock: 'manual', scenario, seed: `platform-${scenario}` });
  const watcher = new ClusterWatcher(Connection.fromString(sim.kubeconfig()), {
    kinds: ['Node', 'Pod', 'Lease', 'DaemonSet'],
  });
  try {
    await watcher.start();
    await watcher.synced();
    const version = await watcher.connection.getJson<{ gitVersion: string }>('/version');
    return detectPlatform(watcher.view, version.body.gitVersion);
  } finally {
    await watcher.stop();
    await sim.close();
  }
}

test('a self-managed cluster: the control plane is visible as static pods', async () => {
  const p = await detect('demo');
  assert.equal(p.platform, 'self-managed');
  assert.equal(p.isManaged, false);
  assert.deepEqual(p.components, {
    'kube-apiserver': 'static-pod',
    etcd: 'static-pod',
    'kube-scheduler': 'static-pod',
    'kube-controller-manager': 'static-pod',
    'cloud-controller-manager': 'absent',
  });
  assert.equal(p.isKubeProxyReplaced, false);
});

for (const [scenario, name, evidence] of [
  ['eks', 'eks', /version v1\.32\.\d+-eks-/],
  ['gke', 'gke', /cloud\.google\.com\/gke-/],
  ['aks', 'aks', /kubernetes\.azure\.com/],
] as const) {
  test(`${scenario}: detected, and the hidden control plane is provider-managed, not missing`, async () => {
    const p = await detect(scenario);
    assert.equal(p.platform, name);
    assert.equal(p.isManaged, true);
    assert.ok(
      p.evidence.some((e) => evidence.test(e)),
      p.evidence.join('; '),
    );
    for (const c of ['kube-apiserver', 'etcd', 'kube-scheduler', 'kube-controller-manager'] as const) {
      assert.equal(p.components[c], 'provider-managed', c);
    }
    assert.equal(
      p.isKubeProxyReplaced,
      scenario === 'gke',
      'GKE Dataplane V2 replaces kube-proxy with anetd',
    );
  });
}
