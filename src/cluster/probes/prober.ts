import { setMaxListeners } from 'node:events';
import type { Connection } from '../connection.js';
import type { ClusterView } from '../view.js';
import { probeHealthEndpoint, probeMetrics, probeVersion } from './api-probes.js';
import { probeApiserverMetrics } from './apiserver-metrics.js';
import { probeKubeconfigCertificate, probeServingCertificate } from './certificates.js';
import { probeKubeletCertificates, probeNodeSummary } from './node-probes.js';
import { ProbeError, toProbeError } from './probe-error.js';
import { stamp, type ProbeContext } from './request.js';
import type { NodeProbeError, ProbeHealth, ProbeResults } from './results.js';

/** These are the intervals, timeouts and limits of the probes (ms unless named otherwise). */
export interface ProberOptions {
  versionMs: number;
  /** `/readyz` and `/livez`. */
  healthMs: number;
  metricsMs: number;
  /** One pass over every node's Summary API. */
  summaryMs: number;
  /** One pass over every kubelet's certificate metrics (they change slowly). */
  kubeletCertificatesMs: number;
  /** The API serving certificate and the kubeconfig's client certificate. */
  certificatesMs: number;
  /** The API server's own `/metrics` (deprecated APIs requested): large, and changes slowly. */
  apiserverMetricsMs: number;
  /** Node requests in flight at once (a 5,000-node cluster is probed a few nodes at a time). */
  nodeConcurrency: number;
  /**
   * Fraction of its interval over which a node pass spreads its requests when running on a schedule
   * (`runOnce` does not wait): 5,000 nodes every 60 s at 0.5 start one request every 6 ms, not all at once.
   */
  nodeSpread: number;
  /** Bound on one whole request or TLS handshake. */
  timeoutMs: number;
  /** Each interval is stretched or shrunk at random by up to this fraction, so probes do not align. */
  jitter: number;
  /** A probe that was not permitted (RBAC) waits this long before asking again, not its interval. */
  notPermittedRetryMs: number;
  /** The local clock (tests pass a fake one). */
  clock: () => number;
}

/** The default cadence probes health every 30 s, most else every minute and certificates rarely. */
export const DEFAULT_PROBER_OPTIONS: ProberOptions = {
  versionMs: 60_000,
  healthMs: 30_000,
  metricsMs: 60_000,
  summaryMs: 60_000,
  kubeletCertificatesMs: 30 * 60_000,
  certificatesMs: 10 * 60_000,
  apiserverMetricsMs: 5 * 60_000,
  nodeConcurrency: 8,
  nodeSpread: 0.5,
  timeoutMs: 10_000,
  jitter: 0.1,
  notPermittedRetryMs: 15 * 60_000,
  clock: () => Date.now(),
};

/** These are the names of the probes, as they appear in `ProbeResults.health`. */
export const PROBE_NAMES = [
  'version',
  'readyz',
  'livez',
  'metrics',
  'summary',
  'kubelet-certificates',
  'certificates',
  'apiserver-metrics',
] as const;

/** A probe is named by one of `PROBE_NAMES`. */
export type ProbeName = (typeof PROBE_NAMES)[number];

/** What a run reports beyond success: a partial node pass, or a note on why nothing was recorded. */
interface RunOutcome {
  partial?: string;
  note?: string;
}

/** How a node pass is run: paced over a window, or as fast as the concurrency allows. */
interface Pace {
  windowMs: number;
}

/**
 * Runs the probes on their intervals (with jitter, never overlapping themselves) and records their
 * results and health in the view's `ProbeResults`: `/version`, `/readyz` and `/livez` with per-check
 * results, the kubelet Summary API of every node (bounded concurrency, spread over the interval),
 * `metrics.k8s.io`, the API serving certificate, the kubeconfig's client certificate and the kubelets'
 * certificate lifetimes. A malformed answer or a failing request is recorded in the probe's health,
 * never thrown.
 */
export class Prober {
  private readonly options: ProberOptions;
  private readonly timers = new Map<ProbeName, NodeJS.Timeout>();
  private readonly inFlight = new Map<ProbeName, Promise<void>>();
  private stopController = newStopController();
  private isRunning = false;
  /** Bumped by every start and stop, so a run that outlived a stop/start cannot schedule a second loop. */
  private generation = 0;

  constructor(
    private readonly connection: Connection,
    private readonly view: ClusterView,
    options: Partial<ProberOptions> = {},
  ) {
    this.options = { ...DEFAULT_PROBER_OPTIONS, ...options };
    if (!(this.options.nodeConcurrency >= 1)) throw new RangeError('nodeConcurrency must be at least 1');
  }

  private get results(): ProbeResults {
    return this.view.probes;
  }

  private context(): ProbeContext {
    return {
      connection: this.connection,
      timeoutMs: this.options.timeoutMs,
      now: this.options.clock,
      signal: this.stopController.signal,
    };
  }

  private intervalOf(name: ProbeName): number {
    const o = this.options;
    switch (name) {
      case 'version':
        return o.versionMs;
      case 'readyz':
      case 'livez':
        return o.healthMs;
      case 'metrics':
        return o.metricsMs;
      case 'summary':
        return o.summaryMs;
      case 'kubelet-certificates':
        return o.kubeletCertificatesMs;
      case 'certificates':
        return o.certificatesMs;
      case 'apiserver-metrics':
        return o.apiserverMetricsMs;
    }
  }

  private body(name: ProbeName, pace: Pace | undefined): Promise<RunOutcome> {
    switch (name) {
      case 'version':
        return this.version();
      case 'readyz':
      case 'livez':
        return this.health(name);
      case 'metrics':
        return this.metrics();
      case 'summary':
        return this.summaries(pace);
      case 'kubelet-certificates':
        return this.kubeletCertificates(pace);
      case 'certificates':
        return this.certificates();
      case 'apiserver-metrics':
        return this.apiserverMetrics();
    }
  }

  /** Runs every probe once (node passes unpaced) and resolves when all have finished. */
  async runOnce(names: readonly ProbeName[] = PROBE_NAMES): Promise<void> {
    if (!this.isRunning && this.stopController.signal.aborted) this.stopController = newStopController();
    await Promise.all(names.map((name) => this.run(name, undefined)));
  }

  /** Starts the probes: each runs now, then again one interval (± jitter) after it finished. */
  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.generation++;
    if (this.stopController.signal.aborted) this.stopController = newStopController();
    for (const name of PROBE_NAMES) this.schedule(name, 0);
  }

  /** Stops scheduling, aborts requests in flight and resolves once every probe has settled. */
  async stop(): Promise<void> {
    this.isRunning = false;
    this.generation++;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.stopController.abort();
    await Promise.all(this.inFlight.values());
  }

  private schedule(name: ProbeName, delayMs: number): void {
    const generation = this.generation;
    const timer = setTimeout(() => {
      this.timers.delete(name);
      const interval = this.intervalOf(name);
      void this.run(name, { windowMs: interval * this.options.nodeSpread }).then(() => {
        if (!this.isRunning || generation !== this.generation) return;
        const health = this.results.healthOf(name);
        const jittered = interval * (1 + this.options.jitter * (2 * Math.random() - 1));
        // Counted from the start of the run, but never sooner than a tenth of the interval after its end.
        const next =
          health.state === 'not-permitted'
            ? Math.max(interval, this.options.notPermittedRetryMs)
            : Math.max(jittered - (health.durationMs ?? 0), interval * 0.1);
        this.schedule(name, next);
      });
    }, delayMs);
    timer.unref();
    this.timers.set(name, timer);
  }

  /** Runs one probe unless it is already running (then waits for that run): probes never overlap. */
  private run(name: ProbeName, pace: Pace | undefined): Promise<void> {
    const running = this.inFlight.get(name);
    if (running) return running;
    const promise = this.record(name, pace).finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, promise);
    return promise;
  }

  private async record(name: ProbeName, pace: Pace | undefined): Promise<void> {
    const health: ProbeHealth = this.results.healthOf(name);
    const now = this.options.clock;
    const started = now();
    health.lastRunAt = started;
    health.runs++;
    try {
      const outcome = await this.body(name, pace);
      health.lastSuccessAt = now();
      health.consecutiveFailures = 0;
      health.note = outcome.note;
      if (outcome.partial) {
        health.state = 'partial';
        health.lastError = outcome.partial;
        health.lastErrorAt = health.lastSuccessAt;
      } else {
        health.state = 'ok';
      }
    } catch (error) {
      // A run cut short by stop() says nothing about the cluster.
      if (this.stopController.signal.aborted) return;
      const e = toProbeError(error);
      health.state = e.kind === 'failure' ? 'failing' : e.kind;
      health.lastError = e.message;
      health.lastErrorAt = now();
      health.note = undefined;
      if (e.kind === 'failure') health.consecutiveFailures++;
    } finally {
      health.durationMs = now() - started;
    }
  }

  private async version(): Promise<RunOutcome> {
    this.results.version = await probeVersion(this.context());
    return {};
  }

  private async health(endpoint: 'readyz' | 'livez'): Promise<RunOutcome> {
    this.results[endpoint] = await probeHealthEndpoint(this.context(), endpoint);
    return {};
  }

  private async metrics(): Promise<RunOutcome> {
    const result = await probeMetrics(this.context());
    this.results.metrics = result;
    if (!result.isAvailable)
      throw new ProbeError(result.reason ?? 'metrics.k8s.io is not available', 'unavailable');
    return result.malformedItems > 0 ? { note: `${result.malformedItems} malformed item(s) skipped` } : {};
  }

  /**
   * The API server's `/metrics`. When it cannot be read the last result is dropped: a rule must not
   * judge deprecated APIs from a reading it can no longer refresh (403 stays silent, by design).
   */
  private async apiserverMetrics(): Promise<RunOutcome> {
    try {
      const result = await probeApiserverMetrics(this.context());
      this.results.apiserverMetrics = result;
      return result.malformedLines > 0 ? { note: `${result.malformedLines} malformed series skipped` } : {};
    } catch (error) {
      const e = toProbeError(error);
      if (e.kind !== 'failure') this.results.apiserverMetrics = undefined;
      throw e;
    }
  }

  /**
   * The API serving certificate and the kubeconfig's client certificate, each recorded on its own: one
   * unreadable certificate does not hide the other.
   */
  private async certificates(): Promise<RunOutcome> {
    const ctx = this.context();
    const certs = this.results.certificates;
    const notes: string[] = [];
    const errors: ProbeError[] = [];
    const [serving, client] = await Promise.allSettled([
      probeServingCertificate(ctx),
      probeKubeconfigCertificate(ctx),
    ]);
    for (const [key, outcome, none] of [
      ['api-serving', serving, 'the API server is reached over http: no serving certificate'],
      ['kubeconfig-client', client, 'the kubeconfig user does not authenticate with a client certificate'],
    ] as const) {
      if (outcome.status === 'rejected') {
        // The last certificate read stays (with its time): expiry matters most when the server is unwell.
        errors.push(toProbeError(outcome.reason));
      } else if (outcome.value) {
        certs.set(key, outcome.value);
      } else {
        certs.delete(key);
        notes.push(none);
      }
    }
    if (errors.length === 2) throw errors[0]!;
    return {
      ...(errors[0] ? { partial: errors[0].message } : {}),
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    };
  }

  private async summaries(pace: Pace | undefined): Promise<RunOutcome> {
    const results = this.results;
    return this.nodePass(
      'summary',
      pace,
      results.summaryErrors,
      async (ctx, node) => {
        results.summaries.set(node, await probeNodeSummary(ctx, node));
      },
      (node) => results.summaries.delete(node),
      (nodes) => {
        for (const known of results.summaries.keys()) if (!nodes.has(known)) results.summaries.delete(known);
      },
    );
  }

  private async kubeletCertificates(pace: Pace | undefined): Promise<RunOutcome> {
    const results = this.results;
    const drop = (node: string): void => {
      results.certificates.delete(`kubelet-client/${node}`);
      results.certificates.delete(`kubelet-serving/${node}`);
    };
    return this.nodePass(
      'kubelet certificate metrics',
      pace,
      results.kubeletCertificateErrors,
      async (ctx, node) => {
        const certs = await probeKubeletCertificates(ctx, node);
        drop(node);
        for (const cert of certs) results.certificates.set(`${cert.kind}/${node}`, cert);
      },
      // A kubelet that cannot be reached keeps its last reading: its certificate's expiry still matters.
      () => undefined,
      (nodes) => {
        for (const [key, cert] of results.certificates)
          if (cert.source === 'kubelet-metrics' && cert.node !== undefined && !nodes.has(cert.node))
            results.certificates.delete(key);
      },
    );
  }

  /**
   * Probes every node in the view with at most `nodeConcurrency` requests in flight, starting them
   * evenly over `pace.windowMs` when paced. One failing kubelet is a finding about that node, not a
   * broken probe: the pass fails only when every node failed. A 401/403 ends the pass at once, since
   * RBAC on `nodes/proxy` is the same for every node.
   */
  private async nodePass(
    what: string,
    pace: Pace | undefined,
    errors: Map<string, NodeProbeError>,
    probe: (ctx: ProbeContext, node: string) => Promise<void>,
    forget: (node: string) => void,
    prune: (nodes: ReadonlySet<string>) => void,
  ): Promise<RunOutcome> {
    const nodes = this.view.list('Node').map((n) => n.name);
    const current = new Set(nodes);
    prune(current);
    for (const known of errors.keys()) if (!current.has(known)) errors.delete(known);
    if (nodes.length === 0) throw new ProbeError(`${what}: no nodes known yet`, 'unavailable');
    const ctx = this.context();
    const gapMs = pace ? pace.windowMs / nodes.length : 0;
    let nextStart = this.options.clock();
    let next = 0;
    let succeeded = 0;
    let denied: ProbeError | undefined;
    const failed: string[] = [];
    const worker = async (): Promise<void> => {
      while (next < nodes.length && !denied && !ctx.signal?.aborted) {
        const node = nodes[next++]!;
        if (gapMs > 0) {
          const wait = nextStart - this.options.clock();
          nextStart = Math.max(nextStart, this.options.clock()) + gapMs;
          if (wait > 0) await sleep(wait, ctx.signal);
          if (ctx.signal?.aborted) return;
        }
        try {
          await probe(ctx, node);
          errors.delete(node);
          succeeded++;
        } catch (error) {
          const e = toProbeError(error);
          forget(node);
          errors.set(node, { node, kind: e.kind, status: e.status, message: e.message, ...stamp(ctx) });
          failed.push(node);
          if (e.kind === 'not-permitted') denied ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.nodeConcurrency, nodes.length) }, worker));
    if (denied) throw denied;
    if (succeeded === 0) {
      const first = errors.get(failed[0] ?? '');
      throw new ProbeError(`${what}: all ${nodes.length} node(s) failed${first ? `; ${first.message}` : ''}`);
    }
    if (failed.length === 0) return {};
    const sample = failed
      .slice(0, 3)
      .map((n) => errors.get(n)?.message ?? n)
      .join('; ');
    return { partial: `${failed.length} of ${nodes.length} node(s) failed: ${sample}` };
  }
}

/**
 * The controller whose signal aborts every request in flight on stop. Each request listens to it
 * while it runs (and stops listening after), so a node pass holds many listeners at once by design.
 */
function newStopController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** Waits `ms`, or less when the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
