// A seeded scenic-area morning on the simulated gate: the production GateApp on the PN532
// emulator, the bus board's kernel, journal and parameters, an emulated turnstile controller.

import { GateApp, type GateTapReport } from '../../../firmware/src/app/gate/gate_app.js';
import { GATE_LANE_CONFIG_DEFAULT } from '../../../firmware/src/app/gate/gate_lane.js';
import { GateLoop } from '../../../firmware/src/app/gate/gate_loop.js';
import { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import {
  VALIDATOR_CONFIG_DEFAULT,
  type ValidatorConfig,
} from '../../../firmware/src/app/validator/validator_ports.js';
import { RUN_ON_CLOCK_STEPS_MAX, runOnClock } from '../pn532_sim/pn532_sim_rig.js';
import { testPki } from '../pki/test_pki.js';
import { Prng } from '../prng.js';
import { StorageSim } from '../storage_sim.js';
import { TurnstileControllerSim } from '../turnstile_sim/turnstile_controller_sim.js';
import { TurnstileSimPort } from '../turnstile_sim/turnstile_sim_port.js';
import type { BusRunOptions } from './bus_run.js';
import { riderPool, type RiderPool } from './bus_riders.js';
import { REFUSABLE_IN_AUTO } from './bus_checks.js';
import { CARD_MIXES, type PopulationKind } from '../cards/card_mix.js';
import { createSimBoard, type SimBoard } from './sim_board.js';
import { busBoardOptions, simDenyKey } from './sim_board_parts.js';
import { drawGateDay, type GateDayPlan, type GateVisit } from './gate_visitors.js';
import { gateVisit, type GateVisitLine } from './gate_visit.js';

/** Options of a gate day; `shuaka sim --board gate` maps its flags onto these. */
export interface GateRunOptions {
  readonly seed: number;
  readonly tourGroups: number;
  readonly families: number;
  readonly walkIns: number;
  readonly tailgateChance: number;
  readonly mode: ValidatorConfig['mode'];
}

export const GATE_RUN_DEFAULT: GateRunOptions = {
  seed: 1, tourGroups: 2, families: 6, walkIns: 12, tailgateChance: 0.1, mode: 'auto',
};

/** Admission at the gate: 40 yuan, 20 with a concession card (the pool's social-security). */
export const GATE_ADMISSION_MINOR = 4_000;
export const GATE_CONCESSION_MINOR = 2_000;
/** Clock steps a visit may take (a tour group of 25 walking is about 25 x 2,000 steps). */
const STEPS_PER_VISIT_MAX = 200_000;

export interface GateRun {
  readonly options: GateRunOptions;
  readonly board: SimBoard;
  readonly pool: RiderPool;
  readonly plan: GateDayPlan;
  readonly app: GateApp;
  readonly ledgerStorage: StorageSim;
  readonly lane: TurnstileControllerSim;
  readonly exit: TurnstileControllerSim;
  readonly visits: readonly GateVisitLine[];
  /** Simulated ms from the first card to the last person through. */
  readonly spanMs: number;
}

/** The gate's visitors carry what the bus line's riders carry. */
const GATE_POPULATION: PopulationKind = 'realistic';

/**
 * Card groups of the day's pool: two, or more when the ticket holders need more distinct
 * genuine cards (one each, and one left for the walk-ins) than two groups hold, or the
 * walk-ins more cards than the holders leave (a walk-in draws any card of the rest, so with
 * too few most came back with a card already inside: 500 walk-ins paid 8 admissions). 20 tour
 * groups and 40 families, within the flags' ranges, crashed with two.
 */
export function gateCardGroups(
  options: Pick<GateRunOptions, 'tourGroups' | 'families' | 'walkIns'>,
): number {
  const mix = CARD_MIXES[GATE_POPULATION];
  const genuinePerGroup = mix.filter(([name]) => !REFUSABLE_IN_AUTO.has(name)).length;
  const holders = options.tourGroups + options.families;
  return Math.max(2, Math.ceil((holders + 1) / genuinePerGroup),
    Math.ceil((holders + options.walkIns) / mix.length));
}

/** The bus board's options turned into a gate's: fares are the admission. */
export function gateBoardOptions(options: GateRunOptions, pool: RiderPool): Parameters<
  typeof createSimBoard>[0] {
  const bus: BusRunOptions = {
    seed: options.seed, riders: 0, tornChance: 0, baudRate: 921_600, mode: options.mode,
    cardGroups: gateCardGroups(options),
  };
  const base = busBoardOptions(bus, pool);
  const categories = base.fares.categories.map((c) => ({ ...c, fareMinor: GATE_CONCESSION_MINOR }));
  return {
    ...base, lineId: 'XIHU-N', terminalId: 'GATE0001',
    fares: { ...base.fares, flatFareMinor: GATE_ADMISSION_MINOR, categories },
  };
}

/** Runs the day; `onVisit` sees every visit as it ends. */
export async function runGate(
  options: GateRunOptions,
  onVisit: (line: GateVisitLine) => void,
): Promise<GateRun> {
  const prng = new Prng(options.seed);
  const pool = riderPool(options.seed, gateCardGroups(options), testPki(), GATE_POPULATION);
  const board = await createSimBoard(gateBoardOptions(options, pool));
  const plan = drawGateDay(prng.fork('visitors'), pool, simDenyKey(options.seed), {
    ...options, date: '2026-11-22',
  });
  const lane = new TurnstileControllerSim();
  const exit = new TurnstileControllerSim();
  const portOptions = { clock: board.clock, requestMs: 20, timeoutMs: 500 };
  const ledgerStorage = new StorageSim({
    totalBytes: 8 << 20, prng: prng.fork('gate-ledger'), tornModes: ['prefix'],
  });
  const key = DenyKey.fromBytes(simDenyKey(options.seed));
  const validator = { ...VALIDATOR_CONFIG_DEFAULT, mode: options.mode };
  const app = new GateApp({
    ...board.validatorPorts,
    turnstile: new TurnstileSimPort(lane, portOptions),
    exitTurnstile: new TurnstileSimPort(exit, portOptions),
    ledgerStorage,
    gateParams: () => plan.gate,
    cardToken: (pan) => {
      const token = key.token(pan, 0);
      return token === null ? null : Buffer.from(token).toString('hex').toUpperCase();
    },
  }, { validator, lane: GATE_LANE_CONFIG_DEFAULT, direction: 'entry' });
  const started = await board.rig.run(app.start());
  if (!started.ok) throw new Error(`gate start: ${started.detail}`);
  const loop = new GateLoop(app, board.validatorPorts.reader, board.clock, validator);
  const lines = await runGateDay(board, loop, plan.visits, { lane, exit, prng, onVisit });
  const first = lines[0]?.placedMs ?? 0;
  const last = lines.reduce((m, l) => Math.max(m, l.lastPassMs ?? l.placedMs), first);
  return { options, board, pool, plan, app, ledgerStorage, lane, exit, visits: lines,
    spanMs: last - first };
}

async function runGateDay(
  board: SimBoard,
  loop: GateLoop,
  visits: readonly GateVisit[],
  env: { lane: TurnstileControllerSim; exit: TurnstileControllerSim; prng: Prng;
    onVisit: (line: GateVisitLine) => void },
): Promise<GateVisitLine[]> {
  const lines: GateVisitLine[] = [];
  const reports: GateTapReport[] = [];
  let stop = false;
  const looping = (async (): Promise<void> => {
    while (!stop) {
      const report = await loop.turn();
      if (report !== null) reports.push(report);
    }
  })();
  const walker = env.prng.fork('walkers');
  const scenario = (async (): Promise<void> => {
    for (const visit of visits) {
      const line = await gateVisit(board, visit, { ...env, prng: walker, reports });
      lines.push(line);
      env.onVisit(line);
    }
    // Let the loop's idle checks count the last exits, then stop.
    await board.clock.sleepMs(2_000);
    stop = true;
  })();
  const stepsMax = RUN_ON_CLOCK_STEPS_MAX + visits.length * STEPS_PER_VISIT_MAX;
  await runOnClock(board.clock, Promise.all([scenario, looping]), stepsMax);
  return lines;
}
