// A fleet rides with outages and flaky links against the depot twin: every bus's journal
// export reaches the depot exactly (nothing lost, nothing twice), every journal ends
// acknowledged, and each ride's own ledger checks hold. Truth: each journal's own export.

import { describe, expect, it } from 'vitest';

import { DepotSim, fleetCheckBus, runFleet } from '../../src/sim/fleet_run.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 5);

describe(`fleet run (SHUAKA_SEED=${SEED})`, () => {
  it('flakyLinksAndOutages_depotHoldsEveryJournalsExportExactlyOnce', async () => {
    const depot = new DepotSim();
    const buses = await runFleet(
      { seed: SEED, buses: 2, ridersPerBus: 14, depotFor: async () => depot,
        failChance: 0.2, lostAnswerChance: 0.35 },
      () => undefined,
      () => undefined,
    );
    expect(buses.map((b) => b.terminalId)).toEqual(['SIM00001', 'SIM00002']);
    for (const bus of buses) {
      expect(fleetCheckBus(bus, depot)).toEqual([]);
      expect(bus.backlogLines).toBe(0);
      // A lost answer makes the depot hold more than the uploader heard of, never less.
      expect(bus.upload.recordsStored).toBeLessThanOrEqual(depot.records.get(bus.terminalId)?.size ?? 0);
      expect(bus.faultsInjected).toBeGreaterThan(0);
    }
    expect(buses.some((b) => b.upload.duplicates > 0)).toBe(true);
  }, 300_000);
});
