// RF air-time model against hand arithmetic and pn532.md §6's worked qPBOC example.

import { describe, expect, it } from 'vitest';
import {
  PN532_FSD_BYTES,
  iso14443EtuUs,
  iso14443ExchangeAirMs,
  iso14443FrameSizeBytes,
} from '../../src/pn532_sim/pn532_sim_rf_timing.js';

describe('iso14443 air time', () => {
  it('etu_at106_is128CarrierCycles', () => {
    expect(iso14443EtuUs(106)).toBeCloseTo((128 / 13.56e6) * 1e6, 9);
    expect(iso14443EtuUs(848)).toBeCloseTo((16 / 13.56e6) * 1e6, 9);
  });

  it('frameSizeTable_followsIso14443_4Table1', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 12].map(iso14443FrameSizeBytes)).toEqual([
      16, 24, 32, 40, 48, 64, 96, 128, 256, 256,
    ]);
  });

  it('readRecord5To250_typeA106_matchesHandCount', () => {
    // By hand: C-APDU 5 bytes = 1 I-block of 8 bytes. R-APDU 250 bytes in FSD-64 blocks of 61
    // payload bytes = 5 I-blocks (265 bytes), 4 R(ACK)s of 3 bytes from the reader.
    // 10 frames: 285 bytes * 9 etu + 10 * 2 etu (SOF/EOF), plus 10 * 90 us turnaround.
    const etu = (128 / 13.56e6) * 1e3;
    const expectedMs = (285 * 9 + 10 * 2) * etu + 10 * 0.09;
    const ms = iso14443ExchangeAirMs({
      type: 'A',
      bitRateKbps: 106,
      capduBytes: 5,
      rapduBytes: 250,
      fscBytes: 256,
      fsdBytes: PN532_FSD_BYTES,
    });
    expect(ms).toBeCloseTo(expectedMs, 9);
  });

  it('workedQpbocTap_isAbout140msOfRfAt106', () => {
    // pn532.md §6: PPSE 20/56, AID 14/59, GPO 41/225, 4 x READ RECORD 5/250 -> ~140 ms.
    const exchanges: [number, number][] = [
      [20, 56],
      [14, 59],
      [41, 225],
      [5, 250],
      [5, 250],
      [5, 250],
      [5, 250],
    ];
    const total = exchanges.reduce(
      (sum, [c, r]) =>
        sum +
        iso14443ExchangeAirMs({
          type: 'A',
          bitRateKbps: 106,
          capduBytes: c,
          rapduBytes: r,
          fscBytes: 256,
          fsdBytes: PN532_FSD_BYTES,
        }),
      0,
    );
    expect(total).toBeGreaterThan(125);
    expect(total).toBeLessThan(155);
  });

  it('higherBitRate_shortensAirTimeButNotTurnarounds', () => {
    const at = (kbps: 106 | 424): number =>
      iso14443ExchangeAirMs({
        type: 'B',
        bitRateKbps: kbps,
        capduBytes: 5,
        rapduBytes: 250,
        fscBytes: 128,
        fsdBytes: 64,
      });
    expect(at(424)).toBeLessThan(at(106) / 2);
    expect(at(424)).toBeGreaterThan(at(106) / 4);
  });
});
