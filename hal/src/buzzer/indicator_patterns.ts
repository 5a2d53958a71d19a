// Beep-and-LED patterns per tap outcome: data, so a board can retune them without code.

import assert from 'node:assert/strict';
import type { IndicatorSignal } from '../ports/indicator_port.js';

/** Output state held for `durationMs`. `toneHz` 0 means the buzzer is silent. */
export interface IndicatorStep {
  readonly toneHz: number;
  readonly green: boolean;
  readonly red: boolean;
  readonly durationMs: number;
}

/** LED state left on after the last step (the buzzer is always silenced at the end). */
export interface IndicatorRest {
  readonly green: boolean;
  readonly red: boolean;
}

export interface IndicatorPattern {
  readonly steps: readonly IndicatorStep[];
  readonly rest: IndicatorRest;
}

/** Typical piezo resonance; the loudest tone for the least drive. */
export const TONE_HZ_HIGH = 2_700;
/** A lower tone for refusals, so a rider hears "no" without looking. */
export const TONE_HZ_LOW = 1_800;
/** Bound on steps per pattern: patterns are short by design (a tap every ~300 ms at peak). */
export const INDICATOR_STEPS_MAX = 32;

const OFF: IndicatorRest = { green: false, red: false };

function beeps(
  count: number,
  toneHz: number,
  led: 'green' | 'red',
  beepMs: number,
  totalMs: number,
): IndicatorStep[] {
  const steps: IndicatorStep[] = [];
  const green = led === 'green';
  const red = led === 'red';
  for (let i = 0; i < count; i++) {
    steps.push({ toneHz, green, red, durationMs: beepMs });
    const gapMs = i + 1 < count ? beepMs : totalMs - (2 * count - 1) * beepMs;
    steps.push({ toneHz: 0, green, red, durationMs: gapMs });
  }
  return steps;
}

/**
 * One short beep and green for approved; three beeps and red for declined; a long low beep and
 * red for the deny list and errors; two beeps for "present again" cases. Each refusal a rider
 * can act on has its own rhythm (count and length of low beeps), so the driver and the rider
 * hear the cause without reading: two long low beeps for 余额不足, four short for an expired
 * card, one long for a card this lane does not take, five very short for a failed
 * authentication, three short high ones on red for inconsistent card data. An admission (fare
 * accepted, paid later) is one long high beep on green. Every timed pattern ends within 2 s so
 * the validator is quiet before the next rider's tap.
 */
export const INDICATOR_PATTERNS_DEFAULT: Readonly<Record<IndicatorSignal, IndicatorPattern>> = {
  approved: { steps: beeps(1, TONE_HZ_HIGH, 'green', 150, 1_000), rest: OFF },
  declined: { steps: beeps(3, TONE_HZ_LOW, 'red', 100, 1_000), rest: OFF },
  tryAgain: { steps: beeps(2, TONE_HZ_HIGH, 'red', 100, 1_000), rest: OFF },
  multipleCards: { steps: beeps(2, TONE_HZ_HIGH, 'red', 100, 1_000), rest: OFF },
  alreadyPaid: { steps: beeps(2, TONE_HZ_HIGH, 'green', 100, 1_000), rest: OFF },
  denyList: { steps: beeps(1, TONE_HZ_LOW, 'red', 1_000, 2_000), rest: OFF },
  error: { steps: beeps(1, TONE_HZ_LOW, 'red', 800, 1_000), rest: OFF },
  outOfService: { steps: [], rest: { green: false, red: true } },
  off: { steps: [], rest: OFF },
  admitted: { steps: beeps(1, TONE_HZ_HIGH, 'green', 400, 1_000), rest: OFF },
  insufficientBalance: { steps: beeps(2, TONE_HZ_LOW, 'red', 250, 1_000), rest: OFF },
  expired: { steps: beeps(4, TONE_HZ_LOW, 'red', 80, 1_000), rest: OFF },
  notAccepted: { steps: beeps(1, TONE_HZ_LOW, 'red', 400, 1_000), rest: OFF },
  authFailed: { steps: beeps(5, TONE_HZ_LOW, 'red', 60, 1_000), rest: OFF },
  cardDataError: { steps: beeps(3, TONE_HZ_HIGH, 'red', 80, 1_000), rest: OFF },
};

/** Programmer-error checks for a pattern table, run once when a player is built. */
export function indicatorPatternAssertValid(pattern: IndicatorPattern): void {
  assert.ok(pattern.steps.length <= INDICATOR_STEPS_MAX, 'too many indicator steps');
  for (const step of pattern.steps) {
    assert.ok(Number.isSafeInteger(step.durationMs) && step.durationMs > 0, 'step duration');
    assert.ok(step.toneHz === 0 || step.toneHz > 0, 'step tone');
  }
}
