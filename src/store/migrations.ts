/**
 * The store's schema, as an ordered list of SQL migrations applied by `migrate()` in `db.ts`. Migration N
 * brings a database from `PRAGMA user_version` N-1 to N, inside one transaction.
 *
 * Never edit or reorder a migration that has shipped: databases in the field already ran it. Change the
 * schema by appending a new migration (ALTER TABLE, CREATE INDEX, a copy-and-rename for bigger changes).
 *
 * Times are epoch milliseconds (INTEGER). JSON columns hold text written with `JSON.stringify` and are
 * validated again on read. Tables are STRICT, so a wrong type is refused on write.
 */

/** One schema step. */
export interface Migration {
  /** The `user_version` the database has after this migration. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'alerts, alert history, outbox, silences, samples, meta',
    sql: `
CREATE TABLE alerts (
  fingerprint      TEXT PRIMARY KEY,
  rule_id          TEXT NOT NULL,
  object_kind      TEXT NOT NULL,
  object_namespace TEXT,
  object_name      TEXT NOT NULL,
  key              TEXT,
  state            TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
  level            TEXT NOT NULL CHECK (level IN ('none', 'notice', 'alert')),
  pending_since    INTEGER NOT NULL,
  firing_since     INTEGER,
  resolved_at      INTEGER,
  last_seen_at     INTEGER NOT NULL,
  missing_since    INTEGER,
  flaps            INTEGER NOT NULL DEFAULT 0,
  finding          TEXT NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX alerts_by_state ON alerts (state, rule_id);

CREATE TABLE alert_events (
  id             INTEGER PRIMARY KEY,
  fingerprint    TEXT NOT NULL REFERENCES alerts (fingerprint) ON DELETE CASCADE,
  at             INTEGER NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('opened', 'fired', 'level-changed', 'resolved', 'reopened')),
  level          TEXT NOT NULL CHECK (level IN ('none', 'notice', 'alert')),
  previous_level TEXT CHECK (previous_level IN ('none', 'notice', 'alert')),
  finding        TEXT NOT NULL
) STRICT;
CREATE INDEX alert_events_by_fingerprint ON alert_events (fingerprint, at);
CREATE INDEX alert_events_by_time ON alert_events (at);

CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  receiver        TEXT NOT NULL,
  fingerprint     TEXT,
  kind            TEXT NOT NULL,
  payload         TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'dead')),
  sent_at         INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
CREATE INDEX outbox_by_receiver ON outbox (receiver, state);

CREATE TABLE silences (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  matchers   TEXT NOT NULL,
  starts_at  INTEGER NOT NULL,
  ends_at    INTEGER NOT NULL,
  author     TEXT NOT NULL,
  comment    TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expired_at INTEGER,
  CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX silences_by_end ON silences (ends_at);

CREATE TABLE samples (
  series TEXT NOT NULL,
  at     INTEGER NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (series, at)
) STRICT, WITHOUT ROWID;

CREATE TABLE samples_5m (
  series TEXT NOT NULL,
  at     INTEGER NOT NULL,
  value  REAL NOT NULL,
  count  INTEGER NOT NULL,
  min    REAL NOT NULL,
  max    REAL NOT NULL,
  PRIMARY KEY (series, at)
) STRICT, WITHOUT ROWID;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`,
  },
  {
    version: 2,
    name: 'outbox: episode, level, group key, first attempt, suppressed state',
    sql: `
CREATE TABLE outbox_v2 (
  id               INTEGER PRIMARY KEY,
  receiver         TEXT NOT NULL,
  fingerprint      TEXT,
  episode          INTEGER,
  level            TEXT CHECK (level IN ('none', 'notice', 'alert')),
  group_key        TEXT NOT NULL DEFAULT '',
  kind             TEXT NOT NULL,
  payload          TEXT NOT NULL,
  idempotency_key  TEXT NOT NULL UNIQUE,
  created_at       INTEGER NOT NULL,
  next_attempt_at  INTEGER NOT NULL,
  first_attempt_at INTEGER,
  attempts         INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  state            TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'dead', 'suppressed')),
  sent_at          INTEGER,
  done_at          INTEGER
) STRICT;
INSERT INTO outbox_v2 (id, receiver, fingerprint, kind, payload, idempotency_key, created_at, next_attempt_at,
  attempts, last_error, state, sent_at, done_at)
  SELECT id, receiver, fingerprint, kind, payload, idempotency_key, created_at, next_attempt_at, attempts,
    last_error, state, sent_at, CASE WHEN state = 'queued' THEN NULL ELSE COALESCE(sent_at, next_attempt_at) END
  FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
CREATE INDEX outbox_by_receiver ON outbox (receiver, state);
CREATE INDEX outbox_by_alert ON outbox (receiver, fingerprint, episode, id);
CREATE INDEX outbox_by_group ON outbox (receiver, group_key, state, next_attempt_at);
CREATE INDEX outbox_by_done ON outbox (done_at);
`,
  },
];

/** The newest schema version this build knows. */
export const LATEST_VERSION: number =
  MIGRATIONS.length === 0 ? 0 : MIGRATIONS[MIGRATIONS.length - 1]!.version;
