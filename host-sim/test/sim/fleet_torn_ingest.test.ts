// Every kind of line a production validator exports — torn and still-open taps with their
// recovery context included — passes the depot's batch validation. Truth: the lines come from
// a seeded bus ride's own journal (firmware's export), not from a hand-made fixture; before
// this test the depot refused every torn line (a recovery field list older than the journal's).

import { describe, expect, it } from 'vitest';

import { batchValidate } from '../../../depot/src/ingest/batch_validate.js';
import { BUS_RUN_DEFAULT, runBus } from '../../src/sim/bus_run.js';
import { fleetExportLines } from '../../src/sim/fleet_run.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 5);

describe(`depot ingest of a validator's export (seed ${SEED})`, () => {
  it('tornPendingAndClearingLines_ofARide_areAllAccepted', async () => {
    const run = await runBus({ ...BUS_RUN_DEFAULT, seed: SEED, riders: 16, tornChance: 0.6,
      terminalId: 'SIM00001' }, () => undefined);
    const lines = [...fleetExportLines(run, 0).entries()];
    const parsed = lines.map(([, text]) => JSON.parse(text) as Record<string, unknown>);
    const kinds = new Set(parsed.map((line) => line['type']));
    expect(kinds.has('torn') || kinds.has('pending_open'), [...kinds].join(',')).toBe(true);
    expect(kinds.has('clearing')).toBe(true);
    const batch = batchValidate({ terminalId: 'SIM00001', firstSeq: 1,
      throughSeq: lines.at(-1)?.[0] ?? 1, records: parsed }, 'SIM00001');
    // T-Union lines (the ride's transit cards) are accepted apart, into tunion_taps.
    const tunion = parsed.filter((line) => String(line['type']).startsWith('tunion_'));
    const bank = parsed.filter((line) => !String(line['type']).startsWith('tunion_'));
    expect(tunion.length).toBeGreaterThan(0);
    expect(batch.tunion.map((r) => r.seq)).toEqual(tunion.map((line) => line['seq']));
    expect(batch.records.map((r) => r.seq)).toEqual(bank.map((line) => line['seq']));
    for (const [index, record] of batch.records.entries()) {
      const line = bank[index] ?? {};
      const recovery = line['recovery'] as { atc: number } | undefined;
      const atc = recovery?.atc ?? line['atc'];
      if (atc !== undefined) expect(record.atc, `seq ${record.seq}`).toBe(atc);
    }
  }, 120_000);
});
