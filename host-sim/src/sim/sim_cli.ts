// `shuaka sim`: a seeded bus line on the simulated validator, printed tap by tap.
//
// Exit codes: 0 the run was correct; 1 a checker found a violation (double charge, unrecorded
// debit, debited deny-listed card...); 3 the run crashed; 4 a rider never got an answer
// (liveness); 2 bad usage. Every failure prints the seed; `--seed N` replays it exactly.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { dataKeyDefaultPath } from '../../../firmware/src/app/journal/pan_vault_file.js';
import { checkBusRun } from './bus_checks.js';
import { runFleetCommand, type FleetDepotOpener } from './fleet_cli.js';
import { runGateSimCommand } from './gate_cli.js';
import { simDataKey } from './sim_board_parts.js';
import { busSummaryLines } from './sim_summary.js';
import { moneyLoopLines, runMoneyLoop, type MoneyLoop } from './sim_money_loop.js';
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
                  [--mode auto|ec|oda] [--population realistic|default]
                  [--link pty|memory] [--log FILE] [--journal DIR] [--quiet] [--no-depot]
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
                e-cash) or default (the classic e-cash-heavy mix)
  --log FILE    write the validator's structured log (JSON lines, PANs masked) to FILE
  --journal DIR keep the validator's journal (its segments and checkpoints as on the simulated
                medium) in DIR, a new or empty directory, so that \`shuaka journal verify|export|
                ack --journal DIR\` work on the simulated run; with it DIR/data.key, the
                simulated terminal data key of the seed, which \`journal export\` opens the
                sealed PANs with
  --quiet       print the summary only
  --no-depot    skip the money loop (the ride and its checks only)
  --fleet N     ride N buses with their uploaders against a depot (see shuaka sim --fleet 1
                --help for its own flags)
  --board gate  a scenic-area gate lane instead of a bus (see shuaka sim --board gate --help)`;

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

interface SimOptions {
  options: BusRunOptions;
  link: string;
  quiet: boolean;
  log: string | null;
  journal: string | null;
  depot: boolean;
}

function parseOptions(argv: string[]): SimOptions | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
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
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  try {
    const seed = int(v.seed, BUS_RUN_DEFAULT.seed, 0, 0xffff_ffff, 'seed');
    const riders = int(v.riders, BUS_RUN_DEFAULT.riders, 1, 100_000, 'riders');
    const baudRate = int(v.baud, BUS_RUN_DEFAULT.baudRate, 1, 10_000_000, 'baud');
    if (!BAUD_RATES.has(baudRate))
      throw new RangeError(`--baud must be one of ${[...BAUD_RATES].join(', ')}`);
    const torn = v.torn === undefined ? BUS_RUN_DEFAULT.tornChance : Number(v.torn);
    if (!(torn >= 0 && torn <= 1))
      throw new RangeError(`--torn must be a number in 0..1, got '${v.torn}'`);
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
    return {
      options: {
        ...BUS_RUN_DEFAULT,
        seed,
        riders,
        tornChance: torn,
        baudRate,
        mode,
        populationKind,
      },
      link,
      quiet: v.quiet === true,
      log: v.log ?? null,
      journal: v.journal ?? null,
      depot: v['no-depot'] !== true,
    };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
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
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} taps`;
}

/** `shuaka sim`; `runner` overrides the in-memory run (the pty link comes in through it). */
export async function runSimCommand(
  argv: string[],
  io: SimIo,
  ptyRunner: BusRunner | null = null,
  openDepot: FleetDepotOpener | null = null,
): Promise<number> {
  // A fleet of buses with their uploaders has its own flags (fleet_cli.ts).
  if (argv.some((arg) => arg === '--fleet' || arg.startsWith('--fleet='))) {
    return runFleetCommand(argv, io, openDepot);
  }
  // A scenic-area gate lane instead of a bus (gate_cli.ts has its own flags).
  if (argv.some((arg) => arg === '--board' || arg.startsWith('--board='))) {
    return runGateSimCommand(argv, io);
  }
  const parsed = parseOptions(argv);
  if (parsed === 'help') {
    io.out(SIM_USAGE);
    return 0;
  }
  if (typeof parsed === 'string') {
    io.err(`shuaka sim: ${parsed}\n${SIM_USAGE}`);
    return 2;
  }
  const { options, quiet, log, journal } = parsed;
  if (journal !== null && existsSync(journal) && readdirSync(journal).length > 0) {
    io.err(`shuaka sim: --journal ${journal} is not empty (a run writes a new journal)`);
    return 2;
  }
  let link = parsed.link;
  if (link === 'pty' && ptyRunner === null) {
    io.err('shuaka sim: socat is not available: running the PN532 emulator on the in-memory link');
    link = 'memory';
  }
  io.out(
    `shuaka sim: seed ${options.seed}, ${options.riders} riders, ${link} link ` +
      `(replay: shuaka sim --seed ${options.seed} --riders ${options.riders} --link ${link})`,
  );
  const onTap = (line: TapLine): void => {
    if (!quiet) io.out(formatTap(line));
    io.status?.(progressBar(line.index + 1, Math.max(line.index + 1, options.riders)));
  };
  let run: BusRun;
  try {
    run =
      link === 'pty' && ptyRunner !== null
        ? await ptyRunner(options, onTap)
        : await runBus(options, onTap);
  } catch (err) {
    io.err(
      `shuaka sim: crashed (seed ${options.seed}): ` +
        `${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return 3;
  }
  try {
    keepFiles(run, { log, journal }, io);
    const code = report(run, io);
    return code === 0 && parsed.depot ? await moneyReport(run, io, openDepot) : code;
  } finally {
    run.board.dispose();
  }
}

/** `--log` and `--journal`: the validator's log and journal as files (before the upload). */
function keepFiles(run: BusRun, files: { log: string | null; journal: string | null },
  io: SimIo): void {
  const { log, journal } = files;
  if (log !== null) {
    const lines = run.board.logs.map((event) => JSON.stringify(event));
    writeFileSync(log, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    io.out(`  log: ${lines.length} JSON lines in ${log}`);
  }
  if (journal !== null) {
    const files = run.board.storage.durableFiles();
    mkdirSync(journal, { recursive: true });
    for (const [name, bytes] of files) writeFileSync(join(journal, name), bytes, { flush: true });
    // As a validator keeps it: mode 600, else `journal export` refuses the key.
    const keyPath = dataKeyDefaultPath(journal);
    writeFileSync(keyPath, simDataKey(run.options.seed), { flush: true, mode: 0o600 });
    io.out(`  journal: ${files.size} files in ${journal} (shuaka journal verify --journal DIR)`);
  }
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
