import type { TimerHandle } from '../clock.js';
import type { ApiServer, RawResponse } from '../api/server.js';
import { ApiError } from '../api/status.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Behavior } from '../cluster/behavior.js';
import type { Container, Pod } from '../model.js';
import { parseDuration } from '../time.js';
import { FAULTS, type FaultContext, type FaultDefinition, type FaultHandle } from './catalog.js';

/** A fault that is active now. */
export interface ActiveFault {
  id: number;
  name: string;
  target?: string;
  args: string[];
  /** Simulated time it started (epoch ms). */
  startedAt: number;
  /** Simulated time it ends by itself, if timed. */
  endsAt?: number;
}

/** A request to start a fault. */
export interface FaultRequest {
  name: string;
  target?: string | undefined;
  args?: string[] | undefined;
  /** End the fault after this duration (e.g. `5m`), simulated time. */
  duration?: string | undefined;
  /**
   * Start the fault this long ago (e.g. `30m`): restart counts, terminations, back-offs and events are
   * backdated as if it had been going on since. Only for faults that make containers crash.
   */
  since?: string | undefined;
}

/** Thrown for an unknown fault or a bad target; the message lists what exists. */
export class FaultError extends Error {}

interface Running {
  fault: ActiveFault;
  handle: FaultHandle;
  timer?: TimerHandle;
}

/**
 * Starts and stops faults (from the CLI's control endpoint, scenario files and tests) and combines the
 * behavior overrides of the active ones for the kubelets.
 */
export class FaultEngine {
  private readonly running = new Map<number, Running>();
  private nextId = 1;
  private api: ApiServer | undefined;
  private apiOptions = { host: '127.0.0.1', tls: false };
  private readonly overrides = new Map<number, (pod: Pod, container: Container) => Behavior | undefined>();

  constructor(readonly cluster: Cluster) {
    cluster.behaviorOverride = (pod, container) => {
      for (const fn of this.overrides.values()) {
        const b = fn(pod, container);
        if (b) return b;
      }
      return undefined;
    };
  }

  /** Connects the API server, for the API faults (down, slow, 429, compaction, certificates). */
  attachApi(api: ApiServer, options: { host: string; tls: boolean }): void {
    this.api = api;
    this.apiOptions = options;
  }

  /** The definitions of every fault. */
  catalog(): readonly FaultDefinition[] {
    return FAULTS;
  }

  /** The active faults. */
  active(): ActiveFault[] {
    return [...this.running.values()].map((r) => r.fault);
  }

  /** Starts a fault; throws FaultError for unknown names and bad targets. */
  start(request: FaultRequest): ActiveFault {
    const def = FAULTS.find((f) => f.name === request.name);
    if (!def) {
      throw new FaultError(
        `unknown fault "${request.name}"; faults: ${FAULTS.map((f) => f.name).join(', ')}`,
      );
    }
    if (def.name === 'heal') {
      this.heal();
      return { id: 0, name: 'heal', args: [], startedAt: this.cluster.world.now() };
    }
    if (def.target === 'required' && !request.target) {
      throw new FaultError(`fault "${def.name}" needs a target: ${def.usage}`);
    }
    const sinceMs = request.since ? parseDuration(request.since) : undefined;
    if (sinceMs !== undefined && !def.canBackdate) {
      throw new FaultError(
        `fault "${def.name}" cannot start in the past; --since works with ${FAULTS.filter(
          (f) => f.canBackdate,
        )
          .map((f) => f.name)
          .join(', ')}`,
      );
    }
    if (def.target === 'none' && request.target) {
      throw new FaultError(`fault "${def.name}" takes no target (usage: ${def.usage})`);
    }
    const id = this.nextId++;
    const ctx: FaultContext = {
      cluster: this.cluster,
      api: this.api,
      apiOptions: this.apiOptions,
      setOverride: (fn) => {
        this.overrides.set(id, fn);
        this.cluster.refreshBehavior();
      },
      clearOverride: () => {
        this.overrides.delete(id);
        this.cluster.refreshBehavior();
      },
      fail: (message) => new FaultError(message),
    };
    const handle = def.start(ctx, request.target, request.args ?? []);
    const now = this.cluster.world.now();
    if (sinceMs !== undefined) {
      for (const kubelet of this.cluster.kubelets.values()) kubelet.backdate(sinceMs);
    }
    const fault: ActiveFault = {
      id,
      name: def.name,
      args: request.args ?? [],
      startedAt: now - (sinceMs ?? 0),
    };
    if (request.target) fault.target = request.target;
    if (handle.isInstant) {
      // One-shot faults (a rollout, a compaction) have done their work: nothing stays active.
      this.cluster.world.settle();
      return fault;
    }
    const running: Running = { fault, handle };
    const duration = request.duration ? parseDuration(request.duration) : handle.durationMs;
    if (duration !== undefined) {
      fault.endsAt = now + duration;
      running.timer = this.cluster.world.clock.after(duration, () => this.stop(id));
    }
    this.running.set(id, running);
    this.cluster.world.settle();
    return fault;
  }

  /** Stops one active fault; false when there is none with that id. */
  stop(id: number): boolean {
    const running = this.running.get(id);
    if (!running) return false;
    this.running.delete(id);
    running.timer?.cancel();
    this.overrides.delete(id);
    running.handle.stop();
    this.cluster.refreshBehavior();
    this.cluster.world.settle();
    return true;
  }

  /** Stops active faults matching a name (and target, if given); returns how many stopped. */
  stopMatching(name: string, target?: string): number {
    let count = 0;
    for (const r of [...this.running.values()]) {
      if (r.fault.name === name && (target === undefined || r.fault.target === target)) {
        this.stop(r.fault.id);
        count++;
      }
    }
    return count;
  }

  /** Ends every fault. */
  heal(): void {
    for (const id of [...this.running.keys()]) this.stop(id);
  }

  /** The simulator's control endpoint (`/sim/v1/...`). */
  control(method: string, path: string, body: unknown): RawResponse {
    const json = (status: number, value: unknown): RawResponse => ({
      status,
      contentType: 'application/json',
      body: JSON.stringify(value),
    });
    try {
      if (path === '/sim/v1/faults' && method === 'GET') {
        return json(200, {
          active: this.active(),
          catalog: FAULTS.map((f) => ({ name: f.name, usage: f.usage, summary: f.summary })),
        });
      }
      if (path === '/sim/v1/faults' && method === 'POST') {
        const request = parseRequest(body);
        return json(201, this.start(request));
      }
      const stopMatch = /^\/sim\/v1\/faults\/(\d+)$/.exec(path);
      if (stopMatch && method === 'DELETE') {
        const id = Number(stopMatch[1]);
        if (!this.stop(id)) return json(404, { error: `no active fault with id ${id}` });
        return json(200, { stopped: id });
      }
      if (path === '/sim/v1/faults/stop' && method === 'POST') {
        const request = parseRequest(body);
        const count = this.stopMatching(request.name, request.target);
        if (count === 0) {
          const active = this.active().map((f) => `${f.name}${f.target ? ` ${f.target}` : ''}`);
          return json(404, {
            error: `no active fault "${request.name}${request.target ? ` ${request.target}` : ''}"; active: ${active.join(', ') || 'none'}`,
          });
        }
        return json(200, { stopped: count });
      }
      if (path === '/sim/v1/heal' && method === 'POST') {
        this.heal();
        return json(200, { healed: true });
      }
      if (path === '/sim/v1/status' && method === 'GET') {
        const world = this.cluster.world;
        return json(200, {
          time: new Date(world.now()).toISOString(),
          speed: world.clock.speed,
          isClockRunning: world.clock.isRunning,
          resourceVersion: world.store.resourceVersion,
          nodes: world.store.count('nodes'),
          pods: world.store.count('pods'),
          platform: world.options.platform,
          version: world.gitVersion,
          faults: this.active(),
        });
      }
      const writesMatch = /^\/sim\/v1\/writes(?:\/(\d+))?$/.exec(path);
      if (writesMatch && method === 'GET') {
        const log = this.cluster.world.store.writeLog;
        if (!log)
          return json(404, {
            error: 'write times are not recorded: start the simulator with --record-writes',
          });
        // [[resourceVersion, epoch ms], ...] after RV, oldest first, in pages of 100,000.
        return json(200, log.since(Number(writesMatch[1] ?? 0), 100_000));
      }
      if (path === '/sim/v1/clock/advance' && method === 'POST') {
        const duration = (body as { duration?: unknown } | undefined)?.duration;
        if (typeof duration !== 'string')
          return json(400, { error: '"duration" must be a string such as 5m' });
        const ms = parseDuration(duration);
        if (this.cluster.world.clock.isRunning)
          return json(409, { error: 'the clock runs in real time; advance only works with a manual clock' });
        this.cluster.world.clock.advance(ms);
        return json(200, { time: new Date(this.cluster.world.now()).toISOString() });
      }
      return json(404, { error: `unknown control path ${method} ${path}` });
    } catch (error) {
      if (error instanceof FaultError || error instanceof RangeError)
        return json(400, { error: error.message });
      if (error instanceof ApiError) return json(error.code, { error: error.message });
      throw error;
    }
  }
}

function parseRequest(body: unknown): FaultRequest {
  if (typeof body !== 'object' || body === null)
    throw new FaultError('the request body must be a JSON object with "name"');
  const b = body as Record<string, unknown>;
  if (typeof b.name !== 'string' || b.name === '') throw new FaultError('"name" must be a non-empty string');
  if (b.target !== undefined && typeof b.target !== 'string')
    throw new FaultError('"target" must be a string');
  if (b.args !== undefined && (!Array.isArray(b.args) || !b.args.every((a) => typeof a === 'string'))) {
    throw new FaultError('"args" must be an array of strings');
  }
  if (b.duration !== undefined && typeof b.duration !== 'string')
    throw new FaultError('"duration" must be a string such as 5m');
  if (b.since !== undefined && typeof b.since !== 'string')
    throw new FaultError('"since" must be a string such as 30m');
  return {
    name: b.name,
    target: b.target,
    args: b.args,
    duration: b.duration,
    since: b.since,
  };
}
