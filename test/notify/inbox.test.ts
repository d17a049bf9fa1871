import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INBOX_FRAME, inboxNotifier, readInbox } from '../../src/notify/receivers/inbox/index.js';
import { sampleAlert, sampleDelivery, sampleNotice } from '../helpers/notifications.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'healwatch-inbox-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sender = (path: string, extra: Record<string, unknown> = {}) =>
  inboxNotifier.create(inboxNotifier.schema.parse({ name: 'inbox', type: 'inbox', path, ...extra }));

/** Runs `fn` while collecting what is written to process.stderr or stdout. */
async function capture(stream: 'stdout' | 'stderr', fn: () => Promise<unknown>): Promise<string> {
  const original = process[stream].write.bind(process[stream]);
  let out = '';
  process[stream].write = (chunk: string | Uint8Array): boolean => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  };
  try {
    await fn();
  } finally {
    process[stream].write = original;
  }
  return out;
}

test('the schema: path and print; unknown fields are errors', () => {
  const ok = (extra: Record<string, unknown>) =>
    inboxNotifier.schema.safeParse({ name: 'inbox', type: 'inbox', path: '/tmp/x.jsonl', ...extra }).success;
  assert.equal(ok({}), true);
  assert.equal(ok({ print: 'stdout' }), true);
  assert.equal(ok({ print: 'stderr' }), true);
  assert.equal(ok({ print: 'none' }), true);
  assert.equal(ok({ print: 'syslog' }), false);
  assert.equal(ok({ path: '' }), false);
  assert.equal(ok({ url: 'https://example.com' }), false, 'unknown fields are errors');
  assert.equal(inboxNotifier.batching, 'group');
});

test('each delivery is appended as one JSON line; the directory is created; readInbox reads them back', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'nested', 'deeper', 'inbox.jsonl');
  const inbox = sender(path);
  const first = sampleDelivery();
  const second = sampleDelivery([sampleNotice(), sampleAlert({ status: 'resolved', reason: 'resolved' })], {
    idempotencyKey: 'hw-test-0002',
  });
  assert.deepEqual(await inbox.send(first), { ok: true, detail: `appended to ${path}` });
  assert.equal((await inbox.send(second)).ok, true);
  const lines = readFileSync(path, 'utf8').split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[2], '');
  const entries = readInbox(path);
  assert.equal(entries.length, 2);
  assert.equal(entries[0]!.at, '2026-11-27T03:13:00.000Z');
  assert.equal(
    entries[0]!.title,
    '[ALERT] kube-scheduler is not running (control-plane · Pod/kube-system/kube-scheduler-sim-control-plane) on sim',
  );
  assert.deepEqual(entries[0]!.delivery, JSON.parse(JSON.stringify(first)));
  // The text tells the level, the broken loop, the evidence and the next step.
  const text = entries[0]!.text;
  assert.match(text, /^\[ALERT\] kube-scheduler is not running/);
  assert.match(text, /Loop: Scheduling: new and replacement pods stay Pending/);
  assert.match(text, /Evidence:\n {2}- Lease kube-system\/kube-scheduler renewed 95 s ago/);
  assert.match(text, /Next steps:\n {2}- kubectl -n kube-system get pods -l component=kube-scheduler/);
  assert.equal(entries[1]!.delivery.idempotencyKey, 'hw-test-0002');
  assert.match(entries[1]!.title, /^\[NOTICE\] 1 firing, 1 resolved/);
  assert.deepEqual(readInbox(join(dir, 'missing.jsonl')), [], 'a missing inbox is empty');
});

test('concurrent deliveries never interleave', async (t) => {
  const path = join(tempDir(t), 'inbox.jsonl');
  const inbox = sender(path);
  const big = sampleAlert({ message: 'm'.repeat(200_000) });
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => inbox.send(sampleDelivery([big], { idempotencyKey: `k${i}` }))),
  );
  assert.ok(results.every((r) => r.ok));
  const entries = readInbox(path);
  assert.deepEqual(
    entries.map((e) => e.delivery.idempotencyKey),
    Array.from({ length: 20 }, (_, i) => `k${i}`),
  );
  assert.ok(entries.every((e) => e.text.length <= 20_000));
});

test('a torn last line is skipped by readInbox, and the next entry starts on a line of its own', async (t) => {
  const path = join(tempDir(t), 'inbox.jsonl');
  const inbox = sender(path);
  await inbox.send(sampleDelivery());
  appendFileSync(path, '{"at":"2026-11-27T03:13:00.000Z","title":"[ALE');
  assert.equal(readInbox(path).length, 1, 'the torn line is skipped');
  await inbox.send(sampleDelivery([sampleNotice()], { idempotencyKey: 'after-crash' }));
  const entries = readInbox(path);
  assert.deepEqual(
    entries.map((e) => e.delivery.idempotencyKey),
    ['hw-test-0001', 'after-crash'],
  );
});

test('print writes the framed human text to the chosen stream, after the write succeeded', async (t) => {
  const dir = tempDir(t);
  const err = await capture('stderr', () =>
    sender(join(dir, 'a.jsonl'), { print: 'stderr' }).send(sampleDelivery()),
  );
  assert.ok(err.startsWith(`${INBOX_FRAME}\n[ALERT] kube-scheduler is not running`), err);
  assert.match(err, /Next steps:/);
  assert.equal(INBOX_FRAME, '──── healwatch inbox ────');
  const out = await capture('stdout', () =>
    sender(join(dir, 'b.jsonl'), { print: 'stdout' }).send(sampleDelivery()),
  );
  assert.ok(out.includes('kube-scheduler is not running'));
  const none = await capture('stdout', () => sender(join(dir, 'c.jsonl')).send(sampleDelivery()));
  assert.equal(none, '');
  // A failed write prints nothing (the retry will).
  writeFileSync(join(dir, 'file'), 'x');
  const failed = await capture('stderr', () =>
    sender(join(dir, 'file', 'inbox.jsonl'), { print: 'stderr' }).send(sampleDelivery()),
  );
  assert.equal(failed, '');
});

test('a write error is a retryable failure naming the file', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'file'), 'x');
  const notDir = await sender(join(dir, 'file', 'inbox.jsonl')).send(sampleDelivery());
  assert.equal(notDir.ok, false);
  assert.ok(!notDir.ok && notDir.retryable);
  assert.ok(
    !notDir.ok && notDir.error.startsWith(`cannot write inbox file ${join(dir, 'file', 'inbox.jsonl')}: `),
  );
  assert.ok(!notDir.ok && /ENOTDIR|EEXIST/.test(notDir.error), !notDir.ok ? notDir.error : '');

  mkdirSync(join(dir, 'adir'));
  const isDir = await sender(join(dir, 'adir')).send(sampleDelivery());
  assert.deepEqual(isDir, {
    ok: false,
    retryable: true,
    error: `cannot write inbox file ${join(dir, 'adir')}: it is a directory (EISDIR)`,
  });
});
