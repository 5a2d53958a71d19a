// The depot's PostgreSQL going away in the middle of a transaction (a restart, a failover):
// the transaction rejects with DepotStoreError (the CLI's "database" exit 10), whether the
// server went while a query ran or while the transaction sat between two queries. It used
// to crash the process: the checked-out client emitted 'error' with no listener (`depot
// ingest` and `depot settle` died with "Unhandled 'error' event", exit 1, a stack trace).
// The truth: a real server, stopped (fast shutdown cuts every connection) under the query.

import { afterAll, describe, expect, it } from 'vitest';
import { DepotStoreError } from '../../src/store/depot_db.js';
import { openPostgresDepotDb } from '../../src/store/postgres_db.js';
import type { PostgresScratch } from '../../../test_support/postgres_scratch.js';
import {
  createScratchDatabase,
  postgresRequired,
  startPostgresScratch,
} from '../../../test_support/postgres_scratch.js';

let scratch: PostgresScratch | null = null;

afterAll(() => {
  scratch?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(postgresRequired())('PostgreSQL lost under a depot transaction', () => {
  it('aQueryRunningWhenTheServerStops_rejectsAsAStoreError_noCrash', async () => {
    scratch ??= await startPostgresScratch();
    const db = await openPostgresDepotDb(await createScratchDatabase(scratch, 'lost_running'));
    try {
      const work = db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        await tx.query('SELECT pg_sleep(30)');
      });
      const outcome = work.then(() => null, (error: unknown) => error);
      await sleep(500);
      scratch.halt();
      const error = await outcome;
      expect(error).toBeInstanceOf(DepotStoreError);
      // Once the server is back, the same pool serves again.
      scratch.resume();
      expect(await db.query('SELECT 2 AS n')).toEqual([{ n: 2 }]);
    } finally {
      scratch.resume();
      await db.close().catch(() => undefined);
    }
  }, 60_000);

  it('theServerStoppingBetweenTwoQueries_nextQueryRejectsAsAStoreError_noCrash', async () => {
    scratch ??= await startPostgresScratch();
    const db = await openPostgresDepotDb(await createScratchDatabase(scratch, 'lost_idle'));
    const server = scratch;
    try {
      const error = await db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        server.halt();
        // The client's connection ends while it is checked out and idle.
        await sleep(300);
        await tx.query('SELECT 2');
      }).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(DepotStoreError);
    } finally {
      server.resume();
      await db.close().catch(() => undefined);
    }
  }, 60_000);
});
