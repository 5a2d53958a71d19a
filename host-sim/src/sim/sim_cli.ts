// `shuaka sim`: a seeded bus line on the simulated validator, printed tap by tap.
//
// Exit codes: 0 the run was correct; 1 a checker found a violation (double charge, unrecorded
// debit, debited deny-listed card...); 3 the run crashed; 4 a rider never got an answer
// (liveness); 2 bad usage (a bad flag, a --log path or --journal DIR that cannot be
// written); 130 Ctrl-C.
// Every failure prints the seed; the `replay:` line at the end replays the run exactly.

import {
  closeSync,
  readdirSync,
  rmSync,
  openSync,
  writeFileSync,
} from 'node:fs';
import type { LogEvent } from '../../../firmware/src/app/validator/validator_ports.js';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';

import { mkdirParentsSync } from '../../../hal/src/fs/mkdir_parents.js';
import { writeAllSync } from '../../../hal/src/fs/write_all.js';
import { dataKeyDefaultPath } from '../../../firmware/src/app/journal/pan_vault_file.js';
import { cliFlagsChecked, cliShare } from '../../../firmware/src/cli/cli_args.js';
import { checkBusRun } from './bus_checks.js';
import { DepotStoreError } from '../../../depot/src/store/depot_db.js';
import { runFleetCommand, type FleetDepotOpener } from './fleet_cli.js';
import { runGateSimCommand } from './gate_cli.js';
import { simDataKey } from './sim_board_parts.js';
import { simJournalDirFiles } from './sim_journal_dir.js';
import { replayArgsOf, replayHintOf, type FlagValue } from './sim_replay.js';
import { busSummaryLines } from './sim_summary.js';
import { tunionSummaryLines } from './sim_summary_tunion.js';
import { moneyLoopLines, runMoneyLoop, type MoneyLoop } from './sim_money_loop.js';
import { logEventScrubbed } from '../../../firmware/src/app/validator/log_scrub.js';
import { parsePopulationKind } from '../cards/card_mix.js';
import {
  BUS_RUN_DEFAULT,
  runBus,
  type BusRun,
  type BusRunOptions,
  type TapLine,
} from './bus_run.js';

export interface SimIo {
  out(text: string): void;
  err(text: string): void;
  /** Overwrites the current terminal line (progress bar); absent when output is not a TTY. */
  status?: (text: string) => void;
}

/** Runs a bus line on another link (the pty mode supplies this; see bin/shuaka.js). */
export type BusRunner = (options: BusRunOptions, onTap: (line: TapLine) => void) => Promise<BusRun>;

export const SIM_USAGE = `Usage: shuaka sim [--seed N] [--riders N] [--torn P] [--baud B]
                  [--mode auto|ec|oda] [--population realistic|default|sm]
                  [--link pty|memory] [--log FILE] [--journal DIR] [--quiet] [--no-depot]
                  [--psam emu|none]
  Runs the validator firmware on the simulated bus line: the PN532 emulator (on a socat pty by
  default, in memory with --link memory or when socat is absent), virtual cards riding the
  line, a DWIN display emulator and a buzzer/LED tree. Prints every tap (screen text, beep,
  latency) and a summary, then checks every card's ledger against the journal. Then the money
  loop: the validator's uploader sends its journal to a depot on SQLite in a temporary
  directory (HTTPS with mutual TLS on loopback; removed at exit), the depot authorises the
  admissions and clears the e-cash debits with the acquirer simulator (ISO 8583 over TCP on
  loopback; one card's issuer account is empty, so one decline becomes a debt), and the run
  ends with the money per card, checked against the journal and the issuer's ledger.
  --seed N      seed of the run (default 1); a failure prints it, --seed replays it exactly
  --riders N    riders boarding (default ${BUS_RUN_DEFAULT.riders}; 1..100000)
  --torn P      share of riders pulling the card too early, 0..1
                (default ${BUS_RUN_DEFAULT.tornChance})
  --baud B      PN532 serial speed after start-up: 115200, 230400, 460800 or 921600
  --mode M      auto (default: e-cash when the purse pays, else UnionPay ODA or the full
                PBOC flow, admitted and authorised later), ec (e-cash only) or oda (ODA only)
  --population P  realistic (default: most riders with phones and ordinary cards without
                e-cash), default (the classic e-cash-heavy mix) or sm (realistic with SM2
                national-cryptography cards among them; the SM CA key joins the parameters)
  --log FILE    write the validator's structured log (JSON lines, PANs masked) to FILE
  --journal DIR keep the validator's journal (its segments and checkpoints as on the simulated
                medium) in DIR, a new or empty directory or one that \`shuaka journal init
                --after-seq N\` started (the run's first record is then seq N + 1), so that
                \`shuaka journal verify|export|ack --journal DIR\` work on the simulated run;
                with it DIR/data.key, the simulated terminal data key of the seed, which
                \`journal export\` opens the sealed PANs with. DIR holds the journal as the
                ride left it, before the money loop's upload: its ack is not there, so
                \`journal export\` gives every record the depot was sent
  --psam S      the validator's PSAM for the T-Union riders (tap in, tap out): emu (default,
                the PSAM emulator in the board's SAM slot, opened at start as \`shuaka run
                --psam\` opens a real one) or none (an empty slot: T-Union cards refused)
  --quiet       print the summary only
  --no-depot    skip the money loop (the ride and its checks only)
  --fleet N     ride N buses with their uploaders against a depot (see shuaka sim --fleet 1
                --help for its own flags)
  --web         the validator's face in a browser, cards to tap by hand (see shuaka sim --web
                --help for its own flags)
  --board gate  a scenic-area gate lane instead of a bus (see shuaka sim --board gate --help)
  The run ends with \`replay: shuaka sim ...\`: every flag of the run, defaults written out.
  Ctrl-C stops after the tap under way: a partial summary and checks, exit code 130.`;

const BAUD_RATES = new Set([115200, 230400, 460800, 921600]);

/** An integer flag in min..max, or `fallback` when absent. Throws RangeError naming it. */
function int(
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new RangeError(`--${name} must be an integer in ${min}..${max}, got '${text}'`);
  }
  return Number(text);
}

/**
 * Every flag of `shuaka sim` (the bus run), one row each: parseArgs reads this table and the
 * replay hint is written from it, so a flag cannot be parsed and then left out of the hint.
 */
export const SIM_FLAGS = {
  seed: { type: 'string' },
  riders: { type: 'string' },
  torn: { type: 'string' },
  baud: { type: 'string' },
  mode: { type: 'string' },
  population: { type: 'string' },
  link: { type: 'string' },
  quiet: { type: 'boolean' },
  log: { type: 'string' },
  journal: { type: 'string' },
  'no-depot': { type: 'boolean' },
  psam: { type: 'string' },
} as const;

export type SimFlag = keyof typeof SIM_FLAGS;

/** A parsed `shuaka sim` command line, with every default filled in. */
export interface SimOptions {
  options: BusRunOptions;
  link: 'pty' | 'memory';
  quiet: boolean;
  log: string | null;
  journal: string | null;
  depot: boolean;
}

/** Each flag's value in `parsed` (null or false: not given). Exhaustive over SIM_FLAGS. */
function simFlagValues(parsed: SimOptions): Record<SimFlag, FlagValue> {
  const o = parsed.options;
  return {
    seed: String(o.seed),
    riders: String(o.riders),
    torn: String(o.tornChance),
    baud: String(o.baudRate),
    mode: o.mode,
    population: o.populationKind ?? 'default',
    link: parsed.link,
    quiet: parsed.quiet,
    log: parsed.log,
    journal: parsed.journal,
    'no-depot': !parsed.depot,
    psam: o.psam ?? 'emu',
  };
}

/**
 * The arguments that replay `parsed` exactly: every flag of SIM_FLAGS with its value, defaults
 * included, so the replay does not depend on the defaults of the version that replays it.
 */
export function simReplayArgs(parsed: SimOptions): string[] {
  return replayArgsOf(simFlagValues(parsed));
}

/** `shuaka sim --seed 1 --riders 40 ...`, ready to paste into a shell. */
export function simReplayHint(parsed: SimOptions): string {
  return replayHintOf(simReplayArgs(parsed));
}

/** Parses a `shuaka sim` command line: 'help', an error sentence, or the options. */
export function parseSimOptions(argv: string[]): SimOptions | string {
  let parsed;
  const options = { ...SIM_FLAGS, help: { type: 'boolean', short: 'h' } } as const;
  try {
    parsed = parseArgs({
      args: cliFlagsChecked(argv, options),
      strict: true,
      allowPositionals: false,
      options,
    });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  try {
    return simOptionsOf(v);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

type SimFlagTexts = { [K in SimFlag]?: (typeof SIM_FLAGS)[K]['type'] extends 'boolean'
  ? boolean : string };

/** Checks and fills in the flags. Throws RangeError naming a bad flag. */
function simOptionsOf(v: SimFlagTexts): SimOptions {
  const seed = int(v.seed, BUS_RUN_DEFAULT.seed, 0, 0xffff_ffff, 'seed');
  const riders = int(v.riders, BUS_RUN_DEFAULT.riders, 1, 100_000, 'riders');
  const baudRate = int(v.baud, BUS_RUN_DEFAULT.baudRate, 1, 10_000_000, 'baud');
  if (!BAUD_RATES.has(baudRate))
    throw new RangeError(`--baud must be one of ${[...BAUD_RATES].join(', ')}`);
  const torn = v.torn === undefined ? BUS_RUN_DEFAULT.tornChance : cliShare(v.torn);
  if (torn === null) throw new RangeError(`--torn must be a number in 0..1, got '${v.torn}'`);
  const mode = v.mode ?? BUS_RUN_DEFAULT.mode;
  if (mode !== 'ec' && mode !== 'oda' && mode !== 'auto')
    throw new RangeError(`--mode must be auto, ec or oda, got '${mode}'`);
  const populationKind =
    v.population === undefined
      ? (BUS_RUN_DEFAULT.populationKind ?? 'realistic')
      : parsePopulationKind(v.population);
  const link = v.link ?? 'pty';
  if (link !== 'pty' && link !== 'memory')
    throw new RangeError(`--link must be pty or memory, got '${link}'`);
  if (v.log === '') throw new RangeError('--log needs a file name');
  // '' as a path is the current directory: a journal there was written over without a word.
  if (v.journal === '') throw new RangeError('--journal needs a directory name');
  const psam = v.psam ?? 'emu';
  if (psam !== 'emu' && psam !== 'none')
    throw new RangeError(`--psam must be emu or none, got '${psam}'`);
  return {
    options: { ...BUS_RUN_DEFAULT, seed, riders, tornChance: torn, baudRate, mode,
      populationKind, psam },
    link,
    quiet: v.quiet === true,
    log: v.log ?? null,
    journal: v.journal ?? null,
    depot: v['no-depot'] !== true,
  };
}

function yuan(minor: number | null): string {
  return minor === null ? '' : `¥${(minor / 100).toFixed(2)}`;
}

/** One printed line per tap: time, card, what the rider saw and heard, latency. */
export function formatTap(line: TapLine): string {
  const seconds = (line.atMs / 1000).toFixed(1).padStart(7);
  const report = line.report;
  const latency = line.latencyMs === null ? 'no answer' : `${line.latencyMs.toFixed(0)} ms`;
  const pan = report?.panMasked ?? '';
  const pulled = line.pulledEarly ? ' (pulled early)' : '';
  const recovered = report?.recovered === true ? ' [recovered]' : '';
  return (
    `${seconds}s #${String(line.index).padStart(3)} ` +
    `${line.cardName.padEnd(24)} ${pan.padEnd(19)} ` +
    `${(report?.result ?? '-').padEnd(12)} ${yuan(report?.amountMinor ?? null).padEnd(7)} ` +
    `「${line.screen}」 beep:${line.signal ?? '-'} ${latency}${pulled}${recovered}`
  );
}

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((Math.min(done, total) / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} riders`;
}

/** Exit code after Ctrl-C (128 + SIGINT), as a shell reports a command it interrupted. */
export const EXIT_INTERRUPTED = 130;

/** `--log FILE` open for the run: each event is written as it is logged (tail -f works). */
interface LogStream {
  readonly path: string;
  readonly fd: number;
  lines: number;
  /** Why a write failed (the log ends before it), or null. */
  failed: string | null;
}

/** Opens (truncates) `--log FILE` before the run; an error sentence when it cannot. */
function openLogStream(path: string): LogStream | string {
  try {
    return { path, fd: openSync(path, 'w'), lines: 0, failed: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return `--log ${path}: cannot write the log there (${code})`;
  }
}

/**
 * Writes each event as one line. A write that fails (a full disk, /dev/full, a file-size
 * limit) ends the log there, the run goes on, and the command says so at its end (exit 2, the
 * code of a --log that cannot be written); it crashed the run with a stack trace.
 */
function logSinkOf(stream: LogStream): (event: LogEvent) => void {
  return (event) => {
    if (stream.failed !== null) return;
    try {
      // Scrubbed as the board's log is (a T-Union card's 20 digits were written in clear).
      const text = JSON.stringify(logEventScrubbed(event));
      writeAllSync(stream.fd, Buffer.from(`${text}\n`, 'utf8'));
      stream.lines += 1;
    } catch (err) {
      stream.failed = err instanceof Error ? err.message : String(err);
    }
  };
}

/**
 * Checks what must hold before the run starts: the options to run with (a journal that
 * `shuaka journal init` started in --journal DIR on the medium), else the exit code (printed
 * why).
 */
function preflight(parsed: SimOptions, io: SimIo): SimOptions | number {
  const { journal } = parsed;
  const files = journal === null ? null : simJournalDirFiles(journal);
  if (typeof files === 'string') {
    io.err(`shuaka sim: ${files}`);
    return 2;
  }
  if (files === null) return parsed;
  return { ...parsed, options: { ...parsed.options, journalFiles: files } };
}

/**
 * `shuaka sim`; `ptyRunner` runs the pty link (bin/shuaka.js supplies it), `interrupt` is
 * aborted by Ctrl-C: no rider boards after the tap under way, the partial run is summarised
 * and checked, everything made for it is removed, and the exit code is EXIT_INTERRUPTED.
 */
export async function runSimCommand(
  argv: string[],
  io: SimIo,
  ptyRunner: BusRunner | null = null,
  openDepot: FleetDepotOpener | null = null,
  interrupt: AbortSignal | null = null,
): Promise<number> {
  // The face in a browser has its own flags (web_cli.ts); loaded on use only (ws, http).
  if (argv.includes('--web')) {
    const { runWebCommand } = await import('../web/web_cli.js');
    return runWebCommand(argv, io, undefined, formatTap);
  }
  // A fleet of buses with their uploaders has its own flags (fleet_cli.ts).
  if (argv.some((arg) => arg === '--fleet' || arg.startsWith('--fleet='))) {
    return runFleetCommand(argv, io, openDepot);
  }
  // A scenic-area gate lane instead of a bus (gate_cli.ts has its own flags).
  if (argv.some((arg) => arg === '--board' || arg.startsWith('--board='))) {
    return runGateSimCommand(argv, io);
  }
  const parsed = parseSimOptions(argv);
  if (parsed === 'help') {
    io.out(SIM_USAGE);
    return 0;
  }
  if (typeof parsed === 'string') {
    io.err(`shuaka sim: ${parsed}\n${SIM_USAGE}`);
    return 2;
  }
  const ready = preflight(parsed, io);
  if (typeof ready === 'number') return ready;
  const log = parsed.log === null ? null : openLogStream(parsed.log);
  if (typeof log === 'string') {
    io.err(`shuaka sim: ${log}`);
    return 2;
  }
  try {
    return await runSimLine(ready, io, { ptyRunner, openDepot, interrupt, log });
  } finally {
    if (log !== null) closeSync(log.fd);
  }
}

/** What runSimLine gets besides the options. */
interface SimLineContext {
  readonly ptyRunner: BusRunner | null;
  readonly openDepot: FleetDepotOpener | null;
  readonly interrupt: AbortSignal | null;
  readonly log: LogStream | null;
}

async function runSimLine(parsed: SimOptions, io: SimIo, context: SimLineContext):
  Promise<number> {
  const { ptyRunner, interrupt, log } = context;
  const { options, quiet } = parsed;
  let link = parsed.link;
  if (link === 'pty' && ptyRunner === null) {
    io.err('shuaka sim: socat is not available: running the PN532 emulator on the in-memory link');
    link = 'memory';
  }
  // The replay names the link that really ran.
  const replay = `replay: ${simReplayHint({ ...parsed, link })}`;
  io.out(`shuaka sim: seed ${options.seed}, ${options.riders} riders, ${link} link`);
  const onTap = (line: TapLine): void => {
    if (!quiet) io.out(formatTap(line));
    io.status?.(progressBar(line.rider + 1, options.riders));
  };
  const running: BusRunOptions = {
    ...options,
    ...(interrupt === null ? {} : { signal: interrupt }),
    ...(log === null ? {} : { logSink: logSinkOf(log) }),
  };
  let run: BusRun;
  try {
    run = link === 'pty' && ptyRunner !== null
      ? await ptyRunner(running, onTap)
      : await runBus(running, onTap);
  } catch (err) {
    io.err(`shuaka sim: crashed (seed ${options.seed}): `
      + `${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    io.err(replay);
    return 3;
  }
  try {
    if (log !== null) io.out(`  log: ${log.lines} JSON lines in ${log.path}`);
    const journalFailed = keepJournal(run, parsed.journal, io);
    const code = await runSimReport(run, parsed, io, context);
    io.out(replay);
    if (journalFailed !== null) io.err(journalFailed);
    if (log?.failed != null) {
      io.err(`shuaka sim: --log ${log.path}: the log ends after ${log.lines} lines: `
        + `${log.failed}`);
    }
    return code === 0 && (journalFailed !== null || log?.failed != null) ? 2 : code;
  } finally {
    run.board.dispose();
  }
}

/** The summary and checks, then the money loop (not after Ctrl-C: the user asked to stop). */
async function runSimReport(run: BusRun, parsed: SimOptions, io: SimIo,
  context: SimLineContext): Promise<number> {
  const interrupted = context.interrupt?.aborted === true;
  if (interrupted) {
    io.out(`interrupted (SIGINT) after ${run.taps.length} taps of `
      + `${parsed.options.riders} riders: partial summary`);
  }
  const code = report(run, io);
  if (interrupted) return code === 0 ? EXIT_INTERRUPTED : code;
  return code === 0 && parsed.depot ? await moneyReport(run, io, context.openDepot) : code;
}

/**
 * `--journal DIR`: the validator's journal as files (before the upload). Null, or why DIR
 * could not take it (a full disk): the files this run wrote there are removed again, so that
 * no half journal is left to read as CORRUPT.
 */
function keepJournal(run: BusRun, journal: string | null, io: SimIo): string | null {
  if (journal === null) return null;
  const files = run.board.storage.durableFiles();
  const written: string[] = [];
  try {
    mkdirParentsSync(journal);
    const before = new Set(readdirSync(journal));
    const write = (name: string, bytes: Uint8Array, mode?: number): void => {
      const path = join(journal, name);
      if (!before.has(name)) written.push(path);
      writeFileSync(path, bytes, { flush: true, ...(mode === undefined ? {} : { mode }) });
    };
    for (const [name, bytes] of files) write(name, bytes);
    // As a validator keeps it: mode 600, else `journal export` refuses the key.
    write(basename(dataKeyDefaultPath(journal)), simDataKey(run.options.seed), 0o600);
  } catch (error) {
    for (const path of written) rmSync(path, { force: true });
    const why = error instanceof Error ? error.message : String(error);
    return `shuaka sim: --journal ${journal}: the journal was not kept (${why}); the files `
      + 'this run wrote there are removed';
  }
  io.out(`  journal: ${files.size} files in ${journal} as it was before the upload (the money `
    + 'loop\'s ack is not in it); shuaka journal verify|export|ack --journal DIR');
  return null;
}

/**
 * The money loop after a correct ride (sim_money_loop.ts): 0 when every card's money equals
 * its ledger, 1 on a violation, 3 when the loop could not run (each prints the seed).
 */
async function moneyReport(run: BusRun, io: SimIo, openDepot: FleetDepotOpener | null):
  Promise<number> {
  const seed = run.options.seed;
  let loop: MoneyLoop;
  try {
    loop = await runMoneyLoop(run, openDepot);
  } catch (error) {
    if (error instanceof DepotStoreError) {
      // Not a crash: the depot's database cannot open here (an install made with
      // --ignore-scripts has no better-sqlite3 binding). One line, and the way round it.
      // The bindings package lists every path it tried after its first line.
      const why = error.message.split('\n')[0] ?? '';
      io.err(`shuaka sim: the money loop cannot run (seed ${seed}): ${why}; --no-depot `
        + 'rides and checks without it');
      return 3;
    }
    io.err(`shuaka sim: the money loop crashed (seed ${seed}): `
      + `${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 3;
  }
  for (const line of moneyLoopLines(loop)) io.out(line);
  if (loop.violations.length > 0) {
    for (const v of loop.violations) io.err(`VIOLATION: ${v}`);
    io.err(`shuaka sim: money correctness failure with seed ${seed}`);
    return 1;
  }
  io.out('  money checks: every card\'s money equals its ledger (journal = depot = issuer), '
    + 'every tap charged once or declined or outstanding, every decline a debt on the deny list');
  return 0;
}

function report(run: BusRun, io: SimIo): number {
  const { seed, mode, baudRate } = run.options;
  for (const line of busSummaryLines(run.taps, { seed, mode, baudRate })) io.out(line);
  const check = checkBusRun(run);
  io.out(
    `  ledgers vs journal: ${check.debits} card debits, ${check.finals} clearing records ` +
      `(${check.paidOffline} paid offline, ${check.toBeAuthorised} to be authorised), ` +
      `${check.uncertain} uncertain, ${check.journalRecords} journal records`,
  );
  for (const line of tunionSummaryLines(run.taps, check.tunion)) io.out(line);
  const unanswered = run.taps.filter((t) => t.report === null);
  if (check.violations.length > 0) {
    for (const v of check.violations) io.err(`VIOLATION: ${v}`);
    io.err(`shuaka sim: correctness failure with seed ${run.options.seed}`);
    return 1;
  }
  if (unanswered.length > 0) {
    io.err(
      `shuaka sim: ${unanswered.length} taps got no answer ` +
        `(liveness failure, seed ${run.options.seed})`,
    );
    return 4;
  }
  io.out(
    '  checks: no double charge, no unrecorded debit, no debit on deny-listed or counterfeit ' +
      'cards, no debit for an admission' +
      (run.options.mode === 'auto' ? ', no genuine card refused' : ''),
  );
  return 0;
}
