import type { TestContext } from 'node:test';
import { Service, type ServiceTransition } from '../../src/app/service.js';
import { Connection } from '../../src/cluster/index.js';
import { parseConfig } from '../../src/config/config.js';
import type { Simulator } from '../../src/sim/index.js';
import type { Store } from '../../src/store/index.js';
import { catchUpWith } from './judge.js';

/** A Service under test and what it reported. */
export interface Running {
  service: Service;
  transitions: ServiceTransition[];
  /** Evaluates (with fresh probes) once the view has caught up with the simulator. */
  evaluate(): Promise<ServiceTransition[]>;
  /** Advances simulated time in steps, evaluating after each. */
  advance(ms: number, stepMs?: number): Promise<void>;
}

/**
 * A started Service on the simulator's clock with its timers off (tests evaluate explicitly),
 * recording its transitions, stopped when the test ends.
 */
export async function startService(
  t: TestContext,
  sim: Simulator,
  options: { config?: string; debounceMs?: number; resolveAfterMs?: number; store?: Store } = {},
): Promise<Running> {
  const service = new Service({
    connection: Connection.fromString(sim.kubeconfig()),
    config: parseConfig(options.config ?? '{}', 'test-config'),
    now: () => sim.cluster.world.now(),
    debounceMs: options.debounceMs ?? 0,
    tickMs: 0,
    probeIntervalMs: 0,
    resolveAfterMs: options.resolveAfterMs ?? 0,
    watcher: { reflector: { backoffInitialMs: 20, backoffMaxMs: 200, idleTimeoutMs: 5000 } },
    prober: { timeoutMs: 5000 },
    ...(options.store ? { store: options.store } : {}),
  });
  const transitions: ServiceTransition[] = [];
  service.onTransition((tr) => transitions.push(tr));
  t.after(() => service.stop());
  await service.start();
  const evaluate = async (): Promise<ServiceTransition[]> => {
    await catchUpWith(sim, service.watcher!.reflectors);
    return service.evaluateNow({ probes: true });
  };
  return {
    service,
    transitions,
    evaluate,
    async advance(ms, stepMs = 30_000) {
      for (let done = 0; done < ms; done += stepMs) {
        sim.advance(Math.min(stepMs, ms - done));
        await evaluate();
      }
    },
  };
}
