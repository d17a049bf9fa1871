import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

const RULE = 'log-agent';

function ours(findings: readonly Finding[]): Finding[] {
  return findings.filter((f) => f.ruleId === RULE);
}

test('log-agent: log-agent-errors (agents restarting) is one Notice for the pipeline, resolved once restarts stop', async (t) => {
  const j = await startJudged(t);
  assert.deepEqual(ours((await j.evaluate()).findings), [], 'nothing on the healthy demo');
  const agents = j.watcher.view.podsOf('DaemonSet', 'logging', 'fluent-bit').length;
  j.sim.faults.start({ name: 'log-agent-errors' });
  let firedAt: number | undefined;
  for (let m = 0.5; m <= 12; m += 0.5) {
    await j.advance(30_000);
    if (firedAt === undefined && ours(j.firing()).length > 0) firedAt = m;
  }
  // The first restarts come 75-225 s after the fault; then the 5m `for`.
  assert.ok(firedAt !== undefined && firedAt >= 6 && firedAt <= 10, `fired after ${firedAt} minutes`);
  const firing = ours(j.firing());
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['DaemonSet/logging/fluent-bit:notice'],
    'one finding for the pipeline, never one per pod',
  );
  const f = firing[0]!;
  assert.equal(f.facts.agent, 'logging/fluent-bit');
  assert.equal(f.facts.eligibleNodes, agents);
  assert.ok(Number(f.facts.restartingAgents) >= 2, `restarting agents: ${f.facts.restartingAgents}`);
  assert.equal(
    Number(f.facts.readyAgents) + Number(f.facts.nodesWithout),
    agents,
    'every eligible node is either covered or not',
  );
  assert.match(f.title, /agents? restarted in the last 15m/);
  assert.match(f.message, /logs .* not shipped/);
  assert.match(f.message, /output/);
  assert.ok(f.evidence.some((e) => e.type === 'restarts' && /Error, exit code 1/.test(e.text)));
  assert.ok(
    f.nextSteps.some((s) => /^kubectl logs -n logging fluent-bit-\S+ -c fluent-bit --previous/.test(s)),
  );
  j.sim.faults.heal();
  await j.advance(10 * 60_000);
  assert.equal(ours(j.firing()).length, 1, 'restarts within the last 15 minutes still count');
  await j.advance(8 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'resolved 15 minutes after the last restart');
});

test('log-agent: addon-crash on logging/fluent-bit leaves every node without a ready agent', async (t) => {
  const j = await startJudged(t);
  const nodes = j.watcher.view.list('Node').length;
  j.sim.faults.start({ name: 'addon-crash', target: 'logging/fluent-bit' });
  await j.advance(4 * 60_000);
  assert.deepEqual(ours(j.firing()), [], 'pending before its 5m');
  await j.advance(2 * 60_000);
  const firing = ours(j.firing());
  assert.deepEqual(
    firing.map((f) => `${refText(f.object)}:${f.level}`),
    ['DaemonSet/logging/fluent-bit:notice'],
  );
  const f = firing[0]!;
  // fluent-bit tolerates every taint: the control-plane node is eligible too.
  assert.equal(f.facts.eligibleNodes, nodes);
  assert.equal(f.facts.nodesWithout, nodes);
  assert.equal(f.facts.readyAgents, 0);
  assert.match(f.title, new RegExp(`${nodes} of ${nodes} nodes have no ready agent`));
  assert.ok(f.evidence.some((e) => /CrashLoopBackOff/.test(e.text)));
  assert.deepEqual(
    j.firing().filter((x) => x.ruleId === 'component-unavailable'),
    [],
    'the log agent is not paged as a cluster component',
  );
});

test('log-agent: quiet on the healthy demo and the healthy eks scenario', async (t) => {
  for (const scenario of ['demo', 'eks']) {
    const j = await startJudged(t, { sim: { scenario } });
    await j.advance(6 * 60_000);
    const { findings, muted } = await j.evaluate();
    assert.deepEqual(ours([...findings, ...muted]), [], scenario);
  }
});

test('log-agent: a node going NotReady and coming back is the node’s story, not the pipeline’s', async (t) => {
  const j = await startJudged(t);
  j.sim.faults.start({ name: 'node-notready', target: 'sim-worker3' });
  const seen = new Set<string>();
  const collect = async (ms: number): Promise<void> => {
    for (let done = 0; done < ms; done += 30_000) {
      j.sim.advance(30_000);
      const { findings, muted } = await j.evaluate();
      for (const f of ours([...findings, ...muted])) seen.add(f.title);
    }
  };
  await collect(8 * 60_000);
  assert.notEqual(
    j.watcher.view.get('Node', undefined, 'sim-worker3')?.conditions.Ready?.status,
    'True',
    'the node is NotReady',
  );
  j.sim.faults.heal();
  await collect(20 * 60_000);
  assert.equal(j.watcher.view.get('Node', undefined, 'sim-worker3')?.conditions.Ready?.status, 'True');
  assert.deepEqual([...seen], []);
});
