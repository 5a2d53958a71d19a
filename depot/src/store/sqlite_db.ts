// The embedded depot database: SQLite through better-sqlite3, WAL journal and synchronous=FULL
// so a committed batch survives a power cut before the validator is told "ack".

import Database from 'better-sqlite3';
import type { DepotDb, DepotParam, DepotRow, DepotValue } from './depot_db.js';
import { DepotStoreError } from './depot_db.js';
import { positionalSql } from './sql_placeholders.js';
import { sqliteCheckpointerStart, type SqliteCheckpointer } from './sqlite_checkpointer.js';
import { cardHashFnv, cardKeyFunction, type CardHash } from './card_key_levels.js';
import { SQLITE_GROUP_MAX, sqliteGroupRun, type GroupConnection, type GroupMember } from
  './sqlite_group_commit.js';

/** How long a writer waits for another process's lock before the store reports busy. */
const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/**
 * WAL pages before a checkpoint (SQLite's default is 1000). A batch of 10^3 taps dirties about
 * that many pages of the card+ATC index (random keys), so the default checkpoints after every
 * batch or two and copies the same index pages again and again; 10^4 pages (40 MiB of WAL at
 * 4 KiB pages) lets a checkpoint copy each page once for many batches. Durability is the WAL's
 * fsync at every commit either way.
 */
const SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000;
/**
 * With a file database the checkpoints run on a worker (sqlite_checkpointer.ts): a PASSIVE
 * round every 50 ms, a RESTART once the WAL holds 2 * 10^4 frames (80 MiB); the committing
 * connection's own checkpoint then waits for 10^5 frames, a bound only if the worker stops.
 */
const CHECKPOINTER_INTERVAL_MS = 50;
const CHECKPOINTER_RESTART_FRAMES = 20_000;
const SQLITE_WAL_AUTOCHECKPOINT_FALLBACK_PAGES = 100_000;
/**
 * Page cache of the connection, KiB (SQLite's default is 2,000 KiB). At 10^6 taps the
 * card+ATC and terminal+seq indexes are about 150 MB and take random keys: with 2 MB nearly
 * every insert reads a leaf page back from the OS and the WAL rewrites it. 256 MiB keeps the
 * indexes' hot pages in the process (the depot's own memory, printed by the ingest bench).
 * Durability is unchanged: a commit still fsyncs the WAL before the ack.
 */
const SQLITE_CACHE_KIB = 262_144;
/** Prepared statements kept per connection (the depot uses a few dozen distinct ones). */
const STATEMENT_CACHE_MAX = 512;

type Statement = Database.Statement<unknown[], unknown>;

interface Prepared {
  readonly statement: Statement;
  readonly order: readonly number[];
}

/** Options of openSqliteDepotDb. */
export interface SqliteDepotOptions {
  /**
   * The card hash of depot_card_key (card_key_levels.ts); tests force collisions with a
   * weak one. Every connection to one file must use the same hash.
   */
  readonly cardHash?: CardHash;
}

/**
 * Opens (creating when absent) the SQLite file at `path` (`:memory:` for a private one).
 * Rejects with DepotStoreError when the file cannot be opened (missing folder, not a
 * database, no permission).
 */
export async function openSqliteDepotDb(path: string, options: SqliteDepotOptions = {}):
  Promise<DepotDb> {
  let db: Database.Database;
  const cardKey = cardKeyFunction(options.cardHash ?? cardHashFnv);
  try {
    db = new Database(path, { fileMustExist: false });
    db.function('depot_card_key', { deterministic: true }, cardKey);
    db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
    db.pragma('foreign_keys = ON');
    // Reading a page proves the file is a database (a text file fails here, not later).
    db.prepare('SELECT count(*) AS n FROM sqlite_master').get();
  } catch (error) {
    throw new DepotStoreError(`cannot open SQLite database: ${describe(error)}`, {
      cause: error,
    });
  }
  const checkpointer = db.memory ? null : checkpointerOf(db.name);
  db.pragma(`wal_autocheckpoint = ${checkpointer === null ? SQLITE_WAL_AUTOCHECKPOINT_PAGES
    : SQLITE_WAL_AUTOCHECKPOINT_FALLBACK_PAGES}`);
  return Promise.resolve(new SqliteDepotDb(db, checkpointer, cardKey));
}

/** The checkpointer of the file at `path`, or null when its worker cannot start. */
function checkpointerOf(path: string): SqliteCheckpointer | null {
  try {
    return sqliteCheckpointerStart({ path, intervalMs: CHECKPOINTER_INTERVAL_MS,
      restartFrames: CHECKPOINTER_RESTART_FRAMES, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS });
  } catch {
    return null;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The parameters in `?` order; arrays are PostgreSQL's alone (DepotParam). */
function bind(order: readonly number[], params: readonly DepotParam[]): DepotValue[] {
  const bound = new Array<DepotValue>(order.length);
  for (let i = 0; i < order.length; i += 1) {
    const value = params[order[i] ?? 0] ?? null;
    if (typeof value === 'object' && value !== null)
      throw new DepotStoreError('SQLite binds no array parameters');
    bound[i] = value;
  }
  return bound;
}

/**
 * One better-sqlite3 connection. Its calls are synchronous, but a transaction's work is
 * async: a queue keeps every other caller out while a transaction (or a group) is open.
 */
class SqliteDepotDb implements DepotDb {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Prepared>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly waiting: GroupMember[] = [];
  private readonly groupConnection: GroupConnection = {
    exec: (sql) => this.execNow(sql),
    inTransaction: () => this.db.inTransaction,
    handle: () => {
      const tx = new SqliteTransaction(this);
      return { tx, finish: () => tx.finish() };
    },
  };

  constructor(private readonly db: Database.Database,
    private readonly checkpointer: SqliteCheckpointer | null,
    readonly cardKey: (panToken: DepotValue, psn: DepotValue, atc: DepotValue) => number | null) {}

  query(sql: string, params: readonly DepotParam[] = []): Promise<readonly DepotRow[]> {
    return this.exclusive(() => this.queryNow(sql, params));
  }

  run(sql: string, params: readonly DepotParam[] = []): Promise<number> {
    return this.exclusive(() => this.runNow(sql, params));
  }

  /**
   * Queues `work`; the transactions queued while an earlier one runs commit together
   * (sqlite_group_commit.ts), each resolving after the shared COMMIT.
   */
  transaction<T>(work: (tx: DepotDb) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.waiting.length === 1) this.groupSchedule();
    });
  }

  /** Runs the waiting transactions after every earlier call (at most SQLITE_GROUP_MAX). */
  private groupSchedule(): void {
    this.exclusive(() => {
      const group = this.waiting.splice(0, SQLITE_GROUP_MAX);
      if (this.waiting.length > 0) this.groupSchedule();
      return sqliteGroupRun(this.groupConnection, group);
    }).catch((error: unknown) => {
      // Only a closed database gets here: the group never started.
      for (const member of this.waiting.splice(0)) member.reject(error);
    });
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      this.statements.clear();
      await this.checkpointer?.stop();
      this.db.close();
    });
  }

  /** Runs `task` after every earlier call finished (failures do not block the queue). */
  private exclusive<T>(task: () => T | Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (this.closed) throw new DepotStoreError('SQLite database is closed');
      return task();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  queryNow(sql: string, params: readonly DepotParam[]): readonly DepotRow[] {
    return this.guard(sql, () => {
      const { statement, order } = this.prepare(sql);
      const bound = bind(order, params);
      if (!statement.reader) {
        statement.run(...bound);
        return [];
      }
      return statement.all(...bound) as DepotRow[];
    });
  }

  runNow(sql: string, params: readonly DepotParam[]): number {
    return this.guard(sql, () => {
      const { statement, order } = this.prepare(sql);
      const bound = bind(order, params);
      if (statement.reader) return statement.all(...bound).length;
      return statement.run(...bound).changes;
    });
  }

  private execNow(sql: string): void {
    this.guard(sql, () => this.db.exec(sql));
  }

  private prepare(sql: string): Prepared {
    const cached = this.statements.get(sql);
    if (cached !== undefined) return cached;
    const positional = positionalSql(sql);
    const prepared = { statement: this.db.prepare(positional.sql), order: positional.order };
    if (this.statements.size >= STATEMENT_CACHE_MAX) this.statements.clear();
    this.statements.set(sql, prepared);
    return prepared;
  }

  private guard<T>(sql: string, task: () => T): T {
    try {
      return task();
    } catch (error) {
      const head = sql.trim().split(/\s+/).slice(0, 3).join(' ');
      throw new DepotStoreError(`SQLite refused "${head} ...": ${describe(error)}`, {
        cause: error,
      });
    }
  }
}

/** The handle a transaction's work sees: same connection, no queue, unusable after the end. */
class SqliteTransaction implements DepotDb {
  readonly dialect = 'sqlite' as const;
  private open = true;

  constructor(private readonly owner: SqliteDepotDb) {}

  finish(): void {
    this.open = false;
  }

  cardKey(panToken: DepotValue, psn: DepotValue, atc: DepotValue): number | null {
    return this.owner.cardKey(panToken, psn, atc);
  }

  query(sql: string, params: readonly DepotParam[] = []): Promise<readonly DepotRow[]> {
    return this.now(() => this.owner.queryNow(sql, params));
  }

  run(sql: string, params: readonly DepotParam[] = []): Promise<number> {
    return this.now(() => this.owner.runNow(sql, params));
  }

  transaction<T>(): Promise<T> {
    return Promise.reject(new DepotStoreError('nested depot transactions are not supported'));
  }

  close(): Promise<void> {
    return Promise.reject(new DepotStoreError('close the database, not its transaction'));
  }

  private now<T>(task: () => T): Promise<T> {
    if (!this.open) return Promise.reject(new DepotStoreError('transaction already ended'));
    try {
      return Promise.resolve(task());
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
