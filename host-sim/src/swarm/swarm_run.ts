// The swarm: the whole validator in simulated time, under a seed's fault mix, checked after
// every event (style.md 10.7 item 4; TigerBeetle's VOPR).
//
// One seed drives everything: the card population, the fault mix (swarm testing), every tap
// and every fault. The journal and parameter media outlive the boards: a power cut restarts
// the medium (keeping a torn remnant of unsynced bytes) and a new board boots on it, as a
// parameter push does. The run stops at the first violation, which names the event.

import { createHash } from 'node:crypto';
import { PanVault } from '../../../firmware/src/app/journal/pan_vault.js';
import type { PsamPort } from '../../../hal/src/ports/psam_port.js';
import type { ReaderPort } from '../../../hal/src/ports/reader_port.js';
import type { StoragePort } from '../../../hal/src/ports/storage_port.js';
import type { LogPort } from '../../../firmware/src/app/validator/validator_ports.js';
import type { DepotPort } from '../../../firmware/src/app/upload/depot_port.js';
import type { Journal } from '../../../firmware/src/app/journal/journal.js';
import { testPki } from '../pki/test_pki.js';
import { Prng } from '../prng.js';
import { BUS_RUN_DEFAULT } from '../sim/bus_run.js';
import { riderPool, type RiderPool, type TunionRiderCard } from '../sim/bus_riders.js';
import { tunionCardOfGroup } from '../cards/tunion_population.js';
import { SIM_EPOCH_WALL_MS, type SimBoardOptions } from '../sim/sim_board.js';
import { busBoardOptions, simDataKey, simStorage } from '../sim/sim_board_parts.js';
import { SimRoute } from '../sim/sim_tunion.js';
import { PsamEmulator } from '../psam/psam_emulator.js';
import type { StorageSim } from '../storage_sim.js';
import { SWARM_TERMINAL_ID } from './swarm_board.js';
import { SwarmDepot } from './swarm_depot.js';
import { journalDurableFiles } from './swarm_journal.js';
import { drawSwarmMix, swarmMixQuiet, type SwarmMix } from './swarm_mix.js';
import { SwarmModel, type SwarmViolation } from './swarm_model.js';
import type { SwarmCheck, SwarmOptions } from './swarm_options.js';
import { SWARM_PARAMS_FLOOR, SwarmParams, type SwarmParamsPath } from './swarm_params.js';
import { noiseControl, PsamSlotTwin, type NoiseControl } from './swarm_devices.js';
import { SwarmSession } from './swarm_session.js';

/** Hooks a canary uses to put a defect back; the stock run uses SWARM_HOOKS_STOCK. */
export interface SwarmHooks {
  /** How parameter sets are installed and booted (a canary may drop the version floor). */
  readonly paramsPath: SwarmParamsPath;
  /** The port the journal writes through (a canary may lose syncs). */
  readonly journalPort: (storage: StorageSim) => StoragePort;
  /** Runs after each restart of the medium (a canary may flip a committed bit). */
  readonly afterRestart: (storage: StorageSim, prng: Prng) => void;
  readonly wrapLog: (inner: LogPort) => LogPort;
  /** The reader driver the validator sees (a canary may hang it). */
  readonly wrapReader: (inner: ReaderPort) => ReaderPort;
  /** The board's reader supervision (report, reopen with backoff); a canary turns it off. */
  readonly superviseReader: boolean;
  /** Adjusts the seed's drawn fault mix (a canary forces the faults it needs). */
  readonly tuneMix: (drawn: SwarmMix) => SwarmMix;
  /** The depot the boards upload to (a canary may make it answer without storing). */
  readonly wrapDepot: (depot: SwarmDepot) => DepotPort;
  /** The journal the validator sees (a canary may hide its open T-Union grey records). */
  readonly wrapJournal: (journal: Journal) => Journal;
  /** The PSAM port the validator sees (a canary may never power the PSAM on again). */
  readonly wrapPsam: (port: PsamPort) => PsamPort;
}

export const SWARM_HOOKS_STOCK: SwarmHooks = {
  paramsPath: SWARM_PARAMS_FLOOR,
  journalPort: (storage) => storage,
  afterRestart: () => undefined,
  wrapLog: (inner) => inner,
  wrapReader: (inner) => inner,
  tuneMix: (drawn) => drawn,
  superviseReader: true,
  wrapDepot: (depot) => depot,
  wrapJournal: (journal) => journal,
  wrapPsam: (port) => port,
};

/** Counters of a run, for the summary line. */
export interface SwarmStats {
  taps: number;
  answered: number;
  approved: number;
  cuts: number;
  reboots: number;
  unplugs: number;
  paramsPushes: number;
  /** Parameter installs the power went out in the middle of. */
  paramsCuts: number;
  clockJumps: number;
  diskFulls: number;
  /** Cards loaded at the bank between rides (swarm_session.ts, riderTopsUp). */
  topUps: number;
  /** T-Union taps answered approved, and those of them that finished a torn debit. */
  tunionApproved: number;
  tunionRecovered: number;
  /** PSAM faults that happened: pulls, and purchase exchanges that failed (fault `psam`). */
  psamFaults: number;
  /** Boots that found the PSAM out of its slot (counted in psamFaults too). */
  psamOutAtBoots: number;
  simulatedMs: number;
}

/** What the run's depot got (for the summary line). */
export interface SwarmUploads {
  readonly batches: number;
  readonly lines: number;
}

/** What a run found. `crash` and `liveness` are separate from the correctness violations. */
export interface SwarmResult {
  readonly options: SwarmOptions;
  readonly mix: SwarmMix;
  readonly stats: SwarmStats;
  readonly uploads: SwarmUploads;
  readonly violations: readonly SwarmViolation[];
  readonly crash: { readonly event: number; readonly message: string } | null;
  /** SHA-256 of the journal's durable bytes at the end: two runs of a seed must agree. */
  readonly journalSha256Hex: string;
  readonly wallMs: number;
  /** CPU time of the run (user + system), ms: taps per CPU second is the figure of merit. */
  readonly cpuMs: number;
}

/** Everything a run holds on to across boards. */
export interface SwarmWorld {
  readonly options: SwarmOptions;
  readonly hooks: SwarmHooks;
  readonly prng: Prng;
  readonly mix: SwarmMix;
  readonly pool: RiderPool;
  readonly boardOptions: SimBoardOptions;
  readonly storage: StorageSim;
  readonly params: SwarmParams;
  readonly noise: NoiseControl;
  readonly model: SwarmModel;
  readonly stats: SwarmStats;
  /** The depot the boards upload to; it outlives them all. */
  readonly depot: SwarmDepot;
  /** Where the bus is (T-Union fares are by stops); the session moves it. */
  readonly route: SimRoute;
  /** The PSAM in every board's slot: a card, it outlives the boards (and its serial counter). */
  readonly psam: PsamEmulator;
  /** Its slot: pulled and put back, and the fault armed for a tap (fault `psam`). */
  readonly psamSlot: PsamSlotTwin;
}

/** Card populations riding a swarm line (15 bank and 7 T-Union kinds each). */
export const SWARM_CARD_GROUPS = 2;

/**
 * Deny-listed T-Union cards of a run: each is blocked at its first tap that reaches APPLICATION
 * BLOCK, so several give a seed several blocks to check (under cuts, pulls, PSAM faults).
 */
export const SWARM_DENIED_CARDS = 12;

/** The run's deny-listed riders (cards of their own groups: numbers no other card has). */
function swarmDeniedRiders(seed: number): TunionRiderCard[] {
  return Array.from({ length: SWARM_DENIED_CARDS }, (_, group) => ({
    name: 'tunion-deny-listed' as const,
    card: tunionCardOfGroup(seed, 'tunion-deny-listed', group),
  }));
}

/** The bus the swarm's boards ride (the stop source's vehicle; 8 characters on the card). */
export const SWARM_VEHICLE = 'SWARM-01';

/** Builds the run's world from its seed (population, media, first parameter set). */
export async function swarmWorld(options: SwarmOptions, hooks: SwarmHooks): Promise<SwarmWorld> {
  const prng = new Prng(options.seed);
  const mix = hooks.tuneMix(drawSwarmMix(prng.fork('mix'), options.faults));
  // T-Union cards too (7 kinds a group); the seed's mix says how often they tap.
  const riders = riderPool(options.seed, SWARM_CARD_GROUPS, testPki(), 'default', true);
  const route = new SimRoute(SWARM_VEHICLE, 0);
  const bus = busBoardOptions({ ...BUS_RUN_DEFAULT, seed: options.seed }, riders, route);
  // Deny-listed riders: their cards' numbers on the set's deny list (`tunion:SERIAL`, as
  // `params denylist-build` takes them), only for a seed that draws them.
  const denied = mix.tunionDeniedShare > 0 ? swarmDeniedRiders(options.seed) : [];
  const pool = { ...riders, tunion: [...riders.tunion, ...denied] };
  const boardOptions = { ...bus, denyList: [...bus.denyList,
    ...denied.map((r) => ({ tunionSerial: r.card.profile.applicationSerial }))] };
  const psamProfile = boardOptions.tunion?.psamProfile;
  if (psamProfile === undefined) throw new Error('swarm: the board has no PSAM');
  const params = new SwarmParams(boardOptions, prng.fork('params'), hooks.paramsPath);
  const first = await params.pushNewer();
  if (!first.ok) throw new Error(`swarm: the first parameter set was refused: ${first.message}`);
  const checks = new Set<SwarmCheck>(options.checks);
  // The boards' data key (swarm_board.ts): tokens and opening only, so no IV source.
  const vault = PanVault.fromKey(simDataKey(options.seed), () => new Uint8Array(0));
  const depot = new SwarmDepot(SWARM_TERMINAL_ID);
  const stats = swarmStatsZero();
  const psam = new PsamEmulator(psamProfile);
  return {
    options,
    hooks,
    prng,
    mix,
    pool,
    boardOptions,
    storage: simStorage(boardOptions, prng),
    params,
    noise: noiseControl(prng.fork('noise')),
    model: new SwarmModel(checks, pool, vault, depot),
    depot,
    route,
    psam,
    psamSlot: new PsamSlotTwin(psam, () => {
      stats.psamFaults += 1;
    }),
    stats,
  };
}

function swarmStatsZero(): SwarmStats {
  return {
    taps: 0,
    answered: 0,
    approved: 0,
    cuts: 0,
    reboots: 0,
    unplugs: 0,
    paramsPushes: 0,
    paramsCuts: 0,
    clockJumps: 0,
    diskFulls: 0,
    topUps: 0,
    tunionApproved: 0,
    tunionRecovered: 0,
    psamFaults: 0,
    psamOutAtBoots: 0,
    simulatedMs: 0,
  };
}

/** Runs one seed. Never throws for what the simulated validator does: that is `crash`. */
export async function runSwarm(
  options: SwarmOptions,
  hooks: SwarmHooks = SWARM_HOOKS_STOCK,
): Promise<SwarmResult> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const world = await swarmWorld(options, hooks);
  const session = new SwarmSession(world, SIM_EPOCH_WALL_MS);
  let crash: SwarmResult['crash'] = null;
  try {
    await session.run();
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    crash = { event: world.model.event, message };
  }
  return {
    options,
    mix: options.taps > options.quietTaps ? world.mix : swarmMixQuiet(world.mix),
    stats: world.stats,
    uploads: { batches: world.depot.batches, lines: world.depot.linesStored },
    violations: world.model.violations,
    crash,
    journalSha256Hex: journalFilesSha256Hex(world.storage),
    wallMs: performance.now() - started,
    cpuMs: cpuMsSince(cpuStarted),
  };
}

/** SHA-256 over every durable journal file, name and bytes, in name order. */
function journalFilesSha256Hex(storage: StorageSim): string {
  const hash = createHash('sha256');
  for (const [name, bytes] of journalDurableFiles(storage)) {
    hash.update(`${name}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}
