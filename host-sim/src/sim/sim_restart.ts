// A simulated board brought up on storage that outlived the previous board (after a power cut).
//
// Same composition as createSimBoard (sim_board.ts, from the parts in sim_board_parts.ts), with
// two differences a reboot needs: the journal is re-opened on the StorageSim that survived, and
// the wall clock resumes where the dead board's stopped (plus the reboot time) instead of
// jumping back to SIM_EPOCH_WALL_MS (which would put every journal record in the future).

import { ClockSim } from '../clock_sim.js';
import { Prng } from '../prng.js';
import type { StorageSim } from '../storage_sim.js';
import { SIM_EPOCH_WALL_MS, type SimBoard, type SimBoardOptions } from './sim_board.js';
import {
  composeSimBoardRest,
  SIM_READER_RF,
  simBoardRig,
  simStorage,
  type SimBoardRest,
} from './sim_board_parts.js';
import { simBoardPsam, simPsamPorts } from './sim_tunion.js';

/** Where a board comes up: its storage and the wall time at its simulated time zero. */
export interface SimBoardBoot {
  /** The medium (restarted after a cut); null = a fresh, empty one as createSimBoard makes. */
  readonly storage: StorageSim | null;
  /** Wall-clock time at the new board's time zero. */
  readonly wallEpochMs: number;
}

/** A simulated board plus what the journal's start-up recovery found. */
export type SimBoardRebooted = SimBoard & SimBoardRest;

/** The first boot of a line: empty storage, simulated epoch (what createSimBoard does). */
export const SIM_BOOT_FIRST: SimBoardBoot = { storage: null, wallEpochMs: SIM_EPOCH_WALL_MS };

/**
 * Builds and starts a board on `boot.storage`: a new reader, a new kernel instance, a new
 * Journal.open that cuts a torn tail and finds the uncertain taps. Throws when the reader does
 * not start, or the journal cannot be opened (CORRUPT, or IO when power fails again during the
 * open): nothing is left behind then.
 */
export async function createSimBoardOn(
  boot: SimBoardBoot,
  options: SimBoardOptions,
): Promise<SimBoardRebooted> {
  const clock = new ClockSim(boot.wallEpochMs);
  const rig = simBoardRig(clock);
  const started = await rig.run(
    rig.reader.start({ baudRate: options.baudRate, rf: SIM_READER_RF }),
  );
  if (!started.ok) throw new Error(`PN532 start: ${started.error} ${started.detail}`);
  const storage = boot.storage ?? simStorage(options, new Prng(options.seed));
  const tunion = options.tunion ?? null;
  const psam = await simBoardPsam(clock, (p) => rig.run(p), tunion);
  const rest = await composeSimBoardRest(options, {
    clock, reader: rig.reader, storage, ...simPsamPorts(psam),
    ...(tunion === null ? {} : { position: tunion.position }),
  });
  await rig.run(rest.validator.start());
  return { ...rest, clock, rig, psam };
}
