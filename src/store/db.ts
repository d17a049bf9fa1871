/**
 * Opening the store's SQLite file: pragmas for a long-running single-writer service, and the migration
 * runner on `PRAGMA user_version`. See `store.ts` for the schema overview.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LATEST_VERSION, MIGRATIONS, type Migration } from './migrations.js';
import { HealwatchError } from '../domain/index.js';

/** The database handle type of better-sqlite3. */
export type Db = Database.Database;

/** The file name of the store inside a `--data` directory. */
export const STORE_FILE_NAME = 'healwatch.db';

/** An error of the store; the message names the database file (and the table and row when it is about one). */
export class StoreError extends HealwatchError {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('HW_ERR_STORE', message);
    if (options?.cause !== undefined) this.cause = options.cause;
    this.name = 'StoreError';
  }
}

/** Options for opening the database. */
export interface OpenOptions {
  /** How long a statement waits for another connection's lock before failing (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** The migrations to apply (tests only; defaults to the shipped list). */
  readonly migrations?: readonly Migration[];
}

/**
 * Opens (creating if needed, with its parent directory) a database file, or `:memory:`, sets WAL,
 * `synchronous=NORMAL`, `busy_timeout` and foreign keys, and applies the pending migrations. Refuses a
 * file written by a newer Healwatch, or one that is not a readable SQLite database, with an error naming it.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = migrations === MIGRATIONS ? LATEST_VERSION : (migrations.at(-1)?.version ?? 0);
  const inMemory = file === ':memory:' || file === '';
  let db: Db;
  try {
    if (!inMemory) mkdirSync(dirname(file), { recursive: true });
    db = new Database(file);
  } catch (err) {
    throw new StoreError(file, `cannot open the Healwatch database ${file}: ${messageOf(err)}`, {
      cause: err,
    });
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    // The first read of the file: fails here when it is not a database.
    const version = userVersion(db);
    if (version > latest) {
      throw new StoreError(
        file,
        `the Healwatch database ${file} has schema version ${version}, but this Healwatch knows only up to ` +
          `version ${latest}: it was written by a newer Healwatch. Upgrade Healwatch, or use another data directory.`,
      );
    }
    if (!inMemory) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, file, migrations);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw new StoreError(
      file,
      `cannot read the Healwatch database ${file}: ${messageOf(err)} (is it a Healwatch database, and readable and writable?)`,
      { cause: err },
    );
  }
}

/** The schema version of an open database. */
export function userVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies, in order, each migration above the database's `user_version`, each in its own immediate
 * transaction together with the version bump, so a crash leaves the database at a whole version and a
 * second process opening the same file waits instead of migrating twice. Returns the versions before and
 * after.
 */
export function migrate(
  db: Db,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  const from = userVersion(db);
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version !== previous + 1)
      throw new StoreError(
        file,
        `migration ${m.version} (${m.name}) is out of order: expected ${previous + 1}`,
      );
    previous = m.version;
    if (m.version <= userVersion(db)) continue;
    const step = db.transaction(() => {
      // Another process may have applied it while this one waited for the lock.
      if (userVersion(db) >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      step.immediate();
    } catch (err) {
      throw new StoreError(
        file,
        `cannot apply migration ${m.version} (${m.name}) to the Healwatch database ${file}: ${messageOf(err)}`,
        { cause: err },
      );
    }
  }
  return { from, to: userVersion(db) };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
