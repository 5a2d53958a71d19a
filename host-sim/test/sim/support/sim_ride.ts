// Test driver of the simulated board: riders tap in order, and a power cut stops everything.

import { withFaults, type CardFault } from '../../../src/cards/card_faults.js';
import type { VirtualCard } from '../../../src/cards/card_model.js';
import type { AnyRiderCard, RiderPool } from '../../../src/sim/bus_riders.js';
import { BUS_RUN_DEFAULT } from '../../../src/sim/bus_run.js';
import type { SimBoard, SimBoardOptions } from '../../../src/sim/sim_board.js';
import { busBoardOptions } from '../../../src/sim/sim_board_parts.js';
import type {
  TapReport,
  ValidatorConfig,
} from '../../../../firmware/src/app/validator/validator_ports.js';
import type { IndicatorSignal } from '../../../../hal/src/ports/indicator_port.js';

/** The seed of a test run: SHUAKA_SEED overrides `fallback`. */
export function testSeed(fallback: number): number {
  const text = process.env['SHUAKA_SEED'];
  if (text === undefined || text === '') return fallback;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`SHUAKA_SEED=${text}`);
  return seed;
}

/** One tap of a rider: a card, when it comes, how long it stays, and what goes wrong. */
export interface Ride {
  readonly card: AnyRiderCard;
  /** Idle time before the card enters the field. */
  readonly gapMs: number;
  /** Time the card stays in the field after the answer (none when a fault pulled it). */
  readonly holdMs: number;
  /** Fault plan of this presentation (removal before/after command N...). */
  readonly faults: readonly CardFault[];
}

/** What one ride looked like: report (null = no answer), screen text and beep. */
export interface RideLine {
  readonly index: number;
  readonly ride: Ride;
  readonly report: TapReport | null;
  readonly screen: string;
  readonly signal: IndicatorSignal | null;
}

/** Outcome of `runRides`: the finished rides, and the ride the power cut interrupted. */
export interface RideResult {
  readonly lines: readonly RideLine[];
  /** Index (in the rides given) of the ride in progress when the power went; null = no cut. */
  readonly cutDuring: number | null;
  /** What threw after the cut, if anything (power was gone: informative only). */
  readonly errorAfterCut: unknown;
}

const ANSWER_WAIT_MS = 10_000;
/** Guard against a livelock of the simulated line. */
const RUN_STEPS_MAX = 2_000_000;

/** Board options of the test line: the bus run's (test CA keys, the pool's deny list...). */
export function boardOptions(
  seed: number,
  pool: RiderPool,
  mode: ValidatorConfig['mode'],
): SimBoardOptions {
  return busBoardOptions({ ...BUS_RUN_DEFAULT, seed, mode }, pool);
}

/** The text on the board's screen now, fields joined by " / ". */
export function screenText(board: SimBoard): string {
  return Object.values(board.screen.snapshot().texts)
    .filter((t) => t !== '')
    .join(' / ');
}

/**
 * Runs `rides` in order on `board` until they are done or the storage loses power. A cut
 * stops the clock at once: nothing after it reaches the card, the screen or the medium,
 * which is what a power loss does. The dead board's promises are left pending for ever.
 */
export async function runRides(board: SimBoard, rides: readonly Ride[]): Promise<RideResult> {
  const lines: RideLine[] = [];
  let waiting: ((report: TapReport) => void) | null = null;
  let stop = false;
  let current = 0;
  const loop = (async (): Promise<void> => {
    while (!stop) {
      await board.validator.turn((event) => {
        if (event.kind === 'CardProcessed') waiting?.(event.report);
      });
    }
  })();
  const scenario = (async (): Promise<void> => {
    for (const [index, ride] of rides.entries()) {
      current = index;
      lines.push(
        await rideOne(board, ride, index, () => {
          // Listen from the moment the card comes, not to a turn still ending before it.
          return new Promise<TapReport>((resolve) => {
            waiting = resolve;
          });
        }),
      );
      waiting = null;
    }
    stop = true;
  })();
  const end: { settled: boolean; failed: boolean; error: unknown } = {
    settled: false,
    failed: false,
    error: null,
  };
  Promise.all([scenario, loop]).then(
    () => {
      end.settled = true;
    },
    (error: unknown) => {
      end.settled = true;
      end.failed = true;
      end.error = error;
    },
  );
  for (let steps = 0; !end.settled && !board.storage.isDown(); steps += 1) {
    if (steps > RUN_STEPS_MAX) throw new Error('runRides: too many clock steps');
    if (!(await board.clock.step()) && !end.settled) {
      throw new Error(`runRides: deadlock at ${board.clock.nowMs()} ms`);
    }
  }
  const down = board.storage.isDown();
  if (end.failed && !down) throw end.error;
  return { lines, cutDuring: down ? current : null, errorAfterCut: end.failed ? end.error : null };
}

async function rideOne(
  board: SimBoard,
  ride: Ride,
  index: number,
  listen: () => Promise<TapReport>,
): Promise<RideLine> {
  await board.clock.sleepMs(ride.gapMs);
  const presented = withFaults(ride.card.card, { faults: ride.faults });
  const answered = listen();
  board.rig.sim.placeCard(presented);
  const report = await Promise.race([
    answered,
    board.clock.sleepMs(ANSWER_WAIT_MS).then(() => null),
  ]);
  const screen = screenText(board);
  const signal = report === null ? null : board.lastSignal();
  // A rider who pulled the card is gone: a card left in the field would be activated again
  // by the removal check (and a phone, with a new random UID, taken for a new card).
  const pulled = ride.faults.some((f) => f.kind.startsWith('remove-'));
  if (!pulled) await board.clock.sleepMs(ride.holdMs);
  board.rig.sim.removeCard(presented);
  return { index, ride, report, screen, signal };
}

/** `inner` with its commands answered by `transceive` (which may ask `inner` itself). */
export function withTransceive(
  inner: VirtualCard,
  transceive: (capdu: Uint8Array) => Uint8Array | null,
): VirtualCard {
  return {
    label: inner.label,
    identity: () => inner.identity(),
    powerOn: () => inner.powerOn(),
    transceive,
    lastProcessingMs: () => inner.lastProcessingMs(),
  };
}

/** A card that counts the commands of each presentation (to size a clean tap). */
export function countingCard(inner: VirtualCard): VirtualCard & { commands(): number[] } {
  const counts: number[] = [];
  return {
    label: inner.label,
    identity: () => inner.identity(),
    powerOn: () => {
      counts.push(0);
      inner.powerOn();
    },
    transceive: (capdu) => {
      counts[counts.length - 1] = (counts[counts.length - 1] ?? 0) + 1;
      return inner.transceive(capdu);
    },
    lastProcessingMs: () => inner.lastProcessingMs(),
    commands: () => counts.slice(),
  };
}
