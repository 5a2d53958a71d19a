// Order statistics for benchmark samples: median, nearest-rank p99, max.

import type { Stats } from './report_types.js';

/**
 * The nearest-rank `p`-th percentile (0 < p <= 100) of `sorted` (ascending): the smallest
 * sample with at least p % of the samples at or below it. NaN for no samples.
 */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

/** Stats of `samples`; the median of an even count is the mean of the two middle samples. */
export function statsOf(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) {
    return { n, min: NaN, median: NaN, p99: NaN, max: NaN, mean: NaN };
  }
  const mid = Math.floor(n / 2);
  const median =
    n % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
  return {
    n,
    min: sorted[0] ?? NaN,
    median,
    p99: percentileSorted(sorted, 99),
    max: sorted[n - 1] ?? NaN,
    mean: sorted.reduce((s, x) => s + x, 0) / n,
  };
}

/** Counts of each value ("approved": 58, "declined": 2). */
export function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
