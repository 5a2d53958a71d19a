// The end-of-run summary of `shuaka sim`: results, money, and latency percentiles per outcome.

import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import type { TapLine } from './bus_run.js';

/**
 * The nearest-rank percentile of ascending `sorted` (the smallest value with at least p% of
 * the values at or below it), or null when there are no values. `p` in (0, 100].
 */
export function percentileNearestRank(sorted: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p}`);
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

/** "p50 … ms, p95 … ms, p99 … ms, max … ms (n taps)", or "no taps" for an empty list. */
export function latencyText(latenciesMs: readonly number[]): string {
  if (latenciesMs.length === 0) return 'no taps';
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const at = (p: number): string => `${(percentileNearestRank(sorted, p) ?? 0).toFixed(0)} ms`;
  const count = `${sorted.length} tap${sorted.length === 1 ? '' : 's'}`;
  return `p50 ${at(50)}, p95 ${at(95)}, p99 ${at(99)}, max ${at(100)} (${count})`;
}

/** Taps by what the rider was told, for the money and latency lines. */
type Group = 'paid' | 'admitted' | 'refused' | 'other';

function groupOf(result: TapReport['result'] | undefined): Group {
  switch (result) {
    case 'approved':
      return 'paid';
    case 'admitted':
      return 'admitted';
    case 'declined':
    case 'denyList':
    case 'notAccepted':
      return 'refused';
    case 'alreadyPaid':
    case 'tryAgain':
    case 'multipleCards':
    case 'outOfService':
    case undefined:
      return 'other';
    default: {
      const never: never = result;
      throw new Error(`unhandled result ${String(never)}`);
    }
  }
}

function yuan(minor: number): string {
  return `¥${(minor / 100).toFixed(2)}`;
}

/** The summary lines of a run's taps (what `shuaka sim` prints after the taps). */
export function busSummaryLines(
  taps: readonly TapLine[],
  header: { seed: number; mode: string; baudRate: number },
): string[] {
  const counts = new Map<string, number>();
  const latencies: Record<Group, number[]> = { paid: [], admitted: [], refused: [], other: [] };
  const amounts: Record<Group, number> = { paid: 0, admitted: 0, refused: 0, other: 0 };
  for (const tap of taps) {
    const result = tap.report?.result ?? 'no-answer';
    counts.set(result, (counts.get(result) ?? 0) + 1);
    const group = groupOf(tap.report?.result);
    if (tap.latencyMs !== null) latencies[group].push(tap.latencyMs);
    amounts[group] += tap.report?.amountMinor ?? 0;
  }
  return [
    `summary: ${taps.length} taps, seed ${header.seed}, ` +
      `${header.mode} mode, ${header.baudRate} baud`,
    `  results: ${[...counts].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    `  paid offline (e-cash, money moved at the tap): ${latencies.paid.length} taps, ` +
      `${yuan(amounts.paid)}`,
    `  to be authorised (admitted, nothing debited yet): ${latencies.admitted.length} taps, ` +
      `${yuan(amounts.admitted)}`,
    '  latency, card in the field to the answer on screen:',
    `    paid offline      ${latencyText(latencies.paid)}`,
    `    admitted          ${latencyText(latencies.admitted)}`,
    `    refused           ${latencyText(latencies.refused)}`,
  ];
}
