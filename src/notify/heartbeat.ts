import { send } from './http.js';
import type { Secret } from './secret.js';

/** How the heartbeat is doing. */
export interface HeartbeatHealth {
  readonly intervalMs: number;
  readonly lastPingAt: number | undefined;
  readonly lastError: string | undefined;
  readonly lastErrorAt: number | undefined;
  /** Pings skipped because Healwatch was not ready (blind or syncing): the switch is meant to fire then. */
  readonly skipped: number;
}

/**
 * Pings a dead man's switch (healthchecks.io, Cronitor, Dead Man's Snitch, an Opsgenie heartbeat, ...) every
 * interval while Healwatch is ready. When Healwatch stops, crashes, hangs or goes blind, the pings stop and
 * the switch pages someone: the monitor of the monitor. A GET with no body, which every such service
 * takes; the URL is a secret.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private lastPingAt: number | undefined;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private skipped = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private url: Secret,
    private intervalMs: number,
    private readonly isReady: () => boolean,
  ) {}

  reload(url: Secret, intervalMs: number): void {
    const changed = intervalMs !== this.intervalMs;
    this.url = url;
    this.intervalMs = intervalMs;
    if (changed && this.timer) {
      clearInterval(this.timer);
      this.arm();
    }
  }

  start(): void {
    if (this.timer) return;
    void this.ping();
    this.arm();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Pings once now (when ready). */
  ping(): Promise<void> {
    if (!this.isReady()) {
      this.skipped++;
      return Promise.resolve();
    }
    this.inFlight ??= (async () => {
      const result = await send({
        url: this.url,
        method: 'GET',
        timeoutMs: Math.min(10_000, this.intervalMs),
      });
      if (result.ok) {
        this.lastPingAt = Date.now();
        this.lastError = undefined;
      } else {
        this.lastError = result.error;
        this.lastErrorAt = Date.now();
      }
    })().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  health(): HeartbeatHealth {
    return {
      intervalMs: this.intervalMs,
      lastPingAt: this.lastPingAt,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      skipped: this.skipped,
    };
  }

  private arm(): void {
    this.timer = setInterval(() => void this.ping(), this.intervalMs);
    this.timer.unref();
  }
}
