import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openDatabase, migrate, StoreError, userVersion } from '../../src/store/db.js';
import { LATEST_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { BUCKET_MS, CorruptRowError, Store, type AlertInput } from '../../src/store/store.js';
import { AlertTracker } from '../../src/alerts/tracker.js';
import { fingerprintOf, type Finding, type Level } from '../../src/domain/index.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'healwatch-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Opens a store and closes it when the test ends; corrupt rows are collected. */
function open(t: { after(fn: () => void): void }, file: string) {
  const corrupt: CorruptRowError[] = [];
  const store = Store.open(file, { onCorruptRow: (e) => corrupt.push(e) });
  t.after(() => store.close());
  return { store, corrupt };
}

const finding = (name: string, level: Level = 'alert', extra: Partial<Finding> = {}): Finding => ({
  ruleId: 'crashloop',
  level,
  object: { kind: 'Deployment', namespace: 'shop', name },
  title: `${name} is crash-looping`,
  loop: 'restart',
  message: 'the container restarts every minute',
  evidence: [{ type: 'restarts', text: '12 restarts in 10m', at: 1_000 }],
  nextSteps: [`kubectl -n shop logs deploy/${name} --previous`],
  facts: { restarts: 12, ready: false, reason: 'CrashLoopBackOff' },
  ...extra,
});

const alertOf = (f: Finding, extra: Partial<AlertInput> = {}): AlertInput => ({
  fingerprint: fingerprintOf(f),
  state: 'firing',
  level: f.level,
  finding: f,
  pendingSince: 1_000,
  firingSince: 2_000,
  resolvedAt: undefined,
  lastSeenAt: 3_000,
  ...extra,
});

test('migrations apply once, set user_version and WAL, and are idempotent on reopen', (t) => {
  const file = join(tempDir(t), 'nested', 'healwatch.db');
  const db = openDatabase(file);
  assert.equal(userVersion(db), LATEST_VERSION);
  assert.equal(LATEST_VERSION, MIGRATIONS.length);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('synchronous', { simple: true }), 1); // NORMAL
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
  const tables = (
    db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
  for (const name of ['alert_events', 'alerts', 'meta', 'outbox', 'samples', 'samples_5m', 'silences'])
    assert.ok(tables.includes(name), `table ${name} exists`);
  // Running the migrations again changes nothing (the CREATE TABLEs would fail if re-run).
  assert.deepEqual(migrate(db, file), { from: LATEST_VERSION, to: LATEST_VERSION });
  db.close();
  const again = openDatabase(file);
  assert.equal(userVersion(again), LATEST_VERSION);
  again.close();
});

test('a new migration applies on top of an existing database, in order', (t) => {
  const file = join(tempDir(t), 'healwatch.db');
  openDatabase(file).close();
  const next = [
    ...MIGRATIONS,
    { version: LATEST_VERSION + 1, name: 'test', sql: 'CREATE TABLE extra (x INTEGER) STRICT;' },
  ];
  const db = openDatabase(file, { migrations: next });
  assert.equal(userVersion(db), LATEST_VERSION + 1);
  db.prepare('INSERT INTO extra (x) VALUES (1)').run();
  db.close();
  // A list with a gap (no migration 1) is refused.
  assert.throws(
    () =>
      openDatabase(file, { migrations: [...next, { version: LATEST_VERSION + 3, name: 'gap', sql: '' }] }),
    (err: unknown) => err instanceof StoreError && /out of order/.test(err.message),
  );
});

test('a database from a newer Healwatch is refused with an error naming the file and versions', (t) => {
  const file = join(tempDir(t), 'healwatch.db');
  openDatabase(file).close();
  const raw = new Database(file);
  raw.pragma(`user_version = ${LATEST_VERSION + 5}`);
  raw.close();
  assert.throws(
    () => Store.open(file),
    (err: unknown) =>
      err instanceof StoreError &&
      err.file === file &&
      err.message.includes(file) &&
      err.message.includes(`schema version ${LATEST_VERSION + 5}`) &&
      /newer Healwatch/.test(err.message),
  );
  // The file was not modified by the refused open.
  const check = new Database(file, { readonly: true });
  assert.equal(check.pragma('user_version', { simple: true }), LATEST_VERSION + 5);
  check.close();
});

test('a file that is not a database is refused with an error naming it', (t) => {
  const file = join(tempDir(t), 'healwatch.db');
  writeFileSync(
    file,
    'this is not sqlite, just some text that is long enough to look like a header '.repeat(20),
  );
  assert.throws(
    () => Store.open(file),
    (err: unknown) =>
      err instanceof StoreError && err.message.includes(file) && /cannot read/.test(err.message),
  );
  const dirAsFile = tempDir(t);
  assert.throws(
    () => Store.open(dirAsFile),
    (err: unknown) => err instanceof StoreError && err.message.includes(dirAsFile),
  );
});

test('alert upsert and history events round trip, with filters, order and limit', (t) => {
  const { store, corrupt } = open(t, join(tempDir(t), 'healwatch.db'));
  const cart = finding('cart', 'notice');
  const fp = fingerprintOf(cart);
  store.upsertAlert(alertOf(cart, { state: 'pending', firingSince: undefined, level: 'notice' }), 1_000);
  store.appendAlertEvent({ fingerprint: fp, at: 1_000, kind: 'opened', level: 'notice', finding: cart });
  const fired = store.getAlert(fp)!;
  assert.equal(fired.state, 'pending');
  assert.equal(fired.firingSince, undefined);
  assert.deepEqual(fired.object, { kind: 'Deployment', namespace: 'shop', name: 'cart' });
  assert.deepEqual(fired.finding, cart);

  const worse = finding('cart', 'alert', { evidence: [{ type: 'event', text: 'BackOff x40' }] });
  store.transaction(() => {
    store.upsertAlert(alertOf(worse, { missingSince: 2_500, flaps: 2 }), 2_000);
    store.appendAlertEvent({ fingerprint: fp, at: 2_000, kind: 'fired', level: 'notice', finding: cart });
    store.appendAlertEvent({
      fingerprint: fp,
      at: 3_000,
      kind: 'level-changed',
      level: 'alert',
      previousLevel: 'notice',
      finding: worse,
    });
  });
  const node = finding('worker-1', 'alert', { object: { kind: 'Node', name: 'worker-1' }, key: 'disk' });
  store.upsertAlert(alertOf(node, { state: 'resolved', resolvedAt: 4_000 }), 4_000);
  store.appendAlertEvent({
    fingerprint: fingerprintOf(node),
    at: 4_000,
    kind: 'resolved',
    level: 'none',
    finding: node,
  });

  const a = store.getAlert(fp)!;
  assert.equal(a.state, 'firing');
  assert.equal(a.level, 'alert');
  assert.equal(a.firingSince, 2_000);
  assert.equal(a.missingSince, 2_500);
  assert.equal(a.flaps, 2);
  assert.equal(a.updatedAt, 2_000);
  assert.deepEqual(a.finding.evidence, [{ type: 'event', text: 'BackOff x40' }]);
  const n = store.getAlert(fingerprintOf(node))!;
  assert.deepEqual(n.object, { kind: 'Node', name: 'worker-1' }); // no namespace key at all
  assert.equal(n.key, 'disk');

  assert.deepEqual(
    store.getAlerts({ state: 'firing' }).map((x) => x.fingerprint),
    [fp],
  );
  assert.deepEqual(store.getAlerts({ state: ['firing', 'resolved'] }).length, 2);
  assert.deepEqual(store.getAlerts({ state: 'pending' }), []);
  assert.equal(store.getAlerts().length, 2);

  const hist = store.history({ fingerprint: fp, order: 'asc' });
  assert.deepEqual(
    hist.map((e) => [e.kind, e.level, e.previousLevel]),
    [
      ['opened', 'notice', undefined],
      ['fired', 'notice', undefined],
      ['level-changed', 'alert', 'notice'],
    ],
  );
  // The snapshot keeps the evidence of that moment.
  assert.deepEqual(hist[0]!.finding.evidence, cart.evidence);
  assert.deepEqual(hist[2]!.finding.evidence, worse.evidence);
  // Newest first by default, limit keeps the newest; time ranges are [from, to).
  assert.deepEqual(
    store.history({ limit: 2 }).map((e) => e.kind),
    ['resolved', 'level-changed'],
  );
  assert.deepEqual(
    store.history({ from: 2_000, to: 4_000, order: 'asc' }).map((e) => e.at),
    [2_000, 3_000],
  );
  // An event for an unknown alert violates the foreign key.
  assert.throws(() =>
    store.appendAlertEvent({ fingerprint: 'nope', at: 1, kind: 'opened', level: 'alert', finding: cart }),
  );
  assert.deepEqual(corrupt, []);
});

test('a failed transaction writes nothing', (t) => {
  const { store } = open(t, join(tempDir(t), 'healwatch.db'));
  const f = finding('cart');
  assert.throws(() =>
    store.transaction(() => {
      store.upsertAlert(alertOf(f), 1);
      throw new Error('boom');
    }),
  );
  assert.equal(store.getAlert(fingerprintOf(f)), undefined);
  assert.throws(
    () => store.transaction(() => Promise.resolve(1)),
    (err: unknown) => err instanceof StoreError && /synchronous/.test(err.message),
  );
});

test('outbox: idempotency keys dedupe, due order, retry scheduling, sent and dead states, stats', (t) => {
  const { store } = open(t, join(tempDir(t), 'healwatch.db'));
  const first = store.enqueue({
    receiver: 'pagerduty-oncall',
    fingerprint: 'fp1',
    kind: 'firing',
    payload: { event_action: 'trigger', dedup_key: 'fp1' },
    idempotencyKey: 'fp1|firing|1',
    now: 1_000,
  });
  assert.deepEqual(first, { id: first.id, inserted: true });
  const again = store.enqueue({
    receiver: 'pagerduty-oncall',
    fingerprint: 'fp1',
    kind: 'firing',
    payload: { event_action: 'trigger', dedup_key: 'fp1', different: true },
    idempotencyKey: 'fp1|firing|1',
    now: 5_000,
  });
  assert.deepEqual(again, { id: first.id, inserted: false });
  assert.deepEqual(store.outboxMessage(first.id)!.payload, { event_action: 'trigger', dedup_key: 'fp1' });

  const later = store.enqueue({
    receiver: 'slack',
    kind: 'firing',
    payload: { text: 'b' },
    idempotencyKey: 'k2',
    now: 500,
    notBefore: 9_000,
  });
  const early = store.enqueue({
    receiver: 'slack',
    kind: 'firing',
    payload: { text: 'a' },
    idempotencyKey: 'k3',
    now: 800,
  });
  // Soonest next attempt first, then oldest id; held messages are not due yet.
  assert.deepEqual(
    store.due(2_000).map((m) => m.id),
    [early.id, first.id],
  );
  assert.deepEqual(
    store.due(2_000, 1).map((m) => m.id),
    [early.id],
  );
  assert.deepEqual(
    store.due(9_000).map((m) => m.id),
    [early.id, first.id, later.id],
  );

  // A retryable failure counts the attempt and moves the message out of the due window.
  assert.equal(store.markFailed(first.id, 60_000, 'HTTP 503 from pagerduty-oncall'), true);
  let m = store.outboxMessage(first.id)!;
  assert.equal(m.attempts, 1);
  assert.equal(m.nextAttemptAt, 60_000);
  assert.equal(m.lastError, 'HTTP 503 from pagerduty-oncall');
  assert.equal(m.state, 'queued');
  assert.deepEqual(
    store.due(10_000).map((x) => x.id),
    [early.id, later.id],
  );
  assert.ok(store.due(60_000).some((x) => x.id === first.id));
  store.markFailed(first.id, 120_000, 'x'.repeat(10_000));
  assert.ok(store.outboxMessage(first.id)!.lastError!.length <= 2000);

  // Sent once; a second markSent (e.g. a duplicate acknowledgement) changes nothing.
  assert.equal(store.markSent(early.id, 2_000), true);
  assert.equal(store.markSent(early.id, 3_000), false);
  m = store.outboxMessage(early.id)!;
  assert.equal(m.state, 'sent');
  assert.equal(m.sentAt, 2_000);
  assert.equal(m.attempts, 1);

  // Dead: no longer due, and cannot be revived by markFailed.
  assert.equal(store.markDead(first.id, 'HTTP 400 invalid routing key'), true);
  assert.equal(store.markFailed(first.id, 0, 'late'), false);
  m = store.outboxMessage(first.id)!;
  assert.equal(m.state, 'dead');
  assert.equal(m.attempts, 3);
  assert.equal(m.lastError, 'HTTP 400 invalid routing key');
  assert.deepEqual(
    store.due(1e12).map((x) => x.id),
    [later.id],
  );
  // A dead key stays taken: the same notification is not re-queued.
  assert.equal(
    store.enqueue({
      receiver: 'pagerduty-oncall',
      kind: 'firing',
      payload: {},
      idempotencyKey: 'fp1|firing|1',
      now: 1,
    }).inserted,
    false,
  );

  assert.deepEqual(store.outboxStats(), [
    {
      receiver: 'pagerduty-oncall',
      queued: 0,
      sent: 0,
      dead: 1,
      suppressed: 0,
      oldestQueuedAt: undefined,
      lastSentAt: undefined,
      lastError: 'HTTP 400 invalid routing key',
    },
    {
      receiver: 'slack',
      queued: 1,
      sent: 1,
      dead: 0,
      suppressed: 0,
      oldestQueuedAt: 500,
      lastSentAt: 2_000,
      lastError: undefined,
    },
  ]);
  assert.throws(
    () => store.enqueue({ receiver: 'r', kind: 'k', payload: undefined, idempotencyKey: 'u', now: 1 }),
    StoreError,
  );
});

test('outbox: alert episodes, group holding, suppression, and migration 2 keeps version-1 rows', (t) => {
  const file = join(tempDir(t), 'healwatch.db');
  // A version-1 database with one queued and one sent message.
  const v1 = openDatabase(file, { migrations: MIGRATIONS.slice(0, 1) });
  v1.prepare(
    `INSERT INTO outbox (receiver, fingerprint, kind, payload, idempotency_key, created_at, next_attempt_at, state, sent_at)
     VALUES ('slack', 'fp', 'firing', '{}', 'k1', 1, 1, 'queued', NULL), ('slack', 'fp', 'firing', '{}', 'k0', 1, 1, 'sent', 5)`,
  ).run();
  v1.close();
  const { store } = open(t, file);
  const old = store.recentOutbox();
  assert.deepEqual(
    old.map((m) => [m.idempotencyKey, m.state, m.groupKey, m.episode]),
    [
      ['k0', 'sent', '', undefined],
      ['k1', 'queued', '', undefined],
    ],
  );
  const base = {
    receiver: 'chat',
    fingerprint: 'a',
    episode: 100,
    level: 'notice' as const,
    groupKey: 'ns=shop',
  };
  const first = store.enqueue({
    ...base,
    kind: 'fired',
    payload: { n: 1 },
    idempotencyKey: 'chat|a|100|fired',
    now: 200,
    notBefore: 5_000,
  });
  store.enqueue({
    ...base,
    fingerprint: 'b',
    kind: 'fired',
    payload: { n: 2 },
    idempotencyKey: 'chat|b|100|fired',
    now: 210,
    notBefore: 6_000,
  });
  assert.equal(store.heldForGroup('chat', 'ns=shop', 300), 5_000);
  assert.equal(store.heldForGroup('chat', 'ns=other', 300), undefined);
  assert.equal(store.lastForAlert('chat', 'a', 100)?.id, first.id);
  assert.equal(store.lastForAlert('chat', 'a', 99), undefined);
  assert.equal(store.markSuppressed(first.id, 'silenced by #1', 400), true);
  // A suppressed message is not what the receiver was told.
  assert.equal(store.lastForAlert('chat', 'a', 100), undefined);
  assert.equal(store.outboxStats().find((r) => r.receiver === 'chat')?.suppressed, 1);
  const due = store.due(7_000).filter((m) => m.receiver === 'chat');
  assert.deepEqual(
    due.map((m) => m.fingerprint),
    ['b'],
  );
  store.markFailed(due[0]!.id, 8_000, 'HTTP 503', 7_000);
  assert.equal(store.outboxMessage(due[0]!.id)?.firstAttemptAt, 7_000);
  store.markSent(due[0]!.id, 8_100);
  assert.equal(store.lastSentForGroup('chat', 'ns=shop'), 8_100);
  assert.equal(store.outboxMessage(due[0]!.id)?.firstAttemptAt, 7_000);
});

test('silences: active window, expiry and matcher validation', (t) => {
  const { store } = open(t, join(tempDir(t), 'healwatch.db'));
  const s1 = store.addSilence({
    matchers: [
      { label: 'namespace', op: '=', value: 'shop' },
      { label: 'rule', op: '=~', value: 'crash.*' },
    ],
    startsAt: 1_000,
    endsAt: 5_000,
    author: 'alice',
    comment: 'deploy window',
    now: 900,
  });
  assert.equal(s1.author, 'alice');
  assert.equal(s1.comment, 'deploy window');
  assert.equal(s1.createdAt, 900);
  assert.equal(s1.expiredAt, undefined);
  assert.deepEqual(s1.matchers[1], { label: 'rule', op: '=~', value: 'crash.*' });
  const s2 = store.addSilence({
    matchers: [{ label: 'kind', op: '!=', value: 'Node' }],
    startsAt: 3_000,
    endsAt: 10_000,
    author: 'bob',
    now: 900,
  });
  assert.equal(s2.comment, '');

  const active = (at: number) => store.listSilences({ activeAt: at }).map((s) => s.id);
  assert.deepEqual(active(999), []);
  assert.deepEqual(active(1_000), [s1.id]);
  assert.deepEqual(active(3_000), [s2.id, s1.id]);
  assert.deepEqual(active(5_000), [s2.id]); // ends_at is exclusive
  assert.deepEqual(active(10_000), []);

  assert.equal(store.expireSilence(s2.id, 4_000), true);
  assert.equal(store.expireSilence(s2.id, 4_500), false); // already expired
  assert.equal(store.expireSilence(s1.id, 6_000), false); // already over
  assert.equal(store.expireSilence(999, 1), false);
  assert.deepEqual(active(3_999), [s2.id, s1.id]);
  assert.deepEqual(active(4_000), [s1.id]);
  assert.equal(store.getSilence(s2.id)!.expiredAt, 4_000);
  assert.equal(store.listSilences().length, 2);

  const bad = (matchers: unknown, endsAt = 2) =>
    assert.throws(
      () => store.addSilence({ matchers: matchers as never, startsAt: 1, endsAt, author: 'x', now: 1 }),
      StoreError,
    );
  bad([]);
  bad([{ label: 'rule', op: '=~', value: '(' }]);
  bad([{ label: 'rule', op: '~', value: 'a' }]);
  bad([{ label: 'rule', op: '=', value: 'a' }], 1);
});

test('samples: batch write, query, downsample into 5-minute averages, retention', (t) => {
  const { store } = open(t, join(tempDir(t), 'healwatch.db'));
  const base = 100 * BUCKET_MS;
  const samples = [];
  // Two full buckets and a third partial one of 'cpu', one sample a minute; 'mem' alongside.
  for (let i = 0; i < 13; i++) {
    samples.push({ series: 'cpu', at: base + i * 60_000, value: i });
    samples.push({ series: 'mem', at: base + i * 60_000, value: 100 });
  }
  assert.equal(store.writeSamples([...samples, { series: 'cpu', at: base + 30, value: Number.NaN }]), 26);
  // Re-writing a sample at the same time replaces it.
  store.writeSamples([{ series: 'cpu', at: base, value: 0 }]);
  assert.deepEqual(store.seriesNames(), ['cpu', 'mem']);

  const raw = store.querySamples('cpu', base, base + 3 * 60_000);
  assert.deepEqual(
    raw.map((p) => [p.at - base, p.value, p.resolution]),
    [
      [0, 0, 'raw'],
      [60_000, 1, 'raw'],
      [120_000, 2, 'raw'],
    ],
  );

  // Cut-off inside the third bucket: only the two whole buckets are folded.
  const result = store.downsample(base + 2 * BUCKET_MS + 90_000);
  assert.deepEqual(result, { buckets: 4, rawDeleted: 20 });
  const points = store.querySamples('cpu', 0, base + 1e9);
  assert.deepEqual(
    points.map((p) => [p.at - base, p.value, p.resolution, p.count, p.min, p.max]),
    [
      [0, 2, '5m', 5, 0, 4],
      [BUCKET_MS, 7, '5m', 5, 5, 9],
      [2 * BUCKET_MS, 10, 'raw', 1, 10, 10],
      [2 * BUCKET_MS + 60_000, 11, 'raw', 1, 11, 11],
      [2 * BUCKET_MS + 120_000, 12, 'raw', 1, 12, 12],
    ],
  );
  // A late raw sample in an already folded bucket merges into it on the next run (weighted average).
  store.writeSamples([{ series: 'cpu', at: base + 30_000, value: 8 }]);
  store.downsample(base + 2 * BUCKET_MS);
  const merged = store.querySamples('cpu', base, base + 1)[0]!;
  assert.deepEqual([merged.value, merged.count, merged.max], [(2 * 5 + 8) / 6, 6, 8]);

  const kept = store.retention({
    rawSamplesBefore: base + 2 * BUCKET_MS + 60_000,
    downsampledBefore: base + BUCKET_MS,
  });
  assert.equal(kept.samples, 2); // cpu and mem at the third bucket's start
  assert.equal(kept.samples5m, 2); // the first bucket of cpu and of mem
  assert.deepEqual(
    store.querySamples('cpu', 0, base + 1e9).map((p) => [p.at - base, p.resolution]),
    [
      [BUCKET_MS, '5m'],
      [2 * BUCKET_MS + 60_000, 'raw'],
      [2 * BUCKET_MS + 120_000, 'raw'],
    ],
  );
});

test('retention of history and outbox keeps active alerts and queued messages', (t) => {
  const { store } = open(t, join(tempDir(t), 'healwatch.db'));
  const old = finding('old');
  const live = finding('live');
  store.upsertAlert(alertOf(old, { state: 'resolved', resolvedAt: 1_000 }), 1_000);
  store.appendAlertEvent({
    fingerprint: fingerprintOf(old),
    at: 1_000,
    kind: 'resolved',
    level: 'none',
    finding: old,
  });
  store.upsertAlert(alertOf(live), 1_000);
  store.appendAlertEvent({
    fingerprint: fingerprintOf(live),
    at: 500,
    kind: 'fired',
    level: 'alert',
    finding: live,
  });
  store.appendAlertEvent({
    fingerprint: fingerprintOf(live),
    at: 5_000,
    kind: 'level-changed',
    level: 'alert',
    finding: live,
  });
  const sent = store.enqueue({ receiver: 'r', kind: 'k', payload: 1, idempotencyKey: 'a', now: 0 });
  store.markSent(sent.id, 100);
  const queued = store.enqueue({ receiver: 'r', kind: 'k', payload: 2, idempotencyKey: 'b', now: 0 });
  const r = store.retention({ historyBefore: 2_000, outboxBefore: 2_000 });
  assert.deepEqual(r, { samples: 0, samples5m: 0, alertEvents: 2, alerts: 1, outbox: 1 });
  assert.deepEqual(
    store.getAlerts().map((a) => a.finding.object.name),
    ['live'],
  );
  assert.deepEqual(
    store.history().map((e) => e.at),
    [5_000],
  );
  assert.ok(store.outboxMessage(queued.id));
  assert.equal(store.outboxMessage(sent.id), undefined);
});

test('reopening the file keeps everything, and a tracker can resume from it', (t) => {
  const file = join(tempDir(t), 'healwatch.db');
  const f = finding('cart');
  const fp = fingerprintOf(f);
  {
    const store = Store.open(file);
    store.transaction(() => {
      store.upsertAlert(alertOf(f), 2_000);
      store.appendAlertEvent({ fingerprint: fp, at: 2_000, kind: 'fired', level: 'alert', finding: f });
      store.enqueue({
        receiver: 'slack',
        fingerprint: fp,
        kind: 'firing',
        payload: { text: 'hi' },
        idempotencyKey: `${fp}|1`,
        now: 2_000,
      });
    });
    store.addSilence({
      matchers: [{ label: 'namespace', op: '=', value: 'kube-system' }],
      startsAt: 0,
      endsAt: 10_000,
      author: 'a',
      now: 0,
    });
    store.writeSamples([{ series: 'nodes_ready', at: 2_000, value: 3 }]);
    store.setMeta('cluster', 'prod');
    store.close();
  }
  {
    const store = Store.open(file);
    t.after(() => store.close());
    assert.equal(store.getAlert(fp)!.state, 'firing');
    assert.deepEqual(store.getAlert(fp)!.finding, f);
    assert.equal(store.history({ fingerprint: fp }).length, 1);
    assert.deepEqual(
      store.due(2_000).map((m) => m.payload),
      [{ text: 'hi' }],
    );
    assert.equal(store.listSilences({ activeAt: 5_000 }).length, 1);
    assert.deepEqual(
      store.querySamples('nodes_ready', 0, 3_000).map((p) => p.value),
      [3],
    );
    assert.equal(store.getMeta('cluster'), 'prod');
    assert.equal(store.getMeta('missing'), undefined);
    // Still firing after a restart: the stored alert is not pending again.
    const firing = store.getAlerts({ state: 'firing' });
    assert.equal(firing.length, 1);
    assert.equal(firing[0]!.firingSince, 2_000);
  }
});

test('a writer killed with SIGKILL loses no committed transaction', (t) => {
  const file = join(tempDir(t), 'healwatch.db');
  const storeModule = fileURLToPath(new URL('../../src/store/store.ts', import.meta.url));
  const code = `
    import { Store } from ${JSON.stringify(storeModule)};
    const store = Store.open(${JSON.stringify(file)});
    store.enqueue({ receiver: 'slack', kind: 'firing', payload: { n: 1 }, idempotencyKey: 'k1', now: 1 });
    const id = store.enqueue({ receiver: 'slack', kind: 'firing', payload: { n: 2 }, idempotencyKey: 'k2', now: 2 }).id;
    store.markSent(id, 3);
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
  });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const { store } = open(t, file);
  assert.deepEqual(
    store.due(10).map((m) => m.payload),
    [{ n: 1 }],
  );
  assert.equal(store.outboxStats()[0]!.sent, 1);
});

test('the tracker state round-trips through upsertAlert', (t) => {
  const { store } = open(t, join(tempDir(t), 'healwatch.db'));
  const tracker = new AlertTracker({ forMs: () => 0, resolveAfterMs: 0 });
  tracker.update([finding('cart')], 1_000);
  const alert = tracker.firing()[0]!;
  store.upsertAlert(alert, 1_000);
  const stored = store.getAlert(alert.fingerprint)!;
  assert.equal(stored.state, 'firing');
  assert.equal(stored.firingSince, 1_000);
  assert.equal(stored.pendingSince, alert.pendingSince);
  assert.equal(stored.flaps, 0);
});

test('a corrupt JSON row is skipped with an error naming the table and id; the other rows are read', (t) => {
  const file = join(tempDir(t), 'healwatch.db');
  const { store, corrupt } = open(t, file);
  const good = finding('good');
  const bad = finding('bad');
  store.upsertAlert(alertOf(good), 1);
  store.upsertAlert(alertOf(bad), 1);
  store.appendAlertEvent({
    fingerprint: fingerprintOf(good),
    at: 1,
    kind: 'fired',
    level: 'alert',
    finding: good,
  });
  const badEvent = store.appendAlertEvent({
    fingerprint: fingerprintOf(bad),
    at: 2,
    kind: 'fired',
    level: 'alert',
    finding: bad,
  });
  const okMsg = store.enqueue({ receiver: 'r', kind: 'k', payload: { a: 1 }, idempotencyKey: 'ok', now: 0 });
  const badMsg = store.enqueue({
    receiver: 'r',
    kind: 'k',
    payload: { a: 2 },
    idempotencyKey: 'bad',
    now: 0,
  });
  const silence = store.addSilence({
    matchers: [{ label: 'rule', op: '=', value: 'x' }],
    startsAt: 0,
    endsAt: 10,
    author: 'a',
    now: 0,
  });

  const raw = new Database(file);
  raw
    .prepare('UPDATE alerts SET finding = ? WHERE fingerprint = ?')
    .run('{"ruleId": "crashloop", trunc', fingerprintOf(bad));
  raw.prepare('UPDATE alert_events SET finding = ? WHERE id = ?').run('{"ruleId": 5}', badEvent);
  raw.prepare('UPDATE outbox SET payload = ? WHERE id = ?').run('not json', badMsg.id);
  raw.prepare('UPDATE silences SET matchers = ? WHERE id = ?').run('[]', silence.id);
  raw.close();

  assert.deepEqual(
    store.getAlerts().map((a) => a.finding.object.name),
    ['good'],
  );
  assert.equal(store.getAlert(fingerprintOf(bad)), undefined);
  assert.deepEqual(
    store.history().map((e) => e.finding.object.name),
    ['good'],
  );
  assert.deepEqual(
    store.due(0).map((m) => m.id),
    [okMsg.id],
  );
  // The corrupt message is marked dead so it does not block the queue or repeat the error.
  assert.equal(store.outboxStats()[0]!.dead, 1);
  assert.deepEqual(store.listSilences(), []);

  const seen = corrupt.map((e) => [e.table, e.rowId]);
  assert.deepEqual(seen, [
    ['alerts', fingerprintOf(bad)],
    ['alerts', fingerprintOf(bad)],
    ['alert_events', badEvent],
    ['outbox', badMsg.id],
    ['silences', silence.id],
  ]);
  for (const e of corrupt) {
    assert.ok(e instanceof StoreError);
    assert.ok(
      e.message.includes(`table ${e.table}`) &&
        e.message.includes(`id ${e.rowId}`) &&
        e.message.includes(file),
    );
  }
  assert.match(corrupt[0]!.message, /column finding is not JSON/);
  assert.match(corrupt[2]!.message, /wrong shape/);
  // A second due() does not report the dead message again.
  store.due(0);
  assert.equal(corrupt.length, 5);
});

test(':memory: works for throwaway stores', () => {
  const store = Store.open(':memory:');
  store.setMeta('k', 'v');
  assert.equal(store.getMeta('k'), 'v');
  store.close();
  store.close(); // idempotent
});
