import { inhibit, RESTART_ECHO_MS, WORKLOAD_VERDICT_RULES, type Muted } from '../alerts/inhibit.js';
import { AlertTracker, type Alert, type RestorableAlert } from '../alerts/tracker.js';
import {
  ClusterWatcher,
  Connection,
  Prober,
  type ProberOptions,
  type ProbeHealth,
  type SyncProgress,
  DEFAULT_ADDON_NAMESPACES,
  type ClusterView,
  type WatcherOptions,
  type WatchHealth,
} from '../cluster/index.js';
import type { HealwatchConfig } from '../config/index.js';
import { fingerprintOf, refText, type Finding, type Level } from '../domain/index.js';
import { BUILTIN_RULES, RuleEngine } from '../rules/index.js';
import type { AlertEventKind, AlertInput, Store } from '../store/index.js';

/** A change of an alert worth telling someone about (and recording). */
export interface ServiceTransition {
  /**
   * `opened`: a new problem, pending until its rule's `for` has passed; `fired`: it lasted; `level-changed`:
   * a firing alert escalated or de-escalated; `resolved`: a firing alert's problem is gone; `dropped`: a
   * pending alert went away before it fired (nobody was told about it).
   */
  readonly type: 'opened' | 'fired' | 'level-changed' | 'resolved' | 'dropped';
  readonly fingerprint: string;
  /** The alert's level now (for `resolved` and `dropped`, the level it had). */
  readonly level: Level;
  /** For `level-changed`, the level before. */
  readonly previousLevel?: Level;
  /** When (API server clock, epoch ms). */
  readonly at: number;
  /** The latest finding of the alert. */
  readonly finding: Finding;
  /** The tracker's alert (live object: its state moves on with later evaluations). */
  readonly alert: Alert;
  /**
   * Why, when it is not the plain case: e.g. `resolved while Healwatch was down` for an alert restored
   * from the store that was not found any more after the restart. Also recorded in the history.
   */
  readonly note?: string;
}

/** Where the service is in its life. */
export type ServiceState = 'new' | 'syncing' | 'running' | 'stopping' | 'stopped';

/** Counters of the service's own work (for `/metrics`). */
export interface ServiceCounters {
  /** Changes the view applied (adds, updates, deletes), counted through `view.subscribe`. */
  eventsProcessed: number;
  evaluations: number;
  /** Seconds spent evaluating rules, over every evaluation. */
  evaluationSecondsTotal: number;
  /** Transitions emitted, by type. */
  transitions: Record<ServiceTransition['type'], number>;
}

/** How the service is doing: whether it can see the cluster, and its last evaluation. */
export interface ServiceHealth {
  state: ServiceState;
  /** Every watch has listed once. */
  synced: boolean;
  /** Ready: running, synced and not blind. */
  ready: boolean;
  /** Why not ready, when it is not. */
  reason: string | undefined;
  /** Watches whose records cannot be trusted now. */
  blindSpots: { resource: string; state: string; lastError: string | undefined }[];
  watches: WatchHealth[];
  probes: ProbeHealth[];
  lastEvaluation:
    { at: number; durationMs: number; findings: number; muted: number; errors: number } | undefined;
  /** Rules that threw in the last evaluation. */
  ruleErrors: { ruleId: string; message: string }[];
  counters: ServiceCounters;
  /** The durable store, when there is one: its file, failed writes, and the last write error. */
  store?: { file: string; writeErrors: number; lastError: string | undefined };
}

/** Options of the service. */
export interface ServiceOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  /** A connection to use instead of loading one (tests). */
  connection?: Connection;
  config: HealwatchConfig;
  /** The API server's clock (default: local time plus the offset measured from its `Date` header). */
  now?: () => number;
  /** Called as kinds complete during the initial sync. */
  onProgress?: (p: SyncProgress) => void;
  /**
   * Quiet time after a view change before the rules are evaluated (default 1 s): a burst of changes is
   * one evaluation. 0 turns evaluation on change off (tests call `evaluateNow`).
   */
  debounceMs?: number;
  /** Evaluation on a timer, for rules that judge time passing (default 15 s; 0 turns it off). */
  tickMs?: number;
  /**
   * Probes: `undefined` (default) runs the Prober on its own per-probe cadence (health every 30 s, most
   * else every minute, certificates rarely); a number runs every probe once per that interval; 0 runs
   * no probe on a timer (tests call `evaluateNow({ probes: true })`).
   */
  probeIntervalMs?: number | undefined;
  /** A firing alert resolves after its finding has been absent this long (default 60 s). */
  resolveAfterMs?: number;
  watcher?: WatcherOptions;
  prober?: Partial<ProberOptions>;
  /**
   * The durable store (`healwatch run --data DIR`): every transition is written to it (the alert's state
   * and a history event with the finding, one transaction per evaluation), and `start` takes back its
   * pending and firing alerts before the first evaluation. Without it, alerts live in memory only. The
   * caller opens and closes it (after `stop`, which writes the alerts' last sightings).
   */
  store?: Store | undefined;
  /**
   * Notifications (needs `store`): `dispatch` runs inside every evaluation's store transaction with its
   * transitions and the firing alerts, so an alert change and the messages it calls for are written
   * together; `queued` is called after the commit when it queued any.
   */
  notifications?: NotificationSink | undefined;
}

/** Where the service hands its alert changes for notification. */
export interface NotificationSink {
  dispatch(transitions: readonly ServiceTransition[], firing: readonly Alert[], now: number): number;
  queued(): void;
}

/** How often the None-level measurements are written to the store as samples. */
const SAMPLE_EVERY_MS = 60_000;
/** How often the store is downsampled and old rows deleted. */
const MAINTENANCE_EVERY_MS = 3_600_000;

/** How long the store keeps what (see `Service.maintain`). */
export const RETENTION = {
  /** Raw samples are folded into 5-minute buckets after a day. */
  rawSamplesMs: 86_400_000,
  downsampledMs: 30 * 86_400_000,
  historyMs: 90 * 86_400_000,
  outboxMs: 30 * 86_400_000,
} as const;

/**
 * Measurements no None-level rule reports, for the dashboard's charts: the fullest node and image
 * filesystems (kubelet summaries) and the restarts of all containers (a counter: its slope is the rate).
 */
export function clusterMeasurements(view: ClusterView): Record<string, number> {
  const out: Record<string, number> = {};
  const percent = (u: {
    usedBytes: number | undefined;
    capacityBytes: number | undefined;
  }): number | undefined =>
    u.usedBytes !== undefined && u.capacityBytes ? (100 * u.usedBytes) / u.capacityBytes : undefined;
  let fs: number | undefined;
  let imageFs: number | undefined;
  for (const s of view.probes.summaries.values()) {
    const a = percent(s.fs);
    const b = percent(s.imageFs);
    if (a !== undefined) fs = Math.max(fs ?? 0, a);
    if (b !== undefined) imageFs = Math.max(imageFs ?? 0, b);
  }
  if (fs !== undefined) out.maxNodeFsPercent = Math.round(fs * 10) / 10;
  if (imageFs !== undefined) out.maxImageFsPercent = Math.round(imageFs * 10) / 10;
  let restarts = 0;
  for (const p of view.list('Pod')) for (const c of p.containers) restarts += c.restarts;
  out.containerRestarts = restarts;
  return out;
}

/** The series name of one numeric fact of a None-level finding: `rule:Kind/ns/name[|key]:fact`. */
export function seriesName(f: Finding, fact: string): string {
  return `${f.ruleId}:${refText(f.object)}${f.key ? `|${f.key}` : ''}:${fact}`;
}

/** How often an active alert's last sighting is written without a transition (bounds it after a crash). */
const LAST_SEEN_REFRESH_MS = 15_000;
/** The tracker counts a return within this long after resolving as a flap. */
const FLAP_WINDOW_MS = 3_600_000;

type Listener = (t: ServiceTransition) => void;

/** The transition types, in the order of an alert's life. */
export const TRANSITION_TYPES: readonly ServiceTransition['type'][] = [
  'opened',
  'fired',
  'level-changed',
  'resolved',
  'dropped',
];

/**
 * The long-running monitor: keeps a ClusterView current, runs the probes, evaluates the catalog when
 * the view changes (debounced) and on a tick, applies inhibition, tracks findings as alerts over time,
 * and emits their transitions. `reload` swaps the configuration without losing alerts; `stop` is
 * graceful and idempotent.
 */
export class Service {
  private config: HealwatchConfig;
  private engine: RuleEngine;
  private forMs = new Map<string, number>();
  private readonly tracker: AlertTracker;
  private readonly listeners: Listener[] = [];
  private readonly known = new Set<string>();
  private connectionValue: Connection | undefined;
  private watcherValue: ClusterWatcher | undefined;
  private proberValue: Prober | undefined;
  private stateValue: ServiceState = 'new';
  private isSynced = false;
  private unsubscribe: (() => void) | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  /** Evaluations run one after the other. */
  private chain: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private latest: { findings: Finding[]; muted: Muted[] } = { findings: [], muted: [] };
  private lastEvaluation: ServiceHealth['lastEvaluation'];
  private lastErrors: { ruleId: string; message: string }[] = [];
  /** What the store holds of each active alert's sighting (to write it only when it moved on). */
  private readonly persisted = new Map<string, { lastSeenAt: number; missingSince: number | undefined }>();
  /** Alerts restored from the store and not seen since the restart. */
  private readonly unseenSinceRestore = new Set<string>();
  private restoredOnce = false;
  private evaluatedSinceRestore = false;
  private storeWriteErrors = 0;
  private lastSamplesAt = -Infinity;
  private lastMaintenanceAt = -Infinity;
  private storeLastError: string | undefined;
  private readonly countersValue: ServiceCounters = {
    eventsProcessed: 0,
    evaluations: 0,
    evaluationSecondsTotal: 0,
    transitions: Object.fromEntries(TRANSITION_TYPES.map((t) => [t, 0])) as Record<
      ServiceTransition['type'],
      number
    >,
  };

  constructor(private readonly options: ServiceOptions) {
    this.config = options.config;
    this.engine = new RuleEngine(this.config.rules, this.config.classification);
    this.forMs = new Map(this.config.rules.map((r) => [r.rule.id, r.common.forMs]));
    this.tracker = new AlertTracker({
      forMs: (id) => this.forMs.get(id) ?? 0,
      ...(options.resolveAfterMs !== undefined ? { resolveAfterMs: options.resolveAfterMs } : {}),
    });
  }

  get state(): ServiceState {
    return this.stateValue;
  }

  /** The watcher (after `start`). */
  get watcher(): ClusterWatcher | undefined {
    return this.watcherValue;
  }

  /** The connection (after `start`). */
  get connection(): Connection | undefined {
    return this.connectionValue;
  }

  /** The cluster view (after `start`). */
  view(): ClusterView | undefined {
    return this.watcherValue?.view;
  }

  /** The cluster's name and add-on namespaces from the configuration in force (for the dashboard). */
  settings(): { clusterName: string | undefined; addonNamespaces: readonly string[] } {
    const extra = this.config.classification.addonNamespaces;
    return {
      clusterName: this.config.clusterName,
      addonNamespaces: [
        ...DEFAULT_ADDON_NAMESPACES,
        ...extra.filter((n) => !DEFAULT_ADDON_NAMESPACES.includes(n)),
      ],
    };
  }

  /** The configuration in force. */
  get currentConfig(): HealwatchConfig {
    return this.config;
  }

  /** The API server's clock now. */
  now(): number {
    if (this.options.now) return this.options.now();
    return Date.now() + (this.connectionValue?.serverClockOffsetMs ?? 0);
  }

  /** Calls `listener` for every transition; returns a function that removes it. */
  onTransition(listener: Listener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Connects, starts every watch, waits for the initial sync, then starts the probes, evaluates once
   * and arms the timers. Resolves early (without error) when `stop` is called meanwhile.
   */
  async start(): Promise<void> {
    if (this.stateValue !== 'new') throw new Error(`the service was already started (${this.stateValue})`);
    this.restore();
    this.stateValue = 'syncing';
    const connection =
      this.options.connection ??
      Connection.load({
        ...(this.options.kubeconfig ? { kubeconfig: this.options.kubeconfig } : {}),
        ...(this.options.context ? { context: this.options.context } : {}),
      });
    this.connectionValue = connection;
    const watcher = new ClusterWatcher(connection, this.options.watcher);
    this.watcherValue = watcher;
    this.unsubscribe = watcher.view.subscribe(() => {
      this.countersValue.eventsProcessed++;
      if (this.isSynced) this.scheduleEvaluation();
    });
    await watcher.start();
    if (this.stopping) {
      // stop() may have run while discovery was still starting watches.
      await watcher.stop();
      return;
    }
    await this.waitForSync(watcher);
    if (this.stopping) return;
    this.isSynced = true;
    const prober = new Prober(connection, watcher.view, this.options.prober);
    this.proberValue = prober;
    const probeInterval = this.options.probeIntervalMs;
    if (probeInterval === undefined) {
      await prober.runOnce();
      if (this.stopping) return;
      prober.start();
    } else {
      await this.probeOnce();
      if (this.stopping) return;
      if (probeInterval > 0) this.armProbes(probeInterval);
    }
    this.stateValue = 'running';
    await this.evaluateNow();
    if (this.stopping) return;
    const tick = this.options.tickMs ?? 15_000;
    if (tick > 0) this.armTick(tick);
  }

  /** Stops the timers, the probes and the watches; safe to call more than once, and during `start`. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const wasStarted = this.stateValue !== 'new';
    this.stateValue = 'stopping';
    clearTimeout(this.debounceTimer);
    clearTimeout(this.tickTimer);
    clearTimeout(this.probeTimer);
    this.unsubscribe?.();
    if (wasStarted) {
      await this.proberValue?.stop();
      await this.probing;
      await this.chain.catch(() => undefined);
      await this.watcherValue?.stop();
      this.flushSightings();
    }
    this.stateValue = 'stopped';
  }

  /**
   * Takes a new configuration (already validated by the caller): a new engine with the rules' levels,
   * `for`, scopes and options, keeping the remembered samples and every alert. Firing alerts stay
   * firing (a changed `for` applies to alerts not yet firing).
   */
  reload(config: HealwatchConfig): void {
    const engine = new RuleEngine(config.rules, config.classification);
    engine.adoptSamples(this.engine);
    this.engine = engine;
    this.forMs = new Map(config.rules.map((r) => [r.rule.id, r.common.forMs]));
    this.config = config;
    if (this.stateValue === 'running') this.scheduleEvaluation();
  }

  /**
   * Evaluates now (after the evaluations already under way): rules, inhibition, alert tracking,
   * transitions. With `probes`, runs every probe once first (tests on a manual clock).
   */
  evaluateNow(options: { probes?: boolean } = {}): Promise<ServiceTransition[]> {
    const run = this.chain.then(async () => {
      if (options.probes) await this.probeOnce();
      return this.evaluate();
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The current findings (after inhibition). */
  findings(): readonly Finding[] {
    return this.latest.findings;
  }

  /** The findings held back by a deeper cause. */
  muted(): readonly Muted[] {
    return this.latest.muted;
  }

  /** Pending, firing and recently resolved alerts. */
  alerts(): Alert[] {
    const out: Alert[] = [];
    for (const fp of this.known) {
      const a = this.tracker.get(fp);
      if (a) out.push(a);
      else this.known.delete(fp);
    }
    return out;
  }

  /** The firing alerts. */
  firing(): Alert[] {
    return this.tracker.firing();
  }

  counters(): ServiceCounters {
    return { ...this.countersValue, transitions: { ...this.countersValue.transitions } };
  }

  /** Watch and probe health, readiness, the last evaluation. */
  health(): ServiceHealth {
    const view = this.watcherValue?.view;
    const watches = view ? view.watches().map((w) => ({ ...w })) : [];
    const blind = view
      ? view.blindSpots().map((w) => ({ resource: w.resource, state: w.state, lastError: w.lastError }))
      : [];
    const probes = view ? [...view.probes.health.values()].map((p) => ({ ...p })) : [];
    let reason: string | undefined;
    if (this.stateValue === 'new') reason = 'not started';
    else if (this.stateValue === 'stopping' || this.stateValue === 'stopped') reason = 'shutting down';
    else if (!this.isSynced) {
      const pending = watches.filter((w) => !w.isSynced).map((w) => w.resource);
      reason = `initial sync in progress${pending.length > 0 ? `: ${pending.join(', ')}` : ''}`;
    } else if (blind.length > 0)
      reason = `blind: ${blind.map((b) => `${b.resource} (${b.lastError ?? b.state})`).join(', ')}`;
    else if (this.stateValue !== 'running') reason = 'starting';
    return {
      state: this.stateValue,
      synced: this.isSynced,
      ready: reason === undefined,
      reason,
      blindSpots: blind,
      watches,
      probes,
      lastEvaluation: this.lastEvaluation,
      ruleErrors: [...this.lastErrors],
      counters: this.counters(),
      ...(this.options.store
        ? {
            store: {
              file: this.options.store.file,
              writeErrors: this.storeWriteErrors,
              lastError: this.storeLastError,
            },
          }
        : {}),
    };
  }

  private async waitForSync(watcher: ClusterWatcher): Promise<void> {
    let last = -1;
    while (!this.stopping) {
      const done = watcher.reflectors.filter((r) => r.health.isSynced);
      if (done.length !== last) {
        last = done.length;
        this.options.onProgress?.({
          synced: done.length,
          total: watcher.reflectors.length,
          objects: watcher.reflectors.reduce((n, r) => n + r.health.objects, 0),
          pending: watcher.reflectors.filter((r) => !r.health.isSynced).map((r) => r.health.resource),
        });
      }
      if (done.length === watcher.reflectors.length) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private probeOnce(): Promise<void> {
    const prober = this.proberValue;
    if (!prober || this.stopping) return Promise.resolve();
    this.probing ??= prober.runOnce().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private armProbes(intervalMs: number): void {
    this.probeTimer = setTimeout(() => {
      void this.probeOnce().then(() => {
        if (!this.stopping) this.armProbes(intervalMs);
      });
    }, intervalMs);
    this.probeTimer.unref();
  }

  private armTick(intervalMs: number): void {
    this.tickTimer = setTimeout(() => {
      void this.evaluateNow().finally(() => {
        if (!this.stopping) this.armTick(intervalMs);
      });
    }, intervalMs);
    this.tickTimer.unref();
  }

  private scheduleEvaluation(): void {
    const debounce = this.options.debounceMs ?? 1000;
    if (debounce <= 0 || this.stopping || this.debounceTimer !== undefined) return;
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      void this.evaluateNow();
    }, debounce);
    this.debounceTimer.unref();
  }

  private evaluate(): ServiceTransition[] {
    const view = this.watcherValue?.view;
    if (!view || !this.isSynced || this.stopping) return [];
    const now = this.now();
    const started = performance.now();
    const evaluation = this.engine.evaluate(view, now);
    const { active, muted } = inhibit(evaluation.findings, {
      inputsOf: (id) => BUILTIN_RULES.find((r) => r.id === id)?.inputs ?? [],
      recentVerdicts: this.recentVerdicts(now),
    });
    const before = new Map<string, Alert['state']>();
    for (const fp of this.known) {
      const a = this.tracker.get(fp);
      if (a) before.set(fp, a.state);
    }
    const changes = this.tracker.update(active, now);
    const durationMs = performance.now() - started;
    this.latest = { findings: active, muted };
    this.lastErrors = evaluation.errors;
    this.lastEvaluation = {
      at: now,
      durationMs,
      findings: active.length,
      muted: muted.length,
      errors: evaluation.errors.length,
    };
    this.countersValue.evaluations++;
    this.countersValue.evaluationSecondsTotal += durationMs / 1000;

    const transitions: ServiceTransition[] = [];
    const firstSinceRestore = !this.evaluatedSinceRestore;
    this.evaluatedSinceRestore = true;
    if (this.unseenSinceRestore.size > 0)
      for (const f of active) this.unseenSinceRestore.delete(fingerprintOf(f));
    const emit = (type: ServiceTransition['type'], alert: Alert, previousLevel?: Level): void => {
      let note: string | undefined;
      if (type === 'resolved' && this.unseenSinceRestore.delete(alert.fingerprint)) {
        const last = new Date(alert.lastSeenAt).toISOString();
        note = firstSinceRestore
          ? `resolved while Healwatch was down: last seen at ${last}, not found after the restart`
          : `went away while Healwatch was down: last seen at ${last}, not found since the restart`;
      }
      transitions.push({
        type,
        fingerprint: alert.fingerprint,
        level: alert.level,
        ...(previousLevel ? { previousLevel } : {}),
        at: now,
        finding: alert.finding,
        alert,
        ...(note !== undefined ? { note } : {}),
      });
    };
    // New alerts (pending now, or pending and fired within this one update).
    for (const alert of this.tracker.active()) {
      const was = before.get(alert.fingerprint);
      if (was === undefined || was === 'resolved') emit('opened', alert);
      this.known.add(alert.fingerprint);
    }
    for (const c of changes) {
      if (c.type === 'firing') emit('fired', c.alert);
      else if (c.type === 'resolved') emit('resolved', c.alert);
      else emit('level-changed', c.alert, c.previousLevel);
    }
    // Pending alerts whose problem went away before they fired: the tracker forgets them.
    for (const [fp, state] of before) {
      if (state === 'pending' && this.tracker.get(fp) === undefined) {
        this.known.delete(fp);
        this.unseenSinceRestore.delete(fp);
        const finding = this.droppedFinding(fp);
        if (finding) transitions.push(finding);
      }
    }
    this.persist(transitions, now);
    this.writeSamples(active, now);
    this.maintain(now);
    for (const t of transitions) {
      this.countersValue.transitions[t.type]++;
      for (const l of [...this.listeners]) {
        try {
          l(t);
        } catch {
          // A listener's failure must not stop the monitor or the other listeners.
        }
      }
    }
    this.lastAlerts = new Map(this.tracker.active().map((a) => [a.fingerprint, a]));
    return transitions;
  }

  /** Workload verdicts that fired and resolved within the last RESTART_ECHO_MS, by object. */
  private recentVerdicts(now: number): Map<string, string> {
    const out = new Map<string, string>();
    for (const fp of this.known) {
      const a = this.tracker.get(fp);
      if (
        a?.state === 'resolved' &&
        a.firingSince !== undefined &&
        a.resolvedAt !== undefined &&
        now - a.resolvedAt < RESTART_ECHO_MS &&
        WORKLOAD_VERDICT_RULES.has(a.finding.ruleId)
      )
        out.set(refText(a.finding.object), fp);
    }
    return out;
  }

  /**
   * Takes back the store's pending and firing alerts (and those resolved within the flap window, so a
   * quick return still counts as a flap), with their level history rebuilt from the stored events.
   */
  private restore(): void {
    const store = this.options.store;
    if (!store || this.restoredOnce) return;
    this.restoredOnce = true;
    const now = this.now();
    const stored = store
      .getAlerts({ state: ['pending', 'firing', 'resolved'] })
      .filter(
        (a) => a.state !== 'resolved' || (a.resolvedAt !== undefined && now - a.resolvedAt < FLAP_WINDOW_MS),
      );
    const restorable: RestorableAlert[] = stored.map((a) =>
      a.state === 'resolved' ? a : { ...a, levelHistory: this.storedLevelHistory(store, a.fingerprint) },
    );
    for (const alert of this.tracker.restore(restorable)) {
      this.known.add(alert.fingerprint);
      if (alert.state === 'resolved') continue;
      this.lastAlerts.set(alert.fingerprint, alert);
      this.unseenSinceRestore.add(alert.fingerprint);
      const row = stored.find((a) => a.fingerprint === alert.fingerprint);
      this.persisted.set(alert.fingerprint, {
        lastSeenAt: alert.lastSeenAt,
        missingSince: row?.missingSince,
      });
    }
  }

  /** The levels of the alert's current life, from its stored events (oldest first); undefined when none. */
  private storedLevelHistory(store: Store, fingerprint: string): { level: Level; at: number }[] | undefined {
    const out: { level: Level; at: number }[] = [];
    for (const e of store.history({ fingerprint, order: 'desc', limit: 1000 })) {
      if (e.kind === 'resolved') break;
      if (e.kind === 'level-changed' || e.kind === 'opened' || e.kind === 'reopened')
        out.push({ level: e.level, at: e.at });
      if (e.kind === 'opened' || e.kind === 'reopened') break;
    }
    return out.length > 0 ? out.reverse() : undefined;
  }

  /**
   * Writes one evaluation to the store in one transaction: each changed alert's state, then one history
   * event per transition with the finding as it was (a note, such as why it resolved, as `state`
   * evidence and the `resolution` fact). A pending alert that went away is stored as resolved, with a
   * `resolved` event noting that it never fired. Active alerts whose sighting moved on (went missing, came
   * back, or last seen more than 15 s after what is stored) are written too, so a restart after a crash
   * judges their absence from a recent sighting. A failed write is counted and kept in `health().store`;
   * the monitor goes on.
   */
  private persist(transitions: readonly ServiceTransition[], now: number): void {
    const store = this.options.store;
    if (!store) return;
    const rows = new Map<string, AlertInput>();
    for (const t of transitions) {
      rows.set(
        t.fingerprint,
        t.type === 'dropped'
          ? { ...t.alert, state: 'resolved', resolvedAt: t.at, missingSince: undefined }
          : t.alert,
      );
    }
    for (const a of this.tracker.active()) {
      if (rows.has(a.fingerprint)) continue;
      const p = this.persisted.get(a.fingerprint);
      if (!p || p.missingSince !== a.missingSince || a.lastSeenAt - p.lastSeenAt >= LAST_SEEN_REFRESH_MS)
        rows.set(a.fingerprint, a);
    }
    const sink = this.options.notifications;
    if (rows.size === 0 && !sink) return;
    let queued = 0;
    try {
      store.transaction(() => {
        for (const row of rows.values()) store.upsertAlert(row, now);
        for (const t of transitions) {
          const note =
            t.note ?? (t.type === 'dropped' ? 'went away before it fired; nobody was notified' : undefined);
          const kind: AlertEventKind = t.type === 'dropped' ? 'resolved' : t.type;
          store.appendAlertEvent({
            fingerprint: t.fingerprint,
            at: t.at,
            kind,
            level: t.level,
            previousLevel: t.previousLevel,
            finding: note === undefined ? t.finding : annotate(t.finding, note, t.type, t.at),
          });
        }
        if (sink) queued = sink.dispatch(transitions, this.tracker.firing(), now);
      });
    } catch (error) {
      this.storeFailed(error);
      return;
    }
    for (const [fp, row] of rows) {
      if (row.state === 'resolved') this.persisted.delete(fp);
      else this.persisted.set(fp, { lastSeenAt: row.lastSeenAt, missingSince: row.missingSince });
    }
    if (queued > 0) sink?.queued();
  }

  /**
   * Every minute: the numeric facts of the None-level findings (node count, pod phases, node usage,
   * requests) as samples, for the dashboard's charts and the API.
   */
  private writeSamples(findings: readonly Finding[], now: number): void {
    const store = this.options.store;
    if (!store || now - this.lastSamplesAt < SAMPLE_EVERY_MS) return;
    this.lastSamplesAt = now;
    const samples: { series: string; at: number; value: number }[] = [];
    for (const f of findings) {
      if (f.level !== 'none') continue;
      for (const [k, v] of Object.entries(f.facts))
        if (typeof v === 'number') samples.push({ series: seriesName(f, k), at: now, value: v });
    }
    const view = this.watcherValue?.view;
    if (view)
      for (const [fact, value] of Object.entries(clusterMeasurements(view)))
        samples.push({ series: `cluster:Cluster/cluster:${fact}`, at: now, value });
    if (samples.length === 0) return;
    try {
      store.writeSamples(samples);
    } catch (error) {
      this.storeFailed(error);
    }
  }

  /** Every hour: folds day-old samples into 5-minute buckets and deletes what is past retention. */
  private maintain(now: number): void {
    const store = this.options.store;
    if (!store || now - this.lastMaintenanceAt < MAINTENANCE_EVERY_MS) return;
    this.lastMaintenanceAt = now;
    try {
      store.downsample(now - RETENTION.rawSamplesMs);
      store.retention({
        downsampledBefore: now - RETENTION.downsampledMs,
        historyBefore: now - RETENTION.historyMs,
        outboxBefore: now - RETENTION.outboxMs,
      });
    } catch (error) {
      this.storeFailed(error);
    }
  }

  /** Counts a failed store write and keeps its message for `health().store`; the monitor goes on. */
  private storeFailed(error: unknown): void {
    this.storeWriteErrors++;
    this.storeLastError = error instanceof Error ? error.message : String(error);
  }

  /** On stop: writes each active alert's last sighting whose stored one is behind. */
  private flushSightings(): void {
    const store = this.options.store;
    if (!store) return;
    const stale = this.tracker.active().filter((a) => {
      const p = this.persisted.get(a.fingerprint);
      return !p || p.lastSeenAt !== a.lastSeenAt || p.missingSince !== a.missingSince;
    });
    if (stale.length === 0) return;
    try {
      const now = this.now();
      store.transaction(() => {
        for (const a of stale) store.upsertAlert(a, now);
      });
      for (const a of stale)
        this.persisted.set(a.fingerprint, { lastSeenAt: a.lastSeenAt, missingSince: a.missingSince });
    } catch (error) {
      this.storeFailed(error);
    }
  }

  /** The alerts active after the last evaluation (to describe the ones the tracker dropped). */
  private lastAlerts = new Map<string, Alert>();

  private droppedFinding(fp: string): ServiceTransition | undefined {
    const alert = this.lastAlerts.get(fp);
    if (!alert) return undefined;
    return {
      type: 'dropped',
      fingerprint: fp,
      level: alert.level,
      at: this.lastEvaluation?.at ?? this.now(),
      finding: alert.finding,
      alert,
    };
  }
}

/** The finding as recorded in a history event, with why it changed as evidence and a `resolution` fact. */
function annotate(finding: Finding, note: string, type: ServiceTransition['type'], at: number): Finding {
  return {
    ...finding,
    evidence: [...finding.evidence, { type: 'state', text: note, at }],
    facts: {
      ...finding.facts,
      resolution:
        type === 'dropped' ? 'dropped' : note.startsWith('resolved while') ? 'while-down' : 'after-restart',
    },
  };
}
