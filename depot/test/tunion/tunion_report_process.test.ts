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
