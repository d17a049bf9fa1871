import type { Connection } from '../connection.js';
import type { ClusterView } from '../view.js';
import { probeHealthEndpoint, probeMetrics, probeVersion } from './api-probes.js';
import { kubeconfigClientCertificate, probeServingCertificate } from './certificates.js';
import { probeKubeletCertificates, probeNodeSummary } from './node-probes.js';
import { ProbeError } from './probe-error.js';
import type { ProbeResults } from './results.js';

/** Intervals, timeouts and limits of the probes. */
export interface ProberOptions {
  versionMs: number;
  healthMs: number;
  metricsMs: number;
  /** One pass over every node's Summary API. */
  summaryMs: number;
  /** One pass over every kubelet's certificate metrics (they change slowly). */
  kubeletCertificatesMs: number;
  certificatesMs: number;
  /** Node requests in flight at once (a 5,000-node cluster is probed a few nodes at a time). */
  nodeConcurrency: number;
  timeoutMs: number;
}

/** The default cadence. */
export const DEFAULT_PROBER_OPTIONS: ProberOptions = {
  versionMs: 60_000,
  healthMs: 30_000,
  metricsMs: 60_000,
  summaryMs: 60_000,
  kubeletCertificatesMs: 30 * 60_000,
  certificatesMs: 10 * 60_000,
  nodeConcurrency: 8,
  timeoutMs: 10_000,
};

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Runs the probes on their intervals (with jitter, never overlapping themselves) and records their
 * results and health in the view's `ProbeResults`: `/version`, `/readyz` and `/livez` with per-check
 * results, the kubelet Summary API of every node (bounded concurrency), `metrics.k8s.io`, the API
 * serving certificate, the kubeconfig's client certificate and the kubelets' certificate lifetimes.
 */
export class Prober {
  private readonly options: ProberOptions;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Set<string>();
  private isStopped = false;

  constructor(
    private readonly connection: Connection,
    private readonly view: ClusterView,
    options: Partial<ProberOptions> = {},
  ) {
    this.options = { ...DEFAULT_PROBER_OPTIONS, ...options };
  }

  private get results(): ProbeResults {
    return this.view.probes;
  }

  private probes(): [string, number, () => Promise<void>][] {
    const o = this.options;
    return [
      ['version', o.versionMs, () => this.version()],
      ['readyz', o.healthMs, () => this.health('readyz')],
      ['livez', o.healthMs, () => this.health('livez')],
      ['metrics', o.metricsMs, () => this.metrics()],
      ['summary', o.summaryMs, () => this.summaries()],
      ['kubelet-certificates', o.kubeletCertificatesMs, () => this.kubeletCertificates()],
      ['certificates', o.certificatesMs, () => this.certificates()],
    ];
  }

  /** Runs every probe once and waits for all of them. */
  async runOnce(): Promise<void> {
    await Promise.all(this.probes().map(([name, , fn]) => this.run(name, fn)));
  }

  /** Starts the probes: each runs now, then on its interval (±10 % jitter). */
  start(): void {
    for (const [name, interval, fn] of this.probes()) {
      const tick = (): void => {
        if (this.isStopped) return;
        void this.run(name, fn).finally(() => {
          if (this.isStopped) return;
          const timer = setTimeout(tick, interval * (0.9 + 0.2 * Math.random()));
          timer.unref();
          this.timers.push(timer);
        });
      };
      tick();
    }
  }

  /** Stops scheduling probes (a probe in flight finishes on its own timeout). */
  stop(): void {
    this.isStopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  private async run(name: string, fn: () => Promise<void>): Promise<void> {
    if (this.inFlight.has(name)) return;
    this.inFlight.add(name);
    const health = this.results.healthOf(name);
    const started = Date.now();
    health.lastRunAt = started;
    try {
      await fn();
      health.state = 'ok';
      health.lastSuccessAt = Date.now();
      health.consecutiveFailures = 0;
    } catch (error) {
      const e =
        error instanceof ProbeError
          ? error
          : new ProbeError(error instanceof Error ? error.message : String(error));
      health.state = e.kind === 'failure' ? 'failing' : e.kind;
      health.lastError = e.message;
      health.lastErrorAt = Date.now();
      health.consecutiveFailures++;
    } finally {
      health.durationMs = Date.now() - started;
      this.inFlight.delete(name);
    }
  }

  private async version(): Promise<void> {
    this.results.version = await probeVersion(this.connection, this.options.timeoutMs);
  }

  private async health(endpoint: 'readyz' | 'livez'): Promise<void> {
    this.results[endpoint] = await probeHealthEndpoint(this.connection, endpoint, this.options.timeoutMs);
  }

  private async metrics(): Promise<void> {
    const result = await probeMetrics(this.connection, this.options.timeoutMs);
    this.results.metrics = result;
    if (!result.isAvailable)
      throw new ProbeError(result.reason ?? 'metrics.k8s.io is not available', 'unavailable');
  }

  private nodeNames(): string[] {
    return this.view.list('Node').map((n) => n.name);
  }

  private async summaries(): Promise<void> {
    const nodes = this.nodeNames();
    for (const known of [...this.results.summaries.keys()])
      if (!nodes.includes(known)) this.results.summaries.delete(known);
    for (const known of [...this.results.summaryErrors.keys()])
      if (!nodes.includes(known)) this.results.summaryErrors.delete(known);
    let failures = 0;
    let lastError: ProbeError | undefined;
    await pool(nodes, this.options.nodeConcurrency, async (node) => {
      try {
        this.results.summaries.set(
          node,
          await probeNodeSummary(this.connection, node, this.options.timeoutMs),
        );
        this.results.summaryErrors.delete(node);
      } catch (error) {
        failures++;
        lastError = error instanceof ProbeError ? error : new ProbeError((error as Error).message);
        this.results.summaryErrors.set(node, lastError.message);
      }
    });
    // One unreachable kubelet is a finding about that node, not a broken probe; all of them failing is.
    if (lastError && failures === nodes.length) throw lastError;
  }

  private async kubeletCertificates(): Promise<void> {
    const nodes = this.nodeNames();
    let failures = 0;
    let lastError: ProbeError | undefined;
    await pool(nodes, this.options.nodeConcurrency, async (node) => {
      try {
        for (const cert of await probeKubeletCertificates(this.connection, node, this.options.timeoutMs)) {
          this.results.certificates.set(`${cert.kind}/${node}`, cert);
        }
      } catch (error) {
        failures++;
        lastError = error instanceof ProbeError ? error : new ProbeError((error as Error).message);
      }
    });
    for (const key of [...this.results.certificates.keys()]) {
      const node = key.split('/')[1];
      if (key.startsWith('kubelet-') && node !== undefined && !nodes.includes(node))
        this.results.certificates.delete(key);
    }
    if (lastError && failures === nodes.length) throw lastError;
  }

  private async certificates(): Promise<void> {
    const serving = await probeServingCertificate(this.connection, this.options.timeoutMs);
    if (serving) this.results.certificates.set('api-serving', serving);
    const client = kubeconfigClientCertificate(this.connection);
    if (client) this.results.certificates.set('kubeconfig-client', client);
  }
}
