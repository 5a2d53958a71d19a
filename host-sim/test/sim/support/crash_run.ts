// A line of riders with power cuts at chosen write points, a reboot after each, same cards.

import { JOURNAL_FILE_NAME } from '../../../../firmware/src/app/journal/journal.js';
import { journalScanFiles } from '../../../../firmware/src/app/journal/journal_reader.js';
import type { UncertainTap } from '../../../../firmware/src/app/journal/journal_state.js';
import type { SimBoardOptions } from '../../../src/sim/sim_board.js';
import type { StorageSim } from '../../../src/storage_sim.js';
import {
  createSimBoardOn,
  SIM_BOOT_FIRST,
  type SimBoardRebooted,
} from '../../../src/sim/sim_restart.js';
import { runRides, type Ride, type RideLine } from './sim_ride.js';

/** Time from the power cut to the rebooted validator's first poll. */
export const REBOOT_MS = 20_000;

/** One power cut and what the reboot found. */
export interface CrashPoint {
  /** Storage write point (1-based, over the whole run) the cut interrupted. */
  readonly writePoint: number;
  /** The ride that was under way, in the original list. */
  readonly rideIndex: number;
  readonly cardName: string;
  /** Uncertain taps the rebooted journal found (open pendings, uncertain torn records). */
  readonly uncertainAtBoot: readonly UncertainTap[];
  /** Whether the reboot cut a torn tail off the journal. */
  readonly tornTailCut: boolean;
  /** Whether power also failed while the reboot was cutting that tail (then came back). */
  readonly openCut: boolean;
  /** Line of the re-tap of the interrupted card on the rebooted board. */
  reTap: RideLine | null;
}

export interface CrashRun {
  readonly boards: SimBoardRebooted[];
  /** Lines of every finished ride, on whichever board ran it, in order. */
  readonly lines: RideLine[];
  readonly crashes: CrashPoint[];
}

/**
 * Runs `rides` with a power cut `gaps[0]` write points after the start, the next `gaps[1]`
 * write points after the reboot's journal is open, and so on. After each cut the medium
 * restarts (keeping a torn remnant of unsynced bytes), a new board (new kernel, new
 * Journal.open) comes up on it, the rider whose tap was interrupted taps again with no fault,
 * and the remaining riders follow. With `cutOpenEvery` = n > 0, every n-th reboot that finds a
 * torn tail also loses power while Journal.open truncates it, and boots once more. Boards are
 * left to the caller to dispose.
 */
export async function runWithCuts(
  options: SimBoardOptions,
  rides: readonly Ride[],
  gaps: readonly number[],
  cutOpenEvery = 0,
): Promise<CrashRun> {
  const boards: SimBoardRebooted[] = [await createSimBoardOn(SIM_BOOT_FIRST, options)];
  const lines: RideLine[] = [];
  const crashes: CrashPoint[] = [];
  let pending: { ride: Ride; original: number }[] = rides.map((ride, original) => ({
    ride,
    original,
  }));
  let gapIndex = 0;
  for (;;) {
    const board = boards[boards.length - 1];
    if (board === undefined) throw new Error('no board');
    const gap = gaps[gapIndex];
    if (gap !== undefined) board.storage.armPowerCut(gap);
    const result = await runRides(
      board,
      pending.map((p) => p.ride),
    );
    lines.push(...result.lines);
    const crash = crashes[crashes.length - 1];
    if (crash !== undefined && crash.reTap === null) crash.reTap = result.lines[0] ?? null;
    if (result.cutDuring === null) break;
    gapIndex += 1;
    const cut = pending[result.cutDuring];
    if (cut === undefined) throw new Error(`cut during ride ${result.cutDuring}?`);
    const writePoint = board.storage.writePoints();
    board.storage.restart();
    const wallEpochMs = board.clock.wallMs() + REBOOT_MS;
    const cutOpen = cutOpenEvery > 0 && (crashes.length + 1) % cutOpenEvery === 0;
    const openCut = cutOpen && (await failFirstOpen(board.storage, wallEpochMs, options));
    const next = await createSimBoardOn({ storage: board.storage, wallEpochMs }, options);
    boards.push(next);
    crashes.push({
      writePoint,
      rideIndex: cut.original,
      cardName: cut.ride.card.name,
      uncertainAtBoot: next.recovery.uncertain,
      tornTailCut: openCut || next.recovery.tornTail !== null,
      openCut,
      reTap: null,
    });
    const reTap = { ...cut.ride, faults: [], gapMs: 1_000 };
    pending = [{ ride: reTap, original: cut.original }, ...pending.slice(result.cutDuring + 1)];
  }
  return { boards, lines, crashes };
}

/**
 * When the medium holds a torn tail, boots with a power cut at the first write (Journal.open's
 * truncate of that tail), which must fail the boot, then restarts the medium. False when there
 * was no tail to cut (nothing attempted).
 */
async function failFirstOpen(
  storage: StorageSim,
  wallEpochMs: number,
  options: SimBoardOptions,
): Promise<boolean> {
  const files = storage.durableFiles();
  if (journalScanFiles(files, JOURNAL_FILE_NAME, false).tornTail === null) return false;
  storage.armPowerCut(1);
  let booted: Awaited<ReturnType<typeof createSimBoardOn>> | null = null;
  try {
    booted = await createSimBoardOn({ storage, wallEpochMs }, options);
  } catch (error) {
    if (!storage.isDown()) throw error;
  }
  if (booted !== null) {
    booted.dispose();
    throw new Error('the journal opened although power failed while it cut its torn tail');
  }
  storage.restart();
  return true;
}
