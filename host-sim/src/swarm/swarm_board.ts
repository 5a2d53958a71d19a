// One boot of the swarm's validator: the production firmware on simulated devices.
//
// Composed from the same firmware parts as sim_board_parts.ts (reader driver, kernel, journal,
// parameters, Validator), around the swarm's twins: a reader link that can be unplugged, line
// noise that comes and goes, a wall clock that can jump, and outputs kept in memory (the DWIN
// emulator is written directly, the indicator records its signal) so that a tap costs no real
// I/O. The journal and parameter media outlive the board: a reboot composes a new one on them.

import {
  compileKernelModule,
  loadKernel,
  type Kernel,
} from '../../../assembly/host/kernel_loader.js';
import { DwinDisplay, DWIN_LAYOUT_DEFAULT } from '../../../hal/src/display/dwin_display.js';
import { PN532_READER_DEFAULT_OPTIONS, Pn532Reader } from '../../../hal/src/pn532/pn532_reader.js';
import type { DisplayPort } from '../../../hal/src/ports/display_port.js';
import type { IndicatorPort, IndicatorSignal } from '../../../hal/src/ports/indicator_port.js';
import type { PsamPort } from '../../../hal/src/ports/psam_port.js';
import type { ReaderStartOptions } from '../../../hal/src/ports/reader_control_port.js';
import type { ReaderPort } from '../../../hal/src/ports/reader_port.js';
import type { StoragePort } from '../../../hal/src/ports/storage_port.js';
import {
  Journal,
  JOURNAL_FILE_NAME,
  type JournalRecovery,
} from '../../../firmware/src/app/journal/journal.js';
import { PanVault, type PanVaultKeys } from '../../../firmware/src/app/journal/pan_vault.js';
import type { DepotPort } from '../../../firmware/src/app/upload/depot_port.js';
import { Uploader, UPLOADER_CONFIG_DEFAULT } from '../../../firmware/src/app/upload/uploader.js';
import type { ParamSet } from '../../../firmware/src/app/params/params_store.js';
import { Validator } from '../../../firmware/src/app/validator/validator.js';
import type {
  LogEvent,
  LogPort,
  ValidatorPorts,
} from '../../../firmware/src/app/validator/validator_ports.js';
import { DwinDisplaySim } from '../display_sim/dwin_display_sim.js';
import { PN532_SIM_DEFAULT_OPTIONS, Pn532Sim } from '../pn532_sim/pn532_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_LINE,
  PN532_SIM_RIG_QUIET_WHOLE_LINE,
} from '../pn532_sim/pn532_sim_rig.js';
import type { Prng } from '../prng.js';
import { createSerialLinkPairSim } from '../serial_link_sim.js';
import { DepotLinkFaulty, type DepotLinkFaults } from '../sim/depot_sim.js';
import type { SimBoardOptions } from '../sim/sim_board.js';
import { SIM_READER_RF, simDataKey } from '../sim/sim_board_parts.js';
import {
  TUNION_PSAM_OPTIONS_DEFAULT,
  tunionPsamOpen,
  tunionPsamProblemText,
} from '../../../firmware/src/app/validator/tunion_psam.js';
import type { PsamEmulator } from '../psam/psam_emulator.js';
import { PsamPortSim, type PsamSlotFaults } from '../psam/psam_port_sim.js';
import type { StorageSim } from '../storage_sim.js';
import { ClockSim } from '../clock_sim.js';
import {
  busyTrackedReader,
  JumpClock,
  memoryIndicator,
  PlugLink,
  type NoiseControl,
} from './swarm_devices.js';
import type { SwarmParams } from './swarm_params.js';

/** Bytes kept free in the journal for records that close a tap under way. */
export const SWARM_JOURNAL_RESERVE_BYTES = 64 * 1024;

/** The terminal the swarm's boards upload as (its depot takes no other). */
export const SWARM_TERMINAL_ID = 'SWARM001';

/** The board's link to the depot and the journal's segment size (drawn per seed). */
export interface SwarmUpload {
  /** The run's depot (it outlives every board), reached through a link with `faults`. */
  readonly depot: DepotPort;
  readonly faults: DepotLinkFaults;
  readonly contactIntervalMs: number;
  readonly batchRecords: number;
  readonly segmentBytes: number;
}

/** What a boot is built on; the media and the noise outlive every board. */
export interface SwarmBoot {
  readonly options: SimBoardOptions;
  readonly storage: StorageSim;
  /** The port the journal writes through: `storage` itself, or a canary's twin of it. */
  readonly journalPort: StoragePort;
  readonly params: SwarmParams;
  readonly noise: NoiseControl;
  /** Wall time at the new board's time zero. */
  readonly wallEpochMs: number;
  /** Stream of this boot's unpredictable numbers. */
  readonly prng: Prng;
  /** Wraps the board's log port (a canary puts a leaking logger here). */
  readonly wrapLog: (inner: LogPort) => LogPort;
  /** Wraps the reader driver the validator sees (a canary may hang it). */
  readonly wrapReader: (inner: ReaderPort) => ReaderPort;
  /** Wraps the journal the validator sees (a canary may hide its open grey records). */
  readonly wrapJournal: (inner: Journal) => Journal;
  readonly upload: SwarmUpload;
  /** The PSAM in the slot (it outlives the board, as a card does), or null for none. */
  readonly psam: PsamEmulator | null;
  /** Its slot's faults (they outlive the board too), and whether it starts empty. */
  readonly psamSlot: PsamSlotFaults & { bootOn(clock: ClockSim): boolean };
  /** Wraps the PSAM port the validator sees (a canary may break its power-on). */
  readonly wrapPsam: (inner: PsamPort) => PsamPort;
}

/** A running board. */
export interface SwarmBoard {
  readonly clock: ClockSim;
  readonly wall: JumpClock;
  readonly pn532: Pn532Sim;
  readonly plug: PlugLink;
  readonly validator: Validator;
  /** The uploader beside the tap loop (bus_uploader.ts), its pass read in this thread. */
  readonly uploader: Uploader;
  readonly journal: Journal;
  readonly recovery: JournalRecovery;
  readonly kernel: Kernel;
  readonly screen: DwinDisplaySim;
  readonly params: ParamSet;
  readonly logs: LogEvent[];
  /** What the reader supervision needs: the driver, the outputs, the log, the start options. */
  readonly supervision: SwarmReaderSupervision;
  lastSignal(): IndicatorSignal | null;
  /** True while the validator has a reader operation under way (a canary's hang counts). */
  readerBusy(): boolean;
  /** Drops the UART transcript kept so far (the swarm checks outcomes, not wire bytes). */
  forgetLineRecords(): void;
}

/** The board's parts a lost reader is reported on and brought back with. */
export interface SwarmReaderSupervision {
  readonly reader: Pn532Reader;
  readonly display: DisplayPort;
  readonly indicator: IndicatorPort;
  readonly log: LogPort;
  readonly start: ReaderStartOptions;
  /** Jitter of the reopen backoff, [0, 1), from the boot's seeded stream. */
  readonly random01: () => number;
  /** `reader-error` events logged so far. */
  readerErrors(): number;
}

/** Why a boot did not reach WaitForCard. */
export type SwarmBootFailure =
  | { readonly stage: 'reader'; readonly detail: string }
  | { readonly stage: 'journal'; readonly detail: string }
  | { readonly stage: 'params'; readonly detail: string }
  | { readonly stage: 'power'; readonly detail: string };

/**
 * Boots a board. Resolves to the board, or to the stage that failed: the reader's start-up
 * handshake, the journal's open (CORRUPT, or IO when power fails during its recovery), or the
 * parameters. Never leaves anything behind (no files, no timers).
 */
export async function bootSwarmBoard(
  boot: SwarmBoot,
): Promise<{ ok: true; board: SwarmBoard } | { ok: false; failure: SwarmBootFailure }> {
  const clock = new ClockSim(boot.wallEpochMs);
  const wall = new JumpClock(clock);
  const devices = await startReader(boot, clock, wall);
  if (!devices.ok) return { ok: false, failure: { stage: 'reader', detail: devices.detail } };
  const { pn532, plug, reader, forgetLineRecords } = devices;
  const opened = await openJournal(boot, wall);
  if (!opened.ok) {
    const stage = boot.storage.isDown() ? 'power' : 'journal';
    return { ok: false, failure: { stage, detail: `${opened.error} ${opened.detail}` } };
  }
  const params = await boot.params.boot();
  if (!params.ok) return { ok: false, failure: { stage: 'params', detail: params.reason } };
  const kernel = await loadKernel({ module: await swarmKernelModule() });
  const [screen, indicator] = [swarmScreen(), memoryIndicator()];
  const { logs, log, readerErrors } = boardLog(boot);
  const display = new DwinDisplay(screen, { layout: DWIN_LAYOUT_DEFAULT, crc: false });
  const psam = await openPsam(boot, clock);
  const jitter = boot.prng.fork('reopen-jitter');
  // The terminal data key of the seed (as `shuaka sim`); each boot its own IV stream.
  const sealIvs = boot.prng.fork('pan-seal-iv');
  const panVault = PanVault.fromKeys(swarmVaultKeys(boot.options.seed), (n) => sealIvs.bytes(n));
  const activeSet = params.set;
  const seen = busyTrackedReader(boot.wrapReader(reader));
  const validator = new Validator(
    { reader: seen.reader, display, indicator, clock: wall, kernel,
      journal: boot.wrapJournal(opened.value.journal), params: () => activeSet,
      unpredictableNumber: () => boot.prng.bytes(4), panVault, log, ...psam },
    boot.options.validator,
  );
  await runOnSwarmClock(clock, validator.start());
  // As the board does: the floor is raised once the validator has started on the new set.
  await params.raiseFloor();
  const uploader = boardUploader(boot, { clock, wall, journal: opened.value.journal, panVault,
    log, validator });
  const board: SwarmBoard = {
    clock,
    wall,
    pn532,
    plug,
    validator,
    uploader,
    journal: opened.value.journal,
    recovery: opened.value.recovery,
    kernel,
    screen,
    params: activeSet,
    logs,
    supervision: {
      reader,
      display,
      indicator,
      log,
      start: readerStart(boot),
      random01: () => jitter.below(1 << 30) / (1 << 30),
      readerErrors,
    },
    lastSignal: () => indicator.last(),
    readerBusy: seen.busy,
    forgetLineRecords,
  };
  return { ok: true, board };
}

/**
 * The PSAM's ports for the validator: the slot (with the run's slot faults) opened as the
 * board opens it at start-up (power-on, SELECT, files 0016 and 0017: tunion_psam.ts), and the
 * bus's stop source. A slot the session left empty for this boot is handed over unopened, as
 * `shuaka run --psam` does (the validator opens it at a T-Union card once it is back). Throws
 * when a PSAM in its slot does not open: the session arms no fault at boot, so that is a
 * simulator bug.
 */
async function openPsam(
  boot: SwarmBoot,
  clock: ClockSim,
): Promise<Pick<ValidatorPorts, 'psam' | 'psamUnopened' | 'position'>> {
  const tunion = boot.options.tunion ?? null;
  if (boot.psam === null || tunion === null) return {};
  const emptyAtBoot = boot.psamSlot.bootOn(clock);
  const port = boot.wrapPsam(new PsamPortSim(boot.psam, clock,
    { commandMs: tunion.commandMs, faults: boot.psamSlot }));
  const opened = await runOnSwarmClock(clock, tunionPsamOpen(port, TUNION_PSAM_OPTIONS_DEFAULT));
  if (opened.ok) return { psam: opened.value, position: tunion.position };
  if (emptyAtBoot) return { psamUnopened: port, position: tunion.position };
  throw new Error(`swarm: ${tunionPsamProblemText(opened.problem)} at boot`);
}

/** The uploader beside the tap loop, as bus_uploader.ts builds it, its pass read in-thread. */
function boardUploader(
  boot: SwarmBoot,
  parts: {
    clock: ClockSim;
    wall: JumpClock;
    journal: Journal;
    panVault: PanVault;
    log: LogPort;
    validator: Validator;
  },
): Uploader {
  const jitter = boot.prng.fork('upload-jitter');
  const link = new DepotLinkFaulty(boot.upload.depot, boot.upload.faults,
    boot.prng.fork('depot-link'), parts.clock);
  return new Uploader(
    {
      depot: link, storage: boot.journalPort, journalFileName: JOURNAL_FILE_NAME,
      journal: parts.journal, panVault: parts.panVault, clock: parts.wall,
      random01: () => jitter.below(1 << 30) / (1 << 30),
      log: parts.log,
      tapInProgress: () => parts.validator.state() === 'Processing',
      params: null,
    },
    { ...UPLOADER_CONFIG_DEFAULT, terminalId: SWARM_TERMINAL_ID,
      contactIntervalMs: boot.upload.contactIntervalMs,
      batch: { ...UPLOADER_CONFIG_DEFAULT.batch, recordsMax: boot.upload.batchRecords } },
  );
}

/** The reader side: UART line with the run's noise, PN532 emulator, USB plug, driver start. */
async function startReader(
  boot: SwarmBoot,
  clock: ClockSim,
  wall: JumpClock,
): Promise<
  | {
      ok: true;
      pn532: Pn532Sim;
      plug: PlugLink;
      reader: Pn532Reader;
      forgetLineRecords: () => void;
    }
  | { ok: false; detail: string }
> {
  const line = createSerialLinkPairSim(clock, {
    ...PN532_SIM_RIG_QUIET_WHOLE_LINE,
    // The driver writes frames built for the write, and constants: no copy of them.
    writesUnchanged: true,
    hostToDeviceFaults: boot.noise,
    deviceToHostFaults: boot.noise,
  });
  // The swarm checks outcomes, not wire bytes: no write is kept (fewer old-generation GCs).
  line.keepTranscript(false);
  const pn532 = new Pn532Sim(line.device, clock, PN532_SIM_DEFAULT_OPTIONS);
  pn532.keepTimings(false);
  const plug = new PlugLink(line.host, PN532_SIM_RIG_DEFAULT_LINE.baudRate);
  const reader = new Pn532Reader(plug, wall, PN532_READER_DEFAULT_OPTIONS);
  const started = await runOnSwarmClock(clock, reader.start(readerStart(boot)));
  if (!started.ok) return { ok: false, detail: `${started.error} ${started.detail}` };
  // As on a board: the driver hears of a hung-up device at once (pty_reader.ts).
  plug.onLost((detail) => reader.linkLost(detail));
  return { ok: true, pn532, plug, reader, forgetLineRecords: () => line.resetRecords() };
}

let kernelModule: Promise<WebAssembly.Module> | null = null;

/** The kernel compiled once per process; each boot instantiates it afresh (a reboot). */
function swarmKernelModule(): Promise<WebAssembly.Module> {
  kernelModule ??= compileKernelModule();
  return kernelModule;
}

let vaultKeys: { readonly seed: number; readonly keys: PanVaultKeys } | null = null;

/** The subkeys of the seed's data key, derived once per seed (each boot has its own vault). */
function swarmVaultKeys(seed: number): PanVaultKeys {
  if (vaultKeys?.seed !== seed) vaultKeys = { seed, keys: PanVault.keysOf(simDataKey(seed)) };
  return vaultKeys.keys;
}

/** The display emulator: the swarm reads the validator's reports, never the wire frames. */
function swarmScreen(): DwinDisplaySim {
  const screen = new DwinDisplaySim();
  screen.keepRecords(false);
  return screen;
}

/** The board's log, kept in memory, counting reader errors (the supervision's input). */
function boardLog(boot: SwarmBoot): {
  logs: LogEvent[];
  log: LogPort;
  readerErrors: () => number;
} {
  const logs: LogEvent[] = [];
  let errors = 0;
  const log = boot.wrapLog({
    log: (event) => {
      if (event['event'] === 'reader-error') errors += 1;
      logs.push(event);
    },
  });
  return { logs, log, readerErrors: () => errors };
}

function openJournal(boot: SwarmBoot, wall: JumpClock): ReturnType<typeof Journal.open> {
  return Journal.open(boot.journalPort, {
    fileName: JOURNAL_FILE_NAME,
    clock: wall,
    reserveBytes: SWARM_JOURNAL_RESERVE_BYTES,
    sizeBytesMax: boot.options.storageBytes,
    segmentBytesMax: boot.upload.segmentBytes,
  });
}

function readerStart(boot: SwarmBoot): ReaderStartOptions {
  return { baudRate: boot.options.baudRate, rf: SIM_READER_RF };
}

/** Steps the clock until `promise` settles (boot only). Throws on a deadlock or a livelock. */
export async function runOnSwarmClock<T>(clock: ClockSim, promise: Promise<T>): Promise<T> {
  let settled = false;
  const watched = promise.finally(() => {
    settled = true;
  });
  watched.catch(() => undefined);
  const end = await clock.wakeUntil(() => settled, SWARM_BOOT_STEPS_MAX - 1);
  if (!settled && end === 'idle') throw new Error(`swarm boot: deadlock at ${clock.nowMs()} ms`);
  if (!settled) throw new Error('swarm boot: too many clock steps');
  return watched;
}

/** Clock steps a boot may take. */
export const SWARM_BOOT_STEPS_MAX = 1_000_000;
