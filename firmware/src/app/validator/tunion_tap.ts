// One T-Union (JT/T 978) tap above the kernel: the fare from the card's 001A record, the
// interop records to write, the grey record durable before DEBIT, the final record with the
// TAC, and what the rider is shown.
//
// The kernel's host session (assembly/host/jtt978_session.ts) calls `decide` at its decision
// point and `precommit` before DEBIT FOR PURCHASE (domain.md §7.4 steps 4-6); `finish` turns
// its outcome into journal records and a screen. A boarding costs nothing but is still a
// compound purchase of 0: UPDATE CAPP DATA CACHE commits only with the DEBIT.

import { decodeJtt978Record } from '../../../../assembly/host/jtt978_session.js';
import type {
  DeviceExchange,
  Jtt978CardData,
  Jtt978Decision,
  Jtt978Outcome,
  Jtt978Record,
  Transcript,
} from '../../../../assembly/host/jtt978_session.js';
import type { DenyList } from '../deny_list/deny_list.js';
import type { Journal } from '../journal/journal.js';
import { TUNION_BLOCK_SW_OK } from '../journal/journal_tunion.js';
import type {
  TunionBlockedEntry, TunionBlockFinalOutcome, TunionCard, TunionPurchase, TunionRide,
} from '../journal/journal_tunion.js';
import { jtt978DateTimeDigits } from '../fare/jtt978_time.js';
import type { FareParams } from '../params/params_files.js';
import {
  RECORD_1E_INDUSTRY_BUS,
  RECORD_1E_TYPE,
  record1ADecode,
  record1AEncode,
  record1EEncode,
} from '../fare/jtt978_records.js';
import { transitLineFor, transitTapDecide } from '../fare/tap_in_out.js';
import type {
  TransitDecision, TransitRefusal, TransitTapPlace,
} from '../fare/tap_in_out.js';

/** Where the bus is and who it is, for one tap. */
export interface TunionTapContext {
  readonly fares: FareParams;
  readonly terminalId: string;
  readonly lineId: string;
  readonly paramsVersion: number;
  /** The PSAM's terminal number (file 0016), 12 hex digits. */
  readonly terminalNumberHex: string;
  readonly stop: number;
  readonly vehicle: string;
  readonly direction: number;
  readonly nowWallMs: number;
  readonly utcOffsetMinutes: number;
  readonly uidHex: string;
  /** The set's deny list (T-Union cards listed by their serial, deny_list/README.md). */
  readonly denyList: Pick<DenyList, 'containsTunion'>;
  /**
   * Asked at the decision point: why the PSAM may not sign a purchase (gone, or out of its
   * dates), or null when it may (it may reopen an unpowered PSAM first).
   */
  readonly psamCheck: () => Promise<TunionPsamRefusal | null>;
}

/**
 * Why the PSAM may not sign a purchase: past its end date, before its start date, or not in
 * its slot and powered (pulled, or unpowered by an error and not back yet).
 */
export type TunionPsamRefusal = 'psam-expired' | 'psam-not-yet-valid' | 'psam-unavailable';

/** What the rider sees and hears, and what the tap wrote. */
export interface TunionTapResult {
  readonly outcome: 'approved' | 'declined' | 'alreadyPaid' | 'tryAgain' | 'failed';
  readonly screen: readonly string[];
  readonly amountMinor: number;
  readonly balanceMinor: number | null;
  /** The fare decision of an accepted tap (null when refused before a purchase). */
  readonly tap: Extract<TransitDecision, { kind: 'charge' }> | null;
  /** Journal seqs of the grey and final records (null when not written). */
  readonly greySeq: number | null;
  readonly finalSeq: number | null;
  /** Journal seq of a deny-listed card's final block record (null when none was written). */
  readonly blockSeq: number | null;
  /** Journal seq of its pending block record, written before APPLICATION BLOCK (or null). */
  readonly blockPendingSeq: number | null;
  readonly reason: string;
}

/** True for the card's APPLICATION BLOCK `84 1E` (domain.md 7.6). */
export function tunionIsBlockCommand(capdu: Uint8Array): boolean {
  return capdu[0] === 0x84 && capdu[1] === 0x1e;
}

/** The card's APPLICATION BLOCK among a tap's exchanges, or null. */
function blockExchange(transcript: Transcript): DeviceExchange | null {
  for (let i = transcript.length - 1; i >= 0; i -= 1) {
    const exchange = transcript[i];
    if (exchange?.device === 'card' && tunionIsBlockCommand(exchange.capdu)) return exchange;
  }
  return null;
}

/**
 * How the block of a deny-listed card ended, from the kernel's outcome (its flag: the card
 * answered 9000 to APPLICATION BLOCK) and the tap's exchanges (was the command sent, and what
 * did the card answer). A command sent and unanswered is `not-confirmed`: the card may have
 * blocked itself before it left the field.
 */
export function tunionBlockOf(outcome: Jtt978Outcome, transcript: Transcript)
  : { blockOutcome: TunionBlockFinalOutcome; blockSwHex: string } {
  const sent = blockExchange(transcript);
  const rapdu = sent?.rapdu ?? null;
  const swHex = rapdu === null || rapdu.length < 2 ? ''
    : Buffer.from(rapdu.subarray(rapdu.length - 2)).toString('hex').toUpperCase();
  if (outcome.blocked || swHex === TUNION_BLOCK_SW_OK) {
    return { blockOutcome: 'blocked', blockSwHex: TUNION_BLOCK_SW_OK };
  }
  if (sent === null) return { blockOutcome: 'not-sent', blockSwHex: '' };
  return { blockOutcome: 'not-confirmed', blockSwHex: swHex };
}

function yuan(minor: number): string {
  return `${Math.floor(minor / 100)}.${(minor % 100).toString().padStart(2, '0')}元`;
}

/** The T-Union side of one kernel session (decision, pre-commit, outcome). */
export class TunionTap {
  private card: Jtt978CardData | null = null;
  private decision: TransitDecision | null = null;
  private greySeq: number | null = null;
  private refusalValue: TransitRefusal | null = null;
  private precommitFailed = false;
  private denied = false;
  /** Seq of the block's pending record (durable before APPLICATION BLOCK), or null. */
  private blockPendingSeq: number | null = null;
  /** True when APPLICATION BLOCK was held back: its pending record was not durable. */
  private blockWithheld = false;
  private psamRefusalValue: TunionPsamRefusal | null = null;

  constructor(
    private readonly journal: Pick<Journal, 'append' | 'lastSeq'>,
    private readonly context: TunionTapContext,
  ) {}

  /**
   * The decision point: a PSAM gone or outside its validity dates refuses every card; a
   * deny-listed card (its 0015 application serial's token is on the list) is answered
   * 'deny-list', on which the kernel blocks its application through the PSAM (APPLICATION
   * BLOCK, domain.md 7.4); else the fare of this tap from the card's 001A record
   * (tap_in_out.ts) and the 001A/001E records to write. A card whose record does not decode,
   * or a bus that does not know its stop, is refused without a purchase; a repeated tap is a
   * duplicate.
   */
  async decide(card: Jtt978CardData): Promise<Jtt978Decision> {
    this.card = card;
    // A PSAM that is gone or out of its dates can neither sign a purchase the issuer will
    // clear nor block a card: nothing is asked of it (no INITIALIZE, no block).
    const psamRefusal = await this.context.psamCheck();
    if (psamRefusal !== null) {
      this.psamRefusalValue = psamRefusal;
      return { kind: 'refused' };
    }
    if (this.context.denyList.containsTunion(card.applicationSerial)) {
      this.denied = true;
      return { kind: 'deny-list' };
    }
    // An interop card keeps its ride in 001A record 02, a local-only card in 0019 record 02
    // (written with `80 DC 02 C8 80` and 128 bytes, domain.md 7.4 step 4: the same size, and
    // here the same layout as 001A, the only one the reconstruction gives).
    const sfi: 0x19 | 0x1a = card.interop ? 0x1a : 0x19;
    const previous = card.record.length === 0 || card.recordSfi !== sfi ? null
      : record1ADecode(card.record);
    const prior = previous === null ? null : previous.ok ? previous.value : previous.reason;
    // A recovery's balance is the card's after a debit that may or may not have happened.
    const balance = card.recovery ? null : card.balanceMinor;
    const decision = transitTapDecide(this.context.fares, this.place(), prior, balance);
    if (decision.kind === 'refuse') {
      this.decision = null;
      this.refusalValue = decision.reason;
      return { kind: decision.reason === 'alreadyTapped' ? 'duplicate-tap' : 'refused' };
    }
    this.decision = decision;
    // An amount above the balance goes to the card anyway: its 9401 is the authority, and the
    // rider is told 余额不足 (the balance read before may be stale on a torn re-tap).
    return {
      kind: 'purchase',
      amountMinor: decision.amountMinor,
      type: 'compound',
      updates: [
        { sfi, recordNumber: 2, data: record1AEncode(decision.record) },
        { sfi: 0x1e, recordNumber: 0, data: this.detailRecord(decision, card) },
      ],
    };
  }

  /** Makes the grey record durable before DEBIT; false abandons the purchase. */
  async precommit(grey: Uint8Array): Promise<boolean> {
    const card = this.card;
    const decision = this.decision;
    if (card === null || decision === null || decision.kind !== 'charge') return false;
    let record: Jtt978Record;
    try {
      record = decodeJtt978Record(grey);
    } catch {
      return false;
    }
    const written = await this.journal.append({
      kind: 'tunion_grey',
      card: this.cardOf(card),
      purchase: this.purchaseOf(card, record),
      ride: this.rideOf(decision),
      kernelRecordHex: Buffer.from(grey).toString('hex').toUpperCase(),
    });
    if (!written.ok) {
      this.precommitFailed = true;
      return false;
    }
    this.greySeq = written.value.seq;
    return true;
  }

  /**
   * True when `capdu` is the APPLICATION BLOCK of this tap's deny-listed card, which goes
   * through `blockTransceive`; any other command goes straight to the card.
   */
  holdsBlock(capdu: Uint8Array): boolean {
    return this.denied && this.card !== null && tunionIsBlockCommand(capdu);
  }

  /**
   * Sends APPLICATION BLOCK through `transceive` once its pending record is durable: a card
   * that blocks itself and a power cut before the final record must still leave a record for
   * its issuer (its next tap reads 6283 and writes none). A pending record that cannot be
   * written holds the command back: resolves null (the link lost, for the kernel), and the
   * block is recorded as not sent.
   */
  async blockTransceive(capdu: Uint8Array,
    transceive: (capdu: Uint8Array) => Promise<Uint8Array | null>): Promise<Uint8Array | null> {
    const card = this.card;
    if (card === null) throw new Error('APPLICATION BLOCK before the decision point');
    if (this.blockPendingSeq === null && !this.blockWithheld) {
      const written = await this.journal.append(
        this.blockEntry(card, { blockOutcome: 'pending', blockSwHex: '' }, null));
      if (written.ok) this.blockPendingSeq = written.value.seq;
      else this.blockWithheld = true;
    }
    return this.blockWithheld ? null : transceive(capdu);
  }

  /** Why the fare rules refused the tap at the decision point (null when they did not). */
  refusal(): TransitRefusal | null {
    return this.refusalValue;
  }

  /** Why the PSAM refused the tap at the decision point (gone, or its dates), or null. */
  psamRefused(): TunionPsamRefusal | null {
    return this.psamRefusalValue;
  }

  /** True when the card was found on the deny list at the decision point. */
  denyListed(): boolean {
    return this.denied;
  }

  /** The card the kernel read at the decision point (null when it never got there). */
  cardData(): Jtt978CardData | null {
    return this.card;
  }

  /** True when the grey record could not be made durable (the purchase was abandoned). */
  greyFailed(): boolean {
    return this.precommitFailed;
  }

  /**
   * Journals the final record of an approved purchase, or the block record of a deny-listed
   * card, and says what to show. `transcript`: the tap's exchanges (a block's outcome).
   */
  async finish(outcome: Jtt978Outcome, transcript: Transcript): Promise<TunionTapResult> {
    const decision = this.decision?.kind === 'charge' ? this.decision : null;
    const base = { tap: decision, greySeq: this.greySeq, finalSeq: null, blockSeq: null,
      blockPendingSeq: null, reason: outcome.reason };
    if (this.denied && this.card !== null) {
      return { ...base, ...this.refusalOf(outcome), amountMinor: 0,
        balanceMinor: outcome.balanceMinor,
        ...await this.blockJournal(this.card, outcome, transcript) };
    }
    const record = outcome.record;
    if (outcome.kind !== 'approved' || record === null || this.card === null
      || decision === null) {
      return { ...base, ...this.refusalOf(outcome), amountMinor: 0,
        balanceMinor: outcome.balanceMinor };
    }
    const written = await this.journal.append({
      kind: 'tunion_final',
      greySeq: this.greySeq,
      card: this.cardOf(this.card),
      purchase: this.purchaseOf(this.card, record),
      ride: this.rideOf(decision),
      balanceAfterMinor: record.balanceAfterMinor,
      tacHex: record.tac.toUpperCase(),
      terminalId: this.context.terminalId,
      paramsVersion: this.context.paramsVersion,
      mac2Verified: record.mac2Verified,
    });
    if (!written.ok) {
      // The card debited itself: the rider paid and is told so. The grey record stays open
      // in the journal for the back office, which settles it from the card's 0018 log.
      return { ...base, outcome: 'approved', screen: this.screen(decision, record.amountMinor,
        record.balanceAfterMinor), amountMinor: record.amountMinor,
      balanceMinor: record.balanceAfterMinor, reason: `final not journalled: ${written.detail}` };
    }
    return {
      ...base, outcome: 'approved', finalSeq: written.value.seq,
      screen: this.screen(decision, record.amountMinor, record.balanceAfterMinor),
      amountMinor: record.amountMinor, balanceMinor: record.balanceAfterMinor,
    };
  }

  /**
   * The final block record of a deny-listed card (journal_tunion.ts), durable before the
   * screen, naming the pending record written before the command: the issuer confirms the
   * block and customer service tells the rider why from it.
   */
  private async blockJournal(card: Jtt978CardData, outcome: Jtt978Outcome,
    transcript: Transcript)
    : Promise<Pick<TunionTapResult, 'blockSeq' | 'blockPendingSeq' | 'reason'>> {
    const blockPendingSeq = this.blockPendingSeq;
    const ended = this.blockWithheld ? { blockOutcome: 'not-sent' as const, blockSwHex: '' }
      : tunionBlockOf(outcome, transcript);
    const written = await this.journal.append(this.blockEntry(card, ended, blockPendingSeq));
    if (!written.ok) {
      return { blockSeq: null, blockPendingSeq,
        reason: `block not journalled: ${written.detail}` };
    }
    return { blockSeq: written.value.seq, blockPendingSeq, reason: outcome.reason };
  }

  private blockEntry(card: Jtt978CardData,
    ended: Pick<TunionBlockedEntry, 'blockOutcome' | 'blockSwHex'>, pendingSeq: number | null)
    : TunionBlockedEntry {
    const c = this.context;
    return {
      kind: 'tunion_blocked',
      card: this.cardOf(card),
      dateTimeDigits: jtt978DateTimeDigits(c.nowWallMs, c.utcOffsetMinutes),
      terminalNumberHex: c.terminalNumberHex.toUpperCase(),
      terminalId: c.terminalId,
      lineId: c.lineId,
      paramsVersion: c.paramsVersion,
      ...ended,
      pendingSeq,
    };
  }

  private place(): TransitTapPlace {
    const c = this.context;
    const next = this.journal.lastSeq() + 1;
    return {
      lineId: c.lineId, stop: c.stop, vehicle: c.vehicle, terminalHex: c.terminalNumberHex,
      serialDigits: next.toString().padStart(16, '0'), direction: c.direction,
      nowWallMs: c.nowWallMs, utcOffsetMinutes: c.utcOffsetMinutes,
    };
  }

  private detailRecord(decision: Extract<TransitDecision, { kind: 'charge' }>,
    card: Jtt978CardData): Uint8Array {
    const line = transitLineFor(this.context.fares, this.context.lineId);
    const type = decision.tap === 'boarding' ? RECORD_1E_TYPE.EP_IN
      : decision.tap === 'alighting' ? RECORD_1E_TYPE.EP_OUT : RECORD_1E_TYPE.EP_SINGLE;
    const table = this.context.fares.transit;
    return record1EEncode({
      type, terminalHex: this.context.terminalNumberHex.padStart(16, '0'),
      industry: RECORD_1E_INDUSTRY_BUS, lineCode: line.lineCode,
      amountMinor: decision.amountMinor,
      balanceAfterMinor: card.balanceMinor - decision.amountMinor,
      dateTimeDigits: (decision.record.alighting ?? decision.record.boarding).dateTimeDigits,
      cityCodeHex: table?.cityCodeHex ?? '0000',
      institutionHex: table?.institutionHex ?? '0000000000000000',
      incompleteMaxMinor: line.kind === 'segment' ? line.markedAmountMinor : 0,
      maxRideMin: line.kind === 'segment' ? line.maxRideMin : 0,
    });
  }

  private cardOf(card: Jtt978CardData): TunionCard {
    return {
      issuerIdHex: card.issuerId.toUpperCase(), serialDigits: card.applicationSerial,
      cityCodeHex: card.city.toUpperCase(), uidHex: this.context.uidHex,
    };
  }

  /** The purchase as the kernel's (grey or final) record states it. */
  private purchaseOf(card: Jtt978CardData, record: Jtt978Record): TunionPurchase {
    return {
      transactionType: record.transactionType, atc: record.atc, amountMinor: record.amountMinor,
      balanceBeforeMinor: card.balanceMinor, terminalNumberHex: record.terminalNumber.toUpperCase(),
      terminalSerial: record.terminalSerial, dateTimeDigits: record.dateTime,
    };
  }

  private rideOf(decision: Extract<TransitDecision, { kind: 'charge' }>): TunionRide {
    const r = decision.record;
    return {
      tap: decision.tap, lineId: this.context.lineId, lineCode: r.boarding.lineCode,
      boardingStop: decision.tap === 'flat' ? 0 : r.boarding.stop,
      alightingStop: decision.tap === 'alighting' ? (r.alighting?.stop ?? 0) : 0,
      fareMinor: decision.fareMinor, discountMinor: decision.discountMinor,
      penaltyMinor: decision.penaltyMinor,
    };
  }

  private screen(decision: Extract<TransitDecision, { kind: 'charge' }>, amountMinor: number,
    balanceMinor: number): string[] {
    const head = decision.tap === 'boarding' ? '上车成功' : decision.tap === 'alighting'
      ? '下车成功' : '交易成功';
    const penalty = decision.penaltyMinor > 0 ? [`补票 ${yuan(decision.penaltyMinor)}`] : [];
    return [head, ...penalty, `扣款 ${yuan(amountMinor)}`, `余额 ${yuan(balanceMinor)}`];
  }

  private refusalOf(outcome: Jtt978Outcome): Pick<TunionTapResult, 'outcome' | 'screen'> {
    switch (outcome.reason) {
      case 'duplicate-tap':
        return { outcome: 'alreadyPaid', screen: ['请勿重复刷卡'] };
      case 'insufficient-balance':
        return { outcome: 'declined', screen: ['交易失败', '余额不足'] };
      case 'link-lost':
        return { outcome: 'tryAgain', screen: ['请重刷'] };
      case 'deny-list':
      case 'card-blocked':
        return { outcome: 'declined', screen: ['黑名单卡', '此卡已被禁止使用'] };
      case 'expired':
        return { outcome: 'declined', screen: ['交易失败', '卡片已过期'] };
      default:
        return { outcome: outcome.kind === 'declined' ? 'declined' : 'failed',
          screen: ['交易失败', `代码 ${outcome.reason}`] };
    }
  }
}
