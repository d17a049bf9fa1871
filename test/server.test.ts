import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Service, type ServiceCounters, type ServiceHealth } from '../src/app/service.js';
import { Connection } from '../src/cluster/index.js';
import { parseConfig } from '../src/config/config.js';
import { HealwatchError, type Finding, type Level } from '../src/domain/index.js';
import { parseListen, startServer, type HttpServer, type ServiceApi } from '../src/server/index.js';
import { startSimulator } from '../src/sim/index.js';
import { spawnCli } from './helpers/cli.js';

function finding(i: number, level: Level, namespace: string, ruleId: string): Finding {
  return {
    ruleId,
    level,
    object: { kind: 'Deployment', namespace, name: `app-${String(i).padStart(2, '0')}` },
    title: `finding ${i}`,
    loop: 'loop',
    message: 'message',
    evidence: [],
    nextSteps: [],
    facts: {},
  };
}

function stubHealth(ready: boolean): ServiceHealth {
  return {
    state: ready ? 'running' : 'syncing',
    synced: ready,
    ready,
    reason: ready ? undefined : 'initial sync in progress: pods',
    blindSpots: [],
    watches: [],
    probes: [],
    lastEvaluation: ready ? { at: 1000, durationMs: 5, findings: 0, muted: 0, errors: 0 } : undefined,
    ruleErrors: [],
    counters: stubCounters(),
  };
}

function stubCounters(): ServiceCounters {
  return {
    eventsProcessed: 7,
    evaluations: 3,
    evaluationSecondsTotal: 0.25,
    transitions: { opened: 1, fired: 1, 'level-changed': 0, resolved: 0, dropped: 0 },
  };
}

/** A stub service: 25 findings over two namespaces, levels and rules. */
function stub(state: { ready: boolean }): ServiceApi {
  const findings = Array.from({ length: 25 }, (_, i) =>
    finding(
      i,
      i % 5 === 0 ? 'alert' : i % 2 === 0 ? 'notice' : 'none',
      i < 10 ? 'shop' : 'web',
      i % 3 === 0 ? 'crashloop' : 'deployment-replicas',
    ),
  );
  return {
    health: () => stubHealth(state.ready),
    counters: stubCounters,
    findings: () => findings,
    muted: () => [],
    alerts: () => [],
    now: () => 1000,
  };
}

async function serve(t: TestContext, options: Parameters<typeof startServer>[0]): Promise<HttpServer> {
  const server = await startServer({ host: '127.0.0.1', port: 0, ...options });
  t.after(() => server.close());
  return server;
}

/** The fields the tests read from the JSON answers. */
interface Body {
  ready?: boolean;
  reason?: string;
  error?: string;
  status?: number;
  total?: number;
  offset?: number;
  items?: (Finding & { fingerprint: string })[];
  synced?: boolean;
  watches?: { resource: string }[];
  probes?: unknown[];
}

async function get(
  server: HttpServer,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; text: string; json: Body }> {
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  let json: Body = {};
  try {
    json = JSON.parse(text) as Body;
  } catch {
    // not JSON (/healthz, /metrics)
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Checks the Prometheus text format line by line; returns the samples by name and labels. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.match(meta[3]!, /^(counter|gauge|summary|histogram|untyped)$/);
        typed.add(meta[2]!);
      }
      continue;
    }
    const m =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(
        line,
      );
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const base = m[1]!.replace(/_(sum|count)$/, '');
    assert.ok(typed.has(m[1]!) || typed.has(base), `${m[1]} has no TYPE before it`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

test('server: /healthz, /readyz 503 while syncing then 200, JSON 404 and 405', async (t) => {
  const state = { ready: false };
  const server = await serve(t, { service: stub(state) });
  const health = await get(server, '/healthz');
  assert.equal(health.status, 200);
  const notReady = await get(server, '/readyz');
  assert.equal(notReady.status, 503);
  assert.equal(notReady.json.ready, false);
  assert.match(notReady.json.reason ?? '', /initial sync in progress/);
  state.ready = true;
  const ready = await get(server, '/readyz');
  assert.equal(ready.status, 200);
  assert.equal(ready.json.ready, true);
  const missing = await get(server, '/api/v1/nothing');
  assert.equal(missing.status, 404);
  assert.match(missing.json.error ?? '', /no such endpoint/);
  const post = await get(server, '/api/v1/findings', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal(post.json.status, 405);
});

test('server: /api/v1/findings pages with a total and filters by level, namespace and rule', async (t) => {
  const server = await serve(t, { service: stub({ ready: true }) });
  const all = await get(server, '/api/v1/findings');
  assert.equal(all.status, 200);
  assert.equal(all.json.total, 25);
  assert.equal(all.json.items!.length, 25);
  assert.equal(all.json.items![0]!.level, 'alert', 'most urgent first');
  assert.ok(typeof all.json.items![0]!.fingerprint === 'string');
  const p1 = await get(server, '/api/v1/findings?limit=10&offset=0');
  const p3 = await get(server, '/api/v1/findings?limit=10&offset=20');
  assert.equal(p1.json.items!.length, 10);
  assert.equal(p3.json.items!.length, 5);
  assert.equal(p3.json.total, 25);
  assert.equal(p3.json.offset, 20);
  const seen = new Set<string>();
  for (let offset = 0; offset < 25; offset += 10) {
    const p = await get(server, `/api/v1/findings?limit=10&offset=${offset}`);
    for (const f of p.json.items!) seen.add(f.fingerprint);
  }
  assert.equal(seen.size, 25, 'pages neither overlap nor skip');
  const alerts = await get(server, '/api/v1/findings?level=alert');
  assert.equal(alerts.json.total, 5);
  assert.ok(alerts.json.items!.every((f) => f.level === 'alert'));
  const shop = await get(server, '/api/v1/findings?namespace=shop&rule=crashloop');
  assert.deepEqual(shop.json.items!.map((f) => f.object.name).sort(), [
    'app-00',
    'app-03',
    'app-06',
    'app-09',
  ]);
  const two = await get(server, '/api/v1/findings?level=alert,notice');
  assert.equal(two.json.total, 5 + 10);
  const bad = await get(server, '/api/v1/findings?level=urgent');
  assert.equal(bad.status, 400);
  assert.match(bad.json.error ?? '', /level must be one of none, notice, alert/);
  const badLimit = await get(server, '/api/v1/findings?limit=-1');
  assert.equal(badLimit.status, 400);
});

test('server: a token protects everything but /healthz and /readyz, and is never echoed', async (t) => {
  const token = 'canary-token-8f3a1c';
  const server = await serve(t, { service: stub({ ready: true }), token });
  assert.equal((await get(server, '/healthz')).status, 200);
  assert.equal((await get(server, '/readyz')).status, 200);
  for (const path of ['/api/v1/findings', '/api/v1/alerts', '/api/v1/health', '/metrics', '/nope']) {
    const none = await get(server, path);
    assert.equal(none.status, 401, path);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="healwatch"/);
    const wrong = await get(server, path, { headers: { Authorization: 'Bearer wrong' } });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /invalid_token/);
    assert.ok(!wrong.text.includes(token) && !none.text.includes(token));
  }
  const ok = await get(server, '/api/v1/findings', { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  assert.ok(!ok.text.includes(token));
  assert.equal((await get(server, '/nope', { headers: { Authorization: `Bearer ${token}` } })).status, 404);
});

test('server: without a token it refuses a non-loopback address; --listen parses', async () => {
  await assert.rejects(
    startServer({ service: stub({ ready: true }), host: '0.0.0.0', port: 0 }),
    (e: unknown) =>
      e instanceof HealwatchError &&
      e.code === 'HW_ERR_USAGE' &&
      /refusing to listen on 0\.0\.0\.0/.test(e.message),
  );
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('9090'), { host: '127.0.0.1', port: 9090 });
  assert.throws(() => parseListen('localhost:http'), /--listen localhost:http: the port must be a number/);
  assert.throws(() => parseListen('::1:80'), /in brackets/);
});

test('server: on a real service, /readyz turns 200 and /metrics is Prometheus text with the counters', async (t) => {
  const sim = await startSimulator({ seed: 'server', bookmarkIntervalMs: 30, clock: 'manual', port: 0 });
  const service = new Service({
    connection: Connection.fromString(sim.kubeconfig()),
    config: parseConfig('{}', 'test-config'),
    now: () => sim.cluster.world.now(),
    debounceMs: 0,
    tickMs: 0,
    probeIntervalMs: 0,
  });
  t.after(async () => {
    await service.stop();
    await sim.close();
  });
  const server = await serve(t, { service });
  assert.equal((await get(server, '/readyz')).status, 503, 'not ready before start');
  await service.start();
  const ready = await get(server, '/readyz');
  assert.equal(ready.status, 200, ready.text);
  const health = await get(server, '/api/v1/health');
  assert.equal(health.json.synced, true);
  assert.ok(health.json.watches!.some((w) => w.resource.startsWith('pods')));
  assert.ok(health.json.probes!.length > 0);
  const alerts = await get(server, '/api/v1/alerts');
  assert.equal(alerts.status, 200);
  assert.equal(typeof alerts.json.total, 'number');
  const metrics = await get(server, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = parsePrometheus(metrics.text);
  assert.ok(samples.get('healwatch_events_processed_total')! > 0);
  assert.equal(samples.get('healwatch_rule_evaluations_total'), 1);
  assert.ok(samples.has('healwatch_rule_evaluation_seconds_sum'));
  assert.equal(samples.get('healwatch_rule_evaluation_seconds_count'), 1);
  assert.ok(samples.has('healwatch_alerts{state="firing",level="alert"}'));
  assert.equal(
    samples.get('healwatch_watch_up{resource="pods"}') ?? samples.get('healwatch_watch_up{resource="pods."}'),
    1,
  );
  assert.equal(samples.get('healwatch_ready'), 1);
});

test('cli: `healwatch run` serves on port 0, reloads on SIGHUP (keeping the old config if invalid), stops on SIGTERM with 0', async (t) => {
  const sim = await startSimulator({ seed: 'cli-run', clock: 'manual', port: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'hw-run-'));
  t.after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, sim.kubeconfig());
  const config = join(dir, 'healwatch.yaml');
  writeFileSync(config, 'rules:\n  crashloop:\n    level: alert\n');
  const cli = spawnCli(t, ['run', '--kubeconfig', kubeconfig, '--config', config, '--listen', '127.0.0.1:0']);
  const [, url] = await cli.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
  await cli.waitFor(/running: /);
  assert.equal((await fetch(`${url}/readyz`)).status, 200);
  assert.equal((await fetch(`${url}/api/v1/findings`)).status, 200, 'no token on loopback');

  writeFileSync(config, 'rules:\n  crashloop:\n    level: loud\n');
  cli.kill('SIGHUP');
  await cli.waitFor(
    /SIGHUP: .*healwatch\.yaml:3: rules\.crashloop\.level: .*keeping the previous configuration/,
  );
  writeFileSync(config, 'rules:\n  crashloop:\n    level: notice\n');
  cli.kill('SIGHUP');
  await cli.waitFor(/SIGHUP: reloaded /);

  cli.kill('SIGTERM');
  assert.equal(await cli.exited, 0, cli.stderr());
  assert.match(cli.stderr(), /SIGTERM: stopping\n.*stopped\n/s);
});

test('cli: `healwatch run` refuses a non-loopback address without a token, and never prints the token', async (t) => {
  const open = spawnCli(t, ['run', '--kubeconfig', '/nonexistent', '--listen', '0.0.0.0:0']);
  assert.equal(await open.exited, 2);
  assert.match(open.stderr(), /refusing to listen on 0\.0\.0\.0 without a token/);
  const dir = mkdtempSync(join(tmpdir(), 'hw-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'canary-secret-77d1\n');
  const bad = spawnCli(t, [
    'run',
    '--kubeconfig',
    join(dir, 'missing'),
    '--token-file',
    tokenFile,
    '--listen',
    '127.0.0.1:0',
  ]);
  assert.equal(await bad.exited, 1);
  assert.match(bad.stderr(), /HW_ERR_KUBECONFIG_INVALID/);
  assert.ok(!bad.stderr().includes('canary-secret-77d1'));
  const help = spawnCli(t, ['run', '--help']);
  assert.equal(await help.exited, 0);
});
