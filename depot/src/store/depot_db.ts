// The one database interface of the back office: SQLite (embedded default) and PostgreSQL
// implement it, so ingest, settlement, publication and reports are written once.

/** Which engine is behind a DepotDb (SQL differs only in a few DDL words). */
export type DepotDialect = 'sqlite' | 'postgres';

/** A value bound to a `$1`, `$2`, ... placeholder. Integers beyond 2^53 are not used. */
export type DepotValue = string | number | null;

/**
 * A bound parameter: a value, or (PostgreSQL only) an array of values, bound as one array
 * parameter (`unnest($1::text[])`, `= ANY($1)`): a whole batch in one statement. SQLite
 * refuses arrays with DepotStoreError.
 */
export type DepotParam = DepotValue | readonly DepotValue[];

/** A row as returned by a query: column name to value (BIGINT columns come back as numbers). */
export type DepotRow = Readonly<Record<string, DepotValue>>;

/**
 * A connection (or pool) to the depot's database. SQL uses PostgreSQL's numbered placeholders
 * (`$1`); the SQLite side rewrites them. Every method rejects with DepotStoreError when the
 * database is unreachable or refuses a statement, so callers can answer 503 and lose nothing.
 */
export interface DepotDb {
  readonly dialect: DepotDialect;
  /** Rows of a SELECT (or of a statement with RETURNING). */
  query(sql: string, params?: readonly DepotParam[]): Promise<readonly DepotRow[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly DepotParam[]): Promise<number>;
  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled
   * back when it rejects. Nested calls are not supported.
   */
  transaction<T>(work: (tx: DepotDb) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL transactions only (SQLite has no COPY and leaves it out): runs `copySql`, a
   * `COPY table (columns) FROM STDIN`, with `rows` as its data, values in the columns' order.
   * Resolves with the number of rows copied.
   */
  copyIn?(copySql: string, rows: readonly (readonly DepotValue[])[]): Promise<number>;
  /**
   * SQLite only: the card key (card_key_levels.ts) of a tap under this connection's card
   * hash, the value taps.card_key must hold; null when a part is null.
   */
  cardKey?(panToken: DepotValue, psn: DepotValue, atc: DepotValue): number | null;
  close(): Promise<void>;
}

/** The database failed (down, full, constraint the caller did not expect). */
export class DepotStoreError extends Error {
  /**
   * A concurrent transaction won a race (PostgreSQL: a unique key it committed first, a
   * deadlock, a serialization failure): the same work run again sees its result and succeeds.
   */
  readonly race: boolean;

  constructor(message: string, options?: { cause?: unknown; race?: boolean }) {
    super(message, options);
    this.name = 'DepotStoreError';
    this.race = options?.race ?? false;
  }
}
