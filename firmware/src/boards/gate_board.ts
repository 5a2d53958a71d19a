// The scenic-area gate board: the bus board's reader, display, journal, parameters and
// uploader, a turnstile (Modbus RTU controller or GPIO lines) and the gate application.
//
// This is the gate's composition root on real hardware (`shuaka run --board gate`). It boots
// in the bus board's order (journal directory, parameters, kernel, reader, display, journal,
// data key), then the turnstile, then the gate app, whose start locks the lane: a controller
// that does not answer refuses the start (exit kind 'turnstile'), nothing opens unrecorded.

import { randomBytes, randomInt } from 'node:crypto';
import { rmdir } from 'node:fs/promises';

import { loadKernel } from '../../../assembly/host/kernel_loader.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { TurnstileDirection, TurnstilePort } from '../../../hal/src/ports/turnstile_port.js';
import type { DenyKey } from '../app/deny_list/deny_key.js';
import { GateApp } from '../app/gate/gate_app.js';
import { GATE_LANE_CONFIG_DEFAULT } from '../app/gate/gate_lane.js';
import { GateLoop } from '../app/gate/gate_loop.js';
import type { GateParams } from '../app/gate/gate_params.js';
import { dataKeyDefaultPath } from '../app/journal/pan_vault_file.js';
import type { ParamSet } from '../app/params/params_store.js';
import {
  READER_ERROR_TURNS_MAX,
  READER_REOPEN_BACKOFF,
  recoverReader,
} from '../app/validator/reader_recovery.js';
import {
  VALIDATOR_CONFIG_DEFAULT,
  type LogPort,
  type ValidatorConfig,
} from '../app/validator/validator_ports.js';
import { bootUploader, type BusUploader, type BusUploaderParts } from './bus_uploader.js';
import {
  boardReaderPort,
  bootBoardReader,
  JOURNAL_PROBE_BYTES,
  type BoardExitKind,
  type BoardIo,
  type BoardReader,
  type BoardStop,
  type BusValidatorOptions,
} from './bus_validator.js';
import {
  bootDataKey,
  bootDisplay,
  bootIndicator,
  bootJournal,
  bootParams,
  BUS_VALIDATOR_RF,
  type BootParams,
} from './bus_validator_parts.js';
import { bootGateRecordsUpload, type GateRecordsUploader } from './gate_records_upload.js';
import { gateTurnstileOpen, type GateTurnstileSpec } from './gate_turnstile.js';
import { checkJournalDir } from './journal_dir_check.js';
import { BoardLog } from './json_log.js';
import { SystemClock } from './system_clock.js';

/** Everything `shuaka run --board gate` decides; every field explicit. */
export interface GateBoardOptions {
  /** Reader, parameters, journal, keys, display, depot: as the bus board's. */
  readonly board: BusValidatorOptions;
  /** The lane's turnstile. */
  readonly turnstile: GateTurnstileSpec;
  /** The free exit beside the lane (its sensor counts people out), or null. */
  readonly exitTurnstile: GateTurnstileSpec | null;
  /** An entry lane (tickets, sales, anti-passback) or an exit lane (a tap lets one out). */
  readonly lane: TurnstileDirection;
}

/**
 * How a gate run ended: the bus board's kinds, and 'turnstile' when the turnstile's device
 * cannot be opened or its controller does not answer the lock at start.
 */
export type GateExitKind = BoardExitKind | 'turnstile';

export interface GateExit {
  readonly code: GateExitKind;
  readonly taps: number;
}

interface GateBoard {
  readonly app: GateApp;
  readonly loop: GateLoop;
  readonly reader: BoardReader;
  readonly upload: BusUploader | null;
  /** The gate ledger's own upload beside the journal's, or null without --depot. */
  readonly records: GateRecordsUploader | null;
  readonly turnstile: TurnstilePort;
}

interface Refusal {
  readonly refused: Exclude<GateExitKind, 'stopped'>;
  readonly message: string;
}

type Closers = (() => Promise<void>)[];

/**
 * Boots the gate, runs taps until `stop` is requested or `tapsMax` taps are done, locks the
 * lane and closes every device. Never throws on an operating error: a refused start is said
 * on `io.err` with its exit kind, and a journal directory the start created is removed.
 */
export async function runGateBoard(
  options: GateBoardOptions,
  io: BoardIo,
  stop: BoardStop,
): Promise<GateExit> {
  const clock = new SystemClock();
  const log = new BoardLog(clock, io.log);
  const closers: Closers = [];
  // As the bus board: keeps Node alive while a lost reader has no open port.
  const hold = setInterval(() => undefined, 1 << 30);
  try {
    const booted = await bootGate(options, clock, log, closers, io);
    if ('refused' in booted) {
      io.err(`shuaka run: ${booted.message}`);
      return { code: booted.refused, taps: 0 };
    }
    stop.onForce(() => boardReaderPort(booted.reader).cancel());
    let done = false;
    const stopUpload = (): boolean => done || stop.requested();
    const uploading = Promise.all([booted.upload?.run(stopUpload),
      booted.records?.run(stopUpload)]);
    let taps = 0;
    try {
      taps = await gateTurns(booted, options, { stop, log, io, clock,
        readerErrors: () => log.readerErrors() });
    } finally {
      done = true;
      booted.upload?.close();
      await uploading;
      booted.records?.close();
    }
    const locked = await booted.turnstile.close();
    if (!locked.ok) log.log({ event: 'gate-lock-error', detail: locked.detail });
    log.log({ event: 'stopped', taps, reason: stop.requested() ? stop.cause() : 'taps done' });
    return { code: 'stopped', taps };
  } finally {
    stop.onForce(null);
    for (const close of closers.reverse()) await close();
    clearInterval(hold);
  }
}

async function bootGate(
  options: GateBoardOptions,
  clock: ClockPort,
  log: LogPort,
  closers: Closers,
  io: BoardIo,
): Promise<GateBoard | Refusal> {
  const o = options.board;
  const dir = await checkJournalDir(o.journalDir, {
    probeBytes: JOURNAL_PROBE_BYTES, minFreeBytes: o.journalMinFreeBytes,
  });
  if (!dir.ok) {
    log.log({ event: 'out-of-service', reason: `journal directory ${dir.error.problem}` });
    return { refused: 'storage',
      message: `${dir.error.message}: the gate does not start (exit 4); fix the storage and `
      + 'start it again' };
  }
  const params = await bootParams(o.paramsDir, o.paramsPubPath, o.journalDir,
    o.denyKeyPath ?? null);
  let rest: GateBoard | Refusal;
  if (!params.ok) rest = { refused: 'refused', message: params.message };
  else if (params.value.set.gate === undefined) {
    rest = { refused: 'refused', message: `parameters ${o.paramsDir}: the set has no gate.json `
      + '(a bus set); a gate needs its tickets, capacity and slots' };
  } else {
    rest = await bootGateDevices(options, { clock, log, io }, closers, params.value);
  }
  if ('refused' in rest && dir.value.createdDir) {
    await rmdir(o.journalDir).catch(() => undefined);
  }
  return rest;
}

async function bootGateDevices(
  options: GateBoardOptions,
  env: { readonly clock: ClockPort; readonly log: LogPort; readonly io: BoardIo },
  closers: Closers,
  booted: BootParams,
): Promise<GateBoard | Refusal> {
  const { clock, log } = env;
  const o = options.board;
  let kernel;
  try {
    kernel = await loadKernel();
  } catch (error) {
    return { refused: 'refused', message: `cannot load the kernel: ${String(error)}` };
  }
  const reader = await bootBoardReader(o, clock, log);
  if (!reader.ok) return { refused: 'reader', message: reader.message };
  closers.push(reader.close);
  const display = await bootDisplay(o.displayPath, log, clock, env.io.err);
  if (!display.ok) return { refused: 'display', message: display.message };
  closers.push(display.value.close);
  const turnstiles = await bootTurnstiles(options, clock, closers);
  if ('refused' in turnstiles) return turnstiles;
  const journal = await bootJournal(o.journalDir, clock, log);
  if (!journal.ok) return { refused: 'refused', message: journal.message };
  closers.push(journal.value.close);
  const panVault = await bootDataKey(o.dataKeyPath, o.journalDir, journal.value.part);
  if (!panVault.ok) return { refused: 'refused', message: panVault.message };
  const floorError = await booted.raiseFloor();
  if (floorError !== null) return { refused: 'refused', message: floorError };
  const params = { set: booted.set };
  const gate = gateParamsHolder(params, log);
  const validator: ValidatorConfig = {
    ...VALIDATOR_CONFIG_DEFAULT, mode: o.mode,
    terminalData: { ...VALIDATOR_CONFIG_DEFAULT.terminalData, ifdSerial: o.ifdSerial },
  };
  const readerPort = boardReaderPort(reader.value);
  const app = new GateApp({
    reader: readerPort, display: display.value.part,
    indicator: bootIndicator(o.sysfsRoot, clock, log), clock, kernel,
    journal: journal.value.part, params: () => params.set,
    // 9F37 enters the card's cryptogram: unpredictable, from the OS CSPRNG.
    unpredictableNumber: () => new Uint8Array(randomBytes(4)),
    panVault: panVault.value, log,
    turnstile: turnstiles.lane, exitTurnstile: turnstiles.exit,
    ledgerStorage: journal.value.storage, gateParams: gate,
    cardToken: gateCardToken(booted.denyKey),
  }, { validator, lane: GATE_LANE_CONFIG_DEFAULT, direction: options.lane });
  const started = await app.start();
  log.log({
    event: 'start', board: 'gate', lane: options.lane, mode: o.mode,
    paramsVersion: params.set.version, terminalId: params.set.terminal.terminalId,
    siteId: gate().siteId, outOfService: started.ok ? null : started.detail,
  });
  if (!started.ok) {
    const refused = started.detail.startsWith('turnstile') ? 'turnstile' : 'refused';
    return { refused, message: `gate out of service: ${started.detail}` };
  }
  const upload = await bootGateUploader(o, app, {
    journal: journal.value.part, storage: journal.value.storage, params,
    panVault: panVault.value, denyKey: booted.denyKey, clock, log,
  });
  if ('refused' in upload) return upload;
  const loop = new GateLoop(app, readerPort, clock, validator);
  return { app, loop, reader: reader.value, ...upload, turnstile: turnstiles.lane };
}

/**
 * The uploaders beside the gate (journal and parameters; the gate ledger's lines), null
 * without --depot.
 */
async function bootGateUploader(
  o: BusValidatorOptions,
  app: GateApp,
  parts: Omit<BusUploaderParts, 'validator' | 'paramsDir' | 'paramsPubPath' | 'journalDir'
    | 'dataKeyPath'>,
): Promise<Pick<GateBoard, 'upload' | 'records'> | Refusal> {
  if (o.depot === undefined || o.depot === null) return { upload: null, records: null };
  const records = await bootGateRecordsUpload(o.depot, {
    storage: parts.storage, terminalId: parts.params.set.terminal.terminalId,
    tapInProgress: () => app.tapInProgress(), clock: parts.clock, log: parts.log,
  });
  if (!records.ok) return { refused: 'refused', message: records.message };
  const uploader = await bootUploader(o.depot, {
    ...parts,
    validator: {
      start: async () => void (await app.start()),
      state: () => (app.tapInProgress() ? 'Processing' : 'WaitForCard'),
    },
    paramsDir: o.paramsDir, paramsPubPath: o.paramsPubPath, journalDir: o.journalDir,
    dataKeyPath: o.dataKeyPath ?? dataKeyDefaultPath(o.journalDir),
  });
  if (!uploader.ok) {
    records.value.close();
    return { refused: 'refused', message: uploader.message };
  }
  return { upload: uploader.value, records: records.value };
}

/** The lane's turnstile and the free exit's, opened; a device that does not open refuses. */
async function bootTurnstiles(
  options: GateBoardOptions,
  clock: ClockPort,
  closers: Closers,
): Promise<{ lane: TurnstilePort; exit: TurnstilePort | null } | Refusal> {
  const lane = await gateTurnstileOpen(options.turnstile, clock);
  if (!lane.ok) {
    return { refused: 'turnstile', message: `turnstile ${turnstileName(options.turnstile)}: `
      + `${lane.error}: ${lane.detail}` };
  }
  closers.push(() => lane.value.shutdown());
  if (options.exitTurnstile === null) return { lane: lane.value, exit: null };
  const exit = await gateTurnstileOpen(options.exitTurnstile, clock);
  if (!exit.ok) {
    return { refused: 'turnstile', message: `exit turnstile `
      + `${turnstileName(options.exitTurnstile)}: ${exit.error}: ${exit.detail}` };
  }
  closers.push(() => exit.value.shutdown());
  return { lane: lane.value, exit: exit.value };
}

function turnstileName(spec: GateTurnstileSpec): string {
  return spec.kind === 'modbus' ? `modbus:${spec.path}` : `gpio:${spec.chip}`;
}

/**
 * The running set's gate.json. A set downloaded later without one (a bus set sent to a gate
 * by mistake) keeps the last gate.json in force, logged, rather than stopping the lane.
 */
function gateParamsHolder(params: { set: ParamSet }, log: LogPort): () => GateParams {
  let last = params.set.gate;
  if (last === undefined) throw new Error('gate.json checked at boot');
  let warned: ParamSet | null = null;
  return () => {
    const current = params.set.gate;
    if (current !== undefined) {
      last = current;
      return current;
    }
    if (warned !== params.set) {
      warned = params.set;
      log.log({ event: 'gate-params-missing', version: params.set.version });
    }
    return last as GateParams;
  };
}

/** The fleet card token of a PAN (gate_params.ts): the deny key's HMAC, PSN fixed at 00. */
export function gateCardToken(denyKey: DenyKey): (pan: string) => string | null {
  return (pan) => {
    const token = denyKey.token(pan, 0);
    return token === null ? null : Buffer.from(token).toString('hex').toUpperCase();
  };
}

interface TurnEnv {
  readonly stop: BoardStop;
  readonly log: LogPort;
  readonly io: BoardIo;
  readonly clock: ClockPort;
  readonly readerErrors: () => number;
}

/** Taps until a stop or --max-taps; a lost reader is reported and reopened (as the bus). */
async function gateTurns(
  board: GateBoard,
  options: GateBoardOptions,
  env: TurnEnv,
): Promise<number> {
  const tapsMax = options.board.tapsMax;
  let taps = 0;
  let failingTurns = 0;
  while (!env.stop.requested() && (tapsMax === null || taps < tapsMax)) {
    const errorsBefore = env.readerErrors();
    const report = await board.loop.turn();
    await board.upload?.uploader.betweenTaps();
    if (report !== null) {
      taps += 1;
      env.log.log({
        event: 'gate-tap', result: report.tap.result, decision: report.decision?.kind ?? null,
        // No decision (the journal full or failing, a kernel decline, a torn tap): the tap's.
        reason: report.decision === null ? report.tap.reason
          : report.decision.kind === 'refuse' ? report.decision.reason : null,
        passed: report.lane?.passed ?? 0, tailgaters: report.lane?.tailgaters ?? 0,
        stopped: report.lane?.stopped?.kind ?? null, journalSeqs: report.tap.journalSeqs.join(','),
      });
    }
    failingTurns = report === null && env.readerErrors() > errorsBefore ? failingTurns + 1 : 0;
    const lost = board.reader.kind === 'pn532'
      ? board.reader.pn532.link.lost() ?? board.reader.pn532.reader.linkLostDetail()
      : board.reader.pcsc.lost();
    if (lost === null && failingTurns < READER_ERROR_TURNS_MAX) continue;
    const why = lost ?? `${failingTurns} reader errors in a row`;
    if (!(await gateReaderDown(board, options, env, why))) break;
    failingTurns = 0;
  }
  return taps;
}

/** Reports the reader down and waits for it; false when a stop came first. */
async function gateReaderDown(
  board: GateBoard,
  options: GateBoardOptions,
  env: TurnEnv,
  why: string,
): Promise<boolean> {
  const path = options.board.readerPath;
  env.log.log({ event: 'reader-lost', path, detail: why });
  env.io.err(`shuaka run: reader on ${path} lost (${why}); the gate reopens it`);
  const recovery = board.reader.kind === 'pcsc'
    ? await board.reader.pcsc.recover(() => env.stop.requested())
    : await recoverReader({
      link: board.reader.pn532.link, reader: board.reader.pn532.reader, clock: env.clock,
      // Jitter only spreads retries between boards; it needs no secrecy.
      random01: () => randomInt(0, 1 << 30) / (1 << 30),
      stopRequested: () => env.stop.requested(), log: env.log,
    }, { baudRate: options.board.baudRate, rf: BUS_VALIDATOR_RF }, READER_REOPEN_BACKOFF);
  if (recovery.kind === 'stopped') return false;
  env.io.err(`shuaka run: reader on ${path} back after ${recovery.downMs} ms`);
  await board.app.cardRemoved();
  return true;
}
