import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator } from '../../src/sim/index.js';
import { R } from '../../src/sim/api/resources.js';
import type { Node, Pod } from '../../src/sim/model.js';
import { defaultVersion } from '../../src/sim/scenario/builtin.js';

/** What the demo's /version reports today. */
const DEMO_VERSION = defaultVersion('kubeadm');

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return (await res.json()) as T;
}

test('the demo cluster: a self-managed control plane of static pods, workers in two zones, add-ons and apps', async () => {
  const sim = await startSimulator({ port: 0, clock: 'manual', seed: 'scenario-demo' });
  try {
    const store = sim.cluster.world.store;
    const nodes = store.list<Node>(R.nodes);
    assert.equal(nodes.length, 5);
    assert.deepEqual(
      new Set(nodes.map((n) => n.metadata.labels?.['topology.kubernetes.io/zone'])),
      new Set(['sim-zone-a', 'sim-zone-b']),
    );
    const kubeSystem = store.list<Pod>(R.pods, 'kube-system').map((p) => p.metadata.name);
    for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      assert.ok(kubeSystem.includes(`${c}-sim-control-plane`), `${c} static pod missing`);
    }
    const version = await json<{ gitVersion: string; minor: string }>(`${sim.url}/version`);
    assert.equal(version.gitVersion, DEMO_VERSION);
    assert.equal(`v1.${version.minor}.2`, DEMO_VERSION);
    const deployments = await json<{ items: { metadata: { namespace: string; name: string } }[] }>(
      `${sim.url}/apis/apps/v1/deployments`,
    );
    const names = deployments.items.map((d) => `${d.metadata.namespace}/${d.metadata.name}`);
    for (const d of [
      'kube-system/coredns',
      'kube-system/metrics-server',
      'kube-system/cluster-autoscaler',
      'shop/frontend',
      'payments/api',
      'ingress-nginx/ingress-nginx-controller',
    ]) {
      assert.ok(names.includes(d), `${d} missing`);
    }
    const daemonsets = await json<{ items: { metadata: { namespace: string; name: string } }[] }>(
      `${sim.url}/apis/apps/v1/daemonsets`,
    );
    assert.deepEqual(daemonsets.items.map((d) => `${d.metadata.namespace}/${d.metadata.name}`).sort(), [
      'kube-system/calico-node',
      'kube-system/kube-proxy',
      'logging/fluent-bit',
    ]);
    // Every pod of the healthy demo cluster runs and is ready, except finished CronJob runs.
    for (const pod of store.list<Pod>(R.pods)) {
      if (pod.status.phase === 'Succeeded') continue;
      assert.equal(pod.status.phase, 'Running', pod.metadata.name);
      assert.ok(
        pod.status.containerStatuses?.every((c) => c.ready),
        `${pod.metadata.name} not ready`,
      );
    }
    const leases = store
      .list(R.leases, 'kube-system')
      .map((l) => l.metadata.name)
      .sort();
    assert.deepEqual(leases, ['kube-controller-manager', 'kube-scheduler']);
    assert.equal(store.list(R.leases, 'kube-node-lease').length, 5);
  } finally {
    await sim.close();
  }
});

for (const [scenario, prefix, providerPrefix, versionPattern] of [
  ['eks', /^ip-10-0-\d+-\d+\.eu-west-1\.compute\.internal$/, 'aws:///eu-west-1', /^v1\.\d+\.\d+-eks-/],
  ['gke', /^gke-sim-default-pool-[0-9a-f]{8}-[a-z0-9]{4}$/, 'gce://sim-project/', /^v1\.\d+\.\d+-gke\./],
  ['aks', /^aks-nodepool1-\d{8}-vmss[0-9a-z]{6}$/, 'azure:///subscriptions/', /^v1\.\d+\.\d+$/],
] as const) {
  test(`the ${scenario} scenario: a managed control plane, provider nodes and version`, async () => {
    const sim = await startSimulator({ port: 0, clock: 'manual', scenario, seed: `scenario-${scenario}` });
    try {
      const store = sim.cluster.world.store;
      const nodes = store.list<Node>(R.nodes);
      assert.equal(nodes.length, 4, 'no control-plane node on a managed platform');
      for (const n of nodes) {
        assert.match(n.metadata.name, prefix);
        assert.ok(n.spec.providerID?.startsWith(providerPrefix), n.spec.providerID);
        assert.equal(n.metadata.labels?.['node-role.kubernetes.io/control-plane'], undefined);
      }
      const kubeSystem = store.list<Pod>(R.pods, 'kube-system').map((p) => p.metadata.name);
      assert.ok(
        !kubeSystem.some((n) => n.startsWith('kube-scheduler') || n.startsWith('etcd')),
        'control-plane pods must be hidden',
      );
      const version = await json<{ gitVersion: string; minor: string }>(`${sim.url}/version`);
      assert.match(version.gitVersion, versionPattern);
      // The provider's scheduler still works: a new replica gets a node.
      const res = await fetch(`${sim.url}/apis/apps/v1/namespaces/shop/deployments/frontend/scale`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: JSON.stringify({ spec: { replicas: 4 } }),
      });
      assert.equal(res.status, 200);
      sim.advance(30_000);
      const frontend = store.list<Pod>(R.pods, 'shop').filter((p) => p.metadata.name.startsWith('frontend-'));
      assert.equal(frontend.length, 4);
      assert.ok(frontend.every((p) => p.spec.nodeName));
      const ds = store.list(R.daemonsets, 'kube-system').map((d) => d.metadata.name);
      if (scenario === 'gke') {
        assert.ok(
          ds.includes('anetd') && !ds.includes('kube-proxy'),
          'GKE Dataplane V2 runs anetd instead of kube-proxy',
        );
      } else {
        assert.ok(ds.includes('kube-proxy'));
      }
    } finally {
      await sim.close();
    }
  });
}

test('the same seed builds the same cluster', async () => {
  const names = async (): Promise<string[]> => {
    const sim = await startSimulator({
      port: 0,
      clock: 'manual',
      seed: 'same',
      startTime: Date.UTC(2026, 10, 1),
    });
    try {
      return sim.cluster.world.store
        .list(R.pods)
        .map((p) => `${p.metadata.namespace}/${p.metadata.name}/${p.metadata.uid}`)
        .sort();
    } finally {
      await sim.close();
    }
  };
  assert.deepEqual(await names(), await names());
});
