import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ClusterView,
  ClusterWatcher,
  COLLECTORS,
  Connection,
  Prober,
  type ProberOptions,
} from '../../src/cluster/index.js';
import { parseHealthChecks, parseMetricsList, parseVersion } from '../../src/cluster/probes/api-probes.js';
import { parseKubeletCertificateTtls, parseSummary } from '../../src/cluster/probes/node-probes.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/index.js';
import { defaultVersion } from '../../src/sim/scenario/builtin.js';

/** What the demo's /version reports today. */
const DEMO_VERSION = defaultVersion('kubeadm');

const DAY = 86_400_000;

async function setup(
  t: TestContext,
  options: SimulatorOptions = {},
  proberOptions: Partial<ProberOptions> = {},
): Promise<{ sim: Simulator; view: ClusterView; connection: Connection; prober: Prober }> {
  const sim = await startSimulator({ port: 0, clock: 'manual', seed: 'probes', ...options });
  const watcher = new ClusterWatcher(Connection.fromString(sim.kubeconfig()), {
    kinds: ['Node', 'Pod', 'Namespace'],
  });
  await watcher.start();
  await watcher.synced();
  const prober = new Prober(watcher.connection, watcher.view, { timeoutMs: 5000, ...proberOptions });
  t.after(async () => {
    await prober.stop();
    await watcher.stop();
    await sim.close();
  });
  return { sim, view: watcher.view, connection: watcher.connection, prober };
}

/**
 * Wraps a connection's requests whose path matches, counting how many are in flight (from the request
 * until its body is closed) and when each started.
 */
function countRequests(
  connection: Connection,
  match: RegExp,
): { maxInFlight: () => number; starts: number[] } {
  const original = connection.get.bind(connection);
  let inFlight = 0;
  let max = 0;
  const starts: number[] = [];
  connection.get = async (path, spec) => {
    if (!match.test(path)) return original(path, spec);
    inFlight++;
    max = Math.max(max, inFlight);
    starts.push(Date.now());
    try {
      const res = await original(path, spec);
      res.body.once('close', () => inFlight--);
      return res;
    } catch (error) {
      inFlight--;
      throw error;
    }
  };
  return { maxInFlight: () => max, starts };
}

test('version: gitVersion, major/minor, and the server clock offset from the Date header', async (t) => {
  const { sim, view, prober } = await setup(t);
  await prober.runOnce(['version']);
  const v = view.probes.version;
  assert.ok(v);
  assert.equal(v.gitVersion, DEMO_VERSION);
  assert.equal(v.major, 1);
  assert.equal(`v1.${v.minor}.2`, DEMO_VERSION);
  assert.equal(v.suffix, undefined);
  assert.ok(Math.abs(v.serverClockOffsetMs) < 5000, `offset ${v.serverClockOffsetMs}`);
  assert.equal(view.probes.health.get('version')?.state, 'ok');
  // The manual clock does not follow real time: the offset follows the simulated Date header.
  sim.advance(10 * 60_000);
  await prober.runOnce(['version']);
  const later = view.probes.version;
  assert.ok(later);
  assert.ok(Math.abs(later.serverClockOffsetMs - 10 * 60_000) < 5000, `offset ${later.serverClockOffsetMs}`);
  assert.equal(later.serverAt - later.at, later.serverClockOffsetMs);
  const eks = await setup(t, { scenario: 'eks' });
  await eks.prober.runOnce(['version']);
  assert.match(eks.view.probes.version?.gitVersion ?? '', /^v1\.\d+\.\d+-eks-/);
  assert.equal(eks.view.probes.version?.vendor, 'eks');
  const eksMinor = Number(/^v1\.(\d+)\./.exec(eks.view.probes.version?.gitVersion ?? '')?.[1]);
  assert.equal(eks.view.probes.version?.minor, eksMinor, 'the minor "NN+" of a vendor build is NN');
});

test('readyz and livez per check, healthy and after apiserver-unready', async (t) => {
  const { sim, view, prober } = await setup(t);
  await prober.runOnce(['readyz', 'livez']);
  const p = view.probes;
  assert.equal(p.readyz?.isOk, true);
  assert.equal(p.readyz.status, 200);
  assert.ok(p.readyz.checks.length > 10);
  assert.ok(p.readyz.checks.every((c) => c.isOk));
  assert.ok(p.readyz.checks.some((c) => c.name === 'etcd-readiness'));
  assert.equal(p.livez?.isOk, true);
  assert.ok(p.livez.checks.some((c) => c.name === 'etcd'));
  sim.faults.start({ name: 'apiserver-unready' });
  await prober.runOnce(['readyz', 'livez']);
  assert.equal(p.readyz?.isOk, false);
  assert.equal(p.readyz.status, 500);
  assert.deepEqual(
    p.readyz.checks.filter((c) => !c.isOk).map((c) => `${c.name}: ${c.detail}`),
    ['etcd-readiness: failed: reason withheld'],
  );
  assert.equal(p.livez?.isOk, true, 'livez has no readiness check');
  assert.equal(p.health.get('readyz')?.state, 'ok', 'a failing check is a result, not a failing probe');
});

test('kubelet summaries per node; disk-fill shows; PVC usage; node-notready fails that node alone', async (t) => {
  const { sim, view, prober } = await setup(t);
  await prober.runOnce(['summary']);
  const p = view.probes;
  const nodes = view.list('Node').map((n) => n.name);
  assert.equal(nodes.length, 5);
  assert.deepEqual([...p.summaries.keys()].sort(), [...nodes].sort());
  for (const s of p.summaries.values()) {
    assert.ok(s.fs.capacityBytes! > 10 * 2 ** 30, `${s.node} fs capacity`);
    assert.ok(s.fs.usedBytes! > 0 && s.fs.usedBytes! < s.fs.capacityBytes!, `${s.node} fs used`);
    assert.ok(s.fs.availableBytes! > 0);
    assert.ok(s.imageFs.usedBytes! > 0 && s.imageFs.capacityBytes! > 0, `${s.node} image fs`);
    assert.ok(s.cpuNanoCores! > 0 && s.memoryWorkingSetBytes! > 0, `${s.node} usage`);
    assert.ok(s.serverAt > 0 && s.at > 0);
  }
  const pg = p.volume('shop', 'data-postgres-0');
  assert.ok(pg, 'the postgres PVC is reported');
  assert.equal(pg.pod, 'postgres-0');
  assert.equal(pg.capacityBytes, 20 * 2 ** 30);
  assert.ok(pg.usedBytes! > 0 && pg.usedBytes! < pg.capacityBytes);
  assert.equal(p.volumes().get('shop/data-postgres-0'), pg);
  assert.equal(pg.node, view.get('Pod', 'shop', 'postgres-0')?.nodeName);

  sim.faults.start({ name: 'disk-fill', target: 'sim-worker2', args: ['95'] });
  sim.faults.start({ name: 'node-notready', target: 'sim-worker3' });
  await prober.runOnce(['summary']);
  const full = p.summaries.get('sim-worker2')!;
  const ratio = full.fs.usedBytes! / full.fs.capacityBytes!;
  assert.ok(ratio >= 0.95 - 1e-9, `fs used ${(ratio * 100).toFixed(2)} %`);
  const failed = p.summaryErrors.get('sim-worker3');
  assert.ok(failed);
  assert.equal(failed.status, 503);
  assert.equal(failed.kind, 'failure');
  assert.match(failed.message, /HTTP 503/);
  assert.equal(p.summaries.has('sim-worker3'), false, 'no stale summary for the failed node');
  assert.equal(p.summaries.size, 4, 'the other nodes are still summarised');
  const health = p.health.get('summary')!;
  assert.equal(health.state, 'partial');
  assert.equal(health.consecutiveFailures, 0);
  assert.match(health.lastError ?? '', /1 of 5 node\(s\) failed: node sim-worker3 summary: HTTP 503/);
});

test('the summary probe keeps at most nodeConcurrency requests in flight, and spreads a scheduled pass', async (t) => {
  const { sim, view, connection } = await setup(t, { nodes: 24 });
  sim.faults.start({ name: 'api-slow', target: '30' });
  const counter = countRequests(connection, /\/proxy\/stats\/summary$/);
  const prober = new Prober(connection, view, { nodeConcurrency: 3, timeoutMs: 5000 });
  await prober.runOnce(['summary']);
  assert.equal(view.probes.summaries.size, 25);
  assert.equal(counter.starts.length, 25);
  assert.equal(counter.maxInFlight(), 3, 'three at a time, never all 25 at once');

  // On a schedule, the 25 starts spread over half the interval instead of going out back to back.
  const scheduled = new Prober(connection, view, {
    nodeConcurrency: 8,
    summaryMs: 2000,
    nodeSpread: 0.5,
    versionMs: 3_600_000,
    healthMs: 3_600_000,
    metricsMs: 3_600_000,
    kubeletCertificatesMs: 3_600_000,
    certificatesMs: 3_600_000,
  });
  counter.starts.length = 0;
  scheduled.start();
  t.after(() => scheduled.stop());
  while (counter.starts.length < 25) await new Promise((r) => setTimeout(r, 20));
  await scheduled.stop();
  const span = counter.starts.at(-1)! - counter.starts[0]!;
  // 1,000 ms over 25 nodes is one start every 40 ms: 24 gaps.
  assert.ok(span >= 24 * 40 * 0.9, `25 starts spanned ${span} ms`);
  assert.ok(counter.maxInFlight() <= 8);
});

test('metrics.k8s.io node and pod usage, and "unavailable" while metrics-server is down', async (t) => {
  const { sim, view, prober } = await setup(t);
  await prober.runOnce(['metrics']);
  const p = view.probes;
  assert.equal(p.metrics?.isAvailable, true);
  assert.equal(p.metrics.nodes.size, 5);
  const node = p.metrics.nodes.get('sim-worker')!;
  assert.ok(node.cpuMilli > 0 && node.memoryBytes > 2 ** 20, JSON.stringify(node));
  assert.ok(p.metrics.pods.get('shop/postgres-0')!.memoryBytes > 0);
  assert.equal(p.metrics.malformedItems, 0);
  assert.equal(p.health.get('metrics')?.state, 'ok');
  sim.faults.start({ name: 'addon-crash', target: 'kube-system/metrics-server' });
  sim.advance(60_000);
  await prober.runOnce(['metrics']);
  assert.equal(p.metrics?.isAvailable, false);
  assert.match(p.metrics.reason ?? '', /503/);
  assert.equal(p.metrics.nodes.size, 0);
  const health = p.health.get('metrics')!;
  assert.equal(health.state, 'unavailable');
  assert.equal(health.consecutiveFailures, 0, 'unavailable is not a failure loop');
});

test('certificates: serving (TLS handshake), kubeconfig client, kubelet TTLs; cert-expiry 5', async (t) => {
  const { sim, view, prober } = await setup(t, { tls: true });
  await prober.runOnce(['certificates', 'kubelet-certificates']);
  const certs = view.probes.certificates;
  const serving = certs.get('api-serving')!;
  assert.ok(serving, [...view.probes.health.values()].map((h) => h.lastError).join('; '));
  assert.equal(serving.source, 'tls-handshake');
  assert.equal(serving.isTrusted, true, serving.verifyError);
  assert.ok(Math.abs(serving.notAfter - serving.serverAt - 365 * DAY) < DAY, 'a year left');
  assert.ok(serving.notBefore! < serving.serverAt);
  assert.ok(serving.sans.includes('IP Address:127.0.0.1'), serving.sans.join(', '));
  assert.ok(serving.sans.includes('DNS:kubernetes.default.svc'));
  assert.ok(serving.issuer);
  const client = certs.get('kubeconfig-client')!;
  assert.equal(client.source, 'kubeconfig');
  assert.match(client.subject ?? '', /CN=kubernetes-admin/);
  assert.ok(Math.abs(client.notAfter - client.at - 344 * DAY) < DAY, 'kubeadm admin.conf: 344 days left');
  const kubelet = certs.get('kubelet-client/sim-worker')!;
  assert.ok(kubelet.notAfter - kubelet.serverAt > 30 * DAY);
  assert.equal(
    [...certs.values()].filter((c) => c.kind === 'kubelet-client').length,
    5,
    'one kubelet client certificate per node',
  );

  sim.faults.start({ name: 'cert-expiry', target: '5' });
  await prober.runOnce(['certificates', 'kubelet-certificates']);
  const days = (c: { notAfter: number; serverAt: number } | undefined): number =>
    c ? (c.notAfter - c.serverAt) / DAY : Number.NaN;
  assert.ok(Math.abs(days(certs.get('api-serving')) - 5) < 0.01, `serving ${days(certs.get('api-serving'))}`);
  for (const node of view.list('Node'))
    assert.ok(Math.abs(days(certs.get(`kubelet-client/${node.name}`)) - 5) < 0.01, node.name);

  // An expired certificate is still read, and says why it no longer verifies.
  sim.faults.start({ name: 'cert-expiry', target: '-2' });
  await prober.runOnce(['certificates']);
  const expired = certs.get('api-serving')!;
  assert.ok(Math.abs(days(expired) + 2) < 0.01);
  assert.equal(expired.isTrusted, false);
  assert.match(expired.verifyError ?? '', /expired/i);
});

test('a token kubeconfig has no client certificate; an http server no serving certificate', async (t) => {
  const tokenSim = await setup(t, { tls: true, token: 's3cret' });
  await tokenSim.prober.runOnce(['certificates']);
  assert.ok(tokenSim.view.probes.certificates.get('api-serving'));
  assert.equal(tokenSim.view.probes.certificates.has('kubeconfig-client'), false);
  const health = tokenSim.view.probes.health.get('certificates')!;
  assert.equal(health.state, 'ok');
  assert.match(health.note ?? '', /does not authenticate with a client certificate/);
  const plain = await setup(t);
  await plain.prober.runOnce(['certificates']);
  assert.equal(plain.view.probes.certificates.size, 0);
  assert.match(plain.view.probes.health.get('certificates')?.note ?? '', /http/);
});

/** A fake API server whose answers a test sets per path. */
async function fakeServer(
  t: TestContext,
  answer: (path: string) => { status: number; body: string },
): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const a = answer(req.url ?? '');
    res.writeHead(a.status, { 'Content-Type': 'application/json' });
    res.end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function kubeconfigFor(url: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    `  cluster: {server: "${url}", insecure-skip-tls-verify: true}`,
    'contexts:',
    '- name: fake',
    '  context: {cluster: fake, user: fake}',
    'current-context: fake',
    'users:',
    '- name: fake',
    '  user: {token: t}',
    '',
  ].join('\n');
}

function viewWithNodes(count: number): ClusterView {
  const view = new ClusterView();
  const nodes = COLLECTORS.find((c) => c.kind === 'Node')!;
  for (let i = 0; i < count; i++) {
    const record = nodes.project({
      metadata: { name: `node-${i}`, uid: `uid-${i}`, creationTimestamp: '2026-01-01T00:00:00Z' },
    });
    if (record?.kind === 'Node') view.store('Node').upsert(record);
  }
  return view;
}

test('malformed answers are errors in the probe health; 403 on the node proxy is "not permitted", not a loop', async (t) => {
  const fake = await fakeServer(t, (path) => {
    if (path.startsWith('/version')) return { status: 200, body: '{"major":"1"}' };
    if (path.startsWith('/readyz')) return { status: 500, body: 'something broke' };
    if (path.startsWith('/livez')) return { status: 403, body: '{"kind":"Status","message":"forbidden"}' };
    if (path.startsWith('/apis/metrics.k8s.io')) return { status: 200, body: '{"items": 5}' };
    if (path.endsWith('/proxy/stats/summary'))
      return {
        status: 403,
        body: '{"kind":"Status","message":"nodes \\"x\\" is forbidden: cannot get resource \\"nodes/proxy\\""}',
      };
    if (path.endsWith('/proxy/metrics'))
      return { status: 200, body: 'kubelet_certificate_manager_client_ttl_seconds soon\n' };
    return { status: 404, body: '{}' };
  });
  const view = viewWithNodes(40);
  const connection = Connection.fromString(kubeconfigFor(fake.url));
  t.after(() => connection.close());
  const prober = new Prober(connection, view, {
    nodeConcurrency: 4,
    timeoutMs: 2000,
    versionMs: 50,
    healthMs: 50,
    metricsMs: 50,
    summaryMs: 50,
    kubeletCertificatesMs: 3_600_000,
    certificatesMs: 3_600_000,
    notPermittedRetryMs: 3_600_000,
  });
  await prober.runOnce();
  const health = (name: string): { state: string; lastError: string | undefined; failures: number } => {
    const h = view.probes.health.get(name)!;
    return { state: h.state, lastError: h.lastError, failures: h.consecutiveFailures };
  };
  assert.deepEqual(health('version'), {
    state: 'failing',
    lastError: '/version: malformed answer (no gitVersion)',
    failures: 1,
  });
  assert.equal(view.probes.version, undefined);
  assert.equal(health('readyz').state, 'failing');
  assert.match(health('readyz').lastError ?? '', /HTTP 500 without check lines/);
  assert.equal(health('livez').state, 'not-permitted');
  assert.equal(health('metrics').state, 'failing');
  assert.match(health('metrics').lastError ?? '', /malformed answer \(no items array\)/);
  assert.equal(health('kubelet-certificates').state, 'failing');
  assert.match(
    health('kubelet-certificates').lastError ?? '',
    /malformed kubelet_certificate_manager_client_ttl_seconds/,
  );
  const summary = health('summary');
  assert.equal(summary.state, 'not-permitted');
  assert.equal(summary.failures, 0);
  assert.match(summary.lastError ?? '', /HTTP 403 .*nodes\/proxy.*\(not permitted\)/);
  const summaryRequests = (): number => fake.requests.filter((r) => r.endsWith('/stats/summary')).length;
  assert.ok(summaryRequests() <= 4, `the pass stops at the first 403: ${summaryRequests()} requests`);
  assert.equal(view.probes.summaryErrors.get('node-0')?.kind, 'not-permitted');

  // On a schedule, failing probes retry on their interval; the not-permitted one waits its long retry.
  const before = summaryRequests();
  const versionBefore = fake.requests.filter((r) => r === '/version').length;
  prober.start();
  await new Promise((r) => setTimeout(r, 400));
  await prober.stop();
  assert.ok(summaryRequests() - before <= 4, 'one pass at start, then it waits');
  assert.ok(fake.requests.filter((r) => r === '/version').length - versionBefore >= 3);
  assert.ok(health('version').failures >= 3);
});

test('parsers: versions with vendor suffixes, verbose health text, metrics lists, summaries, kubelet TTLs', () => {
  const stamps = { at: 1, serverAt: 2 };
  const gke = parseVersion({ gitVersion: 'v1.32.4-gke.1234000', major: '1', minor: '32+' }, stamps);
  assert.deepEqual([gke.major, gke.minor, gke.suffix, gke.vendor], [1, 32, '-gke.1234000', 'gke']);
  assert.throws(() => parseVersion('oops', stamps), /malformed/);
  assert.throws(() => parseVersion({ gitVersion: 'latest' }, stamps), /malformed/);
  assert.deepEqual(
    parseHealthChecks(
      '[+]ping ok\n[+]informer-sync excluded: ok\n[-]etcd failed: reason withheld\nreadyz check failed\n',
    ),
    [
      { name: 'ping', isOk: true, detail: 'ok' },
      { name: 'informer-sync', isOk: true, detail: 'excluded: ok' },
      { name: 'etcd', isOk: false, detail: 'failed: reason withheld' },
    ],
  );
  const pods = parseMetricsList(
    'pods',
    {
      items: [
        {
          metadata: { name: 'a', namespace: 'x' },
          containers: [
            { usage: { cpu: '250m', memory: '1Gi' } },
            { usage: { cpu: '1500000n', memory: '512Ki' } },
          ],
        },
        { metadata: { name: 'b', namespace: 'x' }, containers: [{ usage: { cpu: 'lots', memory: '1Gi' } }] },
        { metadata: { name: 'c' }, containers: [] },
        7,
      ],
    },
    'pods',
  );
  assert.deepEqual(pods.usage.get('x/a'), { cpuMilli: 251.5, memoryBytes: 2 ** 30 + 512 * 1024 });
  assert.equal(pods.usage.size, 1);
  assert.equal(pods.malformed, 3);
  assert.throws(() => parseMetricsList('nodes', { items: {} }, 'nodes'), /no items array/);
  assert.throws(() => parseSummary('n', { pods: [] }, stamps), /no "node" section/);
  assert.throws(() => parseSummary('n', { node: {}, pods: 'x' }, stamps), /not a list/);
  const sparse = parseSummary(
    'n',
    { node: { fs: { usedBytes: -1, capacityBytes: 'big' } }, pods: [null, { podRef: {} }] },
    stamps,
  );
  assert.deepEqual(sparse.fs, { usedBytes: undefined, capacityBytes: undefined, availableBytes: undefined });
  assert.deepEqual(sparse.volumes, []);
  assert.deepEqual(
    parseKubeletCertificateTtls(
      'n',
      '# HELP x\nkubelet_certificate_manager_client_ttl_seconds 3600\nkubelet_certificate_manager_server_ttl_seconds +Inf\n',
    ),
    [{ kind: 'kubelet-client', ttlSeconds: 3600 }],
  );
  assert.deepEqual(parseKubeletCertificateTtls('n', 'up 1\n'), []);
});
