// The bus validator board: a PN532 on a UART, DWIN display, sysfs beeper, journal on disk.
//
// This is the composition root of real hardware. It wires drivers to the application's ports,
// runs the tap loop until asked to stop, and lets go of every device in reverse order.

import { randomBytes } from 'node:crypto';

import { loadKernel, type Kernel } from '../../../assembly/host/kernel_loader.js';
import type { QpbocMode } from '../../../assembly/host/qpboc_session.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { DisplayPort } from '../../../hal/src/ports/display_port.js';
import type { IndicatorPort } from '../../../hal/src/ports/indicator_port.js';
import type { Journal } from '../app/journal/journal.js';
import type { ParamSet } from '../app/params/params_store.js';
import { Validator } from '../app/validator/validator.js';
import {
  VALIDATOR_CONFIG_DEFAULT,
  type LogEvent,
  type LogPort,
} from '../app/validator/validator_ports.js';
import type { PanVault } from '../app/journal/pan_vault.js';
import {
  bootDataKey,
  bootDisplay,
  bootIndicator,
  bootJournal,
  bootParams,
  bootReader,
  BUS_VALIDATOR_RF,
  type Opened,
} from './bus_validator_parts.js';
import { JsonLineLog } from './json_log.js';
import type { Pn532OnSerial } from './pty_reader.js';
import { SystemClock } from './system_clock.js';

/** Everything `shuaka run` decides; every field explicit. */
export interface BusValidatorOptions {
  /** Serial device of the PN532 (HSU), e.g. /dev/ttyS1 or /dev/ttyUSB0. */
  readonly readerPath: string;
  /** Host-link speed after start-up: 115200 keeps the power-on speed. */
  readonly baudRate: number;
  readonly paramsDir: string;
  /** Ed25519 public key (SPKI PEM) the parameter set must be signed with. */
  readonly paramsPubPath: string;
  readonly journalDir: string;
  /** The terminal data key file (PAN sealing), or null for journalDir/data.key. */
  readonly dataKeyPath: string | null;
  readonly mode: QpbocMode;
  /** Serial device of a DWIN display, or null to log screens as JSON lines. */
  readonly displayPath: string | null;
  /** Where the buzzer and LED class files live (`/sys` on a board). */
  readonly sysfsRoot: string;
  /** Stop after this many taps (bench and acceptance runs); null runs until stopped. */
  readonly tapsMax: number | null;
}

/** Where the board writes: JSON log lines (stdout) and sentences for the operator (stderr). */
export interface BoardIo {
  readonly log: (line: string) => void;
  readonly err: (line: string) => void;
}

/** How a run ended: 0 stopped as asked, 1 refused to start or lost a device. */
export interface BoardExit {
  readonly code: 0 | 1;
  readonly taps: number;
}

/**
 * Stop requests from outside (SIGINT, SIGTERM). The first lets the current tap finish; a
 * second one also cancels the reader's pending operation, so a tap still under way ends as a
 * torn tap (journaled as uncertain, reconciled at the card's next tap), never silently.
 */
export class BoardStop {
  private count = 0;
  private force: (() => void) | null = null;

  /** Asks the board to stop (a signal handler calls this). Never fails. */
  request(): void {
    this.count += 1;
    if (this.count > 1) this.force?.();
  }

  /** True once any stop was requested. */
  requested(): boolean {
    return this.count > 0;
  }

  /** What a second request does (the board cancels the reader); null forgets it. */
  onForce(force: (() => void) | null): void {
    this.force = force;
  }
}

/**
 * Consecutive turns ending in a reader error before the board restarts the reader: about a
 * second of a dead link at 50 ms per turn, well past a glitch a retry would cure.
 */
export const READER_ERROR_TURNS_MAX = 20;

interface Board {
  readonly validator: Validator;
  readonly pn532: Pn532OnSerial;
  readonly display: DisplayPort;
  readonly indicator: IndicatorPort;
  /** Reader errors logged by the app so far (the supervisor's view of the link). */
  readerErrors(): number;
}

/**
 * Boots the board, runs taps until `stop` is requested or `tapsMax` taps are done, then shuts
 * the reader down and closes every port. Never throws on an operating error: a refused start
 * (bad flags already excluded, bad parameters, dead serial port, corrupt journal) is reported
 * on `io.err` with exit code 1, and nothing is written to the journal directory in that case.
 */
export async function runBusValidator(
  options: BusValidatorOptions,
  io: BoardIo,
  stop: BoardStop,
): Promise<BoardExit> {
  const clock = new SystemClock();
  let readerErrors = 0;
  const jsonLog = new JsonLineLog(clock, io.log);
  const log: LogPort = {
    log: (event: LogEvent) => {
      if (event['event'] === 'reader-error') readerErrors += 1;
      jsonLog.log(event);
    },
  };
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const board = await boot(options, clock, log, closers, io);
    if (board === null) return { code: 1, taps: 0 };
    const loop = await runLoop(
      { ...board, readerErrors: () => readerErrors },
      options,
      stop,
      log,
      io,
    );
    await board.display.show({ kind: 'outOfService' });
    await board.indicator.signal('off');
    log.log({ event: 'stopped', taps: loop.taps, reason: loop.reason });
    return { code: loop.code, taps: loop.taps };
  } finally {
    stop.onForce(null);
    await closeAll();
  }
}

async function boot(
  options: BusValidatorOptions,
  clock: ClockPort,
  log: LogPort,
  closers: (() => Promise<void>)[],
  io: BoardIo,
): Promise<Omit<Board, 'readerErrors'> | null> {
  const params = await bootParams(options.paramsDir, options.paramsPubPath);
  if (!params.ok) return refuse(io, params.message);
  let kernel: Kernel;
  try {
    kernel = await loadKernel();
  } catch (error) {
    return refuse(io, `cannot load the kernel: ${String(error)}`);
  }
  const reader = await bootReader(options.readerPath, options.baudRate, clock);
  if (!reader.ok) return refuse(io, reader.message);
  closers.push(reader.value.close);
  const info = reader.value.info;
  log.log({ event: 'reader', name: info.name, baudRate: info.baudRate, path: options.readerPath });
  const display = await bootDisplay(options.displayPath, log);
  if (!display.ok) return refuse(io, display.message);
  closers.push(display.value.close);
  const indicator = bootIndicator(options.sysfsRoot, clock, log);
  const journal = await bootJournal(options.journalDir, clock, log);
  if (!journal.ok) return refuse(io, journal.message);
  closers.push(journal.value.close);
  const panVault = await bootDataKey(options.dataKeyPath, options.journalDir, journal.value.part);
  if (!panVault.ok) return refuse(io, panVault.message);
  const set = params.value;
  const validator = composeValidator(
    {
      kernel,
      journal: journal.value,
      panVault: panVault.value,
      set,
      display: display.value.part,
      indicator,
      clock,
      log,
    },
    reader.value.part,
    options.mode,
  );
  await validator.start();
  const outOfService = validator.outOfServiceReason();
  log.log({
    event: 'start',
    mode: options.mode,
    paramsVersion: set.version,
    terminalId: set.terminal.terminalId,
    lineId: set.terminal.lineId,
    outOfService,
  });
  if (outOfService !== null) return refuse(io, `validator out of service: ${outOfService}`);
  return { validator, pn532: reader.value.part, display: display.value.part, indicator };
}

interface ValidatorParts {
  readonly kernel: Kernel;
  readonly journal: Opened<Journal>;
  readonly panVault: PanVault;
  readonly set: ParamSet;
  readonly display: DisplayPort;
  readonly indicator: IndicatorPort;
  readonly clock: ClockPort;
  readonly log: LogPort;
}

function composeValidator(parts: ValidatorParts, pn532: Pn532OnSerial, mode: QpbocMode): Validator {
  return new Validator(
    {
      reader: pn532.reader,
      display: parts.display,
      indicator: parts.indicator,
      clock: parts.clock,
      kernel: parts.kernel,
      journal: parts.journal.part,
      params: () => parts.set,
      // 9F37 goes into the card's cryptogram and the fDDA signature: a card that could
      // predict it could replay an old answer, so it comes from the OS CSPRNG.
      unpredictableNumber: () => new Uint8Array(randomBytes(4)),
      panVault: parts.panVault,
      log: parts.log,
    },
    { ...VALIDATOR_CONFIG_DEFAULT, mode },
  );
}

interface LoopEnd {
  readonly code: 0 | 1;
  readonly taps: number;
  readonly reason: string;
}

/** The tap loop with a supervisor: a reader that keeps failing is restarted once, then given up. */
async function runLoop(
  board: Board,
  options: BusValidatorOptions,
  stop: BoardStop,
  log: LogPort,
  io: BoardIo,
): Promise<LoopEnd> {
  stop.onForce(() => board.pn532.reader.cancel());
  let taps = 0;
  let failingTurns = 0;
  let restarted = false;
  while (!stop.requested()) {
    if (options.tapsMax !== null && taps >= options.tapsMax) {
      return { code: 0, taps, reason: `${taps} taps done` };
    }
    const errorsBefore = board.readerErrors();
    const report = await board.validator.turn();
    if (report !== null) taps += 1;
    const failed = report === null && board.readerErrors() > errorsBefore;
    failingTurns = failed ? failingTurns + 1 : 0;
    if (report !== null) restarted = false;
    if (failingTurns < READER_ERROR_TURNS_MAX) continue;
    if (restarted) {
      io.err(`shuaka run: the reader on ${options.readerPath} keeps failing after a restart`);
      return { code: 1, taps, reason: 'reader lost' };
    }
    const started = await board.pn532.reader.start({
      baudRate: options.baudRate,
      rf: BUS_VALIDATOR_RF,
    });
    log.log({ event: 'reader-restart', ok: started.ok });
    if (!started.ok) {
      io.err(
        `shuaka run: reader on ${options.readerPath} lost: ${started.error}: ${started.detail}`,
      );
      return { code: 1, taps, reason: 'reader lost' };
    }
    restarted = true;
    failingTurns = 0;
  }
  return { code: 0, taps, reason: 'stop requested' };
}

function refuse(io: BoardIo, message: string): null {
  io.err(`shuaka run: ${message}`);
  return null;
}
