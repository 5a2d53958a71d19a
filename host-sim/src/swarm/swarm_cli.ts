// `shuaka swarm`: seeds of the whole validator under random faults, every invariant checked.
//
// Exit codes (as `shuaka sim`): 0 every seed held; 1 an invariant failed (correctness); 2 bad
// usage; 3 the simulation crashed, meaning an exception in the firmware or the simulated
// devices; 4 liveness (a rider got no answer without a fault to excuse it, or the validator did not
// come back). A failure prints the seed, the event index and the command that replays it.
// bin/shuaka.js runs the swarm in a second node process and adds 9 (node refused the options
// of SHUAKA_SWARM_NODE_OPTIONS) and 128 + N (ended by signal N); the help lists them all.

import { parseArgs } from 'node:util';
import { cliFlagsChecked } from '../../../firmware/src/cli/cli_args.js';
import { describeMix } from './swarm_mix.js';
import {
  parseNameList,
  SWARM_CHECKS,
  SWARM_CHECKS_DEFAULT,
  SWARM_EXIT_CRASH,
  SWARM_EXIT_LIVENESS,
  SWARM_EXIT_OK,
  SWARM_EXIT_USAGE,
  SWARM_EXIT_VIOLATION,
  SWARM_FAULTS,
  SWARM_FAULTS_DEFAULT,
  SWARM_QUIET_TAPS,
  type SwarmOptions,
} from './swarm_options.js';
import { runSwarm, type SwarmResult } from './swarm_run.js';

export interface SwarmIo {
  out(text: string): void;
  err(text: string): void;
}

export const SWARM_USAGE = `Usage: shuaka swarm [--seed N] [--seeds K] [--taps M] [--faults LIST]
                    [--check LIST] [--quiet]
  Runs the whole validator (kernel, firmware, journal, PN532 emulator, cards) in simulated
  time under a fault mix drawn from each seed, and checks every invariant after every event.
  --seed N      first seed (default 1); a failure prints it, --seed replays it exactly
  --seeds K     run K seeds: N, N+1, ... (default 1); stops at the first failing seed
  --taps M      rider fares per seed (default 200; 1..1000000), each a tap and the re-taps
                its answer asks for (the taps printed count those too); the last
                ${SWARM_QUIET_TAPS} are fault-free (liveness: the validator must recover)
  --faults LIST faults a seed may draw, comma-separated, or all / none (default all):
                ${SWARM_FAULTS.join(', ')}
  --check LIST  invariants to check, comma-separated, or all / none (default all):
                ${SWARM_CHECKS.join(', ')}
  --quiet       one line per seed
  Exit codes: 0 all held, 1 invariant violated, 2 usage, 3 crash, 4 liveness; the swarm runs
  in a second node process: 9 node refused SHUAKA_SWARM_NODE_OPTIONS, 128+N ended by signal
  N, 1 also when that process cannot start (said on stderr).`;

interface SwarmCommand {
  readonly base: SwarmOptions;
  readonly seeds: number;
  readonly quiet: boolean;
}

function intFlag(
  text: string | undefined,
  fallback: number,
  range: readonly [number, number],
  name: string,
): number {
  if (text === undefined) return fallback;
  const [min, max] = range;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new RangeError(`--${name} must be an integer in ${min}..${max}, got '${text}'`);
  }
  return Number(text);
}

const SWARM_FLAGS = {
  seed: { type: 'string' },
  seeds: { type: 'string' },
  taps: { type: 'string' },
  faults: { type: 'string' },
  check: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseCommand(argv: string[]): SwarmCommand | 'help' | string {
  try {
    const { values: v } = parseArgs({
      args: cliFlagsChecked(argv, SWARM_FLAGS),
      strict: true,
      allowPositionals: false,
      options: SWARM_FLAGS,
    });
    if (v.help === true) return 'help';
    const taps = intFlag(v.taps, 200, [1, 1_000_000], 'taps');
    const seeds = intFlag(v.seeds, 1, [1, 1_000_000], 'seeds');
    const faults =
      v.faults === undefined
        ? SWARM_FAULTS_DEFAULT
        : parseNameList(v.faults, SWARM_FAULTS, 'faults');
    const checks =
      v.check === undefined ? SWARM_CHECKS_DEFAULT : parseNameList(v.check, SWARM_CHECKS, 'check');
    const base: SwarmOptions = {
      seed: intFlag(v.seed, 1, [0, 0xffff_ffff], 'seed'),
      taps,
      faults,
      checks,
      quietTaps: Math.min(SWARM_QUIET_TAPS, taps),
    };
    return { base, seeds, quiet: v.quiet === true };
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The command line that replays `options` exactly. */
export function swarmReplayCommand(options: SwarmOptions): string {
  const list = (names: readonly string[], all: readonly string[]): string =>
    names.length === all.length ? 'all' : names.length === 0 ? 'none' : names.join(',');
  return (
    `shuaka swarm --seed ${options.seed} --taps ${options.taps} ` +
    `--faults ${list(options.faults, SWARM_FAULTS)} --check ${list(options.checks, SWARM_CHECKS)}`
  );
}

/** Exit code of one seed's result. */
export function swarmExitCode(result: SwarmResult): number {
  if (result.crash !== null) return SWARM_EXIT_CRASH;
  if (result.violations.some((v) => v.check !== 'liveness')) return SWARM_EXIT_VIOLATION;
  if (result.violations.length > 0) return SWARM_EXIT_LIVENESS;
  return SWARM_EXIT_OK;
}

function perSecond(taps: number, ms: number): string {
  return Math.round(taps / Math.max(ms / 1000, 1e-9)).toLocaleString('en-US');
}

/** Taps per second of wall time, and per second of this process's CPU time (one core). */
function rate(taps: number, wallMs: number, cpuMs: number): string {
  return `${perSecond(taps, wallMs)} taps/s wall, ${perSecond(taps, cpuMs)} taps/s CPU`;
}

/** The seed's summary line. */
export function swarmSummary(result: SwarmResult): string {
  const s = result.stats;
  const n = (count: number, one: string, many = `${one}s`): string =>
    `${count} ${count === 1 ? one : many}`;
  return (
    `seed ${result.options.seed}: ${n(s.taps, 'tap')} (${s.approved} approved, ` +
    `${s.taps - s.answered} unanswered), ${n(s.cuts, 'power cut')}, ` +
    `${n(s.reboots, 'reboot')}, ${n(s.unplugs, 'unplug')}, ` +
    `${n(s.paramsPushes, 'parameter push', 'parameter pushes')} (${s.paramsCuts} cut), ` +
    `${n(s.clockJumps, 'clock jump')}, ${n(s.diskFulls, 'disk fill')}, ` +
    `${n(s.psamFaults, 'PSAM fault')}, ${n(s.topUps, 'top-up')}, ` +
    `${s.tunionApproved} T-Union approved (${s.tunionRecovered} recovered), ` +
    `${n(result.uploads.lines, 'record')} uploaded in ` +
    `${n(result.uploads.batches, 'batch', 'batches')}; ` +
    `${(s.simulatedMs / 3_600_000).toFixed(2)} h simulated in ` +
    `${(result.wallMs / 1000).toFixed(1)} s (${rate(s.taps, result.wallMs, result.cpuMs)})`
  );
}

function reportFailure(result: SwarmResult, io: SwarmIo): void {
  const seed = result.options.seed;
  if (result.crash !== null) {
    io.err(`CRASH at event ${result.crash.event} (seed ${seed}): ${result.crash.message}`);
  }
  for (const v of result.violations.slice(0, 5)) {
    io.err(`VIOLATION [${v.check}] at event ${v.event} (seed ${seed}): ${v.message}`);
  }
  io.err(`shuaka swarm: seed ${seed} failed; replay: ${swarmReplayCommand(result.options)}`);
}

/** `shuaka swarm`. */
export async function runSwarmCommand(argv: string[], io: SwarmIo): Promise<number> {
  const parsed = parseCommand(argv);
  if (parsed === 'help') {
    io.out(SWARM_USAGE);
    return SWARM_EXIT_OK;
  }
  if (typeof parsed === 'string') {
    io.err(`shuaka swarm: ${parsed}\n${SWARM_USAGE}`);
    return SWARM_EXIT_USAGE;
  }
  const { base, seeds, quiet } = parsed;
  let taps = 0;
  let wallMs = 0;
  let cpuMs = 0;
  for (let i = 0; i < seeds; i += 1) {
    const options = { ...base, seed: (base.seed + i) >>> 0 };
    const result = await runSwarm(options);
    taps += result.stats.taps;
    wallMs += result.wallMs;
    cpuMs += result.cpuMs;
    io.out(swarmSummary(result));
    if (!quiet) io.out(`  faults: ${describeMix(result.mix)}`);
    const code = swarmExitCode(result);
    if (code !== SWARM_EXIT_OK) {
      reportFailure(result, io);
      return code;
    }
  }
  // The runtime is part of the figure (Node.js 24 runs the same seeds about x1.15 faster than 20).
  const figures = `${rate(taps, wallMs, cpuMs)}; Node.js ${process.versions.node}`;
  const seedsText = `${seeds} seed${seeds === 1 ? '' : 's'}`;
  io.out(`shuaka swarm: ${seedsText}, ${taps} taps, ${heldText(base.checks.length)} (${figures})`);
  return SWARM_EXIT_OK;
}

/** What the last line says held: every invariant, some of them, or none was checked. */
function heldText(checks: number): string {
  if (checks === 0) return 'no invariant checked (--check none)';
  if (checks === 1) return 'the 1 invariant checked held';
  return checks === SWARM_CHECKS.length ? 'all invariants held'
    : `the ${checks} invariants checked held`;
}
