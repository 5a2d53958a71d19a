// One rider's tap on a swarm board, stepped on the board's clock until it ends or power goes.

import {
  READER_ERROR_TURNS_MAX,
  READER_REOPEN_BACKOFF,
  recoverReader,
} from '../../../firmware/src/app/validator/reader_recovery.js';
import { withFaults, type CardFault } from '../cards/card_faults.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import type { RiderCard } from '../sim/bus_riders.js';
import type { StorageSim } from '../storage_sim.js';
import type { SwarmBoard } from './swarm_board.js';

/** Longest wait for the validator's answer before the tap counts as unanswered. */
export const SWARM_ANSWER_WAIT_MS = 10_000;
/** Clock steps one tap may take (a guard against a livelock of the simulated line). */
export const SWARM_TAP_STEPS_MAX = 200_000;

/**
 * The validator's loop on one board, and how it ended (it runs until the board dies), with the
 * board's reader supervision (firmware/src/boards/bus_validator.ts, runLoop): a hung-up serial
 * device or READER_ERROR_TURNS_MAX failing turns in a row are reported (reader-lost), shown
 * (out of service) and brought back by the firmware's `recoverReader`.
 */
export class BoardLoop {
  private waiting: ((report: TapReport) => void) | null = null;
  private error: unknown = null;
  private failed = false;

  /** `supervise` false: the defect of issue 11, a lost reader is never reopened. */
  constructor(
    readonly board: SwarmBoard,
    supervise: boolean,
  ) {
    const loop = async (): Promise<void> => {
      let failingTurns = 0;
      for (;;) {
        const errorsBefore = board.supervision.readerErrors();
        const report = await board.validator.turn((event) => {
          if (event.kind === 'CardProcessed') this.waiting?.(event.report);
        });
        const failed = report === null && board.supervision.readerErrors() > errorsBefore;
        failingTurns = failed ? failingTurns + 1 : 0;
        const lost = board.plug.lost();
        if (!supervise || (lost === null && failingTurns < READER_ERROR_TURNS_MAX)) continue;
        await readerDown(board, lost ?? `${failingTurns} reader errors in a row`);
        failingTurns = 0;
      }
    };
    loop().catch((error: unknown) => {
      this.failed = true;
      this.error = error;
    });
  }

  /** The loop threw (only meaningful while the power is on). */
  crashed(): { error: unknown } | null {
    return this.failed ? { error: this.error } : null;
  }

  /** Resolves with the next report the validator produces. */
  nextReport(): Promise<TapReport> {
    return new Promise<TapReport>((resolve) => {
      this.waiting = resolve;
    });
  }

  stopListening(): void {
    this.waiting = null;
  }
}

/** Reports the reader down, shows it, reopens it with backoff, then shows the idle screen. */
async function readerDown(board: SwarmBoard, why: string): Promise<void> {
  const { supervision, plug, wall, validator } = board;
  supervision.log.log({ event: 'reader-lost', path: plug.path, detail: why });
  await supervision.display.show({ kind: 'outOfService' });
  await supervision.indicator.signal('outOfService');
  await recoverReader(
    {
      link: plug,
      reader: supervision.reader,
      clock: wall,
      random01: supervision.random01,
      // A board is never asked to stop: it runs until its power goes.
      stopRequested: () => false,
      log: supervision.log,
    },
    supervision.start,
    READER_REOPEN_BACKOFF,
  );
  await supervision.indicator.signal('off');
  await validator.showIdleScreen();
}

/** How a stepped operation ended. */
export type StepEnd = 'done' | 'power-cut' | 'crash';

/**
 * Steps the board's clock until `done()` holds, the medium loses power (everything on the
 * board stops at once, as on a real power loss) or the validator loop throws.
 * Throws on a deadlock (nothing scheduled while the operation is pending) or a livelock.
 */
export async function stepUntil(
  loop: BoardLoop,
  storage: StorageSim,
  done: () => boolean,
): Promise<StepEnd> {
  const clock = loop.board.clock;
  for (let steps = 0; ; steps += 1) {
    if (done()) return 'done';
    if (storage.isDown()) return 'power-cut';
    if (loop.crashed() !== null) return 'crash';
    if (steps > SWARM_TAP_STEPS_MAX) throw new Error('swarm: too many clock steps in one tap');
    if (!(await clock.wakeNext()) && !done()) {
      throw new Error(`swarm: deadlock at ${clock.nowMs()} ms`);
    }
  }
}

/** What the rider saw. */
export interface SwarmTapOutcome {
  readonly report: TapReport | null;
  readonly pulled: boolean;
}

/**
 * The rider's side: idle the gap (`beforePlace` runs then: faults that start with the tap),
 * present the card, wait for the answer, hold it unless pulled, take it away.
 */
export async function rideSwarmTap(
  loop: BoardLoop,
  card: RiderCard,
  timing: { readonly gapMs: number; readonly holdMs: number },
  pull: readonly CardFault[],
  beforePlace: () => void,
): Promise<SwarmTapOutcome> {
  const board = loop.board;
  await board.clock.sleepMs(timing.gapMs);
  beforePlace();
  const presented = withFaults(card.card, { faults: pull });
  const answered = loop.nextReport();
  board.pn532.placeCard(presented);
  const report = await Promise.race([
    answered,
    board.clock.sleepMs(SWARM_ANSWER_WAIT_MS).then(() => null),
  ]);
  loop.stopListening();
  // A rider who pulled the card is gone; the others hold it a moment after the answer.
  const pulled = !presented.present();
  if (!pulled) await board.clock.sleepMs(timing.holdMs);
  board.pn532.removeCard(presented);
  return { report, pulled };
}
