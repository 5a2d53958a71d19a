// IndicatorPort: plays patterns on a buzzer and LEDs in the background, timed by the ClockPort.

import type { BuzzerPort, LedPort } from '../ports/buzzer_port.js';
import type { ClockPort } from '../ports/clock_port.js';
import { halErr, halOk, HalStatus, type HalResult } from '../ports/hal_status.js';
import {
  INDICATOR_SIGNALS,
  type IndicatorPort,
  type IndicatorSignal,
} from '../ports/indicator_port.js';
import {
  indicatorPatternAssertValid,
  type IndicatorPattern,
  type IndicatorStep,
} from './indicator_patterns.js';

/** The hardware a board has; a missing output (null) is simply not driven. */
export interface IndicatorOutputs {
  readonly buzzer: BuzzerPort | null;
  readonly green: LedPort | null;
  readonly red: LedPort | null;
}

export interface IndicatorPlayerOptions {
  readonly outputs: IndicatorOutputs;
  readonly clock: ClockPort;
  readonly patterns: Readonly<Record<IndicatorSignal, IndicatorPattern>>;
}

interface OutputState {
  readonly toneHz: number;
  readonly green: boolean;
  readonly red: boolean;
}

const ALL_OFF: OutputState = { toneHz: 0, green: false, red: false };

/** The pattern now playing, or the last one, with how it ended once it has. */
interface Playback {
  readonly generation: number;
  readonly done: Promise<HalResult<void>>;
  readonly resolve: (result: HalResult<void>) => void;
  settled: boolean;
}

/**
 * Cancellation is by generation number: each `signal` bumps it, and the background loop of an
 * older pattern checks it after every sleep and before every write, so it goes quiet without a
 * cancellable timer. All output writes go through one queue, so a write of an old pattern that
 * is already under way completes before the new pattern's first write, never after.
 */
export class IndicatorPlayer implements IndicatorPort {
  private generation = 0;
  private playback: Playback | null = null;
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: IndicatorPlayerOptions) {
    for (const signal of INDICATOR_SIGNALS) indicatorPatternAssertValid(options.patterns[signal]);
  }

  /**
   * See IndicatorPort.signal. Resolves after the first step's writes; later steps run on the
   * clock in a background task that this call does not wait for.
   *
   * Errors: READER_IO (a first-step write failed), CANCELLED (a newer `signal` call got in
   * before this one's first step was written; the newer pattern plays).
   */
  async signal(signal: IndicatorSignal): Promise<HalResult<void>> {
    this.generation += 1;
    const generation = this.generation;
    this.playback?.resolve(halErr(HalStatus.CANCELLED, `replaced by ${signal}`));
    // Kept local: after any await, this.playback may already belong to a newer signal.
    const playback = playbackNew(generation);
    this.playback = playback;
    const pattern = this.options.patterns[signal];
    const startMs = this.options.clock.nowMs();
    const first = pattern.steps[0];
    const firstState = first === undefined ? restState(pattern) : stepState(first);
    const applied = await this.apply(firstState, generation);
    if (!applied.ok) {
      if (applied.error !== HalStatus.CANCELLED) await this.failSafe(playback, applied);
      return applied;
    }
    if (first === undefined) {
      playback.resolve(halOk(undefined));
    } else {
      // Deliberately not awaited: the tap loop must not wait for a 2 s pattern.
      void this.playRest(pattern, playback, startMs);
    }
    return halOk(undefined);
  }

  /** See IndicatorPort.whenDone. Resolves ok at once when nothing has ever played. */
  whenDone(): Promise<HalResult<void>> {
    return this.playback?.done ?? Promise.resolve(halOk(undefined));
  }

  /** Steps 2..n and the rest state, each at its absolute deadline so sleeps never drift. */
  private async playRest(pattern: IndicatorPattern, playback: Playback, startMs: number) {
    const generation = playback.generation;
    let deadlineMs = startMs;
    for (let i = 0; i < pattern.steps.length; i++) {
      deadlineMs += pattern.steps[i]?.durationMs ?? 0;
      await this.options.clock.sleepMs(Math.max(0, deadlineMs - this.options.clock.nowMs()));
      if (generation !== this.generation) return;
      const next = pattern.steps[i + 1];
      const applied = await this.apply(
        next === undefined ? restState(pattern) : stepState(next),
        generation,
      );
      if (!applied.ok) {
        if (applied.error !== HalStatus.CANCELLED) await this.failSafe(playback, applied);
        return;
      }
    }
    playback.resolve(halOk(undefined));
  }

  /** After a failed write: try to leave everything off, then report the first failure. */
  private async failSafe(playback: Playback, failure: HalResult<void>): Promise<void> {
    await this.apply(ALL_OFF, playback.generation);
    playback.resolve(failure);
  }

  /** Queues a state change; it is skipped (CANCELLED) if a newer signal arrived meanwhile. */
  private apply(target: OutputState, generation: number): Promise<HalResult<void>> {
    const run = async (): Promise<HalResult<void>> => {
      if (generation !== this.generation) return halErr(HalStatus.CANCELLED, 'superseded');
      return this.applyNow(target);
    };
    const result = this.writes.then(run);
    this.writes = result.catch(() => undefined);
    return result;
  }

  /** Drives every output; the drivers skip writes for outputs already in the wanted state. */
  private async applyNow(target: OutputState): Promise<HalResult<void>> {
    const { buzzer, green, red } = this.options.outputs;
    const results: HalResult<void>[] = [];
    if (buzzer !== null) {
      results.push(await (target.toneHz === 0 ? buzzer.toneOff() : buzzer.toneOn(target.toneHz)));
    }
    if (green !== null) results.push(await green.setLit(target.green));
    if (red !== null) results.push(await red.setLit(target.red));
    const failed = results.find((r) => !r.ok);
    if (failed === undefined || failed.ok) return halOk(undefined);
    return halErr(HalStatus.READER_IO, failed.detail);
  }
}

function stepState(step: IndicatorStep): OutputState {
  return { toneHz: step.toneHz, green: step.green, red: step.red };
}

function restState(pattern: IndicatorPattern): OutputState {
  return { toneHz: 0, green: pattern.rest.green, red: pattern.rest.red };
}

function playbackNew(generation: number): Playback {
  let resolveDone: (result: HalResult<void>) => void = () => undefined;
  const done = new Promise<HalResult<void>>((resolve) => {
    resolveDone = resolve;
  });
  const playback: Playback = {
    generation,
    done,
    settled: false,
    resolve: (result) => {
      if (playback.settled) return;
      playback.settled = true;
      resolveDone(result);
    },
  };
  return playback;
}
