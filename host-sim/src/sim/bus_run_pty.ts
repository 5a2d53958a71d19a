// A bus run in real time with the PN532 emulator on a socat pty and the real serial driver.
//
// Same riders, cards, board parts and checkers as runBus, but the reader is the production
// one (NodeSerialLink + Pn532Reader, supplied by the composition root: host-sim may not import
// hal/src/serial) talking to the emulator through a kernel pty pair. What the memory mode
// cannot show, this does: real termios, real byte chunking, real scheduling delays.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { HalResult } from '../../../hal/src/ports/hal_status.js';
import type { ReaderControlPort } from '../../../hal/src/ports/reader_control_port.js';
import type { ReaderPort } from '../../../hal/src/ports/reader_port.js';
import {
  VALIDATOR_CONFIG_DEFAULT,
  type TapReport,
} from '../../../firmware/src/app/validator/validator_ports.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../pn532_sim/pn532_sim.js';
import { startPn532SimOnPty, type Pn532SimOnPty } from '../pn532_sim/pty/pn532_sim_pty.js';
import { testPki } from '../pki/test_pki.js';
import { Prng } from '../prng.js';
import type { BusRunOptions, TapLine } from './bus_run.js';
import { drawRiderTaps, riderPool, type RiderPool, type RiderTap } from './bus_riders.js';
import { rideTap, type RidePace } from './bus_ride.js';
import { SIM_EPOCH_WALL_MS } from './sim_board.js';
import { SimRoute, simBoardPsam, simPsamPorts } from './sim_tunion.js';
import {
  busBoardOptions,
  composeSimBoardRest,
  SIM_READER_RF,
  simStorageLoaded,
  type BusBoard,
  type SimBoardRest,
} from './sim_board_parts.js';

/** A reader on a serial device, as the composition root opens it. */
export interface PtyReader {
  readonly reader: ReaderPort & ReaderControlPort;
  /** Closes the serial device (after `reader.shutdown()`). Never throws. */
  close(): Promise<unknown>;
}

/** Opens the reader on `ptyPath` with `clock` (bin/shuaka.js passes openPn532OnSerial). */
export type OpenPtyReader = (ptyPath: string, clock: ClockPort) => Promise<HalResult<PtyReader>>;

/** Real-time knobs of a pty run; every field explicit. */
export interface BusPtyOptions {
  /** How riders' idle time is squeezed (the taps themselves run at full speed). */
  readonly ride: RidePace;
  /** The emulator spends the modelled RF and card time (a realistic tap duration). */
  readonly modelledTime: boolean;
  /** The emulator paces its writes at the configured baud rate. */
  readonly paceWrites: boolean;
}

/**
 * A card leaving is seen within one removal check; the gap floor leaves room for two checks
 * and one idle poll before the same card may come back (see RidePace).
 */
export const BUS_PTY_GAP_MIN_MS =
  2 * VALIDATOR_CONFIG_DEFAULT.removalIntervalMs + VALIDATOR_CONFIG_DEFAULT.pollIntervalMs;

/**
 * Realistic taps (modelled RF and card time, paced writes) with the riders' idle time cut to
 * a tenth: a 40-rider line takes about 40 s instead of about 3 minutes.
 */
export const BUS_PTY_DEFAULT: BusPtyOptions = {
  ride: { scale: 0.1, gapMinMs: BUS_PTY_GAP_MIN_MS, holdMinMs: 100 },
  modelledTime: true,
  paceWrites: true,
};

/** BusRun with the board seen as a BusBoard (what checkBusRun and `shuaka sim` read). */
export interface BusRunOnBoard {
  readonly options: BusRunOptions;
  readonly board: BusBoard;
  readonly pool: RiderPool;
  readonly taps: readonly TapLine[];
}

/**
 * Wall time that starts at SIM_EPOCH_WALL_MS, so cards, fares and journal dates match the
 * memory mode's; monotonic time starts at 0 (TapLine.atMs = seconds into the run).
 *
 * Wall time also moves on by the idle time the riders were spared (`skipWallMs`): fare
 * windows are wall-time rules (a 60 s duplicate-tap window), and squeezing 40 riders' gaps
 * into 40 s must not turn every second tap into "already paid". Monotonic time never jumps:
 * the reader's deadlines run on it while the riders idle.
 *
 * Timers are unref'd: a rider's pending 10 s answer timeout must not keep the process alive
 * after the run. During the run the socat child and the open ttys keep the event loop alive.
 */
export class PtyRunClock implements ClockPort {
  private readonly originMs = performance.now();
  private wallSkippedMs = 0;

  /** Moves wall time (only) on by `skippedMs` (negative counts as 0). */
  skipWallMs(skippedMs: number): void {
    this.wallSkippedMs += Math.max(0, skippedMs);
  }

  nowMs(): number {
    return performance.now() - this.originMs;
  }

  wallMs(): number {
    return SIM_EPOCH_WALL_MS + this.nowMs() + this.wallSkippedMs;
  }

  sleepMs(durationMs: number): Promise<void> {
    return new Promise((resolve) => {
      setTimeout(resolve, Math.max(0, durationMs)).unref();
    });
  }
}

/** The emulator, the opened reader and the composed board, for `runRiders` and cleanup. */
interface PtyRig {
  readonly options: BusRunOptions;
  readonly clock: PtyRunClock;
  readonly dir: string;
  readonly emulator: Pn532SimOnPty;
  readonly pty: PtyReader;
  readonly board: SimBoardRest;
  /** The bus's stop source (T-Union tap-in/tap-out). */
  readonly route: SimRoute;
}

/**
 * Runs the seeded line of `options` in real time: emulator on a fresh socat pty pair, reader
 * from `openReader`, the board composed as createSimBoard composes it. Returns the run once
 * every rider has tapped; by then the reader is shut down and the emulator and socat are
 * stopped (only `board.dispose()` is left to the caller, as with runBus).
 * Throws when socat cannot start, the reader cannot be opened or started, or the board's
 * parameters or journal are refused; nothing is left running in that case.
 */
export async function runBusOnPty(
  options: BusRunOptions,
  onTap: (line: TapLine) => void,
  openReader: OpenPtyReader,
  pty: BusPtyOptions,
): Promise<BusRunOnBoard> {
  const pool = riderPool(options.seed, options.cardGroups, testPki(), options.populationKind,
    options.tunionRiders ?? false, options.tunionRiders ?? false);
  const taps = drawRiderTaps(
    new Prng(options.seed).fork('riders'),
    pool,
    options.riders,
    options.tornChance,
  );
  const rig = await ptyRigStart(options, pool, openReader, pty);
  let lines: TapLine[];
  try {
    lines = await runRiders(rig, taps, pty.ride, onTap);
  } catch (error) {
    await ptyRigStop(rig);
    rig.board.dispose();
    throw error;
  }
  await ptyRigStop(rig);
  return { options, board: rig.board, pool, taps: lines };
}

async function ptyRigStart(
  options: BusRunOptions,
  pool: RiderPool,
  openReader: OpenPtyReader,
  pty: BusPtyOptions,
): Promise<PtyRig> {
  const clock = new PtyRunClock();
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-sim-pty-'));
  const cleanups: (() => Promise<unknown>)[] = [
    async () => rmSync(dir, { recursive: true, force: true }),
  ];
  const undo = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const emulator = await startPn532SimOnPty({
      dir,
      clock,
      pace: pty.paceWrites,
      sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: pty.modelledTime },
    });
    cleanups.push(() => emulator.close());
    const opened = await openReader(emulator.hostPath, clock);
    if (!opened.ok) throw new Error(`reader on ${emulator.hostPath}: ${opened.detail}`);
    const reader = opened.value;
    cleanups.push(() => reader.close());
    const started = await reader.reader.start({ baudRate: options.baudRate, rf: SIM_READER_RF });
    if (!started.ok) throw new Error(`PN532 start: ${started.error} ${started.detail}`);
    cleanups.push(() => reader.reader.shutdown());
    const route = new SimRoute('SIM-B101', 0);
    const boardOptions = busBoardOptions(options, pool, route);
    // The PSAM in its slot, opened as `shuaka run --psam` does (real time: no clock to drive).
    const psam = await simBoardPsam(clock, (p) => p, boardOptions.tunion ?? null);
    const board = await composeSimBoardRest(boardOptions, {
      clock,
      reader: reader.reader,
      storage: await simStorageLoaded(boardOptions, new Prng(options.seed)),
      ...simPsamPorts(psam),
      position: () => route.position(),
    });
    cleanups.push(async () => board.dispose());
    await board.validator.start();
    return { options, clock, dir, emulator, pty: reader, board, route };
  } catch (error) {
    await undo();
    throw error;
  }
}

/** Lets go of the reader (PowerDown), its device, the emulator and socat. Never throws. */
async function ptyRigStop(rig: PtyRig): Promise<void> {
  await rig.pty.reader.shutdown();
  await rig.pty.close();
  await rig.emulator.close();
  rmSync(rig.dir, { recursive: true, force: true });
}

/**
 * The validator's loop and the riders, side by side in real time. A loop failure (an app
 * assertion) stops the riders at the next tap and is rethrown.
 */
async function runRiders(
  rig: PtyRig,
  taps: readonly RiderTap[],
  pace: RidePace,
  onTap: (line: TapLine) => void,
): Promise<TapLine[]> {
  const { board } = rig;
  const lines: TapLine[] = [];
  let waiting: ((report: TapReport) => void) | null = null;
  let stop = false;
  const loop = (async (): Promise<void> => {
    try {
      while (!stop) {
        await board.validator.turn((event) => {
          if (event.kind === 'CardProcessed') waiting?.(event.report);
        });
      }
    } finally {
      stop = true;
    }
  })();
  const ride = {
    clock: rig.clock,
    field: rig.emulator.sim,
    screen: board.screen,
    lastSignal: board.lastSignal,
    skipIdleMs: (skippedMs: number) => rig.clock.skipWallMs(skippedMs),
    atStop: (stop: number) => {
      rig.route.stop = stop;
    },
  };
  const riders = (async (): Promise<void> => {
    for (const [index, tap] of taps.entries()) {
      if (stop || rig.options.signal?.aborted === true) break;
      const line = await rideTap(ride, tap, index, pace, (resolve) => {
        waiting = resolve;
      });
      waiting = null;
      lines.push(line);
      onTap(line);
    }
    stop = true;
  })();
  await Promise.all([riders, loop]);
  return lines;
}
