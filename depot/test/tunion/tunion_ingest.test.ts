// T-Union lines end to end at the depot: journal records written by firmware's journal,
// exported, validated as a batch, stored on SQLite in one transaction, counted once per card
// and ATC, and their TACs (computed by the simulator's e-purse module) verified by the depot.
// Block lines (a deny-listed card met) on both engines: stored apart with the facts of their
// journal record, a replay skipped, a replaced journal's other record at their seq refused.

import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { JournalEntry } from '../../../firmware/src/app/journal/journal_records.js';
import type { TunionFinalEntry } from '../../../firmware/src/app/journal/journal_tunion.js';
import {
  tunionBlockedEntry, tunionEntries,
} from '../../../firmware/test/journal_tunion_fixtures.js';
import { depotEngines } from '../../../test_support/postgres_scratch.js';
import type { DepotDb } from '../../src/store/depot_db.js';
import type { TunionBlockedEntry } from '../../../firmware/src/app/journal/journal_tunion.js';
import { BatchError } from '../../src/ingest/batch_error.js';
import { batchStore } from '../../src/ingest/batch_store.js';
import { batchValidate } from '../../src/ingest/batch_validate.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { DEPOT_MIGRATIONS, depotMigrate } from '../../src/store/depot_migrations.js';
import { openPostgresDepotDb } from '../../src/store/postgres_db.js';
import { openSqliteDepotDb } from '../../src/store/sqlite_db.js';
import { panVault } from '../../src/store/pan_vault.js';
import { tunionVerifyAndReport } from '../../src/tunion/tunion_report.js';
import { tunionBlockRows } from '../../src/report/tunion_blocks_section.js';
import { tunionGreyRows } from '../../src/report/tunion_grey_section.js';
import { tunionSectionRows } from '../../src/report/tunion_section.js';
import { exportedLines as exportedText, signedFinal } from './tunion_cli_fixture.js';

const NOW_MS = 1_796_000_000_000;
const MASTER = randomBytes(16);
const temp = mkdtempSync(join(tmpdir(), 'shuaka-tunion-depot-'));
const dbs = depotEngines(temp);
afterAll(() => {
  dbs.stop();
  rmSync(temp, { recursive: true, force: true });
});

/** The final of card `n` with the TAC the card would compute under MASTER. */
function signed(final: TunionFinalEntry): TunionFinalEntry {
  return signedFinal(final, MASTER);
}

/** `entries` exported as `journal export` writes them, each line parsed. */
async function exportedLines(entries: readonly JournalEntry[]): Promise<unknown[]> {
  return (await exportedText(entries)).map((line) => JSON.parse(line) as unknown);
}

function batch(records: unknown[], firstSeq = 1): unknown {
  return { terminalId: 'BUS00001', firstSeq, throughSeq: firstSeq + records.length - 1, records };
}

describe('T-Union lines at the depot', () => {
  it('stores, counts once per card and ATC, and verifies every TAC', async () => {
    const [grey1, final1] = tunionEntries(1, 17, 1);
    const [grey2, final2] = tunionEntries(2, 30, 3);
    const forged = { ...signed(final2), tacHex: '00000000' };
    const [, orphanFinal] = tunionEntries(3, 40, null);
    const [openGrey] = tunionEntries(4, 50, null);
    const lines = await exportedLines([grey1, signed(final1), grey2, forged,
      { ...signed(orphanFinal), card: { ...orphanFinal.card, issuerIdHex: '0000000000000099' } },
      openGrey]);
    const db = await openDepotDb(join(temp, 'a.sqlite'), NOW_MS);
    try {
      await db.run(`INSERT INTO terminals (terminal_id, cert_sha256, route_id, status,
        registered_at_ms) VALUES ('BUS00001', $1, 'B12', 'active', $2)`, ['c'.repeat(64), NOW_MS]);
      const vault = panVault(randomBytes(32));
      const first = await batchStore(db, batchValidate(batch(lines), 'BUS00001'), vault, NOW_MS);
      expect(first).toEqual({ ackThroughSeq: 6, stored: 6, duplicates: 0 });
      const replay = await batchStore(db, batchValidate(batch(lines), 'BUS00001'), vault, NOW_MS);
      expect(replay.stored).toBe(0);
      const again = lines[1] as Record<string, unknown>;
      const copy = await batchStore(db, batchValidate(batch([{ ...again, seq: 7 }], 7),
        'BUS00001'), vault, NOW_MS);
      expect(copy).toEqual({ ackThroughSeq: 7, stored: 0, duplicates: 1 });
      // A replaced journal numbers from 1 again: its T-Union lines are not replays.
      const [grey5, final5] = tunionEntries(5, 60, 1);
      const anew = await exportedLines([grey5, signed(final5)]);
      const conflict = batchStore(db, batchValidate(batch(anew), 'BUS00001'), vault, NOW_MS);
      await expect(conflict).rejects.toMatchObject({ code: 'seq-conflict',
        message: expect.stringContaining('through seq 7') as unknown });
      const held = await db.query('SELECT count(*) AS n FROM tunion_taps');
      expect(Number(held[0]?.['n'])).toBe(7);
      const keys = (issuer: string): Uint8Array | null =>
        (issuer === '01011000FFFFFFFF' ? MASTER : null);
      const report = await tunionVerifyAndReport(db, keys);
      expect(report.byVerdict.valid).toEqual({ count: 1, amountMinor: 300 });
      expect(report.byVerdict.invalid.count).toBe(1);
      expect(report.byVerdict.unknownIssuer.count).toBe(1);
      expect([report.clearing, report.duplicates, report.greyOpen]).toEqual([3, 1, 1]);
    } finally {
      await db.close();
    }
  });

  it('refuses a line outside the journal rules, naming the field', async () => {
    const [grey, final] = tunionEntries(5, 60, 1);
    const lines = (await exportedLines([grey, signed(final)])) as Record<string, unknown>[];
    const bad = (line: Record<string, unknown>): string => {
      try {
        batchValidate(batch([lines[0], line]), 'BUS00001');
      } catch (error) {
        if (error instanceof BatchError) return `${error.code} ${error.message}`;
        throw error;
      }
      return 'accepted';
    };
    const good = lines[1] ?? {};
    expect(bad(good)).toBe('accepted');
    expect(bad({ ...good, tacHex: 'ABC' })).toMatch(/tacHex/);
    // Another terminal's line: 403 terminal-mismatch, as for a clearing line (not 400).
    expect(bad({ ...good, terminalId: 'BUS00002' }))
      .toBe('terminal-mismatch records[1].terminalId: not the certificate\'s terminal');
    expect(bad({ ...good, greySeq: 2 })).toMatch(/greySeq/);
    expect(bad({ ...good, kernelRecordHex: '00' })).toMatch(/kernelRecordHex/);
    expect(bad({ ...good, card: { ...(good['card'] as object), serialDigits: '123' } }))
      .toMatch(/serialDigits/);
    // A validator not upgraded yet sends no mac2Verified; one that does sends true or false.
    expect(good['mac2Verified']).toBe(true);
    const { mac2Verified: _mac2, ...older } = good;
    expect(bad(older)).toBe('accepted');
    expect(bad({ ...good, mac2Verified: false })).toBe('accepted');
    expect(bad({ ...good, mac2Verified: 'yes' })).toMatch(/mac2Verified: expected true or false/);
    expect(bad({ ...lines[0], mac2Verified: true })).toMatch(/mac2Verified: unexpected field/);
    // What the validator writes has no other key, and its date is a day of the calendar.
    expect(bad({ ...good, card: { ...(good['card'] as object), x: 1 } })).toMatch(/card\.x/);
    const purchase = good['purchase'] as Record<string, unknown>;
    for (const digits of ['20261322081500', '20260230081500', '20261122246000']) {
      expect(bad({ ...good, purchase: { ...purchase, dateTimeDigits: digits } }), digits)
        .toMatch(/purchase\.dateTimeDigits: expected a calendar date and time/);
    }
  });
});

/**
 * Block records of four cards as a validator writes them from journal seq `first`: confirmed
 * (pending, then its final), pulled during the command (pending, final), never sent (a final
 * alone), and a power cut after the command (the pending record alone).
 */
function blockEntries(first = 3): TunionBlockedEntry[] {
  return [
    tunionBlockedEntry(7, 'pending', ''),
    tunionBlockedEntry(7, 'blocked', '9000', first),
    tunionBlockedEntry(8, 'pending', ''),
    tunionBlockedEntry(8, 'not-confirmed', '', first + 2),
    tunionBlockedEntry(9, 'not-sent', ''),
    tunionBlockedEntry(10, 'pending', ''),
  ].map((e) => ({ ...e, terminalId: 'BUS00001' }));
}

/** The blocks the report shows of blockEntries(): seq, card, outcome, card_sw. */
const BLOCK_EVENTS = [
  [4, '03105170070000000007', 'blocked', '9000'],
  [6, '03105170070000000008', 'not-confirmed', '-'],
  [7, '03105170070000000009', 'not-sent', '-'],
  // The power went after the command: the pending line alone, not confirmed.
  [8, '03105170070000000010', 'not-confirmed', '-'],
];

async function terminalOn(db: DepotDb): Promise<void> {
  await db.run(`INSERT INTO terminals (terminal_id, cert_sha256, route_id, status,
    registered_at_ms) VALUES ('BUS00001', $1, 'B12', 'active', $2)`, ['c'.repeat(64), NOW_MS]);
}

describe.each(dbs.list)('T-Union block lines at the depot on $name', (engine) => {
  it('stores each block with its facts, skips a replay, refuses another record at its seq',
    async () => {
      const [grey, final] = tunionEntries(6, 70, 1);
      const blocks = blockEntries();
      const lines = await exportedLines([grey, signed(final), ...blocks]);
      const db = await openDepotDb(await engine.target(`blocks_${engine.name}`), NOW_MS);
      try {
        await terminalOn(db);
        const vault = panVault(randomBytes(32));
        const store = (records: unknown[], firstSeq = 1): Promise<unknown> =>
          batchStore(db, batchValidate(batch(records, firstSeq), 'BUS00001'), vault, NOW_MS);
        expect(await store(lines)).toEqual({ ackThroughSeq: 8, stored: 8, duplicates: 0 });
        const rows = await db.query(`SELECT seq, card_serial, issuer_id, card_city, line_id,
          block_outcome, block_sw, params_version, terminal_number, date_time_digits,
          time_wall_ms, pending_seq FROM tunion_blocks ORDER BY seq`);
        expect(rows.map((r) => ({ ...r, pending_seq: r['pending_seq'] === null ? null
          : Number(r['pending_seq']) }))).toEqual(blocks.map((b, i) => ({
          seq: i + 3, card_serial: b.card.serialDigits, issuer_id: b.card.issuerIdHex,
          card_city: b.card.cityCodeHex, line_id: b.lineId, block_outcome: b.blockOutcome,
          block_sw: b.blockSwHex, params_version: b.paramsVersion,
          terminal_number: b.terminalNumberHex, date_time_digits: b.dateTimeDigits,
          time_wall_ms: (lines[i + 2] as { timeWallMs: number }).timeWallMs,
          pending_seq: b.pendingSeq,
        })));
        // No tap: the purchase lines alone are in tunion_taps.
        const taps = await db.query('SELECT seq FROM tunion_taps ORDER BY seq');
        expect(taps.map((r) => Number(r['seq']))).toEqual([1, 2]);
        expect(await store(lines)).toEqual({ ackThroughSeq: 8, stored: 0, duplicates: 8 });
        // A replaced journal: at seq 3 another card's block, then another time, then a purchase.
        const held = lines[2] as Record<string, unknown>;
        const card = { ...(held['card'] as object), serialDigits: '03105170070000000099' };
        for (const [other, differs] of [
          [{ ...held, card }, 'card'],
          [{ ...held, timeWallMs: Number(held['timeWallMs']) + 1000 }, 'time'],
          [{ ...lines[1] as object, seq: 3, greySeq: null }, 'kind'],
        ] as const) {
          const says = new RegExp(`through seq 8.*differs in ${differs}`);
          await expect(store([other], 3)).rejects.toMatchObject({ code: 'seq-conflict',
            message: expect.stringMatching(says) as unknown });
        }
        const report = await tunionVerifyAndReport(db, () => null);
        // One block per card event: a pending line and its final are one.
        expect([report.blocks, report.cardsBlocked]).toEqual([
          { 'blocked': 1, 'not-confirmed': 2, 'not-sent': 1 }, 1]);
        // The report's list (tunion_blocks_section.ts) on this engine, the day its filter.
        const listed = await tunionBlockRows(db, '2026-12-03');
        expect(listed.map((r) => [r.seq, r.cardSerial, r.outcome, r.cardSw, r.day, r.time]))
          .toEqual(BLOCK_EVENTS.map((e) => [...e, '2026-12-03', '08:30:00']));
        expect(await tunionBlockRows(db, '2026-12-04')).toEqual([]);
      } finally {
        await db.close();
      }
    }, 120_000);

  it('shows a pending line as not confirmed until its final comes in a later batch',
    async () => {
      const lines = await exportedLines(blockEntries(1).slice(0, 2));
      const db = await openDepotDb(await engine.target(`pending_${engine.name}`), NOW_MS);
      try {
        await terminalOn(db);
        const vault = panVault(randomBytes(32));
        const store = (records: unknown[], firstSeq: number): Promise<unknown> =>
          batchStore(db, batchValidate(batch(records, firstSeq), 'BUS00001'), vault, NOW_MS);
        const shown = async (): Promise<unknown[]> => (await tunionBlockRows(db, null))
          .map((r) => [r.seq, r.outcome, r.cardSw]);
        // The validator uploaded between the pending record and its final.
        expect(await store(lines.slice(0, 1), 1)).toMatchObject({ stored: 1 });
        expect(await shown()).toEqual([[1, 'not-confirmed', '-']]);
        expect(await store(lines.slice(1), 2)).toMatchObject({ stored: 1 });
        expect(await shown()).toEqual([[2, 'blocked', '9000']]);
        const report = await tunionVerifyAndReport(db, () => null);
        expect([report.blocks, report.cardsBlocked]).toEqual([
          { 'blocked': 1, 'not-confirmed': 0, 'not-sent': 0 }, 1]);
      } finally {
        await db.close();
      }
    }, 120_000);

  it('keeps the block lines of a depot before pending lines, and takes older lines',
    async () => {
      // An older validator's lines: no pending line, no pendingSeq key.
      const older = (await exportedLines([tunionBlockedEntry(7, 'blocked', '9000'),
        tunionBlockedEntry(8, 'not-confirmed', '6988')].map((e) => ({ ...e,
        terminalId: 'BUS00001' })))) as Record<string, unknown>[];
      expect(older.every((l) => !('pendingSeq' in l))).toBe(true);
      const target = await engine.target(`v8_${engine.name}`);
      const db = engine.name === 'sqlite' ? await openSqliteDepotDb(target)
        : await openPostgresDepotDb(target);
      try {
        await depotMigrate(db, NOW_MS, DEPOT_MIGRATIONS.filter((m) => m.version <= 8));
        await terminalOn(db);
        // The first line stored by a depot before migration 9, the second after it.
        const l = older[0] ?? {};
        await db.run(`INSERT INTO tunion_blocks (terminal_id, seq, time_wall_ms,
          date_time_digits, card_serial, issuer_id, card_city, line_id, block_outcome, block_sw,
          params_version, terminal_number, record_json, received_at_ms) VALUES ('BUS00001', 1,
          $1, '20261203083000', '03105170070000000007', '01011000FFFFFFFF', '5840', 'B12',
          'blocked', '9000', 10, '112233445566', $2, $3)`,
        [Number(l['timeWallMs']), JSON.stringify(l), NOW_MS]);
        expect(await depotMigrate(db, NOW_MS))
          .toEqual(DEPOT_MIGRATIONS.filter((m) => m.version > 8).map((m) => m.version));
        const vault = panVault(randomBytes(32));
        expect(await batchStore(db, batchValidate(batch(older), 'BUS00001'), vault, NOW_MS))
          .toEqual({ ackThroughSeq: 2, stored: 1, duplicates: 1 });
        expect((await tunionBlockRows(db, null)).map((r) => [r.seq, r.outcome, r.cardSw]))
          .toEqual([[1, 'blocked', '9000'], [2, 'not-confirmed', '6988']]);
        // The new table takes pending lines.
        const [pending] = await exportedLines([{ ...tunionBlockedEntry(11, 'pending', ''),
          terminalId: 'BUS00001' }]);
        await batchStore(db, batchValidate(batch([{ ...pending as object, seq: 3 }], 3),
          'BUS00001'), vault, NOW_MS);
        expect((await tunionBlockRows(db, null)).map((r) => r.outcome))
          .toEqual(['blocked', 'not-confirmed', 'not-confirmed']);
      } finally {
        await db.close();
      }
    }, 120_000);

  it('counts once a purchase copied under another ATC, lines stored before migration 10 too',
    async () => {
      // What the TAC signs (card, PSAM terminal number and serial, amount, date-time) and not
      // the ATC: a copy under the next seq with the ATC moved on is the same debit.
      const [grey, final] = tunionEntries(12, 80, 1);
      const lines = (await exportedLines([grey, signed(final)])) as Record<string, unknown>[];
      const clearing = lines[1] ?? {};
      const purchase = clearing['purchase'] as Record<string, unknown>;
      const copy = (seq: number, atc: number): unknown =>
        ({ ...clearing, seq, greySeq: null, purchase: { ...purchase, atc } });
      const target = await engine.target(`psam_${engine.name}`);
      const db = engine.name === 'sqlite' ? await openSqliteDepotDb(target)
        : await openPostgresDepotDb(target);
      try {
        await depotMigrate(db, NOW_MS, DEPOT_MIGRATIONS.filter((m) => m.version <= 9));
        await terminalOn(db);
        const vault = panVault(randomBytes(32));
        // The line as a depot before migration 10 stored it: no PSAM columns.
        const card = clearing['card'] as Record<string, unknown>;
        await db.run(`INSERT INTO tunion_taps (terminal_id, seq, type, time_wall_ms,
          card_serial, issuer_id, atc, amount_minor, tac_hex, tac_state, duplicate, record_json,
          received_at_ms) VALUES ('BUS00001', 2, 'tunion_clearing', $1, $2, $3, $4, $5, $6,
          'unverified', 0, $7, $8)`, [Number(clearing['timeWallMs']),
          String(card['serialDigits']), String(card['issuerIdHex']), Number(purchase['atc']),
          Number(purchase['amountMinor']), String(clearing['tacHex']),
          JSON.stringify(clearing), NOW_MS]);
        // A line damaged in the database since (the reports call it malformed): the
        // migration goes on, its columns stay null.
        await db.run(`INSERT INTO tunion_taps (terminal_id, seq, type, time_wall_ms,
          card_serial, issuer_id, atc, amount_minor, tac_hex, tac_state, duplicate, record_json,
          received_at_ms) VALUES ('BUS00002', 1, 'tunion_clearing', 0, '0', '0', 0, 0, '',
          'unverified', 0, '{"purchase":{"terminalSerial":', 0)`);
        expect(await depotMigrate(db, NOW_MS))
          .toEqual(DEPOT_MIGRATIONS.filter((m) => m.version > 9).map((m) => m.version));
        expect(await db.query(`SELECT psam_terminal, psam_serial FROM tunion_taps
          WHERE terminal_id = 'BUS00002'`)).toEqual([{ psam_terminal: null, psam_serial: null }]);
        const row = (await db.query(`SELECT psam_terminal, psam_serial FROM tunion_taps
          WHERE type = 'tunion_clearing'`))[0] ?? {};
        expect([row['psam_terminal'], Number(row['psam_serial'])]).toEqual([
          String(purchase['terminalNumberHex']).toUpperCase(), purchase['terminalSerial']]);
        const atc = Number(purchase['atc']);
        expect(await batchStore(db, batchValidate(batch([copy(3, atc + 1)], 3), 'BUS00001'),
          vault, NOW_MS)).toEqual({ ackThroughSeq: 3, stored: 0, duplicates: 1 });
        // Stored after it: a second copy under yet another ATC is a duplicate too; another
        // serial of the same PSAM is another purchase.
        expect(await batchStore(db, batchValidate(batch([copy(4, atc + 2)], 4), 'BUS00001'),
          vault, NOW_MS)).toEqual({ ackThroughSeq: 4, stored: 0, duplicates: 1 });
        const other = { ...(copy(5, atc + 3) as Record<string, unknown>),
          purchase: { ...purchase, atc: atc + 3,
            terminalSerial: Number(purchase['terminalSerial']) + 1 } };
        expect(await batchStore(db, batchValidate(batch([other], 5), 'BUS00001'), vault,
          NOW_MS)).toEqual({ ackThroughSeq: 5, stored: 1, duplicates: 0 });
        // A grey no counted line completes, stored twice: one purchase left grey, on this
        // engine's SQL too (the list and both counts).
        const [openGrey] = await exportedLines([tunionEntries(13, 90, null)[0]]);
        for (const seq of [6, 7]) {
          await batchStore(db, batchValidate(batch([{ ...openGrey as object, seq }], seq),
            'BUS00001'), vault, NOW_MS);
        }
        expect((await tunionGreyRows(db, null)).map((g) => [g.seq, g.atc])).toEqual([[6, 90]]);
        expect((await tunionVerifyAndReport(db, () => null)).greyOpen).toBe(1);
        expect((await tunionSectionRows(db, null)).reduce((n, r) => n + r.greyOpen, 0)).toBe(1);
      } finally {
        await db.close();
      }
    }, 120_000);

  it('refuses a block line outside the journal rules, naming the field', async () => {
    const lines = (await exportedLines(blockEntries(1))) as Record<string, unknown>[];
    const bad = (line: Record<string, unknown>): string => {
      try {
        batchValidate(batch([line], Number(line['seq'])), 'BUS00001');
      } catch (error) {
        if (error instanceof BatchError) return `${error.code} ${error.message}`;
        throw error;
      }
      return 'accepted';
    };
    // A final names the pending line before it; a pending line and a block never sent name
    // none (their lines have no key, or a null one).
    const good = lines[1] ?? {};
    expect([good['seq'], good['pendingSeq']]).toEqual([2, 1]);
    expect(bad(good)).toBe('accepted');
    expect(bad({ ...good, pendingSeq: 2 })).toMatch(/pendingSeq: must precede the record/);
    expect(bad({ ...good, pendingSeq: 0 })).toMatch(/pendingSeq/);
    const pending = lines[0] ?? {};
    expect(bad(pending)).toBe('accepted');
    expect(bad({ ...pending, blockSwHex: '9000' })).toMatch(/blockSwHex/);
    expect(bad({ ...pending, pendingSeq: null })).toBe('accepted');
    const notSent = lines[4] ?? {};
    expect(bad(notSent)).toBe('accepted');
    expect(bad({ ...notSent, pendingSeq: 3 }))
      .toMatch(/pendingSeq: not-sent completes no pending record/);
    expect(bad({ ...good, blockSwHex: '6988' })).toMatch(/blockSwHex/);
    expect(bad({ ...good, blockOutcome: 'maybe' })).toMatch(/blockOutcome/);
    // Another terminal's line: 403 terminal-mismatch, as for a clearing line (not 400).
    expect(bad({ ...good, terminalId: 'BUS00002' }))
      .toBe('terminal-mismatch records[0].terminalId: not the certificate\'s terminal');
    expect(bad({ ...good, atc: 3 })).toMatch(/atc: unexpected field/);
    const { paramsVersion: _gone, ...missing } = good;
    expect(bad(missing)).toMatch(/paramsVersion: missing/);
    expect(bad({ ...good, card: { ...(good['card'] as object), serialDigits: '12' } }))
      .toMatch(/serialDigits/);
    expect(bad({ ...good, card: { ...(good['card'] as object), x: 1 } })).toMatch(/card\.x/);
    expect(bad({ ...good, dateTimeDigits: '20261322081500' }))
      .toMatch(/dateTimeDigits: expected a calendar date and time/);
  });
});
