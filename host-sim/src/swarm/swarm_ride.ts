// One rider's tap on a swarm board, stepped on the board's clock until it ends or power goes.

import {
  READER_ERROR_TURNS_MAX,
  READER_REOPEN_BACKOFF,
  recoverReader,
} from '../../../firmware/src/app/validator/reader_recovery.js';
import { withFaults, type CardFault } from '../cards/card_faults.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import type { AnyRiderCard } from '../sim/bus_riders.js';
import type { StorageSim } from '../storage_sim.js';
import type { SwarmBoard } from './swarm_board.js';

/** Longest wait for the validator's answer before the tap counts as unanswered. */
export const SWARM_ANSWER_WAIT_MS = 10_000;
/** Clock steps one tap may take (a guard against a livelock of the simulated line). */
export const SWARM_TAP_STEPS_MAX = 200_000;
/**
 * Bound of the idle stretch run for real before the card arrives when a gap's idle polls are
 * skipped: each tap draws its kept stretch below it. One poll cycle at least (the validator's
 * 20 ms pause and its type A and type B polls: 25.5 ms on the emulator), so that the card
 * arrives at any phase of the cycle: in the pause, during the A poll or during the B poll.
 */
export const SWARM_IDLE_KEEP_MS = 30;
/**
 * Shortest stretch worth a skip; and the unit of the wait for the validator to be idle before
 * a gap's stretch can be skipped (SWARM_IDLE_STEPS_MAX of them at most).
 */
export const SWARM_IDLE_STEP_MS = 10;
/** The wait for that, in steps (the last removal seen, the idle screen shown, no op). */
export const SWARM_IDLE_STEPS_MAX = 40;
/**
 * Bound of the stretch of a held card run for real before the rider takes it away when the
 * hold's presence checks are skipped: one removal interval of the validator (100 ms) and the
 * presence check itself, so that the card leaves at any phase of the removal cycle.
 */
export const SWARM_HOLD_KEEP_MS = 110;

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
  private recovering = false;
  /** A look stepUntil takes between two wakes of the board's clock, until it says done. */
  private look: (() => boolean) | null = null;

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
        // Between taps: the ack the depot earned (bus_validator.ts, runTurns).
        await board.uploader.betweenTaps();
        const failed = report === null && board.supervision.readerErrors() > errorsBefore;
        failingTurns = failed ? failingTurns + 1 : 0;
        const lost = board.plug.lost();
        if (!supervise || (lost === null && failingTurns < READER_ERROR_TURNS_MAX)) continue;
        this.recovering = true;
        await readerDown(board, lost ?? `${failingTurns} reader errors in a row`);
        this.recovering = false;
        failingTurns = 0;
      }
    };
    const crashed = (error: unknown): void => {
      this.failed = true;
      this.error = error;
    };
    loop().catch(crashed);
    // The uploader's contacts beside the tap loop, until the board's power goes.
    board.uploader.run(() => false).catch(crashed);
  }

  /** The loop threw (only meaningful while the power is on). */
  crashed(): { error: unknown } | null {
    return this.failed ? { error: this.error } : null;
  }

  /**
   * The validator idles between two polls of an empty field: in WaitForCard, no reader
   * operation under way, no reader being brought back.
   */
  idle(): boolean {
    const { validator, plug } = this.board;
    if (this.failed || this.recovering || plug.lost() !== null) return false;
    return validator.state() === 'WaitForCard' && !this.board.readerBusy();
  }

  /**
   * The validator watches a card it has answered: in WaitForRemoval, no reader being brought
   * back. Its presence checks find the card there and change nothing but the time.
   */
  holding(): boolean {
    const { validator, plug } = this.board;
    if (this.failed || this.recovering || plug.lost() !== null) return false;
    return validator.state() === 'WaitForRemoval';
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

  /**
   * `look` runs each time stepUntil is about to wake the board's clock (every job of the last
   * wake has run: the board is between two steps of its own) until it returns true; a later
   * call replaces it. It may move time (skipFrozen) and arm alarms, nothing asynchronous.
   */
  lookBetweenWakes(look: () => boolean): void {
    this.look = look;
  }

  /** stepUntil's part: the look, dropped once it is done. */
  betweenWakes(): void {
    if (this.look !== null && this.look()) this.look = null;
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
  await validator.readerBack();
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
  // One wake at a time, each after every job the previous one caused (ClockSim.wakeUntil).
  const stop = (): boolean => {
    loop.betweenWakes();
    return done() || storage.isDown() || loop.crashed() !== null;
  };
  const end = await clock.wakeUntil(stop, SWARM_TAP_STEPS_MAX);
  if (done()) return 'done';
  if (end === 'idle') throw new Error(`swarm: deadlock at ${clock.nowMs()} ms`);
  if (end === 'limit') throw new Error('swarm: too many clock steps in one tap');
  return storage.isDown() ? 'power-cut' : 'crash';
}

/** Board time skipped frozen at a time while `passUntil` waits with the board idle. */
export const SWARM_PASS_SKIP_MS = 30_000;
/**
 * Board time run for real after each skip: the uploader sleeps its backoff in steps of 1 s
 * against an end time (Uploader.sleepUnless), so after a skip its next step finds the time
 * passed and it contacts the depot; then the tap loop's next turn writes the ack it earned.
 */
export const SWARM_PASS_RUN_MS = 2_000;

/**
 * Lets board time pass until `done()` holds or `boundMs` have passed ('bound'), the medium
 * loses power or the loop throws (as stepUntil). `done` is asked between stretches, when the
 * board waits on its clock. Each stretch runs SWARM_PASS_RUN_MS for real, then on to a moment
 * `still()` holds (the validator idles between two polls of an empty field; as idleGap waits
 * for one, SWARM_IDLE_STEPS_MAX steps at most); from there SWARM_PASS_SKIP_MS is skipped with
 * the board frozen, so that a wait of minutes costs a few polls a skip, not one every 25 ms.
 */
export async function passUntil(
  loop: BoardLoop,
  storage: StorageSim,
  boundMs: number,
  hooks: { readonly still: () => boolean; readonly done: () => boolean },
): Promise<StepEnd | 'bound'> {
  const clock = loop.board.clock;
  const endMs = clock.nowMs() + boundMs;
  for (;;) {
    if (hooks.done()) return 'done';
    const leftMs = endMs - clock.nowMs();
    if (leftMs <= 0) return 'bound';
    // The last stretch of the bound is run for real: the uploader gets its turn in it.
    const skipMs = Math.min(SWARM_PASS_SKIP_MS, leftMs - SWARM_PASS_RUN_MS);
    if (skipMs > 0 && hooks.still()) clock.skipFrozen(skipMs);
    const runEndMs = clock.nowMs() + Math.min(SWARM_PASS_RUN_MS, leftMs);
    const idleByMs = runEndMs + SWARM_IDLE_STEP_MS * SWARM_IDLE_STEPS_MAX;
    const end = await stepUntil(loop, storage, () => {
      const nowMs = clock.nowMs();
      return nowMs >= runEndMs && (hooks.still() || nowMs >= idleByMs);
    });
    if (end !== 'done') return end;
  }
}

/** What the rider saw. */
export interface SwarmTapOutcome {
  readonly report: TapReport | null;
  readonly pulled: boolean;
}

/**
 * The rider's side: idle the gap (`beforePlace` runs then: faults that start with the tap),
 * present the card, wait for the answer, hold it unless pulled, take it away. `quiet` says
 * that nothing but time can happen in the gap (no card in the field, no fault standing):
 * its idle polls may then be skipped (`idleGap`). `steady` says the same of the hold (no fault
 * standing on the line, the reader there): its presence checks may then be skipped
 * (`holdCard`).
 */
export async function rideSwarmTap(
  loop: BoardLoop,
  card: AnyRiderCard,
  timing: { readonly gapMs: number; readonly holdMs: number; readonly idleKeepMs: number },
  pull: readonly CardFault[],
  hooks: {
    readonly quiet: () => boolean;
    readonly steady: () => boolean;
    readonly beforePlace: () => void;
  },
): Promise<SwarmTapOutcome> {
  const board = loop.board;
  await idleGap(loop, timing, hooks.quiet);
  hooks.beforePlace();
  const presented = withFaults(card.card, { faults: pull });
  const answered = loop.nextReport();
  board.pn532.placeCard(presented);
  // The rider's patience, called off when the answer comes (it would stay a sleeper for 10 s).
  const patience = board.clock.sleepCancelable(SWARM_ANSWER_WAIT_MS);
  const report = await Promise.race([answered, patience.done.then(() => null)]);
  patience.cancel();
  loop.stopListening();
  // A rider who pulled the card is gone; the others hold it a moment after the answer.
  const pulled = !presented.present();
  if (!pulled) await holdCard(loop, timing, () => presented.present() && hooks.steady());
  board.pn532.removeCard(presented);
  return { report, pulled };
}

/**
 * The rider holds the answered card `holdMs` of board time. When the hold is steady (the card
 * stays, no fault standing) and the validator watches the card for its removal, all but the
 * last stretch is skipped with the board frozen, for the reason `idleGap` gives: each
 * presence check finds the same card and changes nothing but the time. The kept stretch is
 * the gap's draw scaled to SWARM_HOLD_KEEP_MS (a tap draws no more than it did), so that the
 * card leaves at any phase of the removal cycle.
 */
async function holdCard(
  loop: BoardLoop,
  timing: { readonly holdMs: number; readonly idleKeepMs: number },
  steady: () => boolean,
): Promise<void> {
  const keepMs = Math.floor((timing.idleKeepMs * SWARM_HOLD_KEEP_MS) / SWARM_IDLE_KEEP_MS);
  await skipStill(loop, timing.holdMs, keepMs, () => loop.holding() && steady());
}

/**
 * The gap before a card, `gapMs` of board time. When the gap is quiet (nothing in the field,
 * no fault standing) and the validator is idle between polls, all but the last `idleKeepMs`
 * (drawn below SWARM_IDLE_KEEP_MS) is skipped with the board frozen (ClockSim.skipFrozen):
 * each idle poll of an empty field on a quiet line changes nothing but the time, so the board
 * ends the stretch in the state it began it (its next poll as far away as before), only
 * later. The validator then polls the kept stretch for real before the card comes. Otherwise
 * (a fault standing, a card lingering, the reader away) every poll runs on the byte path.
 */
async function idleGap(
  loop: BoardLoop,
  timing: { readonly gapMs: number; readonly idleKeepMs: number },
  quiet: () => boolean,
): Promise<void> {
  if (!quiet()) {
    await loop.board.clock.sleepMs(timing.gapMs);
    return;
  }
  await skipStill(loop, timing.gapMs, timing.idleKeepMs, () => loop.idle() && quiet());
}

/**
 * Lets `durationMs` of board time pass. Once `still()` holds (looked at between every two wakes
 * of the board's clock while stepUntil drives it, for SWARM_IDLE_STEP_MS *
 * SWARM_IDLE_STEPS_MAX of board time at most), all but the last `keepMs` is skipped with the
 * board frozen (ClockSim.skipFrozen); the rest runs for real. The look costs no wake of its
 * own: a sleep a step would wake the clock for nothing but the look.
 */
async function skipStill(
  loop: BoardLoop,
  durationMs: number,
  keepMs: number,
  still: () => boolean,
): Promise<void> {
  const clock = loop.board.clock;
  const endMs = clock.nowMs() + durationMs;
  const lookUntilMs = clock.nowMs() + SWARM_IDLE_STEP_MS * SWARM_IDLE_STEPS_MAX;
  await new Promise<void>((resolve) => {
    const end = clock.alarm(resolve);
    end.set(durationMs);
    loop.lookBetweenWakes(() => {
      const skippable = endMs - keepMs - clock.nowMs();
      if (skippable <= SWARM_IDLE_STEP_MS || clock.nowMs() >= lookUntilMs) return true;
      if (!still()) return false;
      // Every sleeper moves with the skip, the end too: it is set again to the same moment.
      clock.skipFrozen(skippable);
      end.set(endMs - clock.nowMs());
      return true;
    });
  });
}
