// The card lookups of settlement planning reach a card's taps through an index on PostgreSQL:
// the only index on the card is taps_card_atc, partial (counted clearing taps), which the
// planner uses only for a query that repeats its predicate. pendingOfCardSql did not: every
// card's lookup scanned the taps (353 ms a card at 3x10^5 taps; settle at 141 messages/s).
// The truth: PostgreSQL's own plan, with sequential scans priced out of it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { ACQUIRER_MTI } from '../../src/acquirer/acquirer_messages.js';
import { pendingOfCardSql } from '../../src/acquirer/settlement_plan.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { depotEngines, postgresRequired } from '../../../test_support/postgres_scratch.js';

const dir = mkdtempSync(join(tmpdir(), 'shuaka-card-index-'));
const engines = depotEngines(dir);
afterAll(() => {
  engines.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(postgresRequired())('settlement card lookups on PostgreSQL', () => {
  it('pendingOfCard_usesTheCardIndex_notAScanOfTheTaps', async () => {
    const engine = engines.list.find((e) => e.name === 'postgres');
    if (engine === undefined) throw new Error('PostgreSQL engine missing');
    const db = await openDepotDb(await engine.target('card_index'), Date.now());
    try {
      const plan = await db.transaction(async (tx) => {
        await tx.run('SET LOCAL enable_seqscan = off');
        const rows = await tx.query(`EXPLAIN ${pendingOfCardSql('postgres')}`,
          [ACQUIRER_MTI.authorisation, 'T0KEN', '00']);
        return rows.map((r) => String(r['QUERY PLAN'])).join('\n');
      });
      expect(plan).toContain('taps_card_atc');
    } finally {
      await db.close();
    }
  }, 60_000);
});
