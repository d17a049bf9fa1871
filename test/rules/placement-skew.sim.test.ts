import { test } from 'node:test';
import assert from 'node:assert/strict';
import { refText, type Finding } from '../../src/domain/index.js';
import { startJudged } from '../helpers/judge.js';

const mine = (fs: readonly Finding[]): Finding[] => fs.filter((f) => f.ruleId === 'placement-skew');
const describe = (fs: readonly Finding[]): string[] => mine(fs).map((f) => `${refText(f.object)}:${f.level}`);

test('placement-skew: the skew fault on shop/frontend fires one Notice after 10m with the counts and the rescheduling hint, and resolves when heal re-spreads it', async (t) => {
  const j = await startJudged(t);
  const app = (fs: readonly Finding[]): string[] => describe(fs).filter((d) => /\/(shop|payments)\//.test(d));
  assert.deepEqual(app((await j.evaluate()).findings), [], 'the demo applications are spread');
  j.sim.faults.start({ name: 'skew', target: 'shop/frontend', args: ['sim-worker2'] });
  await j.advance(9 * 60_000);
  const placed = j.watcher.view
    .podsOf('Deployment', 'shop', 'frontend')
    .filter((p) => p.deletedAt === undefined);
  assert.deepEqual([...new Set(placed.map((p) => p.nodeName))], ['sim-worker2'], 'all replicas moved');
  assert.deepEqual(app(j.firing()), [], 'not before the 10m for');
  await j.advance(2 * 60_000);
  assert.deepEqual(app(j.firing()), ['Deployment/shop/frontend:notice']);
  const f = mine(j.firing()).find((x) => x.object.name === 'frontend')!;
  assert.equal(f.title, 'Deployment shop/frontend: all 3 replicas on one node (sim-worker2)');
  assert.deepEqual(
    { nodes: f.facts.nodes, zones: f.facts.zones, replicas: f.facts.replicas, node: f.facts.node },
    { nodes: 1, zones: 1, replicas: 3, node: 'sim-worker2' },
  );
  assert.ok(f.evidence.some((e) => e.text === 'pods per node: sim-worker2: 3'));
  assert.ok(f.evidence.some((e) => e.text === 'pods per zone: sim-zone-b: 3'));
  assert.ok(f.nextSteps.some((s) => /topologySpreadConstraints/.test(s) && /podAntiAffinity/.test(s)));
  assert.ok(f.nextSteps.some((s) => s.startsWith('kubectl rollout restart deployment/frontend -n shop')));
  assert.ok(f.nextSteps.includes('kubectl get pods -n shop -l app=frontend -o wide'));

  j.sim.faults.heal();
  await j.advance(3 * 60_000);
  assert.deepEqual(app(j.firing()), [], 'resolved once the rollout restart spread the replicas');
  const nodes = new Set(
    j.watcher.view
      .podsOf('Deployment', 'shop', 'frontend')
      .filter((p) => p.deletedAt === undefined && p.nodeName !== undefined)
      .map((p) => p.nodeName),
  );
  assert.ok(nodes.size > 1, 'spread again');
});

test('placement-skew: quiet on the whole healthy demo, and after 12 minutes of it', async (t) => {
  // The simulator spreads replicas by node and zone as the default topology spread does, so the demo's
  // two-replica add-ons (coredns, ingress-nginx-controller) start on different nodes.
  const j = await startJudged(t);
  assert.deepEqual(describe((await j.evaluate()).findings), []);
  await j.advance(12 * 60_000);
  assert.deepEqual(describe(j.firing()), []);
});
