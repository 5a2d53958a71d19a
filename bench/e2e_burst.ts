// Boarding burst: riders queue at the validator; taps per minute, queueing, and the cold path.
//
// Sketch: a rider's cycle at the validator is step-up (300-900 ms to bring the card in after
// the previous one left) + tap (~330 ms) + hold (150-700 ms after the beep) + the removal check
// (the validator polls presence every 100 ms): about 1.3 s, so one validator serves about 45
// riders a minute when they queue, and 60 riders arriving within a minute must wait.

import { Prng } from '../host-sim/src/prng.js';
import { createE2eBoard, type E2eBoard } from './e2e_board.js';
import { benchCard, type BenchCardKind } from './e2e_cards.js';
import { ownTimes } from './e2e_latency.js';
import { ownTotalNs } from './e2e_own_time.js';
import { runRiders, type RiderPlan, type TapSample } from './e2e_taps.js';
import { countBy, statsOf } from './report/report_stats.js';
import type { BurstResult } from './report/report_types.js';

/** Options of the burst; `riders` arrive within `arrivalSpanMs`. */
export interface BurstOptions {
  readonly seed: number;
  readonly riders: number;
  readonly arrivalSpanMs: number;
  /** Polling with no card before the first rider, and again before the last tap. */
  readonly idleMs: number;
}

export const BURST_DEFAULT: Omit<BurstOptions, 'seed'> = {
  riders: 60,
  arrivalSpanMs: 60_000,
  idleMs: 300_000,
};

/** Nine in ten riders carry a 1024-bit plastic card, one in ten a 1984-bit one. */
function burstKind(prng: Prng): BenchCardKind {
  return prng.chance(0.1) ? 'plastic-1984' : 'plastic-1024';
}

function rider(prng: Prng, i: number, arrivalMs: number, kind: BenchCardKind): RiderPlan {
  return {
    card: benchCard(kind, prng.fork(`card-${i}`)),
    arrivalMs,
    stepUpMs: prng.between(300, 900),
    holdMs: prng.between(150, 700),
  };
}

async function burstBoard(seed: number): Promise<E2eBoard> {
  return createE2eBoard({ seed, baudRate: 921600, rfBitRateKbps: 106, mode: 'ec', kernel: null });
}

/** Riders arrive at uniformly random instants of [startMs, startMs + spanMs), in order. */
function arrivals(prng: Prng, count: number, startMs: number, spanMs: number): number[] {
  const at: number[] = [];
  for (let i = 0; i < count; i += 1) at.push(startMs + prng.below(spanMs * 1000) / 1000);
  return at.sort((a, b) => a - b);
}

function perMinute(samples: readonly TapSample[]): number {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined) return 0;
  const spanMs = last.placedMs + last.latencyMs - first.placedMs;
  return spanMs > 0 ? (samples.length * 60_000) / spanMs : 0;
}

/**
 * A fresh board idles `idleMs`, then a cold first rider taps; `riders` more arrive within
 * `arrivalSpanMs`; after another idle period one last rider taps. A second board takes every
 * rider queued at once (the ceiling). Our own time is replayed for the cold taps.
 */
export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const prng = new Prng(options.seed).fork('burst');
  const board = await burstBoard(options.seed);
  let samples: TapSample[];
  try {
    const t0 = board.clock.nowMs();
    const firstAt = t0 + options.idleMs;
    const times = arrivals(prng, options.riders, firstAt + 2_000, options.arrivalSpanMs);
    // The two cold-path riders carry the common 1024-bit card, so they compare with the burst.
    const plans = [
      rider(prng, 0, firstAt, 'plastic-1024'),
      ...times.map((at, i) => rider(prng, i + 1, at, burstKind(prng))),
    ];
    const lastAt = (times[times.length - 1] ?? firstAt) + 5_000 + options.idleMs;
    plans.push(rider(prng, options.riders + 1, lastAt, 'plastic-1024'));
    samples = await runRiders(board, plans);
  } finally {
    board.dispose();
  }
  const saturated = await runSaturated(options.seed, options.riders, prng.fork('saturated'));
  const owns = await ownTimes(samples, options.seed);
  const cold = samples[0];
  const afterIdle = samples[samples.length - 1];
  const burst = samples.slice(1, -1);
  if (cold === undefined || afterIdle === undefined) throw new Error('burst ran no tap');
  const kernelUs = burst.map((s) => s.kernelNs / 1000);
  const answers = saturated.map((s) => s.placedMs + s.latencyMs);
  return {
    riders: options.riders,
    arrivalSpanMs: options.arrivalSpanMs,
    tapsPerMinute: perMinute(burst),
    saturatedTapsPerMinute: perMinute(saturated),
    queueMs: statsOf(burst.map((s) => s.queueMs)),
    latencyMs: statsOf(burst.map((s) => s.latencyMs)),
    cycleMs: statsOf(answers.slice(1).map((at, i) => at - (answers[i] ?? at))),
    results: countBy(burst.map((s) => s.result)),
    cold: {
      idleMs: options.idleMs,
      firstLatencyMs: cold.latencyMs,
      firstKernelUs: cold.kernelNs / 1000,
      firstOwnUs: owns[0] === undefined ? NaN : ownTotalNs(owns[0]) / 1000,
      afterIdleLatencyMs: afterIdle.latencyMs,
      afterIdleKernelUs: afterIdle.kernelNs / 1000,
      warmKernelUsMedian: statsOf(kernelUs).median,
    },
  };
}

/** Every rider already waiting when the first one taps: the validator's ceiling. */
async function runSaturated(seed: number, riders: number, prng: Prng): Promise<TapSample[]> {
  const board = await burstBoard(seed + 1);
  try {
    const at = board.clock.nowMs() + 1_000;
    const plans = Array.from({ length: riders }, (_, i) => rider(prng, i, at, burstKind(prng)));
    return await runRiders(board, plans);
  } finally {
    board.dispose();
  }
}
