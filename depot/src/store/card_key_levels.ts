// SQLite's card+ATC dedupe index in three levels (migration 6). A unique index on (pan_token,
// psn, atc) takes every tap at a random leaf of a large B-tree: at 10^6 taps about one 4 KiB
// page per tap is written to the WAL at commit and again by the checkpoint. Here each counted
// tap gets an integer card key (a hash of token + PSN, times 2^16, plus the ATC) in a small
// recent level (l0) whose few pages take a whole batch; l0 is merged in key order into l1 when
// it holds more than 2^15 keys, l1 into l2 past 2^18, so a merge writes each page of the
// larger level once for many taps and its cost does not grow with the table until l2.
//
// Uniqueness stays in the schema: a BEFORE INSERT trigger looks the key up in every level and
// compares the taps row found (pan_token, psn, atc), so a hash collision never drops a real
// tap, and skips the row (RAISE(IGNORE): the row is not inserted, the statement goes on, as
// ON CONFLICT DO NOTHING did); an AFTER INSERT trigger adds the key to l0. SQLite has one
// writer per file (the depot's BEGIN IMMEDIATE), so the check and the insert cannot race even
// with several depot processes on one file. PostgreSQL keeps its unique index (several depot
// processes share one server; its ingest is not limited by the index).
//
// Every connection that writes taps must define depot_card_key (sqlite_db.ts does at open):
// another program's INSERT fails with "no such function" instead of bypassing the dedupe.

import type { DepotDb } from './depot_db.js';

/** A card's (PAN token, PSN) hash: an integer in 0 .. 2^37 - 1. */
export type CardHash = (panToken: string, psn: string) => number;

/** Bits of the ATC in a card key (EMV Book 3, Annex A: ATC, tag 9F36, is 2 bytes). */
const ATC_BITS = 16;
const ATC_SPAN = 2 ** ATC_BITS;
/** Bits of the card hash: 37 + 16 = 53, every key is a safe JavaScript integer. */
const CARD_HASH_SPAN = 2 ** 37;

/** The levels, smallest (newest) first. */
export const CARD_KEY_LEVELS: readonly string[] = ['tap_card_keys_l0', 'tap_card_keys_l1',
  'tap_card_keys_l2'];
/**
 * Keys a level holds before it is merged into the next (l2 has no bound). l0 at 2^15 keys is
 * about 130 pages, so a batch of 10^3 taps dirties about a hundred pages instead of 10^3.
 */
export const CARD_KEY_LEVEL_CAPS: readonly number[] = [2 ** 15, 2 ** 18];

function fnv1a(text: string, basis: number): number {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x0100_0193) >>> 0;
  }
  return hash;
}

/** The default card hash: FNV-1a 32 of token + PSN, and 5 bits of a second FNV-1a. */
export const cardHashFnv: CardHash = (panToken, psn) => {
  const text = `${panToken}\u0000${psn}`;
  return fnv1a(text, 0x811c_9dc5) * 32 + (fnv1a(text, 0x5bd1_e995) & 31);
};

/**
 * The SQL function depot_card_key(pan_token, psn, atc) over `hash`: NULL when any argument is
 * NULL (such a tap is not deduped, as NULLs were distinct in the unique index), else
 * hash * 2^16 + (atc mod 2^16). A hash outside 0 .. 2^37 - 1 is reduced into it.
 */
export function cardKeyFunction(hash: CardHash):
  (panToken: unknown, psn: unknown, atc: unknown) => number | null {
  // The last card's hash is kept: consecutive taps of one card (and before migration 7, the
  // triggers' four calls for one row) hash it once.
  let last = { token: '', psn: '', card: -1 };
  return (panToken, psn, atc) => {
    if (panToken === null || psn === null || atc === null) return null;
    const token = String(panToken);
    const psnText = String(psn);
    if (last.card < 0 || last.token !== token || last.psn !== psnText)
      last = { token, psn: psnText,
        card: Math.abs(Math.trunc(hash(token, psnText))) % CARD_HASH_SPAN };
    const card = last.card;
    const low = Number(atc) % ATC_SPAN;
    return card * ATC_SPAN + (low < 0 ? low + ATC_SPAN : low);
  };
}

/** The columns a counted tap needs to be keyed (the old partial unique index's rows). */
const COUNTED = (row: string): string => `${row}.type = 'clearing'
  AND ${row}.duplicate_of IS NULL AND ${row}.pan_token IS NOT NULL AND ${row}.psn IS NOT NULL
  AND ${row}.atc IS NOT NULL`;

/** Whether `level` holds a counted tap of NEW's card+ATC, its key given by `key`. */
const heldBy = (key: string) => (level: string): string => `EXISTS (SELECT 1 FROM ${level} k
  JOIN taps t ON t.id = k.tap_id
  WHERE k.key = ${key}
  AND t.pan_token = NEW.pan_token AND t.psn = NEW.psn AND t.atc = NEW.atc)`;
const NEW_KEY_CALL = 'depot_card_key(NEW.pan_token, NEW.psn, NEW.atc)';

/**
 * The two triggers over NEW's card key `key` (SQL): BEFORE INSERT, `check` (statements, may
 * be empty) then skip a counted card+ATC; AFTER INSERT, file the key in l0.
 */
function keyTriggers(key: string, check: string): string[] {
  return [`CREATE TRIGGER taps_card_atc_once BEFORE INSERT ON taps WHEN ${COUNTED('NEW')}
  BEGIN${check}
    SELECT RAISE(IGNORE) WHERE ${CARD_KEY_LEVELS.map(heldBy(key)).join(' OR ')};
  END`,
  `CREATE TRIGGER taps_card_atc_key AFTER INSERT ON taps WHEN ${COUNTED('NEW')}
  BEGIN
    INSERT INTO ${CARD_KEY_LEVELS[0] ?? ''} (key, tap_id) VALUES (${key}, NEW.id);
  END`];
}

/** Migration 6 on SQLite: the levels, filled from the counted taps, replace taps_card_atc. */
export const CARD_KEYS_MIGRATION_STATEMENTS: readonly string[] = [
  ...CARD_KEY_LEVELS.map((level) => `CREATE TABLE ${level} (
    key INTEGER NOT NULL,
    tap_id INTEGER NOT NULL,
    PRIMARY KEY (key, tap_id)) WITHOUT ROWID`),
  `INSERT INTO ${CARD_KEY_LEVELS[2] ?? ''} (key, tap_id)
    SELECT depot_card_key(pan_token, psn, atc), id FROM taps WHERE ${COUNTED('taps')}
    ORDER BY 1, 2`,
  'DROP INDEX taps_card_atc',
  ...keyTriggers(NEW_KEY_CALL, ''),
];

/**
 * Migration 7 on SQLite: the depot hands each tap's card key in (taps.card_key, computed by
 * cardKeyFunction), and the triggers call depot_card_key once per counted tap, to check it,
 * instead of four times (a call from SQLite into JavaScript converts its three arguments
 * anew: about a quarter of a stored tap's time at 2x10^5). A wrong key aborts the INSERT; a
 * row without one (another program, older taps) is keyed by the function as before, so
 * uniqueness still holds against any program.
 */
export const CARD_KEY_COLUMN_MIGRATION_STATEMENTS: readonly string[] = [
  'ALTER TABLE taps ADD COLUMN card_key INTEGER',
  'DROP TRIGGER taps_card_atc_once',
  'DROP TRIGGER taps_card_atc_key',
  ...keyTriggers(`coalesce(NEW.card_key, ${NEW_KEY_CALL})`, `
    SELECT RAISE(ABORT, 'taps.card_key is not depot_card_key(pan_token, psn, atc)')
      WHERE NEW.card_key IS NOT NULL AND NEW.card_key IS NOT ${NEW_KEY_CALL};`),
];

/**
 * A subquery (SQLite) of the ids of counted taps that may be of the card whose PAN token and
 * PSN are the placeholders `token` and `psn`: every key of the card's range in every level.
 * A hash collision can add another card's taps: the caller compares pan_token and psn.
 */
export function cardTapIdsSql(token: string, psn: string): string {
  return CARD_KEY_LEVELS.map((level) => `SELECT tap_id FROM ${level} WHERE key
    BETWEEN depot_card_key(${token}, ${psn}, 0) AND depot_card_key(${token}, ${psn}, ${
    ATC_SPAN - 1})`).join(' UNION ALL ');
}

/**
 * Merges each level holding more than its cap into the next, in key order, inside the
 * caller's write transaction (a crash leaves the levels as they were before it). Resolves
 * with the number of levels merged. Rejects with DepotStoreError when the database fails.
 */
export async function cardKeysMerge(tx: DepotDb,
  caps: readonly number[] = CARD_KEY_LEVEL_CAPS): Promise<number> {
  let merged = 0;
  for (let level = 0; level + 1 < CARD_KEY_LEVELS.length; level += 1) {
    const from = CARD_KEY_LEVELS[level] ?? '';
    const into = CARD_KEY_LEVELS[level + 1] ?? '';
    const held = Number((await tx.query(`SELECT count(*) AS n FROM ${from}`))[0]?.['n'] ?? 0);
    if (held <= (caps[level] ?? Infinity)) break;
    await tx.run(`INSERT INTO ${into} (key, tap_id) SELECT key, tap_id FROM ${from}
      ORDER BY key, tap_id`);
    await tx.run(`DELETE FROM ${from}`);
    merged += 1;
  }
  return merged;
}
