// The T-Union (JT/T 978) side of a tap on the running validator: the PSAM as the kernel's
// second device, the fare and records of tunion_tap.ts, torn recovery from the journal's open
// grey records, and what the rider is shown.
//
// Ordering (domain.md 7.4, 7.5): the grey record is durable (fsynced) before DEBIT FOR
// PURCHASE is sent; the final record with the TAC is durable before the screen says paid; a
// grey record left open by a card pulled after DEBIT (or a power cut) is finished at the
// card's next tap by balance comparison and GET TRANSACTION PROOF, never charged again.

import {
  configureJtt978,
  runCardRecovery,
  type Jtt978Outcome,
  type MultiAppSessionIo,
  type Transcript,
} from '../../../../assembly/host/jtt978_session.js';
import { KernelStatus, kernelStatusName } from '../../../../assembly/host/abi.gen.js';
import type { TransitScreen } from '../../../../hal/src/ports/display_port.js';
import type { TunionOpenGrey } from '../journal/journal_state.js';
import { maskPan, panScrub } from '../journal/pan_mask.js';
import type { TunionFinalEntry, TunionRide } from '../journal/journal_tunion.js';
import { TunionTap, type TunionPsamRefusal, type TunionTapResult } from './tunion_tap.js';
import { tunionViewApproved, tunionViewDeclined, tunionViewRefused } from './tunion_view.js';
import type { TapView } from './tap_view.js';
import {
  TRANSIT_POSITION_UNKNOWN,
  type TapReport,
  type ValidatorConfig,
  type ValidatorPorts,
  type ValidatorPsam,
} from './validator_ports.js';
import { TunionPsamKeeper } from './tunion_psam_keeper.js';
import { daysBetween } from './validator_time.js';
import { hexUpper as hexOf } from '../../../../assembly/host/hex_upper.js';

/** Days before its end date from which every start logs that the PSAM must be replaced. */
export const TUNION_PSAM_EXPIRY_WARN_DAYS = 30;

/** The card reader as the kernel session sees it (the TapSession's reader io). */
export type CardTransceive = (capdu: Uint8Array) => Promise<Uint8Array | null>;

/**
 * What a T-Union report names instead of a PAN: the card number (0015 application serial).
 * It is printed on the card and is no payment-card PAN (journal_tunion.ts keeps it in clear
 * too), so it is shown whole: the rider's service desk and the summary tell cards apart by it.
 */
export function tunionCardMasked(serialDigits: string): string {
  return serialDigits;
}

function transitOf(ride: TunionRide): TransitScreen {
  const stop = ride.tap === 'alighting' ? ride.alightingStop : ride.boardingStop;
  return { tap: ride.tap, stop, penaltyMinor: ride.penaltyMinor };
}

/** T-Union taps of one validator; lives as long as its TapSession. */
export class TunionTaps {
  private readonly keeper: TunionPsamKeeper;
  /** A different PSAM came back mid-tap: the kernel gets it before the next tap. */
  private reconfigureDue = false;

  constructor(
    private readonly ports: ValidatorPorts,
    private readonly config: ValidatorConfig,
  ) {
    this.keeper = new TunionPsamKeeper(ports, config.utcOffsetMinutes);
  }

  /**
   * Gives the kernel the PSAM's terminal number and key index (after every parameter load).
   * Returns null, or why the kernel refused them. Without a PSAM there is nothing to give:
   * the kernel then hands T-Union cards back to selection (ERR_JTT978_NOT_CONFIGURED).
   */
  configure(): string | null {
    const psam = this.keeper.current();
    if (psam === null) return null;
    this.logPsamDates(psam);
    try {
      const status = configureJtt978(this.ports.kernel, {
        terminalNumber: psam.terminalNumber,
        keyIndex: psam.keyIndex,
      });
      return status === KernelStatus.STATUS_OK ? null : `PSAM: ${kernelStatusName(status)}`;
    } catch (error) {
      return `PSAM: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /**
   * Before a tap (outside any kernel transaction): a different PSAM that came back at the last
   * T-Union tap (tunion_psam_keeper.ts) is given to the kernel. Costs a bank tap nothing.
   * False when the kernel refused it (logged).
   */
  refresh(): boolean {
    if (!this.reconfigureDue) return true;
    this.reconfigureDue = false;
    const refused = this.configure();
    if (refused !== null) this.ports.log.log({ event: 'psam-refused-by-kernel', detail: refused });
    return refused === null;
  }

  /** At a T-Union card's decision point: reopens a PSAM that lost power, then its verdict. */
  private async psamCheck(): Promise<TunionPsamRefusal | null> {
    const state = await this.keeper.reopen();
    if (state === 'changed') this.reconfigureDue = true;
    const psam = this.keeper.current();
    if (state !== 'up' || psam === null) return 'psam-unavailable';
    return this.keeper.dateRefusal(psam);
  }

  /**
   * At each start: a PSAM out of its dates (T-Union cards will be refused, bank cards are
   * not affected), or one that ends within TUNION_PSAM_EXPIRY_WARN_DAYS, is logged so that the
   * depot's operator replaces it before riders are turned away.
   */
  private logPsamDates(psam: ValidatorPsam): void {
    const today = this.keeper.today();
    const refusal = this.keeper.dateRefusal(psam, today);
    const dates = { validFrom: psam.validFromDigits, validTo: psam.validToDigits };
    if (refusal !== null) {
      this.ports.log.log({ event: 'tunion-psam-unusable', reason: refusal, ...dates });
      return;
    }
    const daysLeft = daysBetween(today, psam.validToDigits);
    if (daysLeft < TUNION_PSAM_EXPIRY_WARN_DAYS) {
      this.ports.log.log({ event: 'tunion-psam-expiring', daysLeft, ...dates });
    }
  }

  /** The PSAM as the kernel's second device: the answer, or null when it failed. */
  readonly psamTransceive = async (capdu: Uint8Array): Promise<Uint8Array | null> => {
    const psam = this.keeper.current();
    if (psam === null) return null;
    const answer = await psam.port.transmit(capdu, { timeoutMs: psam.transmitTimeoutMs });
    if (answer.ok) return answer.value;
    this.ports.log.log({ event: 'psam-error', error: answer.error, detail: answer.detail });
    return null;
  };

  /** A T-Union tap's fare and records for this card, or null without a PSAM. */
  begin(uidHex: string): TunionTap | null {
    const psam = this.keeper.current();
    if (psam === null) return null;
    const params = this.ports.params();
    const position = this.ports.position?.() ?? TRANSIT_POSITION_UNKNOWN;
    return new TunionTap(this.ports.journal, {
      fares: params.fares,
      terminalId: params.terminal.terminalId,
      lineId: params.terminal.lineId,
      paramsVersion: params.version,
      terminalNumberHex: hexOf(psam.terminalNumber),
      stop: position.stop,
      vehicle: position.vehicle,
      direction: position.direction,
      nowWallMs: this.ports.clock.wallMs(),
      utcOffsetMinutes: this.config.utcOffsetMinutes,
      uidHex,
      denyList: params.denyList,
      psamCheck: () => this.psamCheck(),
    });
  }

  /**
   * Journals (tunion_tap.ts), shows and reports the end of a T-Union purchase, or of a
   * deny-listed card's block. `transcript`: the tap's exchanges with card and PSAM.
   */
  async finish(tap: TunionTap, outcome: Jtt978Outcome, transcript: Transcript,
    startedMs: number): Promise<TapReport> {
    const result = await tap.finish(outcome, transcript);
    this.logOutcome('transaction', outcome, result.reason);
    const psamRefusal = tap.psamRefused();
    if (psamRefusal !== null) return this.refusePsam(psamRefusal, startedMs);
    if (tap.denyListed()) return this.refuseDenyListed(tap, outcome, result, startedMs);
    if (outcome.reason === 'psam-refused') return this.psamFailedInTap(outcome, startedMs);
    const seqs = [result.greySeq, result.finalSeq].filter((s): s is number => s !== null);
    const card = outcome.record?.applicationSerial ?? null;
    const decision = result.tap;
    if (result.outcome === 'approved' && decision !== null) {
      const view = tunionViewApproved(result.amountMinor, result.balanceMinor ?? 0,
        { tap: decision.tap, stop: this.stopOf(decision), penaltyMinor: decision.penaltyMinor });
      return this.show(view, startedMs, result, card, seqs);
    }
    const view = this.refusedView(tap, outcome);
    return this.show(view, startedMs, { ...result, amountMinor: 0 }, card, seqs);
  }

  /**
   * A deny-listed T-Union card: the deny-list screen whatever the kernel's end (blocked, or
   * the block refused by card or PSAM, or the card pulled during it: the card is refused in
   * every case, and blocked at its next tap if not now). The block record (journal_tunion.ts)
   * holds the card number for the issuer; the log and the report name the card masked as a
   * PAN is (first 6, last 4 digits): the list's members are not logged.
   */
  private async refuseDenyListed(tap: TunionTap, outcome: Jtt978Outcome,
    result: TunionTapResult, startedMs: number): Promise<TapReport> {
    const serial = tap.cardData()?.applicationSerial ?? '';
    const masked = maskPan(serial);
    this.ports.log.log({
      event: 'tunion-deny-list', card: masked, blocked: outcome.blocked,
      kind: outcome.kind, reason: outcome.reason, status: outcome.statusName,
    });
    if (result.blockSeq === null) {
      this.ports.log.log({ event: 'journal-error', kind: 'tunion_blocked',
        detail: panScrub(result.reason) });
    }
    const view = tunionViewDeclined('deny-list');
    return this.showView(view, startedMs, {
      reason: outcome.blocked ? 'deny-list, blocked'
        : `deny-list, not blocked: ${outcome.kind} ${outcome.statusName}`,
      panMasked: masked, amountMinor: null, balanceMinor: result.balanceMinor, fareRule: null,
      journalSeqs: [result.blockPendingSeq, result.blockSeq]
        .filter((s): s is number => s !== null),
      recovered: false,
    });
  }

  /**
   * The PSAM refused INITIALIZE SAM FOR PURCHASE, answered it with bytes that are no answer,
   * or was lost (before DEBIT: nothing was taken). The card is good: 请使用其他卡 (code 76), as
   * while the PSAM is gone, not 卡片拒绝交易. A PSAM that failed (no status word: garbage, or
   * the link; `detail` < 0) is logged (psam-error, a warning) and powered off, so that the
   * next T-Union card finds it reopened (psam-back) or down (psam-down), rate-limited: it
   * answered every rider with garbage, each card then refusing a MAC1 from it.
   */
  private async psamFailedInTap(outcome: Jtt978Outcome, startedMs: number): Promise<TapReport> {
    const psam = this.keeper.current();
    if (outcome.detail >= 0) {
      // A status word (a key it has not got for this card's issuer): the PSAM serves on; the
      // word goes to the log (it was in no line, and the tap was called psam-unavailable).
      const sw = outcome.detail.toString(16).toUpperCase().padStart(4, '0');
      this.ports.log.log({ event: 'psam-refused', sw });
      const view = tunionViewRefused('psam-unavailable');
      return this.showView(view, startedMs, {
        reason: `tunion-psam-refused ${sw}`, panMasked: null, amountMinor: null,
        balanceMinor: null, fareRule: null, journalSeqs: [], recovered: false,
      });
    }
    if (psam !== null) {
      this.ports.log.log({ event: 'psam-error', error: 'refused',
        detail: kernelStatusName(outcome.detail) });
      await psam.port.powerOff();
    }
    return this.refusePsam('psam-unavailable', startedMs);
  }

  /**
   * A T-Union card while the PSAM is gone (code 76, as without one) or out of its dates (code
   * 79): refused with 请使用其他卡 (the card is good), nothing asked of the PSAM.
   */
  private async refusePsam(why: TunionPsamRefusal, startedMs: number): Promise<TapReport> {
    const psam = this.keeper.current();
    this.ports.log.log({ event: 'tunion-refused', reason: why,
      validFrom: psam?.validFromDigits ?? null, validTo: psam?.validToDigits ?? null });
    const view = tunionViewRefused(why === 'psam-unavailable' ? 'psam-unavailable' : 'psam-dates');
    return this.showView(view, startedMs, {
      reason: `tunion-${why}`, panMasked: null, amountMinor: null, balanceMinor: null,
      fareRule: null, journalSeqs: [], recovered: false,
    });
  }

  /**
   * A T-Union card the kernel handed back unconfigured (ERR_JTT978_NOT_CONFIGURED). Without a
   * PSAM: refused with its own screen. With one configured that has not opened since the
   * start: opened now (rate-limited as at a decision point); once open and given to the kernel
   * (here, outside the transaction) 'psam-back' asks the caller to run the tap again, else the
   * card is refused as while a PSAM is gone.
   */
  async refuseUnconfigured(startedMs: number, uidHex: string)
    : Promise<TapReport | 'psam-back'> {
    if (!this.keeper.awaitingFirstOpen()) return this.refuseNoPsam(startedMs, uidHex);
    if ((await this.keeper.reopen()) === 'changed') {
      this.reconfigureDue = true;
      if (this.refresh()) return 'psam-back';
    }
    return this.refusePsam('psam-unavailable', startedMs);
  }

  /** A T-Union card on a validator without a PSAM: refused with its own screen and log line. */
  async refuseNoPsam(startedMs: number, uidHex: string): Promise<TapReport> {
    this.ports.log.log({ event: 'tunion-refused', reason: 'no-psam', uid: uidHex });
    const view = tunionViewRefused('no-psam');
    return this.showView(view, startedMs, {
      reason: 'tunion-no-psam', panMasked: null, amountMinor: null, balanceMinor: null,
      fareRule: null, journalSeqs: [], recovered: false,
    });
  }

  /**
   * Finishes this card's open grey records (newest first, within the torn window): the card
   * debited itself → the final record with the TAC from GET TRANSACTION PROOF, shown as paid;
   * not debited (or another card on this UID) → null, and the tap goes on as a new purchase,
   * whose final settles the grey (same card and ATC); the recovery itself torn → 请重刷.
   */
  async recover(uidHex: string, transceive: CardTransceive, startedMs: number)
    : Promise<TapReport | null> {
    if (this.keeper.current() === null) return null;
    const windowMs = this.ports.params().fares.tornWindowSec * 1000;
    const nowWallMs = this.ports.clock.wallMs();
    const uid = uidHex.toUpperCase();
    const candidates = this.ports.journal.tunionOpenGreys()
      .filter((g) => g.entry.card.uidHex === uid && nowWallMs - g.timeWallMs < windowMs)
      .sort((a, b) => b.seq - a.seq);
    for (const grey of candidates) {
      const report = await this.recoverOne(grey, transceive, startedMs);
      if (report !== null) return report;
    }
    return null;
  }

  private async recoverOne(grey: TunionOpenGrey, transceive: CardTransceive, startedMs: number)
    : Promise<TapReport | null> {
    const io: MultiAppSessionIo = {
      transceive,
      psamTransceive: this.psamTransceive,
      // A recovery asks nothing: it only finishes what the grey record began.
      decide: () => 'refused',
      decideJtt978: () => ({ kind: 'refused' }),
      precommit: () => false,
    };
    const kernelRecord = Uint8Array.from(Buffer.from(grey.entry.kernelRecordHex, 'hex'));
    const outcome = await this.recoveryConfirmed(grey, io, kernelRecord);
    if (outcome === null) return null;
    const record = outcome.record;
    const masked = tunionCardMasked(grey.entry.card.serialDigits);
    if (outcome.kind === 'approved' && record !== null) {
      const final = this.finalOf(grey, record.balanceAfterMinor, record.tac);
      const written = await this.ports.journal.append(final);
      if (!written.ok) {
        const { error, detail } = written;
        this.ports.log.log({ event: 'journal-error', kind: 'tunion_final', error, detail });
      }
      const view = tunionViewApproved(final.purchase.amountMinor, final.balanceAfterMinor,
        transitOf(final.ride));
      return this.showView(view, startedMs, {
        reason: written.ok ? 'recovered' : `recovered, final not journalled: ${written.detail}`,
        panMasked: masked, amountMinor: final.purchase.amountMinor,
        balanceMinor: final.balanceAfterMinor, fareRule: `tunion-${final.ride.tap}`,
        journalSeqs: written.ok ? [written.value.seq] : [], recovered: true,
      });
    }
    if (outcome.kind === 'recovery-not-pending') return null;
    // Torn again (card pulled during the recovery), a fault: the grey stays open.
    return this.showView(tunionViewDeclined('link-lost'), startedMs, {
      reason: `tunion-recovery ${outcome.kind}: ${outcome.reason}`, panMasked: masked,
      amountMinor: null, balanceMinor: null, fareRule: null, journalSeqs: [], recovered: false,
    });
  }

  /**
   * The recovery's outcome; a 'nothing pending here' only when a second recovery (reads only:
   * SELECT, 0015, balance, 0018, proof) says the same. A card answer damaged on its way back
   * (a UART frame's 8-bit checksum misses flips that cancel: a balance, a log entry naming
   * another terminal) reads as 'not debited here', and the purchase that follows charges a
   * card that had paid. The second run that disagrees decides (it finished the debit, or the
   * grey stays open: torn). Null: not this application's record.
   */
  private async recoveryConfirmed(grey: TunionOpenGrey, io: MultiAppSessionIo,
    kernelRecord: Uint8Array): Promise<Jtt978Outcome | null> {
    const first = await runCardRecovery(this.ports.kernel, io, kernelRecord);
    if (first.app !== 'jtt978') return null;
    this.logOutcome('recovery', first.outcome, `grey ${grey.seq}`);
    if (first.outcome.kind !== 'recovery-not-pending') return first.outcome;
    const second = await runCardRecovery(this.ports.kernel, io, kernelRecord);
    if (second.app !== 'jtt978') return null;
    this.logOutcome('recovery', second.outcome, `grey ${grey.seq}, again`);
    const same = second.outcome.kind === 'recovery-not-pending'
      && second.outcome.reason === first.outcome.reason
      && second.outcome.detail === first.outcome.detail;
    if (same || second.outcome.kind !== 'recovery-not-pending') return second.outcome;
    return { ...second.outcome, kind: 'torn', reason: 'link-lost' };
  }

  /** The final record of a grey the card proved it debited (GET TRANSACTION PROOF). */
  private finalOf(grey: TunionOpenGrey, balanceAfterMinor: number, tacHex: string)
    : TunionFinalEntry {
    const params = this.ports.params();
    const { card, purchase, ride } = grey.entry;
    return {
      kind: 'tunion_final', greySeq: grey.seq, card, purchase, ride, balanceAfterMinor,
      tacHex: tacHex.toUpperCase(), terminalId: params.terminal.terminalId,
      paramsVersion: params.version,
      // GET TRANSACTION PROOF gives the TAC; no PSAM checks a MAC2 of the torn debit.
      mac2Verified: false,
    };
  }

  private stopOf(decision: NonNullable<TunionTapResult['tap']>): number {
    if (decision.tap === 'alighting') return decision.record.alighting?.stop ?? 0;
    return decision.tap === 'boarding' ? decision.record.boarding.stop : 0;
  }

  private refusedView(tap: TunionTap, outcome: Jtt978Outcome): TapView {
    if (outcome.reason === 'host-refused') {
      if (tap.greyFailed()) return tunionViewRefused('journal');
      const refusal = tap.refusal();
      if (refusal === 'stopUnknown') return tunionViewRefused('stop-unknown');
      if (refusal === 'recordUnreadable') return tunionViewRefused('record-unreadable');
      if (refusal === 'balanceBelowFare') return tunionViewDeclined('insufficient-balance');
    }
    if (outcome.kind === 'torn' || outcome.kind === 'fault' || outcome.kind === 'try-again') {
      return tunionViewDeclined('link-lost');
    }
    return tunionViewDeclined(outcome.reason);
  }

  private async show(
    view: TapView,
    startedMs: number,
    result: TunionTapResult,
    serial: string | null,
    journalSeqs: readonly number[],
  ): Promise<TapReport> {
    const decision = result.tap;
    return this.showView(view, startedMs, {
      reason: result.reason,
      panMasked: serial === null ? null : tunionCardMasked(serial),
      amountMinor: result.outcome === 'approved' ? result.amountMinor : null,
      balanceMinor: result.balanceMinor,
      fareRule: decision === null ? null : `tunion-${decision.tap}`,
      journalSeqs,
      recovered: false,
    });
  }

  private async showView(
    view: TapView,
    startedMs: number,
    details: Omit<TapReport, 'startedMs' | 'endedMs' | 'result'>,
  ): Promise<TapReport> {
    const shown = await this.ports.display.show(view.screen);
    if (!shown.ok) {
      this.ports.log.log({ event: 'display-error', error: shown.error, detail: shown.detail });
    }
    const signalled = await this.ports.indicator.signal(view.signal);
    if (!signalled.ok) {
      const { error, detail } = signalled;
      this.ports.log.log({ event: 'indicator-error', error, detail });
    }
    return { startedMs, endedMs: this.ports.clock.nowMs(), result: view.result, ...details };
  }

  private logOutcome(phase: string, outcome: Jtt978Outcome, note: string): void {
    this.ports.log.log({
      event: 'kernel-outcome', app: 'jtt978', phase, kind: outcome.kind,
      reason: outcome.reason, status: outcome.statusName, debitSent: outcome.debitSent,
      note,
    });
  }
}
