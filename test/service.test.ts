import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Service, type ServiceTransition } from '../src/app/service.js';
import { Connection } from '../src/cluster/index.js';
import { parseConfig } from '../src/config/config.js';
import { isAtLeast, refText } from '../src/domain/index.js';
import { startSimulator, type Simulator } from '../src/sim/index.js';
import { startService, type Running } from './helpers/service.js';

/**
 * A manual-clock simulator watched by a Service whose timers are off (tests evaluate explicitly, on
 * the simulator's clock), both stopped when the test ends.
 */
async function startRunning(
  t: TestContext,
  options: { config?: string; debounceMs?: number } = {},
): Promise<Running & { sim: Simulator }> {
  const sim = await startSimulator({ seed: 'service', bookmarkIntervalMs: 30, clock: 'manual', port: 0 });
  const running = await startService(t, sim, options);
  t.after(() => sim.close()); // after the service's own stop, registered first
  return { sim, ...running };
}

const describeT = (ts: readonly ServiceTransition[]): string[] =>
  ts.map((t) => `${t.type}:${t.finding.ruleId}:${refText(t.finding.object)}:${t.level}`);
const noticeOrAbove = (ts: readonly ServiceTransition[]): ServiceTransition[] =>
  ts.filter((t) => isAtLeast(t.level, 'notice'));

test('service: the healthy demo syncs, is ready, and nothing opens at Notice or above over minutes', async (t) => {
  const r = await startRunning(t);
  const h = r.service.health();
  assert.equal(h.state, 'running');
  assert.equal(h.synced, true);
  assert.equal(h.ready, true, h.reason);
  assert.deepEqual(h.blindSpots, []);
  assert.ok(h.watches.length > 5);
  assert.ok(h.lastEvaluation !== undefined && h.lastEvaluation.durationMs >= 0);
  assert.deepEqual(h.ruleErrors, []);
  await r.advance(5 * 60_000);
  assert.deepEqual(describeT(noticeOrAbove(r.transitions)), []);
  const c = r.service.counters();
  assert.ok(c.eventsProcessed > 100, `events processed: ${c.eventsProcessed}`);
  assert.ok(c.evaluations >= 11, `evaluations: ${c.evaluations}`);
  assert.ok(c.evaluationSecondsTotal > 0);
});

test('service: scheduler-down opens, fires control-plane at Alert after its for, and resolves after heal', async (t) => {
  const r = await startRunning(t);
  await r.evaluate();
  r.transitions.length = 0;
  r.sim.faults.start({ name: 'scheduler-down' });
  await r.advance(30_000);
  const cp = (ts: readonly ServiceTransition[]): string[] =>
    describeT(ts.filter((x) => x.finding.ruleId === 'control-plane'));
  assert.deepEqual(
    cp(r.transitions).filter((d) => d.startsWith('fired')),
    [],
    'for: 1m',
  );
  await r.advance(90_000);
  assert.deepEqual(cp(r.transitions), [
    'opened:control-plane:Component/kube-scheduler:alert',
    'fired:control-plane:Component/kube-scheduler:alert',
  ]);
  assert.ok(r.service.firing().some((a) => a.finding.ruleId === 'control-plane' && a.level === 'alert'));
  const fired = r.transitions.find((x) => x.type === 'fired' && x.finding.ruleId === 'control-plane')!;
  assert.equal(fired.alert.state, 'firing');
  assert.ok(r.service.findings().some((f) => f.ruleId === 'control-plane'));
  // The Pending pods it causes are muted, not paged separately.
  assert.ok(
    r.transitions.every((x) => x.type !== 'fired' || x.finding.ruleId !== 'pods-unschedulable'),
    describeT(r.transitions).join('\n'),
  );

  // A reload (another rule's level changed) keeps the firing alert firing: no second `fired`.
  r.service.reload(parseConfig('rules:\n  node-count:\n    level: notice\n', 'reloaded'));
  const before = r.transitions.length;
  await r.advance(60_000);
  assert.deepEqual(cp(r.transitions.slice(before)), [], 'nothing new for control-plane after the reload');
  assert.ok(r.service.firing().some((a) => a.finding.ruleId === 'control-plane'));

  r.sim.faults.heal();
  await r.advance(60_000);
  assert.deepEqual(cp(r.transitions.slice(before)), [
    'resolved:control-plane:Component/kube-scheduler:alert',
  ]);
  assert.ok(!r.service.firing().some((a) => a.finding.ruleId === 'control-plane'));
  const resolved = r.service.alerts().find((a) => a.finding.ruleId === 'control-plane');
  assert.equal(resolved?.state, 'resolved', 'a resolved alert stays listed');
});

test('service: after a crash-looping Deployment heals, its restarts do not come back as a restart-spike Notice', async (t) => {
  const r = await startRunning(t);
  await r.evaluate();
  r.transitions.length = 0;
  r.sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  await r.advance(5 * 60_000);
  assert.ok(
    r.transitions.some((x) => x.type === 'fired' && x.finding.ruleId === 'deployment-replicas'),
    describeT(r.transitions).join('\n'),
  );
  r.sim.faults.heal();
  await r.advance(20 * 60_000);
  const after = describeT(noticeOrAbove(r.transitions)).filter((d) => d.includes('Deployment/shop/cart'));
  assert.ok(after.includes('resolved:deployment-replicas:Deployment/shop/cart:alert'), after.join('\n'));
  assert.deepEqual(
    after.filter((d) => d.includes('restart-spike')),
    [],
    'the restarts are the echo of the failure already told',
  );
});

test('service: a view change triggers a debounced evaluation', async (t) => {
  const r = await startRunning(t, { debounceMs: 50 });
  const before = r.service.counters().evaluations;
  r.sim.advance(30_000);
  const deadline = Date.now() + 10_000;
  while (r.service.counters().evaluations === before && Date.now() < deadline)
    await new Promise((res) => setTimeout(res, 20));
  assert.ok(r.service.counters().evaluations > before, 'evaluated after the change');
});

test('service: stop is clean, idempotent, and safe before start and during sync', async (t) => {
  const r = await startRunning(t);
  await Promise.all([r.service.stop(), r.service.stop()]);
  await r.service.stop();
  assert.equal(r.service.state, 'stopped');
  assert.equal(r.service.health().ready, false);
  assert.deepEqual(await r.service.evaluateNow(), [], 'no evaluation after stop');

  const fresh = new Service({
    connection: Connection.fromString(r.sim.kubeconfig()),
    config: parseConfig('{}', 'x'),
    tickMs: 0,
  });
  await fresh.stop();
  assert.equal(fresh.state, 'stopped');

  const early = new Service({
    connection: Connection.fromString(r.sim.kubeconfig()),
    config: parseConfig('{}', 'x'),
    tickMs: 0,
  });
  const starting = early.start();
  await early.stop();
  await starting;
  assert.equal(early.state, 'stopped');
});
