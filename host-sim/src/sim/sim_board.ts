// The simulated validator board: the production app on the PN532 emulator, in simulated time.
//
// Everything that would be hardware is a twin: PN532 emulator on a paced serial line, DWIN
// display emulator on its own paced line, a temporary sysfs tree for the buzzer and LEDs,
// power-cut-capable storage. One seed drives every random choice; ClockSim drives time.
// The parts beside the reader are shared with the pty mode (sim_board_parts.ts).

import type { DenyEntry } from '../../../firmware/src/app/deny_list/deny_list_build.js';
import type { CaRevocation, FareParams } from '../../../firmware/src/app/params/params_files.js';
import type {
  LogEvent,
  ValidatorConfig,
  ValidatorPorts,
} from '../../../firmware/src/app/validator/validator_ports.js';
import { ClockSim } from '../clock_sim.js';
import type { Pn532SimRig } from '../pn532_sim/pn532_sim_rig.js';
import { Prng } from '../prng.js';
import { simBoardPsam, simPsamPorts, type SimPsam, type SimTunionOptions } from './sim_tunion.js';
import {
  composeSimBoardRest,
  SIM_READER_RF,
  simBoardRig,
  simStorageLoaded,
  type BusBoard,
} from './sim_board_parts.js';

/** 2026-11-22 08:00 China time: simulated time zero (a weekday morning). */
export const SIM_EPOCH_WALL_MS = Date.UTC(2026, 10, 22, 0, 0, 0);

/** Knobs of one simulated board. */
export interface SimBoardOptions {
  readonly seed: number;
  /** CA keys the validator loads (UnionPay TLV hex), and its deny list. */
  readonly caKeysTlvHex: readonly string[];
  /** Bank cards (PAN, PSN) and T-Union cards (serial) on the set's deny list. */
  readonly denyList: readonly DenyEntry[];
  readonly caRevocations: readonly CaRevocation[];
  readonly validator: ValidatorConfig;
  /** PN532 host-link speed after start-up. */
  readonly baudRate: number;
  readonly lineId: string;
  readonly fares: FareParams;
  readonly storageBytes: number;
  /** The terminal id in the parameter set (a fleet gives each bus its own); SIM00001. */
  readonly terminalId?: string;
  /** The fleet's deny key (32 bytes) when buses share one; absent: simDenyKey(seed). */
  readonly denyKeyBytes?: Uint8Array;
  /** Sees each event of the validator's log as it is logged (besides `logs`). */
  readonly logSink?: (event: LogEvent) => void;
  /** A PSAM in the slot, the T-Union ADF and the stop source; absent or null: no PSAM. */
  readonly tunion?: SimTunionOptions | null;
  /** Files on the journal medium at power-on (see BusRunOptions.journalFiles). */
  readonly journalFiles?: ReadonlyMap<string, Uint8Array>;
}

/** The composed board and the handles a scenario needs. */
export interface SimBoard extends BusBoard {
  readonly clock: ClockSim;
  readonly rig: Pn532SimRig;
  /** The Validator's ports (the gate runs its own application on them). */
  readonly validatorPorts: ValidatorPorts;
  /** The PSAM's slot (null without one). */
  readonly psam: SimPsam | null;
}

/** Builds and starts the board; the reader is switched to `baudRate` like a real boot. */
export async function createSimBoard(options: SimBoardOptions): Promise<SimBoard> {
  const clock = new ClockSim(SIM_EPOCH_WALL_MS);
  const rig = simBoardRig(clock);
  const started = await rig.run(
    rig.reader.start({ baudRate: options.baudRate, rf: SIM_READER_RF }),
  );
  if (!started.ok) throw new Error(`PN532 start: ${started.error} ${started.detail}`);
  const storage = await simStorageLoaded(options, new Prng(options.seed));
  const tunion = options.tunion ?? null;
  const psam = await simBoardPsam(clock, (p) => rig.run(p), tunion);
  const rest = await composeSimBoardRest(options, {
    clock, reader: rig.reader, storage, ...simPsamPorts(psam),
    ...(tunion === null ? {} : { position: tunion.position }),
  });
  await rig.run(rest.validator.start());
  return { ...rest, clock, rig, psam };
}
