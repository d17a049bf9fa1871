import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  ALERTMANAGER_VALID_MS,
  alertmanagerAlerts,
  alertmanagerConfigSchema,
  alertmanagerNotifier,
  alertmanagerTarget,
  sanitizeLabelName,
  type AlertmanagerConfig,
} from '../../src/notify/receivers/alertmanager/index.js';
import type { Notifier } from '../../src/notify/types.js';
import { startCaptureServer, type CaptureServer } from '../helpers/receiver.js';
import { sampleAlert, sampleDelivery, sampleNotice } from '../helpers/notifications.js';

let server: CaptureServer;
before(async () => {
  server = await startCaptureServer({ status: 200, body: '' });
});
after(async () => {
  await server.close();
});

function config(over: Record<string, unknown> = {}): AlertmanagerConfig {
  return alertmanagerNotifier.schema.parse({ name: 'am', type: 'alertmanager', url: server.url, ...over });
}

async function deliver(cfg: AlertmanagerConfig, delivery = sampleDelivery()) {
  const before = server.requests.length;
  const result = await alertmanagerNotifier.create(cfg).send(delivery);
  return { result, requests: server.requests.slice(before) };
}

describe('alertmanager config', () => {
  test('is a Notifier of type alertmanager that sends all alerts at once, every minute', () => {
    const all: readonly Notifier[] = [alertmanagerNotifier];
    assert.equal(all[0]!.type, 'alertmanager');
    assert.equal(alertmanagerNotifier.batching, 'all');
    assert.equal(alertmanagerNotifier.resendEveryMs, 60_000);
  });

  test('rejects unknown fields, bad URLs, bad label names and two ways to authenticate', () => {
    const base = { name: 'am', type: 'alertmanager', url: 'http://alertmanager.monitoring:9093' };
    for (const bad of [
      { ...base, url: undefined },
      { ...base, url: 'alertmanager:9093' },
      { ...base, url: 'ftp://alertmanager:9093' },
      { ...base, headers: {} },
      { ...base, extraLabels: { 'team-name': 'x' } },
      { ...base, extraLabels: { '1team': 'x' } },
      { ...base, extraLabels: { __name__: 'x' } },
      { ...base, extraLabels: { alertname: 'x' } },
      { ...base, extraLabels: { severity: 'x' } },
      { ...base, extraLabels: { team: '' } },
      { ...base, extraLabels: { team: 1 } },
      { ...base, basicAuth: { username: 'u' } },
      { ...base, basicAuth: { username: 'u', password: { file: '/dev/null' } } },
      { ...base, basicAuth: { username: 'u', password: 'p', realm: 'x' } },
      { ...base, basicAuth: { username: 'u', password: 'pass' }, bearerToken: 'tok-1234' },
      { ...base, url: 'http://u:pass@am:9093', bearerToken: 'tok-1234' },
      { ...base, url: 'http://u:pass@am:9093', basicAuth: { username: 'u', password: 'pass' } },
      { ...base, timeout: '10m' },
    ])
      assert.equal(alertmanagerNotifier.schema.safeParse(bad).success, false, JSON.stringify(bad));
    const ok = alertmanagerNotifier.schema.parse({
      ...base,
      extraLabels: { team: 'platform', env: 'prod' },
      basicAuth: { username: 'u', password: 'pw-5678' },
      timeout: '3s',
    });
    assert.deepEqual(ok.extraLabels, { team: 'platform', env: 'prod' });
  });

  test('the request goes to <url>/api/v2/alerts, with a route prefix and without credentials', () => {
    const parse = (over: Record<string, unknown>) =>
      alertmanagerTarget(alertmanagerNotifier.schema.parse({ name: 'am', type: 'alertmanager', ...over }));
    assert.deepEqual(parse({ url: 'http://am:9093' }), { url: 'http://am:9093/api/v2/alerts' });
    assert.deepEqual(parse({ url: 'https://example.com/alertmanager/' }), {
      url: 'https://example.com/alertmanager/api/v2/alerts',
    });
    assert.deepEqual(parse({ url: 'https://bob:s%40cret@am.example/' }), {
      url: 'https://am.example/api/v2/alerts',
      authorization: `Basic ${Buffer.from('bob:s@cret').toString('base64')}`,
    });
    assert.deepEqual(
      parse({ url: 'http://am:9093', basicAuth: { username: 'alice', password: 'pw-1234' } }),
      {
        url: 'http://am:9093/api/v2/alerts',
        authorization: `Basic ${Buffer.from('alice:pw-1234').toString('base64')}`,
      },
    );
    assert.deepEqual(parse({ url: 'http://am:9093', bearerToken: 'tok-1234' }), {
      url: 'http://am:9093/api/v2/alerts',
      authorization: 'Bearer tok-1234',
    });
  });
});

describe('alertmanager payload', () => {
  test('a firing Alert: labels, annotations, startsAt, endsAt four minutes ahead, generatorURL', async () => {
    const delivery = sampleDelivery([sampleAlert()], { dashboardUrl: 'https://healwatch.example/' });
    const { result, requests } = await deliver(config(), delivery);
    assert.deepEqual(result, { ok: true, detail: 'HTTP 200' });
    assert.equal(requests.length, 1);
    const r = requests[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/api/v2/alerts');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers.authorization, undefined);
    assert.deepEqual(r.json, [
      {
        labels: {
          alertname: 'control-plane',
          severity: 'critical',
          healwatch_level: 'alert',
          namespace: 'kube-system',
          kind: 'Pod',
          name: 'kube-scheduler-sim-control-plane',
          cluster: 'sim',
          object: 'Pod/kube-system/kube-scheduler-sim-control-plane',
        },
        annotations: {
          summary: 'kube-scheduler is not running',
          description: 'The kube-scheduler Lease was last renewed 95 s ago; 3 pods wait for a node.',
          loop: 'Scheduling: new and replacement pods stay Pending until the scheduler runs again.',
          evidence:
            'Lease kube-system/kube-scheduler renewed 95 s ago\nPod shop/cart-7d9f: FailedScheduling x3',
          next_steps:
            'kubectl -n kube-system get pods -l component=kube-scheduler\nkubectl -n kube-system logs kube-scheduler-sim-control-plane',
          facts: 'component=kube-scheduler',
          healwatch_fingerprint: 'control-plane|Pod/kube-system/kube-scheduler-sim-control-plane',
        },
        startsAt: '2026-11-27T03:12:00.000Z',
        endsAt: new Date(delivery.now + ALERTMANAGER_VALID_MS).toISOString(),
        generatorURL: 'https://healwatch.example/',
      },
    ]);
  });

  test('a Notice is severity warning; key is a label; resolved alerts end at endsAt', () => {
    const notice = sampleNotice();
    const resolved = sampleAlert({
      status: 'resolved',
      reason: 'resolved',
      endsAt: notice.startsAt + 30_000,
    });
    const out = alertmanagerAlerts(sampleDelivery([notice, resolved]));
    assert.equal(out.length, 2);
    assert.equal(out[0]!.labels.severity, 'warning');
    assert.equal(out[0]!.labels.healwatch_level, 'notice');
    assert.equal(out[0]!.labels.key, 'app');
    assert.equal(out[0]!.labels.alertname, 'crashloop');
    assert.equal('generatorURL' in out[0]!, false);
    // Facts are not labels (they change while the alert fires); they are an annotation.
    assert.equal(out[0]!.labels.pod, undefined);
    assert.equal(out[0]!.annotations.facts, 'pod=cart-7d9f\ncontainer=app');
    assert.equal(out[1]!.labels.severity, 'critical');
    assert.equal(out[1]!.endsAt, '2026-11-27T03:12:30.000Z');
    // endsAt is never before startsAt (Alertmanager rejects that).
    const odd = alertmanagerAlerts(
      sampleDelivery([sampleAlert({ status: 'resolved', reason: 'resolved', endsAt: notice.startsAt - 5 })]),
    );
    assert.equal(odd[0]!.endsAt, odd[0]!.startsAt);
    // Nor a generatorURL that is not a URI (Alertmanager answers 422).
    const bad = alertmanagerAlerts(sampleDelivery([sampleAlert()], { dashboardUrl: 'not a url' }));
    assert.equal('generatorURL' in bad[0]!, false);
  });

  test('label names are sanitised, empty values left out, extra labels added without overriding', () => {
    const a = sampleAlert({
      labels: {
        ...sampleAlert().labels,
        'app.kubernetes.io/name': 'cart',
        '9lives': 'x',
        empty: '',
        'a-b': 'first',
        a_b: 'second',
        ünïcode: 'u',
      },
    });
    const [out] = alertmanagerAlerts(sampleDelivery([a]), { team: 'platform', cluster: 'ignored' });
    const labels = out!.labels;
    assert.equal(labels.app_kubernetes_io_name, 'cart');
    assert.equal(labels._9lives, 'x');
    assert.equal('empty' in labels, false);
    assert.equal('key' in labels, false);
    assert.equal(labels.a_b, 'first');
    assert.equal(labels._n_code, 'u');
    assert.equal(labels.team, 'platform');
    assert.equal(labels.cluster, 'sim');
    assert.equal(labels.rule, undefined);
    assert.equal(labels.level, undefined);
    for (const name of Object.keys(labels)) assert.match(name, /^[a-zA-Z_][a-zA-Z0-9_]*$/);
    for (const value of Object.values(labels)) assert.notEqual(value, '');
    assert.equal(sanitizeLabelName(''), undefined);
    assert.equal(sanitizeLabelName('ok'), 'ok');
    assert.equal(sanitizeLabelName('1'), '_1');
  });

  test('without a cluster name, the cluster label comes from extraLabels or is left out', () => {
    const a = sampleAlert({ labels: { ...sampleAlert().labels, cluster: '' } });
    const delivery = sampleDelivery([a], { cluster: '' });
    assert.equal(alertmanagerAlerts(delivery)[0]!.labels.cluster, undefined);
    assert.equal(alertmanagerAlerts(delivery, { cluster: 'prod' })[0]!.labels.cluster, 'prod');
  });

  test('a level change resolves the alert with the previous severity in the same request', () => {
    const escalated = sampleNotice({ level: 'alert', reason: 'level-changed', previousLevel: 'notice' });
    const delivery = sampleDelivery([escalated]);
    const out = alertmanagerAlerts(delivery);
    assert.equal(out.length, 2);
    assert.equal(out[0]!.labels.severity, 'critical');
    assert.equal(out[0]!.endsAt, new Date(delivery.now + ALERTMANAGER_VALID_MS).toISOString());
    assert.equal(out[1]!.labels.severity, 'warning');
    assert.equal(out[1]!.labels.healwatch_level, 'notice');
    assert.equal(out[1]!.endsAt, new Date(delivery.now).toISOString());
    const { severity: _a, healwatch_level: _b, ...rest0 } = out[0]!.labels;
    const { severity: _c, healwatch_level: _d, ...rest1 } = out[1]!.labels;
    assert.deepEqual(rest0, rest1);
  });

  test('auth headers: from the URL, basicAuth or bearerToken', async () => {
    const port = new URL(server.url).port;
    let { requests } = await deliver(config({ url: `http://am-user:am-pass-1@127.0.0.1:${port}/` }));
    assert.equal(
      requests[0]!.headers.authorization,
      `Basic ${Buffer.from('am-user:am-pass-1').toString('base64')}`,
    );
    assert.equal(requests[0]!.path, '/api/v2/alerts');
    ({ requests } = await deliver(config({ basicAuth: { username: 'u2', password: 'p2-secret' } })));
    assert.equal(
      requests[0]!.headers.authorization,
      `Basic ${Buffer.from('u2:p2-secret').toString('base64')}`,
    );
    ({ requests } = await deliver(config({ bearerToken: 'bearer-token-1' })));
    assert.equal(requests[0]!.headers.authorization, 'Bearer bearer-token-1');
  });
});

describe('alertmanager answers', () => {
  test('400 is not retryable; 429 and 5xx are', async () => {
    for (const [status, retryable] of [
      [400, false],
      [422, false],
      [429, true],
      [500, true],
      [503, true],
    ] as const) {
      server.script({ status, body: `{"code":${status},"message":"start time must be before end time"}` });
      const { result } = await deliver(config());
      assert.ok(!result.ok, `${status}`);
      assert.equal(result.retryable, retryable, `${status}`);
      assert.match(result.error, new RegExp(`^HTTP ${status}: `));
    }
  });

  test('no error ever holds the URL, password or token (canary)', async () => {
    const canary = 'CANARY-SECRET-123';
    const port = new URL(server.url).port;
    const token = Buffer.from(`am-user:${canary}`).toString('base64');
    const cases: [AlertmanagerConfig, string][] = [
      [config({ url: `http://am-user:${canary}@127.0.0.1:${port}` }), `Basic ${token}`],
      [config({ basicAuth: { username: 'am-user', password: canary } }), `Basic ${token}`],
      [config({ bearerToken: canary }), `Bearer ${canary}`],
      [config({ url: `http://127.0.0.1:${port}/${canary}/` }), ''],
    ];
    for (const [cfg, header] of cases) {
      const echoes = [
        `bad request from ${cfg.url.reveal()}: authorization ${header}`,
        `{"url":"http://127.0.0.1:${port}/api/v2/alerts","password":"${canary}"}`,
        `http://127.0.0.1:${port}/${canary}/api/v2/alerts ${encodeURIComponent(canary)} ${token}`,
      ];
      for (const echo of echoes) {
        server.script({ status: 400, body: echo });
        const { result, requests } = await deliver(cfg);
        if (header) assert.equal(requests[0]!.headers.authorization, header, 'the credentials are sent');
        assert.ok(!result.ok);
        assert.ok(!result.error.includes('CANARY'), result.error);
        assert.ok(!result.error.includes(token), result.error);
        assert.match(result.error, /<secret>/);
      }
    }
    // A network error does not show the URL either.
    const gone = await startCaptureServer();
    await gone.close();
    const cfg = config({ url: `http://am-user:${canary}@${new URL(gone.url).host}/` });
    const result = await alertmanagerNotifier.create(cfg).send(sampleDelivery());
    assert.deepEqual(result, { ok: false, retryable: true, error: 'connection refused' });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Against a real Alertmanager (Debian's prometheus-alertmanager; CI installs it with apt).

function findAlertmanager(): string | undefined {
  const dirs = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const dir of dirs)
    for (const name of ['prometheus-alertmanager', 'alertmanager']) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  return undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface WebhookAlert {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface Webhook {
  status: string;
  alerts: WebhookAlert[];
}
interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  endsAt: string;
}

describe('a real Alertmanager', () => {
  const bin = findAlertmanager();
  let dir = '';
  let am: ChildProcess | undefined;
  let amUrl = '';
  let hook: CaptureServer | undefined;
  let log = '';

  before(async () => {
    if (!bin) return;
    hook = await startCaptureServer({ status: 200, body: 'ok' });
    dir = mkdtempSync(join(tmpdir(), 'healwatch-am-'));
    const config = join(dir, 'alertmanager.yml');
    writeFileSync(
      config,
      [
        'route:',
        '  receiver: capture',
        "  group_by: ['alertname']",
        '  group_wait: 1s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: capture',
        '    webhook_configs:',
        `      - url: ${hook.url}/hook`,
        '        send_resolved: true',
        '',
      ].join('\n'),
    );
    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    am = spawn(
      bin,
      [
        `--config.file=${config}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--cluster.listen-address=',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-8000);
    };
    am.stdout?.on('data', keep);
    am.stderr?.on('data', keep);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (am.exitCode !== null) throw new Error(`alertmanager exited (${am.exitCode}):\n${log}`);
      try {
        const res = await fetch(`${amUrl}/-/ready`);
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`alertmanager not ready after 30 s:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    if (am && am.exitCode === null) {
      const exited = new Promise((resolve) => am!.once('exit', resolve));
      am.kill('SIGTERM');
      const timer = setTimeout(() => am!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await hook?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Alertmanager's active alerts. */
  async function activeAlerts(): Promise<ApiAlert[]> {
    const res = await fetch(`${amUrl}/api/v2/alerts`);
    assert.equal(res.status, 200);
    return (await res.json()) as ApiAlert[];
  }

  /** Waits until the webhook has received a notification that `match` accepts. */
  async function webhook(match: (w: Webhook) => boolean, timeoutMs = 20_000): Promise<Webhook> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = hook!.requests.map((r) => r.json as Webhook).find((w) => w && match(w));
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(
          `no such webhook within ${timeoutMs} ms; got ${JSON.stringify(hook!.requests.map((r) => r.json))}\n${log}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  test('takes a firing alert, notifies with our labels and annotations, then resolves it', async (t) => {
    if (!bin) return t.skip('prometheus-alertmanager not installed');
    const cfg = alertmanagerNotifier.schema.parse({
      name: 'am',
      type: 'alertmanager',
      url: `${amUrl}/`,
      extraLabels: { team: 'platform' },
    });
    const sender = alertmanagerNotifier.create(cfg);
    const now = Date.now();
    const firing = sampleAlert({
      startsAt: now - 120_000,
      labels: {
        ...sampleAlert().labels,
        'app.kubernetes.io/part-of': 'control plane',
        ünïcode: 'välue ✓',
        empty: '',
      },
    });
    const sent = await sender.send(
      sampleDelivery([firing], { now, dashboardUrl: 'https://healwatch.example/' }),
    );
    assert.deepEqual(sent, { ok: true, detail: 'HTTP 200' });

    const listed = (await activeAlerts()).filter((a) => a.labels.alertname === 'control-plane');
    assert.equal(listed.length, 1, JSON.stringify(listed));
    assert.equal(listed[0]!.status.state, 'active');
    assert.deepEqual(listed[0]!.labels, {
      alertname: 'control-plane',
      severity: 'critical',
      healwatch_level: 'alert',
      namespace: 'kube-system',
      kind: 'Pod',
      name: 'kube-scheduler-sim-control-plane',
      cluster: 'sim',
      object: 'Pod/kube-system/kube-scheduler-sim-control-plane',
      app_kubernetes_io_part_of: 'control plane',
      _n_code: 'välue ✓',
      team: 'platform',
    });
    assert.equal(listed[0]!.annotations.summary, 'kube-scheduler is not running');
    assert.equal(Date.parse(listed[0]!.endsAt), now + ALERTMANAGER_VALID_MS);

    const fired = await webhook(
      (w) => w.status === 'firing' && w.alerts.some((a) => a.labels.alertname === 'control-plane'),
    );
    const a = fired.alerts.find((x) => x.labels.alertname === 'control-plane')!;
    assert.equal(a.status, 'firing');
    assert.equal(a.labels.severity, 'critical');
    assert.equal(a.labels.team, 'platform');
    assert.equal(a.annotations.loop, firing.loop);
    assert.equal(a.annotations.description, firing.message);
    assert.equal(a.annotations.next_steps, firing.nextSteps.join('\n'));
    assert.equal(a.annotations.healwatch_fingerprint, firing.fingerprint);

    const resolved = sampleAlert({
      ...firing,
      status: 'resolved',
      reason: 'resolved',
      endsAt: Date.now(),
    });
    assert.deepEqual(await sender.send(sampleDelivery([resolved], { now: Date.now() })), {
      ok: true,
      detail: 'HTTP 200',
    });
    const done = await webhook(
      (w) => w.status === 'resolved' && w.alerts.some((x) => x.labels.alertname === 'control-plane'),
    );
    assert.equal(done.alerts[0]!.status, 'resolved');
    assert.equal(done.alerts[0]!.labels.name, 'kube-scheduler-sim-control-plane');
    assert.equal((await activeAlerts()).filter((x) => x.labels.alertname === 'control-plane').length, 0);
  });

  test('a level change replaces the warning with a critical alert', async (t) => {
    if (!bin) return t.skip('prometheus-alertmanager not installed');
    const sender = alertmanagerNotifier.create(
      alertmanagerNotifier.schema.parse({ name: 'am', type: 'alertmanager', url: amUrl }),
    );
    const startsAt = Date.now() - 60_000;
    const notice = sampleNotice({ startsAt });
    assert.equal((await sender.send(sampleDelivery([notice], { now: Date.now() }))).ok, true);
    await webhook((w) => w.alerts.some((a) => a.labels.alertname === 'crashloop'));
    const escalated = sampleNotice({
      startsAt,
      level: 'alert',
      reason: 'level-changed',
      previousLevel: 'notice',
    });
    assert.equal((await sender.send(sampleDelivery([escalated], { now: Date.now() }))).ok, true);
    const crashloop = (await activeAlerts()).filter((a) => a.labels.alertname === 'crashloop');
    assert.deepEqual(
      crashloop.map((a) => a.labels.severity),
      ['critical'],
    );
    const changed = await webhook((w) =>
      w.alerts.some((a) => a.labels.alertname === 'crashloop' && a.labels.severity === 'critical'),
    );
    const states = changed.alerts.map((a) => `${a.labels.severity}:${a.status}`).sort();
    assert.deepEqual(states, ['critical:firing', 'warning:resolved']);
  });

  test('a wrong URL (route prefix) is a 404, not retryable', async (t) => {
    if (!bin) return t.skip('prometheus-alertmanager not installed');
    const sender = alertmanagerNotifier.create(
      alertmanagerNotifier.schema.parse({ name: 'am', type: 'alertmanager', url: `${amUrl}/alertmanager` }),
    );
    const result = await sender.send(
      sampleDelivery([sampleAlert({ startsAt: Date.now() })], { now: Date.now() }),
    );
    assert.ok(!result.ok);
    assert.equal(result.retryable, false);
    assert.match(result.error, /^HTTP 404/);
  });
});

test('a secret straddling the cut of a long answer leaves no trace in the error', async () => {
  const canary = 'CANARY-SECRET-123';
  const cfg = config({ bearerToken: canary });
  for (const at of [290, 295, 299]) {
    server.script({ status: 400, body: `${'x'.repeat(at)}${canary} and more` });
    const { result } = await deliver(cfg);
    assert.ok(!result.ok);
    assert.ok(!result.error.includes('CANARY'), result.error);
    assert.ok(!result.error.includes('CAN'), result.error);
  }
});

// ---------------------------------------------------------------------------------------------------------
// The README's examples parse, and its field table lists exactly the configuration's fields.

test('README: every receiver in its YAML examples parses; the field table matches the schema', (t) => {
  const readme = readFileSync(
    new URL('../../src/notify/receivers/alertmanager/README.md', import.meta.url),
    'utf8',
  );
  const dir = mkdtempSync(join(tmpdir(), 'healwatch-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env: Record<string, string> = {
    ALERTMANAGER_URL: 'http://am:pw-from-env@alertmanager:9093',
    ALERTMANAGER_TOKEN: 'token-from-env',
  };
  Object.assign(process.env, env);
  t.after(() => {
    for (const k of Object.keys(env)) delete process.env[k];
  });
  const receivers: unknown[] = [];
  for (const [, block] of readme.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    if (!block!.includes('notifications:')) continue;
    // Secret files named in the examples are made up in a temporary directory.
    const text = block!.replace(/file: ([^\s}]+)/g, (_m, path: string) => {
      const file = join(dir, basename(path));
      writeFileSync(file, 'secret-from-a-file\n');
      return `file: ${file}`;
    });
    const doc = parseYaml(text) as { notifications: { receivers: unknown[] } };
    receivers.push(...doc.notifications.receivers);
  }
  assert.ok(receivers.length >= 4, `found ${receivers.length} receivers`);
  for (const r of receivers) {
    const parsed = alertmanagerConfigSchema.safeParse(r);
    assert.ok(parsed.success, `${JSON.stringify(r)}: ${parsed.error?.message}`);
  }
  const fields = readme.slice(readme.indexOf('| field'), readme.indexOf('\n\n', readme.indexOf('| field')));
  const table = [...fields.matchAll(/^\| `([a-zA-Z]+)` +\|/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(table)].sort(), Object.keys(alertmanagerConfigSchema.shape).sort());
});
