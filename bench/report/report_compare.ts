// `--compare OLD.json`: reads a saved result and prints the change of every shared figure.

import { readFileSync } from 'node:fs';
import { BENCH_RESULT_SCHEMA, type BenchResult } from './report_types.js';

/** One figure present in both results. */
export interface FigureChange {
  readonly name: string;
  readonly unit: string;
  readonly before: number;
  readonly after: number;
  /** (after - before) / before in percent; NaN when before is 0. */
  readonly changePct: number;
}

/**
 * Reads a result written by `--json`. Throws an Error naming the file when it is not JSON or
 * not a result of this layout (schema tag).
 */
export function readBenchResult(path: string): BenchResult {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const schema = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'schema') : undefined;
  if (schema !== BENCH_RESULT_SCHEMA) {
    throw new Error(`${path}: not a ${BENCH_RESULT_SCHEMA} result (schema ${String(schema)})`);
  }
  return doc as BenchResult;
}

/** Named figures of a result: every one that --compare looks at. */
export function figuresOf(result: BenchResult): Map<string, { value: number; unit: string }> {
  const out = new Map<string, { value: number; unit: string }>();
  const put = (name: string, value: number, unit: string): void => {
    if (Number.isFinite(value)) out.set(name, { value, unit });
  };
  for (const s of result.scenarios) {
    put(`${s.id} latency median`, s.latencyMs.median, 'ms');
    put(`${s.id} latency p99`, s.latencyMs.p99, 'ms');
    put(`${s.id} activation->answer median`, s.transactionMs.median, 'ms');
    put(`${s.id} own time median`, s.ownTotalUs.median, 'µs');
    put(`${s.id} kernel median`, s.ownUs.kernel.median, 'µs');
  }
  const b = result.burst;
  if (b !== null) {
    put('burst taps per minute', b.tapsPerMinute, '/min');
    put('burst ceiling taps per minute', b.saturatedTapsPerMinute, '/min');
    put('burst queueing median', b.queueMs.median, 'ms');
    put('cold first tap kernel', b.cold.firstKernelUs, 'µs');
  }
  const f = result.footprint;
  if (f !== null) {
    put('kernel.wasm', f.wasmBytes, 'B');
    put('kernel memory touched high-water', f.touchedHighWaterBytes, 'B');
  }
  for (const t of result.micro) {
    for (const fig of t.figures) put(`${t.title} | ${fig.name}`, fig.nsPerOp, 'ns');
  }
  return out;
}

/** Changes of every figure the two results share, in `after`'s order. */
export function compareResults(before: BenchResult, after: BenchResult): FigureChange[] {
  const old = figuresOf(before);
  const changes: FigureChange[] = [];
  for (const [name, now] of figuresOf(after)) {
    const was = old.get(name);
    if (was === undefined) continue;
    const changePct = was.value === 0 ? NaN : ((now.value - was.value) / was.value) * 100;
    changes.push({ name, unit: now.unit, before: was.value, after: now.value, changePct });
  }
  return changes;
}

function short(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** The comparison as printable lines; `sinceLabel` names the old result. */
export function compareLines(changes: readonly FigureChange[], sinceLabel: string): string[] {
  const lines = ['', `Change against ${sinceLabel} (+ = larger; for times larger is slower)`];
  if (changes.length === 0) lines.push('  no figure in common');
  for (const c of changes) {
    const pct = Number.isFinite(c.changePct)
      ? `${c.changePct >= 0 ? '+' : ''}${c.changePct.toFixed(1)} %`
      : 'n/a';
    const name = c.name.length > 70 ? `${c.name.slice(0, 67)}...` : c.name;
    lines.push(
      `  ${name.padEnd(70)} ${short(c.before).padStart(9)} -> ${short(c.after).padStart(9)} ` +
        `${c.unit.padEnd(4)} ${pct.padStart(9)}`,
    );
  }
  return lines;
}
