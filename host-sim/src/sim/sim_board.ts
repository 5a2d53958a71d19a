// The simulated validator board: the production app on the PN532 emulator, in simulated time.
//
// Everything that would be hardware is a twin: PN532 emulator on a paced serial line, DWIN
// display emulator on its own paced line, a temporary sysfs tree for the buzzer and LEDs,
// power-cut-capable storage. One seed drives every random choice; ClockSim drives time.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKernel, type Kernel } from '../../../assembly/host/kernel_loader.js';
import { DwinDisplay, DWIN_LAYOUT_DEFAULT } from '../../../hal/src/display/dwin_display.js';
import { INDICATOR_PATTERNS_DEFAULT } from '../../../hal/src/buzzer/indicator_patterns.js';
import { NODE_SYSFS_FILES } from '../../../hal/src/buzzer/sysfs_files.js';
import { openSysfsIndicator } from '../../../hal/src/buzzer/sysfs_indicator.js';
import type { IndicatorPort, IndicatorSignal } from '../../../hal/src/ports/indicator_port.js';
import { Journal, JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { ParamStore, writeDefaultParams } from '../../../firmware/src/app/params/params_store.js';
import type { CaRevocation, FareParams } from '../../../firmware/src/app/params/params_files.js';
import { Validator } from '../../../firmware/src/app/validator/validator.js';
import type {
  LogEvent,
  ValidatorConfig,
} from '../../../firmware/src/app/validator/validator_ports.js';
import { ClockSim } from '../clock_sim.js';
import { DwinDisplaySim } from '../display_sim/dwin_display_sim.js';
import { SYSFS_TREE_SIM_DEFAULT, sysfsTreeSimCreate } from '../display_sim/sysfs_tree_sim.js';
import {
  createPn532SimRig,
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  type Pn532SimRig,
} from '../pn532_sim/pn532_sim_rig.js';
import { createSerialLinkPairSim } from '../serial_link_sim.js';
import { Prng } from '../prng.js';
import { StorageSim } from '../storage_sim.js';

/** 2026-11-22 08:00 China time: simulated time zero (a weekday morning). */
export const SIM_EPOCH_WALL_MS = Date.UTC(2026, 10, 22, 0, 0, 0);

/** Knobs of one simulated board. */
export interface SimBoardOptions {
  readonly seed: number;
  /** CA keys the validator loads (UnionPay TLV hex), and its deny list. */
  readonly caKeysTlvHex: readonly string[];
  readonly denyList: readonly { readonly pan: string; readonly psn: number }[];
  readonly caRevocations: readonly CaRevocation[];
  readonly validator: ValidatorConfig;
  /** PN532 host-link speed after start-up. */
  readonly baudRate: number;
  readonly lineId: string;
  readonly fares: FareParams;
  readonly storageBytes: number;
}

/** The composed board and the handles a scenario needs. */
export interface SimBoard {
  readonly clock: ClockSim;
  readonly rig: Pn532SimRig;
  readonly screen: DwinDisplaySim;
  readonly validator: Validator;
  readonly journal: Journal;
  readonly storage: StorageSim;
  readonly kernel: Kernel;
  readonly logs: LogEvent[];
  /** Last indicator signal started (the beep the rider heard). */
  lastSignal(): IndicatorSignal | null;
  /** Removes the temporary sysfs tree. */
  dispose(): void;
}

/** An Ed25519 key pair derived from the seed, so signed parameter sets replay exactly. */
function seededSigningKey(prng: Prng): { privateKey: KeyObject; publicKey: KeyObject } {
  // PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  const privateKey = createPrivateKey({
    key: Buffer.concat([prefix, prng.bytes(32)]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
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

async function simParams(options: SimBoardOptions, prng: Prng): Promise<ParamStore> {
  const keys = seededSigningKey(prng.fork('params-key'));
  const paramsStorage = new StorageSim({
    totalBytes: 64 << 20,
    prng: prng.fork('params'),
    tornModes: ['prefix'],
  });
  const written = await writeDefaultParams(paramsStorage, {
    version: 1,
    terminal: { terminalId: 'SIM00001', lineId: options.lineId },
    fares: options.fares,
    caKeysTlvHex: options.caKeysTlvHex,
    denyList: options.denyList,
    caRevocations: options.caRevocations,
    signingKey: keys.privateKey,
  });
  if (!written.ok) throw new Error(`simulator parameters: ${written.error.message}`);
  const store = new ParamStore(keys.publicKey);
  const activated = await store.activate(paramsStorage);
  if (!activated.ok) throw new Error(`simulator parameters refused: ${activated.error.message}`);
  return store;
}

/** The rider-facing outputs: DWIN display on a paced line, buzzer and LEDs in a sysfs tree. */
function createOutputs(clock: ClockSim): {
  display: DwinDisplay;
  screen: DwinDisplaySim;
  indicator: IndicatorPort;
  sysfsRoot: string;
  lastSignal: () => IndicatorSignal | null;
} {
  const displayLine = createSerialLinkPairSim(clock, {
    ...PN532_SIM_RIG_DEFAULT_OPTIONS.line,
    baudRate: 115200,
  });
  const screen = new DwinDisplaySim();
  screen.attach(displayLine.device);
  const display = new DwinDisplay(displayLine.host, { layout: DWIN_LAYOUT_DEFAULT, crc: false });
  const sysfsRoot = mkdtempSync(join(tmpdir(), 'shuaka-sysfs-'));
  sysfsTreeSimCreate(sysfsRoot, SYSFS_TREE_SIM_DEFAULT);
  const player = openSysfsIndicator({
    sysfsRoot,
    files: NODE_SYSFS_FILES,
    clock,
    buzzer: { kind: 'pwm', chip: 0, channel: 0 },
    greenLed: 'green:status',
    redLed: 'red:status',
    patterns: INDICATOR_PATTERNS_DEFAULT,
  });
  if (!player.ok) throw new Error(`indicator: ${player.error} ${player.detail}`);
  let lastSignal: IndicatorSignal | null = null;
  const indicator = recordingIndicator(player.value, (s) => {
    lastSignal = s;
  });
  return { display, screen, indicator, sysfsRoot, lastSignal: () => lastSignal };
}

/** Builds and starts the board; the reader is switched to `baudRate` like a real boot. */
export async function createSimBoard(options: SimBoardOptions): Promise<SimBoard> {
  const prng = new Prng(options.seed);
  const clock = new ClockSim(SIM_EPOCH_WALL_MS);
  const rig = createPn532SimRig(clock, PN532_SIM_RIG_DEFAULT_OPTIONS);
  const started = await rig.run(
    rig.reader.start({
      baudRate: options.baudRate,
      rf: { activationAttempts: 2, exchangeRetries: 0, cardAnswerTimeoutMs: 51.2 },
    }),
  );
  if (!started.ok) throw new Error(`PN532 start: ${started.error} ${started.detail}`);
  const outputs = createOutputs(clock);
  const storage = new StorageSim({
    totalBytes: options.storageBytes,
    prng: prng.fork('storage'),
    tornModes: ['prefix', 'garbage', 'zeros'],
  });
  const opened = await Journal.open(storage, {
    fileName: JOURNAL_FILE_NAME,
    clock,
    reserveBytes: 64 * 1024,
    sizeBytesMax: options.storageBytes,
  });
  if (!opened.ok) throw new Error(`journal: ${opened.error}`);
  const params = await simParams(options, prng);
  const kernel = await loadKernel();
  const logs: LogEvent[] = [];
  const unpredictable = prng.fork('unpredictable-number');
  const validator = new Validator(
    {
      reader: rig.reader,
      display: outputs.display,
      indicator: outputs.indicator,
      clock,
      kernel,
      journal: opened.value.journal,
      params: () => {
        const active = params.active();
        if (active === null) throw new Error('no active parameter set');
        return active;
      },
      unpredictableNumber: () => unpredictable.bytes(4),
      log: { log: (event) => logs.push(event) },
    },
    options.validator,
  );
  await rig.run(validator.start());
  return {
    clock,
    rig,
    screen: outputs.screen,
    validator,
    journal: opened.value.journal,
    storage,
    kernel,
    logs,
    lastSignal: outputs.lastSignal,
    dispose: () => rmSync(outputs.sysfsRoot, { recursive: true, force: true }),
  };
}
