// A simulated board brought up on storage that outlived the previous board (after a power cut).
//
// Same composition as createSimBoard (sim_board.ts), with two differences a reboot needs: the
// journal is re-opened on the StorageSim that survived, and the wall clock resumes where the
// dead board's stopped (plus the reboot time) instead of jumping back to SIM_EPOCH_WALL_MS.
// Proposed to the lead: fold this into SimBoardOptions as `storage?` and `wallEpochMs?`.

import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKernel } from '../../../assembly/host/kernel_loader.js';
import { DwinDisplay, DWIN_LAYOUT_DEFAULT } from '../../../hal/src/display/dwin_display.js';
import { INDICATOR_PATTERNS_DEFAULT } from '../../../hal/src/buzzer/indicator_patterns.js';
import { NODE_SYSFS_FILES } from '../../../hal/src/buzzer/sysfs_files.js';
import { openSysfsIndicator } from '../../../hal/src/buzzer/sysfs_indicator.js';
import type { IndicatorPort, IndicatorSignal } from '../../../hal/src/ports/indicator_port.js';
import { Journal, JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import type { JournalRecovery } from '../../../firmware/src/app/journal/journal.js';
import { ParamStore, writeDefaultParams } from '../../../firmware/src/app/params/params_store.js';
import { Validator } from '../../../firmware/src/app/validator/validator.js';
import type { LogEvent } from '../../../firmware/src/app/validator/validator_ports.js';
import { ClockSim } from '../clock_sim.js';
import { DwinDisplaySim } from '../display_sim/dwin_display_sim.js';
import { SYSFS_TREE_SIM_DEFAULT, sysfsTreeSimCreate } from '../display_sim/sysfs_tree_sim.js';
import { createPn532SimRig, PN532_SIM_RIG_DEFAULT_OPTIONS } from '../pn532_sim/pn532_sim_rig.js';
import { createSerialLinkPairSim } from '../serial_link_sim.js';
import { Prng } from '../prng.js';
import { StorageSim } from '../storage_sim.js';
import { SIM_EPOCH_WALL_MS, type SimBoard, type SimBoardOptions } from './sim_board.js';

/** Where a board comes up: its storage and the wall time at its simulated time zero. */
export interface SimBoardBoot {
  /** The medium (restarted after a cut); null = a fresh, empty one as createSimBoard makes. */
  readonly storage: StorageSim | null;
  /** Wall-clock time at the new board's time zero (defaults to SIM_EPOCH_WALL_MS). */
  readonly wallEpochMs: number;
}

/** A board plus what the journal's start-up recovery found. */
export interface SimBoardRebooted extends SimBoard {
  readonly recovery: JournalRecovery;
}

/** The first boot of a line: empty storage, simulated epoch. */
export const SIM_BOOT_FIRST: SimBoardBoot = { storage: null, wallEpochMs: SIM_EPOCH_WALL_MS };

/** The wall time a replacement board should start at: the dead board's time plus a reboot. */
export function wallAfterReboot(dead: SimBoard, rebootMs: number): number {
  return dead.clock.wallMs() + rebootMs;
}

/** An Ed25519 key pair derived from the seed (same derivation as sim_board.ts). */
function seededSigningKey(prng: Prng): { privateKey: KeyObject; publicKey: KeyObject } {
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  const privateKey = createPrivateKey({
    key: Buffer.concat([prefix, prng.bytes(32)]),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
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

/** The board's peripherals: reader (started), display pair, indicator on a temporary sysfs. */
async function peripherals(clock: ClockSim, options: SimBoardOptions) {
  const rig = createPn532SimRig(clock, PN532_SIM_RIG_DEFAULT_OPTIONS);
  const started = await rig.run(
    rig.reader.start({
      baudRate: options.baudRate,
      rf: { activationAttempts: 2, exchangeRetries: 0, cardAnswerTimeoutMs: 51.2 },
    }),
  );
  if (!started.ok) throw new Error(`PN532 start: ${started.error} ${started.detail}`);
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
  return { rig, screen, display, sysfsRoot, player: player.value };
}

/**
 * Builds and starts a board on `boot.storage` (a new kernel instance, a new Journal.open that
 * recovers a torn tail). Throws when the journal cannot be opened (CORRUPT or IO): a test
 * reading that as a failure is the point.
 */
export async function createSimBoardOn(
  boot: SimBoardBoot,
  options: SimBoardOptions,
): Promise<SimBoardRebooted> {
  const prng = new Prng(options.seed);
  const clock = new ClockSim(boot.wallEpochMs);
  const storage =
    boot.storage ??
    new StorageSim({
      totalBytes: options.storageBytes,
      prng: prng.fork('storage'),
      tornModes: ['prefix', 'garbage', 'zeros'],
    });
  // First, so that a journal that cannot open leaves nothing behind (no temporary sysfs).
  const opened = await Journal.open(storage, {
    fileName: JOURNAL_FILE_NAME,
    clock,
    reserveBytes: 64 * 1024,
    sizeBytesMax: options.storageBytes,
  });
  if (!opened.ok) throw new Error(`journal: ${opened.error} ${opened.detail}`);
  const { rig, screen, display, sysfsRoot, player } = await peripherals(clock, options);
  let lastSignal: IndicatorSignal | null = null;
  const indicator = recordingIndicator(player, (s) => {
    lastSignal = s;
  });
  const params = await simParams(options, prng);
  const kernel = await loadKernel();
  const logs: LogEvent[] = [];
  const unpredictable = prng.fork('unpredictable-number');
  const validator = new Validator(
    {
      reader: rig.reader,
      display,
      indicator,
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
    screen,
    validator,
    journal: opened.value.journal,
    storage,
    kernel,
    logs,
    recovery: opened.value.recovery,
    lastSignal: () => lastSignal,
    dispose: () => rmSync(sysfsRoot, { recursive: true, force: true }),
  };
}
