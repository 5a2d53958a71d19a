// `shuaka depot report --tac-keys` as a real process over a real ingest: a TAC verdict is the
// key file's word on a line. A report run with a wrong key file (another key version, another
// issuer's file) must not fix the line as failed or unchecked for good: the right file later
// verifies it. TACs come from the simulator's e-purse module, not the depot's checker.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tunionEntries } from '../../../firmware/test/journal_tunion_fixtures.js';
import {
  columnSum, depot, depotWithTerminal, exportedLines, ingestLines, ISSUER, seededMaster,
  signedFinal, tunionCsvRows,
} from './tunion_cli_fixture.js';

const MASTER = seededMaster('tunion-report-process right key');
const OLD_MASTER = seededMaster('tunion-report-process previous key version');

describe('shuaka depot report --tac-keys (process)', () => {
  let temp = '';
  const keyFile = (name: string, keys: Record<string, string>): string => {
    const path = join(temp, name);
    writeFileSync(path, JSON.stringify(keys));
    return path;
  };
  const tunionReport = (db: string, keys: string): Record<string, string>[] => {
    const r = depot('report', '--db', db, '--section', 'tunion', '--format', 'csv',
      '--tac-keys', keys);
    expect(r.status, r.stderr).toBe(0);
    return tunionCsvRows(r.stdout);
  };
  const depotWithThreeTaps = async (name: string): Promise<string> => {
    const dir = join(temp, name);
    const db = depotWithTerminal(dir);
    const entries = [1, 2, 3].flatMap((n) => {
      const [grey, final] = tunionEntries(n, 20 + n, 2 * n - 1);
      return [grey, signedFinal(final, MASTER)];
    });
    const r = ingestLines(db, dir, join(dir, 'export.jsonl'), await exportedLines(entries));
    expect(r.status, r.stderr).toBe(0);
    return db;
  };

  beforeAll(() => {
    temp = mkdtempSync(join(tmpdir(), 'shuaka-tunion-report-'));
  });
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('verifies again with the right key what a key of another version failed', async () => {
    const db = await depotWithThreeTaps('old-key');
    const wrong = tunionReport(db, keyFile('old.json',
      { [ISSUER]: OLD_MASTER.toString('hex') }));
    expect(columnSum(wrong, 'tac_failed')).toBe(3);
    const right = tunionReport(db, keyFile('right.json', { [ISSUER]: MASTER.toString('hex') }));
    expect(columnSum(right, 'taps')).toBe(3);
    expect(columnSum(right, 'tac_valid')).toBe(3);
    expect(columnSum(right, 'tac_valid_minor')).toBe(900);
    expect(columnSum(right, 'tac_failed')).toBe(0);
  });

  it('verifies with the right key what a file without the issuer left unchecked', async () => {
    const db = await depotWithThreeTaps('other-issuer');
    const other = tunionReport(db, keyFile('other.json',
      { '0000000000000001': OLD_MASTER.toString('hex') }));
    expect(columnSum(other, 'tac_unchecked')).toBe(3);
    const right = tunionReport(db, keyFile('right2.json', { [ISSUER]: MASTER.toString('hex') }));
    expect(columnSum(right, 'tac_valid')).toBe(3);
    expect(columnSum(right, 'tac_unchecked')).toBe(0);
  });
});

describe('shuaka depot ingest of a T-Union purchase under another ATC (process)', () => {
  let temp = '';
  beforeAll(() => {
    temp = mkdtempSync(join(tmpdir(), 'shuaka-tunion-atc-'));
  });
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('counts once a purchase whose copy names another ATC: the TAC does not cover it', async () => {
    const db = depotWithTerminal(temp);
    const [grey, final] = tunionEntries(1, 21, 1);
    const lines = await exportedLines([grey, signedFinal(final, MASTER)]);
    const first = ingestLines(db, temp, join(temp, 'a.jsonl'), lines);
    expect(first.status, first.stderr).toBe(0);
    // The same debit (card, PSAM terminal number and serial, amount, date-time: what the TAC
    // signs) as a new line under the next seq with the ATC moved on by one.
    const copy = JSON.parse(lines[1] ?? '{}') as Record<string, Record<string, unknown>>;
    const purchase = { ...copy['purchase'], atc: 22 };
    const again = JSON.stringify({ ...copy, seq: 3, greySeq: null, purchase });
    const second = ingestLines(db, temp, join(temp, 'b.jsonl'), [again]);
    expect(second.status, second.stderr).toBe(0);
    const keys = join(temp, 'keys.json');
    writeFileSync(keys, JSON.stringify({ [ISSUER]: MASTER.toString('hex') }));
    const r = depot('report', '--db', db, '--section', 'tunion', '--format', 'csv',
      '--tac-keys', keys);
    expect(r.status, r.stderr).toBe(0);
    const rows = tunionCsvRows(r.stdout);
    // The card was debited once, 300 fen (the fixture's one purchase).
    expect([columnSum(rows, 'taps'), columnSum(rows, 'amount_minor')]).toEqual([1, 300]);
    expect(columnSum(rows, 'duplicates')).toBe(1);
  });
});

describe('shuaka depot report --section tunion-grey (process)', () => {
  let temp = '';
  beforeAll(() => {
    temp = mkdtempSync(join(tmpdir(), 'shuaka-tunion-grey-'));
  });
  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  it('lists each purchase left grey once, with what settles it; completed ones not at all',
    async () => {
      const db = depotWithTerminal(temp);
      const [paidGrey, paid] = tunionEntries(1, 31, 1);
      const [openGrey] = tunionEntries(2, 47, null);
      const [otherGrey] = tunionEntries(3, 52, null);
      // The second grey twice (a copy under another seq); the third dated the next day.
      const later = { ...otherGrey, purchase: { ...otherGrey.purchase,
        dateTimeDigits: '20261204071500', balanceBeforeMinor: 1234 } };
      const lines = await exportedLines([paidGrey, signedFinal(paid, MASTER), openGrey,
        openGrey, later]);
      const ingested = ingestLines(db, temp, join(temp, 'greys.jsonl'), lines);
      expect(ingested.status, ingested.stderr).toBe(0);
      const report = (...more: string[]): Record<string, string>[] => {
        const r = depot('report', '--db', db, '--section', 'tunion-grey', '--format', 'csv',
          ...more);
        expect(r.status, r.stderr).toBe(0);
        return tunionCsvRows(r.stdout);
      };
      // Truth: the journal entries the lines were exported from.
      const row = (grey: typeof openGrey, day: string, time: string, seq: number) => ({
        day, time, terminal_id: 'BUS00001', route_id: grey.ride.lineId,
        card_serial: grey.card.serialDigits, issuer_id: grey.card.issuerIdHex,
        atc: String(grey.purchase.atc), amount_minor: String(grey.purchase.amountMinor),
        balance_before_minor: String(grey.purchase.balanceBeforeMinor),
        psam_terminal: grey.purchase.terminalNumberHex,
        psam_serial: String(grey.purchase.terminalSerial), seq: String(seq),
      });
      expect(report()).toEqual([row(openGrey, '2026-12-03', '08:30:00', 3),
        row(later, '2026-12-04', '07:15:00', 5)]);
      expect(report('--day', '2026-12-04')).toEqual([row(later, '2026-12-04', '07:15:00', 5)]);
      // The section's counts agree: two purchases (three lines) left grey, one a day.
      const text = depot('report', '--db', db, '--section', 'tunion', '--format', 'text');
      expect(text.status, text.stderr).toBe(0);
      expect(text.stdout).toContain('T-Union purchases left grey (2)');
      const section = depot('report', '--db', db, '--section', 'tunion', '--format', 'csv');
      expect(tunionCsvRows(section.stdout).map((r) => [r['day'], r['grey_open']]))
        .toEqual([['2026-12-03', '1'], ['2026-12-04', '1']]);
    });
});
