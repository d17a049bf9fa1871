/**
 * The durable store of `healwatch run`: one SQLite file (better-sqlite3 12, pinned for Node 20) in the
 * data directory.
 *
 * Why this shape: about seven tables need no ORM or query builder, so the SQL is hand-written here and in
 * `migrations.ts`, with prepared statements and a `PRAGMA user_version` migration runner (`db.ts`), as
 * chosen in the dependency research. better-sqlite3 is synchronous, so a batch of writes is one
 * transaction (`transaction(fn)`) and nothing interleaves with it. WAL with `synchronous=NORMAL` keeps
 * every committed transaction across a process crash (kill -9); only a power loss can lose the last
 * commits, never corrupt the file.
 *
 * Schema (migration 1; times are epoch ms):
 * - `alerts`: one row per fingerprint (rule, object, key): its state (pending, firing, resolved), level,
 *   the timers the tracker needs to resume after a restart (pending_since, firing_since, missing_since,
 *   flaps), and the latest finding as JSON. Restarting keeps firing alerts firing without re-notifying.
 * - `alert_events`: the history: opened, fired, level-changed, resolved, reopened, each with the level and
 *   a JSON snapshot of the finding, so the evidence at that moment stays readable later.
 * - `outbox`: notifications to deliver, at least once. A row is written in the same transaction as the
 *   alert change that caused it, and marked sent only after the receiver acknowledged it; the
 *   idempotency key (UNIQUE) makes re-enqueueing the same notification a no-op. `next_attempt_at`
 *   serves both retries with backoff and holding Notices until business hours.
 *   Secrets are never stored: `receiver` is the receiver's configured name, and notifiers add URLs,
 *   routing keys and tokens at send time, never into `payload`.
 * - `silences`: matchers (JSON), a time window, author and comment, and when it was expired early.
 * - `samples`: raw samples of None-level metrics, keyed (series, at). `downsample` folds rows older than a
 *   cut-off into `samples_5m` (average, count, min, max per 5-minute bucket) and deletes them;
 *   `retention` deletes what is older still.
 * - `meta`: key/value facts about the installation.
 *
 * JSON columns are validated on read: a row that does not parse or has the wrong shape is skipped and
 * reported (a `CorruptRowError` naming the table and id, through `onCorruptRow`), never failing the read.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { Alert, AlertState } from '../alerts/tracker.js';
import type { Evidence, Finding, Level, ObjectRef } from '../domain/index.js';
import { openDatabase, StoreError, type Db, type OpenOptions } from './db.js';

export { STORE_FILE_NAME, StoreError } from './db.js';

/** A row whose stored JSON does not parse or does not have the expected shape. */
export class CorruptRowError extends StoreError {
  constructor(
    file: string,
    readonly table: string,
    readonly rowId: string | number,
    detail: string,
  ) {
    super(file, `corrupt row in table ${table} (id ${rowId}) of ${file}, skipped: ${detail}`);
    this.name = 'CorruptRowError';
  }
}

// --- Record types --------------------------------------------------------------------------------------

/** An alert as stored: the tracker's state plus the latest finding. */
export interface StoredAlert {
  readonly fingerprint: string;
  readonly ruleId: string;
  readonly object: ObjectRef;
  readonly key: string | undefined;
  readonly state: AlertState;
  readonly level: Level;
  readonly pendingSince: number;
  readonly firingSince: number | undefined;
  readonly resolvedAt: number | undefined;
  readonly lastSeenAt: number;
  readonly missingSince: number | undefined;
  readonly flaps: number;
  readonly finding: Finding;
  readonly updatedAt: number;
}

/** What `upsertAlert` needs: the tracker's `Alert` fits as it is. */
export type AlertInput = Pick<
  Alert,
  'fingerprint' | 'state' | 'level' | 'finding' | 'pendingSince' | 'firingSince' | 'resolvedAt' | 'lastSeenAt'
> &
  Partial<Pick<Alert, 'missingSince' | 'flaps'>>;

/** What happened to an alert. */
export type AlertEventKind = 'opened' | 'fired' | 'level-changed' | 'resolved' | 'reopened';

/** One entry of an alert's history. */
export interface AlertEvent {
  readonly id: number;
  readonly fingerprint: string;
  readonly at: number;
  readonly kind: AlertEventKind;
  readonly level: Level;
  /** For `level-changed`, the level before. */
  readonly previousLevel: Level | undefined;
  /** The finding at that moment, with its evidence. */
  readonly finding: Finding;
}

/** A new history entry. */
export interface NewAlertEvent {
  readonly fingerprint: string;
  readonly at: number;
  readonly kind: AlertEventKind;
  readonly level: Level;
  readonly previousLevel?: Level | undefined;
  readonly finding: Finding;
}

/** Which history to read. */
export interface HistoryQuery {
  readonly fingerprint?: string | undefined;
  /** Inclusive lower bound on `at`. */
  readonly from?: number | undefined;
  /** Exclusive upper bound on `at`. */
  readonly to?: number | undefined;
  /** At most this many events (default 100). */
  readonly limit?: number | undefined;
  /** `desc` (default): newest first, so `limit` keeps the most recent; `asc`: oldest first. */
  readonly order?: 'asc' | 'desc' | undefined;
}

/** Delivery state of an outbox message. */
export type OutboxState = 'queued' | 'sent' | 'dead' | 'suppressed';

/** A notification to deliver. */
export interface NewOutboxMessage {
  /** The receiver's configured name (never its URL or token). */
  readonly receiver: string;
  readonly fingerprint?: string | undefined;
  /** The alert's firing episode (its `firingSince`): rows of one episode belong together. */
  readonly episode?: number | undefined;
  /** The alert's level this message announces. */
  readonly level?: Level | undefined;
  /** Messages of one receiver with the same group key go out together. */
  readonly groupKey?: string | undefined;
  /** What it announces, e.g. `fired`, `level-changed`, `repeat`, `resolved`. */
  readonly kind: string;
  /** The JSON body to send, without secrets. */
  readonly payload: unknown;
  /** Unique per notification: enqueueing the same key again does nothing. */
  readonly idempotencyKey: string;
  readonly now: number;
  /** Not to be sent before this time (business hours); defaults to `now`. */
  readonly notBefore?: number | undefined;
}

/** A stored notification. */
export interface OutboxMessage {
  readonly id: number;
  readonly receiver: string;
  readonly fingerprint: string | undefined;
  readonly episode: number | undefined;
  readonly level: Level | undefined;
  readonly groupKey: string;
  readonly kind: string;
  readonly payload: unknown;
  readonly idempotencyKey: string;
  readonly createdAt: number;
  readonly nextAttemptAt: number;
  /** When it was first tried (undefined until then). */
  readonly firstAttemptAt: number | undefined;
  readonly attempts: number;
  readonly lastError: string | undefined;
  readonly state: OutboxState;
  readonly sentAt: number | undefined;
}

/** Delivery figures of one receiver. */
export interface ReceiverStats {
  readonly receiver: string;
  readonly queued: number;
  readonly sent: number;
  readonly dead: number;
  readonly suppressed: number;
  /** When the oldest still-queued message was created. */
  readonly oldestQueuedAt: number | undefined;
  readonly lastSentAt: number | undefined;
  /** The error of the newest message that has one and is not sent. */
  readonly lastError: string | undefined;
}

/** One condition of a silence on an alert's labels (rule, namespace, kind, name, key, or finding facts). */
export interface SilenceMatcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** A new silence. */
export interface NewSilence {
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly author: string;
  readonly comment?: string | undefined;
  readonly now: number;
}

/** A stored silence. */
export interface Silence {
  readonly id: number;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly author: string;
  readonly comment: string;
  readonly createdAt: number;
  readonly expiredAt: number | undefined;
}

/** One measurement of a series. */
export interface Sample {
  readonly series: string;
  readonly at: number;
  readonly value: number;
}

/** A point read back: a raw sample, or a 5-minute bucket (`at` is its start) of downsampled ones. */
export interface SamplePoint {
  readonly at: number;
  readonly value: number;
  readonly resolution: 'raw' | '5m';
  /** How many raw samples it stands for (1 for raw). */
  readonly count: number;
  readonly min: number;
  readonly max: number;
}

/** Cut-offs for `retention` (each optional; rows strictly older are deleted). */
export interface RetentionCutoffs {
  readonly rawSamplesBefore?: number | undefined;
  readonly downsampledBefore?: number | undefined;
  /** History events and resolved alerts (resolved before it, with all their history). */
  readonly historyBefore?: number | undefined;
  /** Outbox messages that are done: sent, dead or suppressed. */
  readonly outboxBefore?: number | undefined;
}

/** How many rows `retention` deleted, by table. */
export interface RetentionResult {
  readonly samples: number;
  readonly samples5m: number;
  readonly alertEvents: number;
  readonly alerts: number;
  readonly outbox: number;
}

/** Options of `Store.open`. */
export interface StoreOptions extends OpenOptions {
  /** Told about each corrupt row skipped on read (default: a process warning). */
  readonly onCorruptRow?: ((error: CorruptRowError) => void) | undefined;
}

/** The length of a downsampled bucket. */
export const BUCKET_MS = 5 * 60_000;

const MAX_ERROR_LENGTH = 2000;

// --- JSON validation -----------------------------------------------------------------------------------

const LEVEL_VALUES = ['none', 'notice', 'alert'] as const satisfies readonly Level[];
const EVIDENCE_TYPES = [
  'condition',
  'event',
  'restarts',
  'log',
  'metric',
  'state',
] as const satisfies readonly Evidence['type'][];
// Fails to compile when Evidence gains a type the schema does not list.
const _evidenceTypesComplete: [Exclude<Evidence['type'], (typeof EVIDENCE_TYPES)[number]>] extends [never]
  ? true
  : false = true;
void _evidenceTypesComplete;

const findingSchema = z.object({
  ruleId: z.string(),
  level: z.enum(LEVEL_VALUES),
  object: z.object({ kind: z.string(), namespace: z.string().optional(), name: z.string() }),
  key: z.string().optional(),
  title: z.string(),
  loop: z.string(),
  message: z.string(),
  evidence: z.array(z.object({ type: z.enum(EVIDENCE_TYPES), text: z.string(), at: z.number().optional() })),
  nextSteps: z.array(z.string()),
  facts: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  since: z.number().optional(),
});

const matchersSchema = z
  .array(z.object({ label: z.string().min(1), op: z.enum(['=', '!=', '=~', '!~']), value: z.string() }))
  .min(1);

// --- Row types -----------------------------------------------------------------------------------------

interface AlertRow {
  fingerprint: string;
  rule_id: string;
  object_kind: string;
  object_namespace: string | null;
  object_name: string;
  key: string | null;
  state: AlertState;
  level: Level;
  pending_since: number;
  firing_since: number | null;
  resolved_at: number | null;
  last_seen_at: number;
  missing_since: number | null;
  flaps: number;
  finding: string;
  updated_at: number;
}

interface EventRow {
  id: number;
  fingerprint: string;
  at: number;
  kind: AlertEventKind;
  level: Level;
  previous_level: Level | null;
  finding: string;
}

interface OutboxRow {
  id: number;
  receiver: string;
  fingerprint: string | null;
  episode: number | null;
  level: Level | null;
  group_key: string;
  kind: string;
  payload: string;
  idempotency_key: string;
  created_at: number;
  next_attempt_at: number;
  first_attempt_at: number | null;
  attempts: number;
  last_error: string | null;
  state: OutboxState;
  sent_at: number | null;
}

interface SilenceRow {
  id: number;
  matchers: string;
  starts_at: number;
  ends_at: number;
  author: string;
  comment: string;
  created_at: number;
  expired_at: number | null;
}

interface StatsRow {
  receiver: string;
  queued: number;
  sent: number;
  dead: number;
  suppressed: number;
  oldest_queued_at: number | null;
  last_sent_at: number | null;
  last_error: string | null;
}

interface PointRow {
  at: number;
  value: number;
  count: number;
  min: number;
  max: number;
  raw: number;
}

type Stmt<P extends unknown[] | object, R = unknown> = Database.Statement<P, R>;

// --- The store -----------------------------------------------------------------------------------------

/** Typed access to the store's tables; every statement is prepared once. */
export class Store {
  /** Opens (creating and migrating as needed) the database at `file`, or `:memory:`. */
  static open(file: string, options: StoreOptions = {}): Store {
    return new Store(openDatabase(file, options), file, options);
  }

  private readonly onCorruptRow: (error: CorruptRowError) => void;
  private readonly s: ReturnType<typeof prepare>;

  private constructor(
    private readonly db: Db,
    /** The database file, for messages. */
    readonly file: string,
    options: StoreOptions,
  ) {
    this.onCorruptRow =
      options.onCorruptRow ?? ((e) => process.emitWarning(e.message, { code: 'HW_STORE_CORRUPT_ROW' }));
    this.s = prepare(db);
  }

  /**
   * Runs `fn` in one transaction: all its writes commit together or not at all (nested calls become
   * savepoints). `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(() => {
      const result = fn();
      if (result instanceof Promise)
        throw new StoreError(
          this.file,
          'Store.transaction() was given an async function; it must be synchronous',
        );
      return result;
    })();
  }

  // --- alerts ---

  /** Inserts or replaces the current state of an alert; `now` is its `updated_at`. */
  upsertAlert(alert: AlertInput, now: number): void {
    const f = alert.finding;
    this.s.upsertAlert.run({
      fingerprint: alert.fingerprint,
      rule_id: f.ruleId,
      object_kind: f.object.kind,
      object_namespace: f.object.namespace ?? null,
      object_name: f.object.name,
      key: f.key ?? null,
      state: alert.state,
      level: alert.level,
      pending_since: alert.pendingSince,
      firing_since: alert.firingSince ?? null,
      resolved_at: alert.resolvedAt ?? null,
      last_seen_at: alert.lastSeenAt,
      missing_since: alert.missingSince ?? null,
      flaps: alert.flaps ?? 0,
      finding: JSON.stringify(f),
      updated_at: now,
    });
  }

  /** One alert by fingerprint (undefined when absent or corrupt). */
  getAlert(fingerprint: string): StoredAlert | undefined {
    const row = this.s.getAlert.get(fingerprint);
    return row ? this.alertFromRow(row) : undefined;
  }

  /** The alerts, optionally only those in the given state(s), ordered by fingerprint. */
  getAlerts(filter: { state?: AlertState | readonly AlertState[] } = {}): StoredAlert[] {
    const states = filter.state === undefined ? undefined : ([] as AlertState[]).concat(filter.state);
    const rows = states ? this.s.alertsByStates.all(JSON.stringify(states)) : this.s.allAlerts.all();
    return rows.flatMap((r) => this.alertFromRow(r) ?? []);
  }

  /** Appends one history entry (its alert must have been upserted); returns its id. */
  appendAlertEvent(event: NewAlertEvent): number {
    const info = this.s.appendEvent.run({
      fingerprint: event.fingerprint,
      at: event.at,
      kind: event.kind,
      level: event.level,
      previous_level: event.previousLevel ?? null,
      finding: JSON.stringify(event.finding),
    });
    return Number(info.lastInsertRowid);
  }

  /** History entries of one alert or of all, within a time range, newest first unless `order: 'asc'`. */
  history(query: HistoryQuery = {}): AlertEvent[] {
    const params = {
      fingerprint: query.fingerprint ?? null,
      from: query.from ?? null,
      to: query.to ?? null,
      limit: Math.max(0, Math.floor(query.limit ?? 100)),
    };
    const rows = query.order === 'asc' ? this.s.historyAsc.all(params) : this.s.historyDesc.all(params);
    return rows.flatMap((r) => this.eventFromRow(r) ?? []);
  }

  // --- outbox ---

  /**
   * Queues a notification unless one with the same idempotency key exists (in any state). Returns the
   * message's id and whether this call inserted it.
   */
  enqueue(message: NewOutboxMessage): { id: number; inserted: boolean } {
    const payload = JSON.stringify(message.payload);
    if (payload === undefined)
      throw new StoreError(this.file, `outbox payload for ${message.receiver} is not JSON-serialisable`);
    return this.transaction(() => {
      const info = this.s.enqueue.run({
        receiver: message.receiver,
        fingerprint: message.fingerprint ?? null,
        episode: message.episode ?? null,
        level: message.level ?? null,
        group_key: message.groupKey ?? '',
        kind: message.kind,
        payload,
        idempotency_key: message.idempotencyKey,
        created_at: message.now,
        next_attempt_at: message.notBefore ?? message.now,
      });
      if (info.changes > 0) return { id: Number(info.lastInsertRowid), inserted: true };
      const existing = this.s.outboxIdByKey.get(message.idempotencyKey);
      if (!existing)
        throw new StoreError(this.file, `outbox insert for ${message.receiver} neither inserted nor found`);
      return { id: existing.id, inserted: false };
    });
  }

  /**
   * Queued messages whose next attempt is due at `now`, soonest first (then oldest first). A message whose
   * payload no longer parses is reported and marked dead, so it cannot block the queue.
   */
  due(now: number, limit = 100): OutboxMessage[] {
    const out: OutboxMessage[] = [];
    for (const row of this.s.due.all(now, Math.max(0, Math.floor(limit)))) {
      const message = this.outboxFromRow(row);
      if (message) out.push(message);
      else this.s.markDead.run({ id: row.id, error: 'stored payload is corrupt', attempted: 0, now });
    }
    return out;
  }

  /** One outbox message by id (undefined when absent or corrupt). */
  outboxMessage(id: number): OutboxMessage | undefined {
    const row = this.s.outboxById.get(id);
    return row ? this.outboxFromRow(row) : undefined;
  }

  /** Records a delivery the receiver acknowledged. Returns false when the message was not queued. */
  markSent(id: number, now: number): boolean {
    return this.s.markSent.run({ id, now }).changes > 0;
  }

  /**
   * Records a failed attempt (retryable): counts it, keeps the error (which must not contain secrets; it is
   * cut to 2000 characters) and schedules the next attempt. Returns false when the message was not queued.
   */
  markFailed(id: number, nextAttemptAt: number, error: string, now = Date.now()): boolean {
    return this.s.markFailed.run({ id, next: nextAttemptAt, error: cut(error), now }).changes > 0;
  }

  /**
   * Gives a message up: not retryable, or retried too long. `attempted` (default true) counts this as one
   * more attempt; pass false when giving up without trying again. Returns false when it was not queued.
   */
  markDead(id: number, error: string, attempted = true, now = Date.now()): boolean {
    return this.s.markDead.run({ id, error: cut(error), attempted: attempted ? 1 : 0, now }).changes > 0;
  }

  /** Records that a queued message was not sent because a silence covered it (`reason` says which). */
  markSuppressed(id: number, reason: string, now: number): boolean {
    return this.s.markSuppressed.run({ id, reason: cut(reason), now }).changes > 0;
  }

  /** The newest message (not suppressed) to `receiver` about one firing episode of an alert. */
  lastForAlert(receiver: string, fingerprint: string, episode: number): OutboxMessage | undefined {
    const row = this.s.lastForAlert.get({ receiver, fingerprint, episode });
    return row ? this.outboxFromRow(row) : undefined;
  }

  /** When a message of the group was last delivered to `receiver`. */
  lastSentForGroup(receiver: string, groupKey: string): number | undefined {
    return this.s.lastSentForGroup.get({ receiver, group_key: groupKey })?.sent_at ?? undefined;
  }

  /** The earliest time a not-yet-tried message of the group is held until, when one is held past `now`. */
  heldForGroup(receiver: string, groupKey: string, now: number): number | undefined {
    return this.s.heldForGroup.get({ receiver, group_key: groupKey, now })?.at ?? undefined;
  }

  /** The newest outbox messages, optionally of one receiver and/or one alert. */
  recentOutbox(query: { receiver?: string; fingerprint?: string; limit?: number } = {}): OutboxMessage[] {
    return this.s.recentOutbox
      .all({
        receiver: query.receiver ?? null,
        fingerprint: query.fingerprint ?? null,
        limit: Math.max(0, Math.min(1000, Math.floor(query.limit ?? 100))),
      })
      .flatMap((r) => this.outboxFromRow(r) ?? []);
  }

  /** Delivery figures per receiver, by receiver name. */
  outboxStats(): ReceiverStats[] {
    return this.s.stats.all().map((r) => ({
      receiver: r.receiver,
      queued: r.queued,
      sent: r.sent,
      dead: r.dead,
      suppressed: r.suppressed,
      oldestQueuedAt: r.oldest_queued_at ?? undefined,
      lastSentAt: r.last_sent_at ?? undefined,
      lastError: r.last_error ?? undefined,
    }));
  }

  // --- silences ---

  /** Stores a silence; the matchers are validated (at least one; regular expressions must compile). */
  addSilence(silence: NewSilence): Silence {
    const matchers = matchersSchema.safeParse(silence.matchers);
    if (!matchers.success)
      throw new StoreError(this.file, `invalid silence matchers: ${z.prettifyError(matchers.error)}`);
    for (const m of matchers.data) {
      if (m.op !== '=~' && m.op !== '!~') continue;
      try {
        new RegExp(m.value);
      } catch (err) {
        throw new StoreError(
          this.file,
          `invalid silence matcher ${m.label}${m.op}${m.value}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    if (!(silence.endsAt > silence.startsAt))
      throw new StoreError(this.file, 'a silence must end after it starts');
    const info = this.s.addSilence.run({
      matchers: JSON.stringify(matchers.data),
      starts_at: silence.startsAt,
      ends_at: silence.endsAt,
      author: silence.author,
      comment: silence.comment ?? '',
      created_at: silence.now,
    });
    const stored = this.getSilence(Number(info.lastInsertRowid));
    if (!stored) throw new StoreError(this.file, 'a silence just stored cannot be read back');
    return stored;
  }

  /** One silence by id. */
  getSilence(id: number): Silence | undefined {
    const row = this.s.silenceById.get(id);
    return row ? this.silenceFromRow(row) : undefined;
  }

  /**
   * Silences, newest first: with `activeAt`, only those in effect then (started, not ended, not expired);
   * without it, all of them.
   */
  listSilences(options: { activeAt?: number | undefined } = {}): Silence[] {
    const rows =
      options.activeAt === undefined
        ? this.s.allSilences.all()
        : this.s.activeSilences.all({ now: options.activeAt });
    return rows.flatMap((r) => this.silenceFromRow(r) ?? []);
  }

  /** Ends a silence early at `now`. Returns false when it does not exist or was already expired or over. */
  expireSilence(id: number, now: number): boolean {
    return this.s.expireSilence.run({ id, now }).changes > 0;
  }

  // --- samples ---

  /**
   * Writes a batch of samples in one transaction (a sample at an existing (series, at) replaces it).
   * Non-finite values are left out. Returns how many were written.
   */
  writeSamples(samples: readonly Sample[]): number {
    return this.transaction(() => {
      let written = 0;
      for (const s of samples) {
        if (!Number.isFinite(s.value) || !Number.isFinite(s.at)) continue;
        this.s.writeSample.run(s.series, Math.round(s.at), s.value);
        written++;
      }
      return written;
    });
  }

  /**
   * The points of a series with `from <= at < to`, oldest first: raw samples, and 5-minute buckets where
   * the raw samples were downsampled.
   */
  querySamples(series: string, from: number, to: number): SamplePoint[] {
    return this.s.querySamples.all({ series, from, to }).map((r) => ({
      at: r.at,
      value: r.value,
      resolution: r.raw ? 'raw' : '5m',
      count: r.count,
      min: r.min,
      max: r.max,
    }));
  }

  /** The names of the stored series. */
  seriesNames(): string[] {
    return this.s.seriesNames.all().map((r) => r.series);
  }

  /**
   * Folds raw samples older than `olderThan` (rounded down to a 5-minute boundary, so only whole buckets
   * are folded) into 5-minute averages (merged with a bucket already there) and deletes those raw rows,
   * in one transaction.
   */
  downsample(olderThan: number): { buckets: number; rawDeleted: number } {
    const cutoff = Math.floor(olderThan / BUCKET_MS) * BUCKET_MS;
    return this.transaction(() => {
      const buckets = this.s.downsample.run({ cutoff }).changes;
      const rawDeleted = this.s.deleteRawBefore.run(cutoff).changes;
      return { buckets, rawDeleted };
    });
  }

  /** Deletes what is older than each given cut-off, in one transaction. */
  retention(cutoffs: RetentionCutoffs): RetentionResult {
    return this.transaction(() => ({
      samples:
        cutoffs.rawSamplesBefore === undefined
          ? 0
          : this.s.deleteRawBefore.run(cutoffs.rawSamplesBefore).changes,
      samples5m:
        cutoffs.downsampledBefore === undefined
          ? 0
          : this.s.delete5mBefore.run(cutoffs.downsampledBefore).changes,
      alertEvents:
        cutoffs.historyBefore === undefined
          ? 0
          : this.s.deleteEventsBefore.run(cutoffs.historyBefore).changes,
      alerts:
        cutoffs.historyBefore === undefined
          ? 0
          : this.s.deleteResolvedAlertsBefore.run(cutoffs.historyBefore).changes,
      outbox:
        cutoffs.outboxBefore === undefined ? 0 : this.s.deleteOutboxBefore.run(cutoffs.outboxBefore).changes,
    }));
  }

  // --- meta ---

  getMeta(key: string): string | undefined {
    return this.s.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }

  /** Closes the database (checkpointing the WAL). Further calls fail. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  // --- row mapping ---

  private corrupt(table: string, id: string | number, detail: string): undefined {
    this.onCorruptRow(new CorruptRowError(this.file, table, id, detail));
    return undefined;
  }

  private parse<T>(table: string, id: string | number, column: string, text: string, schema?: z.ZodType<T>) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return this.corrupt(
        table,
        id,
        `column ${column} is not JSON (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    if (!schema) return { value: value as T };
    const result = schema.safeParse(value);
    if (!result.success)
      return this.corrupt(
        table,
        id,
        `column ${column} has the wrong shape: ${z.prettifyError(result.error)}`,
      );
    return { value: result.data };
  }

  private alertFromRow(r: AlertRow): StoredAlert | undefined {
    const finding = this.parse('alerts', r.fingerprint, 'finding', r.finding, findingSchema);
    if (!finding) return undefined;
    return {
      fingerprint: r.fingerprint,
      ruleId: r.rule_id,
      object:
        r.object_namespace === null
          ? { kind: r.object_kind, name: r.object_name }
          : { kind: r.object_kind, namespace: r.object_namespace, name: r.object_name },
      key: r.key ?? undefined,
      state: r.state,
      level: r.level,
      pendingSince: r.pending_since,
      firingSince: r.firing_since ?? undefined,
      resolvedAt: r.resolved_at ?? undefined,
      lastSeenAt: r.last_seen_at,
      missingSince: r.missing_since ?? undefined,
      flaps: r.flaps,
      finding: finding.value,
      updatedAt: r.updated_at,
    };
  }

  private eventFromRow(r: EventRow): AlertEvent | undefined {
    const finding = this.parse('alert_events', r.id, 'finding', r.finding, findingSchema);
    if (!finding) return undefined;
    return {
      id: r.id,
      fingerprint: r.fingerprint,
      at: r.at,
      kind: r.kind,
      level: r.level,
      previousLevel: r.previous_level ?? undefined,
      finding: finding.value,
    };
  }

  private outboxFromRow(r: OutboxRow): OutboxMessage | undefined {
    const payload = this.parse<unknown>('outbox', r.id, 'payload', r.payload);
    if (!payload) return undefined;
    return {
      id: r.id,
      receiver: r.receiver,
      fingerprint: r.fingerprint ?? undefined,
      episode: r.episode ?? undefined,
      level: r.level ?? undefined,
      groupKey: r.group_key,
      kind: r.kind,
      payload: payload.value,
      idempotencyKey: r.idempotency_key,
      createdAt: r.created_at,
      nextAttemptAt: r.next_attempt_at,
      firstAttemptAt: r.first_attempt_at ?? undefined,
      attempts: r.attempts,
      lastError: r.last_error ?? undefined,
      state: r.state,
      sentAt: r.sent_at ?? undefined,
    };
  }

  private silenceFromRow(r: SilenceRow): Silence | undefined {
    const matchers = this.parse('silences', r.id, 'matchers', r.matchers, matchersSchema);
    if (!matchers) return undefined;
    return {
      id: r.id,
      matchers: matchers.value,
      startsAt: r.starts_at,
      endsAt: r.ends_at,
      author: r.author,
      comment: r.comment,
      createdAt: r.created_at,
      expiredAt: r.expired_at ?? undefined,
    };
  }
}

function cut(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

const ALERT_COLUMNS = `fingerprint, rule_id, object_kind, object_namespace, object_name, key, state, level,
  pending_since, firing_since, resolved_at, last_seen_at, missing_since, flaps, finding, updated_at`;
const OUTBOX_COLUMNS = `id, receiver, fingerprint, episode, level, group_key, kind, payload, idempotency_key,
  created_at, next_attempt_at, first_attempt_at, attempts, last_error, state, sent_at`;
const SILENCE_COLUMNS = 'id, matchers, starts_at, ends_at, author, comment, created_at, expired_at';
const EVENT_HISTORY_WHERE = `(@fingerprint IS NULL OR fingerprint = @fingerprint)
  AND (@from IS NULL OR at >= @from) AND (@to IS NULL OR at < @to)`;

function prepare(db: Db) {
  const stmt = <P extends unknown[] | object, R = unknown>(sql: string): Stmt<P, R> => db.prepare<P, R>(sql);
  return {
    upsertAlert: stmt<[Omit<AlertRow, never>]>(
      `INSERT INTO alerts (${ALERT_COLUMNS}) VALUES (@fingerprint, @rule_id, @object_kind, @object_namespace,
         @object_name, @key, @state, @level, @pending_since, @firing_since, @resolved_at, @last_seen_at,
         @missing_since, @flaps, @finding, @updated_at)
       ON CONFLICT (fingerprint) DO UPDATE SET rule_id = excluded.rule_id, object_kind = excluded.object_kind,
         object_namespace = excluded.object_namespace, object_name = excluded.object_name, key = excluded.key,
         state = excluded.state, level = excluded.level, pending_since = excluded.pending_since,
         firing_since = excluded.firing_since, resolved_at = excluded.resolved_at,
         last_seen_at = excluded.last_seen_at, missing_since = excluded.missing_since, flaps = excluded.flaps,
         finding = excluded.finding, updated_at = excluded.updated_at`,
    ),
    getAlert: stmt<[string], AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE fingerprint = ?`),
    allAlerts: stmt<[], AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts ORDER BY fingerprint`),
    alertsByStates: stmt<[string], AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM alerts WHERE state IN (SELECT value FROM json_each(?)) ORDER BY fingerprint`,
    ),
    appendEvent: stmt<[Omit<EventRow, 'id'>]>(
      `INSERT INTO alert_events (fingerprint, at, kind, level, previous_level, finding)
       VALUES (@fingerprint, @at, @kind, @level, @previous_level, @finding)`,
    ),
    historyDesc: stmt<[HistoryParams], EventRow>(
      `SELECT id, fingerprint, at, kind, level, previous_level, finding FROM alert_events
       WHERE ${EVENT_HISTORY_WHERE} ORDER BY at DESC, id DESC LIMIT @limit`,
    ),
    historyAsc: stmt<[HistoryParams], EventRow>(
      `SELECT id, fingerprint, at, kind, level, previous_level, finding FROM alert_events
       WHERE ${EVENT_HISTORY_WHERE} ORDER BY at ASC, id ASC LIMIT @limit`,
    ),
    enqueue: stmt<[EnqueueParams]>(
      `INSERT INTO outbox (receiver, fingerprint, episode, level, group_key, kind, payload, idempotency_key,
         created_at, next_attempt_at)
       VALUES (@receiver, @fingerprint, @episode, @level, @group_key, @kind, @payload, @idempotency_key,
         @created_at, @next_attempt_at)
       ON CONFLICT (idempotency_key) DO NOTHING`,
    ),
    outboxIdByKey: stmt<[string], { id: number }>('SELECT id FROM outbox WHERE idempotency_key = ?'),
    outboxById: stmt<[number], OutboxRow>(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = ?`),
    due: stmt<[number, number], OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE state = 'queued' AND next_attempt_at <= ?
       ORDER BY next_attempt_at, id LIMIT ?`,
    ),
    markSent: stmt<[{ id: number; now: number }]>(
      `UPDATE outbox SET state = 'sent', sent_at = @now, done_at = @now, attempts = attempts + 1,
         first_attempt_at = COALESCE(first_attempt_at, @now)
       WHERE id = @id AND state = 'queued'`,
    ),
    markFailed: stmt<[{ id: number; next: number; error: string; now: number }]>(
      `UPDATE outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @next,
         first_attempt_at = COALESCE(first_attempt_at, @now)
       WHERE id = @id AND state = 'queued'`,
    ),
    markDead: stmt<[{ id: number; error: string; attempted: number; now: number }]>(
      `UPDATE outbox SET state = 'dead', attempts = attempts + @attempted, last_error = @error, done_at = @now
       WHERE id = @id AND state = 'queued'`,
    ),
    markSuppressed: stmt<[{ id: number; reason: string; now: number }]>(
      `UPDATE outbox SET state = 'suppressed', last_error = @reason, done_at = @now
       WHERE id = @id AND state = 'queued'`,
    ),
    lastForAlert: stmt<[{ receiver: string; fingerprint: string; episode: number }], OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox
       WHERE receiver = @receiver AND fingerprint = @fingerprint AND episode = @episode AND state != 'suppressed'
       ORDER BY id DESC LIMIT 1`,
    ),
    lastSentForGroup: stmt<[{ receiver: string; group_key: string }], { sent_at: number | null }>(
      `SELECT MAX(sent_at) AS sent_at FROM outbox
       WHERE receiver = @receiver AND group_key = @group_key AND state = 'sent'`,
    ),
    heldForGroup: stmt<[{ receiver: string; group_key: string; now: number }], { at: number | null }>(
      `SELECT MIN(next_attempt_at) AS at FROM outbox
       WHERE receiver = @receiver AND group_key = @group_key AND state = 'queued' AND attempts = 0
         AND next_attempt_at > @now`,
    ),
    recentOutbox: stmt<[{ receiver: string | null; fingerprint: string | null; limit: number }], OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM outbox
       WHERE (@receiver IS NULL OR receiver = @receiver) AND (@fingerprint IS NULL OR fingerprint = @fingerprint)
       ORDER BY id DESC LIMIT @limit`,
    ),
    stats: stmt<[], StatsRow>(
      `SELECT receiver,
         SUM(state = 'queued') AS queued, SUM(state = 'sent') AS sent, SUM(state = 'dead') AS dead,
         SUM(state = 'suppressed') AS suppressed,
         MIN(CASE WHEN state = 'queued' THEN created_at END) AS oldest_queued_at,
         MAX(sent_at) AS last_sent_at,
         (SELECT o2.last_error FROM outbox o2 WHERE o2.receiver = outbox.receiver
            AND o2.state IN ('queued', 'dead') AND o2.last_error IS NOT NULL ORDER BY o2.id DESC LIMIT 1) AS last_error
       FROM outbox GROUP BY receiver ORDER BY receiver`,
    ),
    addSilence: stmt<[Omit<SilenceRow, 'id' | 'expired_at'>]>(
      `INSERT INTO silences (matchers, starts_at, ends_at, author, comment, created_at)
       VALUES (@matchers, @starts_at, @ends_at, @author, @comment, @created_at)`,
    ),
    silenceById: stmt<[number], SilenceRow>(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE id = ?`),
    allSilences: stmt<[], SilenceRow>(`SELECT ${SILENCE_COLUMNS} FROM silences ORDER BY id DESC`),
    activeSilences: stmt<[{ now: number }], SilenceRow>(
      `SELECT ${SILENCE_COLUMNS} FROM silences
       WHERE starts_at <= @now AND ends_at > @now AND (expired_at IS NULL OR expired_at > @now)
       ORDER BY id DESC`,
    ),
    expireSilence: stmt<[{ id: number; now: number }]>(
      `UPDATE silences SET expired_at = @now WHERE id = @id AND expired_at IS NULL AND ends_at > @now`,
    ),
    writeSample: stmt<[string, number, number]>(
      'INSERT INTO samples (series, at, value) VALUES (?, ?, ?) ON CONFLICT (series, at) DO UPDATE SET value = excluded.value',
    ),
    querySamples: stmt<[{ series: string; from: number; to: number }], PointRow>(
      `SELECT at, value, count, min, max, 0 AS raw FROM samples_5m WHERE series = @series AND at >= @from AND at < @to
       UNION ALL
       SELECT at, value, 1, value, value, 1 FROM samples WHERE series = @series AND at >= @from AND at < @to
       ORDER BY at, raw`,
    ),
    seriesNames: stmt<[], { series: string }>(
      'SELECT series FROM samples UNION SELECT series FROM samples_5m ORDER BY series',
    ),
    downsample: stmt<[{ cutoff: number }]>(
      `INSERT INTO samples_5m (series, at, value, count, min, max)
       SELECT series, (at / ${BUCKET_MS}) * ${BUCKET_MS} AS b, AVG(value), COUNT(*), MIN(value), MAX(value)
       FROM samples WHERE at < @cutoff GROUP BY series, b
       ON CONFLICT (series, at) DO UPDATE SET
         value = (samples_5m.value * samples_5m.count + excluded.value * excluded.count)
                 / (samples_5m.count + excluded.count),
         count = samples_5m.count + excluded.count,
         min = MIN(samples_5m.min, excluded.min),
         max = MAX(samples_5m.max, excluded.max)`,
    ),
    deleteRawBefore: stmt<[number]>('DELETE FROM samples WHERE at < ?'),
    delete5mBefore: stmt<[number]>('DELETE FROM samples_5m WHERE at < ?'),
    deleteEventsBefore: stmt<[number]>('DELETE FROM alert_events WHERE at < ?'),
    deleteResolvedAlertsBefore: stmt<[number]>(
      "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?",
    ),
    deleteOutboxBefore: stmt<[number]>(
      "DELETE FROM outbox WHERE state != 'queued' AND COALESCE(done_at, sent_at, next_attempt_at) < ?",
    ),
    getMeta: stmt<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: stmt<[string, string]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ),
  };
}

interface HistoryParams {
  fingerprint: string | null;
  from: number | null;
  to: number | null;
  limit: number;
}

interface EnqueueParams {
  receiver: string;
  fingerprint: string | null;
  episode: number | null;
  level: Level | null;
  group_key: string;
  kind: string;
  payload: string;
  idempotency_key: string;
  created_at: number;
  next_attempt_at: number;
}
