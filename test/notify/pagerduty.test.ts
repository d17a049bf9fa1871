import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  PAGERDUTY_EVENTS_URL,
  pagerdutyDedupKey,
  pagerdutyConfigSchema,
  pagerdutyNotifier,
  type PagerdutyConfig,
} from '../../src/notify/receivers/pagerduty/index.js';
import type { Notifier } from '../../src/notify/types.js';
import { startCaptureServer, type Captured, type CaptureServer } from '../helpers/receiver.js';
import { sampleAlert, sampleDelivery, sampleNotice } from '../helpers/notifications.js';

const ROUTING_KEY = 'R0UTING-KEY-0123456789abcdef0123';

let server: CaptureServer;
before(async () => {
  server = await startCaptureServer({
    status: 202,
    body: '{"status":"success","message":"Event processed"}',
  });
});
after(async () => {
  await server.close();
});

/** The fields of an event the tests read. */
interface PdEvent {
  routing_key: string;
  event_action: string;
  dedup_key: string;
  client_url?: string;
  payload: {
    summary: string;
    source: string;
    severity: string;
    component: string;
    group?: string;
    custom_details: { message: string; evidence: string[] };
  };
}
const event = (r: Captured): PdEvent => r.json as PdEvent;

/** A parsed configuration pointing at the capture server. */
function config(over: Record<string, unknown> = {}): PagerdutyConfig {
  return pagerdutyNotifier.schema.parse({
    name: 'pd',
    type: 'pagerduty',
    routingKey: ROUTING_KEY,
    url: `${server.url}/v2/enqueue`,
    ...over,
  });
}

/** Sends a delivery and returns the result and the events the server received for it. */
async function deliver(cfg: PagerdutyConfig, delivery = sampleDelivery()) {
  const before = server.requests.length;
  const result = await pagerdutyNotifier.create(cfg).send(delivery);
  return { result, requests: server.requests.slice(before) };
}

describe('pagerduty config', () => {
  test('is a Notifier of type pagerduty that sends one event per alert', () => {
    const all: readonly Notifier[] = [pagerdutyNotifier];
    assert.equal(all[0]!.type, 'pagerduty');
    assert.equal(pagerdutyNotifier.batching, 'each');
    assert.equal(pagerdutyNotifier.resendEveryMs, undefined);
  });

  test('takes the routing key inline, from a file or a variable, and never shows it', () => {
    process.env.HW_TEST_PD_KEY = 'env-routing-key-value';
    const cfg = pagerdutyNotifier.schema.parse({
      name: 'pd',
      type: 'pagerduty',
      routingKey: { env: 'HW_TEST_PD_KEY' },
    });
    assert.equal(cfg.routingKey.reveal(), 'env-routing-key-value');
    assert.equal(cfg.routingKey.source, 'env HW_TEST_PD_KEY');
    assert.ok(!JSON.stringify(cfg).includes('env-routing-key-value'));
    delete process.env.HW_TEST_PD_KEY;
  });

  test('rejects unknown fields, a missing key, bad severities, URLs and timeouts', () => {
    const base = { name: 'pd', type: 'pagerduty', routingKey: 'k'.repeat(32) };
    for (const bad of [
      { ...base, routingKey: undefined },
      { ...base, routingKey: '' },
      { ...base, serviceKey: 'x' },
      { ...base, severity: { alert: 'fatal' } },
      { ...base, severity: { alert: 'critical', other: 'info' } },
      { ...base, url: 'ftp://example.com/x' },
      { ...base, url: 'not a url' },
      { ...base, timeout: '0s' },
      { ...base, timeout: '10' },
      { ...base, name: '' },
      { ...base, type: 'opsgenie' },
      { ...base, routingKey: { env: 'HW_TEST_UNSET_VARIABLE' } },
    ])
      assert.equal(pagerdutyNotifier.schema.safeParse(bad).success, false, JSON.stringify(bad));
    const ok = pagerdutyNotifier.schema.parse({
      ...base,
      severity: { notice: 'info' },
      timeout: '5s',
    });
    assert.deepEqual(ok.severity, { alert: 'critical', notice: 'info' });
  });
});

describe('pagerduty events', () => {
  test('a firing Alert is a trigger with summary, details, dedup key and dashboard link', async () => {
    const { result, requests } = await deliver(
      config(),
      sampleDelivery([sampleAlert()], { dashboardUrl: 'https://healwatch.example/' }),
    );
    assert.deepEqual(result, { ok: true, detail: 'HTTP 202' });
    assert.equal(requests.length, 1);
    const r = requests[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/v2/enqueue');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(r.json, {
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'sim|control-plane|Pod/kube-system/kube-scheduler-sim-control-plane',
      payload: {
        summary:
          '[ALERT] kube-scheduler is not running (control-plane · Pod/kube-system/kube-scheduler-sim-control-plane) on sim',
        source: 'sim',
        severity: 'critical',
        timestamp: '2026-11-27T03:12:00.000Z',
        component: 'Pod/kube-system/kube-scheduler-sim-control-plane',
        group: 'kube-system',
        class: 'control-plane',
        custom_details: {
          level: 'alert',
          reason: 'fired',
          loop: 'Scheduling: new and replacement pods stay Pending until the scheduler runs again.',
          message: 'The kube-scheduler Lease was last renewed 95 s ago; 3 pods wait for a node.',
          evidence: [
            'Lease kube-system/kube-scheduler renewed 95 s ago',
            'Pod shop/cart-7d9f: FailedScheduling x3',
          ],
          next_steps: [
            'kubectl -n kube-system get pods -l component=kube-scheduler',
            'kubectl -n kube-system logs kube-scheduler-sim-control-plane',
          ],
          facts: { component: 'kube-scheduler' },
          fingerprint: 'control-plane|Pod/kube-system/kube-scheduler-sim-control-plane',
        },
      },
      client: 'Healwatch',
      client_url: 'https://healwatch.example/',
      links: [{ href: 'https://healwatch.example/', text: 'Healwatch dashboard' }],
    });
  });

  test('a Notice is a warning by default; severities follow the configuration', async () => {
    const notice = sampleDelivery([sampleNotice()]);
    let { requests } = await deliver(config(), notice);
    assert.equal(event(requests[0]!).payload.severity, 'warning');
    assert.equal(event(requests[0]!).client_url, undefined);
    ({ requests } = await deliver(config({ severity: { alert: 'error', notice: 'info' } }), notice));
    assert.equal(event(requests[0]!).payload.severity, 'info');
    ({ requests } = await deliver(config({ severity: { alert: 'error' } })));
    assert.equal(event(requests[0]!).payload.severity, 'error');
  });

  test('without a cluster name the source is healwatch and the key is the fingerprint', async () => {
    const { requests } = await deliver(config(), sampleDelivery([sampleAlert()], { cluster: '' }));
    const ev = event(requests[0]!);
    assert.equal(ev.payload.source, 'healwatch');
    assert.equal(ev.dedup_key, 'control-plane|Pod/kube-system/kube-scheduler-sim-control-plane');
    assert.equal(
      ev.payload.summary,
      '[ALERT] kube-scheduler is not running (control-plane · Pod/kube-system/kube-scheduler-sim-control-plane)',
    );
  });

  test('a cluster-scoped object has no group', async () => {
    const node = sampleAlert({
      object: { kind: 'Node', name: 'worker-1' },
      fingerprint: 'node-ready|Node/worker-1',
    });
    const { requests } = await deliver(config(), sampleDelivery([node]));
    const ev = event(requests[0]!);
    assert.equal(ev.payload.component, 'Node/worker-1');
    assert.equal('group' in ev.payload, false);
  });

  test('a resolved alert is a resolve with the same dedup key as its triggers', async () => {
    const firing = sampleAlert();
    const resolved = sampleAlert({
      status: 'resolved',
      reason: 'resolved',
      endsAt: firing.startsAt + 300_000,
    });
    const t1 = await deliver(config(), sampleDelivery([firing]));
    const t2 = await deliver(config(), sampleDelivery([sampleAlert({ reason: 'repeat' })]));
    const r = await deliver(config(), sampleDelivery([resolved]));
    assert.equal(r.result.ok, true);
    assert.deepEqual(r.requests[0]!.json, {
      routing_key: ROUTING_KEY,
      event_action: 'resolve',
      dedup_key: 'sim|control-plane|Pod/kube-system/kube-scheduler-sim-control-plane',
    });
    const keys = [t1, t2, r].map((x) => event(x.requests[0]!).dedup_key);
    assert.equal(new Set(keys).size, 1);
  });

  test('a fingerprint longer than 255 characters is hashed, the same way each time', () => {
    const long = `crashloop|Pod/shop/${'x'.repeat(300)}`;
    const key = pagerdutyDedupKey('sim', long);
    assert.match(key, /^hw-[0-9a-f]{64}$/);
    assert.equal(pagerdutyDedupKey('sim', long), key);
    assert.notEqual(pagerdutyDedupKey('other', long), key);
    assert.equal(pagerdutyDedupKey('', 'a|b'), 'a|b');
    const exact = 'y'.repeat(255);
    assert.equal(pagerdutyDedupKey('', exact), exact);
    assert.match(pagerdutyDedupKey('', `${exact}y`), /^hw-/);
  });

  test('texts are cut to the API limits', async () => {
    const big = sampleAlert({
      title: 'T'.repeat(5000),
      message: 'M'.repeat(10_000),
      evidence: [{ type: 'log', text: 'E'.repeat(5000) }],
    });
    const { requests } = await deliver(config(), sampleDelivery([big]));
    const ev = event(requests[0]!);
    assert.equal(ev.payload.summary.length, 1024);
    assert.ok(ev.payload.summary.endsWith('…'));
    assert.ok(ev.payload.custom_details.message.length <= 4000);
    assert.ok(ev.payload.custom_details.evidence[0]!.length <= 1000);
  });

  test('the default URL is the Events API v2 endpoint', () => {
    assert.equal(PAGERDUTY_EVENTS_URL, 'https://events.pagerduty.com/v2/enqueue');
  });
});

describe('pagerduty answers', () => {
  test('400 (invalid event) is not retryable', async () => {
    server.script({ status: 400, body: '{"status":"invalid event","message":"Event object is invalid"}' });
    const { result } = await deliver(config());
    assert.equal(result.ok, false);
    assert.ok(!result.ok && !result.retryable);
    assert.match(!result.ok ? result.error : '', /^HTTP 400: .*invalid event/);
  });

  test('429 and 5xx are retryable, with Retry-After', async () => {
    server.script({ status: 429, headers: { 'retry-after': '30' }, body: 'throttled' });
    let { result } = await deliver(config());
    assert.deepEqual(result, {
      ok: false,
      retryable: true,
      retryAfterMs: 30_000,
      error: 'HTTP 429: throttled',
    });
    server.script({ status: 503 });
    ({ result } = await deliver(config()));
    assert.ok(!result.ok && result.retryable);
  });

  test('a network error is retryable', async () => {
    const gone = await startCaptureServer();
    const url = `${gone.url}/v2/enqueue`;
    await gone.close();
    const result = await pagerdutyNotifier.create(config({ url })).send(sampleDelivery());
    assert.deepEqual(result, { ok: false, retryable: true, error: 'connection refused' });
  });

  test('several alerts: one event each; the delivery fails when one fails', async () => {
    const two = sampleDelivery([sampleAlert(), sampleNotice()]);
    let { result, requests } = await deliver(config(), two);
    assert.deepEqual(result, { ok: true, detail: '2 events accepted' });
    assert.deepEqual(
      requests.map((r) => event(r).dedup_key),
      [
        'sim|control-plane|Pod/kube-system/kube-scheduler-sim-control-plane',
        'sim|crashloop|Pod/shop/cart-7d9f|app',
      ],
    );

    server.script({ status: 202 }, { status: 400, body: 'invalid event' });
    ({ result, requests } = await deliver(config(), two));
    assert.equal(requests.length, 2);
    assert.ok(!result.ok);
    assert.equal(result.retryable, false);
    assert.match(result.error, /^1 of 2 events failed: crashloop\|Pod\/shop\/cart-7d9f\|app: HTTP 400/);

    // An outage stops the batch: the rest would fail the same way; the whole delivery is retried.
    server.script({ status: 500, body: 'down' });
    ({ result, requests } = await deliver(config(), two));
    assert.equal(requests.length, 1);
    assert.ok(!result.ok && result.retryable);
    assert.match(!result.ok ? result.error : '', /1 of 2 events failed \(1 not sent\)/);
  });

  test('no error ever holds the routing key (canary)', async () => {
    const canary = 'CANARY-SECRET-123';
    const cfg = config({ routingKey: canary });
    for (const reply of [
      { status: 400, body: `{"status":"invalid event","errors":["routing_key ${canary} is not valid"]}` },
      { status: 500, body: `echo: ${JSON.stringify({ routing_key: canary })}` },
      { status: 403, body: `key=${encodeURIComponent(canary)}` },
    ]) {
      server.script(reply);
      const { result, requests } = await deliver(cfg);
      assert.equal(event(requests[0]!).routing_key, canary, 'the key is sent');
      assert.ok(!result.ok);
      assert.ok(!result.error.includes(canary), result.error);
      assert.ok(!result.error.includes('CANARY'), result.error);
      assert.match(result.error, /<secret>/);
    }
    // Two events failing: the combined error is scrubbed too.
    server.script({ status: 400, body: canary }, { status: 400, body: canary });
    const { result } = await deliver(cfg, sampleDelivery([sampleAlert(), sampleNotice()]));
    assert.ok(!result.ok && !result.error.includes(canary), JSON.stringify(result));
  });
});

test('a secret straddling the cut of a long answer leaves no trace in the error', async () => {
  const canary = 'CANARY-SECRET-123';
  const cfg = config({ routingKey: canary });
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
    new URL('../../src/notify/receivers/pagerduty/README.md', import.meta.url),
    'utf8',
  );
  const dir = mkdtempSync(join(tmpdir(), 'healwatch-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env: Record<string, string> = { PAGERDUTY_ROUTING_KEY: 'routing-key-from-env' };
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
    const parsed = pagerdutyConfigSchema.safeParse(r);
    assert.ok(parsed.success, `${JSON.stringify(r)}: ${parsed.error?.message}`);
  }
  const fields = readme.slice(readme.indexOf('| field'), readme.indexOf('\n\n', readme.indexOf('| field')));
  const table = [...fields.matchAll(/^\| `([a-zA-Z]+)` +\|/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(table)].sort(), Object.keys(pagerdutyConfigSchema.shape).sort());
});
