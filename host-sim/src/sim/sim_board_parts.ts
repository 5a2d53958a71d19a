// The parts of a simulated validator board that do not depend on the clock or the reader link.
//
// createSimBoard (ClockSim, in-memory PN532 line) and runBusOnPty (wall clock, PN532 emulator
// on a socat pty) compose the same board around different readers: DWIN display emulator,
// buzzer/LED sysfs tree, power-cut-capable journal storage, signed parameters, the kernel and
// the production Validator. Keeping one copy means both modes run the same firmware wiring.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKernel, type Kernel } from '../../../assembly/host/kernel_loader.js';
import { NODE_SYSFS_FILES, type SysfsFiles } from '../../../hal/src/buzzer/sysfs_files.js';
import {
  openSysfsIndicator,
  SYSFS_INDICATOR_BUS_VALIDATOR,
} from '../../../hal/src/buzzer/sysfs_indicator.js';
import { DwinDisplay, DWIN_LAYOUT_DEFAULT } from '../../../hal/src/display/dwin_display.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { IndicatorPort, IndicatorSignal } from '../../../hal/src/ports/indicator_port.js';
import type { PsamPort } from '../../../hal/src/ports/psam_port.js';
import type { ReaderRfConfig } from '../../../hal/src/ports/reader_control_port.js';
import type { ReaderPort } from '../../../hal/src/ports/reader_port.js';
import {
  Journal,
  JOURNAL_FILE_NAME,
  type JournalRecovery,
} from '../../../firmware/src/app/journal/journal.js';
import type { FareParams } from '../../../firmware/src/app/params/params_files.js';
import {
  DEFAULT_FARES,
  ParamStore,
  writeDefaultParams,
  type ParamSet,
} from '../../../firmware/src/app/params/params_store.js';
import { Validator } from '../../../firmware/src/app/validator/validator.js';
import {
  VALIDATOR_CONFIG_DEFAULT,
  type LogEvent,
  type TransitPosition,
  type ValidatorPorts,
  type ValidatorPsam,
} from '../../../firmware/src/app/validator/validator_ports.js';
import type { ClockSim } from '../clock_sim.js';
import { DwinDisplaySim } from '../display_sim/dwin_display_sim.js';
import { SYSFS_TREE_SIM_DEFAULT, sysfsTreeSimCreate } from '../display_sim/sysfs_tree_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_LINE, PN532_SIM_RIG_DEFAULT_OPTIONS, createPn532SimRig, type Pn532SimRig,
} from '../pn532_sim/pn532_sim_rig.js';
import { testPki } from '../pki/test_pki.js';
import { PanVault } from '../../../firmware/src/app/journal/pan_vault.js';
import { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import { Prng } from '../prng.js';
import { createSerialLinkPairSim, type SerialLinkPairSim } from '../serial_link_sim.js';
import { StorageSim } from '../storage_sim.js';
import type { BusRunOptions } from './bus_run.js';
import type { RiderPool } from './bus_riders.js';
import type { SimBoardOptions } from './sim_board.js';
import {
  SIM_PSAM_COMMAND_MS, SIM_TUNION_AID, simTransitTable, type SimRoute,
} from './sim_tunion.js';
import { testPsamProfile } from '../psam/psam_profile.js';

/**
 * What a bus run and its checkers read from a board, whatever its clock and reader link.
 * SimBoard (ClockSim + in-memory rig) is one; the pty board (wall clock + socat) another.
 */
export interface BusBoard {
  readonly clock: ClockPort;
  readonly screen: DwinDisplaySim;
  readonly validator: Validator;
  readonly journal: Journal;
  /** The journal's medium: checkers read its durable bytes. */
  readonly storage: StorageSim;
  readonly kernel: Kernel;
  /** The terminal data key's vault: checkers open the journal's sealed PANs with it. */
  readonly panVault: PanVault;
  /**
   * The running validator's parameter set (the real board's ParamsHolder): parameters down
   * replaces `set` between taps, then restarts the validator (bus_uploader.ts does the same).
   */
  readonly params: { set: ParamSet };
  readonly logs: LogEvent[];
  /** Last indicator signal started (the beep the rider heard). */
  lastSignal(): IndicatorSignal | null;
  /** Removes the temporary sysfs tree. Never throws. */
  dispose(): void;
}

/** The board's parts plus what the journal's start-up recovery found. */
export interface SimBoardRest extends BusBoard {
  readonly recovery: JournalRecovery;
  /** The ports the Validator was given (another application on the same board: the gate). */
  readonly validatorPorts: ValidatorPorts;
}

/** RF behaviour of every simulated board (the real board's BUS_VALIDATOR_RF, same values). */
export const SIM_READER_RF: ReaderRfConfig = {
  activationAttempts: 2,
  exchangeRetries: 0,
  cardAnswerTimeoutMs: 51.2,
};

/** An Ed25519 key pair derived from the seed, so signed parameter sets replay exactly. */
export function simSigningKey(prng: Prng): { privateKey: KeyObject; publicKey: KeyObject } {
  // PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  const privateKey = createPrivateKey({
    key: Buffer.concat([prefix, prng.bytes(32)]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** The seeded, signed and verified parameter set of a simulated board. Throws if refused. */
export async function simParamStore(options: SimBoardOptions, prng: Prng): Promise<ParamStore> {
  const keys = simSigningKey(prng.fork('params-key'));
  // The fleet deny key, from the seed: the depot and every simulated validator share it.
  const denyKey = DenyKey.fromBytes(options.denyKeyBytes ?? simDenyKey(options.seed));
  const paramsStorage = new StorageSim({
    totalBytes: 64 << 20,
    prng: prng.fork('params'),
    tornModes: ['prefix'],
  });
  const written = await writeDefaultParams(paramsStorage, {
    version: 1,
    terminal: { terminalId: options.terminalId ?? 'SIM00001', lineId: options.lineId },
    fares: options.fares,
    caKeysTlvHex: options.caKeysTlvHex,
    denyList: options.denyList,
    caRevocations: options.caRevocations,
    signingKey: keys.privateKey,
    denyKey,
    extraAids: (options.tunion ?? null) === null ? [] : [SIM_TUNION_AID],
  });
  if (!written.ok) throw new Error(`simulator parameters: ${written.error.message}`);
  const store = new ParamStore({ publicKey: keys.publicKey, denyKey });
  const activated = await store.activate(paramsStorage);
  if (!activated.ok) throw new Error(`simulator parameters refused: ${activated.error.message}`);
  return store;
}

/** A fresh, empty journal medium that can be torn by a power cut, seeded from `prng`. */
export function simStorage(options: SimBoardOptions, prng: Prng): StorageSim {
  return new StorageSim({
    totalBytes: options.storageBytes,
    prng: prng.fork('storage'),
    tornModes: ['prefix', 'garbage', 'zeros'],
  });
}

/** simStorage holding `options.journalFiles` durably (written before the board boots). */
export async function simStorageLoaded(options: SimBoardOptions, prng: Prng): Promise<StorageSim> {
  const storage = simStorage(options, prng);
  for (const [name, bytes] of options.journalFiles ?? []) {
    const written = await storage.replace(name, bytes);
    if (!written.ok) throw new Error(`journal medium: ${written.detail}`);
  }
  return storage;
}

/** Records the signals the app starts, then forwards them to the real player. */
function recordingIndicator(
  inner: IndicatorPort,
  onSignal: (s: IndicatorSignal) => void,
): IndicatorPort {
  return {
    signal: (signal) => {
      onSignal(signal);
      return inner.signal(signal);
    },
    whenDone: () => inner.whenDone(),
  };
}

/** The DWIN display's own serial line speed. */
export const SIM_DISPLAY_BAUD = 115_200;

/**
 * The PN532 rig of a simulated board (bus, restart, web face). A board checks what riders see,
 * not wire bytes or RF timings: keeping them grew a bus run by ~170 KB a tap (`shuaka sim
 * --riders 5000` held 1.1 GB at its end), and the web face runs for hours.
 */
export function simBoardRig(clock: ClockSim): Pn532SimRig {
  const rig = createPn532SimRig(clock, PN532_SIM_RIG_DEFAULT_OPTIONS);
  rig.line.keepTranscript(false);
  rig.sim.keepTimings(false);
  return rig;
}

/**
 * The rider-facing outputs on `clock`: DWIN on a paced line, buzzer and LEDs in a sysfs tree
 * created under `sysfsParent` (a tmpfs stands in for kernel attributes best), written through
 * `files` (the web face passes a recorder that sees every PWM and LED write, with its time).
 * `wireKept`: the display line's transcript and the DWIN frame list grow with every screen;
 * only a measurement that reads them (bench e2e) keeps them.
 */
export function simOutputs(
  clock: ClockPort,
  sysfsParent: string = tmpdir(),
  files: SysfsFiles = NODE_SYSFS_FILES,
  wireKept = true,
): {
  display: DwinDisplay;
  displayLine: SerialLinkPairSim;
  screen: DwinDisplaySim;
  indicator: IndicatorPort;
  sysfsRoot: string;
  lastSignal: () => IndicatorSignal | null;
} {
  const displayLine = createSerialLinkPairSim(clock, {
    ...PN532_SIM_RIG_DEFAULT_LINE,
    baudRate: SIM_DISPLAY_BAUD,
  });
  const screen = new DwinDisplaySim();
  screen.attach(displayLine.device);
  displayLine.keepTranscript(wireKept);
  screen.keepRecords(wireKept);
  const display = new DwinDisplay(displayLine.host, { layout: DWIN_LAYOUT_DEFAULT, crc: false });
  const sysfsRoot = mkdtempSync(join(sysfsParent, 'shuaka-sysfs-'));
  sysfsTreeSimCreate(sysfsRoot, SYSFS_TREE_SIM_DEFAULT);
  const player = openSysfsIndicator({
    sysfsRoot,
    files,
    clock,
    ...SYSFS_INDICATOR_BUS_VALIDATOR,
  });
  if (!player.ok) {
    rmSync(sysfsRoot, { recursive: true, force: true });
    throw new Error(`indicator: ${player.error} ${player.detail}`);
  }
  let lastSignal: IndicatorSignal | null = null;
  const indicator = recordingIndicator(player.value, (s) => {
    lastSignal = s;
  });
  return { display, displayLine, screen, indicator, sysfsRoot, lastSignal: () => lastSignal };
}

/** What the rest of the board is built around. */
export interface SimBoardCore {
  readonly clock: ClockPort;
  /** A started reader (its control half stays with the caller). */
  readonly reader: ReaderPort;
  /** The journal medium: fresh (`simStorage`) or one that survived a power cut. */
  readonly storage: StorageSim;
  /** How the buzzer and LED attributes are written; absent = NODE_SYSFS_FILES. */
  readonly indicatorFiles?: SysfsFiles;
  /** The opened PSAM (T-Union cards), or null / absent for none. */
  readonly psam?: ValidatorPsam | null;
  /** The slot of a PSAM that did not open at the start (ValidatorPorts.psamUnopened). */
  readonly psamUnopened?: PsamPort | null;
  /** The bus's stop source (tap-in/tap-out fares). */
  readonly position?: () => TransitPosition;
}

/**
 * Composes everything but the reader: outputs, journal (opened, with recovery), parameters,
 * kernel and the Validator, NOT started (`validator.start()` needs the caller's clock to
 * run: `rig.run(...)` on ClockSim, a plain await on a wall clock). The PRNG streams are forked
 * by name from `seed` exactly as createSimBoard forks them, so a seed replays the same.
 * Throws when the journal cannot be opened or the parameters are refused.
 */
export async function composeSimBoardRest(
  options: SimBoardOptions,
  core: SimBoardCore,
): Promise<SimBoardRest> {
  const prng = new Prng(options.seed);
  const { clock, storage } = core;
  const outputs = simOutputs(clock, tmpdir(), core.indicatorFiles ?? NODE_SYSFS_FILES, false);
  const dispose = (): void => rmSync(outputs.sysfsRoot, { recursive: true, force: true });
  try {
    const opened = await Journal.open(storage, {
      fileName: JOURNAL_FILE_NAME,
      clock,
      reserveBytes: 64 * 1024,
      sizeBytesMax: options.storageBytes,
    });
    if (!opened.ok) throw new Error(`journal: ${opened.error} ${opened.detail}`);
    const store = await simParamStore(options, prng);
    const booted = store.active();
    if (booted === null) throw new Error('simulator parameters: no active set');
    const params = { set: booted };
    const kernel = await loadKernel();
    const logs: LogEvent[] = [];
    const unpredictable = prng.fork('unpredictable-number');
    // The simulated terminal data key and seal IVs come from the seed (replays stay exact).
    // IVs fork by boot time too: a reboot on the same key must not repeat a GCM IV.
    const sealIvs = prng.fork(`pan-seal-iv/${clock.wallMs()}`);
    const panVault = PanVault.fromKey(simDataKey(options.seed), (n) => sealIvs.bytes(n));
    const { journal, recovery } = opened.value;
    const validatorPorts: ValidatorPorts = {
      reader: core.reader,
      display: outputs.display,
      indicator: outputs.indicator,
      clock,
      kernel,
      journal,
      params: () => params.set,
      unpredictableNumber: () => unpredictable.bytes(4),
      panVault,
      log: {
        log: (event) => {
          logs.push(event);
          options.logSink?.(event);
        },
      },
      psam: core.psam ?? null, psamUnopened: core.psamUnopened ?? null,
      ...(core.position === undefined ? {} : { position: core.position }),
    };
    const validator = new Validator(validatorPorts, options.validator);
    const screen = outputs.screen;
    const lastSignal = outputs.lastSignal;
    return {
      clock,
      screen,
      validator,
      journal,
      storage,
      kernel,
      panVault,
      params,
      logs,
      lastSignal,
      dispose,
      recovery,
      validatorPorts,
    };
  } catch (error) {
    dispose();
    throw error;
  }
}

/**
 * The simulated terminal data key of a board with `seed` (what `journal export` needs to open
 * the PANs of a simulated journal: write it as DIR/data.key, mode 600).
 */
export function simDataKey(seed: number): Uint8Array {
  return new Prng(seed).fork('data-key').bytes(32);
}

/**
 * The simulated fleet deny key of `seed` (what `shuaka params denylist-build --deny-key` and
 * `shuaka run --deny-key` need for a simulated set: write it as a file, mode 600).
 */
export function simDenyKey(seed: number): Uint8Array {
  return new Prng(seed).fork('deny-key').bytes(32);
}

/** Fares of a bus line whose concession range covers the pool's social-security cards. */
export function busFares(pool: RiderPool): FareParams {
  return {
    ...DEFAULT_FARES,
    // T-Union cards pay by stops on L101 (tap in, tap out); qPBOC cards keep the flat fare.
    transit: simTransitTable('L101'),
    categories: [
      {
        name: 'concession',
        fareMinor: 100,
        panRanges: pool.concessionBins.map((bin) => ({ low: bin, high: bin })),
      },
    ],
  };
}

/** Medium the journal of a run fits on whatever the riders do: nothing is acknowledged. */
const SIM_STORAGE_BYTES_MIN = 8 << 20;
/**
 * Journal bytes a rider may take: about 1.4 KB on the realistic line (a pending and a final
 * record, some with T-Union greys, re-taps), with room for a heavier mix.
 */
const SIM_STORAGE_BYTES_PER_RIDER = 4 << 10;

/**
 * The simulated medium of a run of `riders`: the journal keeps every record of the ride (the
 * depot's ack comes after it), so a fixed 8 MiB filled at ~6,000 riders and put the validator
 * out of service. Space only: the simulation holds what is written, not the capacity.
 */
export function simStorageBytes(riders: number): number {
  return Math.max(SIM_STORAGE_BYTES_MIN, riders * SIM_STORAGE_BYTES_PER_RIDER);
}

/** The board a bus run uses: the test PKI's CA keys and revocations, the pool's deny list. */
export function busBoardOptions(
  options: BusRunOptions,
  pool: RiderPool,
  route: SimRoute | null = null,
): SimBoardOptions {
  const pki = testPki();
  // A board whose riders carry T-Union cards gets a PSAM and a stop source.
  const tunion = pool.tunion.length === 0 || route === null ? null : {
    psamProfile: testPsamProfile(),
    commandMs: SIM_PSAM_COMMAND_MS,
    position: () => route.position(),
    slotEmpty: options.psam === 'none',
  };
  return {
    seed: options.seed,
    // The SM CA key too when SM cards ride (a validator without it declines them).
    caKeysTlvHex: [...pki.caKeys.map((k) => k.tlvHex),
      ...(pool.smCapkTlvHex === null ? [] : [pool.smCapkTlvHex])],
    // The deny-listed T-Union cards by number (`tunion:SERIAL`, as `params denylist-build`).
    denyList: [...pool.denyList, ...pool.tunionDenied.map((r) => ({
      tunionSerial: r.card.profile.applicationSerial,
    }))],
    caRevocations: pki.revoked.map((r) => ({
      ridHex: r.ridHex,
      caIndex: r.caIndex,
      certificateSerialHex: r.certSerialHex,
    })),
    validator: { ...VALIDATOR_CONFIG_DEFAULT, mode: options.mode },
    baudRate: options.baudRate,
    lineId: 'L101',
    fares: busFares(pool),
    storageBytes: simStorageBytes(options.riders),
    terminalId: options.terminalId ?? 'SIM00001',
    ...(options.denyKeyBytes === undefined ? {} : { denyKeyBytes: options.denyKeyBytes }),
    ...(options.logSink === undefined ? {} : { logSink: options.logSink }),
    ...(options.journalFiles === undefined ? {} : { journalFiles: options.journalFiles }),
    tunion,
  };
}
