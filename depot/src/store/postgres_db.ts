// The fleet-size depot database: PostgreSQL through pg's Pool, one client per transaction.

import pg from 'pg';
import type { DepotDb, DepotParam, DepotRow, DepotValue } from './depot_db.js';
import { DepotStoreError } from './depot_db.js';
import { copyRows } from './postgres_copy.js';

/** A down server must answer 503 promptly, not hang the validator's upload. */
const PG_CONNECT_TIMEOUT_MS = 5_000;
const PG_POOL_SIZE_MAX = 8;
/** OIDs of int8 (BIGINT, COUNT) and numeric (SUM of BIGINT): both read as numbers. */
const PG_OID_INT8 = 20;
const PG_OID_NUMERIC = 1700;

/** Reads BIGINT and NUMERIC as numbers: the depot's values stay below 2^53 (DepotValue). */
function depotTypeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === PG_OID_INT8 || oid === PG_OID_NUMERIC) return (value) => Number(value);
  const text = format === 'binary' ? 'binary' : 'text';
  return pg.types.getTypeParser(oid, text) as (value: string) => unknown;
}

/**
 * Opens a pool to `url` (`postgres://user@host:port/db`) and proves it with one query.
 * Rejects with DepotStoreError when the server is unreachable or refuses the login.
 */
export async function openPostgresDepotDb(url: string): Promise<DepotDb> {
  const pool = new pg.Pool({
    connectionString: url,
    max: PG_POOL_SIZE_MAX,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    types: { getTypeParser: depotTypeParser } as pg.CustomTypesConfig,
  });
  // An idle client whose server went away emits 'error'; the next call reports it instead.
  pool.on('error', () => undefined);
  const db = new PostgresDepotDb(pool);
  try {
    await db.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return db;
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0)
    return error.errors.map(describe).join('; ');
  return error instanceof Error ? error.message || error.name : String(error);
}

/**
 * SQLSTATEs of a lost race (PostgreSQL docs, Appendix A): unique_violation (a concurrent
 * transaction committed the key first), serialization_failure, deadlock_detected.
 */
const PG_RACE_STATES: ReadonlySet<string> = new Set(['23505', '40001', '40P01']);

function storeError(sql: string, error: unknown): DepotStoreError {
  if (error instanceof DepotStoreError) return error;
  const head = sql.trim().split(/\s+/).slice(0, 3).join(' ');
  const state = error instanceof Error && 'code' in error ? String(error.code) : '';
  return new DepotStoreError(`PostgreSQL refused "${head} ...": ${describe(error)}`, {
    cause: error, race: PG_RACE_STATES.has(state),
  });
}

async function copyInto(client: Pick<pg.PoolClient, 'query'>, copySql: string,
  rows: readonly (readonly DepotValue[])[]): Promise<number> {
  try {
    return await copyRows(client, copySql, rows);
  } catch (error) {
    throw storeError(copySql, error);
  }
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

async function queryRows(
  target: Queryable,
  sql: string,
  params: readonly DepotParam[],
): Promise<pg.QueryResult<DepotRow>> {
  try {
    return await target.query<DepotRow>(sql, params as DepotParam[]);
  } catch (error) {
    throw storeError(sql, error);
  }
}

class PostgresDepotDb implements DepotDb {
  readonly dialect = 'postgres' as const;
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  async query(sql: string, params: readonly DepotParam[] = []): Promise<readonly DepotRow[]> {
    return (await queryRows(this.pool, sql, params)).rows;
  }

  async run(sql: string, params: readonly DepotParam[] = []): Promise<number> {
    return (await queryRows(this.pool, sql, params)).rowCount ?? 0;
  }

  async transaction<T>(work: (tx: DepotDb) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storeError('CONNECT', error);
    }
    // A server that goes (a restart, a failover) while the client is checked out makes it
    // emit 'error': with no listener that ended the process (\`depot ingest\`, \`depot settle\`).
    // The query under way, or the next, rejects with it instead: a DepotStoreError.
    const lost = (): void => undefined;
    client.on('error', lost);
    const tx = new PostgresTransaction(client);
    let broken: unknown = undefined;
    try {
      await queryRows(client, 'BEGIN', []);
      const result = await work(tx);
      await queryRows(client, 'COMMIT', []);
      return result;
    } catch (error) {
      broken = await client.query('ROLLBACK').then(() => undefined, (e: unknown) => e);
      throw error;
    } finally {
      tx.finish();
      client.off('error', lost);
      // A client whose ROLLBACK failed is destroyed, never handed to the next caller.
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

class PostgresTransaction implements DepotDb {
  readonly dialect = 'postgres' as const;
  private open = true;

  constructor(private readonly client: pg.PoolClient) {}

  finish(): void {
    this.open = false;
  }

  async query(sql: string, params: readonly DepotParam[] = []): Promise<readonly DepotRow[]> {
    this.assertOpen();
    return (await queryRows(this.client, sql, params)).rows;
  }

  async run(sql: string, params: readonly DepotParam[] = []): Promise<number> {
    this.assertOpen();
    return (await queryRows(this.client, sql, params)).rowCount ?? 0;
  }

  copyIn(copySql: string, rows: readonly (readonly DepotValue[])[]): Promise<number> {
    this.assertOpen();
    return copyInto(this.client, copySql, rows);
  }

  transaction<T>(): Promise<T> {
    return Promise.reject(new DepotStoreError('nested depot transactions are not supported'));
  }

  close(): Promise<void> {
    return Promise.reject(new DepotStoreError('close the database, not its transaction'));
  }

  private assertOpen(): void {
    if (!this.open) throw new DepotStoreError('transaction already ended');
  }
}
