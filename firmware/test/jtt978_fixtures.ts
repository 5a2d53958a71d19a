// Fixtures of the JT/T 978 fare tests: a seeded PRNG and a fare set with a transit table.

import { paramsContentParse } from '../src/app/params/params_files.js';
import type { FareParams } from '../src/app/params/params_files.js';
import { paramsStarterFiles } from '../src/cli/params_init.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';

/** Parses a set whose fares.json is `fares` (the rest from the starter set). */
export function faresOf(fares: unknown): FareParams {
  const files = paramsStarterFiles('BUS00001', 'B12', TEST_DENY_KEY);
  files.set('fares.json', new TextEncoder().encode(JSON.stringify(fares)));
  return paramsContentParse(files).fares;
}

/** mulberry32: a small seeded PRNG for test inputs (values in [0, 1)). */
export function prngFromSeed(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** fares.json of a city with one segment line by stops, one by distance and a flat line. */
export function transitFaresJson(): Record<string, unknown> {
  return {
    currencyCode: 156,
    flatFareMinor: 200,
    categories: [],
    transfer: { discountMinor: 100, windowSec: 5400 },
    duplicateTapWindowSec: 60,
    tornWindowSec: 600,
    transit: {
      cityCodeHex: '5840',
      institutionHex: '0102030405060708',
      operatorCodeHex: '0001',
      lines: [
        {
          kind: 'segment', lineId: 'B12', lineCode: 12, basis: 'stops',
          stops: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((stop) => ({ stop, distanceM: stop * 800 })),
          bands: [{ upTo: 3, fareMinor: 200 }, { upTo: 6, fareMinor: 300 },
            { upTo: 9, fareMinor: 400 }],
          markedAmountMinor: 400, maxRideMin: 120,
        },
        {
          kind: 'segment', lineId: 'K7', lineCode: 7, basis: 'distance',
          stops: [{ stop: 1, distanceM: 0 }, { stop: 2, distanceM: 4000 },
            { stop: 3, distanceM: 9500 }, { stop: 5, distanceM: 21000 }],
          bands: [{ upTo: 5000, fareMinor: 200 }, { upTo: 10000, fareMinor: 300 },
            { upTo: 30000, fareMinor: 600 }],
          markedAmountMinor: 800, maxRideMin: 180,
        },
        { kind: 'flat', lineId: 'F1', lineCode: 1, fareMinor: 150 },
      ],
    },
  };
}
