// One card's tap: recovery of a torn tap, the fare, the kernel run, the journal, the outcome.
//
// Ordering rules (domain.md 4.1-4.4, style.md 10.5): a grey (pending) journal record is durable
// before the kernel sends the command on which the card commits; the final record is durable
// before the display says approved; a torn tap is persisted at once and recovered GPO-less on
// the next tap of the same card.

import type { DetectedCard } from '../../../../hal/src/ports/reader_port.js';
import { KernelStatus } from '../../../../assembly/host/abi.gen.js';
import {
  runCardTransaction,
  type CardOutcome,
  type MultiAppSessionIo,
} from '../../../../assembly/host/jtt978_session.js';
import {
  runQpbocRecovery,
  qpbocSnapshot,
  type QpbocCardIdentity,
  type QpbocHostDecision,
  type QpbocLinkLostCause,
  type QpbocOutcome,
  type QpbocPath,
  type QpbocSessionIo,
} from '../../../../assembly/host/qpboc_session.js';
import { HalStatus, type HalResult } from '../../../../hal/src/ports/hal_status.js';
import { fareQuote, type FareDecision } from '../fare/fare_policy.js';
import type { UncertainTap } from '../journal/journal_state.js';
import {
  iccDataWithTerminal,
  TerminalDataTlvMemo,
  transactionSequenceCounter,
  transactionSequenceCounterOf,
} from './tap_icc_data.js';
import { recoveryOf, tornRecordOf, type CardIdentity } from './tap_records.js';
import { TapJournal } from './tap_journal.js';
import { TunionTaps } from './tunion_session.js';
import type { TunionTap } from './tunion_tap.js';
import { uidIsRandom, type UidMemory } from './uid_memory.js';
import type { TapReport, ValidatorConfig, ValidatorPorts } from './validator_ports.js';
import { localDateTime } from './validator_time.js';
import { hexUpper } from '../../../../assembly/host/hex_upper.js';

/** How often one tap may restart the kernel because the PAN changed the fare. */
const FARE_RESTARTS_MAX = 1;

/** A card's identity on the wire: UID (type A) or PUPI (type B) as hex. */
export function uidHexOf(card: DetectedCard): string {
  const bytes = card.technology === 'ISO14443A' ? card.uid : card.pupi;
  return hexUpper(bytes);
}

/** The reader as the kernel session sees it: an answer, or null with the cause of the loss. */
class ReaderIo implements QpbocSessionIo {
  linkLostCause: QpbocLinkLostCause = 'card-gone';
  constructor(
    private readonly ports: ValidatorPorts,
    private readonly timeoutMs: number,
    readonly decide: (identity: QpbocCardIdentity) => Promise<QpbocHostDecision>,
  ) {}

  /**
   * Settles one tick after the reader's answer, as an async method awaiting it would, with
   * `then`'s promise only: no async frame per APDU (a dozen a tap).
   */
  transceive(capdu: Uint8Array): Promise<Uint8Array | null> {
    return this.ports.reader.transceive(capdu, { timeoutMs: this.timeoutMs }).then(this.answerOf);
  }

  private readonly answerOf = (answer: HalResult<Uint8Array>): Uint8Array | null => {
    if (answer.ok) return answer.value;
    this.linkLostCause =
      answer.error === HalStatus.TIMEOUT
        ? 'timeout'
        : answer.error === HalStatus.CARD_GONE
          ? 'card-gone'
          : 'reader-error';
    return null;
  };
}

/**
 * An application's own rule at the decision point, once the card is identified and before it
 * commits (the gate: a ticket bound to the card, anti-passback, capacity). 'stop' ends the tap
 * with nothing staged and nothing journalled; the caller then acts and shows its own screen.
 */
export interface TapAdmissionHook {
  /** `path`: how the kernel is taking this card (e-cash, ODA for online, the full flow). */
  decide(pan: string, psn: number, path: QpbocPath): Promise<'charge' | 'stop'>;
}

/** Processes detected cards; one instance lives as long as the validator. */
export class TapSession {
  private readonly journal: TapJournal;
  /** T-Union cards: the PSAM, their fares and records, their torn recovery. */
  readonly tunion: TunionTaps;
  /** The last attempt to end open taps' watch failed (logged): `idle` waits for a tap. */
  private expireFailed = false;
  /** The UID of the tap under way when it names its card (`uids`), else null. */
  private uidKept: string | null = null;
  /** 9F33 9F35 9F1E 9F09 of the clearing records (withTerminalData). */
  private readonly terminalTlv = new TerminalDataTlvMemo();

  constructor(
    private readonly ports: ValidatorPorts,
    private readonly config: ValidatorConfig,
    private readonly uids: UidMemory,
    private readonly admission: TapAdmissionHook | null = null,
  ) {
    this.journal = new TapJournal(ports);
    this.tunion = new TunionTaps(ports, config);
  }

  /** Runs one tap of `card` to the point where the rider can be told the result. */
  async process(card: DetectedCard, startedMs: number): Promise<TapReport> {
    const uidHex = uidHexOf(card);
    await this.expireOpenTaps();
    const accept = await this.ports.journal.canAcceptTap();
    if (!accept.ok || !accept.value) {
      return this.journal.report(startedMs, 'outOfService', { reason: 'journal-full-or-failed' });
    }
    const known = this.knownByUid(card, uidHex);
    if (known !== null) {
      const quote = this.quote(known.pan, known.psn);
      if (quote.kind === 'alreadyPaid') {
        return this.journal.report(startedMs, 'alreadyPaid', {
          reason: 'duplicate-tap-uid',
          panMasked: this.ports.panVault.panMaskedOf(known.pan),
        });
      }
    }
    // The kernel finishes torn EC debits only (qpboc_torn.ts refuses an ARQC context): an ODA
    // tap holds no value on the card to finish, so the re-tap is a new transaction, and the
    // journal closes the open one after it (reconcileOdaRetap). Trying anyway fails every tap
    // in the torn window. Auto mode pays e-cash cards offline, so their torn debits are
    // finished as in EC mode; its ODA taps (cards off the e-cash path) are not candidates.
    const candidates =
      this.config.mode !== 'oda' ? this.recoveryCandidates(card, uidHex) : [];
    for (const candidate of candidates) {
      const recovered = await this.recover(candidate, uidHex, startedMs);
      if (recovered !== null) return recovered;
    }
    return this.tunionThenTransact(uidHex, known, startedMs);
  }

  /**
   * Between taps (the reader found no card): taps left open whose card did not come back end
   * their watch here (journal_expiry.ts), so a rider's tap seldom carries their records. After
   * a failure only the next tap tries again: a poll a few times a second must not log one.
   */
  async idle(): Promise<void> {
    if (!this.expireFailed) await this.expireOpenTaps();
  }

  /**
   * Taps left open whose card did not come back end their watch before the next tap is
   * taken, if `idle` has not ended it already: rare, and a few records at most.
   */
  private async expireOpenTaps(): Promise<void> {
    const journal = this.ports.journal;
    if (journal.isFailed()) return;
    const expired = await journal.expireOpenTaps();
    this.expireFailed = !expired.ok;
    if (!expired.ok) {
      this.ports.log.log({ event: 'journal-expire-failed', error: expired.error,
        detail: expired.detail });
    } else if (expired.value > 0) {
      this.ports.log.log({ event: 'open-taps-expired', count: expired.value });
    }
  }

  /**
   * A T-Union grey record of this card left open (DEBIT unanswered, power cut): finished by
   * the card's proof, or found not debited and purchased again (domain.md 7.5); then the tap.
   * A PSAM that came back different at the last T-Union tap is given to the kernel first. A
   * PSAM configured at start that opened only at this card (transact: 'psam-back') is in the
   * kernel now: the card's greys are looked at again before it is charged (once: the PSAM is
   * no longer one waiting for its first open).
   */
  private async tunionThenTransact(uidHex: string, known: CardIdentity | null,
    startedMs: number): Promise<TapReport> {
    this.tunion.refresh();
    const reader = new ReaderIo(this.ports, this.config.transceiveTimeoutMs,
      async () => 'proceed');
    const tunionRecovered = await this.tunion.recover(uidHex, (c) => reader.transceive(c),
      startedMs);
    if (tunionRecovered !== null) return tunionRecovered;
    const ended = await this.transact(uidHex, known, startedMs);
    return ended === 'psam-back' ? this.tunionThenTransact(uidHex, known, startedMs) : ended;
  }

  /**
   * The card a type A UID that is not random named at an earlier tap, and `uidKept` set so
   * this tap's PAN is remembered under it (type B PUPIs may be drawn anew, as phones' UIDs
   * are). Not with an admission hook: a gate decides a repeat itself (a paid admission nobody
   * walked through opens the lane again).
   */
  private knownByUid(card: DetectedCard, uidHex: string): CardIdentity | null {
    const named = card.technology === 'ISO14443A' && !uidIsRandom(card.uid);
    this.uidKept = named && this.admission === null ? uidHex : null;
    return this.uidKept === null ? null : this.uids.get(uidHex);
  }

  /**
   * A plastic card's UID names it at its next tap: priced (and a repeat refused) before the
   * kernel runs. A phone's random UID names nothing (`knownByUid` says which).
   */
  private rememberUid(uidHex: string, pan: string, psn: number): void {
    if (this.uidKept === uidHex) this.uids.remember(uidHex, { pan, psn, uidHex });
  }

  private quote(pan: string | null, psn: number): FareDecision {
    const params = this.ports.params();
    const token = pan === null ? null : this.ports.panVault.token(pan);
    const previous = token === null ? null : this.ports.journal.lastFinalFor(token, psn);
    const nowWallMs = this.ports.clock.wallMs();
    return fareQuote(params.fares, params.terminal.lineId, pan, previous, nowWallMs);
  }

  /**
   * The uncertain taps this card may finish, newest first: same UID, or (random UIDs of
   * phones) every uncertain tap whose card also showed a random UID, since only the card can
   * tell which one is its own (trying the newest only would charge a phone torn before another
   * phone's tear a second time). Only e-cash taps, within the torn window.
   */
  private recoveryCandidates(card: DetectedCard, uidHex: string): UncertainTap[] {
    const windowMs = this.ports.params().fares.tornWindowSec * 1000;
    const nowWallMs = this.ports.clock.wallMs();
    const fresh = (tap: UncertainTap): boolean =>
      tap.recovery.mode === 'ec' && nowWallMs - tap.timeWallMs < windowMs;
    const byUid = this.ports.journal.uncertainForUid(uidHex).filter(fresh);
    const random = card.technology === 'ISO14443A' && uidIsRandom(card.uid);
    const pool =
      byUid.length > 0 || !random
        ? byUid
        : this.ports.journal
            .uncertainAll()
            .filter((t) => fresh(t) && t.recovery.card.uidHex.startsWith('08'));
    return pool.sort((a, b) => b.seq - a.seq);
  }

  /** GPO-less recovery; null when the card has no pending transaction (go on normally). */
  private async recover(
    candidate: UncertainTap,
    uidHex: string,
    startedMs: number,
  ): Promise<TapReport | null> {
    const torn = tornRecordOf(candidate.recovery, this.ports.panVault);
    if (torn === null) {
      // Sealed under another data key or changed: the back office reconciles it from the export.
      this.ports.log.log({ event: 'recovery-unsealable', seq: candidate.seq });
      return null;
    }
    const noteSeq = await this.journal.recoveryNote(candidate);
    if (noteSeq === null) {
      return this.journal.report(startedMs, 'outOfService', { reason: 'journal-write-failed' });
    }
    const io = new ReaderIo(this.ports, this.config.transceiveTimeoutMs, async () => 'proceed');
    const recovered = await runQpbocRecovery(this.ports.kernel, io, torn);
    this.logOutcome('recovery', recovered);
    if (recovered.status === KernelStatus.ERR_TXN_TORN_RECORD_INVALID) {
      // The kernel cannot load this torn record (one another kernel version wrote, say): no
      // command reached the card. Tried at every tap, it would answer "try again" for the
      // whole torn window; the back office settles it from the export instead.
      this.ports.log.log({ event: 'recovery-record-refused', seq: candidate.seq });
      await this.journal.reconcileUnloadable(candidate);
      await this.journal.recoveryNoteEnd(noteSeq, candidate, recovered);
      return null;
    }
    if (recovered.kind === 'recovery-not-pending') {
      // Only the same physical card can close the tap: a candidate found through a random UID
      // may belong to another phone, whose different ATC says nothing about this one's debit.
      const sameCard = candidate.recovery.card.uidHex === uidHex.toUpperCase();
      if (sameCard) await this.journal.reconcileNotPending(candidate, recovered);
      await this.journal.recoveryNoteEnd(noteSeq, candidate, recovered);
      return null;
    }
    const pendingSeq = candidate.kind === 'pending' ? candidate.seq : candidate.pendingSeq;
    // The same card transaction as the torn tap (same ATC): it keeps that tap's counter.
    const outcome = this.withTerminalData(recovered, pendingSeq ?? candidate.seq);
    const fareRule = 'recovered';
    const report = await this.journal.finish(outcome, {
      startedMs,
      uidHex,
      pendingSeq,
      fareRule,
      amountMinor: candidate.recovery.amountAuthorisedMinor,
      recoveredFrom: candidate,
    });
    await this.journal.recoveryNoteEnd(noteSeq, candidate, outcome);
    return report;
  }

  private async transact(
    uidHex: string,
    known: CardIdentity | null,
    startedMs: number,
  ): Promise<TapReport | 'psam-back'> {
    let quote = this.quote(known?.pan ?? null, known?.psn ?? 0);
    for (let restart = 0; ; restart += 1) {
      if (quote.kind !== 'charge') throw new Error('a repeated tap is refused before the kernel');
      const charge = quote;
      let pendingSeq: number | null = null;
      let requote: FareDecision | null = null;
      let stopped = false;
      const decide = async (identity: QpbocCardIdentity): Promise<QpbocHostDecision> => {
        if (identity.recovery) return 'proceed';
        const psn = identity.panSequence === null ? 0 : parseInt(identity.panSequence, 16);
        this.rememberUid(uidHex, identity.pan, psn);
        if (this.ports.params().denyList.contains(identity.pan, psn)) return 'deny-list';
        if ((await this.admissionVerdict(identity.pan, psn, identity.path)) === 'stop') {
          stopped = true;
          return 'refused';
        }
        const fresh = this.quote(identity.pan, psn);
        if (fresh.kind === 'alreadyPaid') return 'duplicate-tap';
        if (fresh.amountMinor !== charge.amountMinor && restart < FARE_RESTARTS_MAX) {
          requote = fresh;
          return 'refused';
        }
        // The full flow stages nothing on the card (GENERATE AC asks for an ARQC): no commit
        // to cover with a grey record; the final record is the tap's only one.
        if (identity.path === 'full-flow') return 'proceed';
        pendingSeq = await this.writePending(uidHex, charge);
        return pendingSeq === null ? 'refused' : 'proceed';
      };
      const reader = new ReaderIo(this.ports, this.config.transceiveTimeoutMs, decide);
      const tunion = this.tunion.begin(uidHex);
      // 9F41 = the seq the tap's first record will get (its grey record, or its declined
      // record): durable, and never on two records (tap_icc_data.ts).
      const sequenceCounter = this.ports.journal.lastSeq() + 1;
      const run = await this.runKernel(this.cardIo(reader, tunion), charge.amountMinor,
        sequenceCounter);
      if (run.app === 'jtt978') {
        if (tunion === null) throw new Error('a T-Union purchase ran without a PSAM');
        return this.tunion.finish(tunion, run.outcome, run.transcript, startedMs);
      }
      const ended = run.outcome;
      this.logOutcome('transaction', ended);
      if (ended.reason === 'no-accepted-app'
        && ended.detail === KernelStatus.ERR_JTT978_NOT_CONFIGURED) {
        // The card's only accepted application is T-Union, and the kernel has no PSAM: none
        // configured, or one not opened since the start (tried now).
        return this.tunion.refuseUnconfigured(startedMs, uidHex);
      }
      if (stopped && ended.reason === 'host-refused') return admissionStopReport(startedMs, ended);
      if (requote !== null && ended.reason === 'host-refused') {
        // The PAN put the card in another fare: the card staged nothing it will keep (a new
        // GPO abandons it, domain.md 4.3), so run again at once with the right amount.
        quote = requote;
        continue;
      }
      const outcome = this.withTerminalData(ended, sequenceCounter);
      return this.journal.finish(outcome, {
        startedMs,
        uidHex,
        pendingSeq,
        fareRule: charge.rule,
        amountMinor: charge.amountMinor,
        recoveredFrom: null,
      });
    }
  }

  /** One kernel run of a tap: whatever the card's application, with this tap's inputs. */
  private runKernel(io: MultiAppSessionIo, amountMinor: number, sequenceCounter: number)
    : Promise<CardOutcome> {
    const { date, time } = localDateTime(this.ports.clock.wallMs(), this.config.utcOffsetMinutes);
    return runCardTransaction(this.ports.kernel, io, {
      mode: this.config.mode,
      amountMinor,
      date,
      time,
      unpredictableNumber: this.ports.unpredictableNumber(),
      sequenceCounter: transactionSequenceCounterOf(sequenceCounter),
    });
  }

  /**
   * The kernel's two devices and three host hooks for one tap: the reader and the qPBOC
   * decision (`reader`), the PSAM and the T-Union decision and grey record (`tunion`; without
   * a PSAM the kernel never reaches them: it hands T-Union cards back to selection).
   */
  private cardIo(reader: ReaderIo, tunion: TunionTap | null): MultiAppSessionIo {
    const send = (capdu: Uint8Array): Promise<Uint8Array | null> => reader.transceive(capdu);
    return {
      // APPLICATION BLOCK of a deny-listed T-Union card goes once its record is durable.
      transceive: (capdu) => (tunion !== null && tunion.holdsBlock(capdu)
        ? tunion.blockTransceive(capdu, send) : send(capdu)),
      psamTransceive: this.tunion.psamTransceive,
      decide: (identity) => reader.decide(identity),
      decideJtt978: (card) => tunion?.decide(card) ?? { kind: 'refused' },
      precommit: (grey) => tunion?.precommit(grey) ?? false,
    };
  }

  /** The application's own rule at the decision point ('charge' without a hook). */
  private async admissionVerdict(pan: string, psn: number, path: QpbocPath)
    : Promise<'charge' | 'stop'> {
    return this.admission === null ? 'charge' : this.admission.decide(pan, psn, path);
  }

  /** Writes the grey record from the kernel's snapshot; null when it cannot be made durable. */
  private async writePending(
    uidHex: string,
    charge: { amountMinor: number; rule: string },
  ): Promise<number | null> {
    const snapshot = qpbocSnapshot(this.ports.kernel);
    const recovery = snapshot === null ? null : recoveryOf(snapshot, uidHex, this.ports.panVault);
    if (recovery === null) return null;
    const written = await this.ports.journal.append({
      kind: 'pending',
      recovery,
      fareRule: charge.rule,
      amountMinor: charge.amountMinor,
    });
    if (written.ok) return written.value.seq;
    const { error, detail } = written;
    this.ports.log.log({ event: 'journal-error', kind: 'pending', error, detail });
    return null;
  }

  /**
   * The outcome with the terminal's objects in its ICC data (9F33 9F35 9F1E 9F09 9F34 9F41)
   * where the kernel's record lacks them (a torn record kept from before they were passed to
   * the kernel, say). `seq`: the journal seq of the tap's first record (9F41).
   */
  private withTerminalData(outcome: QpbocOutcome, seq: number): QpbocOutcome {
    if (outcome.clearingRecord === null) return outcome;
    const terminalId = this.ports.params().terminal.terminalId;
    const iccData = iccDataWithTerminal(
      outcome.clearingRecord,
      this.terminalTlv.of(this.config.terminalData, terminalId),
      transactionSequenceCounter(seq),
    );
    return iccData === null ? outcome : { ...outcome, clearingRecord: iccData };
  }

  private logOutcome(phase: string, outcome: QpbocOutcome): void {
    this.ports.log.log({
      event: 'kernel-outcome',
      phase,
      kind: outcome.kind,
      reason: outcome.reason,
      status: outcome.statusName,
      commitSent: outcome.commitSent,
      apdus: outcome.transcript.length,
    });
  }
}

/** The report of a tap its admission hook stopped: no record, no screen (the hook's owner's). */
function admissionStopReport(startedMs: number, ended: QpbocOutcome): TapReport {
  return {
    startedMs,
    endedMs: startedMs,
    result: 'notAccepted',
    reason: 'admission-hook',
    panMasked: null,
    amountMinor: null,
    balanceMinor: null,
    fareRule: null,
    journalSeqs: [],
    recovered: ended.recovery,
  };
}
