// The latency split of simulated taps, checked against physics computed here from byte counts.

import { describe, expect, it } from 'vitest';
import { Prng } from '../../host-sim/src/prng.js';
import { createE2eBoard } from '../e2e_board.js';
import { benchCard } from '../e2e_cards.js';
import type { LatencyScenario } from '../e2e_latency.js';
import { spacedRiders } from '../e2e_latency.js';
import { runRiders, TAP_PHASES, type TapSample } from '../e2e_taps.js';

const SEED = 20261124;

async function taps(
  baudRate: number,
  rfBitRateKbps: LatencyScenario['rfBitRateKbps'],
  count: number,
): Promise<TapSample[]> {
  const board = await createE2eBoard({
    seed: SEED,
    baudRate,
    rfBitRateKbps,
    mode: 'ec',
    kernel: null,
  });
  try {
    const plans = spacedRiders(new Prng(SEED), () => 'plastic-1024', count, 0);
    return await runRiders(board, plans);
  } finally {
    board.dispose();
  }
}

/** Wire time of bytes on an 8N1 UART: 10 bits per byte. */
function uartMs(bytes: number, baud: number): number {
  return (bytes * 10 * 1000) / baud;
}

describe('e2e taps (seed printed on failure)', () => {
  it(`approvedTaps_phasesAddUpAndUartMatchesByteCount (seed ${SEED})`, async () => {
    const samples = await taps(921600, 106, 3);
    for (const s of samples) {
      expect(s.result, `seed ${SEED}`).toBe('approved');
      const sum = TAP_PHASES.reduce((ms, p) => ms + s.phases[p], 0);
      expect(sum).toBeCloseTo(s.latencyMs, 6);
      for (const p of TAP_PHASES) expect(s.phases[p]).toBeGreaterThanOrEqual(0);
      // The PN532 ACK (6 bytes per command) overlaps the RF exchange: the UART phase holds the
      // whole wire time of the host-link bytes except at most those ACKs.
      const acks = s.pn532Records.filter((r) => r.bytes.length === 6).length;
      expect(s.phases.uart).toBeLessThanOrEqual(uartMs(s.uartBytes, 921600) + 1e-9);
      expect(s.phases.uart).toBeGreaterThanOrEqual(uartMs(s.uartBytes - 6 * acks, 921600) - 1e-9);
      expect(s.journalEntries.map((e) => e.kind)).toEqual(['pending', 'final']);
      expect(s.kernelNs).toBeGreaterThan(0);
    }
  });

  it('uartPhase_scalesWithTheBaudRate_airTimeWithTheBitRate', async () => {
    const fast = (await taps(921600, 106, 1))[0];
    const slow = (await taps(115200, 212, 1))[0];
    if (fast === undefined || slow === undefined) throw new Error('no tap');
    // Same card data both times: the bytes are equal and 921600 / 115200 = 8. At 115200 the
    // ACKs outlast the PN532's own firmware delay, so only their overlap with RF differs.
    expect(slow.uartBytes).toBe(fast.uartBytes);
    expect(slow.phases.uart / fast.phases.uart).toBeGreaterThan(7.5);
    expect(slow.phases.uart / fast.phases.uart).toBeLessThan(8.1);
    // ISO 14443: the etu halves from 106 to 212 kbit/s; the fixed frame delays do not.
    const ratio = fast.phases.rf / slow.phases.rf;
    expect(ratio).toBeGreaterThan(1.6);
    expect(ratio).toBeLessThan(2);
    expect(slow.phases.card).toBeCloseTo(fast.phases.card, 9);
  });

  it('benchCard_drawsADistinctPanPerCard', () => {
    const prng = new Prng(SEED);
    const pans = new Set<string>();
    for (let i = 0; i < 20; i += 1) {
      const card = benchCard('plastic-1024', prng.fork(`c${i}`));
      pans.add(card.profile.applications[0]?.pan ?? '');
    }
    expect(pans.size).toBe(20);
  });
});
