// Shared tinybench plumbing: run tasks, print ns/op and ratios against a named baseline.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Bench } from 'tinybench';

/** The installed command (dist/bench/ is two levels under the package root). */
export const SHUAKA_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin',
  'shuaka.js');

/** A measured task: its name and median time per operation in nanoseconds. */
export interface BenchFigure {
  readonly name: string;
  readonly nsPerOp: number;
  readonly samples: number;
}

/**
 * Runs `tasks` in one tinybench instance (one run, so ratios are fair) and returns medians.
 * Each sample runs a task `batch` times, so the timer's own cost (tens of ns) is divided out
 * of sub-microsecond operations.
 */
export async function measure(
  tasks: ReadonlyArray<readonly [string, () => unknown]>,
  options: { timeMs?: number; batch?: number } = {},
): Promise<BenchFigure[]> {
  const batch = options.batch ?? 1;
  const bench = new Bench({ time: options.timeMs ?? 400, warmupTime: 100 });
  for (const [name, fn] of tasks) {
    bench.add(name, () => {
      for (let i = 0; i < batch; i += 1) fn();
    });
  }
  await bench.run();
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result === undefined || !('latency' in result)) {
      throw new Error(`benchmark ${task.name} did not complete`);
    }
    return {
      name: task.name,
      nsPerOp: (result.latency.p50 * 1e6) / batch,
      samples: result.latency.samplesCount,
    };
  });
}

/** One printed table, kept so that `shuaka bench` can put it in its JSON and HTML reports. */
export interface FigureTable {
  readonly title: string;
  readonly baseline: string;
  readonly figures: readonly BenchFigure[];
}

const printed: FigureTable[] = [];

/** Every table printFigures printed in this process, in order. */
export function printedFigureTables(): readonly FigureTable[] {
  return printed;
}

/** Prints one table: each figure with its ratio to `baseline` (x > 1: slower than baseline). */
export function printFigures(
  title: string,
  figures: readonly BenchFigure[],
  baseline: string,
): void {
  printed.push({ title, baseline, figures: [...figures] });
  const base = figures.find((f) => f.name === baseline);
  console.log(`\n${title}`);
  for (const f of figures) {
    const ratio =
      base === undefined ? '' : `  ${(f.nsPerOp / base.nsPerOp).toFixed(2)}x ${baseline}`;
    console.log(`  ${f.name.padEnd(48)} ${formatNs(f.nsPerOp).padStart(12)}${ratio}`);
  }
}

/** "123 ns", "4.56 µs" or "7.89 ms". */
export function formatNs(ns: number): string {
  if (ns < 1_000) return `${ns.toFixed(0)} ns`;
  if (ns < 1_000_000) return `${(ns / 1_000).toFixed(2)} µs`;
  return `${(ns / 1_000_000).toFixed(2)} ms`;
}
