import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceCounters, ServiceHealth } from '../src/app/service.js';
import { HealwatchError } from '../src/domain/index.js';
import { parseSilenceRequest, silencedBy, silenceState, type SilenceJson } from '../src/notify/silences.js';
import type { ReceiverHealth } from '../src/notify/types.js';
import { startServer, type HttpServer, type ServerOptions, type ServiceApi } from '../src/server/index.js';
import { Store, STORE_FILE_NAME, type Silence, type SilenceMatcher } from '../src/store/index.js';
import { runCli } from './helpers/cli.js';

const NOW = Date.parse('2026-01-31T12:00:00Z');
const HOUR = 3_600_000;

function counters(): ServiceCounters {
  return {
    eventsProcessed: 0,
    evaluations: 0,
    evaluationSecondsTotal: 0,
    transitions: { opened: 0, fired: 0, 'level-changed': 0, resolved: 0, dropped: 0 },
  };
}

function health(): ServiceHealth {
  return {
    state: 'running',
    synced: true,
    ready: true,
    reason: undefined,
    blindSpots: [],
    watches: [],
    probes: [],
    lastEvaluation: undefined,
    ruleErrors: [],
    counters: counters(),
  };
}

/** A service with nothing to report and a clock the test sets. */
function stub(clock: { now: number }): ServiceApi {
  return {
    health,
    counters,
    findings: () => [],
    muted: () => [],
    alerts: () => [],
    now: () => clock.now,
  };
}

function memoryStore(t: TestContext): Store {
  const store = Store.open(':memory:');
  t.after(() => store.close());
  return store;
}

async function serve(t: TestContext, options: Partial<ServerOptions> & { clock?: { now: number } } = {}) {
  const { clock = { now: NOW }, ...rest } = options;
  const server = await startServer({ service: stub(clock), host: '127.0.0.1', port: 0, ...rest });
  t.after(() => server.close());
  return server;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> & { error?: string };
}

async function call(
  server: HttpServer,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined
      ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
      : {}),
  });
  const text = await res.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A raw request (fetch does not let a test set the Host header). */
function rawRequest(
  server: HttpServer,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function silence(
  id: number,
  matchers: SilenceMatcher[],
  window: { startsAt?: number; endsAt?: number; expiredAt?: number } = {},
): Silence {
  return {
    id,
    matchers,
    startsAt: window.startsAt ?? NOW - HOUR,
    endsAt: window.endsAt ?? NOW + HOUR,
    author: 'test',
    comment: '',
    createdAt: NOW - HOUR,
    expiredAt: window.expiredAt,
  };
}

// --- matching ----------------------------------------------------------------------------------------

test('silencedBy: =, !=, anchored =~ and !~; the first active match wins; pending and expired never match', () => {
  const labels = { namespace: 'shop', rule: 'crashloop', name: 'cart-7d9f', level: 'alert' };
  const m = (label: string, op: SilenceMatcher['op'], value: string): SilenceMatcher => ({
    label,
    op,
    value,
  });
  const at = (s: Silence): number | undefined => silencedBy([s], labels, NOW)?.id;
  assert.equal(at(silence(1, [m('namespace', '=', 'shop')])), 1);
  assert.equal(at(silence(1, [m('namespace', '=', 'sho')])), undefined);
  assert.equal(at(silence(1, [m('namespace', '!=', 'web')])), 1);
  assert.equal(at(silence(1, [m('namespace', '!=', 'shop')])), undefined);
  assert.equal(at(silence(1, [m('name', '=~', 'cart-.*')])), 1);
  assert.equal(at(silence(1, [m('name', '=~', 'cart')])), undefined, '=~ is anchored at both ends');
  assert.equal(at(silence(1, [m('name', '=~', '7d9f')])), undefined, '=~ is anchored at the start');
  assert.equal(at(silence(1, [m('name', '!~', 'cart')])), 1, '!~ is anchored too');
  assert.equal(at(silence(1, [m('name', '!~', 'cart-.*')])), undefined);
  assert.equal(
    at(silence(1, [m('namespace', '=', 'shop'), m('rule', '=', 'oom')])),
    undefined,
    'all must hold',
  );
  assert.equal(at(silence(1, [m('node', '=', '')])), 1, 'an absent label is the empty string');
  assert.equal(at(silence(1, [m('node', '!=', '')])), undefined);

  const ns = [m('namespace', '=', 'shop')];
  const pending = silence(1, ns, { startsAt: NOW + 1, endsAt: NOW + HOUR });
  const ended = silence(2, ns, { startsAt: NOW - 2 * HOUR, endsAt: NOW });
  const expired = silence(3, ns, { expiredAt: NOW - 1 });
  const expiresLater = silence(4, ns, { expiredAt: NOW + 10 });
  assert.equal(silenceState(pending, NOW), 'pending');
  assert.equal(silenceState(ended, NOW), 'expired', 'endsAt is exclusive');
  assert.equal(silenceState(expired, NOW), 'expired');
  assert.equal(silenceState(expiresLater, NOW), 'active');
  assert.equal(silencedBy([pending, ended, expired], labels, NOW), undefined);
  const active = silence(5, ns);
  assert.equal(
    silencedBy([pending, ended, expired, active, expiresLater], labels, NOW)?.id,
    5,
    'first active',
  );
  assert.equal(silencedBy([pending], labels, NOW + 1)?.id, 1, 'a pending silence matches once it starts');
  assert.equal(silencedBy([], labels, NOW), undefined);
});

test('parseSilenceRequest: defaults, durations, times and matcher objects', () => {
  const a = parseSilenceRequest(
    {
      matchers: ['namespace=shop', 'rule=~crash.*'],
      duration: '2h',
      author: ' alice ',
      comment: 'load test',
    },
    NOW,
  );
  assert.deepEqual(a, {
    matchers: [
      { label: 'namespace', op: '=', value: 'shop' },
      { label: 'rule', op: '=~', value: 'crash.*' },
    ],
    startsAt: NOW,
    endsAt: NOW + 2 * HOUR,
    author: 'alice',
    comment: 'load test',
    now: NOW,
  });
  const b = parseSilenceRequest(
    {
      matchers: [{ label: 'name', op: '!~', value: 'cart-.*' }],
      startsAt: '2026-01-31T13:00:00Z',
      endsAt: NOW + 3 * HOUR,
      author: 'bob',
    },
    NOW,
  );
  assert.equal(b.startsAt, NOW + HOUR);
  assert.equal(b.endsAt, NOW + 3 * HOUR);
  assert.equal(b.comment, undefined);
  const c = parseSilenceRequest(
    { matchers: ['a=b'], startsAt: String(NOW), duration: '1h30m', author: 'c' },
    NOW,
  );
  assert.equal(c.endsAt, NOW + 90 * 60_000);
});

test('parseSilenceRequest: every error names its field', () => {
  const base = { matchers: ['namespace=shop'], duration: '2h', author: 'alice' };
  const cases: [unknown, RegExp][] = [
    [null, /^body: must be a JSON object/],
    [[], /^body: must be a JSON object/],
    [{ ...base, matchers: undefined }, /^matchers: required/],
    [{ ...base, matchers: 'a=b' }, /^matchers: must be a list of matchers/],
    [{ ...base, matchers: [] }, /^matchers: at least one matcher/],
    [{ ...base, matchers: ['a=b', 'foo'] }, /^matchers\[1\]: "foo" is not a matcher \(use label=value/],
    [{ ...base, matchers: ['a=~('] }, /^matchers\[0\]: "a=~\(": Invalid regular expression/],
    [
      { ...base, matchers: ['a=~a)(b'] },
      /^matchers\[0\]: "a=~a\)\(b": Invalid regular expression: \/a\)\(b\//,
    ],
    [
      { ...base, matchers: [{ label: 'x', op: '~', value: 'a' }] },
      /^matchers\[0\]\.op: must be one of =, !=, =~, !~/,
    ],
    [
      { ...base, matchers: [{ label: '1x', op: '=', value: 'a' }] },
      /^matchers\[0\]\.label: must be a label name/,
    ],
    [
      { ...base, matchers: [{ label: 'x', op: '=', value: 'a', extra: 1 }] },
      /^matchers\[0\]\.extra: unknown field/,
    ],
    [{ ...base, matchers: [42] }, /^matchers\[0\]: must be a matcher text/],
    [{ ...base, author: undefined }, /^author: required/],
    [{ ...base, author: '  ' }, /^author: must not be empty/],
    [{ ...base, comment: 7 }, /^comment: must be a string/],
    [{ ...base, duration: undefined }, /^endsAt: required/],
    [{ ...base, endsAt: NOW + HOUR }, /^duration: give either endsAt or duration, not both/],
    [{ ...base, duration: '2 hours' }, /^duration: invalid duration "2 hours"/],
    [{ ...base, duration: '0s' }, /^duration: must be longer than 0/],
    [{ ...base, duration: 2 }, /^duration: must be a duration/],
    [
      { ...base, duration: undefined, endsAt: 'tomorrow' },
      /^endsAt: must be epoch milliseconds or an ISO 8601 time/,
    ],
    [{ ...base, duration: undefined, endsAt: true }, /^endsAt: must be epoch milliseconds/],
    [{ ...base, startsAt: -5 }, /^startsAt: must be epoch milliseconds/],
    [
      { ...base, duration: undefined, startsAt: NOW + 2 * HOUR, endsAt: NOW + HOUR },
      /^endsAt: must be after startsAt/,
    ],
    [
      { ...base, duration: undefined, startsAt: NOW - 2 * HOUR, endsAt: NOW - HOUR },
      /^endsAt: must be in the future/,
    ],
    [
      { ...base, endAt: 5 },
      /^endAt: unknown field \(expected matchers, startsAt, endsAt, duration, author, comment\)/,
    ],
  ];
  for (const [body, pattern] of cases) {
    assert.throws(
      () => parseSilenceRequest(body, NOW),
      (e: unknown) => e instanceof HealwatchError && e.code === 'HW_ERR_USAGE' && pattern.test(e.message),
      `${JSON.stringify(body)} should fail with ${pattern}`,
    );
  }
});

// --- the HTTP API ------------------------------------------------------------------------------------

test('api: add, get, list by state (newest first), expire; 404 and 409', async (t) => {
  const store = memoryStore(t);
  const clock = { now: NOW };
  const server = await serve(t, { store, clock });

  const add = await call(server, 'POST', '/api/v1/silences', {
    body: {
      matchers: ['namespace=shop', 'rule=crashloop'],
      duration: '2h',
      author: 'alice',
      comment: 'load test',
    },
  });
  assert.equal(add.status, 201, add.text);
  const created = add.json as unknown as SilenceJson;
  assert.equal(add.headers.get('location'), `/api/v1/silences/${created.id}`);
  assert.deepEqual(created, {
    id: created.id,
    state: 'active',
    matchers: [
      { label: 'namespace', op: '=', value: 'shop' },
      { label: 'rule', op: '=', value: 'crashloop' },
    ],
    matchersText: ['namespace=shop', 'rule=crashloop'],
    startsAt: '2026-01-31T12:00:00.000Z',
    endsAt: '2026-01-31T14:00:00.000Z',
    expiredAt: null,
    author: 'alice',
    comment: 'load test',
    createdAt: '2026-01-31T12:00:00.000Z',
  });
  const later = await call(server, 'POST', '/api/v1/silences', {
    body: {
      matchers: [{ label: 'name', op: '=~', value: 'cart-.*' }],
      startsAt: '2026-01-31T18:00:00Z',
      endsAt: NOW + 8 * HOUR,
      author: 'bob',
    },
  });
  assert.equal(later.status, 201, later.text);
  assert.equal(later.json.state, 'pending');

  const got = await call(server, 'GET', `/api/v1/silences/${created.id}`);
  assert.equal(got.status, 200);
  assert.deepEqual(got.json, created);

  const all = await call(server, 'GET', '/api/v1/silences');
  assert.equal(all.status, 200);
  assert.equal(all.json.total, 2);
  assert.equal(all.json.state, 'all');
  assert.deepEqual(
    (all.json.items as SilenceJson[]).map((s) => s.id),
    [later.json.id, created.id],
    'newest first',
  );
  const active = await call(server, 'GET', '/api/v1/silences?state=active');
  assert.deepEqual(
    (active.json.items as SilenceJson[]).map((s) => s.id),
    [created.id],
  );
  const pending = await call(server, 'GET', '/api/v1/silences?state=pending');
  assert.deepEqual(
    (pending.json.items as SilenceJson[]).map((s) => s.id),
    [later.json.id],
  );
  const paged = await call(server, 'GET', '/api/v1/silences?limit=1&offset=1');
  assert.equal(paged.json.total, 2);
  assert.deepEqual(
    (paged.json.items as SilenceJson[]).map((s) => s.id),
    [created.id],
  );
  assert.equal((await call(server, 'GET', '/api/v1/silences?state=gone')).status, 400);

  clock.now = NOW + 30 * 60_000;
  const expire = await call(server, 'DELETE', `/api/v1/silences/${created.id}`);
  assert.equal(expire.status, 200, expire.text);
  assert.equal(expire.json.state, 'expired');
  assert.equal(expire.json.expiredAt, '2026-01-31T12:30:00.000Z');
  assert.equal(store.getSilence(created.id)?.expiredAt, NOW + 30 * 60_000);
  const again = await call(server, 'DELETE', `/api/v1/silences/${created.id}`);
  assert.equal(again.status, 409);
  assert.match(again.json.error ?? '', /already expired at 2026-01-31T12:30:00\.000Z/);
  const expiredList = await call(server, 'GET', '/api/v1/silences?state=expired');
  assert.deepEqual(
    (expiredList.json.items as SilenceJson[]).map((s) => s.id),
    [created.id],
  );
  // A pending silence can be expired before it starts.
  assert.equal((await call(server, 'DELETE', `/api/v1/silences/${String(later.json.id)}`)).status, 200);

  for (const path of ['/api/v1/silences/999', '/api/v1/silences/abc', '/api/v1/silences/0']) {
    const missing = await call(server, 'GET', path);
    assert.equal(missing.status, 404, path);
    assert.match(missing.json.error ?? '', /no silence with id/);
    assert.equal((await call(server, 'DELETE', path)).status, 404);
  }
  assert.equal((await call(server, 'GET', '/api/v1/silences/1/x')).status, 404);
  const put = await call(server, 'PUT', `/api/v1/silences/${created.id}`);
  assert.equal(put.status, 405);
  assert.equal(put.headers.get('allow'), 'GET, HEAD, DELETE');
  assert.equal((await call(server, 'DELETE', '/api/v1/silences')).status, 405);
});

test('api: a bad silence is a 400 naming the field; JSON only, at most 64 KiB', async (t) => {
  const server = await serve(t, { store: memoryStore(t) });
  const bad = async (body: unknown, pattern: RegExp): Promise<void> => {
    const r = await call(server, 'POST', '/api/v1/silences', { body });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error ?? '', pattern);
  };
  await bad(
    { matchers: ['namespace=shop', 'foo'], duration: '2h', author: 'a' },
    /^matchers\[1\]: "foo" is not a matcher/,
  );
  await bad(
    { matchers: ['a=b'], startsAt: NOW + HOUR, endsAt: NOW, author: 'a' },
    /^endsAt: must be after startsAt/,
  );
  await bad({ matchers: ['a=b'], duration: '2h' }, /^author: required/);
  await bad('{"matchers": [', /^body: not valid JSON/);
  await bad('', /^body: a JSON object is required/);

  const text = await call(server, 'POST', '/api/v1/silences', {
    body: '{}',
    headers: { 'Content-Type': 'text/plain' },
  });
  assert.equal(text.status, 415);
  assert.match(text.json.error ?? '', /Content-Type: application\/json/);
  const form = await call(server, 'POST', '/api/v1/silences', {
    body: 'matchers=a',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(form.status, 415);
  const charset = await call(server, 'POST', '/api/v1/silences', {
    body: { matchers: ['a=b'], duration: '1h', author: 'a' },
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
  });
  assert.equal(charset.status, 201);

  const huge = JSON.stringify({
    matchers: ['a=b'],
    duration: '1h',
    author: 'a',
    comment: 'x'.repeat(70_000),
  });
  const tooLarge = await call(server, 'POST', '/api/v1/silences', { body: huge });
  assert.equal(tooLarge.status, 413);
  assert.match(tooLarge.json.error ?? '', /larger than 64 KiB/);
  const chunked = await rawRequest(
    server,
    'POST',
    '/api/v1/silences',
    { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
    huge,
  );
  assert.equal(chunked.status, 413, 'without a Content-Length too');
});

test('api: without a store the silences answer 503; the receivers answer an empty list', async (t) => {
  const server = await serve(t);
  for (const [method, path, body] of [
    ['GET', '/api/v1/silences', undefined],
    ['GET', '/api/v1/silences/1', undefined],
    ['POST', '/api/v1/silences', { matchers: ['a=b'], duration: '1h', author: 'a' }],
    ['DELETE', '/api/v1/silences/1', undefined],
  ] as const) {
    const r = await call(server, method, path, body ? { body } : {});
    assert.equal(r.status, 503, `${method} ${path}`);
    assert.equal(r.json.error, 'silences need the durable store: run with --data DIR');
  }
  const receivers = await call(server, 'GET', '/api/v1/receivers');
  assert.equal(receivers.status, 200);
  assert.deepEqual(receivers.json, { receivers: [], heartbeat: null });
  const metrics = await call(server, 'GET', '/metrics');
  assert.doesNotMatch(
    metrics.text,
    /healwatch_notifications_|healwatch_receiver_up|healwatch_silences_active/,
  );
});

test('api: the silences and receivers need the token', async (t) => {
  const token = 'canary-silence-token-41';
  const server = await serve(t, { store: memoryStore(t), token });
  const auth = { Authorization: `Bearer ${token}` };
  const body = { matchers: ['a=b'], duration: '1h', author: 'a' };
  for (const [method, path] of [
    ['GET', '/api/v1/silences'],
    ['GET', '/api/v1/silences/1'],
    ['POST', '/api/v1/silences'],
    ['DELETE', '/api/v1/silences/1'],
    ['GET', '/api/v1/receivers'],
  ] as const) {
    const none = await call(server, method, path, method === 'POST' ? { body } : {});
    assert.equal(none.status, 401, `${method} ${path}`);
    const wrong = await call(server, method, path, {
      headers: { Authorization: 'Bearer nope' },
      ...(method === 'POST' ? { body } : {}),
    });
    assert.equal(wrong.status, 401);
    assert.ok(!none.text.includes(token) && !wrong.text.includes(token));
  }
  const added = await call(server, 'POST', '/api/v1/silences', { body, headers: auth });
  assert.equal(added.status, 201);
  assert.equal((await call(server, 'GET', '/api/v1/silences', { headers: auth })).json.total, 1);
  assert.equal((await call(server, 'GET', '/api/v1/receivers', { headers: auth })).status, 200);
  // With a token, a non-loopback Host is fine (the token is the protection).
  const viaName = await rawRequest(server, 'DELETE', `/api/v1/silences/${String(added.json.id)}`, {
    Host: 'healwatch.example:8080',
    ...auth,
  });
  assert.equal(viaName.status, 200, viaName.body);
});

test('api: POST and DELETE from another origin are refused, and without a token from a non-loopback Host', async (t) => {
  const server = await serve(t, { store: memoryStore(t) });
  const body = { matchers: ['a=b'], duration: '1h', author: 'a' };
  for (const origin of ['http://evil.example', 'null', `${server.url.replace('127.0.0.1', 'localhost')}`]) {
    const post = await call(server, 'POST', '/api/v1/silences', { body, headers: { Origin: origin } });
    assert.equal(post.status, 403, origin);
    assert.match(post.json.error ?? '', /cross-site request refused/);
  }
  const same = await call(server, 'POST', '/api/v1/silences', { body, headers: { Origin: server.url } });
  assert.equal(same.status, 201, same.text);
  const id = String(same.json.id);
  const del = await call(server, 'DELETE', `/api/v1/silences/${id}`, {
    headers: { Origin: 'https://evil.example' },
  });
  assert.equal(del.status, 403);
  // Reading stays possible from anywhere that can reach it (GET changes nothing).
  assert.equal(
    (await call(server, 'GET', '/api/v1/silences', { headers: { Origin: 'http://evil.example' } })).status,
    200,
  );
  // A DNS-rebound page sends its own name as Host (and as Origin): refused without a token.
  const rebound = await rawRequest(
    server,
    'POST',
    '/api/v1/silences',
    { Host: 'evil.example:8080', Origin: 'http://evil.example:8080', 'Content-Type': 'application/json' },
    JSON.stringify(body),
  );
  assert.equal(rebound.status, 403);
  assert.match(rebound.body, /loopback Host/);
  // Its reads too: the findings and alerts must not leak to it.
  const reboundRead = await rawRequest(server, 'GET', '/api/v1/alerts', { Host: 'evil.example:8080' });
  assert.equal(reboundRead.status, 403);
  assert.equal((await rawRequest(server, 'GET', '/healthz', { Host: 'evil.example:8080' })).status, 200);
  const localhost = await rawRequest(server, 'DELETE', `/api/v1/silences/${id}`, {
    Host: `localhost:${server.port}`,
  });
  assert.equal(localhost.status, 200, localhost.body);
});

test('api: /api/v1/receivers and /metrics report the receivers and the active silences', async (t) => {
  const store = memoryStore(t);
  store.addSilence({
    matchers: [{ label: 'a', op: '=', value: 'b' }],
    startsAt: NOW - 1,
    endsAt: NOW + HOUR,
    author: 'a',
    now: NOW,
  });
  store.addSilence({
    matchers: [{ label: 'a', op: '=', value: 'c' }],
    startsAt: NOW + 1,
    endsAt: NOW + HOUR,
    author: 'a',
    now: NOW,
  });
  const receivers: ReceiverHealth[] = [
    {
      name: 'team-slack',
      type: 'slack',
      state: 'ok',
      queued: 0,
      sent: 12,
      dead: 0,
      suppressed: 3,
      failedAttempts: 1,
      sinceStart: { sent: 12, dead: 0, suppressed: 3 },
      lastSentAt: NOW - 60_000,
    },
    {
      name: 'pager "on-call"',
      type: 'pagerduty',
      state: 'failing',
      queued: 2,
      sent: 4,
      dead: 1,
      suppressed: 0,
      failedAttempts: 5,
      sinceStart: { sent: 4, dead: 1, suppressed: 0 },
      lastError: 'HTTP 503 from events.pagerduty.com',
      lastErrorAt: NOW - 5_000,
      nextAttemptAt: NOW + 25_000,
      oldestQueuedAt: NOW - 120_000,
    },
  ];
  const server = await serve(t, { store, notifications: { receivers: () => receivers } });
  const r = await call(server, 'GET', '/api/v1/receivers');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.receivers, [
    {
      name: 'team-slack',
      type: 'slack',
      state: 'ok',
      queued: 0,
      sent: 12,
      dead: 0,
      suppressed: 3,
      failedAttempts: 1,
      sinceStart: { sent: 12, dead: 0, suppressed: 3 },
      lastSentAt: '2026-01-31T11:59:00.000Z',
      lastError: null,
      lastErrorAt: null,
      nextAttemptAt: null,
      oldestQueuedAt: null,
    },
    {
      name: 'pager "on-call"',
      type: 'pagerduty',
      state: 'failing',
      queued: 2,
      sent: 4,
      dead: 1,
      suppressed: 0,
      failedAttempts: 5,
      sinceStart: { sent: 4, dead: 1, suppressed: 0 },
      lastSentAt: null,
      lastError: 'HTTP 503 from events.pagerduty.com',
      lastErrorAt: '2026-01-31T11:59:55.000Z',
      nextAttemptAt: '2026-01-31T12:00:25.000Z',
      oldestQueuedAt: '2026-01-31T11:58:00.000Z',
    },
  ]);
  const metrics = await call(server, 'GET', '/metrics');
  assert.equal(metrics.status, 200);
  const lines = metrics.text.split('\n');
  const has = (line: string): void => assert.ok(lines.includes(line), `missing ${line}`);
  has('# TYPE healwatch_notifications_sent_total counter');
  has('healwatch_notifications_sent_total{receiver="team-slack",type="slack"} 12');
  has('healwatch_notifications_sent_total{receiver="pager \\"on-call\\"",type="pagerduty"} 4');
  has('# TYPE healwatch_notifications_failed_total counter');
  has('healwatch_notifications_failed_total{receiver="pager \\"on-call\\"",type="pagerduty"} 5');
  has('# TYPE healwatch_notifications_queued gauge');
  has('healwatch_notifications_queued{receiver="pager \\"on-call\\"",type="pagerduty"} 2');
  has('# TYPE healwatch_notifications_dead_total counter');
  has('healwatch_notifications_dead_total{receiver="pager \\"on-call\\"",type="pagerduty"} 1');
  has('# TYPE healwatch_notifications_suppressed_total counter');
  has('healwatch_notifications_suppressed_total{receiver="team-slack",type="slack"} 3');
  has('# TYPE healwatch_receiver_up gauge');
  has('healwatch_receiver_up{receiver="team-slack",type="slack"} 1');
  has('healwatch_receiver_up{receiver="pager \\"on-call\\"",type="pagerduty"} 0');
  has('# TYPE healwatch_silences_active gauge');
  has('healwatch_silences_active 1');
});

// --- the CLI -----------------------------------------------------------------------------------------

test('cli: `healwatch silence` adds, lists and expires through a running API, with the token', async (t) => {
  const store = memoryStore(t);
  const token = 'canary-cli-token-93';
  const clock = { now: Date.now() };
  const server = await serve(t, { store, token, clock });
  const dir = mkdtempSync(join(tmpdir(), 'hw-silence-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`);
  const api = ['--url', server.url, '--token-file', tokenFile];

  const add = await runCli([
    'silence',
    'add',
    'namespace=shop',
    'rule=crashloop',
    '--duration',
    '2h',
    '--comment',
    'load test',
    '--author',
    'alice',
    '-o',
    'json',
    ...api,
  ]);
  assert.equal(add.code, 0, add.stderr);
  const created = JSON.parse(add.stdout) as SilenceJson;
  assert.deepEqual(created.matchersText, ['namespace=shop', 'rule=crashloop']);
  assert.equal(created.state, 'active');
  assert.equal(created.author, 'alice');
  assert.equal(store.getSilence(created.id)?.endsAt, clock.now + 2 * HOUR);

  const [list, table, badMatcher, noToken, wrongToken] = await Promise.all([
    runCli(['silence', 'list', '-o', 'json', ...api]),
    runCli(['silence', 'list', '--state', 'active', '--url', server.url], {
      env: { HEALWATCH_TOKEN: token },
    }),
    runCli(['silence', 'add', 'namespace=shop', 'foo', '--duration', '2h', ...api]),
    runCli(['silence', 'list', '--url', server.url], { env: { HEALWATCH_TOKEN: '' } }),
    runCli(['silence', 'list', '--url', server.url], { env: { HEALWATCH_TOKEN: 'wrong-token-55' } }),
  ]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as SilenceJson[]).map((s) => s.id),
    [created.id],
  );
  assert.equal(table.code, 0, table.stderr);
  const [header, row] = table.stdout.trimEnd().split('\n');
  assert.match(header!, /^ID\s+STATE\s+MATCHERS\s+STARTS\s+ENDS\s+AUTHOR\s+COMMENT$/);
  assert.match(
    row!,
    new RegExp(
      `^${created.id}\\s+active\\s+namespace=shop rule=crashloop\\s+\\S+Z\\s+\\S+Z\\s+alice\\s+load test$`,
    ),
  );
  assert.equal(badMatcher.code, 2);
  assert.match(badMatcher.stderr, /"foo" is not a matcher .*\[HW_ERR_USAGE\]/);
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /requires a bearer token: pass --token-file FILE or set HEALWATCH_TOKEN/);
  assert.equal(wrongToken.code, 2);
  assert.match(wrongToken.stderr, /rejected the token/);
  for (const r of [add, list, table, badMatcher, noToken, wrongToken])
    assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token), 'the token is never printed');
  assert.ok(!wrongToken.stderr.includes('wrong-token-55'));

  const refused = await runCli([
    'silence',
    'add',
    'a=b',
    '--start',
    '2026-01-01T00:00:00Z',
    '--until',
    '2026-01-01T01:00:00Z',
    ...api,
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /the API refused the request: endsAt: must be in the future/);

  const expire = await runCli(['silence', 'expire', String(created.id), ...api]);
  assert.equal(expire.code, 0, expire.stderr);
  assert.match(expire.stdout, new RegExp(`^${created.id}\\s+expired\\s`, 'm'));
  assert.notEqual(store.getSilence(created.id)?.expiredAt, undefined);
  const [twice, unknown, empty] = await Promise.all([
    runCli(['silence', 'expire', String(created.id), ...api]),
    runCli(['silence', 'expire', '999', ...api]),
    runCli(['silence', 'list', '--state', 'active', ...api]),
  ]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /already expired/);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no silence with id 999/);
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, 'no silences (active)\n');
});

test('cli: `healwatch silence` names the URL it cannot reach, and says when the API has no store', async (t) => {
  const closed = await startServer({ service: stub({ now: NOW }), port: 0 });
  const url = closed.url;
  await closed.close();
  const down = await runCli(['silence', 'list', '--url', url], { env: { HEALWATCH_TOKEN: '' } });
  assert.equal(down.code, 1);
  assert.ok(down.stderr.includes(`cannot reach the Healwatch API at ${url}`), down.stderr);
  const server = await serve(t);
  const noStore = await runCli(['silence', 'list', '--url', server.url], { env: { HEALWATCH_TOKEN: '' } });
  assert.equal(noStore.code, 1);
  assert.match(noStore.stderr, /silences need the durable store: run with --data DIR/);
  const usage = await runCli(['silence', 'expire', 'abc', '--url', server.url]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /silence ID must be a positive integer/);
});

test('cli: `healwatch silence --data DIR` works on the store file, next to a process holding it open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hw-silence-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // As `healwatch run --data DIR` would: the store is open in another process.
  const store = Store.open(join(dir, STORE_FILE_NAME));
  t.after(() => store.close());
  const data = ['--data', dir];
  const until = new Date(Date.now() + 3 * HOUR).toISOString();
  const add = await runCli([
    'silence',
    'add',
    'name=~cart-.*',
    '--until',
    until,
    '--author',
    'bob',
    '-o',
    'json',
    ...data,
  ]);
  assert.equal(add.code, 0, add.stderr);
  const created = JSON.parse(add.stdout) as SilenceJson;
  assert.equal(created.endsAt, until);
  assert.deepEqual(
    store.listSilences({ activeAt: Date.now() }).map((s) => s.id),
    [created.id],
  );

  const list = await runCli(['silence', 'list', '-o', 'json', ...data]);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    (JSON.parse(list.stdout) as SilenceJson[]).map((s) => [s.id, s.state]),
    [[created.id, 'active']],
  );
  const expire = await runCli(['silence', 'expire', String(created.id), ...data]);
  assert.equal(expire.code, 0, expire.stderr);
  assert.notEqual(store.getSilence(created.id)?.expiredAt, undefined);

  const [bad, both, missing, help] = await Promise.all([
    runCli(['silence', 'add', 'a=b', '--duration', 'forever', ...data]),
    runCli(['silence', 'list', ...data, '--url', 'http://127.0.0.1:1']),
    runCli(['silence', 'list', '--data', join(dir, 'nope')]),
    runCli(['silence', '--help']),
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--duration forever: invalid duration/);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either --data DIR .* or --url/);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no Healwatch database there .*\[HW_ERR_STORE\]/);
  assert.equal(help.code, 0);
  assert.ok(
    help.stdout.includes(
      'healwatch silence add namespace=shop rule=crashloop --duration 2h --comment "load test"',
    ),
    help.stdout,
  );
});
