// `shuaka inspect` on a T-Union dialogue built here byte by byte from domain.md §7 (the NFSEE
// FCI and 0017 examples quoted there, the §7.4 command layouts), and its malformed twins.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { record1AEncode, record1EEncode } from '../src/app/fare/jtt978_records.js';
import { runInspectCommand } from '../src/cli/inspect_cmd.js';

const FILE_0015 = '01011000FFFFFFFF' + '02' + '01' + '03105170070104791381' + '20190718'
  + '20401231' + '0000';
const FILE_0017 = '00000156' + '5800' + '5840' + '0001' + '01' + '00'.repeat(49);
const FCI = '6F31' + '8408A000000632010105' + 'A525' + '9F080102' + '9F0C1E' + FILE_0015;

const RIDE_END = {
  cityCodeHex: '5840', institutionHex: '0102030405060708', operatorCodeHex: '0001',
  lineCode: 12, stop: 3, vehicle: 'SU-E1234', terminalHex: '0000112233445566',
  dateTimeDigits: '20261203083000',
};
const RECORD_1A = Buffer.from(record1AEncode({
  state: 'boarded', serialDigits: '0000000000000042', locked: false, boarding: RIDE_END,
  markedAmountMinor: 400, direction: 0, alighting: null, amountMinor: 0, distance100m: 0,
  transfer: false,
})).toString('hex').toUpperCase();
const RECORD_1E = Buffer.from(record1EEncode({
  type: 0x03, terminalHex: '0000112233445566', industry: 2, lineCode: 12, amountMinor: 0,
  balanceAfterMinor: 5000, dateTimeDigits: '20261203083000', cityCodeHex: '5840',
  institutionHex: '0102030405060708', incompleteMaxMinor: 400, maxRideMin: 120,
})).toString('hex').toUpperCase();

const DIALOGUE = [
  { c: '00A4040008A000000632010105', r: `${FCI}9000` },
  { c: '00B095001E', r: `${FILE_0015}9000` },
  { c: '00B097000B', r: `${FILE_0017.slice(0, 22)}9000` },
  { c: '805C000204', r: '000013889000' },
  { c: '00B201C417', r: '0011000000000000C8091122334455662026120218300090 00' },
  { c: '00B202D480', r: `${RECORD_1A}9000` },
  { c: '805003020B01000000C8112233445566', r: '0000138800120000000100A1B2C3D49000' },
  { device: 'psam', c: '8070000024A1B2C3D40012000000C80920261203083000010051700701047913'
    + '8101011000FFFFFFFF', r: '0000002A112233449000' },
  { c: `80DC02D080${RECORD_1A}`, r: '9000' },
  { c: `80DC00F030${RECORD_1E}`, r: '9000' },
  { c: '805401000F0000002A2026120308300011223344', r: '55667788' + '99AABBCC' + '9000' },
  { device: 'psam', c: '807200000499AABBCC', r: '9000' },
  { c: '805003020B01000FFFFF112233445566', r: '9401' },
];

type Fields = { field: string; hex: string; value?: string | number; unit?: string;
  meaning?: string }[];
type Decoded = { command: string; sw?: string; swMeaning?: string; commandFields?: Fields;
  answerFields?: Fields; answerError?: string; commandError?: string };

async function inspect(trace: unknown): Promise<{ code: number; out: string; err: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'shuaka-inspect-'));
  try {
    const path = join(dir, 'trace.json');
    await writeFile(path, JSON.stringify(trace));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runInspectCommand([path], {
      out: (line) => out.push(line), err: (line) => err.push(line),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function decoded(trace: unknown): Promise<Decoded[]> {
  const run = await inspect(trace);
  expect(run.err).toBe('');
  expect(run.code).toBe(0);
  return (JSON.parse(run.out) as { exchanges: Decoded[] }).exchanges;
}

function field(fields: Fields | undefined, name: string): Fields[number] | undefined {
  return fields?.find((f) => f.field === name);
}

describe('shuaka inspect: T-Union dialogue', () => {
  it('names every command and decodes files, balance, log and records field by field', async () => {
    const x = await decoded({ application: 'jtt978', exchanges: DIALOGUE });
    expect(x.map((e) => e.command)).toEqual([
      'SELECT A000000632010105', 'READ BINARY 0015', 'READ BINARY 0017', 'GET BALANCE',
      'READ RECORD 1 of 0018', 'READ RECORD 2 of 001A', 'INITIALIZE FOR COMPOUND PURCHASE',
      'INIT SAM FOR PURCHASE', 'UPDATE CAPP DATA CACHE 2 of 001A',
      'UPDATE CAPP DATA CACHE 0 of 001E', 'DEBIT FOR PURCHASE', 'CREDIT SAM FOR PURCHASE',
      'INITIALIZE FOR COMPOUND PURCHASE',
    ]);
    const fci = x[0]?.answerFields;
    expect(field(fci, 'DF name (AID)')?.hex).toBe('A000000632010105');
    expect(field(fci, '0015 application serial number')?.value).toBe('03105170070104791381');
    expect(field(fci, '0015 expiry date')?.value).toBe('2040-12-31');
    expect(field(x[1]?.answerFields, 'start date')?.value).toBe('2019-07-18');
    expect(field(x[2]?.answerFields, 'city code')?.hex).toBe('5840');
    expect(field(x[2]?.answerFields, 'interop type')?.meaning).toBe('interoperable (T-Union)');
    expect(field(x[3]?.answerFields, 'balance')).toMatchObject({ value: 5000, unit: 'fen' });
    expect(field(x[4]?.answerFields, 'amount')).toMatchObject({ value: 200, unit: 'fen' });
    expect(field(x[4]?.answerFields, 'transaction type')?.meaning).toBe('compound purchase');
    expect(field(x[4]?.answerFields, 'date-time')?.value).toBe('2026-12-02 18:30:00');
    expect(field(x[5]?.answerFields, 'state')?.meaning).toBe('boarded');
    expect(field(x[5]?.answerFields, 'boarding station')?.value).toBe(3);
    expect(field(x[5]?.answerFields, 'marked amount')).toMatchObject({ value: 400 });
    expect(field(x[5]?.answerFields, 'boarding vehicle number')?.value).toBe('SU-E1234');
    expect(field(x[6]?.commandFields, 'amount')?.value).toBe(200);
    expect(field(x[6]?.answerFields, 'pseudo-random number')?.hex).toBe('A1B2C3D4');
    expect(field(x[7]?.commandFields, 'card application serial (last 8 bytes)')?.value)
      .toBe('5170070104791381');
    expect(field(x[7]?.answerFields, 'terminal transaction serial')?.value).toBe(42);
    expect(field(x[8]?.commandFields, 'boarding line number')?.value).toBe('0012');
    expect(field(x[9]?.commandFields, 'transaction type')?.meaning).toBe('EP in');
    expect(field(x[9]?.commandFields, 'balance')?.value).toBe(5000);
    expect(field(x[10]?.answerFields, 'TAC')?.hex).toBe('55667788');
    expect(field(x[11]?.commandFields, 'MAC2')?.hex).toBe('99AABBCC');
    expect([x[12]?.sw, x[12]?.swMeaning]).toEqual(['9401', 'insufficient balance']);
  });

  it('recognises a trace without "application" by its SELECT of the T-Union ADF', async () => {
    const x = await decoded({ exchanges: DIALOGUE.slice(0, 2) });
    expect(x[1]?.command).toBe('READ BINARY 0015');
  });

  it('reports malformed answers instead of guessing', async () => {
    const badState = `${RECORD_1A.slice(0, 28)}07${RECORD_1A.slice(30)}`;
    const x = await decoded({ application: 'jtt978', exchanges: [
      { c: '00A4040008A000000632010105', r: `${FCI.slice(0, -2)}9000` },
      { c: '00B095001E', r: `${FILE_0015.slice(0, 20)}9000` },
      { c: '00B202D480', r: `${badState}9000` },
      { c: '00B201C417', r: '0011000000000000C8091122334455662026120218300A9000' },
      { c: '805C000204', r: '90' },
    ] });
    expect(x[0]?.answerError).toMatch(/FCI|0015/);
    expect(x[1]?.answerError).toBe('10 bytes, expected 30');
    expect(x[2]?.answerError).toMatch(/state byte 7/);
    expect(field(x[3]?.answerFields, 'date-time')?.meaning).toBe('not BCD');
    expect(x[4]?.answerError).toMatch(/status word/);
  });

  it('refuses a bad device or hex with exit 2', async () => {
    const bad = await inspect({ application: 'jtt978', exchanges: [{ device: 'sam', c: '00A4' }] });
    expect([bad.code, bad.err]).toEqual([2, expect.stringMatching(/device/)]);
    const hex = await inspect({ application: 'jtt978', exchanges: [{ c: '00A4ZZ', r: '9000' }] });
    expect(hex.code).toBe(2);
  });
});
