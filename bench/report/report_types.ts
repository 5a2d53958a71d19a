// The benchmark result document (JSON), shared by the runner, the reports and --compare.

/** Version tag of the JSON layout; --compare refuses documents of another layout. */
export const BENCH_RESULT_SCHEMA = 'shuaka-bench/1';

/** Order statistics of one measured quantity. */
export interface Stats {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  /** Nearest-rank 99th percentile: with fewer than 100 samples it is the maximum. */
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Simulated phases of a tap (e2e_taps.ts explains each one). */
export type PhaseName = 'detect' | 'uart' | 'rf' | 'card' | 'display' | 'other';
/** Parts of our own real time (e2e_own_time.ts explains each one). */
export type OwnPartName = 'kernel' | 'hal' | 'display' | 'indicator' | 'journalCpu' | 'journalDisk';

/** One latency scenario: a configuration and N seeded taps on it. */
export interface ScenarioResult {
  readonly id: string;
  readonly label: string;
  readonly config: {
    readonly baudRate: number;
    readonly rfBitRateKbps: number;
    readonly mode: 'ec' | 'oda' | 'auto' | 'full';
    readonly card: string;
    readonly iccKeyBits: number;
  };
  readonly taps: number;
  /** Outcome counts ("approved": 60). */
  readonly results: Readonly<Record<string, number>>;
  /** Simulated ms from the card entering the field to the answer on screen. */
  readonly latencyMs: Stats;
  /** The same without `detect`: RF activation to answer (what card specs time). */
  readonly transactionMs: Stats;
  readonly phasesMs: Readonly<Record<PhaseName, Stats>>;
  /** Our own real time per tap, µs. */
  readonly ownUs: Readonly<Record<OwnPartName, Stats>>;
  readonly ownTotalUs: Stats;
  /** Simulated latency plus our own real time, ms: the tap a rider would see. */
  readonly endToEndMs: Stats;
  /** Median own time over median end-to-end time, percent. */
  readonly ownSharePct: number;
  readonly apdusMedian: number;
  readonly uartBytesMedian: number;
  /** Every tap's simulated latency, ms (the histogram's data). */
  readonly latencySamplesMs: readonly number[];
}

/** The boarding burst: riders queueing at the validator, and the cold path. */
export interface BurstResult {
  readonly riders: number;
  /** Span over which riders arrive, ms. */
  readonly arrivalSpanMs: number;
  /** Taps answered per minute from the first placement to the last answer. */
  readonly tapsPerMinute: number;
  /** The same with every rider already queued at the start (the validator's ceiling). */
  readonly saturatedTapsPerMinute: number;
  readonly queueMs: Stats;
  readonly latencyMs: Stats;
  /** Answer to next answer while riders queue (saturated run). */
  readonly cycleMs: Stats;
  readonly results: Readonly<Record<string, number>>;
  readonly cold: {
    readonly idleMs: number;
    /** First tap of a freshly started board after `idleMs` of polling. */
    readonly firstLatencyMs: number;
    readonly firstKernelUs: number;
    readonly firstOwnUs: number;
    /** First tap after another idle period, on the now warm board. */
    readonly afterIdleLatencyMs: number;
    readonly afterIdleKernelUs: number;
    readonly warmKernelUsMedian: number;
  };
}

/** The kernel binary and its memory. */
export interface FootprintResult {
  readonly wasmBytes: number;
  readonly wasmGzipBytes: number;
  readonly componentWasmBytes: number | null;
  readonly linearMemoryBytes: number;
  /** Highest byte offset that differs from the fresh instance after the workload, plus 1. */
  readonly touchedHighWaterBytes: number;
  /** Bytes that changed at least once (sum over the diff), after the workload. */
  readonly touchedBytes: number;
  readonly memoryGrew: boolean;
  readonly workload: string;
}

/** One micro-benchmark table (bench_util's printFigures). */
export interface MicroTable {
  readonly title: string;
  readonly baseline: string;
  readonly figures: readonly { readonly name: string; readonly nsPerOp: number }[];
}

/** The whole result document. */
export interface BenchResult {
  readonly schema: typeof BENCH_RESULT_SCHEMA;
  readonly createdAt: string;
  readonly machine: {
    readonly node: string;
    readonly arch: string;
    readonly cpu: string;
    readonly cores: number;
  };
  readonly seed: number;
  readonly tapsPerScenario: number;
  readonly suites: readonly string[];
  readonly scenarios: readonly ScenarioResult[];
  readonly burst: BurstResult | null;
  readonly footprint: FootprintResult | null;
  readonly micro: readonly MicroTable[];
}
