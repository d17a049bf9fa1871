import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  opsgenieAlias,
  opsgenieBaseUrl,
  opsgenieConfigSchema,
  opsgenieNotifier,
  type OpsgenieConfig,
} from '../../src/notify/receivers/opsgenie/index.js';
import type { Notifier } from '../../src/notify/types.js';
import { startCaptureServer, type Captured, type CaptureServer } from '../helpers/receiver.js';
import { sampleAlert, sampleDelivery, sampleNotice } from '../helpers/notifications.js';

const API_KEY = 'a1b2c3d4-0000-4000-8000-0123456789ab';

let server: CaptureServer;
before(async () => {
  server = await startCaptureServer({
    status: 202,
    body: '{"result":"Request will be processed","took":0.1,"requestId":"r-1"}',
  });
});
after(async () => {
  await server.close();
});

/** The fields of a create-alert body the tests read. */
interface CreateBody {
  message: string;
  alias: string;
  description: string;
  priority: string;
  source: string;
  entity: string;
  tags: string[];
  details: Record<string, unknown>;
  responders?: unknown[];
}
const body = (r: Captured): CreateBody => r.json as CreateBody;

function config(over: Record<string, unknown> = {}): OpsgenieConfig {
  return opsgenieNotifier.schema.parse({
    name: 'og',
    type: 'opsgenie',
    apiKey: API_KEY,
    url: `${server.url}/`,
    ...over,
  });
}

async function deliver(cfg: OpsgenieConfig, delivery = sampleDelivery()) {
  const before = server.requests.length;
  const result = await opsgenieNotifier.create(cfg).send(delivery);
  return { result, requests: server.requests.slice(before) };
}

const ALIAS = 'sim|control-plane|Pod/kube-system/kube-scheduler-sim-control-plane';

describe('opsgenie config', () => {
  test('is a Notifier of type opsgenie that sends one request per alert', () => {
    const all: readonly Notifier[] = [opsgenieNotifier];
    assert.equal(all[0]!.type, 'opsgenie');
    assert.equal(opsgenieNotifier.batching, 'each');
  });

  test('region picks the API host; url overrides it', () => {
    const base = { name: 'og', type: 'opsgenie', apiKey: 'key-1234' };
    assert.equal(opsgenieBaseUrl(opsgenieNotifier.schema.parse(base)), 'https://api.opsgenie.com');
    assert.equal(
      opsgenieBaseUrl(opsgenieNotifier.schema.parse({ ...base, region: 'eu' })),
      'https://api.eu.opsgenie.com',
    );
    assert.equal(
      opsgenieBaseUrl(opsgenieNotifier.schema.parse({ ...base, url: 'http://proxy.local:8080/og/' })),
      'http://proxy.local:8080/og',
    );
  });

  test('accepts responders of each type, priorities and tags', () => {
    const cfg = config({
      priority: { notice: 'P4' },
      responders: [
        { type: 'team', name: 'platform' },
        { type: 'user', username: 'oncall@example.com' },
        { type: 'escalation', id: '4513b7ea-3b91-438f-b7e4-e3e54af9147c' },
        { type: 'schedule', name: 'platform_schedule' },
      ],
      tags: ['k8s', 'prod'],
    });
    assert.deepEqual(cfg.priority, { alert: 'P1', notice: 'P4' });
    assert.equal(cfg.responders?.length, 4);
  });

  test('rejects unknown fields, bad priorities, responders, tags, and region with url', () => {
    const base = { name: 'og', type: 'opsgenie', apiKey: 'key-1234' };
    for (const bad of [
      { ...base, apiKey: undefined },
      { ...base, apiKey: { file: '/nonexistent/healwatch-test-key' } },
      { ...base, token: 'x' },
      { ...base, region: 'asia' },
      { ...base, region: 'eu', url: 'https://x.example' },
      { ...base, url: 'file:///etc/passwd' },
      { ...base, priority: { alert: 'P0' } },
      { ...base, priority: { alert: 'P1', urgent: 'P1' } },
      { ...base, responders: [{ type: 'group', name: 'x' }] },
      { ...base, responders: [{ type: 'team' }] },
      { ...base, responders: [{ type: 'user', name: 'Jane' }] },
      { ...base, responders: [{ type: 'team', username: 'jane' }] },
      { ...base, responders: [{ type: 'team', name: 'x', email: 'y' }] },
      { ...base, tags: ['x'.repeat(51)] },
      { ...base, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      { ...base, tags: [''] },
      { ...base, timeout: '-1s' },
    ])
      assert.equal(opsgenieNotifier.schema.safeParse(bad).success, false, JSON.stringify(bad));
  });
});

describe('opsgenie requests', () => {
  test('a firing Alert creates an alert: GenieKey auth, alias, P1, description with loop, evidence, next steps', async () => {
    const { result, requests } = await deliver(
      config({ responders: [{ type: 'team', name: 'platform' }], tags: ['k8s'] }),
      sampleDelivery([sampleAlert()], { dashboardUrl: 'https://healwatch.example/' }),
    );
    assert.deepEqual(result, { ok: true, detail: 'HTTP 202' });
    assert.equal(requests.length, 1);
    const r = requests[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/v2/alerts');
    assert.equal(r.headers.authorization, `GenieKey ${API_KEY}`);
    assert.equal(r.headers['content-type'], 'application/json');
    const b = body(r);
    assert.equal(
      b.message,
      '[ALERT] kube-scheduler is not running (control-plane · Pod/kube-system/kube-scheduler-sim-control-plane)',
    );
    assert.equal(b.alias, ALIAS);
    assert.equal(b.priority, 'P1');
    assert.equal(b.source, 'Healwatch');
    assert.equal(b.entity, 'Pod/kube-system/kube-scheduler-sim-control-plane');
    assert.deepEqual(b.tags, ['k8s', 'healwatch', 'rule:control-plane']);
    assert.deepEqual(b.responders, [{ type: 'team', name: 'platform' }]);
    assert.deepEqual(b.details, {
      rule: 'control-plane',
      level: 'alert',
      namespace: 'kube-system',
      object: 'Pod/kube-system/kube-scheduler-sim-control-plane',
      cluster: 'sim',
      since: '2026-11-27T03:12:00.000Z',
      fingerprint: 'control-plane|Pod/kube-system/kube-scheduler-sim-control-plane',
      dashboard: 'https://healwatch.example/',
      component: 'kube-scheduler',
    });
    for (const part of [
      '[ALERT] kube-scheduler is not running',
      'Loop: Scheduling: new and replacement pods stay Pending',
      'The kube-scheduler Lease was last renewed 95 s ago',
      'Evidence:\n  - Lease kube-system/kube-scheduler renewed 95 s ago',
      'Next steps:\n  - kubectl -n kube-system get pods -l component=kube-scheduler',
      'Cluster: sim',
      'Dashboard: https://healwatch.example/',
    ])
      assert.ok(b.description.includes(part), `description lacks ${part}:\n${b.description}`);
  });

  test('a Notice is P3 unless configured; no responders field when none are configured', async () => {
    let { requests } = await deliver(config(), sampleDelivery([sampleNotice()]));
    assert.equal(body(requests[0]!).priority, 'P3');
    assert.equal('responders' in body(requests[0]!), false);
    assert.deepEqual(body(requests[0]!).details.key, 'app');
    ({ requests } = await deliver(config({ priority: { notice: 'P5' } }), sampleDelivery([sampleNotice()])));
    assert.equal(body(requests[0]!).priority, 'P5');
  });

  test('a resolved alert closes it by alias', async () => {
    const resolved = sampleNotice({
      status: 'resolved',
      reason: 'resolved',
      fingerprint: 'crashloop|Pod/shop/cart 7d9f|app',
      endsAt: sampleNotice().startsAt + 12 * 60_000,
      note: 'resolved while Healwatch was down',
    });
    const { result, requests } = await deliver(config(), sampleDelivery([resolved]));
    assert.equal(result.ok, true);
    const r = requests[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(
      r.path,
      `/v2/alerts/${encodeURIComponent('sim|crashloop|Pod/shop/cart 7d9f|app')}/close?identifierType=alias`,
    );
    assert.equal(r.headers.authorization, `GenieKey ${API_KEY}`);
    assert.deepEqual(r.json, {
      source: 'Healwatch',
      note: 'Healwatch: [RESOLVED] Container app of shop/cart-7d9f is crash-looping (crashloop · Pod/shop/cart-7d9f) resolved while Healwatch was down after 12 min on sim.',
    });
  });

  test('create and close use the same alias; a long one is hashed', async () => {
    const { requests } = await deliver(
      config(),
      sampleDelivery([sampleAlert(), sampleAlert({ status: 'resolved', reason: 'resolved' })]),
    );
    assert.equal(body(requests[0]!).alias, ALIAS);
    assert.ok(requests[1]!.path.startsWith(`/v2/alerts/${encodeURIComponent(ALIAS)}/close`));
    const long = `x|${'y'.repeat(600)}`;
    assert.match(opsgenieAlias('sim', long), /^hw-[0-9a-f]{64}$/);
    assert.equal(opsgenieAlias('', 'a|b'), 'a|b');
  });

  test('a level change updates priority, message and description of the open alert', async () => {
    const escalated = sampleAlert({ reason: 'level-changed', previousLevel: 'notice' });
    const { result, requests } = await deliver(config(), sampleDelivery([escalated]));
    assert.equal(result.ok, true);
    const alias = encodeURIComponent(ALIAS);
    assert.deepEqual(
      requests.map((r) => `${r.method} ${r.path}`),
      [
        'POST /v2/alerts',
        `PUT /v2/alerts/${alias}/priority?identifierType=alias`,
        `PUT /v2/alerts/${alias}/message?identifierType=alias`,
        `PUT /v2/alerts/${alias}/description?identifierType=alias`,
      ],
    );
    assert.deepEqual(requests[1]!.json, { priority: 'P1' });
    assert.deepEqual(requests[2]!.json, { message: body(requests[0]!).message });
    assert.deepEqual(requests[3]!.json, { description: body(requests[0]!).description });
    for (const r of requests) assert.equal(r.headers.authorization, `GenieKey ${API_KEY}`);
  });

  test('texts are cut to the API limits', async () => {
    const big = sampleAlert({
      title: 'T'.repeat(500),
      message: 'M'.repeat(20_000),
      object: { kind: 'Pod', namespace: 'n', name: 'p'.repeat(600) },
      facts: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`fact${i}`, 'v'.repeat(900)])),
    });
    const { requests } = await deliver(config(), sampleDelivery([big]));
    const b = body(requests[0]!);
    assert.equal(b.message.length, 130);
    assert.ok(b.message.startsWith('[ALERT] TTT') && b.message.endsWith('…'));
    assert.equal(b.description.length, 15_000);
    assert.equal(b.entity.length, 512);
    assert.ok(b.alias.length <= 512);
    const details = Object.entries(b.details);
    assert.ok(details.every(([, v]) => typeof v === 'string'));
    assert.ok(details.reduce((n, [k, v]) => n + k.length + (v as string).length, 0) <= 8000);
    assert.ok(details.length < 40);
    assert.ok(b.tags.length <= 20 && b.tags.every((t) => t.length <= 50));
  });
});

describe('opsgenie answers', () => {
  test('422 and other 4xx are not retryable; 429 and 5xx are', async () => {
    for (const [status, retryable] of [
      [400, false],
      [401, false],
      [403, false],
      [404, false],
      [422, false],
      [429, true],
      [500, true],
      [503, true],
    ] as const) {
      server.script({ status, body: '{"message":"nope","took":0.0,"requestId":"r"}' });
      const { result } = await deliver(config());
      assert.ok(!result.ok, `${status}`);
      assert.equal(result.retryable, retryable, `${status}`);
      assert.match(result.error, new RegExp(`^HTTP ${status}: `));
    }
  });

  test('several alerts: each sent; one failure fails the delivery', async () => {
    server.script({ status: 202 }, { status: 422, body: 'bad' });
    const { result, requests } = await deliver(config(), sampleDelivery([sampleAlert(), sampleNotice()]));
    assert.equal(requests.length, 2);
    assert.ok(!result.ok && !result.retryable);
    assert.match(
      !result.ok ? result.error : '',
      /^1 of 2 alerts failed: crashloop\|Pod\/shop\/cart-7d9f\|app: HTTP 422: bad$/,
    );
  });

  test('a failed priority update after a level change fails the delivery', async () => {
    server.script({ status: 202 }, { status: 503, body: 'later' });
    const { result, requests } = await deliver(
      config(),
      sampleDelivery([sampleAlert({ reason: 'level-changed', previousLevel: 'notice' })]),
    );
    assert.equal(requests.length, 2);
    assert.deepEqual(result, { ok: false, retryable: true, error: 'updating the priority: HTTP 503: later' });
  });

  test('no error ever holds the API key (canary)', async () => {
    const canary = 'CANARY-SECRET-123';
    const cfg = config({ apiKey: canary });
    for (const reply of [
      { status: 401, body: `{"message":"Key format is not valid: GenieKey ${canary}"}` },
      { status: 422, body: `echo ${JSON.stringify({ authorization: `GenieKey ${canary}` })}` },
      { status: 500, body: `${encodeURIComponent(canary)}` },
    ]) {
      server.script(reply);
      const { result, requests } = await deliver(cfg);
      assert.equal(requests[0]!.headers.authorization, `GenieKey ${canary}`, 'the key is sent');
      assert.ok(!result.ok);
      assert.ok(!result.error.includes('CANARY'), result.error);
      assert.match(result.error, /<secret>/);
    }
    server.script({ status: 400, body: canary }, { status: 400, body: canary });
    const { result } = await deliver(cfg, sampleDelivery([sampleAlert(), sampleNotice()]));
    assert.ok(!result.ok && !result.error.includes('CANARY'), JSON.stringify(result));
  });
});

test('a secret straddling the cut of a long answer leaves no trace in the error', async () => {
  const canary = 'CANARY-SECRET-123';
  const cfg = config({ apiKey: canary });
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
    new URL('../../src/notify/receivers/opsgenie/README.md', import.meta.url),
    'utf8',
  );
  const dir = mkdtempSync(join(tmpdir(), 'healwatch-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env: Record<string, string> = { OPSGENIE_API_KEY: 'api-key-from-env' };
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
  assert.ok(receivers.length >= 2, `found ${receivers.length} receivers`);
  for (const r of receivers) {
    const parsed = opsgenieConfigSchema.safeParse(r);
    assert.ok(parsed.success, `${JSON.stringify(r)}: ${parsed.error?.message}`);
  }
  const fields = readme.slice(readme.indexOf('| field'), readme.indexOf('\n\n', readme.indexOf('| field')));
  const table = [...fields.matchAll(/^\| `([a-zA-Z]+)` +\|/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(table)].sort(), Object.keys(opsgenieConfigSchema.shape).sort());
});
