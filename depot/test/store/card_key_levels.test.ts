// SQLite's card+ATC key levels (migration 6): a version-5 file with counted taps, duplicates
// and taps without PSN or ATC upgrades to keys for exactly the counted taps (truth: the rows
// the old partial unique index covered, read back from the file), keeps refusing their
// card+ATC and accepts new ones; the card lookups that used the pan_token index search the
// levels (truth: SQLite's own EXPLAIN QUERY PLAN), and the key function matches its definition.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pendingOfCardSql } from '../../src/acquirer/settlement_plan.js';
import { SQLITE_COUNTED_OF_CARD } from '../../src/ingest/tap_insert.js';
import {
  CARD_KEY_LEVELS,
  cardHashFnv,
  cardKeyFunction,
  cardKeysMerge,
} from '../../src/store/card_key_levels.js';
import type { DepotDb } from '../../src/store/depot_db.js';
import { DEPOT_MIGRATIONS, depotMigrate } from '../../src/store/depot_migrations.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { openSqliteDepotDb } from '../../src/store/sqlite_db.js';

const NOW_MS = 1_790_000_000_000;
const temp = mkdtempSync(join(tmpdir(), 'shuaka-card-keys-'));

afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
});

const INSERT_TAP = `INSERT INTO taps (terminal_id, seq, type, time_wall_ms, pan_token, psn, atc,
  record_json, state, duplicate_of, received_at_ms)
  VALUES ($1, $2, $3, $4, $5, $6, $7, '{}', $8, $9, $4) ON CONFLICT DO NOTHING RETURNING id`;

type TapValues = [string, number, string, number, string | null, string | null, number | null,
  string, number | null];

/** Taps of a version-5 depot: counted, a duplicate, a torn tap, no PSN, no ATC. */
function v5Taps(): TapValues[] {
  const taps: TapValues[] = [];
  for (let i = 0; i < 40; i += 1)
    taps.push(['T1', i + 1, 'clearing', NOW_MS, `tok${i % 7}`, '01', 100 + i, 'new', null]);
  taps.push(['T2', 1, 'clearing', NOW_MS, 'tok0', '01', 100, 'duplicate', 1]);
  taps.push(['T2', 2, 'torn', NOW_MS, 'tok1', '01', 101, 'new', null]);
  taps.push(['T2', 3, 'clearing', NOW_MS, 'tok2', null, 102, 'new', null]);
  taps.push(['T2', 4, 'clearing', NOW_MS, 'tok3', '01', null, 'new', null]);
  return taps;
}

async function levelIds(db: DepotDb): Promise<number[][]> {
  const levels: number[][] = [];
  for (const level of CARD_KEY_LEVELS) {
    const rows = await db.query(`SELECT key, tap_id FROM ${level} ORDER BY tap_id`);
    levels.push(rows.map((r) => Number(r['tap_id'])));
  }
  return levels;
}

async function plan(db: DepotDb, sql: string, params: readonly string[]): Promise<string> {
  const rows = await db.query(`EXPLAIN QUERY PLAN ${sql}`, params);
  return rows.map((r) => String(r['detail'])).join('\n');
}

describe('SQLite card+ATC key levels', () => {
  it('upgradeFromVersion5_keysExactlyTheCountedTaps_andKeepsRefusingTheirCardAtc', async () => {
    const path = join(temp, 'v5.sqlite');
    const old = await openSqliteDepotDb(path);
    await depotMigrate(old, NOW_MS, DEPOT_MIGRATIONS.slice(0, 5));
    for (const tap of v5Taps()) await old.query(INSERT_TAP, tap);
    await old.close();
    const db = await openDepotDb(path, NOW_MS);
    try {
      const counted = await db.query(`SELECT id, pan_token, psn, atc FROM taps
        WHERE type = 'clearing' AND duplicate_of IS NULL AND psn IS NOT NULL
        AND atc IS NOT NULL ORDER BY id`);
      expect(counted).toHaveLength(40);
      expect(await levelIds(db)).toEqual([[], [], counted.map((r) => Number(r['id']))]);
      const keys = await db.query(`SELECT k.key, t.pan_token, t.psn, t.atc FROM
        ${CARD_KEY_LEVELS[2] ?? ''} k JOIN taps t ON t.id = k.tap_id`);
      const keyOf = cardKeyFunction(cardHashFnv);
      for (const r of keys) expect(r['key']).toBe(keyOf(r['pan_token'], r['psn'], r['atc']));
      const indexes = await db.query("SELECT name FROM sqlite_master WHERE type = 'index'");
      expect(indexes.map((r) => r['name'])).not.toContain('taps_card_atc');
      // An old card+ATC sent again by another terminal is refused; a new ATC is counted.
      expect(await db.query(INSERT_TAP, ['T3', 1, 'clearing', NOW_MS, 'tok0', '01', 100,
        'new', null])).toEqual([]);
      const fresh = await db.query(INSERT_TAP, ['T3', 2, 'clearing', NOW_MS, 'tok0', '01', 999,
        'new', null]);
      expect(fresh).toHaveLength(1);
      expect((await levelIds(db))[0]).toEqual([Number(fresh[0]?.['id'])]);
      // Taps the old index did not cover stay uncovered: no PSN or no ATC never collide.
      expect(await db.query(INSERT_TAP, ['T3', 3, 'clearing', NOW_MS, 'tok2', null, 102,
        'new', null])).toHaveLength(1);
    } finally {
      await db.close();
    }
  });

  it('merge_movesOnlyAFullLevel_inKeyOrder_andLookupsStillFindEveryTap', async () => {
    const db = await openDepotDb(join(temp, 'merge.sqlite'), NOW_MS);
    try {
      for (let i = 0; i < 30; i += 1)
        await db.query(INSERT_TAP, ['T1', i + 1, 'clearing', NOW_MS, `tok${i % 5}`, '02', i,
          'new', null]);
      expect(await db.transaction((tx) => cardKeysMerge(tx, [40, 100]))).toBe(0);
      expect((await levelIds(db)).map((l) => l.length)).toEqual([30, 0, 0]);
      expect(await db.transaction((tx) => cardKeysMerge(tx, [10, 20]))).toBe(2);
      expect((await levelIds(db)).map((l) => l.length)).toEqual([0, 0, 30]);
      const found = await db.query(SQLITE_COUNTED_OF_CARD, ['tok3', '02']);
      expect(found.map((r) => Number(r['atc'])).sort((a, b) => a - b)).toEqual([3, 8, 13, 18,
        23, 28]);
    } finally {
      await db.close();
    }
  });

  it('cardLookups_searchTheLevels_neverScanTapsOrMessages', async () => {
    const db = await openDepotDb(join(temp, 'plan.sqlite'), NOW_MS);
    try {
      const lookups = [
        await plan(db, SQLITE_COUNTED_OF_CARD, ['tok', '01']),
        await plan(db, pendingOfCardSql('sqlite'), ['0100', 'tok', '01']),
      ];
      for (const text of lookups) {
        expect(text).not.toMatch(/SCAN (taps|t|m|acquirer_messages)\b/);
        for (const level of CARD_KEY_LEVELS)
          expect(text).toContain(`SEARCH ${level} USING PRIMARY KEY (key>? AND key<?)`);
      }
    } finally {
      await db.close();
    }
  });

  it('handedInCardKey_isCheckedAgainstTheFunction_aWrongOneAbortsAndStoresNothing', async () => {
    const db = await openDepotDb(join(temp, 'handed.sqlite'), NOW_MS);
    try {
      const insert = INSERT_TAP.replace('received_at_ms)', 'received_at_ms, card_key)')
        .replace('$9, $4)', '$9, $4, $10)');
      const keyOf = cardKeyFunction(cardHashFnv);
      const tap = (seq: number, atc: number, key: number | null): (string | number | null)[] =>
        ['T1', seq, 'clearing', NOW_MS, 'tok', '01', atc, 'new', null, key];
      expect(await db.query(insert, tap(1, 5, keyOf('tok', '01', 5)))).toHaveLength(1);
      // Without a key the function keys the row: the same card+ATC is refused either way.
      expect(await db.query(insert, tap(2, 5, null))).toHaveLength(0);
      expect(await db.query(insert, tap(3, 6, null))).toHaveLength(1);
      expect(await db.query(insert, tap(4, 6, keyOf('tok', '01', 6)))).toHaveLength(0);
      // A key of another ATC (a program's bug) would look in the wrong place: refused.
      await expect(db.query(insert, tap(5, 7, keyOf('tok', '01', 8))))
        .rejects.toThrow(/taps.card_key is not depot_card_key/);
      const rows = await db.query('SELECT seq FROM taps ORDER BY seq');
      expect(rows.map((r) => r['seq'])).toEqual([1, 3]);
      expect((await levelIds(db)).flat()).toHaveLength(2);
    } finally {
      await db.close();
    }
  });

  it('cardKeyFunction_isHashTimes65536PlusAtc_andNullWhenAPartIsMissing', () => {
    const keyOf = cardKeyFunction(() => 3);
    expect(keyOf('a', '01', 5)).toBe(3 * 65_536 + 5);
    expect(keyOf('a', '01', 65_536 + 5)).toBe(3 * 65_536 + 5);
    expect(keyOf('a', null, 5)).toBeNull();
    expect(keyOf('a', '01', null)).toBeNull();
    // The last card's hash is reused only for the same token and PSN.
    const byPsn = cardKeyFunction((token, psn) => token.length * 10 + Number(psn));
    expect([byPsn('ab', '01', 1), byPsn('ab', '02', 1), byPsn('abc', '02', 1),
      byPsn('abc', '02', 2)]).toEqual([21, 22, 32, 32].map((h, i) => h * 65_536 + (i < 3
      ? 1 : 2)));
    const full = cardKeyFunction(cardHashFnv)('tok', '01', 65_535);
    expect(Number.isSafeInteger(full)).toBe(true);
    expect(cardKeyFunction(() => -(2 ** 40))('t', '01', 0)).toBeGreaterThanOrEqual(0);
  });
});
