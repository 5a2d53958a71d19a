// One open debt per card (migration 2), on SQLite and on a real PostgreSQL: two declines of
// one card applied at once add up in one debt with one deny entry; repayment closes it; a
// database that already holds two open debts of a card is merged by the migration.
//
// The truth: the rows the engine itself committed, read back over a fresh connection.

import { afterAll, describe, expect, it } from 'vitest';

import { debtAdd, type DebtAddition } from '../../src/acquirer/settlement_send.js';
import { debtRepay } from '../../src/acquirer/settlement_debts.js';
import type { DepotDb } from '../../src/store/depot_db.js';
import { DEPOT_MIGRATIONS, depotMigrate } from '../../src/store/depot_migrations.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { openPostgresDepotDb } from '../../src/store/postgres_db.js';
import { openSqliteDepotDb } from '../../src/store/sqlite_db.js';
import { ENGINES, enginesDispose } from './settlement_fixture.js';

const NOW_MS = 1_790_000_000_000;
const TOKEN = 'ab'.repeat(32);

afterAll(() => enginesDispose());

const decline = (tapId: number, amountMinor: number): DebtAddition =>
  ({ panToken: TOKEN, psn: '01', amountMinor, tapId, reason: 'issuer declined 51' });

/** A promise and its resolver: the starting gun both transactions wait for. */
function gate(): { readonly opened: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  return { opened, open };
}

async function openDebts(db: DepotDb): Promise<readonly Record<string, unknown>[]> {
  return db.query(`SELECT d.amount_minor, d.tap_id, COUNT(e.debt_id) AS entries FROM debts d
    LEFT JOIN deny_entries e ON e.debt_id = d.id AND e.removed_at_ms IS NULL
    WHERE d.state = 'open' GROUP BY d.id, d.amount_minor, d.tap_id`);
}

describe.each(ENGINES)('one open debt per card on $name', (engine) => {
  it('twoDeclinesOfOneCardAtOnce_addUpInOneDebt_andRepaymentClosesIt', async () => {
    const target = await engine.fresh('debt_race');
    // Two depot connections (PostgreSQL: two pools, as two depot processes would be).
    const a = await openDepotDb(target, NOW_MS);
    const b = engine.name === 'postgres' ? await openDepotDb(target, NOW_MS) : a;
    try {
      const both = gate();
      let begun = 0;
      const race = async (db: DepotDb, tapId: number, amount: number): Promise<number> =>
        db.transaction(async (tx) => {
          await tx.query('SELECT COUNT(*) AS n FROM debts');
          begun += 1;
          if (begun === 2) both.open();
          // PostgreSQL: both transactions are open before either inserts. SQLite serialises
          // transactions (BEGIN IMMEDIATE), so the second starts once the first committed.
          if (engine.name === 'postgres') await both.opened;
          return debtAdd(tx, decline(tapId, amount), NOW_MS);
        });
      const ids = await Promise.all([race(a, 11, 300), race(b, 12, 200)]);
      expect(begun).toBe(2);
      expect(ids[0]).toBe(ids[1]);
      const check = await openDepotDb(target, NOW_MS);
      try {
        const rows = await openDebts(check);
        expect(rows).toHaveLength(1);
        expect(Number(rows[0]?.['amount_minor'])).toBe(500);
        expect(Number(rows[0]?.['entries'])).toBe(1);
        expect([11, 12]).toContain(Number(rows[0]?.['tap_id']));
        expect(await debtRepay(check, TOKEN, null, NOW_MS + 1)).toBe(1);
        expect(await openDebts(check)).toEqual([]);
        const entries = await check.query('SELECT removed_at_ms FROM deny_entries');
        expect(entries).toEqual([{ removed_at_ms: NOW_MS + 1 }]);
        // After repayment a new decline opens a new debt with its own deny entry.
        await debtAdd(check, decline(13, 100), NOW_MS + 2);
        expect((await openDebts(check)).map((r) => Number(r['amount_minor']))).toEqual([100]);
      } finally {
        await check.close();
      }
    } finally {
      await a.close();
      if (b !== a) await b.close();
    }
  }, 120_000);

  it('migration2_mergesTheOpenDebtsOfACard_andThenRefusesASecond', async () => {
    const target = await engine.fresh('debt_merge');
    const db = engine.name === 'postgres' ? await openPostgresDepotDb(target)
      : await openSqliteDepotDb(target);
    try {
      await depotMigrate(db, NOW_MS, DEPOT_MIGRATIONS.slice(0, 1));
      for (const [tap, amount, psn] of [[1, 300, '01'], [2, 200, '01'], [3, 50, '02']] as const) {
        const id = (await db.query(`INSERT INTO debts (pan_token, psn, amount_minor, tap_id,
          state, opened_at_ms) VALUES ($1, $2, $3, $4, 'open', $5) RETURNING id`,
        [TOKEN, psn, amount, tap, NOW_MS]))[0]?.['id'] ?? 0;
        await db.run(`INSERT INTO deny_entries (pan_token, psn, reason, debt_id, added_at_ms)
          VALUES ($1, $2, 'issuer declined 51', $3, $4)`, [TOKEN, psn, id, NOW_MS]);
        await db.run(`INSERT INTO acquirer_messages (tap_id, aggregate_key, mti, amount_minor,
          state) VALUES ($1, $2, '0200', $3, 'pending')`, [tap, `debt:${String(id)}`, amount]);
      }
      expect(await depotMigrate(db, NOW_MS + 1))
        .toEqual(DEPOT_MIGRATIONS.slice(1).map((m) => m.version));
      const debts = await db.query(`SELECT id, psn, amount_minor, tap_id FROM debts
        WHERE state = 'open' ORDER BY psn`);
      expect(debts.map((d) => [d['psn'], d['amount_minor'], d['tap_id']]))
        .toEqual([['01', 500, 1], ['02', 50, 3]]);
      const keeper = Number(debts[0]?.['id']);
      const entries = await db.query(
        "SELECT debt_id FROM deny_entries WHERE psn = '01' AND removed_at_ms IS NULL");
      expect(entries.map((e) => Number(e['debt_id']))).toEqual([keeper, keeper]);
      const pending = await db.query(
        "SELECT aggregate_key FROM acquirer_messages WHERE state = 'pending' ORDER BY id");
      expect(pending.map((m) => m['aggregate_key']))
        .toEqual([`debt:${keeper}`, `debt:${String(debts[1]?.['id'])}`]);
      await expect(db.run(`INSERT INTO debts (pan_token, psn, amount_minor, tap_id, state,
        opened_at_ms) VALUES ($1, '01', 1, 9, 'open', $2)`, [TOKEN, NOW_MS]))
        .rejects.toThrow(/unique|duplicate/i);
      expect(await debtRepay(db, TOKEN, '01', NOW_MS + 2)).toBe(1);
      expect(await db.query(
        "SELECT COUNT(*) AS n FROM deny_entries WHERE psn = '01' AND removed_at_ms IS NULL"))
        .toEqual([{ n: 0 }]);
    } finally {
      await db.close();
    }
  }, 120_000);
});
