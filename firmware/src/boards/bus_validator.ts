// The bus validator board: a PN532 on a UART, DWIN display, sysfs beeper, journal on disk.
//
// This is the composition root of real hardware. It wires drivers to the application's ports,
// runs the tap loop until asked to stop, and lets go of every device in reverse order.

import { randomBytes, randomInt } from 'node:crypto';
import { rmdir } from 'node:fs/promises';

import { loadKernel, type Kernel } from '../../../assembly/host/kernel_loader.js';
import type { QpbocMode } from '../../../assembly/host/qpboc_session.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { DisplayPort } from '../../../hal/src/ports/display_port.js';
import type { IndicatorPort } from '../../../hal/src/ports/indicator_port.js';
import type { PsamPort } from '../../../hal/src/ports/psam_port.js';
import type { Journal } from '../app/journal/journal.js';
import type { ParamSet } from '../app/params/params_store.js';
import { Validator } from '../app/validator/validator.js';
import {
  VALIDATOR_CONFIG_DEFAULT,
  type LogPort,
  type ValidatorPsam,
} from '../app/validator/validator_ports.js';
import type { PanVault } from '../app/journal/pan_vault.js';
import { dataKeyDefaultPath } from '../app/journal/pan_vault_file.js';
import {
  bootDataKey,
  bootDisplay,
  bootIndicator,
  bootJournal,
  bootParams,
  type BootParams,
  bootReader,
  BUS_VALIDATOR_RF,
  type Opened,
} from './bus_validator_parts.js';
import { bootUploader, type BusDepotOptions, type BusUploader } from './bus_uploader.js';
import { checkJournalDir, type JournalDirProblem } from './journal_dir_check.js';
import { BoardLog } from './json_log.js';
import type { Pn532OnSerial } from './pty_reader.js';
import { bootPcscReader, type PcscBoardReader } from './pcsc_board_reader.js';
import { bootPcscPsam, type PcscBoardPsam } from './pcsc_board_psam.js';
import type { ReaderPort } from '../../../hal/src/ports/reader_port.js';
import {
  READER_ERROR_TURNS_MAX,
  READER_REOPEN_BACKOFF,
  recoverReader,
} from '../app/validator/reader_recovery.js';
import { SystemClock } from './system_clock.js';
import { stopFileSource } from './stop_file.js';

/** Everything `shuaka run` decides; every field explicit. */
export interface BusValidatorOptions {
  /** Serial device of the PN532 (HSU), e.g. /dev/ttyS1 or /dev/ttyUSB0. */
  readonly readerPath: string;
  /** A PC/SC contactless reader (name or prefix) instead of the PN532; null or absent: PN532. */
  readonly pcscReaderName?: string | null;
  /**
   * The PC/SC reader (name or prefix) holding the PSAM of T-Union cards; null or absent: no
   * PSAM, T-Union cards are refused.
   */
  readonly psamReaderName?: string | null;
  /**
   * The file the vehicle's stop source keeps the bus's position in (stop_file.ts), read at
   * each T-Union tap; null or absent: the stop is unknown (segment lines refuse T-Union taps).
   */
  readonly stopFilePath?: string | null;
  /** Host-link speed after start-up: 115200 keeps the power-on speed. */
  readonly baudRate: number;
  readonly paramsDir: string;
  /** Ed25519 public key (SPKI PEM) the parameter set must be signed with. */
  readonly paramsPubPath: string;
  readonly journalDir: string;
  /** Free space the journal's file system must have at start (statfs), bytes. */
  readonly journalMinFreeBytes: number;
  /** The terminal data key file (PAN sealing), or null for journalDir/data.key. */
  readonly dataKeyPath: string | null;
  /** The fleet deny key file (deny-list tokens); null or absent for journalDir/deny.key. */
  readonly denyKeyPath?: string | null;
  readonly mode: QpbocMode;
  /** Serial device of a DWIN display, or null to log screens as JSON lines. */
  readonly displayPath: string | null;
  /** Where the buzzer and LED class files live (`/sys` on a board). */
  readonly sysfsRoot: string;
  /** Stop after this many taps (bench and acceptance runs); null runs until stopped. */
  readonly tapsMax: number | null;
  /** Upload to this depot (and take parameters from it); null: the journal only fills. */
  readonly depot?: BusDepotOptions | null;
  /** 9F1E IFD serial number (8 letters or digits); null takes it from the terminal ID. */
  readonly ifdSerial: string | null;
}

/** Where the board writes: JSON log lines (stdout) and sentences for the operator (stderr). */
export interface BoardIo {
  readonly log: (line: string) => void;
  readonly err: (line: string) => void;
}

/**
 * How a run ended. 'stopped': as asked (signal, --max-taps). Refusals to start: 'refused'
 * (parameters, kernel, crash hook, journal unreadable), 'reader' (serial port missing or no
 * PN532 answers), 'storage' (journal directory read-only, full or too small), 'display'
 * (display port missing). A reader lost while running never ends the run: it is reopened.
 */
export type BoardExitKind = 'stopped' | 'refused' | 'reader' | 'storage' | 'display';

export interface BoardExit {
  readonly code: BoardExitKind;
  readonly taps: number;
}

/** Bytes the start-up probe writes and fsyncs in the journal directory. */
export const JOURNAL_PROBE_BYTES = 64 << 10;

/**
 * Stop requests from outside (SIGINT, SIGTERM, SIGHUP). The first lets the current tap finish;
 * a second one also cancels the reader's pending operation, so a tap still under way ends as
 * a torn tap (journaled as uncertain, reconciled at the card's next tap), never silently.
 */
export class BoardStop {
  private count = 0;
  private force: (() => void) | null = null;
  private firstCause = 'stop requested';

  /**
   * Asks the board to stop (a signal handler calls this, naming the signal). Never fails.
   * The first request's cause is what the `stopped` line says.
   */
  request(cause = 'stop requested'): void {
    if (this.count === 0) this.firstCause = cause;
    this.count += 1;
    if (this.count > 1) this.force?.();
  }

  /** What the first request said (its signal), or 'stop requested'. */
  cause(): string {
    return this.firstCause;
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

export { READER_ERROR_TURNS_MAX };

/** The board's contactless reader: a PN532 on a serial port, or a PC/SC reader. */
export type BoardReader =
  | { readonly kind: 'pn532'; readonly pn532: Pn532OnSerial }
  | { readonly kind: 'pcsc'; readonly pcsc: PcscBoardReader };

export function boardReaderPort(reader: BoardReader): ReaderPort {
  return reader.kind === 'pn532' ? reader.pn532.reader : reader.pcsc.reader;
}

interface Board {
  readonly validator: Validator;
  readonly reader: BoardReader;
  readonly display: DisplayPort;
  readonly indicator: IndicatorPort;
  readonly clock: ClockPort;
  /** The uploader beside the tap loop, or null without --depot. */
  readonly upload: BusUploader | null;
  /** Reader errors logged by the app so far (the supervisor's view of the link). */
  readerErrors(): number;
}

/** A refused start: the exit kind and the sentence for the operator. */
interface Refusal {
  readonly refused: Exclude<BoardExitKind, 'stopped'>;
  readonly message: string;
}

/**
 * Boots the board, runs taps until `stop` is requested or `tapsMax` taps are done, then shuts
 * the reader down and closes every port. Never throws on an operating error: a refused start
 * (bad parameters, unusable journal directory, dead serial port, corrupt journal) is reported
 * on `io.err` with its exit kind, and the journal directory is left as it was. A reader lost
 * while running is reported, shown and reopened with backoff until it answers again.
 */
export async function runBusValidator(
  options: BusValidatorOptions,
  io: BoardIo,
  stop: BoardStop,
): Promise<BoardExit> {
  const clock = new SystemClock();
  const log = new BoardLog(clock, io.log);
  const closers: (() => Promise<void>)[] = [];
  // The serial port is what keeps Node running; while a lost reader is being reopened there
  // is none, and the clock's timers do not hold the process. Without this a validator whose
  // reader was unplugged would end with Node's "unsettled top-level await" (13), silently.
  const hold = setInterval(() => undefined, 1 << 30);
  try {
    const booted = await boot(options, clock, log, closers, io);
    if ('refused' in booted) {
      io.err(`shuaka run: ${booted.message}`);
      return { code: booted.refused, taps: 0 };
    }
    const board = { ...booted, clock, readerErrors: () => log.readerErrors() };
    const loop = await runLoop(board, options, stop, log, io);
    await board.display.show({ kind: 'outOfService' });
    await board.indicator.signal('off');
    log.log({ event: 'stopped', taps: loop.taps, reason: loop.reason });
    return { code: 'stopped', taps: loop.taps };
  } finally {
    stop.onForce(null);
    for (const close of closers.reverse()) await close();
    clearInterval(hold);
  }
}

async function boot(
  options: BusValidatorOptions,
  clock: ClockPort,
  log: LogPort,
  closers: (() => Promise<void>)[],
  io: BoardIo,
): Promise<Omit<Board, 'readerErrors' | 'clock'> | Refusal> {
  // The journal directory first: the parameter version floor lives in it.
  const dir = await checkJournalDir(options.journalDir, {
    probeBytes: JOURNAL_PROBE_BYTES,
    minFreeBytes: options.journalMinFreeBytes,
  });
  if (!dir.ok) return storageRefusal(dir.error, log);
  const params = await bootParams(options.paramsDir, options.paramsPubPath, options.journalDir,
    options.denyKeyPath ?? null);
  if (params.ok) {
    log.log({ event: 'journal-dir', dir: options.journalDir, freeBytes: dir.value.freeBytes });
    const fallback = params.value.fallback;
    if (fallback !== null) {
      const { from, to, reason } = fallback;
      const version = params.value.set.version;
      log.log({ event: 'params-fallback', from, to, version, reason });
      io.err(`shuaka run: parameters ${options.paramsDir}: active set unusable (${reason}); `
        + `running ${to} (version ${version}) until a good set is installed`);
    }
  }
  const rest = params.ok
    ? await bootDevices(options, clock, log, closers, params.value, io)
    : { refused: 'refused' as const, message: params.message };
  // A refused start leaves the journal directory as it was: remove it if the check made it.
  if ('refused' in rest && dir.value.createdDir) {
    await rmdir(options.journalDir).catch(() => undefined);
  }
  return rest;
}

function storageRefusal(problem: JournalDirProblem, log: LogPort): Refusal {
  log.log({ event: 'out-of-service', reason: `journal directory ${problem.problem}` });
  return { refused: 'storage',
    message: `${problem.message}: the validator does not start (exit 4); fix the storage and `
      + 'start it again' };
}

async function bootDevices(
  options: BusValidatorOptions,
  clock: ClockPort,
  log: LogPort,
  closers: (() => Promise<void>)[],
  booted: BootParams,
  io: BoardIo,
): Promise<Omit<Board, 'readerErrors' | 'clock'> | Refusal> {
  let kernel: Kernel;
  try {
    kernel = await loadKernel();
  } catch (error) {
    return { refused: 'refused', message: `cannot load the kernel: ${String(error)}` };
  }
  const reader = await bootBoardReader(options, clock, log);
  if (!reader.ok) return { refused: 'reader', message: reader.message };
  closers.push(reader.close);
  const psam = await bootBoardPsam(options, clock, log);
  if (!psam.ok) return { refused: 'reader', message: psam.message };
  if (psam.value !== null) closers.push(psam.value.close);
  const display = await bootDisplay(options.displayPath, log, clock, io.err);
  if (!display.ok) return { refused: 'display', message: display.message };
  closers.push(display.value.close);
  const indicator = bootIndicator(options.sysfsRoot, clock, log);
  const journal = await bootJournal(options.journalDir, clock, log);
  if (!journal.ok) return { refused: 'refused', message: journal.message };
  closers.push(journal.value.close);
  const panVault = await bootDataKey(options.dataKeyPath, options.journalDir, journal.value.part);
  if (!panVault.ok) return { refused: 'refused', message: panVault.message };
  const floorError = await booted.raiseFloor();
  if (floorError !== null) return { refused: 'refused', message: floorError };
  const params = { set: booted.set };
  const validator = composeValidator(
    { kernel, journal: journal.value, panVault: panVault.value, params,
      display: display.value.part, indicator, clock, log, psam: psam.value?.psam ?? null,
      psamUnopened: psam.value?.unopened?.port ?? null },
    boardReaderPort(reader.value),
    options,
  );
  const set = params.set;
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
  if (outOfService !== null) {
    return { refused: 'refused', message: `validator out of service: ${outOfService}` };
  }
  let upload: BusUploader | null = null;
  if (options.depot !== undefined && options.depot !== null) {
    const uploader = await bootUploader(options.depot, {
      journal: journal.value.part, storage: journal.value.storage, validator, params,
      paramsDir: options.paramsDir, paramsPubPath: options.paramsPubPath,
      journalDir: options.journalDir, panVault: panVault.value, denyKey: booted.denyKey,
      dataKeyPath: options.dataKeyPath ?? dataKeyDefaultPath(options.journalDir), clock, log,
    });
    if (!uploader.ok) return { refused: 'refused', message: uploader.message };
    upload = uploader.value;
  }
  return { validator, reader: reader.value, display: display.value.part, indicator, upload };
}

interface ValidatorParts {
  readonly kernel: Kernel;
  readonly journal: Opened<Journal>;
  /** The running set; the uploader switches it between taps. */
  readonly params: { set: ParamSet };
  readonly panVault: PanVault;
  readonly display: DisplayPort;
  readonly indicator: IndicatorPort;
  readonly clock: ClockPort;
  readonly log: LogPort;
  /** The PSAM of `--psam`, or null. */
  readonly psam: ValidatorPsam | null;
  /** The slot of `--psam` whose PSAM did not open at boot, or null. */
  readonly psamUnopened: PsamPort | null;
}

/**
 * The PSAM of `--psam pcsc:NAME`, opened and read; null without the flag. A PSAM that does
 * not open (its reader is listed) is logged as psam-down and left to the validator to open.
 */
async function bootBoardPsam(
  options: BusValidatorOptions,
  clock: ClockPort,
  log: LogPort,
): Promise<{ ok: true; value: PcscBoardPsam | null } | { ok: false; message: string }> {
  const name = options.psamReaderName ?? null;
  if (name === null) return { ok: true, value: null };
  const opened = await bootPcscPsam(name, clock, log);
  if (!opened.ok) return opened;
  if (opened.value.psam === null) {
    const detail = opened.value.unopened?.problem ?? 'PSAM not opened';
    log.log({ event: 'psam-down', reader: name, detail,
      retry: 'bank cards served; T-Union cards refused until the PSAM opens at one of them' });
    return opened;
  }
  const { terminalNumber, keyIndex, validFromDigits, validToDigits } = opened.value.psam;
  log.log({ event: 'psam', reader: name, keyIndex,
    terminalNumber: Buffer.from(terminalNumber).toString('hex').toUpperCase(),
    validFrom: validFromDigits, validTo: validToDigits });
  return opened;
}

/** The PN532 on its serial port, or the PC/SC reader of `--reader pcsc:NAME`. */
export async function bootBoardReader(
  options: BusValidatorOptions,
  clock: ClockPort,
  log: LogPort,
): Promise<
  | { ok: true; value: BoardReader; close: () => Promise<void> }
  | { ok: false; message: string }
> {
  const pcscName = options.pcscReaderName ?? null;
  if (pcscName !== null) {
    const pcsc = await bootPcscReader(pcscName, clock, log);
    if (!pcsc.ok) return pcsc;
    log.log({ event: 'reader', name: pcscName, baudRate: 0, path: options.readerPath });
    return { ok: true, value: { kind: 'pcsc', pcsc: pcsc.value }, close: pcsc.value.close };
  }
  const reader = await bootReader(options.readerPath, options.baudRate, clock);
  if (!reader.ok) return reader;
  const info = reader.value.info;
  log.log({ event: 'reader', name: info.name, baudRate: info.baudRate, path: options.readerPath });
  const value: BoardReader = { kind: 'pn532', pn532: reader.value.part };
  return { ok: true, value, close: reader.value.close };
}

function composeValidator(
  parts: ValidatorParts,
  reader: ReaderPort,
  options: Pick<BusValidatorOptions, 'mode' | 'ifdSerial' | 'stopFilePath'>,
): Validator {
  const stopFile = options.stopFilePath ?? null;
  return new Validator(
    {
      reader,
      display: parts.display,
      indicator: parts.indicator,
      clock: parts.clock,
      kernel: parts.kernel,
      journal: parts.journal.part,
      params: () => parts.params.set,
      // 9F37 goes into the card's cryptogram and the fDDA signature: a card that could
      // predict it could replay an old answer, so it comes from the OS CSPRNG.
      unpredictableNumber: () => new Uint8Array(randomBytes(4)),
      panVault: parts.panVault,
      log: parts.log,
      psam: parts.psam,
      psamUnopened: parts.psamUnopened,
      ...(stopFile === null ? {} : { position: stopFileSource(stopFile, parts.log) }),
    },
    {
      ...VALIDATOR_CONFIG_DEFAULT,
      mode: options.mode,
      terminalData: { ...VALIDATOR_CONFIG_DEFAULT.terminalData, ifdSerial: options.ifdSerial },
    },
  );
}

interface LoopEnd {
  readonly taps: number;
  readonly reason: string;
}

/**
 * The tap loop with a supervisor. A lost serial device (unplugged) or a reader that keeps
 * failing is reported (log line, stderr, out-of-service screen and signal) and brought back
 * by `recoverReader`; then the idle screen returns and taps go on. Only a stop ends the loop.
 */
async function runLoop(
  board: Board,
  options: BusValidatorOptions,
  stop: BoardStop,
  log: LogPort,
  io: BoardIo,
): Promise<LoopEnd> {
  stop.onForce(() => boardReaderPort(board.reader).cancel());
  let done = false;
  const upload = board.upload;
  const uploading = upload?.run(() => done || stop.requested()) ?? Promise.resolve();
  try {
    return await runTurns(board, options, stop, log, io);
  } finally {
    done = true;
    upload?.close();
    await uploading;
  }
}

async function runTurns(
  board: Board,
  options: BusValidatorOptions,
  stop: BoardStop,
  log: LogPort,
  io: BoardIo,
): Promise<LoopEnd> {
  let taps = 0;
  let failingTurns = 0;
  while (!stop.requested()) {
    if (options.tapsMax !== null && taps >= options.tapsMax) {
      return { taps, reason: `${taps} taps done` };
    }
    const errorsBefore = board.readerErrors();
    const report = await board.validator.turn();
    // Between taps: the ack the depot earned, a newly installed parameter set.
    await board.upload?.uploader.betweenTaps();
    if (report !== null) taps += 1;
    const failed = report === null && board.readerErrors() > errorsBefore;
    failingTurns = failed ? failingTurns + 1 : 0;
    // The device's own loss event, or the driver's verdict on a link that stopped moving
    // bytes without one (a write stalled past linkStallMs): either way the reader is gone.
    const lost = board.reader.kind === 'pn532'
      ? board.reader.pn532.link.lost() ?? board.reader.pn532.reader.linkLostDetail()
      : board.reader.pcsc.lost();
    if (lost === null && failingTurns < READER_ERROR_TURNS_MAX) continue;
    const why = lost ?? `${failingTurns} reader errors in a row`;
    const back = await readerDown(board, options, stop, log, io, why);
    if (!back) break;
    failingTurns = 0;
  }
  return { taps, reason: stop.cause() };
}

/** Reports the reader down, shows it, and reopens it; false when a stop came first. */
async function readerDown(
  board: Board,
  options: BusValidatorOptions,
  stop: BoardStop,
  log: LogPort,
  io: BoardIo,
  why: string,
): Promise<boolean> {
  log.log({ event: 'reader-lost', path: options.readerPath, detail: why });
  io.err(`shuaka run: reader on ${options.readerPath} lost (${why}); out of service, reopening`);
  await board.display.show({ kind: 'outOfService' });
  await board.indicator.signal('outOfService');
  const recovery = await recoverBoardReader(board, options, stop, log);
  if (recovery.kind === 'stopped') return false;
  io.err(`shuaka run: reader on ${options.readerPath} back after ${recovery.downMs} ms`);
  await board.indicator.signal('off');
  await board.validator.readerBack();
  return true;
}

/** Waits out a lost reader: the PN532 reopened with backoff, or a PC/SC reader listed again. */
async function recoverBoardReader(
  board: Board,
  options: BusValidatorOptions,
  stop: BoardStop,
  log: LogPort,
): Promise<{ kind: 'back'; downMs: number } | { kind: 'stopped' }> {
  if (board.reader.kind === 'pcsc') {
    // recoverReader logs the PN532's return; a PC/SC reader's is logged here, so that an
    // alert raised on reader-lost clears on either kind of reader.
    const back = await board.reader.pcsc.recover(() => stop.requested());
    if (back.kind === 'back') {
      log.log({ event: 'reader-back', downMs: Math.round(back.downMs) });
      return { kind: 'back', downMs: Math.round(back.downMs) };
    }
    return back;
  }
  return recoverReader(
    {
      link: board.reader.pn532.link,
      reader: board.reader.pn532.reader,
      clock: board.clock,
      // Jitter only spreads retries; it needs no secrecy, just independence between boards.
      random01: () => randomInt(0, 1 << 30) / (1 << 30),
      stopRequested: () => stop.requested(),
      log,
    },
    { baudRate: options.baudRate, rf: BUS_VALIDATOR_RF },
    READER_REOPEN_BACKOFF,
  );
}
