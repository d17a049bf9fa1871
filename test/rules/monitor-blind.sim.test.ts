import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterView, type WatchHealth } from '../../src/cluster/index.js';
import { inhibit } from '../../src/alerts/inhibit.js';
import { AlertTracker } from '../../src/alerts/tracker.js';
import { parseConfig } from '../../src/config/config.js';
import { refText, type Finding } from '../../src/domain/index.js';
import { BUILTIN_RULES, RuleEngine } from '../../src/rules/index.js';
import { startJudged, type Judged } from '../helpers/judge.js';

const ofRule = (fs: readonly Finding[], id = 'monitor-blind'): Finding[] => fs.filter((f) => f.ruleId === id);
const describe = (fs: readonly Finding[], id = 'monitor-blind'): string[] =>
  ofRule(fs, id).map((f) => `${refText(f.object)}:${f.level}`);

/**
 * One judged step while the API may be down: `j.advance` waits for the view to catch up with the
 * simulator, which it cannot while the API server drops every connection, so this steps without it.
 */
async function blindStep(j: Judged, ms: number): Promise<{ findings: Finding[]; muted: Finding[] }> {
  j.sim.advance(ms);
  // Let the reflectors notice the dropped connections and retry (their back-off is real time).
  await new Promise((r) => setTimeout(r, 150));
  await j.prober.runOnce();
  const now = j.sim.cluster.world.now();
  const result = j.engine.evaluate(j.watcher.view, now);
  const { active, muted } = inhibit(result.findings, {
    inputsOf: (id) => BUILTIN_RULES.find((r) => r.id === id)?.inputs ?? [],
  });
  j.tracker.update(active, now);
  return { findings: active, muted: muted.map((m) => m.finding) };
}

test('monitor-blind: api-down fires one Alert for the monitor, mutes what it can no longer judge, and resolves when the API is back', async (t) => {
  // deployment-replicas off: its verdict would fold the crash loop in, and the crash loop is the finding to mute.
  const j = await startJudged(t, { config: 'rules:\n  deployment-replicas: { level: off }\n' });
  assert.deepEqual(describe((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  j.sim.faults.start({ name: 'crashloop', target: 'shop/cart' });
  await j.advance(6 * 60_000);
  assert.deepEqual(describe(j.firing(), 'crashloop'), ['Deployment/shop/cart:notice'], 'a finding to mute');

  j.sim.faults.start({ name: 'api-down', target: '300' });
  let step = await blindStep(j, 30_000);
  assert.deepEqual(describe(j.firing()), [], 'not at once: one failed probe is not blindness');
  for (let i = 0; i < 3; i++) step = await blindStep(j, 30_000);
  assert.deepEqual(describe(j.firing()), ['Healwatch/monitor:alert'], 'blind within two minutes');
  const f = ofRule(j.firing())[0]!;
  assert.equal(f.facts.apiUnreachable, true);
  const kinds = String(f.facts.kinds).split(',');
  for (const k of ['Pod', 'Event', 'Node', 'Deployment']) assert.ok(kinds.includes(k), `${k} is blind`);
  assert.match(f.title, /API server does not answer/);
  assert.ok(f.evidence.some((e) => /probe version: \d+ failures in a row/.test(e.text)));
  assert.ok(f.nextSteps.some((s) => s.includes('kubectl auth can-i list pods -A')));
  assert.ok(
    f.since !== undefined && f.since <= j.sim.cluster.world.now() - 90_000,
    'since the API went down',
  );
  assert.deepEqual(describe(step.muted, 'crashloop'), ['Deployment/shop/cart:notice'], 'crashloop is muted');
  assert.deepEqual(describe(j.firing(), 'crashloop'), [], 'and no longer firing');

  // The fault ends after 300 s of simulated time; the reflectors reconnect and relist.
  for (let i = 0; i < 8; i++) await blindStep(j, 30_000);
  await j.advance(60_000);
  assert.deepEqual(describe(j.firing()), [], 'resolved once the API answers again');
  assert.deepEqual(describe(j.firing(), 'crashloop'), ['Deployment/shop/cart:notice'], 'crashloop is back');
});

test('monitor-blind: watch-stall is healed by the reflectors themselves (idle watches are re-opened): no Alert', async (t) => {
  const j = await startJudged(t);
  const before = j.watcher.reflectors.reduce((n, r) => n + r.health.idleAborts, 0);
  j.sim.faults.start({ name: 'watch-stall' });
  for (let i = 0; i < 6; i++) {
    await j.advance(30_000);
    assert.deepEqual(describe(j.firing()), []);
  }
  assert.ok(
    j.watcher.reflectors.reduce((n, r) => n + r.health.idleAborts, 0) > before,
    'the stalled watches were abandoned and re-opened',
  );
  assert.deepEqual(describe((await j.evaluate()).findings), []);
});

/** A watch health record as a reflector keeps it (local clock). */
function health(kind: string, fields: Partial<WatchHealth>): WatchHealth {
  return {
    kind,
    resource: `${kind.toLowerCase()}s`,
    state: 'watching',
    isSynced: true,
    stateSince: 0,
    objects: 0,
    resourceVersion: '1',
    syncedAt: 0,
    lastEventAt: 0,
    lastErrorAt: undefined,
    lastError: undefined,
    relists: 0,
    watches: 1,
    idleAborts: 0,
    errors: 0,
    consecutiveFailures: 0,
    malformedLines: 0,
    malformedObjects: 0,
    requests: 1,
    ...fields,
  };
}

function judge(): {
  view: ClusterView;
  at(now: number): { findings: Finding[]; firing: Finding[]; muted: Finding[] };
} {
  const config = parseConfig('{}', 'test-config');
  const engine = new RuleEngine(config.rules, config.classification);
  const forMs = new Map(config.rules.map((r) => [r.rule.id, r.common.forMs]));
  const tracker = new AlertTracker({ forMs: (id) => forMs.get(id) ?? 0, resolveAfterMs: 0 });
  const view = new ClusterView();
  return {
    view,
    at(now) {
      const result = engine.evaluate(view, now, new Set(['monitor-blind']));
      assert.deepEqual(result.errors, []);
      const { active, muted } = inhibit(result.findings, {
        inputsOf: (id) => BUILTIN_RULES.find((r) => r.id === id)?.inputs ?? [],
      });
      tracker.update(active, now);
      return {
        findings: active,
        firing: tracker.firing().map((a) => a.finding),
        muted: muted.map((m) => m.finding),
      };
    },
  };
}

test('monitor-blind: a watch failing past the grace fires at 60 s, not one step before, judged on the local clock of the watch stamps', () => {
  const j = judge();
  const local = Date.UTC(2026, 0, 15, 12, 0, 0);
  // The API server's clock runs one hour ahead of the local clock: `now` is on the server's.
  const offset = 3_600_000;
  j.view.probes.version = {
    gitVersion: 'v1.32.0',
    major: 1,
    minor: 32,
    suffix: undefined,
    vendor: undefined,
    serverClockOffsetMs: offset,
    at: local,
    serverAt: local + offset,
  };
  j.view.attachHealth('Node', health('Node', { stateSince: local - 600_000, lastEventAt: local }));
  j.view.attachHealth(
    'Pod',
    health('Pod', {
      state: 'retrying',
      stateSince: local,
      lastErrorAt: local,
      lastError: '403 pods is forbidden: User "system:serviceaccount:healwatch:healwatch" cannot watch pods',
      consecutiveFailures: 4,
    }),
  );
  assert.deepEqual(j.at(local + offset + 30_000).findings, [], '30 s: within the grace');
  assert.deepEqual(describe(j.at(local + offset + 60_000).firing), [], '60 s: one step before');
  const r = j.at(local + offset + 61_000);
  assert.deepEqual(describe(r.firing), ['Healwatch/monitor:alert']);
  const f = r.firing[0]!;
  assert.equal(f.facts.kinds, 'Pod', 'only the blind watch, not the healthy Node watch');
  assert.equal(f.since, local + offset, 'since the watch started failing, on the server clock');
  assert.match(f.title, /blind to Pod/);
  assert.ok(f.evidence.some((e) => /watch pods \(Pod\): failing for 61s, 4 failures in a row/.test(e.text)));
  assert.ok(
    f.nextSteps.some((s) => /401\/403/.test(s)),
    'a forbidden error points at RBAC',
  );

  // The inhibition mutes findings of rules that read the blind kind, and only those.
  const podFinding: Finding = {
    ...f,
    ruleId: 'crashloop',
    object: { kind: 'Pod', namespace: 'a', name: 'b' },
    facts: {},
  };
  const { muted } = inhibit([f, podFinding], {
    inputsOf: (id) => BUILTIN_RULES.find((rule) => rule.id === id)?.inputs ?? [],
  });
  assert.deepEqual(
    muted.map((m) => m.finding.ruleId),
    ['crashloop'],
  );
});

test('monitor-blind: an open watch silent past silentWatchSeconds is blind; a quiet but bookmarked one and an unserved kind are not', () => {
  const j = judge();
  const now = Date.UTC(2026, 0, 15, 12, 0, 0);
  j.view.attachHealth('Event', health('Event', { lastEventAt: now - 301_000, stateSince: now - 3_600_000 }));
  j.view.attachHealth('Pod', health('Pod', { lastEventAt: now - 50_000, stateSince: now - 3_600_000 }));
  j.view.attachHealth('Certificate', health('Certificate', { state: 'unavailable', isSynced: false }));
  const f = j.at(now).findings;
  assert.deepEqual(describe(f), ['Healwatch/monitor:alert']);
  assert.equal(f[0]!.facts.kinds, 'Event');
  assert.ok(f[0]!.evidence.some((e) => /open but silent for 5m/.test(e.text)));
  j.view.attachHealth('Event', health('Event', { lastEventAt: now - 20_000, stateSince: now - 3_600_000 }));
  assert.deepEqual(j.at(now).findings, [], 'quiet again once events flow');
});
