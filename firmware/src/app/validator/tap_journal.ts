// The end of a tap: journal records first (durable), then the screen and the beep.

import type { QpbocOutcome } from '../../../../assembly/host/qpboc_session.js';
import type { UncertainTap } from '../journal/journal_state.js';
import type { CardKey, JournalEntry } from '../journal/journal_records.js';
import {
  cardKeyOf, clearingOf, recoveryOf, recoveryRestored, tlvObjectsOf,
} from './tap_records.js';
import {
  viewAdmitted,
  viewAlreadyPaid,
  viewApproved,
  viewDeclined,
  viewOutOfService,
  viewTryAgain,
  type TapView,
} from './tap_view.js';
import type { TapReport, ValidatorPorts } from './validator_ports.js';
import type { PanVault } from '../journal/pan_vault.js';
import { FARE_RULE_DECLINED_AFTER_COMMIT } from '../fare/fare_policy.js';

export { FARE_RULE_DECLINED_AFTER_COMMIT };

/** What the tap knew when the kernel ended. */
export interface TapFinish {
  readonly startedMs: number;
  readonly uidHex: string;
  /** The grey record of this transaction, if one was written. */
  readonly pendingSeq: number | null;
  readonly fareRule: string;
  readonly amountMinor: number;
  /** The uncertain tap this tap recovered, if it was a recovery. */
  readonly recoveredFrom: UncertainTap | null;
}

interface ReportDetails {
  readonly reason: string;
  readonly card?: CardKey | null;
  /** The masked PAN of a report without a card key (a repeated tap); else the card's. */
  readonly panMasked?: string | null;
  readonly amountMinor?: number | null;
  readonly balanceMinor?: number | null;
  readonly fareRule?: string | null;
  readonly journalSeqs?: readonly number[];
  readonly recovered?: boolean;
}

/** Writes a tap's records, shows its outcome, and reports it. */
export class TapJournal {
  constructor(private readonly ports: ValidatorPorts) {}

  /**
   * Journal, screen and report for a kernel outcome; then, once the rider has the answer, the
   * card's open ODA taps are reconciled (reconcileOdaRetap).
   */
  async finish(outcome: QpbocOutcome, tap: TapFinish): Promise<TapReport> {
    const report = await this.finishOutcome(outcome, tap);
    await this.reconcileOdaRetap(outcome, report);
    return report;
  }

  private async finishOutcome(outcome: QpbocOutcome, tap: TapFinish): Promise<TapReport> {
    switch (outcome.kind) {
      case 'approved':
      case 'admitted':
        return this.finishApproved(outcome, tap);
      case 'torn':
      case 'try-again':
      case 'terminated':
      case 'fault':
      case 'recovery-not-pending':
        return this.finishInterrupted(outcome, tap);
      case 'declined':
      case 'use-another-card':
      case 'not-accepted':
        return this.finishDeclined(outcome, tap);
      default: {
        const never: never = outcome.kind;
        throw new Error(`unhandled outcome ${String(never)}`);
      }
    }
  }

  /** Shows a result that needed no kernel run (repeated tap, journal full). */
  async report(
    startedMs: number,
    result: 'outOfService' | 'alreadyPaid',
    details: ReportDetails,
  ): Promise<TapReport> {
    const view = result === 'outOfService' ? viewOutOfService() : viewAlreadyPaid();
    return this.show(view, startedMs, details);
  }

  /**
   * Before a GPO-less recovery. Its re-read is the command on which the card commits the staged
   * debit (domain.md 4.4 step 4), so a grey record comes first, as before a transaction's last
   * READ RECORD. Dated now, it keeps the card's transaction within the torn window: should
   * power fail after the card committed and before the final is durable, the rider's re-tap
   * after the reboot is still recovered (finished once), not charged again because the first
   * tap's record had aged out of the window meanwhile (swarm seed 147). It carries the
   * candidate's card and context (same ATC), so the final that finishes the transaction
   * settles it too. Returns its seq, or null when it could not be written (logged).
   */
  async recoveryNote(candidate: UncertainTap): Promise<number | null> {
    return this.append({
      kind: 'pending',
      recovery: candidate.recovery,
      fareRule: 'recovered',
      amountMinor: candidate.recovery.amountAuthorisedMinor,
    });
  }

  /**
   * After the recovery: its grey record is closed when the card cannot have committed in it
   * (no final settled it, and the card holds no such transaction, or the committing command
   * was not sent and the kernel did not fail). Otherwise it stays open: uncertain, recovered
   * at the card's next tap.
   */
  async recoveryNoteEnd(noteSeq: number, candidate: UncertainTap,
    outcome: QpbocOutcome): Promise<void> {
    const mayHaveCommitted = outcome.commitSent || outcome.kind === 'fault';
    if (outcome.kind !== 'recovery-not-pending' && mayHaveCommitted) return;
    if (!this.ports.journal.uncertainAll().some((t) => t.seq === noteSeq)) return;
    await this.append({
      kind: 'declined',
      pendingSeq: noteSeq,
      card: candidate.recovery.card,
      reason: `recovery: ${outcome.kind}: ${outcome.reason}`,
    });
  }

  /** Leaves a candidate the kernel cannot recover to the back office (unresolved). */
  async reconcileUnloadable(candidate: UncertainTap): Promise<void> {
    await this.append({
      kind: 'reconciled',
      targetSeq: candidate.seq,
      outcome: 'unresolved',
      finalSeq: null,
      note: 'recovery: the kernel refused the torn record',
    });
  }

  /** Closes a recovery candidate whose transaction the card no longer holds. */
  async reconcileNotPending(candidate: UncertainTap, outcome: QpbocOutcome): Promise<void> {
    // Same ATC and a refused re-read: the card abandoned the staged debit. A moved ATC means
    // the card transacted elsewhere since: only the back office can tell (domain.md 4.4).
    const result = outcome.reason === 'atc-mismatch' ? 'unresolved' : 'not_debited';
    await this.append({
      kind: 'reconciled',
      targetSeq: candidate.seq,
      outcome: result,
      finalSeq: null,
      note: `re-tap: ${outcome.reason}`,
    });
  }

  /**
   * Closes the uncertain ODA taps (open pending, uncertain torn) of the card that just tapped
   * again, identified by PAN token and PSN from its decision request. In ODA mode the card
   * holds no value (domain.md 6.1, 6.4): only a final record's ARQC is ever presented for
   * authorisation, and the rider is admitted only once that final is durable. A tap that
   * never got its final (power cut or kill between the pending and the final record, card
   * pulled) therefore charged nothing: it is reconciled as not_debited, so the back office does
   * not charge its ARQC and the journal keeps no tap uncertain for good. EC taps are left to
   * GPO-less recovery, which alone can tell whether the card committed.
   */
  private async reconcileOdaRetap(outcome: QpbocOutcome, report: TapReport): Promise<void> {
    const identity = outcome.decisions[0];
    if (identity === undefined || identity.recovery) return;
    const psn = identity.panSequence === null ? 0 : parseInt(identity.panSequence, 16);
    const token = this.ports.panVault.token(identity.pan);
    const own = new Set(report.journalSeqs);
    const open = this.ports.journal
      .uncertainForCard(token, psn)
      .filter((t) => t.recovery.mode === 'oda' && !own.has(t.seq) && !own.has(t.pendingSeq ?? 0));
    for (const tap of open) {
      await this.append({
        kind: 'reconciled',
        targetSeq: tap.seq,
        outcome: 'not_debited',
        finalSeq: null,
        note: `oda re-tap (${report.result}): no final, ARQC never presented`,
      });
    }
  }

  private async finishApproved(outcome: QpbocOutcome, tap: TapFinish): Promise<TapReport> {
    const params = this.ports.params();
    const clearing =
      outcome.clearingRecord === null
        ? null
        : clearingOf(outcome.clearingRecord, {
            uidHex: tap.uidHex,
            fareRule: tap.fareRule,
            cryptogramType: outcome.kind === 'approved' ? 'TC' : 'ARQC',
            terminalId: params.terminal.terminalId,
            lineId: params.terminal.lineId,
            paramsVersion: params.version,
          }, this.ports.panVault);
    if (clearing === null) throw new Error('kernel approved without a clearing record');
    const seq = await this.append({ kind: 'final', pendingSeq: tap.pendingSeq, clearing });
    const seqs = seqList(tap.pendingSeq, seq);
    if (seq === null) {
      // The card paid but the record did not become durable: the grey record stays uncertain
      // for reconciliation, and the validator stops taking cards.
      return this.show(viewOutOfService(), tap.startedMs, {
        reason: 'journal-write-failed',
        card: clearing.card,
        journalSeqs: seqs,
      });
    }
    const view =
      outcome.kind === 'approved'
        ? viewApproved(clearing.amountMinor, outcome.balanceMinor)
        : viewAdmitted(clearing.amountMinor);
    return this.show(view, tap.startedMs, {
      reason: outcome.reason,
      card: clearing.card,
      amountMinor: clearing.amountMinor,
      balanceMinor: outcome.balanceMinor,
      fareRule: tap.fareRule,
      journalSeqs: seqs,
      recovered: tap.recoveredFrom !== null,
    });
  }

  private async finishInterrupted(outcome: QpbocOutcome, tap: TapFinish): Promise<TapReport> {
    const card = cardOfOutcome(outcome, tap.uidHex, this.ports.panVault);
    const snapshot =
      outcome.tornRecord === null
        ? null
        : recoveryOf(outcome.tornRecord, tap.uidHex, this.ports.panVault);
    // Without a fresh snapshot (kernel fault, failure after the grey record), the grey record's
    // own snapshot is the recovery data; with neither, nothing was staged that needs a record.
    // A stored one may come from an earlier build (recoveryRestored).
    const stored = tap.recoveredFrom?.recovery ?? null;
    const recovery = snapshot
      ?? (stored === null ? null : recoveryRestored(stored, this.ports.panVault))
      ?? this.pendingRecovery(tap.pendingSeq);
    let seq: number | null = null;
    if (recovery !== null && (outcome.kind === 'torn' || tap.pendingSeq !== null)) {
      seq = await this.append({
        kind: 'torn',
        pendingSeq: tap.recoveredFrom !== null ? null : tap.pendingSeq,
        recovery,
        uncertain: outcome.commitSent || outcome.kind === 'fault',
        reason: `${outcome.kind}: ${outcome.reason}`,
      });
    }
    return this.show(viewTryAgain(), tap.startedMs, {
      reason: `${outcome.kind}: ${outcome.reason}`,
      card,
      journalSeqs: seqList(tap.pendingSeq, seq),
    });
  }

  private async finishDeclined(outcome: QpbocOutcome, tap: TapFinish): Promise<TapReport> {
    const card = cardOfOutcome(outcome, tap.uidHex, this.ports.panVault);
    let seq: number | null = null;
    if (outcome.recordKind === 'committed-decline' && outcome.clearingRecord !== null) {
      // The card committed its debit before a check failed (e.g. fDDA after the last record):
      // the money moved, so clearing must see it, flagged for the back office.
      const params = this.ports.params();
      const clearing = clearingOf(outcome.clearingRecord, {
        uidHex: tap.uidHex,
        fareRule: FARE_RULE_DECLINED_AFTER_COMMIT,
        cryptogramType: 'TC',
        terminalId: params.terminal.terminalId,
        lineId: params.terminal.lineId,
        paramsVersion: params.version,
      }, this.ports.panVault);
      if (clearing !== null)
        seq = await this.append({ kind: 'final', pendingSeq: tap.pendingSeq, clearing });
    } else if (card !== null) {
      seq = await this.append({
        kind: 'declined',
        pendingSeq: tap.pendingSeq,
        card,
        reason: outcome.reason,
      });
    }
    return this.show(viewDeclined(outcome.reason), tap.startedMs, {
      reason: outcome.reason,
      card,
      journalSeqs: seqList(tap.pendingSeq, seq),
    });
  }

  private pendingRecovery(pendingSeq: number | null): ReturnType<typeof recoveryOf> {
    if (pendingSeq === null) return null;
    const tap = this.ports.journal.uncertainAll().find((t) => t.seq === pendingSeq);
    return tap?.recovery ?? null;
  }

  private async append(entry: JournalEntry): Promise<number | null> {
    const written = await this.ports.journal.append(entry);
    if (written.ok) return written.value.seq;
    this.ports.log.log({
      event: 'journal-error',
      kind: entry.kind,
      error: written.error,
      detail: written.detail,
    });
    return null;
  }

  private async show(view: TapView, startedMs: number, details: ReportDetails): Promise<TapReport> {
    const shown = await this.ports.display.show(view.screen);
    if (!shown.ok)
      this.ports.log.log({ event: 'display-error', error: shown.error, detail: shown.detail });
    const signalled = await this.ports.indicator.signal(view.signal);
    if (!signalled.ok)
      this.ports.log.log({
        event: 'indicator-error',
        error: signalled.error,
        detail: signalled.detail,
      });
    const card = details.card ?? null;
    return {
      startedMs,
      endedMs: this.ports.clock.nowMs(),
      result: view.result,
      reason: details.reason,
      panMasked: details.panMasked ?? (card === null ? null : card.panMasked),
      amountMinor: details.amountMinor ?? null,
      balanceMinor: details.balanceMinor ?? null,
      fareRule: details.fareRule ?? null,
      journalSeqs: details.journalSeqs ?? [],
      recovered: details.recovered ?? false,
    };
  }
}

function seqList(...seqs: ReadonlyArray<number | null>): number[] {
  return seqs.filter((s): s is number => s !== null);
}

/** The card of an outcome: its first decision request, or its record; null without a PAN. */
function cardOfOutcome(outcome: QpbocOutcome, uidHex: string, vault: PanVault): CardKey | null {
  const identity = outcome.decisions[0];
  if (identity !== undefined) {
    const psn = identity.panSequence === null ? 0 : parseInt(identity.panSequence, 16);
    return vault.cardKey(identity.pan, psn, uidHex);
  }
  const record = outcome.tornRecord ?? outcome.clearingRecord;
  const objects = record === null ? null : tlvObjectsOf(record);
  return objects === null ? null : cardKeyOf(objects, uidHex, vault);
}
