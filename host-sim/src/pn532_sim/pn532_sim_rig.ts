// In-memory rig: Pn532Reader <-> SerialLinkSim <-> Pn532Sim on one ClockSim, for tests, bench, sim.

import {
  PN532_READER_DEFAULT_OPTIONS,
  Pn532Reader,
  type Pn532ReaderOptions,
} from '../../../hal/src/pn532/pn532_reader.js';
import type { ClockSim } from '../clock_sim.js';
import {
  createSerialLinkPairSim,
  type SerialLinkPairSim,
  type SerialLinkSimOptions,
} from '../serial_link_sim.js';
import { PN532_SIM_DEFAULT_OPTIONS, Pn532Sim, type Pn532SimOptions } from './pn532_sim.js';

/** The wired-up parts. */
export interface Pn532SimRig {
  readonly clock: ClockSim;
  readonly line: SerialLinkPairSim;
  readonly sim: Pn532Sim;
  readonly reader: Pn532Reader;
  /** Steps the clock until `promise` settles; see `runOnClock`. */
  run<T>(promise: Promise<T>): Promise<T>;
}

/** Options; pass the defaults below explicitly and override what a test is about. */
export interface Pn532SimRigOptions {
  readonly line: SerialLinkSimOptions;
  readonly sim: Pn532SimOptions;
  readonly reader: Pn532ReaderOptions;
}

/** A paced 115200-baud line with whole-write delivery and no line faults. */
export const PN532_SIM_RIG_DEFAULT_LINE: SerialLinkSimOptions = {
  baudRate: 115200,
  pace: true,
  chunkBytes: 64,
  hostToDeviceFaults: undefined,
  deviceToHostFaults: undefined,
};

/**
 * The line of long simulations (the swarm, the reader-path bench): as the default, but a
 * write that starts on a quiet line arrives whole when its last byte would (one clock wake a
 * frame instead of one per 64-byte chunk); under line noise writes still go in chunks.
 */
export const PN532_SIM_RIG_QUIET_WHOLE_LINE: SerialLinkSimOptions = {
  ...PN532_SIM_RIG_DEFAULT_LINE,
  quietWholeWrites: true,
};

export const PN532_SIM_RIG_DEFAULT_OPTIONS: Pn532SimRigOptions = {
  line: PN532_SIM_RIG_DEFAULT_LINE,
  sim: PN532_SIM_DEFAULT_OPTIONS,
  reader: PN532_READER_DEFAULT_OPTIONS,
};

/** Builds the rig on `clock`. */
export function createPn532SimRig(clock: ClockSim, options: Pn532SimRigOptions): Pn532SimRig {
  const line = createSerialLinkPairSim(clock, options.line);
  const sim = new Pn532Sim(line.device, clock, options.sim);
  const reader = new Pn532Reader(line.host, clock, options.reader);
  return { clock, line, sim, reader, run: (promise) => runOnClock(clock, promise) };
}

/** Upper bound on clock steps for one awaited operation: a guard against livelock. */
export const RUN_ON_CLOCK_STEPS_MAX = 1_000_000;

/**
 * Advances `clock` one sleeper at a time until `promise` settles and returns its value.
 * Nothing in the simulation happens without the clock, so "no sleeper and still pending" is a
 * deadlock: it throws rather than hang. Also throws after `stepsMax` steps (a long scenario
 * such as a whole bus line passes a bound that grows with its length).
 */
export async function runOnClock<T>(
  clock: ClockSim,
  promise: Promise<T>,
  stepsMax: number = RUN_ON_CLOCK_STEPS_MAX,
): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  watched.catch(() => undefined);
  for (let steps = 0; !settled; steps += 1) {
    if (steps >= stepsMax) throw new Error('runOnClock: too many steps');
    const stepped = await clock.step();
    if (!stepped && !settled) throw new Error(`runOnClock: deadlock at ${clock.nowMs()} ms`);
  }
  return watched;
}
