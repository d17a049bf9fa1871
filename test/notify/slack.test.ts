import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import {
  slackMessage as build,
  slackNotifier,
  SLACK_LIMITS,
} from '../../src/notify/receivers/slack/index.js';
import type { DeliveryResult } from '../../src/notify/types.js';
import { startCaptureServer, type CaptureServer } from '../helpers/receiver.js';
import { sampleAlert, sampleDelivery, sampleNotice } from '../helpers/notifications.js';

async function server(t: { after(fn: () => Promise<void>): void }): Promise<CaptureServer> {
  const s = await startCaptureServer();
  t.after(() => s.close());
  return s;
}

const sender = (url: string, extra: Record<string, unknown> = {}) =>
  slackNotifier.create(slackNotifier.schema.parse({ name: 'team', type: 'slack', url, ...extra }));

interface Block {
  type: string;
  text?: { type: string; text: string };
  elements?: { text: string }[];
}
interface Message {
  text: string;
  blocks: Block[];
}

/** The message as Slack receives it (JSON), loosely typed for the assertions. */
const slackMessage = (...args: Parameters<typeof build>): Message =>
  JSON.parse(JSON.stringify(build(...args))) as Message;

/** Every text of a message, joined. */
const allText = (m: Message): string =>
  [m.text, ...m.blocks.flatMap((b) => [b.text?.text ?? '', ...(b.elements ?? []).map((e) => e.text)])].join(
    '\n',
  );

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test('the schema takes url, mention and timeout, and rejects unknown fields and bad values', () => {
  const ok = slackNotifier.schema.parse({
    name: 'team',
    type: 'slack',
    url: 'https://hooks.slack.com/services/T000/B000/XXXXXXXX',
    mention: '<!subteam^S0123ABC> <@U0123>',
    timeout: '2.5s',
  });
  assert.equal(ok.timeout, 2500);
  assert.equal(String(ok.url), '<secret>');
  assert.equal(JSON.stringify(ok).includes('hooks.slack.com'), false);
  assert.equal(slackNotifier.batching, 'group');
  const bad = (extra: Record<string, unknown>) =>
    slackNotifier.schema.safeParse({ name: 'team', type: 'slack', url: 'https://example.com/x', ...extra })
      .success;
  assert.equal(bad({}), true);
  assert.equal(bad({ channel: '#ops' }), false, 'unknown fields are errors');
  assert.equal(bad({ url: 'not a url' }), false);
  assert.equal(bad({ url: 'ftp://example.com/x' }), false);
  assert.equal(bad({ mention: '@here' }), false, 'a plain @here does not notify');
  assert.equal(bad({ mention: '<!here>' }), true);
  assert.equal(bad({ timeout: '10' }), false);
  assert.equal(bad({ timeout: '1h' }), false);
  assert.equal(bad({ type: 'webhook' }), false);
});

test('an Alert goes out as Block Kit: level, loop, message, evidence, next steps in code, context', async (t) => {
  const s = await server(t);
  const result = await sender(`${s.url}/services/T1/B1/abc`).send(sampleDelivery());
  assert.deepEqual(result, { ok: true, detail: 'HTTP 200: ok' });
  const [req] = await s.waitFor(1);
  assert.equal(req!.method, 'POST');
  assert.equal(req!.path, '/services/T1/B1/abc');
  assert.match(String(req!.headers['content-type']), /application\/json/);
  const m = req!.json as Message;
  assert.equal(
    m.text,
    '[ALERT] kube-scheduler is not running (control-plane · Pod/kube-system/kube-scheduler-sim-control-plane) on sim',
  );
  assert.deepEqual(
    m.blocks.map((b) => b.type),
    ['header', 'section', 'context'],
  );
  assert.equal(m.blocks[0]!.text!.type, 'plain_text');
  const section = m.blocks[1]!.text!;
  assert.equal(section.type, 'mrkdwn');
  assert.match(section.text, /\*ALERT\* · fired · \*kube-scheduler is not running\*/);
  assert.match(section.text, /\*Broken loop:\* Scheduling: new and replacement pods stay Pending/);
  assert.match(section.text, /Lease was last renewed 95 s ago/);
  assert.match(section.text, /\*Evidence\*\n• Lease kube-system\/kube-scheduler renewed 95 s ago/);
  assert.match(
    section.text,
    /\*Next steps\*\n• `kubectl -n kube-system get pods -l component=kube-scheduler`/,
  );
  const context = m.blocks[2]!.elements!.map((e) => e.text).join(' | ');
  assert.match(context, /rule \*control-plane\*/);
  assert.match(context, /Pod\/kube-system\/kube-scheduler-sim-control-plane/);
  assert.match(context, /since <!date\^\d+\^\{date_short_pretty\} \{time\}\|2026-11-27T03:12:00Z>/);
});

test('cluster text is escaped, so a log line cannot mention anyone', () => {
  const evil = sampleNotice({
    title: 'Pod <@U123> & <!channel> crash',
    message: 'log says <!here> and <https://evil.example|click> & more',
    loop: 'Restart <!everyone>',
    evidence: [
      { type: 'log', text: 'ping <@U123> <!channel> & `rm`' },
      { type: 'event', text: 'x > y < z' },
    ],
    nextSteps: ['kubectl -n shop logs cart <!channel>', 'ask <@U999> & friends'],
    object: { kind: 'Pod', namespace: 'shop', name: 'cart-<!channel>' },
    key: '<@U123>',
    ruleId: 'crashloop',
  });
  const resolved = sampleNotice({
    status: 'resolved',
    reason: 'resolved',
    title: 'gone <!channel>',
    note: '<@U1> & co',
  });
  const m = slackMessage(
    sampleDelivery([evil, resolved], { groupLabels: { namespace: 'a<b>&c' } }),
    '<!here>',
  );
  const text = allText(m);
  for (const raw of ['<@U123>', '<!channel>', '<!everyone>', '<https://evil', '<@U999>', '<@U1>'])
    assert.equal(text.includes(raw), false, `${raw} must be escaped`);
  assert.ok(text.includes('&lt;@U123&gt;'));
  assert.ok(text.includes('&lt;!channel&gt;'));
  assert.ok(text.includes('&amp; more'));
  assert.ok(text.includes('x &gt; y &lt; z'));
  assert.ok(
    text.includes("`ping &lt;@U123&gt; &lt;!channel&gt; &amp; 'rm'`"),
    'a backtick cannot end a code span',
  );
  assert.equal(text.includes('&amp;lt;'), false, 'escaped once');
  // Only the configured mention is live, and only because an Alert would be firing: here it is a Notice.
  assert.equal(text.includes('<!here>'), false);
});

test('the mention goes before messages with a firing Alert only', () => {
  const withAlert = slackMessage(sampleDelivery([sampleAlert(), sampleNotice()]), '<!subteam^S123>');
  assert.ok(withAlert.text.startsWith('<!subteam^S123> [ALERT] 2 firing'));
  assert.deepEqual(withAlert.blocks[1], {
    type: 'section',
    text: { type: 'mrkdwn', text: '<!subteam^S123>', verbatim: true },
  });
  const notice = slackMessage(sampleDelivery([sampleNotice()]), '<!subteam^S123>');
  assert.equal(JSON.stringify(notice).includes('subteam'), false);
  const resolved = slackMessage(
    sampleDelivery([sampleAlert({ status: 'resolved', reason: 'resolved' })]),
    '<!here>',
  );
  assert.equal(JSON.stringify(resolved).includes('<!here>'), false);
  const none = slackMessage(sampleDelivery([sampleAlert()]));
  assert.equal(none.blocks[1]!.type, 'section');
  assert.ok(none.text.startsWith('[ALERT]'));
});

test('a resolved alert is one short section with its note', () => {
  const m = slackMessage(
    sampleDelivery([
      sampleAlert(),
      sampleAlert({
        status: 'resolved',
        reason: 'resolved',
        note: 'resolved while Healwatch was down',
        endsAt: 0,
      }),
    ]),
  );
  assert.deepEqual(
    m.blocks.map((b) => b.type),
    ['header', 'section', 'context', 'divider', 'section'],
  );
  const text = (m.blocks[4] as Block).text!.text;
  assert.match(text, /\*RESOLVED\* · \*kube-scheduler is not running\*/);
  assert.match(text, /· resolved while Healwatch was down · was firing since <!date\^/);
  assert.equal(text.includes('Evidence'), false);
  assert.match(m.text, /^\[ALERT\] 1 firing, 1 resolved \(namespace=kube-system\) on sim$/);
});

test('Block Kit limits hold: header 150, section 3000, 50 blocks with "…and N more", fallback 4000', () => {
  const long = 'x&'.repeat(5000);
  const alerts = Array.from({ length: 60 }, (_, i) =>
    sampleAlert({
      fingerprint: `f${i}`,
      title: `${i} ${long}`,
      message: long,
      loop: long,
      evidence: Array.from({ length: 10 }, () => ({ type: 'log' as const, text: long })),
      nextSteps: Array.from({ length: 8 }, () => `kubectl get ${long}`),
      status: i >= 55 ? 'resolved' : 'firing',
      reason: i >= 55 ? 'resolved' : 'fired',
    }),
  );
  const m = slackMessage(sampleDelivery(alerts, { dashboardUrl: 'https://hw.example/?a=1&b=2' }), '<!here>');
  assert.ok(m.blocks.length <= SLACK_LIMITS.blocks, `${m.blocks.length} blocks`);
  assert.ok(m.text.length <= SLACK_LIMITS.fallbackText);
  const header = m.blocks[0]!.text!.text;
  assert.ok(header.length <= SLACK_LIMITS.headerText);
  for (const b of m.blocks) {
    if (b.text) {
      assert.ok(b.text.text.length <= SLACK_LIMITS.sectionText, `${b.text.text.length} characters`);
      assert.doesNotMatch(b.text.text, /&[a-z]{0,3}…/, 'an entity is never cut in half');
    }
  }
  const more = m.blocks.at(-2)!;
  assert.match(more.text!.text, /^\*…and (\d+) more\* \((\d+) firing, 5 resolved\):/);
  const shown = m.blocks.filter((b) => b.type === 'context' && b.elements!.length === 3).length;
  const n = Number(/and (\d+) more/.exec(more.text!.text)![1]);
  assert.equal(shown + n, 60);
  assert.match(
    m.blocks.at(-1)!.elements![0]!.text,
    /^<https:\/\/hw\.example\/\?a=1&amp;b=2\|Open the Healwatch dashboard>$/,
  );
  // Only 5 evidence lines and 5 next steps per alert.
  const first = m.blocks[2]!.text!.text;
  assert.ok(first.length <= 3000);
});

test('the fallback text of a long delivery title is cut to 4000 characters', () => {
  const m = slackMessage(sampleDelivery([sampleAlert({ title: '<'.repeat(5000) })]));
  assert.ok(m.text.length <= 4000);
  assert.ok(m.text.endsWith('…'));
  assert.doesNotMatch(m.text, /&[a-z]{0,3}…$/);
});

test('answers: 200 ok delivered; Slack errors not retryable; 429 and 5xx retryable with Retry-After', async (t) => {
  const s = await server(t);
  s.script(
    { status: 400, body: 'invalid_payload' },
    { status: 404, body: 'no_service' },
    { status: 410, body: 'channel_is_archived' },
    { status: 403, body: 'action_prohibited' },
    { status: 403, body: 'invalid_token' },
    { status: 200, body: 'invalid_token' },
    { status: 401, body: 'who are you' },
    { status: 429, headers: { 'retry-after': '3' }, body: 'rate_limited' },
    { status: 503, headers: { 'retry-after': '7' }, body: '' },
    { status: 500, body: 'rollup_error' },
  );
  const slack = sender(`${s.url}/services/T1/B1/abc`);
  const results: DeliveryResult[] = [];
  for (let i = 0; i < 10; i++) results.push(await slack.send(sampleDelivery()));
  const [payload, service, archived, prohibited, token, token200, other, limited, down, rollup] = results;
  for (const [r, code] of [
    [payload, 'invalid_payload'],
    [service, 'no_service'],
    [archived, 'channel_is_archived'],
    [prohibited, 'action_prohibited'],
    [token, 'invalid_token'],
    [token200, 'invalid_token'],
    [other, 'who are you'],
  ] as const) {
    assert.equal(r!.ok, false, code);
    if (r!.ok) continue;
    assert.equal(r!.retryable, false, code);
    assert.ok(r!.error.includes(code), r!.error);
  }
  assert.ok(!archived!.ok && archived!.error.includes('archived'));
  assert.ok(!service!.ok && /revoked, or mistyped/.test(service!.error));
  assert.deepEqual(limited, {
    ok: false,
    retryable: true,
    retryAfterMs: 3000,
    error: 'HTTP 429: rate_limited',
  });
  assert.deepEqual(down, { ok: false, retryable: true, retryAfterMs: 7000, error: 'HTTP 503' });
  assert.deepEqual(rollup, { ok: false, retryable: true, error: 'HTTP 500: rollup_error' });
  assert.deepEqual(await slack.send(sampleDelivery()), { ok: true, detail: 'HTTP 200: ok' });
});

test('the webhook URL never appears in an error: closed port, timeout, an answer that quotes it', async (t) => {
  const port = await freePort();
  const closed = await sender(`https://127.0.0.1:${port}/services/T1/B1/CANARY-SECRET-123`).send(
    sampleDelivery(),
  );
  assert.equal(closed.ok, false);
  assert.ok(!closed.ok && closed.retryable);
  assert.ok(!closed.ok && !closed.error.includes('CANARY-SECRET-123'), !closed.ok ? closed.error : '');

  const s = await server(t);
  const url = `${s.url}/services/T1/B1/CANARY-SECRET-456`;
  s.script(
    { status: 404, body: 'Cannot POST /services/T1/B1/CANARY-SECRET-456' },
    { status: 400, body: `bad hook CANARY-SECRET-456 at ${url}` },
    { status: 200, body: `ok? ${url}` },
  );
  const slack = sender(url, { timeout: '200ms' });
  const results = [
    await slack.send(sampleDelivery()),
    await slack.send(sampleDelivery()),
    await slack.send(sampleDelivery()),
  ];
  for (const r of results) {
    const text = JSON.stringify(r);
    assert.equal(text.includes('CANARY-SECRET-456'), false, text);
  }
  assert.ok(!results[0]!.ok && results[0]!.error.includes('<secret>'));

  // A receiver that never answers: the timeout applies.
  s.fallback = { status: 200, body: 'ok' };
  const { createServer: createHttp } = await import('node:http');
  const hang = createHttp(() => undefined);
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        hang.closeAllConnections();
        hang.close(() => resolve());
      }),
  );
  const hangPort = (hang.address() as { port: number }).port;
  const started = Date.now();
  const slow = await sender(`http://127.0.0.1:${hangPort}/services/CANARY-SECRET-789`, {
    timeout: '300ms',
  }).send(sampleDelivery());
  assert.ok(Date.now() - started < 5000);
  assert.deepEqual(slow, { ok: false, retryable: true, error: 'no answer before the timeout' });
});

test('an abort signal stops the request', async (t) => {
  const { createServer: createHttp } = await import('node:http');
  const hang = createHttp(() => undefined);
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        hang.closeAllConnections();
        hang.close(() => resolve());
      }),
  );
  const port = (hang.address() as { port: number }).port;
  const controller = new AbortController();
  const pending = sender(`http://127.0.0.1:${port}/x`).send(sampleDelivery(), controller.signal);
  setTimeout(() => controller.abort(), 50);
  const r = await pending;
  assert.ok(!r.ok && r.retryable);
});
