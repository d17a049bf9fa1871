import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAtLeast, refText, type Finding } from '../../src/domain/index.js';
import { R } from '../../src/sim/api/resources.js';
import type { DaemonSet, Deployment, Node } from '../../src/sim/model.js';
import { deployment, namespace } from '../../src/sim/scenario/workloads.js';
import { startJudged, type Judged } from '../helpers/judge.js';

/**
 * Quietness, with every registered rule at its defaults: situations where Kubernetes heals by itself
 * (or nothing is wrong) must produce nothing at Notice or above, neither as a finding of any single
 * evaluation nor as a firing alert.
 */

/**
 * A fixed simulated start, so that quietness does not depend on the wall clock: the scenarios run
 * Kubernetes 1.32, which is months from its end of life (2026-02-28 upstream) on this date, while on
 * a later real date version-eol rightly reports it.
 */
const START = Date.UTC(2025, 8, 1, 12, 0, 0);

/** What was loud, keyed by fingerprint-like text, with when it was first seen (simulated seconds). */
type Loud = Map<string, number>;

function describe(f: Finding): string {
  return `${f.ruleId} ${f.level} ${refText(f.object)}${f.key ? ` [${f.key}]` : ''}: ${f.title}`;
}

/** Evaluates every `stepMs` for `ms`, collecting every finding at Notice or above (evaluated or firing). */
async function watchQuiet(j: Judged, ms: number, loud: Loud, stepMs = 30_000): Promise<void> {
  const start = j.sim.cluster.world.now();
  for (let done = 0; done < ms; done += stepMs) {
    j.sim.advance(Math.min(stepMs, ms - done));
    const { findings } = await j.evaluate();
    const at = Math.round((j.sim.cluster.world.now() - start) / 1000);
    for (const f of findings) {
      if (!isAtLeast(f.level, 'notice')) continue;
      const text = describe(f);
      if (!loud.has(text)) loud.set(text, at);
    }
    // Firing alerts are marked: a finding that only showed within its `for` never notified anyone.
    for (const f of j.firing()) {
      if (!isAtLeast(f.level, 'notice')) continue;
      const text = `FIRING ${describe(f)}`;
      if (!loud.has(text)) loud.set(text, at);
    }
  }
}

/** Fails listing every loud finding (rule, level, object, title) and when it first appeared. */
function assertQuiet(loud: Loud, situation: string): void {
  assert.deepEqual(
    [...loud.entries()].map(([text, at]) => `${text} (first at +${at}s)`),
    [],
    `${situation}: findings at Notice or above`,
  );
}

/** Checks the first evaluation too (a rule loud from the start). */
async function startQuiet(j: Judged, loud: Loud): Promise<void> {
  const { findings } = await j.evaluate();
  for (const f of findings) if (isAtLeast(f.level, 'notice')) loud.set(describe(f), 0);
}

test('quiet: the healthy demo cluster for 20 simulated minutes', async (t) => {
  const j = await startJudged(t, { sim: { startTime: START } });
  const loud: Loud = new Map();
  await startQuiet(j, loud);
  await watchQuiet(j, 20 * 60_000, loud);
  // The None findings are still there: the rules ran and judged (not silent because absent).
  assert.ok(j.firing().some((f) => f.ruleId === 'node-count' && f.level === 'none'));
  assertQuiet(loud, 'healthy demo');
});

test('quiet: a healthy rollout of shop/frontend, during and after', async (t) => {
  const j = await startJudged(t, { sim: { startTime: START } });
  const loud: Loud = new Map();
  await startQuiet(j, loud);
  const before = j.sim.cluster.world.store.get<Deployment>(R.deployments, 'shop', 'frontend')!;
  j.sim.faults.start({ name: 'rollout', target: 'shop/frontend' });
  await watchQuiet(j, 12 * 60_000, loud);
  const after = j.sim.cluster.world.store.get<Deployment>(R.deployments, 'shop', 'frontend')!;
  assert.notEqual(
    after.spec.template.spec.containers[0]!.image,
    before.spec.template.spec.containers[0]!.image,
    'the rollout changed the image',
  );
  assert.equal(after.status.updatedReplicas, 3, 'the rollout completed');
  assert.equal(after.status.availableReplicas, 3);
  assertQuiet(loud, 'healthy rollout');
});

/**
 * Six 2-CPU replicas on the demo's 4-CPU workers: each worker has room for one, so two stay Pending
 * (Insufficient cpu) until the autoscaler's new nodes register, turn Ready and get their DaemonSet pods.
 * Returns what was loud, and the node counts before and after.
 */
async function scaleUp(
  t: Parameters<typeof startJudged>[0],
  maxNodes: number | undefined,
): Promise<{ loud: Loud; before: number; after: number }> {
  const j = await startJudged(t, {
    sim: { startTime: START, ...(maxNodes !== undefined ? { maxNodes } : {}) },
  });
  const loud: Loud = new Map();
  await startQuiet(j, loud);
  const world = j.sim.cluster.world;
  const before = [...world.store.iterate<Node>(R.nodes)].length;
  namespace(world, 'batch');
  deployment(world, 'batch', 'indexer', 6, {
    image: 'ghcr.io/healwatch-sim/indexer:1.0.0',
    cpu: '2',
    memory: '1Gi',
    memoryLimit: '2Gi',
  });
  await watchQuiet(j, 15 * 60_000, loud);
  const after = [...world.store.iterate<Node>(R.nodes)].length;
  assert.ok(after > before, `the autoscaler added nodes (${before} -> ${after})`);
  const d = world.store.get<Deployment>(R.deployments, 'batch', 'indexer')!;
  assert.equal(d.status.availableReplicas, 6, 'every replica runs on the new capacity');
  // The DaemonSets that tolerate everything rolled onto the new nodes too.
  const agent = world.store.get<DaemonSet>(R.daemonsets, 'logging', 'fluent-bit')!;
  assert.equal(agent.status.desiredNumberScheduled, after);
  assert.equal(agent.status.numberReady, after);
  return { loud, before, after };
}

test('quiet: a scale-up the Cluster Autoscaler heals with new nodes, below its maximum', async (t) => {
  // With room to spare: the autoscaler counts the nodes it is already adding (provisioning, or
  // registered and not Ready yet), so it adds what the pending pods need, not a node per loop.
  const { loud, before, after } = await scaleUp(t, 20);
  assertQuiet(loud, 'autoscaler scale-up below its maximum');
  assert.ok(after - before <= 2, `two pending 2-CPU pods need at most two nodes, got ${after - before}`);
});

test('quiet: a scale-up the Cluster Autoscaler heals with new nodes, reaching its maximum', async (t) => {
  // Reaching the maximum: pods that fit on the upcoming nodes get no "max node group size reached"
  // (as with the real Cluster Autoscaler), and nothing may take the scale-up for stuck capacity.
  const { loud } = await scaleUp(t, undefined);
  assertQuiet(loud, 'autoscaler scale-up to its maximum');
});

for (const scenario of ['eks', 'gke', 'aks']) {
  test(`quiet: the healthy ${scenario} scenario for 10 simulated minutes (managed control plane)`, async (t) => {
    const j = await startJudged(t, { sim: { scenario, startTime: START } });
    const loud: Loud = new Map();
    await startQuiet(j, loud);
    await watchQuiet(j, 10 * 60_000, loud);
    assertQuiet(loud, `healthy ${scenario}`);
  });
}
