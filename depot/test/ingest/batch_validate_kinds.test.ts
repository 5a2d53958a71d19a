// Every kind of line a validator's journal exports passes the depot's validation: the truth is
// firmware's own export (journal_export.ts) of a journal holding every kind and closing path,
// not lines written by hand. The clear PAN travels only in `pan` and is gone from record_json.

import { describe, expect, it } from 'vitest';

import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import { journalExport } from '../../../firmware/src/app/journal/journal_export.js';
import { Journal } from '../../../firmware/src/app/journal/journal.js';
import { StorageSim } from '../../../host-sim/src/storage_sim.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, journalOptions, newClock, newPrng, panOf, scriptedEntries,
} from '../../../firmware/test/journal_fixtures.js';
import { batchValidate } from '../../src/ingest/batch_validate.js';
import { BatchError } from '../../src/ingest/batch_error.js';
import { ID_PATTERN } from '../../../firmware/src/app/params/field_patterns.js';

/** The fixtures' clearing records name this terminal (journal_fixtures.ts). */
const TERMINAL = 'T0001';

async function exportedLines(): Promise<Record<string, unknown>[]> {
  const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(5), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, journalOptions(newClock()));
  if (!opened.ok) throw new Error(opened.detail);
  // Without the ack (11), so every record before it is exported too.
  for (const entry of scriptedEntries().filter((e) => e.kind !== 'ack')) {
    const appended = await opened.value.journal.append(entry);
    if (!appended.ok) throw new Error(appended.detail);
  }
  const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
  return journalExport(scan, FIXTURE_VAULT).lines.map((l) => JSON.parse(l) as Record<string,
    unknown>);
}

describe('batch validation of every exported kind', () => {
  it('clearingTornReconciledAndOpenPending_areAccepted_withoutTheClearPanInRecordJson',
    async () => {
      const records = await exportedLines();
      const types = new Set(records.map((r) => r['type']));
      for (const type of ['clearing', 'torn', 'reconciled']) expect(types).toContain(type);
      const seqs = records.map((r) => Number(r['seq']));
      const body = { terminalId: TERMINAL, firstSeq: 1, throughSeq: Math.max(...seqs),
        records };
      const batch = batchValidate(body, TERMINAL);
      expect(batch.records.map((r) => r.type)).toEqual(records.map((r) => r['type']));
      for (const [i, record] of batch.records.entries()) {
        const line = records[i] ?? {};
        expect(record.pan).toBe(line['pan'] ?? null);
        for (let n = 1; n <= 5; n += 1) expect(record.recordJson).not.toContain(panOf(n));
      }
    });

  it('aTornLineWithAnUnknownRecoveryField_isABadBatchNamingIt', async () => {
    const records = await exportedLines();
    const index = records.findIndex((r) => r['type'] === 'torn');
    const torn = records[index] ?? {};
    records[index] = { ...torn, recovery: { ...(torn['recovery'] as object), extra: 1 } };
    const seqs = records.map((r) => Number(r['seq']));
    const body = { terminalId: TERMINAL, firstSeq: 1, throughSeq: Math.max(...seqs), records };
    expect(() => batchValidate(body, TERMINAL)).toThrow(BatchError);
    expect(() => batchValidate(body, TERMINAL))
      .toThrow(`records[${index}].recovery.extra`);
  });

  it('aTerminalIdNoValidatorCanHave_isABadBatch_namingTheField', async () => {
    const records = await exportedLines();
    const seqs = records.map((r) => Number(r['seq']));
    // Printable, so accepted before; the validator's own rule (firmware) refuses both.
    for (const id of ['BUS#01', `T${'0'.repeat(32)}`]) {
      expect(ID_PATTERN.re.test(id), id).toBe(false);
      const body = { terminalId: id, firstSeq: 1, throughSeq: Math.max(...seqs), records };
      let thrown: unknown = null;
      try {
        batchValidate(body, id);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, id).toBeInstanceOf(BatchError);
      expect((thrown as BatchError).code, id).toBe('bad-batch');
      expect((thrown as BatchError).message, id).toContain('terminalId');
    }
  });
});
