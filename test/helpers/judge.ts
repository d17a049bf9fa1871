import type { TestContext } from 'node:test';
import { ClusterWatcher, Connection, Prober } from '../../src/cluster/index.js';
import { AlertTracker } from '../../src/alerts/tracker.js';
import { inhibit } from '../../src/alerts/inhibit.js';
import { parseConfig } from '../../src/config/config.js';
import type { Finding } from '../../src/domain/index.js';
import { BUILTIN_RULES, RuleEngine } from '../../src/rules/index.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/index.js';

/**
 * Waits until every reflector has seen the simulator's latest resourceVersion (bookmarks guarantee
 * progress); fails after 10 s.
 */
export async function catchUpWith(
  sim: Simulator,
  reflectors: readonly { health: { resourceVersion: string | undefined } }[],
): Promise<void> {
  const target = sim.cluster.world.store.resourceVersion;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (reflectors.every((r) => Number(r.health.resourceVersion) >= target)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the view did not catch up with resourceVersion ${target}`);
}

/** A simulator watched by the real watch layer, judged by the real engine and tracker. */
export interface Judged {
  sim: Simulator;
  watcher: ClusterWatcher;
  prober: Prober;
  engine: RuleEngine;
  tracker: AlertTracker;
  /** Advances simulated time in steps, letting the view catch up and evaluating after each step. */
  advance(ms: number, stepMs?: number): Promise<void>;
  /** Waits until every watch has seen the simulator's latest resourceVersion (bookmarks guarantee progress). */
  catchUp(): Promise<void>;
  /** Evaluates now (simulated time): findings after inhibition, and the muted ones. */
  evaluate(): Promise<{ findings: Finding[]; muted: Finding[] }>;
  /** The findings currently firing in the tracker. */
  firing(): Finding[];
}

/**
 * Starts a manual-clock simulator, a ClusterWatcher and Prober on it, and the engine with the given
 * configuration YAML (default: the catalog's defaults); closes everything when the test ends.
 */
export async function startJudged(
  t: TestContext,
  options: { sim?: SimulatorOptions; config?: string } = {},
): Promise<Judged> {
  const sim = await startSimulator({
    seed: 'judged',
    bookmarkIntervalMs: 30,
    ...options.sim,
    clock: 'manual',
    port: 0,
  });
  const connection = Connection.fromString(sim.kubeconfig());
  const watcher = new ClusterWatcher(connection, {
    reflector: { backoffInitialMs: 20, backoffMaxMs: 200, idleTimeoutMs: 5000 },
  });
  await watcher.start();
  await watcher.synced();
  const prober = new Prober(connection, watcher.view, { timeoutMs: 5000 });
  const config = parseConfig(options.config ?? '{}', 'test-config');
  const engine = new RuleEngine(config.rules, config.classification);
  const forMs = new Map(config.rules.map((r) => [r.rule.id, r.common.forMs]));
  const tracker = new AlertTracker({ forMs: (id) => forMs.get(id) ?? 0, resolveAfterMs: 0 });
  t.after(async () => {
    await prober.stop();
    await watcher.stop();
    await sim.close();
  });
  const catchUp = (): Promise<void> => catchUpWith(sim, watcher.reflectors);
  const evaluate = async (): Promise<{ findings: Finding[]; muted: Finding[] }> => {
    await catchUp();
    await prober.runOnce();
    const now = sim.cluster.world.now();
    const result = engine.evaluate(watcher.view, now);
    if (result.errors.length > 0)
      throw new Error(`rules threw: ${result.errors.map((e) => `${e.ruleId}: ${e.message}`).join('; ')}`);
    const { active, muted } = inhibit(result.findings, {
      inputsOf: (id) => BUILTIN_RULES.find((r) => r.id === id)?.inputs ?? [],
    });
    tracker.update(active, now);
    return { findings: active, muted: muted.map((m) => m.finding) };
  };
  return {
    sim,
    watcher,
    prober,
    engine,
    tracker,
    catchUp,
    evaluate,
    firing: () => tracker.firing().map((a) => a.finding),
    async advance(ms, stepMs = 30_000) {
      for (let done = 0; done < ms; done += stepMs) {
        sim.advance(Math.min(stepMs, ms - done));
        await evaluate();
      }
    },
  };
}
