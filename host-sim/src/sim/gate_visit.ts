// One visit at the simulated gate: present the card, read the screen, walk the party through
// the tripod (1.5-2 s a person), a stranger tailgating now and then; people leave by the exit.

import type { GateTapReport } from '../../../firmware/src/app/gate/gate_app.js';
import { withFaults } from '../cards/card_faults.js';
import type { Prng } from '../prng.js';
import type { TurnstileControllerSim } from '../turnstile_sim/turnstile_controller_sim.js';
import type { GateVisit } from './gate_visitors.js';
import type { SimBoard } from './sim_board.js';

/** Physical time of one passage through a tripod turnstile (issue 14: about 1.5-2 s). */
export const TRIPOD_PASSAGE_MS_MIN = 1_500;
export const TRIPOD_PASSAGE_MS_MAX = 2_000;
/** The next person steps in this long after the arm stopped (a person's reaction). */
const STEP_IN_MS_MIN = 300;
const STEP_IN_MS_MAX = 700;
/** Nobody waits for an open lane longer than this (a refused or stopped party). */
const LANE_WAIT_MS_MAX = 12_000;
const ANSWER_WAIT_MS = 10_000;
const LOOK_MS = 10;

/** What one visit looked like from outside. */
export interface GateVisitLine {
  readonly visit: GateVisit;
  readonly placedMs: number;
  /** The card's e-cash balance as the card held it when placed (its own state), or null. */
  readonly purseBeforeMinor: number | null;
  /** Card placed to the lane unlocked (tap-to-open), or null when it did not open. */
  readonly openMs: number | null;
  readonly walked: number;
  readonly tailgated: number;
  readonly lastPassMs: number | null;
  readonly screen: string;
  /** The app's report of the tap (null when the loop did not report it in time). */
  readonly report: GateTapReport | null;
}

interface VisitEnv {
  readonly lane: TurnstileControllerSim;
  readonly exit: TurnstileControllerSim;
  readonly prng: Prng;
  readonly reports: GateTapReport[];
}

/** Rides one visit to its end (the party through, or the lane not opening). */
export async function gateVisit(
  board: SimBoard,
  visit: GateVisit,
  env: VisitEnv,
): Promise<GateVisitLine> {
  const clock = board.clock;
  for (let i = 0; i < visit.exitsBefore; i += 1) await walk(board, env.exit, 'exit', env.prng);
  await clock.sleepMs(visit.gapMs);
  const reportsBefore = env.reports.length;
  const card = withFaults(visit.card.card, { faults: [] });
  const purseBeforeMinor = 'balanceMinor' in visit.card.card
    ? visit.card.card.balanceMinor() : null;
  const placedMs = clock.nowMs();
  board.rig.sim.placeCard(card);
  const answered = await until(board, ANSWER_WAIT_MS, () => answerShown(board, env));
  let openMs = env.lane.coils[0] === true ? clock.nowMs() - placedMs : null;
  const screen = screenText(board);
  await clock.sleepMs(env.prng.between(200, 500));
  board.rig.sim.removeCard(card);
  let walked = 0;
  let tailgated = 0;
  let lastPassMs: number | null = null;
  for (let person = 0; answered && person < visit.persons; person += 1) {
    if (!(await until(board, LANE_WAIT_MS_MAX, () => env.lane.coils[0] === true))) break;
    openMs ??= clock.nowMs() - placedMs;
    await clock.sleepMs(env.prng.between(STEP_IN_MS_MIN, STEP_IN_MS_MAX));
    const stranger = visit.tailgater && person === 0;
    const passed = await walk(board, env.lane, 'entry', env.prng, stranger);
    walked += passed ? 1 : 0;
    tailgated += passed && stranger ? 1 : 0;
    lastPassMs = clock.nowMs();
  }
  await until(board, ANSWER_WAIT_MS * 10, () => env.reports.length > reportsBefore);
  const report = env.reports[reportsBefore] ?? null;
  return { visit, placedMs, purseBeforeMinor, openMs, walked, tailgated, lastPassMs, screen,
    report };
}

/** A gate answer is on the screen (any page but idle/processing) or the lane is open. */
function answerShown(board: SimBoard, env: VisitEnv): boolean {
  const page = board.screen.snapshot().pageName;
  return env.lane.coils[0] === true || (page !== 'idle' && page !== 'processing');
}

function screenText(board: SimBoard): string {
  return Object.values(board.screen.snapshot().texts).filter((t) => t !== '').join(' / ');
}

/**
 * One person through `lane`: the beam is blocked for the passage time, then the arm counts.
 * With `stranger`, a second person squeezes in right behind in the same rotation window.
 * False when the lane locked before the person was through (never: the lane waits).
 */
async function walk(
  board: SimBoard,
  lane: TurnstileControllerSim,
  direction: 'entry' | 'exit',
  prng: Prng,
  stranger = false,
): Promise<boolean> {
  lane.blocked = true;
  await board.clock.sleepMs(prng.between(TRIPOD_PASSAGE_MS_MIN, TRIPOD_PASSAGE_MS_MAX));
  const passed = lane.walk(direction, false) === 'passed';
  if (stranger) {
    await board.clock.sleepMs(prng.between(300, 600));
    lane.walk(direction, true);
  }
  lane.blocked = false;
  return passed;
}

/** Waits on simulated time until `ready` or `timeoutMs`; true when ready. */
async function until(board: SimBoard, timeoutMs: number, ready: () => boolean): Promise<boolean> {
  for (let waited = 0; waited < timeoutMs; waited += LOOK_MS) {
    if (ready()) return true;
    await board.clock.sleepMs(LOOK_MS);
  }
  return ready();
}
