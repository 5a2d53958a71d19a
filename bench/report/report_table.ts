// Terminal tables of a benchmark result: latency budget per scenario, burst, footprint.

import type {
  BenchResult,
  BurstResult,
  FootprintResult,
  OwnPartName,
  PhaseName,
  ScenarioResult,
  Stats,
} from './report_types.js';

export const PHASE_LABELS: Readonly<Record<PhaseName, string>> = {
  detect: 'detect (poll cadence)',
  uart: 'PN532 UART',
  rf: 'ISO 14443 air',
  card: 'card processing',
  display: 'display UART',
  other: 'PN532 fw + waits',
};

export const OWN_LABELS: Readonly<Record<OwnPartName, string>> = {
  kernel: 'kernel steps',
  hal: 'PN532 framing',
  display: 'DWIN framing',
  indicator: 'buzzer/LED (tmpfs)',
  journalCpu: 'journal CPU',
  journalDisk: 'journal + fsync',
};

const PHASES: readonly PhaseName[] = ['detect', 'uart', 'rf', 'card', 'display', 'other'];
const OWN: readonly OwnPartName[] = [
  'kernel',
  'hal',
  'display',
  'indicator',
  'journalCpu',
  'journalDisk',
];

/** "12.3" with one decimal, right-aligned to `width`. */
function num(value: number, width: number, digits = 1): string {
  return (Number.isFinite(value) ? value.toFixed(digits) : '-').padStart(width);
}

function statCells(s: Stats, digits = 1): string {
  return `${num(s.median, 9, digits)}${num(s.p99, 9, digits)}${num(s.max, 9, digits)}`;
}

function resultsText(results: Readonly<Record<string, number>>): string {
  return Object.entries(results)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/** One line per scenario: where the time goes (medians) and the targets' figures. */
export function scenarioSummaryLines(scenarios: readonly ScenarioResult[]): string[] {
  const head =
    'scenario     in-field->answer ms   txn   detect  uart    rf   card  disp  other' +
    '   own µs  e2e ms  own %';
  const lines = ['', 'Per-tap latency, simulated ms (medians unless p99/max), own = real µs', head];
  lines.push('             median   p99   max');
  for (const s of scenarios) {
    const p = s.phasesMs;
    lines.push(
      s.id.padEnd(12) +
        num(s.latencyMs.median, 7) +
        num(s.latencyMs.p99, 6) +
        num(s.latencyMs.max, 6) +
        num(s.transactionMs.median, 7) +
        PHASES.map((ph) => num(p[ph].median, 6)).join('') +
        num(s.ownTotalUs.median, 9, 0) +
        num(s.endToEndMs.median, 8) +
        num(s.ownSharePct, 7, 3),
    );
  }
  return lines;
}

/** Median, p99 and max of every phase and own part of one scenario. */
export function scenarioDetailLines(s: ScenarioResult): string[] {
  const lines = [
    '',
    `${s.id}: ${s.label}`,
    `  ${s.taps} taps (${resultsText(s.results)}); ${s.apdusMedian} APDUs, ` +
      `${s.uartBytesMedian} PN532 UART bytes per tap`,
    `  ${'simulated ms'.padEnd(26)}   median      p99      max`,
  ];
  for (const ph of PHASES)
    lines.push(`  ${PHASE_LABELS[ph].padEnd(26)}${statCells(s.phasesMs[ph])}`);
  lines.push(`  ${'in field -> answer'.padEnd(26)}${statCells(s.latencyMs)}`);
  lines.push(`  ${'activation -> answer'.padEnd(26)}${statCells(s.transactionMs)}`);
  lines.push(`  ${'own, real µs'.padEnd(26)}`);
  for (const part of OWN) lines.push(`  ${OWN_LABELS[part].padEnd(26)}${statCells(s.ownUs[part])}`);
  lines.push(`  ${'own total (journal once)'.padEnd(26)}${statCells(s.ownTotalUs)}`);
  lines.push(`  ${'end to end ms (sim + own)'.padEnd(26)}${statCells(s.endToEndMs)}`);
  return lines;
}

export function burstLines(b: BurstResult): string[] {
  const c = b.cold;
  return [
    '',
    `Boarding burst: ${b.riders} riders arriving within ${(b.arrivalSpanMs / 1000).toFixed(0)} s ` +
      `(${resultsText(b.results)})`,
    `  sustained ${b.tapsPerMinute.toFixed(1)} taps/min; ceiling with everyone queued ` +
      `${b.saturatedTapsPerMinute.toFixed(1)} taps/min (answer-to-answer median ` +
      `${b.cycleMs.median.toFixed(0)} ms)`,
    `  ${''.padEnd(26)}   median      p99      max`,
    `  ${'queueing delay ms'.padEnd(26)}${statCells(b.queueMs)}`,
    `  ${'tap latency ms'.padEnd(26)}${statCells(b.latencyMs)}`,
    `  cold path: first tap after ${(c.idleMs / 1000).toFixed(0)} s idle on a fresh board ` +
      `${c.firstLatencyMs.toFixed(1)} ms simulated, kernel ${c.firstKernelUs.toFixed(0)} µs ` +
      `real (warm median ${c.warmKernelUsMedian.toFixed(0)} µs), own ${c.firstOwnUs.toFixed(0)} µs`,
    `  after another idle period (warm board): ${c.afterIdleLatencyMs.toFixed(1)} ms ` +
      `simulated, kernel ${c.afterIdleKernelUs.toFixed(0)} µs`,
  ];
}

export function footprintLines(f: FootprintResult): string[] {
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  return [
    '',
    'Kernel footprint',
    `  kernel.wasm ${kib(f.wasmBytes)} (${kib(f.wasmGzipBytes)} gzip -9)` +
      (f.componentWasmBytes === null ? '' : `; component ${kib(f.componentWasmBytes)}`),
    `  linear memory ${kib(f.linearMemoryBytes)} fixed (grew: ${f.memoryGrew ? 'YES' : 'no'}); ` +
      `touched high-water ${kib(f.touchedHighWaterBytes)}, ${kib(f.touchedBytes)} changed`,
    `  workload: ${f.workload}`,
  ];
}

/** Every table of `result` (micro-benchmarks print themselves while they run). */
export function resultLines(result: BenchResult): string[] {
  const lines: string[] = [];
  if (result.scenarios.length > 0) {
    lines.push(...scenarioSummaryLines(result.scenarios));
    for (const s of result.scenarios) lines.push(...scenarioDetailLines(s));
  }
  if (result.burst !== null) lines.push(...burstLines(result.burst));
  if (result.footprint !== null) lines.push(...footprintLines(result.footprint));
  return lines;
}
