// Per-tap latency budget: seeded taps on the instrumented board, per scenario and per phase.
//
// Back of the envelope (bench/README.md has the long form): an EC tap with fDDA moves about
// 1.35 KB over the PN532 UART (14.7 ms at 921600 baud, 117 ms at 115200), about 108 ms of air
// time at 106 kbit/s, and about 170 ms of card time with a 1024-bit key (45 ms of it the RSA
// signature). The terminal's own work is microseconds; the card and the air dominate.

import type { QpbocMode } from '../assembly/host/qpboc_session.js';
import type { Iso14443BitRateKbps } from '../host-sim/src/pn532_sim/pn532_sim_rf_timing.js';
import { Prng } from '../host-sim/src/prng.js';
import { createE2eBoard } from './e2e_board.js';
import { benchCard, benchCardKeyBits, type BenchCardKind } from './e2e_cards.js';
import { JournalReplay, OWN_PARTS, ownTimeOf, ownTotalNs, type OwnTimeNs } from './e2e_own_time.js';
import { runRiders, TAP_PHASES, type RiderPlan, type TapSample } from './e2e_taps.js';
import { countBy, statsOf } from './report/report_stats.js';
import type { OwnPartName, PhaseName, ScenarioResult, Stats } from './report/report_types.js';

/** One configuration to measure. */
export interface LatencyScenario {
  readonly id: string;
  readonly label: string;
  readonly baudRate: number;
  readonly rfBitRateKbps: Iso14443BitRateKbps;
  readonly mode: QpbocMode;
  readonly card: BenchCardKind;
}

const BASE: LatencyScenario = {
  id: 'base',
  label: 'EC, plastic 1024-bit, 921600 baud, 106 kbit/s',
  baudRate: 921600,
  rfBitRateKbps: 106,
  mode: 'ec',
  card: 'plastic-1024',
};

/**
 * The comparisons the issue asks for, each changing one thing against `base`. Phones carry no
 * EC purse (an EC-mode validator declines them after SELECT and GPO), so the phone is compared
 * in ODA mode, next to `oda` with plastic.
 */
export const LATENCY_SCENARIOS: readonly LatencyScenario[] = [
  BASE,
  { ...BASE, id: 'baud-115200', label: 'EC, plastic 1024-bit, 115200 baud', baudRate: 115200 },
  { ...BASE, id: 'oda', label: 'ODA mode, plastic 1024-bit, 921600 baud', mode: 'oda' },
  { ...BASE, id: 'key-1984', label: 'EC, plastic 1984-bit, 921600 baud', card: 'plastic-1984' },
  {
    ...BASE,
    id: 'phone',
    label: 'ODA mode, phone wallet, 921600 baud',
    mode: 'oda',
    card: 'phone',
  },
  // Mode auto, the validator's default: every card a rider carries, each on its own path.
  { ...BASE, id: 'auto-ec', label: 'auto, e-cash plastic 1024-bit (paid offline)', mode: 'auto' },
  {
    ...BASE,
    id: 'auto-phone',
    label: 'auto, phone wallet (qPBOC ODA)',
    mode: 'auto',
    card: 'phone',
  },
  {
    ...BASE,
    id: 'full-sda',
    label: 'auto, stock card, full flow with SDA',
    mode: 'auto',
    card: 'full-flow-sda',
  },
  {
    ...BASE,
    id: 'full-dda',
    label: 'auto, stock card, full flow with DDA',
    mode: 'auto',
    card: 'full-flow-dda',
  },
  {
    ...BASE,
    id: 'full-cda',
    label: 'auto, stock card, full flow with CDA',
    mode: 'auto',
    card: 'full-flow-cda',
  },
  {
    ...BASE,
    id: 'rf-212',
    label: 'EC, plastic 1024-bit, 921600 baud, 212 kbit/s',
    rfBitRateKbps: 212,
  },
  {
    ...BASE,
    id: 'rf-424',
    label: 'EC, plastic 1024-bit, 921600 baud, 424 kbit/s',
    rfBitRateKbps: 424,
  },
  {
    ...BASE,
    id: 'rf-848',
    label: 'EC, plastic 1024-bit, 921600 baud, 848 kbit/s',
    rfBitRateKbps: 848,
  },
];

/**
 * Riders who come one at a time: 1.2-3 s apart (so the poll cycle meets each card at a random
 * phase), holding the card 150-700 ms after the beep. `first` is the first arrival time.
 */
export function spacedRiders(
  prng: Prng,
  kinds: (i: number) => BenchCardKind,
  count: number,
  firstMs: number,
): RiderPlan[] {
  const plans: RiderPlan[] = [];
  let atMs = firstMs;
  for (let i = 0; i < count; i += 1) {
    atMs += prng.between(1200, 3000) + prng.below(1000) / 1000;
    const card = benchCard(kinds(i), prng.fork(`card-${i}`));
    plans.push({ card, arrivalMs: atMs, stepUpMs: 0, holdMs: prng.between(150, 700) });
  }
  return plans;
}

/** Stats of our own time per part, µs. */
export function ownStatsUs(owns: readonly OwnTimeNs[]): Record<OwnPartName, Stats> {
  const entries = OWN_PARTS.map((p) => [p, statsOf(owns.map((o) => o[p] / 1000))] as const);
  return Object.fromEntries(entries) as Record<OwnPartName, Stats>;
}

/** Measures own time of every sample in order (journal entries must replay in order). */
export async function ownTimes(samples: readonly TapSample[], seed: number): Promise<OwnTimeNs[]> {
  const journals = await JournalReplay.open(seed);
  try {
    const owns: OwnTimeNs[] = [];
    for (const s of samples) owns.push(await ownTimeOf(s, journals));
    return owns;
  } finally {
    await journals.close();
  }
}

/** Runs `taps` seeded taps of `scenario` and summarises them. */
export async function runLatencyScenario(
  scenario: LatencyScenario,
  taps: number,
  seed: number,
): Promise<ScenarioResult> {
  const board = await createE2eBoard({
    seed,
    baudRate: scenario.baudRate,
    rfBitRateKbps: scenario.rfBitRateKbps,
    mode: scenario.mode,
    kernel: null,
  });
  const prng = new Prng(seed).fork(`riders:${scenario.id}`);
  // Two warm-up taps first: the JIT compiles the kernel and our code, as on a board in service.
  const plans = spacedRiders(prng, () => scenario.card, taps + 2, board.clock.nowMs());
  let samples: TapSample[];
  try {
    samples = await runRiders(board, plans);
  } finally {
    board.dispose();
  }
  // The journal replay needs every entry in order, warm-up taps included.
  const owns = await ownTimes(samples, seed);
  return summarise(scenario, samples.slice(2), owns.slice(2));
}

function summarise(
  scenario: LatencyScenario,
  samples: readonly TapSample[],
  owns: readonly OwnTimeNs[],
): ScenarioResult {
  const latency = samples.map((s) => s.latencyMs);
  const phasesMs = Object.fromEntries(
    TAP_PHASES.map((p) => [p, statsOf(samples.map((s) => s.phases[p]))] as const),
  ) as Record<PhaseName, Stats>;
  const ownTotal = owns.map((o) => ownTotalNs(o) / 1000);
  const endToEnd = samples.map((s, i) => s.latencyMs + (ownTotal[i] ?? 0) / 1000);
  const ownTotalUs = statsOf(ownTotal);
  const endToEndMs = statsOf(endToEnd);
  return {
    id: scenario.id,
    label: scenario.label,
    config: {
      baudRate: scenario.baudRate,
      rfBitRateKbps: scenario.rfBitRateKbps,
      mode: scenario.mode,
      card: scenario.card,
      iccKeyBits: benchCardKeyBits(scenario.card),
    },
    taps: samples.length,
    results: countBy(samples.map((s) => s.result)),
    latencyMs: statsOf(latency),
    transactionMs: statsOf(samples.map((s) => s.latencyMs - s.phases.detect)),
    phasesMs,
    ownUs: ownStatsUs(owns),
    ownTotalUs,
    endToEndMs,
    ownSharePct: (ownTotalUs.median / 1000 / endToEndMs.median) * 100,
    apdusMedian: statsOf(samples.map((s) => s.apdus)).median,
    uartBytesMedian: statsOf(samples.map((s) => s.uartBytes)).median,
    latencySamplesMs: latency.map((ms) => Math.round(ms * 1000) / 1000),
  };
}
