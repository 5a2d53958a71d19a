// A seeded bus run: riders tap cards on the simulated validator; every tap is reported.

import { RUN_ON_CLOCK_STEPS_MAX, runOnClock } from '../pn532_sim/pn532_sim_rig.js';
import { testPki } from '../pki/test_pki.js';
import { Prng } from '../prng.js';
import type {
  LogEvent,
  TapReport,
  ValidatorConfig,
} from '../../../firmware/src/app/validator/validator_ports.js';
import type { FareParams } from '../../../firmware/src/app/params/params_files.js';
import type { IndicatorSignal } from '../../../hal/src/ports/indicator_port.js';
import { createSimBoard, type SimBoard } from './sim_board.js';
import { RIDE_PACE_AS_DRAWN, rideTap, type RideBoard } from './bus_ride.js';
import { busBoardOptions, busFares, type BusBoard } from './sim_board_parts.js';
import { SimRoute } from './sim_tunion.js';
import {
  drawRiderTaps, riderPool, type AnyRiderCard, type RiderPool,
} from './bus_riders.js';
import type { PopulationKind } from '../cards/card_mix.js';

/** Options of a run; `shuaka sim` maps its flags onto these. */
export interface BusRunOptions {
  readonly seed: number;
  readonly riders: number;
  /** Share of riders who pull the card too early (a torn tap) and tap again. */
  readonly tornChance: number;
  readonly baudRate: number;
  readonly mode: ValidatorConfig['mode'];
  /** Distinct populations of cards (every kind of the mix in each) riding the line. */
  readonly cardGroups: number;
  /** Which card mix rides (host-sim/src/cards/card_mix.ts); absent = 'default'. */
  readonly populationKind?: PopulationKind;
  /** The validator's terminal id (a fleet gives each bus its own); absent = SIM00001. */
  readonly terminalId?: string;
  /** The fleet's deny key (32 bytes) when buses share one; absent: simDenyKey(seed). */
  readonly denyKeyBytes?: Uint8Array;
  /** Once aborted (Ctrl-C), no rider boards after the tap under way: the run ends early. */
  readonly signal?: AbortSignal;
  /** Sees each event of the validator's log as it is logged (`shuaka sim --log` streams). */
  readonly logSink?: (event: LogEvent) => void;
  /**
   * T-Union riders (tap in, tap out) join the line: the board gets a PSAM, the T-Union ADF
   * and the line's stop source. Absent: false.
   */
  readonly tunionRiders?: boolean;
  /** The board's PSAM for those riders: the emulator (absent: 'emu') or an empty slot. */
  readonly psam?: 'emu' | 'none';
  /**
   * Files the journal medium holds at power-on (a journal `shuaka journal init` started after
   * a seq, read from `shuaka sim --journal DIR`); absent: an empty medium, a new journal.
   */
  readonly journalFiles?: ReadonlyMap<string, Uint8Array>;
}

export const BUS_RUN_DEFAULT: BusRunOptions = {
  seed: 1,
  riders: 40,
  tornChance: 0.08,
  baudRate: 921600,
  mode: 'auto',
  cardGroups: 4,
  // Most riders with ordinary cards and phones (issue 10): what `npm start` shows.
  populationKind: 'realistic',
  // ...and national transit cards, tapping in and out (issue 12).
  tunionRiders: true,
};

/**
 * Livelock guard of a run: clock steps one tap may take (a tap takes about 3,000: every
 * paced byte of the PN532 and display lines is a step; the rest is idle polling).
 */
export const BUS_RUN_STEPS_PER_TAP_MAX = 50_000;

/** What one tap looked like from outside: card, screen, beep and timing. */
export interface TapLine {
  readonly index: number;
  readonly rider: number;
  readonly cardName: string;
  readonly pulledEarly: boolean;
  /** ms (simulated, or real on the pty) from card in the field to answer shown; null = none. */
  readonly latencyMs: number | null;
  readonly report: TapReport | null;
  readonly screen: string;
  readonly signal: IndicatorSignal | null;
  readonly atMs: number;
  /** The bus's stop at this tap (what a T-Union card was told it boarded or alighted at). */
  readonly stop?: number;
  /**
   * The card's own purse was short of this tap's fare (a gate's admission is 40 yuan): its
   * refusal for insufficient e-cash is correct, whatever the card's name.
   */
  readonly purseShort?: boolean;
}

export interface BusRun {
  readonly options: BusRunOptions;
  readonly board: BusBoard;
  readonly pool: RiderPool;
  readonly taps: readonly TapLine[];
}

/**
 * What runs beside the validator on a bus (the uploader of a fleet run): started with the
 * board, called by the tap loop after every turn, and told when the riders are done.
 */
export interface BusCompanion {
  /** Runs in simulated time until it is done; `ridersDone` turns true after the last tap. */
  run(board: SimBoard, ridersDone: () => boolean): Promise<void>;
  /** Called by the tap loop after every turn (never during a tap). */
  betweenTaps(): Promise<void>;
  /**
   * Awaited before each clock step: real I/O in flight (a depot on loopback) ends before
   * simulated time moves on, so it takes no simulated time.
   */
  settleIo(): Promise<void>;
}

/** Runs the whole line; `onTap` sees every tap as it ends (progress printing). */
export async function runBus(
  options: BusRunOptions,
  onTap: (line: TapLine) => void,
  companion: BusCompanion | null = null,
): Promise<BusRun> {
  const prng = new Prng(options.seed);
  const pool = riderPool(options.seed, options.cardGroups, testPki(), options.populationKind,
    options.tunionRiders ?? false, options.tunionRiders ?? false);
  const fares = busFares(pool);
  const route = new SimRoute('SIM-B101', 0);
  const board = await createSimBoard(busBoardOptions(options, pool, route));
  const ride: RideBoard = {
    clock: board.clock,
    field: board.rig.sim,
    screen: board.screen,
    lastSignal: () => board.lastSignal(),
    skipIdleMs: () => undefined,
    atStop: (stop) => {
      route.stop = stop;
    },
  };
  const taps = drawRiderTaps(prng.fork('riders'), pool, options.riders, options.tornChance);
  const lines: TapLine[] = [];
  let waiting: ((report: TapReport) => void) | null = null;
  let stop = false;
  const loop = (async (): Promise<void> => {
    while (!stop) {
      await board.validator.turn((event) => {
        if (event.kind === 'CardProcessed') waiting?.(event.report);
      });
      await companion?.betweenTaps();
    }
  })();
  const scenario = (async (): Promise<void> => {
    for (const [index, tap] of taps.entries()) {
      if (options.signal?.aborted === true) break;
      const purseBefore = 'balanceMinor' in tap.card.card ? tap.card.card.balanceMinor() : null;
      const ridden = await rideTap(ride, tap, index, RIDE_PACE_AS_DRAWN, (resolve) => {
        waiting = resolve;
      });
      waiting = null;
      const short = purseBefore !== null && purseBefore < fullFareMinor(fares, tap.card);
      const line = short ? { ...ridden, purseShort: true } : ridden;
      lines.push(line);
      onTap(line);
    }
    stop = true;
  })();
  const stepsMax = RUN_ON_CLOCK_STEPS_MAX + taps.length * BUS_RUN_STEPS_PER_TAP_MAX;
  if (companion === null) {
    await runOnClock(board.clock, Promise.all([scenario, loop]), stepsMax);
  } else {
    const beside = companion.run(board, () => stop);
    await runOnClockWithIo(board.clock, Promise.all([scenario, loop, beside]), stepsMax,
      companion);
  }
  return { options, board, pool, taps: lines };
}

/**
 * The most a tap of `card` can cost on the line: its category's fare, else the flat fare
 * (before any transfer discount). A purse below it may be refused for insufficient e-cash: a
 * card ridden often enough runs its purse down (seed 7 with 5,000 riders).
 */
function fullFareMinor(fares: FareParams, card: AnyRiderCard): number {
  const profile = card.card.profile;
  const pan = 'applications' in profile ? profile.applications[0]?.pan ?? '' : '';
  const category = fares.categories.find((c) =>
    c.panRanges.some((r) => {
      const head = pan.slice(0, r.low.length);
      return head >= r.low && head <= r.high;
    }));
  return category?.fareMinor ?? fares.flatFareMinor;
}

/** Event-loop turns (10 ms each) to wait for real I/O before a deadlock is declared. */
const IO_IDLE_TURNS_MAX = 100;

/** runOnClock, letting the companion's real I/O finish before each step. */
export async function runOnClockWithIo<T>(
  clock: SimBoard['clock'],
  promise: Promise<T>,
  stepsMax: number,
  companion: BusCompanion,
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  watched.catch(() => undefined);
  for (let steps = 0; !settled; steps += 1) {
    if (steps >= stepsMax) throw new Error('runOnClock: too many steps');
    await companion.settleIo();
    if (settled) break;
    let stepped = await clock.step();
    // When no sleeper is due, real I/O may have just begun (tracked once its call is made),
    // so the event loop gets turns to settle it before this counts as a deadlock.
    for (let idle = 0; !stepped && !settled && idle < IO_IDLE_TURNS_MAX; idle += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await companion.settleIo();
      stepped = settled || await clock.step();
    }
    if (!stepped && !settled) throw new Error(`runOnClock: deadlock at ${clock.nowMs()} ms`);
  }
  return watched;
}
