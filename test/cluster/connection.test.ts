import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../src/cluster/index.js';
import { HealwatchError } from '../../src/domain/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { defaultVersion } from '../../src/sim/scenario/builtin.js';

/** What the demo's /version reports today. */
const DEMO_VERSION = defaultVersion('kubeadm');

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-conn-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const invalid = (pattern: RegExp) => (e: unknown) =>
  e instanceof HealwatchError && e.code === 'HW_ERR_KUBECONFIG_INVALID' && pattern.test(e.message);

test(
  'a missing or unreadable kubeconfig is one clear error naming the file',
  withDir((dir) => {
    assert.throws(
      () => Connection.load({ kubeconfig: join(dir, 'nope') }),
      invalid(/kubeconfig .*nope: no such file/),
    );
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: v1\nclusters: [\n');
    assert.throws(() => Connection.load({ kubeconfig: bad }), invalid(/bad\.yaml/));
  }),
);

test(
  'an unknown context lists the contexts; a bad server URL names the cluster',
  withDir(async (dir) => {
    const sim = await startSimulator({ port: 0, clock: 'manual', seed: 'conn' });
    try {
      const file = join(dir, 'config');
      writeFileSync(file, sim.kubeconfig());
      assert.throws(
        () => Connection.load({ kubeconfig: file, context: 'prod' }),
        invalid(/context "prod" not found; contexts: healwatch-sim/),
      );
      const ok = Connection.load({ kubeconfig: file, context: 'healwatch-sim' });
      assert.equal(ok.server.href, `${sim.url}/`);
      const version = await ok.getJson<{ gitVersion: string }>('/version');
      assert.equal(version.body.gitVersion, DEMO_VERSION);
      ok.close();
      writeFileSync(file, sim.kubeconfig().replace(sim.url, 'ftp://example.invalid'));
      assert.throws(() => Connection.load({ kubeconfig: file }), invalid(/server must be http\(s\)/));
    } finally {
      await sim.close();
    }
  }),
);

test('TLS is verified against the kubeconfig CA, and the client certificate authenticates', async () => {
  const sim = await startSimulator({
    port: 0,
    clock: 'manual',
    tls: true,
    token: 's3cret',
    seed: 'conn-tls',
  });
  try {
    const conn = Connection.fromString(sim.kubeconfig());
    const pods = await conn.getJson<{ items: unknown[] }>('/api/v1/namespaces/shop/pods');
    assert.equal(pods.status, 200);
    assert.ok(pods.body.items.length > 0);
    // The server's Date header comes from the simulated clock; the offset is measured on each answer.
    assert.ok(Math.abs(conn.serverClockOffsetMs) < 60_000);
    conn.close();
    // Without the CA, verification fails: TLS verification is on by default.
    const untrusted = Connection.fromString(
      sim.kubeconfig().replace(/\s+certificate-authority-data: \S+/, ''),
    );
    await assert.rejects(untrusted.get('/version'), /self[- ]signed|unable to verify|certificate/i);
    untrusted.close();
    const wrongToken = Connection.fromString(sim.kubeconfig({ token: 'wrong' }));
    assert.equal((await wrongToken.getJson('/api/v1/pods')).status, 401);
    wrongToken.close();
  } finally {
    await sim.close();
  }
});

test('in cluster: the service account token and CA authenticate and verify', async () => {
  const sim = await startSimulator({
    port: 0,
    clock: 'manual',
    tls: true,
    token: 'sa-token',
    seed: 'conn-incluster',
  });
  const root = mkdtempSync(join(tmpdir(), 'hw-sa-'));
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  try {
    const dir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'token'), 'sa-token');
    writeFileSync(join(dir, 'ca.crt'), sim.cluster.certificateAuthority!.cert);
    writeFileSync(join(dir, 'namespace'), 'monitoring');
    process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = String(sim.port);
    const conn = Connection.load({ inCluster: true, serviceAccountRoot: root });
    assert.equal(conn.source, 'in-cluster service account');
    const nodes = await conn.getJson<{ items: unknown[] }>('/api/v1/nodes');
    assert.equal(nodes.status, 200);
    assert.equal(nodes.body.items.length, 5);
    conn.close();
    writeFileSync(join(dir, 'token'), 'revoked');
    const revoked = Connection.load({ inCluster: true, serviceAccountRoot: root });
    assert.equal((await revoked.getJson('/api/v1/nodes')).status, 401);
    revoked.close();
  } finally {
    process.env.KUBERNETES_SERVICE_HOST = saved.host;
    process.env.KUBERNETES_SERVICE_PORT = saved.port;
    if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
    rmSync(root, { recursive: true, force: true });
    await sim.close();
  }
});
