import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterView, Connection, Prober } from '../../src/cluster/index.js';
import { parseDeprecatedApis } from '../../src/cluster/probes/apiserver-metrics.js';
import type { Finding } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

const ours = (findings: readonly Finding[]): string[] =>
  findings
    .filter((f) => f.ruleId === 'deprecated-apis')
    .map((f) => `${f.key}:${f.level}`)
    .sort();

test('deprecated-apis: the deprecated-api fault is one Notice per API with its removal release; quiet on the demo and after heal', async (t) => {
  const j = await startJudged(t, { sim: { version: 'v1.32.2' } });
  assert.deepEqual(ours((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  assert.equal(j.watcher.view.probes.healthOf('apiserver-metrics').state, 'ok', 'the probe read /metrics');
  assert.deepEqual(j.watcher.view.probes.apiserverMetrics?.deprecatedApis, []);

  j.sim.faults.start({ name: 'deprecated-api', target: 'flowcontrol.apiserver.k8s.io/v1beta3/flowschemas' });
  j.sim.faults.start({ name: 'deprecated-api', target: 'policy/v1beta1/poddisruptionbudgets' });
  await j.advance(30_000);
  assert.deepEqual(ours(j.firing()), [
    'flowcontrol.apiserver.k8s.io/v1beta3/flowschemas:notice',
    'policy/v1beta1/poddisruptionbudgets:notice',
  ]);
  const flow = j.firing().find((f) => f.key === 'flowcontrol.apiserver.k8s.io/v1beta3/flowschemas')!;
  assert.equal(
    flow.title,
    'Deprecated API flowcontrol.apiserver.k8s.io/v1beta3 flowschemas is still in use (removed in 1.32)',
  );
  // The demo runs v1.32.2: the removal release is already reached.
  assert.match(flow.message, /Kubernetes 1\.32 removed it, yet this 1\.32 API server still serves it/);
  assert.equal(flow.facts.removedRelease, '1.32');
  assert.ok(flow.nextSteps.includes('kubectl get --raw /metrics | grep apiserver_requested_deprecated_apis'));
  assert.ok(flow.nextSteps.some((s) => s.includes('apiserver_request_total')));
  assert.ok(flow.nextSteps.some((s) => /pluto|kubent/.test(s)));

  j.sim.faults.heal();
  await j.advance(30_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved after heal');
});

test('deprecated-apis: the removal release is judged against the cluster version', async (t) => {
  const j = await startJudged(t, { sim: { version: 'v1.24.17' } });
  j.sim.faults.start({ name: 'deprecated-api', target: 'batch/v1beta1/cronjobs' });
  await j.advance(30_000);
  const f = j.firing().find((x) => x.ruleId === 'deprecated-apis')!;
  assert.match(f.message, /the next minor upgrade, to 1\.25, removes it/);
  assert.equal(f.facts.upgradesUntilRemoval, 1);
});

test('deprecated-apis: a 403 on /metrics makes the probe not-permitted and the rule silent', async (t) => {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          status: 'Failure',
          message: 'forbidden: User "healwatch" cannot get path "/metrics"',
          reason: 'Forbidden',
          code: 403,
        }),
      );
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const connection = Connection.fromString(
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: c, cluster: { server: "http://127.0.0.1:' +
        String(port) +
        '", insecure-skip-tls-verify: true } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
    ].join('\n'),
  );
  const view = new ClusterView();
  const prober = new Prober(connection, view, { timeoutMs: 2000 });
  t.after(() => prober.stop());
  await prober.runOnce(['apiserver-metrics']);
  const health = view.probes.healthOf('apiserver-metrics');
  assert.equal(health.state, 'not-permitted');
  assert.match(health.lastError ?? '', /403/);
  assert.equal(view.probes.apiserverMetrics, undefined, 'no reading for the rule to judge');
});

test('deprecated-apis: the /metrics parser keeps only the family, skips malformed and zero series', () => {
  const { apis, malformed } = parseDeprecatedApis([
    '# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs',
    '# TYPE apiserver_requested_deprecated_apis gauge',
    'apiserver_requested_deprecated_apis{group="policy",removed_release="1.25",resource="podsecuritypolicies",subresource="",version="v1beta1"} 1',
    'apiserver_requested_deprecated_apis{group="",removed_release="",resource="componentstatuses",subresource="",version="v1"} 1',
    'apiserver_requested_deprecated_apis{group="x",removed_release="1.30",resource="zeros",subresource="",version="v1"} 0',
    'apiserver_requested_deprecated_apis{group="broken,version="v1"} 1',
    'apiserver_requested_deprecated_apis_total{group="policy"} 5',
    'apiserver_request_total{code="200",group="policy",resource="poddisruptionbudgets",version="v1beta1"} 3',
  ]);
  assert.deepEqual(apis, [
    {
      group: 'policy',
      version: 'v1beta1',
      resource: 'podsecuritypolicies',
      subresource: '',
      removedRelease: '1.25',
    },
    { group: '', version: 'v1', resource: 'componentstatuses', subresource: '', removedRelease: undefined },
  ]);
  assert.equal(malformed, 1);
});
