// Order statistics and --compare, against definitions written out in the test.

import { describe, expect, it } from 'vitest';
import { Prng } from '../../host-sim/src/prng.js';
import { compareResults, compareLines } from '../report/report_compare.js';
import { percentileSorted, statsOf } from '../report/report_stats.js';
import { BENCH_RESULT_SCHEMA, type BenchResult } from '../report/report_types.js';

/** Nearest rank by counting: the smallest x with #{y <= x} >= p % of n. */
function bruteNearestRank(samples: readonly number[], p: number): number {
  const candidates = [...samples].sort((a, b) => a - b);
  for (const x of candidates) {
    const below = samples.filter((y) => y <= x).length;
    if (below * 100 >= p * samples.length) return x;
  }
  return NaN;
}

function result(latencyMedian: number, wasmBytes: number): BenchResult {
  const stats = statsOf([latencyMedian]);
  return {
    schema: BENCH_RESULT_SCHEMA,
    createdAt: '2026-11-24T00:00:00.000Z',
    machine: { node: 'v20', arch: 'x64', cpu: 'test', cores: 2 },
    seed: 1,
    tapsPerScenario: 1,
    suites: ['e2e'],
    scenarios: [
      {
        id: 'base',
        label: 'base',
        config: { baudRate: 921600, rfBitRateKbps: 106, mode: 'ec', card: 'x', iccKeyBits: 1024 },
        taps: 1,
        results: { approved: 1 },
        latencyMs: stats,
        transactionMs: stats,
        phasesMs: {
          detect: stats,
          uart: stats,
          rf: stats,
          card: stats,
          display: stats,
          other: stats,
        },
        ownUs: {
          kernel: stats,
          hal: stats,
          display: stats,
          indicator: stats,
          journalCpu: stats,
          journalDisk: stats,
        },
        ownTotalUs: stats,
        endToEndMs: stats,
        ownSharePct: 1,
        apdusMedian: 11,
        uartBytesMedian: 1354,
        latencySamplesMs: [latencyMedian],
      },
    ],
    burst: null,
    footprint: {
      wasmBytes,
      wasmGzipBytes: 1,
      componentWasmBytes: null,
      linearMemoryBytes: 262144,
      touchedHighWaterBytes: 1000,
      touchedBytes: 10,
      memoryGrew: false,
      workload: 'test',
    },
    micro: [],
  };
}

describe('report statistics', () => {
  it('percentiles_matchTheNearestRankDefinition', () => {
    const prng = new Prng(77);
    for (const n of [1, 2, 5, 99, 100, 101, 250]) {
      const samples = Array.from({ length: n }, () => prng.below(100_000) / 100);
      const sorted = [...samples].sort((a, b) => a - b);
      for (const p of [50, 90, 99, 100]) {
        expect(percentileSorted(sorted, p), `n ${n} p ${p} seed 77`).toBe(
          bruteNearestRank(samples, p),
        );
      }
      const s = statsOf(samples);
      expect(s.max).toBe(Math.max(...samples));
      expect(s.min).toBe(Math.min(...samples));
    }
  });

  it('median_ofAnEvenCountIsTheMeanOfTheMiddlePair', () => {
    expect(statsOf([4, 1, 3, 2]).median).toBe(2.5);
    expect(statsOf([5, 1, 3]).median).toBe(3);
  });
});

describe('--compare', () => {
  it('compare_reportsThePercentChangeOfSharedFigures', () => {
    const changes = compareResults(result(300, 50_000), result(330, 45_000));
    const latency = changes.find((c) => c.name === 'base latency median');
    const wasm = changes.find((c) => c.name === 'kernel.wasm');
    expect(latency?.changePct).toBeCloseTo(10, 9);
    expect(wasm?.changePct).toBeCloseTo(-10, 9);
    const text = compareLines(changes, 'old.json').join('\n');
    expect(text).toContain('+10.0 %');
    expect(text).toContain('-10.0 %');
  });
});
