// One rider's tap on any board: wait, present the card, read the screen, hold, take it away.

import { withFaults } from '../cards/card_faults.js';
import type { VirtualCard } from '../cards/card_model.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { IndicatorSignal } from '../../../hal/src/ports/indicator_port.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import type { DwinDisplaySim } from '../display_sim/dwin_display_sim.js';
import type { TapLine } from './bus_run.js';
import type { RiderTap } from './bus_riders.js';

/** What a rider touches: the field (emulator), the clock, the screen and the beep. */
export interface RideBoard {
  readonly clock: ClockPort;
  readonly field: {
    placeCard(card: VirtualCard): void;
    removeCard(card: VirtualCard): void;
  };
  readonly screen: DwinDisplaySim;
  lastSignal(): IndicatorSignal | null;
  /**
   * Idle time a squeezed ride left out (see RidePace). A real-time board moves its wall
   * clock on by it, so fare windows (duplicate tap, transfer, torn) see the riders' drawn
   * timeline; a board whose riders are not squeezed is never called with more than 0.
   */
  skipIdleMs(skippedMs: number): void;
  /** The bus reaches `stop` (the validator's stop source); absent: the board has none. */
  atStop?(stop: number): void;
}

/** Longest wait for the validator's answer before the tap counts as unanswered (liveness). */
export const RIDE_ANSWER_WAIT_MS = 10_000;

/**
 * How riders' idle time maps onto the clock. A real-time run (pty mode) would be mostly
 * waiting, so it may squeeze the idle gap before a tap and the hold after the answer; the tap
 * itself always runs at full speed. The floors keep a squeezed rider physically plausible: a
 * card that leaves and comes back faster than the validator's removal check (every
 * `removalIntervalMs`) was never seen leaving, and the validator would wait its removal
 * timeout, which no real rider can cause.
 */
export interface RidePace {
  /** Factor on gapMs and holdMs (1 = as drawn). */
  readonly scale: number;
  /** Squeezed gaps stay at least this long (never longer than drawn). */
  readonly gapMinMs: number;
  /** Squeezed holds stay at least this long (never longer than drawn). */
  readonly holdMinMs: number;
}

/** The riders as drawn: what the deterministic memory mode uses. */
export const RIDE_PACE_AS_DRAWN: RidePace = { scale: 1, gapMinMs: 0, holdMinMs: 0 };

function squeeze(drawnMs: number, pace: RidePace, minMs: number): number {
  return Math.min(drawnMs, Math.max(minMs, drawnMs * pace.scale));
}

/**
 * Rides one tap: idles the (paced) gap, puts the card (with its early-pull fault, if any) in
 * the field, waits for the answer `listen` delivers or RIDE_ANSWER_WAIT_MS, reads the screen
 * and the beep, holds the card the (paced) hold time, then takes it away.
 */
export async function rideTap(
  board: RideBoard,
  tap: RiderTap,
  index: number,
  pace: RidePace,
  listen: (resolve: (report: TapReport) => void) => void,
): Promise<TapLine> {
  const gapMs = squeeze(tap.gapMs, pace, pace.gapMinMs);
  board.skipIdleMs(tap.gapMs - gapMs);
  await board.clock.sleepMs(gapMs);
  const faults =
    tap.pullAfterCommands === null
      ? []
      : [{ kind: 'remove-after-command' as const, command: tap.pullAfterCommands }];
  board.atStop?.(tap.stop);
  const presented = withFaults(tap.card.card, { faults });
  const answered = new Promise<TapReport>((resolve) => listen(resolve));
  const placedMs = board.clock.nowMs();
  board.field.placeCard(presented);
  const report = await Promise.race([
    answered,
    board.clock.sleepMs(RIDE_ANSWER_WAIT_MS).then(() => null),
  ]);
  const screen = Object.values(board.screen.snapshot().texts)
    .filter((t) => t !== '')
    .join(' / ');
  const signal = report === null ? null : board.lastSignal();
  const holdMs = squeeze(tap.holdMs, pace, pace.holdMinMs);
  board.skipIdleMs(tap.holdMs - holdMs);
  await board.clock.sleepMs(holdMs);
  board.field.removeCard(presented);
  return {
    index,
    rider: tap.rider,
    cardName: tap.card.name,
    pulledEarly: tap.pullAfterCommands !== null,
    latencyMs: report === null ? null : report.endedMs - placedMs,
    report,
    screen,
    signal,
    atMs: placedMs,
    stop: tap.stop,
  };
}
