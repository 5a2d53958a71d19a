// Drives riders' taps on an instrumented board and splits each tap's simulated time by phase.
//
// The simulated activities of one tap are sequential (one reader, an app that awaits every
// port call), so a tap's time from card-in-field to answer-on-screen partitions exactly:
//   detect   card placed -> RF activation starts (poll cadence, the poll command's UART)
//   uart     PN532 host-link wire time after activation (frames, ACKs, both directions)
//   rf       ISO 14443 air time (activation, I-blocks, chaining, R(ACK)s, frame delays)
//   card     the card's modelled processing time (RSA signing by key size included)
//   display  DWIN display frames on their own 115200-baud line
//   other    the rest: PN532 firmware time per command, host waits between frames
// Our own CPU costs nothing in simulated time: e2e_own_time.ts measures it for real.

import type { DisplayScreen } from '../hal/src/ports/display_port.js';
import type { JournalEntry } from '../firmware/src/app/journal/journal_records.js';
import type { TapReport } from '../firmware/src/app/validator/validator_ports.js';
import { PN532_CMD_40_IN_DATA_EXCHANGE } from '../hal/src/pn532/pn532_commands.js';
import type { VirtualCard } from '../host-sim/src/cards/card_model.js';
import { runOnClock } from '../host-sim/src/pn532_sim/pn532_sim_rig.js';
import type { SerialLinkSimRecord } from '../host-sim/src/serial_link_sim.js';
import { E2E_DISPLAY_BAUD, type E2eBoard } from './e2e_board.js';

/** Simulated milliseconds of one tap, by phase; they add up to `latencyMs`. */
export interface TapPhasesMs {
  readonly detect: number;
  readonly uart: number;
  readonly rf: number;
  readonly card: number;
  readonly display: number;
  readonly other: number;
}

export const TAP_PHASES: readonly (keyof TapPhasesMs)[] = [
  'detect',
  'uart',
  'rf',
  'card',
  'display',
  'other',
];

/** One rider: when they reach the validator, how fast they present, how long they hold. */
export interface RiderPlan {
  readonly card: VirtualCard;
  /** Simulated time the rider reaches the validator (absolute). */
  readonly arrivalMs: number;
  /** Time from the previous card leaving the field to this one entering it. */
  readonly stepUpMs: number;
  /** Time the card stays in the field after the answer. */
  readonly holdMs: number;
}

/** What one tap looked like, in simulated time plus the raw material for the own-time replay. */
export interface TapSample {
  readonly index: number;
  readonly result: TapReport['result'] | 'no-answer';
  readonly arrivalMs: number;
  readonly placedMs: number;
  /** Waiting behind earlier riders: placement minus arrival. */
  readonly queueMs: number;
  readonly latencyMs: number;
  readonly removedMs: number;
  readonly phases: TapPhasesMs;
  readonly apdus: number;
  /** PN532 host-link bytes after activation, both directions. */
  readonly uartBytes: number;
  /** Real ns of kernel steps during the tap (hrtime). */
  readonly kernelNs: number;
  /** Real ns of the indicator's signal call (sysfs writes). */
  readonly indicatorNs: number;
  readonly pn532Records: readonly SerialLinkSimRecord[];
  readonly screens: readonly DisplayScreen[];
  /** Entries from placement to removal: the ones before the answer come first. */
  readonly journalEntries: readonly JournalEntry[];
  readonly journalEntriesBeforeAnswer: number;
}

/** Longest a tap may take before the rider gives up (the sample then says 'no-answer'). */
export const TAP_ANSWER_WAIT_MS = 10_000;

/** One simulated activity: [fromMs, toMs) spent in `phase`. */
interface Busy {
  readonly phase: 'uart' | 'rf' | 'card' | 'display';
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * Where two activities overlap (the PN532 sends its ACK while the RF exchange already runs), the
 * instant counts once, for the one that holds the tap up: card, then RF, then UART, then the
 * display. Time covered by none of them is `other`.
 */
const PHASE_PRIORITY: readonly Busy['phase'][] = ['card', 'rf', 'uart', 'display'];

function partitionMs(busy: readonly Busy[], fromMs: number, toMs: number): TapPhasesMs {
  const sums = { uart: 0, rf: 0, card: 0, display: 0, other: 0 };
  const cuts = new Set<number>([fromMs, toMs]);
  for (const b of busy) {
    if (b.fromMs > fromMs && b.fromMs < toMs) cuts.add(b.fromMs);
    if (b.toMs > fromMs && b.toMs < toMs) cuts.add(b.toMs);
  }
  const points = [...cuts].sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i += 1) {
    const a = points[i] ?? 0;
    const b = points[i + 1] ?? 0;
    const mid = (a + b) / 2;
    const active = busy.filter((x) => x.fromMs <= mid && mid < x.toMs).map((x) => x.phase);
    const phase = PHASE_PRIORITY.find((p) => active.includes(p)) ?? 'other';
    sums[phase] += b - a;
  }
  return { detect: 0, ...sums };
}

function wireBusy(
  records: readonly SerialLinkSimRecord[],
  baud: number,
  phase: 'uart' | 'display',
): Busy[] {
  // A direction's writes queue up on the wire, so a record starts when the one before ends.
  const busy: Busy[] = [];
  const endByDirection = new Map<string, number>();
  for (const r of records) {
    const fromMs = Math.max(r.atMs, endByDirection.get(r.direction) ?? r.atMs);
    const toMs = fromMs + (r.bytes.length * 10_000) / baud;
    endByDirection.set(r.direction, toMs);
    busy.push({ phase, fromMs, toMs });
  }
  return busy;
}

/** Splits the window [placedMs, answeredMs) of the board's records into phases. */
function tapPhases(
  board: E2eBoard,
  from: { pn532: number; display: number },
  placedMs: number,
  answeredMs: number,
): { phases: TapPhasesMs; apdus: number; uartBytes: number; pn532: SerialLinkSimRecord[] } {
  const timings = board.rig.sim
    .exchangeTimings()
    .filter((t) => t.atMs >= placedMs && t.atMs < answeredMs);
  const activation = timings.find((t) => t.command !== PN532_CMD_40_IN_DATA_EXCHANGE);
  const activeMs = activation?.atMs ?? answeredMs;
  const inWindow = (r: SerialLinkSimRecord): boolean => r.atMs >= activeMs && r.atMs < answeredMs;
  const pn532 = board.rig.line.transcript().slice(from.pn532).filter(inWindow);
  const display = board.displayLine.transcript().slice(from.display).filter(inWindow);
  const busy: Busy[] = [
    ...wireBusy(pn532, board.options.baudRate, 'uart'),
    ...wireBusy(display, E2E_DISPLAY_BAUD, 'display'),
  ];
  for (const t of timings) {
    busy.push({ phase: 'rf', fromMs: t.atMs, toMs: t.atMs + t.rfMs });
    busy.push({ phase: 'card', fromMs: t.atMs + t.rfMs, toMs: t.atMs + t.rfMs + t.cardMs });
  }
  const phases = { ...partitionMs(busy, activeMs, answeredMs), detect: activeMs - placedMs };
  return {
    phases,
    apdus: timings.filter((t) => t.command === PN532_CMD_40_IN_DATA_EXCHANGE).length,
    uartBytes: pn532.reduce((n, r) => n + r.bytes.length, 0),
    pn532,
  };
}

/**
 * Runs the riders of `plans` in order on `board` (the validator loop turning meanwhile) and
 * returns one sample per tap. A rider presents at max(arrival, previous removal + step-up),
 * waits for the answer (at most TAP_ANSWER_WAIT_MS), holds, and takes the card away.
 */
export async function runRiders(
  board: E2eBoard,
  plans: readonly RiderPlan[],
): Promise<TapSample[]> {
  const samples: TapSample[] = [];
  let waiting: ((report: TapReport) => void) | null = null;
  let stop = false;
  const loop = (async (): Promise<void> => {
    while (!stop) {
      await board.validator.turn((event) => {
        if (event.kind === 'CardProcessed') waiting?.(event.report);
      });
    }
  })();
  const riders = (async (): Promise<void> => {
    let freeAtMs = board.clock.nowMs();
    // Entries written between two taps (none today) go with the tap before them.
    let entryCursor = board.journalEntries.length;
    for (const [index, plan] of plans.entries()) {
      const placeAtMs = Math.max(plan.arrivalMs, freeAtMs + plan.stepUpMs);
      await board.clock.sleepMs(placeAtMs - board.clock.nowMs());
      const answered = new Promise<TapReport>((resolve) => {
        waiting = resolve;
      });
      const sample = await rideOne(board, plan, index, answered, entryCursor);
      entryCursor = board.journalEntries.length;
      waiting = null;
      samples.push(sample);
      freeAtMs = sample.removedMs;
    }
    stop = true;
  })();
  await runOnClock(board.clock, Promise.all([riders, loop]));
  return samples;
}

async function rideOne(
  board: E2eBoard,
  plan: RiderPlan,
  index: number,
  answered: Promise<TapReport>,
  entryCursor: number,
): Promise<TapSample> {
  const { clock, rig } = board;
  const from = {
    pn532: rig.line.transcript().length,
    display: board.displayLine.transcript().length,
    screens: board.screens.length,
    entries: entryCursor,
    kernelNs: board.kernelCpu.ns,
    indicatorNs: board.indicatorCpu.ns,
  };
  const placedMs = clock.nowMs();
  rig.sim.placeCard(plan.card);
  const timeout = clock.sleepMs(TAP_ANSWER_WAIT_MS).then(() => null);
  const report = await Promise.race([answered, timeout]);
  const answeredMs = report === null ? clock.nowMs() : report.endedMs;
  const split = tapPhases(board, from, placedMs, answeredMs);
  const sample = {
    index,
    result: report === null ? ('no-answer' as const) : report.result,
    arrivalMs: plan.arrivalMs,
    placedMs,
    queueMs: placedMs - plan.arrivalMs,
    latencyMs: answeredMs - placedMs,
    phases: split.phases,
    apdus: split.apdus,
    uartBytes: split.uartBytes,
    kernelNs: board.kernelCpu.ns - from.kernelNs,
    indicatorNs: board.indicatorCpu.ns - from.indicatorNs,
    pn532Records: split.pn532,
    screens: board.screens.slice(from.screens),
    journalEntriesBeforeAnswer: board.journalEntries.length - from.entries,
  };
  await clock.sleepMs(plan.holdMs);
  rig.sim.removeCard(plan.card);
  // Idle polls between riders are not part of any tap: forget them so memory stays flat.
  rig.line.resetRecords();
  board.displayLine.resetRecords();
  rig.sim.resetTimings();
  const journalEntries = board.journalEntries.slice(from.entries);
  return { ...sample, journalEntries, removedMs: clock.nowMs() };
}
