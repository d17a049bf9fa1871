import { mkdirSync, statSync, unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '../cluster/index.js';
import { loadConfig, type HealwatchConfig } from '../config/index.js';
import { fingerprintOf, HealwatchError, LEVELS, refText } from '../domain/index.js';
import { Notifications, type DeliveryOutcome } from '../notify/index.js';
import { startServer, type HttpServer } from '../server/index.js';
import { Store, STORE_FILE_NAME, StoreError } from '../store/index.js';
import { Service, type ServiceOptions, type ServiceTransition } from './service.js';

/** What `healwatch run` (and `healwatch demo`) start: the service, its store, notifications and the API. */
export interface RunnerOptions {
  connection: Connection;
  config: HealwatchConfig;
  /** The file `config` came from: reloaded on SIGHUP (by the caller) and when it changes on disk. */
  configFile?: string | undefined;
  /** Directory of the durable store; without it, an in-memory store (lost on exit). */
  dataDir?: string | undefined;
  host: string;
  port: number;
  token?: string | undefined;
  /** One line of log (stderr). */
  log: (line: string) => void;
  /** Without `dataDir`, do not warn that the store is in memory (the demo). */
  memoryStoreExpected?: boolean;
  /** How often the config file is checked for changes (default 2 s; 0: never). */
  watchConfigMs?: number;
  /** Passed to the Service (tests, demo). */
  service?: Partial<Omit<ServiceOptions, 'connection' | 'config' | 'store' | 'notifications'>>;
}

/** A running monitor. */
export interface Runner {
  readonly service: Service;
  readonly server: HttpServer;
  readonly store: Store;
  readonly notifications: Notifications;
  /**
   * Reloads the config file (or takes `config`); false when the new one is invalid (the old one stays,
   * and the error is logged after `why`, e.g. `SIGHUP`).
   */
  reload(why: string, config?: HealwatchConfig): boolean;
  /** Stops everything, in order; idempotent. */
  stop(): Promise<void>;
  /**
   * Settles when the service has synced and evaluated once (or `stop` was called meanwhile); rejects when
   * it could not start (the caller then calls `stop`).
   */
  readonly started: Promise<void>;
}

/**
 * Creates `dir` and opens (creating and migrating) its database. Throws a StoreError naming the directory
 * or file when it cannot.
 */
export function openStore(dir: string): Store {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StoreError(
      dir,
      `--data ${dir}: cannot create the data directory: ${code === 'EACCES' ? 'permission denied' : code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (error as Error).message}`,
    );
  }
  return Store.open(join(dir, STORE_FILE_NAME));
}

/** `2 Alerts, 1 Notice firing`. */
export function firingSummary(service: Service): string {
  const firing = service.firing();
  const n = (level: string): number => firing.filter((a) => a.level === level).length;
  const alerts = n('alert');
  const notices = n('notice');
  return `${alerts} Alert${alerts === 1 ? '' : 's'}, ${notices} Notice${notices === 1 ? '' : 's'} firing`;
}

/** One stderr line per transition at Notice or above (level None is collected, never told). */
export function describeTransition(t: ServiceTransition): string | undefined {
  if (t.level === 'none' && t.previousLevel !== 'notice' && t.previousLevel !== 'alert') return undefined;
  const what = `[${t.level.toUpperCase()}] ${t.finding.title} (${t.finding.ruleId} · ${refText(t.finding.object)})`;
  switch (t.type) {
    case 'opened':
      return t.alert.state === 'firing' ? undefined : `PENDING ${what}`;
    case 'fired':
      return `FIRING ${what}`;
    case 'level-changed':
      return `${LEVELS.indexOf(t.level) > LEVELS.indexOf(t.previousLevel ?? 'none') ? 'ESCALATED' : 'DEESCALATED'} ${what} (was ${t.previousLevel ?? 'none'})`;
    case 'resolved':
      return `RESOLVED ${what}${t.note !== undefined ? ` (${t.note})` : ''}`;
    case 'dropped':
      return `CLEARED ${what} (went away before it fired)`;
  }
}

/** One log line per delivery outcome (no secrets: receivers are named, never their URLs). */
export function describeOutcome(o: DeliveryOutcome): string {
  const what = `${o.messages === 1 ? '' : `${o.messages} messages: `}${o.title}`;
  switch (o.result) {
    case 'sent':
      return `notify ${o.receiver} (${o.type}): sent ${what}`;
    case 'retry':
      return `notify ${o.receiver} (${o.type}): failed (${o.error ?? 'error'}); retrying at ${o.nextAttemptAt !== undefined ? new Date(o.nextAttemptAt).toISOString() : 'later'}: ${what}`;
    case 'dead':
      return `notify ${o.receiver} (${o.type}): gave up (${o.error ?? 'error'}): ${what}`;
    case 'suppressed':
      return `notify ${o.receiver} (${o.type}): not sent, silenced: ${what}`;
  }
}

/**
 * Opens the store, starts notifications and the HTTP API, and starts the service (see `started`). The
 * caller handles signals and calls `stop`. Throws (after closing what it opened) when the store or the
 * API cannot start.
 */
export async function startRunner(options: RunnerOptions): Promise<Runner> {
  const { log } = options;
  const config = options.config;
  const store = options.dataDir !== undefined ? openStore(options.dataDir) : Store.open(':memory:');
  if (options.dataDir !== undefined) log(`data: ${store.file}`);
  else if (config.notifications.receivers.length > 0 && !options.memoryStoreExpected)
    log('no --data directory: queued notifications and alert history are kept in memory and lost on exit');
  const late: { service?: Service } = {};
  const notifications = new Notifications({
    store,
    config: config.notifications,
    clusterName: config.clusterName,
    now: () => late.service?.now() ?? Date.now(),
    isReady: () => late.service?.health().ready ?? false,
    onOutcome: (o) => log(describeOutcome(o)),
  });
  const svc = new Service({
    ...options.service,
    connection: options.connection,
    config,
    store,
    notifications,
    onProgress: (p) => {
      options.service?.onProgress?.(p);
      if (p.synced === p.total) log(`synced: ${p.total} kinds, ${p.objects} objects`);
    },
  });
  late.service = svc;
  svc.onTransition((t) => {
    if (t.type === 'dropped') {
      // A pending finding that a deeper cause now explains: say so, not that it "went away".
      const muted = svc.muted().find((m) => fingerprintOf(m.finding) === t.fingerprint);
      if (muted) {
        if (t.level !== 'none')
          log(
            `MUTED [${t.level.toUpperCase()}] ${t.finding.title} (${t.finding.ruleId}): explained by ${muted.by}`,
          );
        return;
      }
    }
    const line = describeTransition(t);
    if (line) log(line);
  });
  if (config.notifications.receivers.length > 0)
    log(
      `notifications: ${config.notifications.receivers.map((r) => `${r.name} (${r.type})`).join(', ')}${config.notifications.heartbeat ? '; heartbeat on' : ''}`,
    );
  let server: HttpServer;
  try {
    server = await startServer({
      service: svc,
      host: options.host,
      port: options.port,
      token: options.token,
      store,
      notifications,
    });
  } catch (error) {
    store.close();
    throw error;
  }

  const reload = (why: string, next?: HealwatchConfig): boolean => {
    try {
      const c = next ?? (options.configFile !== undefined ? loadConfig(options.configFile) : undefined);
      if (!c) return false;
      svc.reload(c);
      notifications.reload(c.notifications, c.clusterName);
      return true;
    } catch (error) {
      const message = error instanceof HealwatchError ? `${error.message} [${error.code}]` : String(error);
      log(`${why}: ${message}; keeping the previous configuration`);
      return false;
    }
  };

  // Reload when the file changes (polling: it survives editors that replace the file, and ConfigMap
  // updates that swap a symlink).
  const file = options.configFile;
  const every = options.watchConfigMs ?? 2000;
  let lastStamp = file ? stamp(file) : '';
  const onChange = (): void => {
    const s = stamp(file!);
    if (s === lastStamp) return;
    lastStamp = s;
    if (reload('config file changed')) log(`config file changed: reloaded ${file}`);
  };
  if (file !== undefined && every > 0) watchFile(file, { interval: every, persistent: false }, onChange);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (file !== undefined && every > 0) unwatchFile(file, onChange);
      await Promise.all([svc.stop(), server.close()]);
      await notifications.stop();
      try {
        store.close();
      } catch (error) {
        log(`closing ${store.file}: ${(error as Error).message}`);
      }
    })());

  notifications.start();
  const started = svc.start();
  return { service: svc, server, store, notifications, reload, stop, started };
}

/** Size and modification time of a file ('' when it cannot be read). */
function stamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return '';
  }
}
