// The bus validator board of the web face: the simulated board with its indicator writes seen.

import { NODE_SYSFS_FILES } from '../../../hal/src/buzzer/sysfs_files.js';
import { SYSFS_INDICATOR_BUS_VALIDATOR } from '../../../hal/src/buzzer/sysfs_indicator.js';
import { ClockSim } from '../clock_sim.js';
import { Prng } from '../prng.js';
import type { BusRunOptions } from '../sim/bus_run.js';
import type { RiderPool } from '../sim/bus_riders.js';
import { SIM_EPOCH_WALL_MS, type SimBoard } from '../sim/sim_board.js';
import {
  busBoardOptions,
  composeSimBoardRest,
  SIM_READER_RF,
  simBoardRig,
  simStorage,
} from '../sim/sim_board_parts.js';
import { IndicatorRecorder, type IndicatorWiring } from './indicator_recorder.js';

/** The board and the recorder of its buzzer and LED writes. */
export interface WebBusBoard {
  readonly board: SimBoard;
  readonly indicator: IndicatorRecorder;
}

/** The bus validator's wiring (SYSFS_INDICATOR_BUS_VALIDATOR) as attribute directories. */
function busWiring(): IndicatorWiring {
  const { buzzer, greenLed, redLed } = SYSFS_INDICATOR_BUS_VALIDATOR;
  return {
    pwmDir: `class/pwm/pwmchip${buzzer.chip}/pwm${buzzer.channel}`,
    greenDir: `class/leds/${greenLed}`,
    redDir: `class/leds/${redLed}`,
  };
}

/**
 * Composes and starts a bus board as createSimBoard does (same parts, same seed forks), with
 * the indicator's sysfs writes going through an IndicatorRecorder. The riders' cards come from
 * `pool`, shared by every board of the page, so a card keeps one balance across buses.
 * Throws when the reader does not start or the parameters or journal are refused (nothing is
 * left behind then).
 */
export async function createWebBusBoard(
  options: BusRunOptions,
  pool: RiderPool,
): Promise<WebBusBoard> {
  const clock = new ClockSim(SIM_EPOCH_WALL_MS);
  const rig = simBoardRig(clock);
  const boardOptions = busBoardOptions(options, pool);
  const started = await rig.run(
    rig.reader.start({ baudRate: boardOptions.baudRate, rf: SIM_READER_RF }),
  );
  if (!started.ok) throw new Error(`PN532 start: ${started.error} ${started.detail}`);
  const indicator = new IndicatorRecorder(NODE_SYSFS_FILES, clock, busWiring());
  const storage = simStorage(boardOptions, new Prng(options.seed));
  const rest = await composeSimBoardRest(boardOptions, {
    clock,
    reader: rig.reader,
    storage,
    indicatorFiles: indicator,
  });
  try {
    await rig.run(rest.validator.start());
  } catch (error) {
    rest.dispose();
    throw error;
  }
  return { board: { ...rest, clock, rig, psam: null }, indicator };
}
