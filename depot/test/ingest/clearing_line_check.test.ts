// The fast clearing path against the depot's first validation (firmware's journalEntryNormalise
// on journal-shaped objects): every mutated line is refused by both at the same field with
// the same code, or accepted by both with the same stored values.

import { describe, expect, it } from 'vitest';
import { batchValidate, type IngestBatch } from '../../src/ingest/batch_validate.js';
import { BatchError } from '../../src/ingest/batch_error.js';
import { batchValidateReference } from './batch_validate_reference.js';
import { clearingBatch } from './ingest_fixtures.js';

type Outcome =
  | { readonly ok: true; readonly batch: IngestBatch }
  | { readonly ok: false; readonly code: string; readonly path: string };

function outcome(run: () => IngestBatch): Outcome {
  try {
    return { ok: true, batch: run() };
  } catch (error) {
    if (!(error instanceof BatchError)) throw error;
    return { ok: false, code: error.code, path: error.path };
  }
}

/** Records with recordJson parsed: key order is not part of what is stored. */
function comparable(o: Outcome): unknown {
  if (!o.ok) return o;
  return o.batch.records.map((r) => ({ ...r, recordJson: JSON.parse(r.recordJson) as unknown }));
}

function bothAgree(body: unknown, terminalId = 'SIM00001'): Outcome {
  const fast = outcome(() => batchValidate(body, terminalId));
  const reference = outcome(() => batchValidateReference(body, terminalId));
  expect(comparable(fast)).toEqual(comparable(reference));
  return fast;
}

const ODD_VALUES: readonly unknown[] = [null, true, false, -1, 0, 1, 1.5, 255, 256, 999, 1000,
  65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 999_999_999_999, 1_000_000_000_000, '', 'x',
  '0', '01', '1', 'FF', 'ff', '0G', 'A0000003330101', 'a000000333010101', '00'.repeat(16),
  '00'.repeat(17), '00'.repeat(5), '00'.repeat(11), '261202', '26120', '2612021', '26-202',
  'flat', 'FLAT', 'a'.repeat(32), 'a'.repeat(33), 'TC', 'ARQC', 'AAC', 'SIM00001', 'SIM00002',
  ' '.repeat(64), ' '.repeat(65), 'caf\u00e9', 'quo"te\\', '6231000000000000099',
  '6231000000000000061', '12345678', '1234567', '62310000000000000000', '623100*********0061',
  '623100*********0099', [], {}, '9F360200649F020600000000020000'];

/** Field 55 variants: nested and padded coding, PAN-bearing tags, disagreeing values. */
const ICC_VARIANTS: readonly string[] = [
  '9F360200645F340101', '9F3602006400005F340101', '9F360200645A0812345678', 'E1045A021234',
  'E106E1045F200141', 'E1039F3602', '9F36800064', '9F3681020064', '9F3602006', '9F3602',
  '9F36020065', '9F02060000000002019F36020064', '9F0206000000000A009F36020064',
  '9F02009F36020064', '9F020A000000000000000002009F36020064', '5F340200019F36020064', '5F3401029F36020064', '5F2A0201559F36020064', '9A032612039F36020064', '570411223344',
  '9F6B021234', '5F20024142', 'FF9F36020064FF', '00', '9F1F0101', 'BF0C035F2001',
  '9f360200645f340101', '1F', 'DF81040100',
];

describe('clearing line check (fast path) against the reference validation', () => {
  it('acceptsTheFixtureBatch_withTheSameStoredValues', () => {
    const body = clearingBatch('SIM00001', 1, 30);
    const result = bothAgree(body);
    expect(result.ok).toBe(true);
  });

  it('anAmountOutOfRange_isRefusedNamingTheBound_notARedactedOne', () => {
    // "expected an integer in 0..[redacted]": 12 digits in a row read as a PAN.
    const body = clearingBatch('SIM00001', 1, 1);
    const records = body['records'] as Record<string, unknown>[];
    const line = records[0] as Record<string, unknown>;
    line['amountMinor'] = -5;
    expect(() => batchValidate(body, 'SIM00001')).toThrow(
      /amountMinor: expected an integer in 0\.\.999,999,999,999$/);
  });

  it('everyFieldReplacedByOddValues_isRefusedOrAcceptedAlike', () => {
    const base = clearingBatch('SIM00001', 100, 3);
    const line = (base['records'] as Record<string, unknown>[])[1] ?? {};
    let refused = 0;
    for (const key of Object.keys(line))
      for (const value of ODD_VALUES) {
        const records = [...(base['records'] as unknown[])];
        records[1] = { ...line, [key]: value };
        if (!bothAgree({ ...base, records }).ok) refused += 1;
      }
    // The test must exercise refusals at most fields, not only acceptances.
    expect(refused).toBeGreaterThan(Object.keys(line).length * 20);
  });

  it('missingExtraAndReorderedKeys_areRefusedOrAcceptedAlike', () => {
    const base = clearingBatch('SIM00001', 100, 2);
    const line = (base['records'] as Record<string, unknown>[])[0] ?? {};
    const variants: unknown[] = [{ ...line, extra: 1 }, { ...line, __proto__x: 1 },
      Object.fromEntries(Object.entries(line).reverse()), [], null, 'line'];
    for (const key of Object.keys(line)) {
      const { [key]: _dropped, ...rest } = line;
      variants.push(rest, { ...rest, [`${key}X`]: line[key] });
    }
    for (const variant of variants)
      bothAgree({ ...base, records: [variant, (base['records'] as unknown[])[1]] });
  });

  it('iccDataVariants_areRefusedOrAcceptedAlike', () => {
    const base = clearingBatch('SIM00001', 100, 1);
    const line = (base['records'] as Record<string, unknown>[])[0] ?? {};
    const outcomes = new Set<string>();
    for (const icc of ICC_VARIANTS) {
      const result = bothAgree({ ...base, records: [{ ...line, atc: 100, iccDataHex: icc }] });
      outcomes.add(result.ok ? 'ok' : result.path);
    }
    expect([...outcomes]).toEqual(expect.arrayContaining(['ok', 'records[0].iccDataHex',
      'records[0].atc', 'records[0].amountMinor', 'records[0].psn']));
  });

  it('pendingSeqAndTerminal_areRefusedOrAcceptedAlike', () => {
    const base = clearingBatch('SIM00001', 100, 1);
    const line = (base['records'] as Record<string, unknown>[])[0] ?? {};
    for (const pendingSeq of [null, 1, 99, 100, 101])
      for (const terminalId of ['SIM00001', 'SIM00002'])
        bothAgree({ ...base, records: [{ ...line, pendingSeq, terminalId }] });
    bothAgree(base, 'SIM00002');
  });
});
