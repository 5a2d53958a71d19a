// `shuaka bench` and `npm run bench`: every suite, then tables, JSON, HTML and --compare.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cliHelpAsked } from '../firmware/src/cli/cli_args.js';
import { printedFigureTables } from './bench_util.js';
import { runCodecBench } from './codec_bench.js';
import { runDenyListBench } from './deny_list_bench.js';
import { runSwarmBench } from './swarm_bench.js';
import { runTunionBench } from './tunion_bench.js';
import { runGateBench } from './gate_bench.js';
import { BURST_DEFAULT, runBurst } from './e2e_burst.js';
import { runFootprint } from './e2e_footprint.js';
import { LATENCY_SCENARIOS, runLatencyScenario } from './e2e_latency.js';
import { runUploadBench } from './upload_bench.js';
import { runJournalBench } from './journal_bench.js';
import { runDepotIngestBench } from './depot_ingest_bench.js';
import { runDepotPrepareBench } from './depot_prepare_bench.js';
import { runOdaBench } from './oda_bench.js';
import { runSmBench } from './sm_bench.js';
import { runPn532Bench } from './pn532_frame_bench.js';
import { runQpbocBench } from './qpboc_bench.js';
import { compareLines, compareResults, readBenchResult } from './report/report_compare.js';
import { renderHtml } from './report/report_html.js';
import { resultLines, scenarioDetailLines, scenarioSummaryLines } from './report/report_table.js';
import {
  BENCH_RESULT_SCHEMA,
  type BenchResult,
  type BurstResult,
  type FootprintResult,
  type ScenarioResult,
} from './report/report_types.js';

/** Where the command writes its text. */
export interface BenchIo {
  out(text: string): void;
  err(text: string): void;
}

/** Parsed command line. */
export interface BenchArgs {
  readonly only: readonly string[] | null;
  readonly scenarios: readonly string[] | null;
  readonly taps: number;
  readonly seed: number;
  readonly jsonPath: string;
  readonly htmlPath: string;
  readonly comparePath: string | null;
}

/** Micro-benchmark suites (they print their own tables) and the end-to-end suites. */
export const BENCH_SUITES = [
  'codec',
  'oda',
  'sm',
  'pn532',
  'qpboc',
  'e2e',
  'burst',
  'footprint',
  'journal',
  'denylist',
  'depot',
  'upload',
  'swarm',
  'tunion',
  'gate',
  'prepare',
] as const;
export type BenchSuite = (typeof BENCH_SUITES)[number];

type MicroSuite =
  | 'codec' | 'oda' | 'sm' | 'pn532' | 'qpboc' | 'journal' | 'denylist' | 'depot' | 'upload'
  | 'swarm' | 'tunion' | 'gate' | 'prepare';
const MICRO: Readonly<Record<MicroSuite, () => Promise<void>>> = {
  codec: runCodecBench,
  oda: runOdaBench,
  sm: runSmBench,
  pn532: runPn532Bench,
  qpboc: runQpbocBench,
  journal: runJournalBench,
  denylist: runDenyListBench,
  depot: () => runDepotIngestBench(),
  upload: runUploadBench,
  swarm: runSwarmBench,
  tunion: runTunionBench,
  gate: runGateBench,
  prepare: runDepotPrepareBench,
};

export const BENCH_TAPS_DEFAULT = 100;
export const BENCH_SEED_DEFAULT = 1;
const DEFAULT_OUT_DIR = join(tmpdir(), 'shuaka-bench');

export const BENCH_USAGE = `usage: shuaka bench [options]   (npm run bench -- [options])
  --only NAME[,NAME]    suites: ${BENCH_SUITES.join(', ')} (default: all)
  --scenario ID[,ID]    latency scenarios of e2e: ${LATENCY_SCENARIOS.map((s) => s.id).join(', ')}
  --taps N              seeded taps per latency scenario (default ${BENCH_TAPS_DEFAULT})
  --seed S              seed of cards, riders and boards (default ${BENCH_SEED_DEFAULT})
  --json FILE           result document (default ${join(DEFAULT_OUT_DIR, 'bench-result.json')})
  --html FILE           HTML/SVG report (default ${join(DEFAULT_OUT_DIR, 'bench-report.html')})
  --compare OLD.json    print the change of every figure against a saved result`;

function listFlag(value: string, known: readonly string[], what: string): string[] {
  const names = value.split(',').filter((n) => n !== '');
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(
      `unknown ${what} ${unknown.join(', ') || '(none)'}; ${what}s: ${known.join(', ')}`,
    );
  }
  return names;
}

function intFlag(value: string, name: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw new Error(`${name} takes an integer >= ${min}, not "${value}"`);
  }
  return Number(value);
}

const BENCH_FLAGS: readonly string[] = [
  '--only', '--scenario', '--taps', '--seed', '--json', '--html', '--compare',
];

/** Parses `argv`; throws an Error with the problem for an unknown flag or a bad value. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let args: BenchArgs = {
    only: null,
    scenarios: null,
    taps: BENCH_TAPS_DEFAULT,
    seed: BENCH_SEED_DEFAULT,
    jsonPath: join(DEFAULT_OUT_DIR, 'bench-result.json'),
    htmlPath: join(DEFAULT_OUT_DIR, 'bench-report.html'),
    comparePath: null,
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] ?? '';
    const value = argv[i + 1];
    // A misspelt flag is named as unknown, not as one missing its value.
    if (!BENCH_FLAGS.includes(flag)) throw new Error(`unknown option ${flag}`);
    if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
    // As every shuaka command: two values for one setting is a mistake to name.
    if (seen.has(flag)) throw new Error(`${flag} given twice: give it once`);
    seen.add(flag);
    switch (flag) {
      case '--only':
        args = { ...args, only: listFlag(value, BENCH_SUITES, 'suite') };
        break;
      case '--scenario': {
        const ids = LATENCY_SCENARIOS.map((s) => s.id);
        args = { ...args, scenarios: listFlag(value, ids, 'scenario') };
        break;
      }
      case '--taps':
        args = { ...args, taps: intFlag(value, flag, 1) };
        break;
      case '--seed':
        args = { ...args, seed: intFlag(value, flag, 0) };
        break;
      case '--json':
        args = { ...args, jsonPath: resolve(value) };
        break;
      case '--html':
        args = { ...args, htmlPath: resolve(value) };
        break;
      case '--compare':
        args = { ...args, comparePath: resolve(value) };
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return args;
}

function wanted(args: BenchArgs, suite: BenchSuite): boolean {
  return args.only === null || args.only.includes(suite);
}

async function runScenarios(args: BenchArgs, io: BenchIo): Promise<ScenarioResult[]> {
  const chosen = LATENCY_SCENARIOS.filter(
    (s) => args.scenarios === null || args.scenarios.includes(s.id),
  );
  io.out(
    `\nEnd-to-end taps on the simulated board: ${chosen.length} scenarios x ${args.taps} taps`,
  );
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    const result = await runLatencyScenario(scenario, args.taps, args.seed);
    io.out(`  ${scenario.id.padEnd(12)} median ${result.latencyMs.median.toFixed(1)} ms`);
    results.push(result);
  }
  return results;
}

function machine(): BenchResult['machine'] {
  const list = cpus();
  return {
    node: process.version,
    arch: process.arch,
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
  };
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/**
 * Runs the command. Returns the exit code: 0 done, 2 bad arguments or an unreadable
 * --compare file (reported before anything runs). Benchmark failures throw.
 */
export async function runBenchCommand(argv: readonly string[], io: BenchIo): Promise<number> {
  if (cliHelpAsked(argv)) {
    io.out(BENCH_USAGE);
    return 0;
  }
  let args: BenchArgs;
  let previous: BenchResult | null = null;
  try {
    args = parseBenchArgs(argv);
    if (args.comparePath !== null) previous = readBenchResult(args.comparePath);
  } catch (err) {
    io.err(`shuaka bench: ${err instanceof Error ? err.message : String(err)}`);
    io.err(BENCH_USAGE);
    return 2;
  }
  io.out(
    `shuaka benchmarks on node ${process.version} (${process.arch}); ` +
      'absolute times drift between runs: compare the ratios',
  );
  const tablesBefore = printedFigureTables().length;
  for (const [name, run] of Object.entries(MICRO)) {
    if (wanted(args, name as BenchSuite)) await run();
  }
  const scenarios = wanted(args, 'e2e') ? await runScenarios(args, io) : [];
  if (scenarios.length > 0) {
    for (const line of scenarioSummaryLines(scenarios)) io.out(line);
    for (const s of scenarios) for (const line of scenarioDetailLines(s)) io.out(line);
  }
  let burst: BurstResult | null = null;
  if (wanted(args, 'burst')) burst = await runBurst({ ...BURST_DEFAULT, seed: args.seed });
  let footprint: FootprintResult | null = null;
  if (wanted(args, 'footprint')) footprint = await runFootprint(args.seed);
  const result: BenchResult = {
    schema: BENCH_RESULT_SCHEMA,
    createdAt: new Date().toISOString(),
    machine: machine(),
    seed: args.seed,
    tapsPerScenario: args.taps,
    suites: BENCH_SUITES.filter((s) => wanted(args, s)),
    scenarios,
    burst,
    footprint,
    micro: printedFigureTables()
      .slice(tablesBefore)
      .map((t) => ({
        title: t.title,
        baseline: t.baseline,
        figures: t.figures.map((f) => ({ name: f.name, nsPerOp: f.nsPerOp })),
      })),
  };
  for (const line of resultLines({ ...result, scenarios: [] })) io.out(line);
  writeFile(args.jsonPath, `${JSON.stringify(result, null, 1)}\n`);
  writeFile(args.htmlPath, renderHtml(result));
  io.out(`\nresult: ${args.jsonPath}\nreport: ${args.htmlPath}`);
  if (previous !== null && args.comparePath !== null) {
    const lines = compareLines(compareResults(previous, result), args.comparePath);
    for (const line of lines) io.out(line);
  }
  return 0;
}
