// T-Union (JT/T 978) on the simulated bus: the PSAM in its slot, the T-Union ADF among the
// parameter set's applications, the line's tap-in/tap-out fare table, the bus's stop source.

import type { AidParams } from '../../../firmware/src/app/params/params_files.js';
import type { TransitFareTable } from '../../../firmware/src/app/fare/fare_table.js';
import {
  TUNION_PSAM_OPTIONS_DEFAULT,
  tunionPsamOpen,
  tunionPsamProblemText,
} from '../../../firmware/src/app/validator/tunion_psam.js';
import type {
  TransitPosition,
  ValidatorPsam,
} from '../../../firmware/src/app/validator/validator_ports.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { PsamEmulator } from '../psam/psam_emulator.js';
import { PsamPortSim } from '../psam/psam_port_sim.js';
import type { PsamProfile } from '../psam/psam_profile.js';

/** The T-Union ADF (domain.md 7.1), exact match, after the UnionPay AIDs. */
export const SIM_TUNION_AID: AidParams = {
  aidHex: 'A000000632010105',
  partialMatch: false,
  label: 'T-Union',
};

/** Stops of the simulated line L101. */
export const SIM_LINE_STOPS = 12;

/** Simulated ms per PSAM exchange (bench/tunion_bench.ts models about this at 9,600 bit/s). */
export const SIM_PSAM_COMMAND_MS = 25;

/** What a simulated board needs for T-Union cards. */
export interface SimTunionOptions {
  readonly psamProfile: PsamProfile;
  /** The PSAM itself when it outlives a board (a reboot keeps its card); absent: a new one. */
  readonly emulator?: PsamEmulator;
  readonly commandMs: number;
  /** Where the bus is at each tap (the rider scenario moves it). */
  readonly position: () => TransitPosition;
  /**
   * No PSAM in the slot: the set still names the T-Union ADF, and the validator runs without
   * a PSAM (it refuses T-Union cards). Absent: false.
   */
  readonly slotEmpty?: boolean;
  /**
   * The PSAM out of its slot at the start (put back with the board's `psam.port.pull(false)`):
   * the board starts as `shuaka run --psam` does when the slot is empty, the validator given
   * the slot to open later (psamUnopened). Absent: false.
   */
  readonly slotOutAtStart?: boolean;
}

/** The bus's stop source in the simulator: the scenario sets the stop before each tap. */
export class SimRoute {
  stop = 1;
  constructor(readonly vehicle: string, readonly direction: number) {}

  position(): TransitPosition {
    return { stop: this.stop, vehicle: this.vehicle, direction: this.direction };
  }
}

/**
 * The tap-in/tap-out table of line `lineId` (a segment line by stops, 12 stops 800 m apart,
 * fares 2 / 3 / 4 yuan by stops travelled, 5 yuan held against a missing tap-out) and a flat
 * line K7 (a transfer's other line in tests).
 */
export function simTransitTable(lineId: string): TransitFareTable {
  const stops = Array.from({ length: SIM_LINE_STOPS }, (_, i) => ({
    stop: i + 1,
    distanceM: i * 800,
  }));
  return {
    cityCodeHex: '4403',
    institutionHex: '0000000000004403',
    operatorCodeHex: '0101',
    lines: [
      {
        kind: 'segment', lineId, lineCode: 101, basis: 'stops', stops,
        bands: [{ upTo: 3, fareMinor: 200 }, { upTo: 7, fareMinor: 300 },
          { upTo: SIM_LINE_STOPS, fareMinor: 400 }],
        markedAmountMinor: 500, maxRideMin: 120,
      },
      { kind: 'flat', lineId: 'K7', lineCode: 7, fareMinor: 200 },
    ],
  };
}

/**
 * The PSAM of a board with `tunion` options, opened (or its slot with the PSAM out, when
 * `slotOutAtStart`); null without one or with an empty slot.
 */
export async function simBoardPsam(
  clock: ClockPort,
  run: <T>(promise: Promise<T>) => Promise<T>,
  tunion: SimTunionOptions | null,
): Promise<SimPsam | null> {
  if (tunion === null || tunion.slotEmpty === true) return null;
  if (tunion.slotOutAtStart !== true) return simPsamOpen(clock, run, tunion);
  const emulator = tunion.emulator ?? new PsamEmulator(tunion.psamProfile);
  const port = new PsamPortSim(emulator, clock, { commandMs: tunion.commandMs });
  port.pull(true);
  const opened = await run(tunionPsamOpen(port, TUNION_PSAM_OPTIONS_DEFAULT));
  if (opened.ok) throw new Error('simulated PSAM opened although out of its slot');
  return { port, validatorPsam: null };
}

/**
 * The PSAM in the board's slot, opened as `shuaka run --psam` opens a real one; validatorPsam
 * null when it did not open at the start (`slotOutAtStart`).
 */
export interface SimPsam {
  readonly port: PsamPortSim;
  readonly validatorPsam: ValidatorPsam | null;
}

/** The validator's PSAM ports of a board's slot (ValidatorPorts `psam`, `psamUnopened`). */
export function simPsamPorts(psam: SimPsam | null)
  : { psam: ValidatorPsam | null; psamUnopened: PsamPortSim | null } {
  const opened = psam?.validatorPsam ?? null;
  return { psam: opened, psamUnopened: psam !== null && opened === null ? psam.port : null };
}

/**
 * Inserts a PSAM emulator of `profile` and opens it (power-on, SELECT, files 0016/0017).
 * `run` drives the clock while the promise is pending (rig.run on ClockSim). Throws when the
 * PSAM does not open: a simulated PSAM that fails is a simulator bug.
 */
export async function simPsamOpen(
  clock: ClockPort,
  run: <T>(promise: Promise<T>) => Promise<T>,
  options: Pick<SimTunionOptions, 'psamProfile' | 'commandMs' | 'emulator'>,
): Promise<SimPsam> {
  const emulator = options.emulator ?? new PsamEmulator(options.psamProfile);
  const port = new PsamPortSim(emulator, clock,
    { commandMs: options.commandMs });
  const opened = await run(tunionPsamOpen(port, TUNION_PSAM_OPTIONS_DEFAULT));
  if (!opened.ok) throw new Error(`simulated ${tunionPsamProblemText(opened.problem)}`);
  return { port, validatorPsam: opened.value };
}
