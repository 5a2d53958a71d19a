// The benchmark's validator board: the simulator's parts, wired with timing decorators.
//
// host-sim's createSimBoard fixes the RF bit rate and hides the ports it hands the app, so the
// bench composes its own board from the same building blocks (PN532 emulator rig, DWIN twin,
// sysfs tree, StorageSim journal, signed parameters, the production Validator). In simulated
// time our own CPU costs nothing, so the decorators measure it for real: the kernel's steps
// with process.hrtime, and the screens and journal entries are captured for an exact replay
// (bench/e2e_own_time.ts) that times display framing and journal appends with a real fsync.

import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadKernel, type Kernel } from '../assembly/host/kernel_loader.js';
import type { QpbocMode } from '../assembly/host/qpboc_session.js';
import type { DisplayPort, DisplayScreen } from '../hal/src/ports/display_port.js';
import type { IndicatorPort } from '../hal/src/ports/indicator_port.js';
import { Journal, JOURNAL_FILE_NAME } from '../firmware/src/app/journal/journal.js';
import type { JournalEntry } from '../firmware/src/app/journal/journal_records.js';
import type { ParamStore } from '../firmware/src/app/params/params_store.js';
import {
  SIM_DISPLAY_BAUD,
  simOutputs,
  simParamStore,
} from '../host-sim/src/sim/sim_board_parts.js';
import type { FareParams } from '../firmware/src/app/params/params_files.js';
import { Validator } from '../firmware/src/app/validator/validator.js';
import { VALIDATOR_CONFIG_DEFAULT } from '../firmware/src/app/validator/validator_ports.js';
import { ClockSim } from '../host-sim/src/clock_sim.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../host-sim/src/pn532_sim/pn532_sim.js';
import type { Iso14443BitRateKbps } from '../host-sim/src/pn532_sim/pn532_sim_rf_timing.js';
import {
  createPn532SimRig,
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  type Pn532SimRig,
} from '../host-sim/src/pn532_sim/pn532_sim_rig.js';
import { testPki } from '../host-sim/src/pki/test_pki.js';
import { Prng } from '../host-sim/src/prng.js';
import { PanVault } from '../firmware/src/app/journal/pan_vault.js';
import type { SerialLinkPairSim } from '../host-sim/src/serial_link_sim.js';
import { StorageSim } from '../host-sim/src/storage_sim.js';

/** 2026-11-24 08:00 China time (a Tuesday morning): simulated time zero. */
export const E2E_EPOCH_WALL_MS = Date.UTC(2026, 10, 24, 0, 0, 0);

/** The DWIN display's own UART, as the simulator's outputs pace it. */
export const E2E_DISPLAY_BAUD = SIM_DISPLAY_BAUD;

/** Knobs of one benchmark board; every field explicit. */
export interface E2eBoardOptions {
  readonly seed: number;
  /** PN532 host-link speed after start-up. */
  readonly baudRate: number;
  /** ISO 14443 bit rate of the emulator's air-time model. */
  readonly rfBitRateKbps: Iso14443BitRateKbps;
  readonly mode: QpbocMode;
  /** The kernel to run (e2e_footprint.ts passes one whose memory it inspects); null: load one. */
  readonly kernel: Kernel | null;
}

/** Real CPU spent in one decorated component. */
export interface CpuMeter {
  ns: number;
  calls: number;
}

/** The composed, instrumented board. */
export interface E2eBoard {
  readonly options: E2eBoardOptions;
  readonly clock: ClockSim;
  readonly rig: Pn532SimRig;
  readonly displayLine: SerialLinkPairSim;
  readonly validator: Validator;
  /** hrtime of every kernel step (the wasm kernel's own work, boundary copies included). */
  readonly kernelCpu: CpuMeter;
  /** hrtime of the indicator's signal calls (sysfs writes of the first pattern step). */
  readonly indicatorCpu: CpuMeter;
  /** Screens the app showed, in order (replayed through the DWIN framing for its CPU time). */
  readonly screens: DisplayScreen[];
  /** Journal entries the app appended, in order (replayed into a journal on a real disk). */
  readonly journalEntries: JournalEntry[];
  /** Stops the board and removes its temporary sysfs tree. */
  dispose(): void;
}

function hrNs(): bigint {
  return process.hrtime.bigint();
}

/** A Kernel whose steps are timed; everything else passes through. */
export function timedKernel(inner: Kernel, meter: CpuMeter): Kernel {
  const timed = <T>(run: () => T): T => {
    const t0 = hrNs();
    try {
      return run();
    } finally {
      meter.ns += Number(hrNs() - t0);
      meter.calls += 1;
    }
  };
  return {
    runtime: inner.runtime,
    inCapacity: inner.inCapacity,
    step: (op, arg, input) => timed(() => inner.step(op, arg, input)),
    stepInPlace: (op, arg, length) => timed(() => inner.stepInPlace(op, arg, length)),
    output: () => inner.output(),
    writeInput: (input) => inner.writeInput(input),
    memoryBytes: () => inner.memoryBytes(),
    faultCount: () => inner.faultCount(),
    lastFault: () => inner.lastFault(),
  };
}

function recordingDisplay(inner: DisplayPort, screens: DisplayScreen[]): DisplayPort {
  return {
    show: (screen) => {
      screens.push(screen);
      return inner.show(screen);
    },
  };
}

function timedIndicator(inner: IndicatorPort, meter: CpuMeter): IndicatorPort {
  return {
    signal: async (signal) => {
      const t0 = hrNs();
      const result = await inner.signal(signal);
      meter.ns += Number(hrNs() - t0);
      meter.calls += 1;
      return result;
    },
    whenDone: () => inner.whenDone(),
  };
}

/** Fares of the benchmark line: flat 2 yuan, no categories, a short duplicate-tap window. */
const E2E_FARES: FareParams = {
  currencyCode: 156,
  flatFareMinor: 200,
  categories: [],
  transfer: { discountMinor: 100, windowSec: 5400 },
  duplicateTapWindowSec: 60,
  tornWindowSec: 120,
};

/** The bench's signed parameter set, made the way the simulator makes its own. */
function e2eParams(prng: Prng): Promise<ParamStore> {
  const pki = testPki();
  return simParamStore(
    {
      seed: 0,
      caKeysTlvHex: pki.caKeys.map((k) => k.tlvHex),
      denyList: [],
      caRevocations: pki.revoked.map((r) => ({
        ridHex: r.ridHex,
        caIndex: r.caIndex,
        certificateSerialHex: r.certSerialHex,
      })),
      validator: VALIDATOR_CONFIG_DEFAULT,
      baudRate: 921_600,
      lineId: 'L101',
      fares: E2E_FARES,
      storageBytes: 8 << 20,
    },
    prng,
  );
}

async function e2eJournal(clock: ClockSim, prng: Prng, entries: JournalEntry[]): Promise<Journal> {
  const storageBytes = 8 << 20;
  const storage = new StorageSim({ totalBytes: storageBytes, prng, tornModes: ['prefix'] });
  const opened = await Journal.open(storage, {
    fileName: JOURNAL_FILE_NAME,
    clock,
    reserveBytes: 64 * 1024,
    sizeBytesMax: storageBytes,
  });
  if (!opened.ok) throw new Error(`journal: ${opened.error}`);
  const journal = opened.value.journal;
  const append = journal.append.bind(journal);
  journal.append = (entry) => {
    entries.push(entry);
    return append(entry);
  };
  return journal;
}

/**
 * Where the buzzer/LED attribute files live. sysfs attributes are kernel memory, so a tmpfs
 * (/dev/shm) stands in for them far better than a disk, where truncating writes cost
 * milliseconds of journal work that a board never pays.
 */
function sysfsParentDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/** Builds and starts the board (reader switched to `baudRate`, idle screen shown). */
export async function createE2eBoard(options: E2eBoardOptions): Promise<E2eBoard> {
  const prng = new Prng(options.seed);
  const clock = new ClockSim(E2E_EPOCH_WALL_MS);
  const rig = createPn532SimRig(clock, {
    ...PN532_SIM_RIG_DEFAULT_OPTIONS,
    sim: { ...PN532_SIM_DEFAULT_OPTIONS, rfBitRateKbps: options.rfBitRateKbps },
  });
  const rf = { activationAttempts: 2, exchangeRetries: 0, cardAnswerTimeoutMs: 51.2 };
  const started = await rig.run(rig.reader.start({ baudRate: options.baudRate, rf }));
  if (!started.ok) throw new Error(`PN532 start: ${started.error} ${started.detail}`);
  const screens: DisplayScreen[] = [];
  const outputs = simOutputs(clock, sysfsParentDir());
  const { displayLine, sysfsRoot } = outputs;
  const journalEntries: JournalEntry[] = [];
  const journal = await e2eJournal(clock, prng.fork('storage'), journalEntries);
  const params = await e2eParams(prng);
  const kernelCpu: CpuMeter = { ns: 0, calls: 0 };
  const indicatorCpu: CpuMeter = { ns: 0, calls: 0 };
  const unpredictable = prng.fork('unpredictable-number');
  const sealIvs = prng.fork('pan-seal-iv');
  const validator = new Validator(
    {
      reader: rig.reader,
      display: recordingDisplay(outputs.display, screens),
      indicator: timedIndicator(outputs.indicator, indicatorCpu),
      clock,
      kernel: timedKernel(options.kernel ?? (await loadKernel()), kernelCpu),
      journal,
      params: () => {
        const active = params.active();
        if (active === null) throw new Error('no active parameter set');
        return active;
      },
      unpredictableNumber: () => unpredictable.bytes(4),
      panVault: PanVault.fromKey(prng.fork('data-key').bytes(32), (n) => sealIvs.bytes(n)),
      log: { log: () => undefined },
    },
    { ...VALIDATOR_CONFIG_DEFAULT, mode: options.mode },
  );
  await rig.run(validator.start());
  return {
    options,
    clock,
    rig,
    displayLine,
    validator,
    kernelCpu,
    indicatorCpu,
    screens,
    journalEntries,
    dispose: () => {
      rig.sim.detach();
      rmSync(sysfsRoot, { recursive: true, force: true });
    },
  };
}
