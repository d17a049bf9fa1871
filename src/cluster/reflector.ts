import type { IncomingMessage } from 'node:http';
import type { AnyCollector } from './collectors/collector.js';
import { collectionPath } from './collectors/collector.js';
import type { Connection } from './connection.js';
import { readText } from './connection.js';
import { ObjectStore, recordKey } from './object-store.js';
import type { AnyRecord } from './records.js';

/** Timing of the list/watch loop; the defaults follow client-go's reflector. */
export interface ReflectorOptions {
  /** Objects per list page. */
  pageSize: number;
  /** Watch `timeoutSeconds` is drawn uniformly from this range (spreads reconnects over time). */
  watchTimeoutSeconds: readonly [number, number];
  /** First retry delay after a failure. */
  backoffInitialMs: number;
  /** Longest retry delay. */
  backoffMaxMs: number;
  /** Failures are forgotten after this long without one. */
  backoffResetMs: number;
  /** A watch that sends no byte (event or bookmark) for this long is abandoned and re-opened. */
  idleTimeoutMs: number;
  /** Longest wait for response headers. */
  requestTimeoutMs: number;
  /** Largest list page accepted. */
  maxPageBytes: number;
  /** Source of randomness (tests pass a fixed one). */
  random: () => number;
}

/** The defaults: pages of 500, watches of 5–10 min, back-off 0.8 s → 30 s reset after 2 min healthy. */
export const DEFAULT_REFLECTOR_OPTIONS: ReflectorOptions = {
  pageSize: 500,
  watchTimeoutSeconds: [300, 600],
  backoffInitialMs: 800,
  backoffMaxMs: 30_000,
  backoffResetMs: 120_000,
  // Bookmarks come about once a minute; two and a half of them missing means the stream is dead.
  idleTimeoutMs: 150_000,
  requestTimeoutMs: 30_000,
  maxPageBytes: 256 * 1024 * 1024,
  random: Math.random,
};

/** The state of one resource's list/watch loop, which the monitor reports about itself. */
export interface WatchHealth {
  readonly kind: string;
  readonly resource: string;
  /** `syncing` before the first full list, `watching` while a watch is open, `retrying` after a failure. */
  state: 'syncing' | 'watching' | 'retrying' | 'stopped' | 'unavailable';
  /** Whether a full list has completed at least once. */
  isSynced: boolean;
  /** Since when the loop is in its current state (ms, local clock). */
  stateSince: number;
  objects: number;
  resourceVersion: string;
  syncedAt: number | undefined;
  lastEventAt: number | undefined;
  lastErrorAt: number | undefined;
  lastError: string | undefined;
  /** Full lists after the first (410 Gone, expired continue tokens). */
  relists: number;
  /** Watch requests opened. */
  watches: number;
  /** Watches abandoned because they went silent. */
  idleAborts: number;
  errors: number;
  consecutiveFailures: number;
  malformedLines: number;
  malformedObjects: number;
  /** Every request the loop sent (lists pages and watches), for rate checks. */
  requests: number;
}

/** An error with the HTTP status and Retry-After of the answer that caused it. */
class RequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
  }
}

type WatchEnd = 'timeout' | 'expired' | 'idle';

/**
 * The list/watch loop of one resource, modelled on client-go's reflector: a paged LIST (a 410 on a
 * continue token restarts it), then a WATCH from the list's resourceVersion with bookmarks and a
 * randomised server timeout, an idle timer that abandons silent streams, a relist with synthetic
 * deletes on 410, and jittered exponential back-off (honouring Retry-After) on every error. No error
 * stops it; only `stop()` does.
 */
export class Reflector {
  readonly health: WatchHealth;
  private isStopped = false;
  private abort: AbortController | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private lastFailureAt = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly connection: Connection,
    readonly collector: AnyCollector,
    readonly store: ObjectStore<AnyRecord['kind']>,
    private readonly options: ReflectorOptions = DEFAULT_REFLECTOR_OPTIONS,
  ) {
    this.health = {
      kind: collector.kind,
      resource: collector.group ? `${collector.plural}.${collector.group}` : collector.plural,
      state: 'syncing',
      isSynced: false,
      stateSince: Date.now(),
      objects: 0,
      resourceVersion: '',
      syncedAt: undefined,
      lastEventAt: undefined,
      lastErrorAt: undefined,
      lastError: undefined,
      relists: 0,
      watches: 0,
      idleAborts: 0,
      errors: 0,
      consecutiveFailures: 0,
      malformedLines: 0,
      malformedObjects: 0,
      requests: 0,
    };
  }

  /** Starts the loop (once). */
  start(): void {
    this.running ??= this.loop();
  }

  /** Resolves after the first full list (or when stopped). */
  async synced(): Promise<void> {
    while (!this.health.isSynced && !this.isStopped) await new Promise((r) => setTimeout(r, 20));
  }

  /** Stops the loop and closes its request. */
  async stop(): Promise<void> {
    this.isStopped = true;
    this.abort?.abort();
    clearTimeout(this.sleepTimer);
    this.wake?.();
    this.setState('stopped');
    await this.running;
  }

  private setState(state: WatchHealth['state']): void {
    if (this.health.state !== state) {
      this.health.state = state;
      this.health.stateSince = Date.now();
    }
  }

  private async loop(): Promise<void> {
    let needsList = true;
    while (!this.isStopped) {
      try {
        const hasListed = needsList;
        if (needsList) {
          await this.list();
          needsList = false;
        }
        const started = Date.now();
        const eventsBefore = this.health.lastEventAt;
        // From the last resourceVersion seen (event or bookmark), also when the previous watch failed
        // mid-stream: resuming from where that watch started would replay it, or 410 into a relist.
        const end = await this.watch(this.health.resourceVersion);
        this.noteHealthy();
        if (end === 'expired') {
          needsList = true;
          // Expired at once, from the resourceVersion of the list just made: relisting at once again
          // would make list + watch a hot loop (client-node #1933). Back off as for any failure.
          if (hasListed && Date.now() - started < 1000)
            throw new RequestError('410 the watch expired at once after a list', 410, undefined);
          continue;
        }
        // A watch the server ends at once, again and again, must not become a request storm.
        if (Date.now() - started < 1000 && this.health.lastEventAt === eventsBefore)
          await this.backoff(undefined);
      } catch (error) {
        if (this.isStopped) break;
        const e =
          error instanceof RequestError ? error : new RequestError(describe(error), undefined, undefined);
        if (e.status === 410) needsList = true;
        this.health.errors++;
        this.health.consecutiveFailures++;
        this.health.lastError = e.message;
        this.health.lastErrorAt = Date.now();
        this.lastFailureAt = Date.now();
        this.setState('retrying');
        await this.backoff(e.retryAfterMs);
      }
    }
  }

  private noteHealthy(): void {
    if (
      this.health.consecutiveFailures > 0 &&
      Date.now() - this.lastFailureAt > this.options.backoffResetMs
    ) {
      this.health.consecutiveFailures = 0;
    }
  }

  /** Waits the jittered exponential back-off (or Retry-After, when the server gave one). */
  private async backoff(retryAfterMs: number | undefined): Promise<void> {
    const o = this.options;
    const n = Math.max(0, this.health.consecutiveFailures - 1);
    const base = Math.min(o.backoffMaxMs, o.backoffInitialMs * 2 ** n);
    let delay = Math.min(o.backoffMaxMs, base * (1 + o.random()));
    if (retryAfterMs !== undefined)
      delay = Math.min(Math.max(retryAfterMs, o.backoffInitialMs), 5 * o.backoffMaxMs);
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, delay);
    });
    this.wake = undefined;
  }

  private async request(path: string): Promise<IncomingMessage> {
    this.abort = new AbortController();
    this.health.requests++;
    let res;
    try {
      res = await this.connection.get(path, {
        signal: this.abort.signal,
        headersTimeoutMs: this.options.requestTimeoutMs,
      });
    } catch (error) {
      throw new RequestError(describe(error), undefined, undefined);
    }
    if (res.status !== 200) {
      const text = await readText(res.body, 1024 * 1024, this.options.idleTimeoutMs).catch(() => '');
      let message = text.slice(0, 300);
      try {
        const status = JSON.parse(text) as { message?: unknown };
        if (typeof status.message === 'string') message = status.message;
      } catch {
        // not a Status: keep the text
      }
      const retryAfter = Number(res.headers['retry-after']);
      throw new RequestError(
        `${res.status} ${message}`.trim(),
        res.status,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    }
    return res.body;
  }

  /** A full paged list; replaces the store's records and returns the list's resourceVersion. */
  private async list(): Promise<string> {
    const base = collectionPath(this.collector);
    const fresh = new Map<string, AnyRecord>();
    let token = '';
    let rv = '';
    for (;;) {
      const query = `limit=${this.options.pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
      let page: { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[] };
      try {
        const body = await this.request(`${base}?${query}`);
        page = JSON.parse(
          await readText(body, this.options.maxPageBytes, this.options.idleTimeoutMs),
        ) as typeof page;
      } catch (error) {
        // An expired continue token (410) restarts the list from the beginning, at once.
        if (error instanceof RequestError && error.status === 410 && token) {
          token = '';
          fresh.clear();
          this.health.relists++;
          continue;
        }
        throw error;
      }
      if (!Array.isArray(page.items))
        throw new RequestError(`${base}: the list answer has no items`, undefined, undefined);
      if (!token) rv = page.metadata?.resourceVersion ?? '';
      for (const item of page.items) {
        const record = this.collector.project(item);
        if (record) fresh.set(recordKey(record), record);
        else this.health.malformedObjects++;
      }
      token = page.metadata?.continue ?? '';
      if (!token) break;
    }
    if (this.health.isSynced) this.health.relists++;
    this.store.replace(fresh);
    this.health.objects = this.store.size;
    this.health.resourceVersion = rv;
    this.health.isSynced = true;
    this.health.syncedAt = Date.now();
    return rv;
  }

  /** One watch from `rv`, until the server ends it, it expires (410), or it goes silent. */
  private async watch(rv: string): Promise<WatchEnd> {
    const [low, high] = this.options.watchTimeoutSeconds;
    const timeout = Math.round(low + (high - low) * this.options.random());
    const path = `${collectionPath(this.collector)}?watch=true&allowWatchBookmarks=true&timeoutSeconds=${timeout}&resourceVersion=${encodeURIComponent(rv)}`;
    const body = await this.request(path);
    this.health.watches++;
    this.setState('watching');
    return new Promise<WatchEnd>((resolve, reject) => {
      let buffer = '';
      let isDone = false;
      let idle: NodeJS.Timeout | undefined;
      const finish = (end: WatchEnd | Error): void => {
        if (isDone) return;
        isDone = true;
        clearTimeout(idle);
        body.removeAllListeners('data');
        body.destroy();
        if (end instanceof Error) reject(end);
        else resolve(end);
      };
      const armIdle = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => {
          this.health.idleAborts++;
          finish('idle');
        }, this.options.idleTimeoutMs);
      };
      armIdle();
      body.setEncoding('utf8');
      body.on('data', (chunk: string) => {
        armIdle();
        buffer += chunk;
        let newline: number;
        while (!isDone && (newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line === '') continue;
          const result = this.applyLine(line);
          if (result !== undefined) finish(result);
        }
      });
      body.on('end', () => finish('timeout'));
      body.on('error', (error) => finish(new RequestError(describe(error), undefined, undefined)));
      body.on('close', () => finish('timeout'));
    });
  }

  /** Applies one watch line; returns how the watch ends when the line ends it. */
  private applyLine(line: string): WatchEnd | Error | undefined {
    let event: {
      type?: unknown;
      object?: { metadata?: { resourceVersion?: unknown }; code?: unknown; message?: unknown };
    };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      // client-go ends the watch on a decode error and re-watches from the last good resourceVersion.
      this.health.malformedLines++;
      return new RequestError(`malformed watch event: ${line.slice(0, 80)}`, undefined, undefined);
    }
    this.health.lastEventAt = Date.now();
    const type = event.type;
    const object = event.object;
    if (type === 'ERROR') {
      const code = Number(object?.code);
      if (code === 410) return 'expired';
      const message = typeof object?.message === 'string' ? object.message : '';
      return new RequestError(`watch error ${code}: ${message}`, code, undefined);
    }
    const rv = object?.metadata?.resourceVersion;
    if (typeof rv === 'string' && rv !== '') this.health.resourceVersion = rv;
    if (type === 'BOOKMARK') return undefined;
    if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') {
      this.health.malformedLines++;
      return undefined;
    }
    const record = this.collector.project(object);
    if (!record) {
      this.health.malformedObjects++;
      return undefined;
    }
    if (type === 'DELETED') this.store.remove(recordKey(record), record);
    else this.store.upsert(record);
    this.health.objects = this.store.size;
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
