import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:net';
import { webhookBody, webhookNotifier, type WebhookBody } from '../../src/notify/receivers/webhook/index.js';
import type { DeliveryResult } from '../../src/notify/types.js';
import { startCaptureServer, type CaptureServer } from '../helpers/receiver.js';
import { sampleAlert, sampleDelivery, sampleNotice } from '../helpers/notifications.js';

async function server(t: { after(fn: () => Promise<void>): void }): Promise<CaptureServer> {
  const s = await startCaptureServer();
  t.after(() => s.close());
  return s;
}

const sender = (url: string, extra: Record<string, unknown> = {}) =>
  webhookNotifier.create(webhookNotifier.schema.parse({ name: 'hook', type: 'webhook', url, ...extra }));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** What a receiver does: recompute the signature over `<timestamp>.<raw body>` and compare in constant time. */
function verify(key: string, timestamp: string, body: string, signature: string): boolean {
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`,
  );
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

test('the schema: url, hmacSecret, headers, timeout, maxAlerts; unknown fields and reserved headers are errors', () => {
  const parsed = webhookNotifier.schema.parse({
    name: 'hook',
    type: 'webhook',
    url: 'https://example.com/hook',
    hmacSecret: 'k3y-k3y-k3y',
    headers: { Authorization: 'Bearer abcdefgh', 'X-Team': 'ops1' },
    timeout: '1m',
    maxAlerts: 5,
  });
  assert.equal(parsed.timeout, 60_000);
  assert.equal(parsed.maxAlerts, 5);
  assert.equal(JSON.stringify(parsed).includes('abcdefgh'), false);
  assert.equal(JSON.stringify(parsed).includes('k3y-k3y'), false);
  const ok = (extra: Record<string, unknown>) =>
    webhookNotifier.schema.safeParse({
      name: 'hook',
      type: 'webhook',
      url: 'https://example.com/h',
      ...extra,
    }).success;
  assert.equal(ok({}), true);
  assert.equal(ok({ secret: 'x' }), false, 'unknown fields are errors');
  assert.equal(ok({ headers: { 'Content-Type': 'text/plain' } }), false);
  assert.equal(ok({ headers: { 'X-Healwatch-Signature': 'x' } }), false);
  assert.equal(ok({ headers: { 'Idempotency-Key': 'x' } }), false);
  assert.equal(ok({ headers: { 'bad header': 'x' } }), false);
  assert.equal(ok({ headers: { 'X-A': 'line\r\nInjected: yes' } }), false);
  assert.equal(ok({ headers: { 'X-A': { env: 'HW_TEST_SURELY_UNSET_VARIABLE' } } }), false);
  assert.equal(ok({ maxAlerts: 0 }), false);
  assert.equal(ok({ maxAlerts: 1.5 }), false);
  assert.equal(ok({ timeout: 'soon' }), false);
  assert.equal(ok({ url: 'mailto:ops@example.com' }), false);
});

test('the body: versioned envelope, status, ISO times, every alert field, truncation by maxAlerts', async (t) => {
  const s = await server(t);
  const alerts = [
    sampleAlert(),
    sampleNotice(),
    sampleAlert({
      status: 'resolved',
      reason: 'resolved',
      endsAt: Date.parse('2026-11-27T04:00:00Z'),
      fingerprint: 'r',
    }),
  ];
  const before = Date.now();
  const result = await sender(`${s.url}/hook`, { maxAlerts: 2 }).send(
    sampleDelivery(alerts, { dashboardUrl: 'https://hw.example/' }),
  );
  assert.deepEqual(result, { ok: true, detail: 'HTTP 200' });
  const [req] = await s.waitFor(1);
  assert.equal(req!.method, 'POST');
  assert.match(String(req!.headers['content-type']), /^application\/json/);
  const body = req!.json as WebhookBody;
  assert.equal(body.version, 1);
  assert.equal(body.kind, 'healwatch.notification');
  assert.equal(body.idempotencyKey, 'hw-test-0001');
  assert.equal(body.cluster, 'sim');
  assert.equal(body.groupKey, 'namespace=kube-system');
  assert.deepEqual(body.groupLabels, { namespace: 'kube-system' });
  assert.equal(body.status, 'firing');
  assert.ok(Date.parse(body.sentAt) >= before - 1000 && Date.parse(body.sentAt) <= Date.now());
  assert.equal(body.dashboardUrl, 'https://hw.example/');
  assert.equal(body.truncatedAlerts, 1);
  assert.equal(body.alerts.length, 2);
  const a = body.alerts[0]!;
  assert.equal(a.startsAt, '2026-11-27T03:12:00.000Z');
  assert.equal(a.level, 'alert');
  assert.equal(a.loop, sampleAlert().loop);
  assert.deepEqual(a.nextSteps, sampleAlert().nextSteps);
  assert.deepEqual(a.evidence[0], {
    type: 'state',
    text: 'Lease kube-system/kube-scheduler renewed 95 s ago',
    at: '2026-11-27T03:10:25.000Z',
  });
  assert.deepEqual(a.labels, sampleAlert().labels);
  assert.equal(body.alerts[1]!.key, 'app');
  assert.match(body.title, /^\[ALERT\] 2 firing, 1 resolved/);
  assert.match(body.text, /Loop: Scheduling/);
  assert.match(body.text, /Next steps:\n {2}- kubectl -n kube-system get pods/);

  const resolved = webhookBody(sampleDelivery([alerts[2]!]), 0);
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.alerts[0]!.endsAt, '2026-11-27T04:00:00.000Z');
  assert.equal(resolved.truncatedAlerts, 0);
  assert.equal('dashboardUrl' in resolved, false);
  assert.equal(
    webhookBody(sampleDelivery(Array.from({ length: 150 }, () => sampleAlert())), 0).alerts.length,
    100,
  );
});

test('long texts are cut', () => {
  const huge = 'y'.repeat(50_000);
  const b = webhookBody(
    sampleDelivery([sampleAlert({ message: huge, evidence: [{ type: 'log', text: huge }], title: huge })]),
    0,
  );
  assert.ok(b.alerts[0]!.message.length <= 4000 && b.alerts[0]!.message.endsWith('…'));
  assert.ok(b.alerts[0]!.evidence[0]!.text.length <= 2000);
  assert.ok(b.alerts[0]!.title.length <= 500);
  assert.ok(b.text.length <= 20_000);
});

test('signed with HMAC-SHA256 over "<timestamp>.<body>"; idempotency key stable across retries; headers sent', async (t) => {
  const s = await server(t);
  s.script({ status: 503, headers: { 'retry-after': '7' }, body: 'busy' });
  const hook = sender(`${s.url}/hook`, {
    hmacSecret: 'shared-hmac-key',
    headers: { Authorization: 'Bearer tok-123456', 'X-Team': 'platform' },
  });
  const delivery = sampleDelivery([sampleAlert(), sampleNotice()]);
  const first = await hook.send(delivery);
  assert.deepEqual(first, { ok: false, retryable: true, retryAfterMs: 7000, error: 'HTTP 503: busy' });
  const second = await hook.send(delivery);
  assert.equal(second.ok, true);
  const reqs = await s.waitFor(2);
  for (const req of reqs) {
    const ts = String(req.headers['x-healwatch-timestamp']);
    assert.match(ts, /^\d{10}$/);
    assert.ok(Math.abs(Number(ts) - Date.now() / 1000) < 60);
    const sig = String(req.headers['x-healwatch-signature']);
    assert.match(sig, /^sha256=[0-9a-f]{64}$/);
    assert.ok(verify('shared-hmac-key', ts, req.body, sig), 'the signature verifies with the key');
    assert.equal(verify('another-key', ts, req.body, sig), false);
    assert.equal(verify('shared-hmac-key', ts, `${req.body} `, sig), false, 'a changed body fails');
    assert.equal(req.headers['idempotency-key'], 'hw-test-0001');
    assert.equal(req.headers.authorization, 'Bearer tok-123456');
    assert.equal(req.headers['x-team'], 'platform');
    assert.equal((req.json as WebhookBody).idempotencyKey, 'hw-test-0001');
  }
  assert.equal(reqs[0]!.headers['idempotency-key'], reqs[1]!.headers['idempotency-key']);

  // Without hmacSecret there is no signature header, but still a timestamp and the key.
  const plain = sender(`${s.url}/plain`);
  assert.equal((await plain.send(delivery)).ok, true);
  const [, , third] = await s.waitFor(3);
  assert.equal(third!.headers['x-healwatch-signature'], undefined);
  assert.match(String(third!.headers['x-healwatch-timestamp']), /^\d+$/);
  assert.equal(third!.headers['idempotency-key'], 'hw-test-0001');
});

test('answers: 2xx delivered, 400 not retryable, 429/503 retryable with Retry-After, closed port retryable', async (t) => {
  const s = await server(t);
  s.script(
    { status: 202 },
    { status: 400, body: '{"error":"bad request"}' },
    { status: 404 },
    { status: 429, headers: { 'retry-after': '2' } },
    { status: 503, headers: { 'retry-after': '7' } },
  );
  const hook = sender(`${s.url}/hook`);
  const results: DeliveryResult[] = [];
  for (let i = 0; i < 5; i++) results.push(await hook.send(sampleDelivery()));
  assert.deepEqual(results, [
    { ok: true, detail: 'HTTP 202' },
    { ok: false, retryable: false, error: 'HTTP 400: {"error":"bad request"}' },
    { ok: false, retryable: false, error: 'HTTP 404' },
    { ok: false, retryable: true, retryAfterMs: 2000, error: 'HTTP 429' },
    { ok: false, retryable: true, retryAfterMs: 7000, error: 'HTTP 503' },
  ]);
  const port = await freePort();
  const closed = await sender(`http://127.0.0.1:${port}/hook`).send(sampleDelivery());
  assert.deepEqual(closed, { ok: false, retryable: true, error: 'connection refused' });
});

test('no secret (URL, HMAC key, header values) appears in any result', async (t) => {
  const s = await server(t);
  const port = await freePort();
  const secrets = {
    hmacSecret: 'CANARY-SECRET-123-hmac',
    headers: { Authorization: 'Bearer CANARY-SECRET-123-token', 'X-Api-Key': 'CANARY-SECRET-123-apikey' },
  };
  const results: DeliveryResult[] = [];
  // A closed port and TLS to a plain HTTP server, with the canary in the URL.
  results.push(
    await sender(`https://127.0.0.1:${port}/hook/CANARY-SECRET-123`, secrets).send(sampleDelivery()),
  );
  const tlsHost = new URL(s.url).host;
  results.push(await sender(`https://${tlsHost}/hook/CANARY-SECRET-123`, secrets).send(sampleDelivery()));
  // Answers that quote the request: the path, the whole URL, the headers, the key.
  const url = `${s.url}/hook/CANARY-SECRET-123?token=CANARY-SECRET-123-query`;
  const hook = sender(url, secrets);
  s.script(
    { status: 404, body: 'Cannot POST /hook/CANARY-SECRET-123?token=CANARY-SECRET-123-query' },
    { status: 400, body: `invalid url ${url}` },
    { status: 401, body: 'bad token CANARY-SECRET-123-token for Bearer CANARY-SECRET-123-token' },
    { status: 403, body: 'key CANARY-SECRET-123-apikey is not allowed' },
    { status: 500, body: 'hmac CANARY-SECRET-123-hmac mismatch; query CANARY-SECRET-123-query' },
    { status: 422, body: 'segment CANARY-SECRET-123 unknown' },
  );
  for (let i = 0; i < 6; i++) results.push(await hook.send(sampleDelivery()));
  assert.equal(results.length, 8);
  for (const r of results) {
    assert.equal(r.ok, false);
    const text = JSON.stringify(r);
    assert.equal(text.includes('CANARY-SECRET-123'), false, text);
  }
  assert.ok(results.every((r) => !r.ok && r.error.length > 0));
});
