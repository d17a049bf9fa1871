import { COLLECTORS, type AnyCollector } from './collectors/index.js';
import type { Connection } from './connection.js';
import { DEFAULT_REFLECTOR_OPTIONS, Reflector, type ReflectorOptions } from './reflector.js';
import type { RecordKind } from './records.js';
import { ClusterView } from './view.js';

/** Options of the watcher. */
export interface WatcherOptions {
  /** Tuning of every list/watch loop (tests shorten the timers). */
  reflector?: Partial<ReflectorOptions>;
  /** Which kinds to watch (default: all the collectors). */
  kinds?: readonly RecordKind[];
}

/** Progress of the initial sync, for a progress line on large clusters. */
export interface SyncProgress {
  synced: number;
  total: number;
  objects: number;
  pending: string[];
}

/**
 * Keeps a ClusterView current: one Reflector per collector (optional ones only when discovery serves
 * their resource), started together, and stopped together.
 */
export class ClusterWatcher {
  readonly view = new ClusterView();
  readonly reflectors: Reflector[] = [];
  private readonly options: ReflectorOptions;
  private isStarted = false;

  constructor(
    readonly connection: Connection,
    private readonly watcherOptions: WatcherOptions = {},
  ) {
    this.options = { ...DEFAULT_REFLECTOR_OPTIONS, ...watcherOptions.reflector };
  }

  /** Starts every watch; optional resources are checked in discovery first. */
  async start(): Promise<void> {
    if (this.isStarted) return;
    this.isStarted = true;
    const wanted = COLLECTORS.filter(
      (c) => !this.watcherOptions.kinds || this.watcherOptions.kinds.includes(c.kind),
    );
    for (const collector of wanted) {
      if (collector.isOptional && !(await this.isServed(collector))) {
        this.view.attachHealth(collector.kind, unavailableHealth(collector));
        continue;
      }
      const store = this.view.store(collector.kind);
      const reflector = new Reflector(this.connection, collector, store, this.options);
      this.reflectors.push(reflector);
      this.view.attachHealth(collector.kind, reflector.health);
      reflector.start();
    }
  }

  /** Resolves when every watch has listed once; `onProgress` is called as kinds complete. */
  async synced(onProgress?: (p: SyncProgress) => void): Promise<void> {
    let last = -1;
    for (;;) {
      const done = this.reflectors.filter((r) => r.health.isSynced);
      if (done.length !== last) {
        last = done.length;
        onProgress?.({
          synced: done.length,
          total: this.reflectors.length,
          objects: this.reflectors.reduce((n, r) => n + r.health.objects, 0),
          pending: this.reflectors.filter((r) => !r.health.isSynced).map((r) => r.health.resource),
        });
      }
      if (done.length === this.reflectors.length) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops every watch and closes the connection's sockets. */
  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
    this.connection.close();
  }

  private async isServed(c: AnyCollector): Promise<boolean> {
    try {
      const res = await this.connection.getJson<{ resources?: { name?: string }[] }>(
        `/apis/${c.group}/${c.version}`,
        {
          headersTimeoutMs: this.options.requestTimeoutMs,
        },
      );
      return res.status === 200 && (res.body.resources ?? []).some((r) => r.name === c.plural);
    } catch {
      return false;
    }
  }
}

function unavailableHealth(c: AnyCollector): ReturnType<ClusterView['watches']>[number] {
  return {
    kind: c.kind,
    resource: `${c.plural}.${c.group}`,
    state: 'unavailable',
    isSynced: true,
    stateSince: Date.now(),
    objects: 0,
    resourceVersion: '',
    syncedAt: undefined,
    lastEventAt: undefined,
    lastErrorAt: undefined,
    lastError: `${c.plural}.${c.group}/${c.version} is not served by this cluster`,
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
