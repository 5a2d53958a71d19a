// `shuaka sim --board gate`: a seeded scenic-area morning at one gate lane, visit by visit.
//
// Exit codes as `shuaka sim`: 0 correct, 1 a checker found a violation, 3 the run crashed,
// 2 bad usage. A failure prints the seed; `--seed N` replays the day exactly.

import { parseArgs } from 'node:util';
import { cliFlagsChecked, cliShare } from '../../../firmware/src/cli/cli_args.js';
import { checkGateRun, type GateCheck } from './gate_checks.js';
import { GATE_RUN_DEFAULT, runGate, type GateRun, type GateRunOptions } from './gate_run.js';
import { TRIPOD_PASSAGE_MS_MAX, TRIPOD_PASSAGE_MS_MIN, type GateVisitLine } from './gate_visit.js';
import type { SimIo } from './sim_cli.js';

export const GATE_SIM_USAGE = `Usage: shuaka sim --board gate [--seed N] [--groups N] [--families N]
                  [--walk-ins N] [--tailgate P] [--mode auto|ec|oda] [--quiet]
  Runs the scenic-area gate firmware (firmware/src/app/gate) on the simulated board: the
  PN532 emulator, the qPBOC kernel, the journal, signed parameters and an emulated turnstile
  controller with a free exit beside it. Tour groups and families tap one card holding their
  ticket (gate.json, bound to the card's token) and walk through one by one; walk-ins pay the
  admission at the gate (fares.json, concessions by card range); strangers tailgate now and
  then; people leave by the exit. Prints every visit, the lane's throughput against a tripod's
  physical limit, the counts per hour, and checks entries = tickets sold + admissions paid.
  --seed N      seed of the day (default ${GATE_RUN_DEFAULT.seed})
  --groups N    tour groups with a ticket (default ${GATE_RUN_DEFAULT.tourGroups}; 0..20)
  --families N  families with a ticket on one card (default ${GATE_RUN_DEFAULT.families}; 0..40)
  --walk-ins N  visitors paying at the gate (default ${GATE_RUN_DEFAULT.walkIns}; 0..500)
  --tailgate P  chance a stranger follows a party through, 0..1 (default ${
  GATE_RUN_DEFAULT.tailgateChance})
  --mode M      how the lane sells: auto (default), ec or oda (every card is read for its
                ticket; a walk-in whose card cannot pay so is sent to the ticket office)
  --quiet       print the summary only`;

function count(text: string | undefined, fallback: number, max: number, name: string): number {
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,6}$/.test(text) || Number(text) > max) {
    throw new RangeError(`--${name} must be an integer in 0..${max}, got '${text}'`);
  }
  return Number(text);
}

const GATE_FLAGS = {
  board: { type: 'string' }, seed: { type: 'string' }, groups: { type: 'string' },
  families: { type: 'string' }, 'walk-ins': { type: 'string' },
  tailgate: { type: 'string' }, mode: { type: 'string' }, quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseGateOptions(argv: string[]): { options: GateRunOptions; quiet: boolean } | string {
  try {
    const { values: v } = parseArgs({
      args: cliFlagsChecked(argv, GATE_FLAGS), strict: true, allowPositionals: false,
      options: GATE_FLAGS,
    });
    if (v.help === true) return 'help';
    if (v.board !== 'gate') throw new RangeError(`--board must be gate, got '${v.board ?? ''}'`);
    const tailgate =
      v.tailgate === undefined ? GATE_RUN_DEFAULT.tailgateChance : cliShare(v.tailgate);
    if (tailgate === null) {
      throw new RangeError(`--tailgate must be a number in 0..1, got '${v.tailgate}'`);
    }
    const mode = v.mode ?? GATE_RUN_DEFAULT.mode;
    if (mode !== 'ec' && mode !== 'oda' && mode !== 'auto') {
      throw new RangeError(`--mode must be auto, ec or oda, got '${mode}'`);
    }
    const options: GateRunOptions = {
      seed: count(v.seed, GATE_RUN_DEFAULT.seed, 0xffff_ffff, 'seed'),
      tourGroups: count(v.groups, GATE_RUN_DEFAULT.tourGroups, 20, 'groups'),
      families: count(v.families, GATE_RUN_DEFAULT.families, 40, 'families'),
      walkIns: count(v['walk-ins'], GATE_RUN_DEFAULT.walkIns, 500, 'walk-ins'),
      tailgateChance: tailgate,
      mode,
    };
    return { options, quiet: v.quiet === true };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** One printed line per visit. */
export function formatVisit(line: GateVisitLine): string {
  const v = line.visit;
  const seconds = (line.placedMs / 1000).toFixed(1).padStart(7);
  const open = line.openMs === null ? 'closed' : `open in ${line.openMs.toFixed(0)} ms`;
  const party = `${line.walked}/${v.persons} through${line.tailgated > 0 ? ', 1 tailgater' : ''}`;
  return `${seconds}s #${String(v.index).padStart(3)} ${v.kind.padEnd(10)} `
    + `${v.card.name.padEnd(28)} 「${line.screen}」 ${open}, ${party}`;
}

/** The summary: throughput against the tripod limit, hourly counts, the checks. */
export function gateSummaryLines(run: GateRun, check: GateCheck): string[] {
  const entries = check.ticketEntries + check.paidEntries;
  const opens = run.visits.flatMap((v) => (v.openMs === null ? [] : [v.openMs]));
  const openMean = opens.reduce((a, b) => a + b, 0) / Math.max(1, opens.length);
  const walking = run.visits.filter((v) => v.walked >= 5);
  const groupMs = walking.reduce((n, v) => n + ((v.lastPassMs ?? v.placedMs) - v.placedMs), 0);
  const groupPersons = walking.reduce((n, v) => n + v.walked, 0);
  const groupRate = groupMs > 0 ? (groupPersons * 60_000) / groupMs : 0;
  const limitLow = 60_000 / TRIPOD_PASSAGE_MS_MAX;
  const limitHigh = 60_000 / TRIPOD_PASSAGE_MS_MIN;
  const hours = check.entriesByHour
    .map((n, h) => (n === 0 ? null : `${String(h).padStart(2, '0')}:00 ${n}`))
    .filter((s) => s !== null);
  // A closed lane is the gate's own rule (passback, capacity, ticket: a 'refused' ledger
  // record), or a tap that never reached the rules (the card refused, or pulled too early).
  const closed = run.visits.filter((v) => v.openMs === null).length;
  return [
    `summary: ${run.visits.length} taps, ${entries} entries (${check.ticketEntries} by ticket `
      + `of ${check.ticketsSold} sold, ${check.paidEntries} paid of ${check.paidAdmissions} `
      + `admissions), ${check.exits} exits, ${check.tailgates} tailgaters, ${closed} kept closed `
      + `(${check.refusals} by the gate's rules, ${closed - check.refusals} before them: the `
      + 'card refused or the tap unfinished)',
    `  tap-to-open: mean ${openMean.toFixed(0)} ms over ${opens.length} openings`,
    `  lane throughput with a party: ${groupRate.toFixed(1)} persons/min over ${groupPersons} `
      + `persons (tripod physical limit ${limitLow.toFixed(0)}-${limitHigh.toFixed(0)}/min)`,
    `  entries per hour: ${hours.join(', ')}`,
  ];
}

/** `shuaka sim --board gate`. */
export async function runGateSimCommand(argv: string[], io: SimIo): Promise<number> {
  const parsed = parseGateOptions(argv);
  if (parsed === 'help') {
    io.out(GATE_SIM_USAGE);
    return 0;
  }
  if (typeof parsed === 'string') {
    io.err(`shuaka sim: ${parsed}\n${GATE_SIM_USAGE}`);
    return 2;
  }
  const { options, quiet } = parsed;
  io.out(`shuaka sim --board gate: seed ${options.seed} (replay: shuaka sim --board gate `
    + `--seed ${options.seed})`);
  let run: GateRun;
  try {
    run = await runGate(options, (line) => {
      if (!quiet) io.out(formatVisit(line));
    });
  } catch (err) {
    io.err(`shuaka sim: crashed (seed ${options.seed}): `
      + `${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 3;
  }
  try {
    const check = checkGateRun(run);
    for (const line of gateSummaryLines(run, check)) io.out(line);
    if (check.violations.length > 0) {
      for (const v of check.violations) io.err(`VIOLATION: ${v}`);
      io.err(`shuaka sim: correctness failure with seed ${options.seed}`);
      return 1;
    }
    io.out('  checks: entries = tickets sold + admissions paid, every sale a clearing record '
      + 'and a card debit or admission, tailgaters and exits counted as they happened');
    return 0;
  } finally {
    run.board.dispose();
  }
}
