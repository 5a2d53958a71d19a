// One swarm run, event by event: taps, the faults around them, power cuts, reboots, checks.

import { sha256Hex } from '../../../firmware/src/app/params/params_manifest.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import {
  isTunionRider,
  type AnyRiderCard,
  type TunionRiderCard,
} from '../sim/bus_riders.js';
import { UID0_08_RANDOM } from '../cards/card_rf.js';
import { SIM_LINE_STOPS } from '../sim/sim_tunion.js';
import type { WritePointHook } from '../../../firmware/src/app/params/params_floor.js';
import { READER_REOPEN_BACKOFF } from '../../../firmware/src/app/validator/reader_recovery.js';
import { UPLOADER_CONFIG_DEFAULT } from '../../../firmware/src/app/upload/uploader.js';
import type { JournalSummary } from '../../../firmware/src/app/journal/journal.js';
import type { DepotLinkFaults } from '../sim/depot_sim.js';
import { bootSwarmBoard, type SwarmBoard, type SwarmUpload } from './swarm_board.js';
import { paramsCutHook, SwarmParamsPowerCut, type ParamsPush } from './swarm_params.js';
import {
  drawTapPlan,
  SWARM_UNPLUG_MS_MAX,
  type SwarmPsamFault,
  type SwarmTapPlan,
} from './swarm_events.js';
import { SWARM_FILLER_FILE } from './swarm_journal.js';
import { swarmMixQuiet, type SwarmMix } from './swarm_mix.js';
import {
  BoardLoop,
  passUntil,
  rideSwarmTap,
  SWARM_ANSWER_WAIT_MS,
  stepUntil,
  type SwarmTapOutcome,
} from './swarm_ride.js';
import type { SwarmWorld } from './swarm_run.js';

/** Time from power loss (or a parameter push) to the new board's first poll. */
export const SWARM_REBOOT_MS = 20_000;
/** Boots tried in a row (a watchdog restarts a validator that failed to start). */
export const SWARM_BOOT_TRIES = 8;
/** A rider's re-tap, or the same card's next fare, comes after this at least. */
export const SWARM_RETAP_GAP_MS_MIN = 300;
/** Re-taps a rider makes after a bad answer, within one fare. */
export const SWARM_RETAPS_MAX = 2;
/** After the last tap the validator must be back in WaitForCard within this (liveness). */
export const SWARM_SETTLE_MS = 10_000;
/** Whole-medium checks run every this many taps (and after every boot and at the end). */
export const SWARM_FULL_CHECK_EVERY = 64;
/** Longest time from an unplug to the reader back: the unplug, one backoff wait, a start. */
export const SWARM_READER_BACK_MS_MAX =
  SWARM_UNPLUG_MS_MAX +
  READER_REOPEN_BACKOFF.maxMs * (1 + READER_REOPEN_BACKOFF.jitterRatio) +
  2_000;
/**
 * Longest wait of the first quiet tap for the uploader to catch up with the journal: the
 * longest backoff it may have just begun when the depot's faults stopped (its jitter only
 * shortens it), a reader being brought back (the tap loop writes the ack between its turns),
 * and a minute for the pass, whose link and medium answer at once in board time (seed 24's
 * 1,809 records in batches of 4, 8 MB, drained in one contact).
 */
export const SWARM_CATCH_UP_MS_MAX =
  UPLOADER_CONFIG_DEFAULT.backoff.maxMs + SWARM_READER_BACK_MS_MAX + 60_000;
/** Longest time from a replug to the reader back: one backoff wait and a start. */
export const SWARM_REOPEN_MS_MAX = SWARM_READER_BACK_MS_MAX - SWARM_UNPLUG_MS_MAX;
/** Write points a parameter install is cut at, drawn 1..this (an install has about 26). */
export const SWARM_PARAMS_CUT_POINTS_MAX = 32;
/** Fares (a tap and its re-taps) between two stops of the bus (T-Union fares are by stops). */
export const SWARM_FARES_PER_STOP = 5;

/** The stop the bus is at for fare `index`: it runs the line's stops round and round. */
export function swarmStop(index: number): number {
  return 1 + (Math.floor(index / SWARM_FARES_PER_STOP) % SIM_LINE_STOPS);
}

/** What excuses a tap without an answer (a fault was active while it ran). */
interface TapExcuse {
  reason: string | null;
  /** Line noise or a PN532 fault standing when the card was placed, or null. */
  line: string | null;
}

/**
 * A rider whose card is running low goes to the bank between rides (圈存): an application's
 * EC balance under a quarter of its personalised one, or a cumulative offline total past three
 * quarters of its limit, is loaded back (QpbocCard.topUp), unless a debit is still staged on
 * the card (a torn tap its next tap may finish). Without it a long run's cards run dry and
 * nearly every later tap is a decline. A T-Union card is loaded likewise under a quarter of its
 * personalised balance (TunionCard.topUp), unless its newest debit has no final record yet
 * (`unfinished`: the next tap finishes it by the card's proof and balance, which a load would
 * move). True when the card was topped up.
 */
function riderTopsUp(rider: AnyRiderCard, unfinished: (card: TunionRiderCard) => boolean)
  : boolean {
  if (isTunionRider(rider)) {
    const card = rider.card;
    if (card.balanceMinor() >= card.profile.balanceMinor / 4 || unfinished(rider)) return false;
    card.topUp();
    return true;
  }
  const card = rider.card;
  let low = false;
  for (const app of card.profile.applications) {
    if (card.pendingDebit(app.aidHex) !== null) return false;
    const balance = card.balanceMinor(app.aidHex);
    const ctta = card.cumulativeOfflineMinor(app.aidHex);
    const limits = app.offlineLimits;
    if (app.ec !== null && balance !== null && balance < app.ec.balanceMinor / 4) low = true;
    if (limits !== null && ctta !== null && ctta > (limits.cumulativeLimitMinor * 3) / 4) {
      low = true;
    }
  }
  if (low) card.topUp();
  return low;
}

/**
 * A boot's depot link faults, read by the link at each call (DepotLinkFaulty): the seed's
 * until the quiet tail stops them, on the board running then too. Before, the tail stopped
 * every fault but these, so an uploader they had starved could not catch up (swarm seed 24,
 * --taps 20000: batches of 4, half the calls failed, 1,809 records behind, the journal full).
 */
function depotLinkFaults(
  mix: SwarmMix,
  outages: readonly (readonly [number, number])[],
  stopped: () => boolean,
): DepotLinkFaults {
  return {
    get failChance(): number {
      return stopped() ? 0 : mix.depotFailChance;
    },
    get lostAnswerChance(): number {
      return stopped() ? 0 : mix.depotLostAnswerChance;
    },
    get outages(): readonly (readonly [number, number])[] {
      return stopped() ? [] : outages;
    },
  };
}

/** Of the boots of a seed with PSAM faults, the share that find the PSAM still out. */
const PSAM_OUT_AT_BOOT = 0.25;

export class SwarmSession {
  private board: SwarmBoard | null = null;
  private loop: BoardLoop | null = null;
  private noiseTapsLeft = 0;
  private diskTapsLeft = 0;
  private cutArmedUntil: number | null = null;
  private readonly corruptManifests = new Set<string>();
  private boots = 0;
  /** The quiet tail has begun: no fault from here on, at a boot either. */
  private faultsStopped = false;
  /** Board time of the last replug of the reader. */
  private replugAtMs = Number.NEGATIVE_INFINITY;
  /** The last tap's card, and the line fault that ran during it (it may hide its removal). */
  private lastTap: { card: AnyRiderCard; lineFault: string | null } | null = null;

  constructor(
    private readonly world: SwarmWorld,
    private wallEpochMs: number,
  ) {}

  private stopped(): boolean {
    return this.world.model.violations.length > 0;
  }

  /** Runs every tap, then the settle check and the final whole-medium checks. */
  async run(): Promise<void> {
    const { options, model, stats } = this.world;
    const plans = this.world.prng.fork('plan');
    const riders = this.world.prng.fork('tunion-riders');
    const psamFaults = this.world.prng.fork('psam-faults');
    const denied = this.world.prng.fork('tunion-denied');
    // The quiet tail stops the faults, not the T-Union riders.
    const quietMix = swarmMixQuiet(this.world.mix);
    let lastCard: AnyRiderCard | null = null;
    let fullCheckedAt = 0;
    await this.boot();
    for (let tap = 0; tap < options.taps && !this.stopped(); tap += 1) {
      const quiet = tap >= options.taps - options.quietTaps;
      // The first quiet tap waits out a reader still unplugged (its replug and reopen are due)
      // and an uploader the depot's faults left behind.
      const firstQuiet = tap === options.taps - options.quietTaps;
      if (quiet) this.faultsOff();
      if (firstQuiet) await this.catchUp();
      if (this.stopped()) break;
      const mix = quiet ? quietMix : this.world.mix;
      const drawn = drawTapPlan(plans, mix, this.world.pool, { riders, psam: psamFaults,
        denied });
      this.world.route.stop = swarmStop(tap);
      // The same card again must be seen to leave first (a card left on the reader is not
      // processed twice), as before a re-tap.
      const sameCard = drawn.card === lastCard;
      const gapMs = sameCard ? Math.max(drawn.gapMs, SWARM_RETAP_GAP_MS_MIN) : drawn.gapMs;
      const plan = { ...drawn, gapMs: firstQuiet ? gapMs + SWARM_READER_BACK_MS_MAX : gapMs };
      lastCard = drawn.card;
      if (plan.paramsPush !== null) await this.pushParams(plan.paramsPush);
      if (this.stopped()) break;
      await this.fare(plan, quiet);
      // A fare is one tap or more (re-taps): the check follows the taps, not the fares.
      if (stats.taps - fullCheckedAt >= SWARM_FULL_CHECK_EVERY) {
        fullCheckedAt = stats.taps;
        model.fullCheck(this.world.storage, 'periodic');
      }
    }
    if (this.stopped()) return;
    await this.settle();
    model.fullCheck(this.world.storage, 'at the end');
    model.finalLedgers();
  }

  private current(): { board: SwarmBoard; loop: BoardLoop } {
    if (this.board === null || this.loop === null) throw new Error('swarm: no board');
    return { board: this.board, loop: this.loop };
  }

  /** A fare: the tap, then re-taps while the answer asks for one (same card, no new faults). */
  private async fare(plan: SwarmTapPlan, quiet: boolean): Promise<void> {
    const { model, mix, prng } = this.world;
    if (riderTopsUp(plan.card, (c) => model.tunionUnfinished(c))) this.world.stats.topUps += 1;
    const fare = model.fareStart(plan.card);
    let outcome = await this.tap(plan, quiet, true);
    const retaps = prng.fork(`retap-${this.world.stats.taps}`);
    for (let again = 0; again < SWARM_RETAPS_MAX && !this.stopped(); again += 1) {
      const result = outcome?.report?.result ?? null;
      const unfinished = outcome === null || result === null || result === 'tryAgain';
      if (!unfinished || !retaps.chance(quiet ? 1 : mix.reTapChance)) break;
      const reTap: SwarmTapPlan = {
        ...plan,
        gapMs: retaps.between(SWARM_RETAP_GAP_MS_MIN, 2500),
        pull: [],
        powerCutAfterWrites: null,
        noiseBurstTaps: null,
        pn532Fault: null,
        unplugMs: null,
        diskFullTaps: null,
        clockJumpMs: null,
        paramsPush: null,
        psamFault: null,
      };
      outcome = await this.tap(reTap, quiet, false);
    }
    model.fareEnd(fare);
  }

  /**
   * One tap (event). A power cut during it restarts the medium and reboots; the rider then
   * taps again on the new board. Returns the outcome, or null when the tap was cut.
   */
  private async tap(
    plan: SwarmTapPlan,
    quiet: boolean,
    first: boolean,
  ): Promise<SwarmTapOutcome | null> {
    const { model, stats, storage } = this.world;
    const { loop } = this.current();
    const excuse: TapExcuse = { reason: null, line: null };
    let outcome: SwarmTapOutcome | null = null;
    const failure: { error: unknown } = { error: null };
    const startedMs = loop.board.clock.nowMs();
    const beforePlace = (): void => {
      if (first) this.faultsAtTap(plan);
      // A re-tap starts no fault, but one still standing (line noise, an unplugged reader)
      // excuses it too, as does one that ran through the last card's removal.
      this.standingExcuse(loop.board, excuse);
      this.removalExcuse(plan.card, excuse);
    };
    const quietGap = (): boolean => this.quietGap(loop.board);
    model.tapBegins(plan.card);
    const steady = (): boolean => this.steadyHold(loop.board);
    rideSwarmTap(loop, plan.card, plan, plan.pull, { quiet: quietGap, steady, beforePlace }).then(
      (o) => {
        outcome = o;
      },
      (error: unknown) => {
        failure.error = error ?? new Error('ride failed');
      },
    );
    const end = await stepUntil(loop, storage, () => outcome !== null || failure.error !== null);
    stats.taps += 1;
    model.event = stats.taps - 1;
    stats.simulatedMs += loop.board.clock.nowMs() - startedMs;
    if (failure.error !== null && !storage.isDown()) throw failure.error;
    if (end === 'crash') throw crashError(loop);
    if (end === 'power-cut') {
      await this.powerCut();
      return null;
    }
    const done = outcome as SwarmTapOutcome | null;
    if (done === null) throw new Error('swarm: tap ended without an outcome');
    this.afterTap(plan.card, done, excuse, quiet);
    return done;
  }

  private afterTap(
    card: AnyRiderCard,
    outcome: SwarmTapOutcome,
    excuse: TapExcuse,
    quiet: boolean,
  ): void {
    const { model, stats, storage } = this.world;
    const board = this.current().board;
    const report: TapReport | null = outcome.report;
    if (report !== null) stats.answered += 1;
    if (report?.result === 'approved') stats.approved += 1;
    if (report?.result === 'approved' && isTunionRider(card)) {
      stats.tunionApproved += 1;
      if (report.recovered) stats.tunionRecovered += 1;
    }
    model.afterTap(storage, card, report, board.logs, {
      wallMs: board.wall.wallMs(),
      tornWindowMs: board.params.fares.tornWindowSec * 1000,
    });
    if (board.kernel.faultCount() !== 0) {
      model.fail('kernel', `kernel trapped ${board.kernel.faultCount()} times`);
    }
    const why = excuse.reason ?? (outcome.pulled ? 'card pulled' : null);
    this.lastTap = { card, lineFault: excuse.line };
    if (report === null && (why === null || quiet)) {
      const when = quiet ? 'after the faults stopped' : 'with no fault active';
      model.fail('liveness', `${card.name}: no answer within ${SWARM_ANSWER_WAIT_MS} ms, ${when}`);
    }
    if (quiet && report?.result === 'outOfService') {
      model.fail('liveness', `${card.name}: out of service (${report.reason}) after the faults `
        + 'stopped');
    }
    if (quiet && report?.reason.startsWith('tunion-psam') === true) {
      model.fail('liveness', `${card.name}: refused (${report.reason}) with the PSAM back in `
        + `its slot after the faults stopped`);
    }
    this.tapEnded();
  }

  /** Faults that start with a tap (`standingExcuse` then says which excuse the rider). */
  private faultsAtTap(plan: SwarmTapPlan): void {
    const { storage, noise, mix, stats } = this.world;
    const board = this.current().board;
    const armed = this.cutArmedUntil;
    if (armed !== null && storage.writePoints() >= armed) this.cutArmedUntil = null;
    if (plan.powerCutAfterWrites !== null && this.cutArmedUntil === null) {
      storage.armPowerCut(plan.powerCutAfterWrites);
      this.cutArmedUntil = storage.writePoints() + plan.powerCutAfterWrites;
    }
    if (plan.noiseBurstTaps !== null) this.noiseTapsLeft = plan.noiseBurstTaps;
    noise.lossRatio = this.noiseTapsLeft > 0 ? mix.noiseRatio / 2 : 0;
    noise.corruptRatio = noise.lossRatio;
    if (plan.pn532Fault !== null) board.pn532.injectFault(plan.pn532Fault);
    if (plan.clockJumpMs !== null) {
      board.wall.jumpWallMs(plan.clockJumpMs);
      stats.clockJumps += 1;
    }
    if (plan.diskFullTaps !== null && this.diskTapsLeft === 0) this.fillDisk(plan.diskFullTaps);
    if (plan.unplugMs !== null) this.unplug(board, plan.unplugMs);
    if (plan.psamFault !== null) this.psamFault(board, plan.psamFault);
  }

  /**
   * A PSAM fault of this tap: the PSAM pulled out now, or one exchange of the tap's purchase
   * armed to fail. Never an excuse: a refusal is an answer, and a PSAM that answers nothing
   * costs the tap its 2 s timeout, well within the rider's patience.
   */
  private psamFault(board: SwarmBoard, fault: SwarmPsamFault): void {
    const slot = this.world.psamSlot;
    if (fault.at === 'pulled') slot.pull(board.clock, fault.outMs);
    else slot.arm(fault.ins, fault.fault, fault.outMs, board.clock);
  }

  /** Faults standing when the card is placed, whichever tap started them. */
  private standingExcuse(board: SwarmBoard, excuse: TapExcuse): void {
    const line = this.lineFault();
    excuse.line = line;
    if (line !== null) excuse.reason = line;
    if (this.diskTapsLeft > 0) excuse.reason = 'disk full';
    this.readerExcuse(board, excuse);
  }

  /**
   * Nothing but time can happen before the next card: the field is empty, the line quiet,
   * no PN532 fault waits, the reader is plugged in and open. (An armed power cut waits for
   * a write, which idle polls never make; a full disk changes nothing until a tap.)
   */
  private quietGap(board: SwarmBoard): boolean {
    if (board.pn532.cardsInField().length > 0 || this.lineFault() !== null) return false;
    return board.plug.isPlugged() && board.plug.lost() === null;
  }

  /** A held card's presence checks change nothing: it alone in the field, no fault standing. */
  private steadyHold(board: SwarmBoard): boolean {
    if (board.pn532.cardsInField().length !== 1 || this.lineFault() !== null) return false;
    return board.plug.isPlugged() && board.plug.lost() === null;
  }

  /** Line noise on the reader's UART, or a PN532 fault not yet spent; null when neither. */
  private lineFault(): string | null {
    if (this.world.noise.lossRatio > 0) return 'line noise';
    if (this.board !== null && this.board.pn532.pendingFaults().length > 0) return 'PN532 fault';
    return null;
  }

  /**
   * The same card as the last tap, after a line fault ran during it: a frame lost while the
   * rider lifted the card can hide the removal (the driver waits out its timeout, 350 ms, while
   * the card is gone and back), and a card that never seemed to leave is not processed again
   * (issue 11: a card is processed again only after a removal). The rider sees the idle
   * screen and would lift the card again; the swarm's rider waits, so the tap is excused.
   */
  private removalExcuse(card: AnyRiderCard, excuse: TapExcuse): void {
    const last = this.lastTap;
    if (last !== null && lookAlike(last.card, card) && last.lineFault !== null) {
      excuse.reason = `${last.lineFault} during the last removal`;
    }
  }

  private tapEnded(): void {
    this.board?.forgetLineRecords();
    // An exchange fault belongs to its tap: one the tap never reached is dropped.
    this.world.psamSlot.disarm();
    if (this.noiseTapsLeft > 0) this.noiseTapsLeft -= 1;
    // A burst ends with its last tap: the next gap and tap are clean unless a new one starts.
    if (this.noiseTapsLeft === 0) {
      this.world.noise.lossRatio = 0;
      this.world.noise.corruptRatio = 0;
    }
    if (this.diskTapsLeft > 0) {
      this.diskTapsLeft -= 1;
      const storage = this.world.storage;
      if (this.diskTapsLeft === 0) void storage.replace(SWARM_FILLER_FILE, new Uint8Array(0));
    }
  }

  /**
   * Unplugged, or plugged back and not reopened yet within one backoff wait: the rider may get
   * no answer. Later the board must have it back (a board that never reopens fails here).
   */
  private readerExcuse(board: SwarmBoard, excuse: TapExcuse): void {
    const reopening = board.clock.nowMs() - this.replugAtMs < SWARM_REOPEN_MS_MAX;
    if (!board.plug.isPlugged() || (board.plug.lost() !== null && reopening)) {
      excuse.reason = 'reader unplugged or being reopened';
    }
  }

  private unplug(board: SwarmBoard, forMs: number): void {
    this.world.stats.unplugs += 1;
    board.plug.unplug();
    void (async () => {
      await board.clock.sleepMs(forMs);
      board.plug.plugIn();
      this.replugAtMs = board.clock.nowMs();
      // The PN532 hangs off the USB adapter's 3.3 V: it comes back from power-on reset.
      await board.pn532.powerCycle();
    })();
  }

  /** Another writer takes all but a little of the medium's free space. */
  private fillDisk(taps: number): void {
    const { storage, stats } = this.world;
    this.diskTapsLeft = taps;
    stats.diskFulls += 1;
    void (async () => {
      const capacity = await storage.capacity();
      if (!capacity.ok) return;
      const fill = capacity.value.freeBytes - 2048;
      if (fill > 0) await storage.appendZeros(SWARM_FILLER_FILE, fill);
    })();
  }

  /**
   * The quiet tail: every fault off, the disk freed, the reader plugged in, the PSAM back, the
   * depot link whole (its faults follow `faultsStopped`: depotLinkFaults).
   */
  private faultsOff(): void {
    this.faultsStopped = true;
    this.world.psamSlot.disarm();
    this.world.psamSlot.putBack();
    this.noiseTapsLeft = 0;
    this.world.noise.lossRatio = 0;
    this.world.noise.corruptRatio = 0;
    if (this.diskTapsLeft > 0) {
      this.diskTapsLeft = 1;
      this.tapEnded();
    }
  }

  /**
   * The first quiet tap waits, within SWARM_CATCH_UP_MS_MAX of board time, for the uploader to
   * catch up: the journal down to its newest segment, every older one acknowledged by the depot
   * and reclaimed, or every record but the last acknowledged (the last is the ack itself: a
   * power cut after the ack and before its reclaim leaves whole acknowledged segments, which
   * the journal removes when it next needs the space, not at once: swarm seed 106 with --taps
   * 20000 waited out the bound with all but its ack record acknowledged). Else a starved
   * uploader (the depot link failed half its calls) left the journal full, and the validator
   * out of service, rightly, in a tail too short for its backoff. Not caught up by the bound,
   * with the link whole: a liveness failure.
   */
  private async catchUp(): Promise<void> {
    const { storage, stats, model } = this.world;
    let leftMs = SWARM_CATCH_UP_MS_MAX;
    while (!this.stopped()) {
      const { loop, board } = this.current();
      const startedMs = board.clock.nowMs();
      const end = await passUntil(loop, storage, leftMs, {
        still: () => loop.idle() && this.quietGap(board),
        done: () => caughtUp(board.journal.summary()),
      });
      const passedMs = board.clock.nowMs() - startedMs;
      stats.simulatedMs += passedMs;
      leftMs -= passedMs;
      if (end === 'done') return;
      if (end === 'crash') throw crashError(loop);
      if (end === 'bound') {
        const journal = board.journal.summary();
        const boundS = Math.round(SWARM_CATCH_UP_MS_MAX / 1000);
        model.fail('liveness', `the uploader did not catch up within ${boundS} s after the `
          + `faults stopped: ${journal.segmentCount} journal segments, acknowledged through seq `
          + `${journal.ackThroughSeq} of ${journal.lastSeq}`);
        return;
      }
      // A power cut armed before the tail went off: the new board's uploader goes on.
      await this.powerCut();
    }
  }

  /** After the last tap: the validator must be back in WaitForCard within SWARM_SETTLE_MS. */
  private async settle(): Promise<void> {
    const { loop, board } = this.current();
    const until = board.clock.nowMs() + SWARM_SETTLE_MS;
    const end = await stepUntil(
      loop,
      this.world.storage,
      () => board.validator.state() === 'WaitForCard' || board.clock.nowMs() >= until,
    );
    if (end !== 'done' || board.validator.state() !== 'WaitForCard') {
      this.world.model.fail('liveness', `validator in ${board.validator.state()} at the end`);
    }
  }

  private async powerCut(): Promise<void> {
    const { storage, stats, model, hooks, prng } = this.world;
    stats.cuts += 1;
    this.cutArmedUntil = null;
    // The dying board's last words: a tap cut short has no afterTap to read them.
    const dying = this.board;
    if (dying !== null) {
      model.lastLogs(dying.logs);
      if (dying.kernel.faultCount() !== 0) {
        model.fail('kernel', `kernel trapped ${dying.kernel.faultCount()} times`);
      }
    }
    // The PSAM loses power with the board: a purchase it had begun is gone.
    this.world.psam.powerOff();
    storage.restart();
    hooks.afterRestart(storage, prng.fork(`restart-${stats.cuts}`));
    model.afterRestart(storage);
    if (!this.stopped()) await this.reboot();
  }

  /**
   * A parameter push through the validator's install path, then a reboot onto it. With power
   * cuts in the seed's mix, half the pushes lose power at a random write point of the install
   * (the reboot must then find the old set or the new one, whole).
   */
  private async pushParams(push: ParamsPush): Promise<void> {
    const { stats, mix, prng } = this.world;
    stats.paramsPushes += 1;
    const cuts = prng.fork(`params-cut-${stats.paramsPushes}`);
    const cutOn = mix.powerCutPerTap > 0 && cuts.chance(0.5);
    const hook = paramsCutHook(cutOn ? cuts.between(1, SWARM_PARAMS_CUT_POINTS_MAX) : null);
    try {
      await this.install(push, hook);
    } catch (error) {
      if (!(error instanceof SwarmParamsPowerCut)) throw error;
      stats.paramsCuts += 1;
      await this.powerCut();
      return;
    }
    await this.reboot();
  }

  /** Runs one push's install and checks its verdict against what the push was. */
  private async install(push: ParamsPush, hook: WritePointHook): Promise<void> {
    const { params, model } = this.world;
    switch (push) {
      case 'newer': {
        const installed = await params.pushNewer(hook);
        if (!installed.ok) model.fail('params', `a newer set was refused: ${installed.message}`);
        return;
      }
      case 'rollback': {
        const installed = await params.pushRollback(hook, model.paramsVersionHighest());
        if (installed === null) return;
        if (installed.ok || installed.kind !== 'rollback') {
          const verdict = installed.ok ? `installed` : `refused as ${installed.kind}`;
          model.fail('params', `an older signed set was ${verdict}, not refused as a rollback`);
        }
        return;
      }
      case 'corrupt': {
        const offered = await params.pushCorrupt(hook);
        this.corruptManifests.add(sha256Hex(offered.manifest));
        if (offered.installed.ok || offered.installed.kind !== 'invalid') {
          model.fail('params', `a corrupt set was not refused as invalid`);
        }
        return;
      }
      default: {
        const unreachable: never = push;
        throw new Error(`push ${String(unreachable)}`);
      }
    }
  }

  private async reboot(): Promise<void> {
    const board = this.current().board;
    this.wallEpochMs = board.wall.wallMs() + SWARM_REBOOT_MS;
    this.world.stats.reboots += 1;
    await this.boot();
  }

  /** Boots, retrying like a watchdog; checks the medium and the parameters after it. */
  private async boot(): Promise<void> {
    const { world } = this;
    // The board was off SWARM_REBOOT_MS, longer than a PSAM pulled mid-run stays out: it is
    // back in its slot, unless this boot draws a PSAM still out (the validator must start and
    // serve bank cards, then open the PSAM at a T-Union card once it is back).
    world.psamSlot.disarm();
    world.psamSlot.putBack();
    const draw = world.prng.fork(`psam-boot-${this.boots}`);
    if (!this.faultsStopped && world.mix.psamFaultPerTap > 0 && draw.chance(PSAM_OUT_AT_BOOT)) {
      world.psamSlot.outAtNextBoot(draw.between(1_000, 60_000));
      world.stats.psamOutAtBoots += 1;
    }
    for (let attempt = 1; attempt <= SWARM_BOOT_TRIES; attempt += 1) {
      this.boots += 1;
      const booted = await bootSwarmBoard({
        options: world.boardOptions,
        storage: world.storage,
        journalPort: world.hooks.journalPort(world.storage),
        params: world.params,
        noise: world.noise,
        wallEpochMs: this.wallEpochMs,
        prng: world.prng.fork(`boot-${this.boots}`),
        wrapLog: world.hooks.wrapLog,
        wrapReader: world.hooks.wrapReader,
        wrapJournal: world.hooks.wrapJournal,
        upload: this.upload(),
        psam: world.psam,
        psamSlot: world.psamSlot,
        wrapPsam: world.hooks.wrapPsam,
      });
      if (booted.ok) {
        this.adopt(booted.board);
        return;
      }
      if (!(await this.bootFailed(booted.failure.stage, booted.failure.detail))) return;
      this.wallEpochMs += SWARM_REBOOT_MS;
    }
    world.model.fail('liveness', `the validator did not start in ${SWARM_BOOT_TRIES} boots`);
  }

  /** The next board's depot link: the seed's faults, and an outage drawn for this boot. */
  private upload(): SwarmUpload {
    const { world } = this;
    const mix = world.mix;
    const draw = world.prng.fork(`depot-outage-${this.boots}`);
    // An outage of 1-10 minutes of board time starting in its first 5: a backlog builds.
    const from = draw.below(5 * 60_000);
    const outages: (readonly [number, number])[] = draw.chance(mix.depotOutagePerBoot)
      ? [[from, from + draw.between(60_000, 10 * 60_000)]]
      : [];
    return {
      depot: world.hooks.wrapDepot(world.depot),
      faults: depotLinkFaults(mix, outages, () => this.faultsStopped),
      contactIntervalMs: mix.depotContactMs,
      batchRecords: mix.uploadBatchRecords,
      segmentBytes: mix.segmentBytes,
    };
  }

  /** Handles a failed boot; true = try again. */
  private async bootFailed(stage: string, detail: string): Promise<boolean> {
    const { model, storage, params } = this.world;
    switch (stage) {
      case 'power':
        storage.restart();
        model.afterRestart(storage);
        return !this.stopped();
      case 'journal':
        model.fail('journal-verifies', `the journal does not open: ${detail}`);
        return false;
      case 'params':
        model.fail('params', `the validator has no parameters after a refused set: ${detail}`);
        // The operator installs a good set again, so the other checks can go on.
        await params.pushNewer();
        return true;
      default:
        return true;
    }
  }

  private adopt(board: SwarmBoard): void {
    const { model, storage } = this.world;
    this.board = board;
    // A new board's driver watches no card: nothing of the last tap's removal carries over.
    this.lastTap = null;
    this.loop = new BoardLoop(board, this.world.hooks.superviseReader);
    model.afterBoot(storage, board.logs, board.params.version);
    if (this.corruptManifests.has(board.params.manifestSha256Hex)) {
      model.corruptActivated(`version ${board.params.version}`);
    }
  }
}

/** The error the board's loop threw. */
function crashError(loop: BoardLoop): Error {
  const crashed = loop.crashed();
  return crashed?.error instanceof Error ? crashed.error : new Error(String(crashed?.error));
}

/**
 * Cards the validator cannot tell apart once the first one's removal went unseen: the same
 * card, or two that show random UIDs (phones draw a new ID at each activation, so while any
 * random-ID card is in the field the first counts as still there: Pn532Reader's presence check).
 */
function lookAlike(a: AnyRiderCard, b: AnyRiderCard): boolean {
  return a === b || (randomUid(a) && randomUid(b));
}

function randomUid(rider: AnyRiderCard): boolean {
  const id = rider.card.identity();
  return id.kind === 'A' && id.uid.length === 4 && id.uid[0] === UID0_08_RANDOM;
}

/** The journal holds nothing the depot lacks, or one record (its ack) at most, in service. */
function caughtUp(journal: JournalSummary): boolean {
  return journal.segmentCount <= 1 || journal.ackThroughSeq >= journal.lastSeq - 1;
}
