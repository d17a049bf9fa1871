import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertTracker } from '../src/alerts/tracker.js';
import { fingerprintOf, type Finding } from '../src/domain/index.js';
import { startServer } from '../src/server/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { Store, STORE_FILE_NAME } from '../src/store/index.js';
import type { ServiceTransition } from '../src/app/service.js';
import { startService, type Running } from './helpers/service.js';

function tempStore(t: TestContext): Store {
  const dir = mkdtempSync(join(tmpdir(), 'healwatch-service-store-'));
  const store = Store.open(join(dir, STORE_FILE_NAME));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

async function startSim(t: TestContext, seed: string): Promise<Simulator> {
  const sim = await startSimulator({ seed, bookmarkIntervalMs: 30, clock: 'manual', port: 0 });
  t.after(() => sim.close());
  return sim;
}

/** A Service with `store` on the simulator (see test/helpers/service.ts). */
function startStored(
  t: TestContext,
  sim: Simulator,
  store: Store,
  options: { resolveAfterMs?: number } = {},
): Promise<Running> {
  return startService(t, sim, { ...options, store });
}

const of = (ts: readonly ServiceTransition[], ruleId: string): string[] =>
  ts.filter((x) => x.finding.ruleId === ruleId).map((x) => x.type);

test('service + store: a firing alert stays firing across a restart without a second fired; one healed while down resolves', async (t) => {
  const sim = await startSim(t, 'service-store');
  const store = tempStore(t);

  // 1. scheduler-down fires control-plane.
  const first = await startStored(t, sim, store);
  await first.evaluate();
  sim.faults.start({ name: 'scheduler-down' });
  await first.advance(120_000);
  assert.deepEqual(of(first.transitions, 'control-plane'), ['opened', 'fired']);
  const fired = first.transitions.find((x) => x.type === 'fired' && x.finding.ruleId === 'control-plane')!;
  const fp = fired.fingerprint;
  const firingSince = fired.alert.firingSince!;
  const pendingSince = fired.alert.pendingSince;
  assert.equal(firingSince, fired.at);
  const row = store.getAlert(fp)!;
  assert.equal(row.state, 'firing');
  assert.equal(row.firingSince, firingSince);
  assert.equal(row.level, 'alert');
  await first.service.stop();
  // The last sighting is written on stop.
  assert.equal(store.getAlert(fp)!.lastSeenAt, first.service.health().lastEvaluation!.at);

  // 2. Restart while the fault goes on: still firing, no new `fired` (nor `opened`), same firingSince.
  sim.advance(30_000);
  const second = await startStored(t, sim, store);
  assert.equal(second.service.health().lastEvaluation?.at, sim.cluster.world.now(), 'start evaluated once');
  assert.deepEqual(of(second.transitions, 'control-plane'), [], 'no re-notification after the restart');
  const kept = second.service.firing().find((a) => a.fingerprint === fp);
  assert.ok(kept, 'the alert is still firing');
  assert.equal(kept.firingSince, firingSince);
  assert.equal(kept.pendingSince, pendingSince);
  assert.equal(kept.level, 'alert');
  assert.deepEqual(
    kept.levelHistory.map((h) => h.level),
    ['alert'],
  );
  await second.advance(60_000);
  assert.deepEqual(of(second.transitions, 'control-plane'), [], 'nothing new while it goes on');

  // The history endpoint serves the store, behind the token.
  const server = await startServer({ service: second.service, port: 0, token: 'sekret', store });
  t.after(() => server.close());
  const auth = { headers: { authorization: 'Bearer sekret' } };
  assert.equal((await fetch(`${server.url}/api/v1/history`)).status, 401);
  const res = await fetch(
    `${server.url}/api/v1/history?fingerprint=${encodeURIComponent(fp)}&order=asc`,
    auth,
  );
  assert.equal(res.status, 200);
  const body = (await res.json()) as { items: { kind: string; at: number; finding: Finding }[] };
  assert.deepEqual(
    body.items.map((e) => e.kind),
    ['opened', 'fired'],
  );
  assert.equal(body.items[1]!.at, firingSince);
  assert.equal(body.items[1]!.finding.ruleId, 'control-plane');
  const ranged = (await (
    await fetch(`${server.url}/api/v1/history?from=${firingSince}&to=${firingSince + 1}&limit=5`, auth)
  ).json()) as { items: { kind: string; fingerprint: string }[] };
  assert.deepEqual(
    ranged.items.filter((e) => e.fingerprint === fp).map((e) => e.kind),
    ['fired'],
  );
  assert.equal((await fetch(`${server.url}/api/v1/history?from=yesterday`, auth)).status, 400);
  const noStore = await startServer({ service: second.service, port: 0 });
  t.after(() => noStore.close());
  const missing = await fetch(`${noStore.url}/api/v1/history`);
  assert.equal(missing.status, 404);
  assert.match(((await missing.json()) as { error: string }).error, /without --data/);

  // 3. Heal while stopped; the restart (default 60 s quiet period, down longer than it) resolves it.
  await second.service.stop();
  sim.faults.heal();
  sim.advance(90_000);
  const third = await startStored(t, sim, store, { resolveAfterMs: 60_000 });
  const resolved = third.transitions.filter((x) => x.fingerprint === fp);
  assert.deepEqual(
    resolved.map((x) => x.type),
    ['resolved'],
  );
  assert.match(resolved[0]!.note ?? '', /resolved while Healwatch was down/);
  assert.equal(third.service.alerts().find((a) => a.fingerprint === fp)?.state, 'resolved');
  assert.ok(!third.service.findings().some((f) => f.ruleId === 'control-plane'));
  const stored = store.getAlert(fp)!;
  assert.equal(stored.state, 'resolved');
  assert.equal(stored.resolvedAt, sim.cluster.world.now());

  const history = store.history({ fingerprint: fp, order: 'asc' });
  assert.deepEqual(
    history.map((e) => e.kind),
    ['opened', 'fired', 'resolved'],
  );
  for (const e of history) {
    assert.equal(e.finding.ruleId, 'control-plane');
    assert.equal(fingerprintOf(e.finding), fp);
    assert.ok(e.finding.evidence.length > 0, 'the evidence is kept');
    assert.match(e.finding.title, /kube-scheduler/);
  }
  assert.ok(history[0]!.at >= pendingSince && history[0]!.at < firingSince);
  assert.equal(history[1]!.at, firingSince);
  const note = history[2]!.finding.evidence.at(-1)!;
  assert.equal(note.type, 'state');
  assert.match(note.text, /resolved while Healwatch was down/);
  assert.equal(history[2]!.finding.facts.resolution, 'while-down');

  // 4. Another restart: the resolved alert stays resolved, nothing is told again.
  await third.service.stop();
  const fourth = await startStored(t, sim, store, { resolveAfterMs: 60_000 });
  assert.deepEqual(
    fourth.transitions.filter((x) => x.fingerprint === fp),
    [],
  );
  assert.equal(store.history({ fingerprint: fp }).length, 3);
});

/** The verdict of a crash loop in a Deployment (the crashloop finding is muted under it). */
const VERDICT = 'deployment-replicas';

test('service + store: a pending alert resumes its for from the stored pendingSince across a restart', async (t) => {
  const sim = await startSim(t, 'service-store-pending');
  const store = tempStore(t);
  const first = await startStored(t, sim, store);
  await first.evaluate();
  sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  let opened: ServiceTransition | undefined;
  for (let i = 0; i < 20 && !opened; i++) {
    await first.advance(10_000, 10_000);
    opened = first.transitions.find(
      (x) => x.type === 'opened' && x.finding.ruleId === VERDICT && x.finding.object.name === 'cart',
    );
  }
  assert.ok(opened, `${VERDICT} opened`);
  assert.equal(opened.alert.state, 'pending');
  const fp = opened.fingerprint;
  const pendingSince = opened.alert.pendingSince;
  const forMs = first.service.currentConfig.rules.find((r) => r.rule.id === VERDICT)!.common.forMs;
  assert.equal(forMs, 2 * 60_000);
  assert.equal(store.getAlert(fp)?.state, 'pending');
  assert.equal(store.getAlert(fp)?.pendingSince, pendingSince);
  await first.service.stop();

  sim.advance(20_000);
  const restartAt = sim.cluster.world.now();
  assert.ok(restartAt - pendingSince < forMs, 'still within its for at the restart');
  const second = await startStored(t, sim, store);
  assert.deepEqual(of(second.transitions, VERDICT), [], 'restored: not opened again');
  const alert = second.service.alerts().find((a) => a.fingerprint === fp);
  assert.equal(alert?.state, 'pending');
  assert.equal(alert.pendingSince, pendingSince);

  let firedAt: number | undefined;
  for (let i = 0; i < 30 && firedAt === undefined; i++) {
    await second.advance(5_000, 5_000);
    firedAt = second.transitions.find((x) => x.type === 'fired' && x.fingerprint === fp)?.at;
  }
  assert.ok(firedAt !== undefined, 'it fired');
  assert.ok(firedAt >= pendingSince + forMs, `fired at +${firedAt - pendingSince} ms, before its for`);
  assert.ok(firedAt < pendingSince + forMs + 5_000, `fired at +${firedAt - pendingSince} ms, late`);
  assert.ok(firedAt < restartAt + forMs, 'not a whole for after the restart');
  assert.deepEqual(of(second.transitions, VERDICT), ['fired']);
  assert.deepEqual(
    store.history({ fingerprint: fp, order: 'asc' }).map((e) => e.kind),
    ['opened', 'fired'],
  );
  assert.equal(store.getAlert(fp)?.firingSince, firedAt);
});

test('service + store: a pending alert gone while Healwatch was down is dropped and stored as resolved', async (t) => {
  const sim = await startSim(t, 'service-store-dropped');
  const store = tempStore(t);
  const first = await startStored(t, sim, store);
  await first.evaluate();
  sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  let opened: ServiceTransition | undefined;
  for (let i = 0; i < 20 && !opened; i++) {
    await first.advance(10_000, 10_000);
    opened = first.transitions.find(
      (x) => x.type === 'opened' && x.finding.ruleId === VERDICT && x.finding.object.name === 'cart',
    );
  }
  assert.ok(opened, `${VERDICT} opened`);
  const fp = opened.fingerprint;
  await first.service.stop();
  sim.faults.heal();
  sim.advance(120_000);
  const second = await startStored(t, sim, store);
  assert.deepEqual(
    second.transitions.filter((x) => x.fingerprint === fp).map((x) => x.type),
    ['dropped'],
  );
  assert.equal(
    second.service.alerts().find((a) => a.fingerprint === fp),
    undefined,
  );
  assert.equal(store.getAlert(fp)?.state, 'resolved');
  const history = store.history({ fingerprint: fp, order: 'asc' });
  assert.deepEqual(
    history.map((e) => e.kind),
    ['opened', 'resolved'],
  );
  assert.equal(history[1]!.finding.facts.resolution, 'dropped');
});

const finding = (name: string, extra: Partial<Finding> = {}): Finding => ({
  ruleId: 'crashloop',
  level: 'notice',
  object: { kind: 'Deployment', namespace: 'shop', name },
  title: `${name} crashes`,
  loop: 'restart',
  message: 'it crashes',
  evidence: [],
  nextSteps: [],
  facts: {},
  ...extra,
});

test('tracker restore: pending resumes from pendingSince, firing stays quiet, absence counts from the last sighting', () => {
  const tracker = new AlertTracker({ forMs: () => 120_000, resolveAfterMs: 60_000 });
  const cart = finding('cart');
  const api = finding('api');
  const gone = finding('gone');
  const taken = tracker.restore([
    {
      fingerprint: fingerprintOf(cart),
      state: 'pending',
      level: 'notice',
      finding: cart,
      pendingSince: 120_000,
      lastSeenAt: 150_000,
    },
    {
      fingerprint: fingerprintOf(api),
      state: 'firing',
      level: 'notice',
      finding: api,
      pendingSince: 0,
      firingSince: 120_000,
      lastSeenAt: 150_000,
      flaps: 0,
    },
    {
      fingerprint: fingerprintOf(gone),
      state: 'firing',
      level: 'notice',
      finding: gone,
      pendingSince: 0,
      firingSince: 120_000,
      lastSeenAt: 150_000,
    },
  ]);
  assert.equal(taken.length, 3);
  // At 180 s: cart (no `since` of its own) is 60 s into its 120 s for; api is still there; gone is 30 s quiet.
  assert.deepEqual(tracker.update([cart, api], 180_000), []);
  assert.equal(tracker.get(fingerprintOf(gone))?.state, 'firing');
  const at = tracker.update([cart, api], 210_000);
  assert.deepEqual(
    at.map((x) => `${x.type}:${x.alert.finding.object.name}`),
    ['resolved:gone'],
    'gone resolves 60 s after it was last seen',
  );
  const fired = tracker.update([cart, api], 240_000);
  assert.deepEqual(
    fired.map((x) => `${x.type}:${x.alert.finding.object.name}`),
    ['firing:cart'],
    'cart fires at its stored pendingSince + for',
  );
  assert.equal(tracker.get(fingerprintOf(api))?.firingSince, 120_000);
  // A fingerprint the tracker already has is left as it is.
  assert.equal(tracker.restore([{ ...tracker.get(fingerprintOf(cart))!, state: 'pending' }]).length, 0);
  assert.equal(tracker.get(fingerprintOf(cart))?.state, 'firing');
});

test('service + store: None-level measurements are written as samples once a minute, and the store is maintained', async (t) => {
  const sim = await startSim(t, 'service-samples');
  const store = tempStore(t);
  const r = await startStored(t, sim, store);
  await r.advance(5 * 60_000, 20_000);
  const names = store.seriesNames();
  for (const series of ['node-count:', 'pod-phases:', 'resource-requests:'])
    assert.ok(
      names.some((n) => n.startsWith(series)),
      `a ${series} series among ${names.slice(0, 10).join(', ')}`,
    );
  const nodes = names.find((n) => n.startsWith('node-count:') && n.endsWith(':nodes'))!;
  const points = store.querySamples(nodes, 0, Number.MAX_SAFE_INTEGER);
  // 15 evaluations over 5 minutes, one sample a minute (the first evaluation included).
  assert.ok(points.length >= 5 && points.length <= 6, `${points.length} points`);
  assert.ok(
    points.every((p) => p.value >= 3),
    `node counts: ${points.map((p) => p.value).join(', ')}`,
  );
  for (let i = 1; i < points.length; i++) assert.ok(points[i]!.at - points[i - 1]!.at >= 60_000);
});
