// The depot bench's load must stay what the depot accepts: its generated bodies pass the
// depot's own strict validation (a change to the export line or to field 55's rules broke
// them once, and the bench then measured nothing), and its size flag refuses bad values.

import { describe, expect, it } from 'vitest';
import { batchValidate } from '../../depot/src/ingest/batch_validate.js';
import { batchBody, depotBenchRecords } from '../depot_ingest_bench.js';

describe('depot ingest bench', () => {
  it('bodies_passTheDepotsValidation_withTheirCrossTerminalRepeats', () => {
    for (const index of [0, 1, 99, 100, 101]) {
      const { terminalId, text } = batchBody(index);
      const batch = batchValidate(JSON.parse(text) as unknown, terminalId);
      expect(batch.records).toHaveLength(1_000);
      // 1 % of a later batch's taps reuse a card (PAN) of the batch before it.
      const before = index === 0 ? null : batchBody(index - 1);
      const earlier = before === null ? [] : batchValidate(JSON.parse(before.text) as unknown,
        before.terminalId).records.map((r) => `${r.pan}/${r.atc}`);
      const repeats = batch.records.filter((r) => earlier.includes(`${r.pan}/${r.atc}`));
      expect(repeats).toHaveLength(index === 0 ? 0 : 10);
    }
  });

  it('recordsFlag_defaultsTo10e6_andRefusesWhatIsNotAPositiveInteger', () => {
    expect(depotBenchRecords({})).toBe(1_000_000);
    expect(depotBenchRecords({ SHUAKA_DEPOT_BENCH_RECORDS: '20000' })).toBe(20_000);
    for (const bad of ['0', '-5', '1e6', 'ten', ' 5'])
      expect(() => depotBenchRecords({ SHUAKA_DEPOT_BENCH_RECORDS: bad })).toThrow(/positive/);
  });
});
