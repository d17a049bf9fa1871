import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../src/alerts/tracker.js';
import type { ServiceTransition } from '../../src/app/service.js';
import { fingerprintOf, type Finding, type Level } from '../../src/domain/index.js';
import { Notifications, resolveNotifications } from '../../src/notify/index.js';
import type { DeliveryOutcome } from '../../src/notify/deliverer.js';
import { Store } from '../../src/store/index.js';
import { startCaptureServer, type CaptureServer } from '../helpers/receiver.js';

// Saturday 2026-11-28 03:00 in Berlin (02:00 UTC); business hours Mon-Fri 09:00-17:00 Europe/Berlin.
const SAT_NIGHT = Date.parse('2026-11-28T02:00:00Z');
const MONDAY_OPEN = Date.parse('2026-11-30T08:00:00Z');

interface Body {
  alerts: { fingerprint: string; status: string; reason: string; level: string; note?: string }[];
  groupLabels: Record<string, string>;
  idempotencyKey: string;
}

function finding(ruleId: string, namespace: string, name: string, level: Level): Finding {
  return {
    ruleId,
    level,
    object: { kind: 'Deployment', namespace, name },
    title: `${namespace}/${name} ${ruleId}`,
    loop: 'Replacement: the ReplicaSet controller cannot bring replicas back.',
    message: 'Available 0 of 3.',
    evidence: [{ type: 'state', text: 'available 0/3' }],
    nextSteps: [`kubectl -n ${namespace} describe deploy ${name}`],
    facts: {},
  };
}

function firingAlert(f: Finding, firingSince: number): Alert {
  return {
    fingerprint: fingerprintOf(f),
    state: 'firing',
    level: f.level,
    finding: f,
    pendingSince: firingSince,
    firingSince,
    resolvedAt: undefined,
    lastSeenAt: firingSince,
    missingSince: undefined,
    levelHistory: [{ level: f.level, at: firingSince }],
    flaps: 0,
  };
}

function resolved(a: Alert, at: number): ServiceTransition {
  a.state = 'resolved';
  a.resolvedAt = at;
  return { type: 'resolved', fingerprint: a.fingerprint, level: a.level, at, finding: a.finding, alert: a };
}

/** Two webhook receivers (on-call and chat) on capture servers, a store, and a manual clock. */
async function setup(t: TestContext, extra: Record<string, unknown> = {}, routes?: unknown[]) {
  const oncall = await startCaptureServer();
  const chat = await startCaptureServer();
  t.after(() => Promise.all([oncall.close(), chat.close()]));
  const config = resolveNotifications({
    receivers: [
      { name: 'oncall', type: 'webhook', url: `${oncall.url}/hook` },
      { name: 'chat', type: 'webhook', url: `${chat.url}/hook` },
    ],
    routes: routes ?? [
      { receivers: ['oncall'], levels: ['alert'] },
      { receivers: ['chat'], levels: ['notice'], groupBy: ['namespace'] },
    ],
    businessHours: { timeZone: 'Europe/Berlin', days: ['mon-fri'], start: '09:00', end: '17:00' },
    ...extra,
  });
  const store = Store.open(':memory:');
  t.after(() => store.close());
  const clock = { now: SAT_NIGHT };
  const outcomes: DeliveryOutcome[] = [];
  const n = new Notifications({
    store,
    config,
    clusterName: 'prod',
    now: () => clock.now,
    isReady: () => true,
    baseBackoffMs: 1000,
    random: () => 0.5,
    onOutcome: (o) => outcomes.push(o),
  });
  // The delivery loop is driven by hand (deliverNow); dispatch writes inside a transaction as the service does.
  const dispatch = (transitions: ServiceTransition[], firing: Alert[]): number =>
    store.transaction(() => n.dispatch(transitions, firing, clock.now));
  return { oncall, chat, store, clock, n, dispatch, outcomes };
}

const bodies = (s: CaptureServer): Body[] => s.requests.map((r) => r.json as Body);

test('routing by level: an Alert goes to on-call at once at night; Notices wait for business hours and go as one group', async (t) => {
  const { oncall, chat, store, clock, n, dispatch } = await setup(t);
  const page = firingAlert(finding('deployment-replicas', 'shop', 'cart', 'alert'), clock.now);
  const n1 = firingAlert(finding('crashloop', 'shop', 'cart', 'notice'), clock.now);
  const n2 = firingAlert(finding('oom-killed', 'shop', 'frontend', 'notice'), clock.now);
  assert.equal(dispatch([], [page, n1, n2]), 3);
  await n.deliverNow();
  assert.equal(oncall.requests.length, 1, 'the page went out at 03:00 on a Saturday');
  assert.deepEqual(
    bodies(oncall)[0]!.alerts.map((a) => [a.fingerprint, a.status, a.level]),
    [[page.fingerprint, 'firing', 'alert']],
  );
  assert.equal(chat.requests.length, 0, 'Notices are held outside business hours');
  const held = store.recentOutbox({ receiver: 'chat' });
  assert.deepEqual(
    held.map((m) => [m.state, m.nextAttemptAt]),
    [
      ['queued', MONDAY_OPEN],
      ['queued', MONDAY_OPEN],
    ],
    'held until Monday 09:00 Europe/Berlin',
  );
  // Dispatching again (the next evaluation) queues nothing new.
  assert.equal(dispatch([], [page, n1, n2]), 0);
  clock.now = MONDAY_OPEN - 60_000;
  await n.deliverNow();
  assert.equal(chat.requests.length, 0);
  clock.now = MONDAY_OPEN;
  await n.deliverNow();
  assert.equal(chat.requests.length, 1, 'both Notices of namespace shop in one message');
  assert.deepEqual(bodies(chat)[0]!.groupLabels, { namespace: 'shop' });
  assert.deepEqual(
    bodies(chat)[0]!
      .alerts.map((a) => a.fingerprint)
      .sort(),
    [n1.fingerprint, n2.fingerprint].sort(),
  );
  assert.equal(oncall.requests.length, 1, 'no Notice reached the on-call receiver');

  // The Alert resolves: on-call gets one resolved message, chat (never told of it) nothing.
  dispatch([resolved(page, clock.now)], [n1, n2]);
  await n.deliverNow();
  assert.equal(oncall.requests.length, 2);
  assert.deepEqual(
    bodies(oncall)[1]!.alerts.map((a) => [a.fingerprint, a.status]),
    [[page.fingerprint, 'resolved']],
  );
  assert.equal(chat.requests.length, 1);
  assert.deepEqual(
    n.receivers().map((r) => [r.name, r.state, r.sent, r.queued]),
    [
      ['oncall', 'ok', 2, 0],
      ['chat', 'ok', 2, 0],
    ],
  );
});

test('repeat interval, level changes, and a Notice that fired and resolved overnight is told once in the morning', async (t) => {
  const { oncall, chat, clock, n, dispatch } = await setup(t);
  const page = firingAlert(finding('deployment-replicas', 'shop', 'cart', 'alert'), clock.now);
  dispatch([], [page]);
  await n.deliverNow();
  assert.equal(oncall.requests.length, 1);
  clock.now += 4 * 3_600_000 - 1000;
  dispatch([], [page]);
  await n.deliverNow();
  assert.equal(oncall.requests.length, 1, 'no repeat before 4 h');
  clock.now += 1000;
  dispatch([], [page]);
  dispatch([], [page]);
  await n.deliverNow();
  assert.equal(oncall.requests.length, 2, 'one repeat after 4 h, however often it is evaluated');
  assert.equal(bodies(oncall)[1]!.alerts[0]!.reason, 'repeat');

  // De-escalated to Notice: the on-call receiver (alerts only) is told it is over; chat gets it in business hours.
  page.level = 'notice';
  page.finding = { ...page.finding, level: 'notice' };
  dispatch(
    [
      {
        type: 'level-changed',
        fingerprint: page.fingerprint,
        level: 'notice',
        previousLevel: 'alert',
        at: clock.now,
        finding: page.finding,
        alert: page,
      },
    ],
    [page],
  );
  await n.deliverNow();
  assert.equal(oncall.requests.length, 3);
  assert.equal(bodies(oncall)[2]!.alerts[0]!.status, 'resolved');
  assert.match(bodies(oncall)[2]!.alerts[0]!.note ?? '', /notice/);

  // A Notice that fires at night and resolves before morning: one message on Monday, telling both.
  const blip = firingAlert(finding('crashloop', 'web', 'api', 'notice'), clock.now);
  dispatch([], [page, blip]);
  clock.now += 3_600_000;
  dispatch([resolved(blip, clock.now)], [page]);
  clock.now = MONDAY_OPEN;
  await n.deliverNow();
  const web = bodies(chat).filter((b) => b.groupLabels.namespace === 'web');
  assert.equal(web.length, 1);
  assert.equal(web[0]!.alerts.length, 1);
  assert.equal(web[0]!.alerts[0]!.status, 'resolved');
  assert.match(web[0]!.alerts[0]!.note ?? '', /fired at .* and resolved at .* before this message went out/);
});

test('digest: Notices held overnight from several namespaces go out as one message per receiver', async (t) => {
  const { chat, clock, n, dispatch } = await setup(t, {}, [
    { receivers: ['oncall'], levels: ['alert'] },
    { receivers: ['chat'], levels: ['notice'], digest: true },
  ]);
  const a = firingAlert(finding('crashloop', 'shop', 'cart', 'notice'), clock.now);
  const b = firingAlert(finding('crashloop', 'web', 'api', 'notice'), clock.now);
  const c = firingAlert(finding('image-pull', 'batch', 'etl', 'notice'), clock.now);
  dispatch([], [a, b, c]);
  clock.now = MONDAY_OPEN;
  await n.deliverNow();
  assert.equal(chat.requests.length, 1);
  assert.equal(bodies(chat)[0]!.alerts.length, 3);
  // Within business hours, new Notices are grouped by namespace again (no digest needed).
  const d = firingAlert(finding('crashloop', 'shop', 'worker', 'notice'), clock.now);
  dispatch([], [a, b, c, d]);
  clock.now += 30_000;
  await n.deliverNow();
  assert.equal(chat.requests.length, 2);
  assert.deepEqual(bodies(chat)[1]!.groupLabels, { namespace: 'shop' });
});

test('a silenced alert is not sent, and is told when the silence ends while it still fires', async (t) => {
  const { oncall, store, clock, n, dispatch, outcomes } = await setup(t);
  const page = firingAlert(finding('deployment-replicas', 'shop', 'cart', 'alert'), clock.now);
  const s = store.addSilence({
    matchers: [{ label: 'namespace', op: '=', value: 'shop' }],
    startsAt: clock.now - 1,
    endsAt: clock.now + 3_600_000,
    author: 'alice',
    comment: 'deploying',
    now: clock.now,
  });
  dispatch([], [page]);
  dispatch([], [page]);
  await n.deliverNow();
  assert.equal(oncall.requests.length, 0);
  assert.equal(n.receivers()[0]!.suppressed, 1, 'recorded once as suppressed');
  clock.now += 3_600_000;
  dispatch([], [page]);
  await n.deliverNow();
  assert.equal(oncall.requests.length, 1, 'told once the silence is over');
  // A message queued before a silence was set is dropped when it comes due.
  const other = firingAlert(finding('deployment-replicas', 'web', 'api', 'alert'), clock.now);
  store.transaction(() => n.dispatch([], [page, other], clock.now));
  store.addSilence({
    matchers: [{ label: 'name', op: '=~', value: 'ap.*' }],
    startsAt: clock.now - 1,
    endsAt: clock.now + 60_000,
    author: 'bob',
    now: clock.now,
  });
  await n.deliverNow();
  assert.equal(oncall.requests.length, 1);
  assert.ok(outcomes.some((o) => o.result === 'suppressed'));
  assert.equal(s.id, 1);
});

test('retries through a receiver outage: backoff, Retry-After, nothing lost, in order; refusals are given up', async (t) => {
  const { oncall, store, clock, n, dispatch } = await setup(t);
  oncall.script({ status: 503 }, { status: 503, headers: { 'retry-after': '120' } }, { status: 502 });
  const alerts = ['a', 'b', 'c'].map((name) =>
    firingAlert(finding('deployment-replicas', name, name, 'alert'), clock.now),
  );
  dispatch([], alerts);
  await n.deliverNow();
  assert.equal(oncall.requests.length, 1, 'the first failure stops the receiver for its backoff');
  let h = n.receivers()[0]!;
  assert.equal(h.state, 'failing');
  assert.equal(h.queued, 3);
  assert.match(h.lastError ?? '', /HTTP 503/);
  const firstRetry = h.nextAttemptAt!;
  assert.ok(firstRetry - clock.now >= 500 && firstRetry - clock.now <= 1000, 'jittered first backoff');
  await n.deliverNow();
  assert.equal(oncall.requests.length, 1, 'nothing is tried during the backoff');
  clock.now = firstRetry;
  await n.deliverNow();
  assert.equal(oncall.requests.length, 2);
  h = n.receivers()[0]!;
  assert.ok(h.nextAttemptAt! - clock.now >= 120_000, 'Retry-After: 120 is honoured');
  clock.now = h.nextAttemptAt!;
  await n.deliverNow();
  clock.now = n.receivers()[0]!.nextAttemptAt!;
  await n.deliverNow();
  // The receiver is back: all three delivered, each exactly once, in the order they were queued.
  const delivered = oncall.requests.slice(3).map((r) => (r.json as Body).alerts[0]!.fingerprint);
  assert.deepEqual(
    delivered,
    alerts.map((a) => a.fingerprint),
  );
  h = n.receivers()[0]!;
  assert.deepEqual([h.state, h.sent, h.queued, h.dead, h.failedAttempts], ['ok', 3, 0, 0, 3]);
  // The same delivery keeps its idempotency key across retries.
  const keys = oncall.requests.slice(0, 4).map((r) => r.headers['idempotency-key']);
  assert.equal(new Set(keys).size, 1);

  // A refusal (400) is not retried.
  oncall.script({ status: 400, body: 'bad payload' });
  const d = firingAlert(finding('deployment-replicas', 'd', 'd', 'alert'), clock.now);
  dispatch([], [...alerts, d]);
  await n.deliverNow();
  h = n.receivers()[0]!;
  assert.deepEqual([h.dead, h.queued, h.state], [1, 0, 'ok']);
  const dead = store.recentOutbox({ receiver: 'oncall', limit: 1 })[0]!;
  assert.equal(dead.state, 'dead');
  assert.match(dead.lastError ?? '', /HTTP 400: bad payload/);
});

test('a receiver down for longer than retryFor: retried at least that long, then given up', async (t) => {
  const { oncall, clock, n, dispatch } = await setup(t, { retryFor: '24h' });
  oncall.fallback = { status: 503 };
  const start = clock.now;
  dispatch([], [firingAlert(finding('deployment-replicas', 'a', 'a', 'alert'), clock.now)]);
  let tries = 0;
  while (n.receivers()[0]!.queued > 0 && tries < 1000) {
    await n.deliverNow();
    tries++;
    const next = n.receivers()[0]!.nextAttemptAt;
    if (next !== undefined) clock.now = next;
  }
  const h = n.receivers()[0]!;
  assert.equal(h.dead, 1);
  assert.ok(clock.now - start >= 24 * 3_600_000, `retried for ${(clock.now - start) / 3_600_000} h`);
  assert.ok(
    oncall.requests.length > 250 && oncall.requests.length < 400,
    `${oncall.requests.length} attempts (5-minute cap)`,
  );
});
