// In-memory index of a journal: open pendings, uncertain taps, acks; the record reference rules.

import type {
  CardKey, JournalEntry, JournalKind, JournalRecord, RecoveryContext,
} from './journal_records.js';

/** A tap whose debit the terminal cannot confirm: an open pending, or an uncertain torn record. */
export interface UncertainTap {
  readonly seq: number;
  readonly kind: 'pending' | 'torn';
  /** For a torn record, the pending record it closes (null if there was none). */
  readonly pendingSeq: number | null;
  readonly timeWallMs: number;
  readonly recovery: RecoveryContext;
}

/** The last approved tap of one card (duplicate-tap suppression survives restarts). */
export interface LastFinal {
  readonly seq: number;
  readonly timeWallMs: number;
  /** Line of that tap and its fare rule: the fare policy's duplicate and transfer rules. */
  readonly lineId: string;
  readonly fareRule: string;
  readonly amountMinor: number;
}

interface PendingSlot {
  readonly record: JournalRecord;
  /** Seq of the torn record that closed this pending, or null while it is open. */
  tornSeq: number | null;
}

/**
 * What the records so far imply. The same rules run when the journal is scanned at start-up
 * and before every append, so a record the journal writes is a record it will read back.
 *
 * Rules (a violation is a bug in the caller, or corruption when found in a scan):
 * - final/declined may reference a pending that no final, declined or reconciled closed; a
 *   pending closed by a torn record may still get its final (GPO-less recovery, domain.md
 *   §4.4 step 4), which also settles that torn record.
 * - torn may reference an open pending only.
 * - reconciled targets an uncertain tap; outcome 'debited' names an existing final.
 * - ack moves forward only, and never past the last record.
 */
export class JournalState {
  lastSeq = 0;
  ackThroughSeq = 0;
  readonly countsByKind: Record<JournalKind, number> = countsZero();
  private readonly pendings = new Map<number, PendingSlot>();
  private readonly uncertain = new Map<number, UncertainTap>();
  private readonly finalSeqs = new Set<number>();
  private readonly lastFinalByCard = new Map<string, LastFinal>();

  /** Why `entry` may not be appended as record `seq`, or null when it may. */
  check(entry: JournalEntry, seq: number): string | null {
    if (seq !== this.lastSeq + 1) return `seq ${seq} does not follow ${this.lastSeq}`;
    switch (entry.kind) {
      case 'pending':
        return null;
      case 'final':
        return this.checkClose(entry.pendingSeq, entry.clearing.card, true);
      case 'declined':
        return this.checkClose(entry.pendingSeq, entry.card, true);
      case 'torn':
        return this.checkClose(entry.pendingSeq, entry.recovery.card, false);
      case 'reconciled': {
        if (!this.uncertain.has(entry.targetSeq)) {
          return `reconciled target ${entry.targetSeq} is not an uncertain tap`;
        }
        if (entry.outcome === 'debited') {
          if (entry.finalSeq === null || !this.finalSeqs.has(entry.finalSeq)) {
            return `reconciled as debited needs an existing final, got ${String(entry.finalSeq)}`;
          }
        } else if (entry.finalSeq !== null) {
          return `reconciled as ${entry.outcome} must not name a final`;
        }
        return null;
      }
      case 'ack':
        if (entry.throughSeq <= this.ackThroughSeq || entry.throughSeq >= seq) {
          return `ack through ${entry.throughSeq} must be in ${this.ackThroughSeq + 1}..${seq - 1}`;
        }
        return null;
      default: {
        const unreachable: never = entry;
        return `unknown entry ${String(unreachable)}`;
      }
    }
  }

  /** Applies a record that passed `check`. */
  apply(record: JournalRecord): void {
    const entry = record.entry;
    this.lastSeq = record.seq;
    this.countsByKind[entry.kind] += 1;
    switch (entry.kind) {
      case 'pending':
        this.pendings.set(record.seq, { record, tornSeq: null });
        this.uncertain.set(record.seq, tapOf(record, entry.recovery, null));
        break;
      case 'final':
        this.closePending(entry.pendingSeq);
        this.finalSeqs.add(record.seq);
        this.lastFinalByCard.set(cardKeyString(entry.clearing.card), {
          seq: record.seq,
          timeWallMs: record.timeWallMs,
          lineId: entry.clearing.lineId,
          fareRule: entry.clearing.fareRule,
          amountMinor: entry.clearing.amountMinor,
        });
        break;
      case 'declined':
        this.closePending(entry.pendingSeq);
        break;
      case 'torn': {
        const slot = entry.pendingSeq === null ? undefined : this.pendings.get(entry.pendingSeq);
        if (slot !== undefined) slot.tornSeq = record.seq;
        if (entry.pendingSeq !== null) this.uncertain.delete(entry.pendingSeq);
        if (entry.uncertain) {
          this.uncertain.set(record.seq, tapOf(record, entry.recovery, entry.pendingSeq));
        }
        break;
      }
      case 'reconciled': {
        const tap = this.uncertain.get(entry.targetSeq);
        this.uncertain.delete(entry.targetSeq);
        this.pendings.delete(tap?.kind === 'torn' ? (tap.pendingSeq ?? 0) : entry.targetSeq);
        break;
      }
      case 'ack':
        this.ackThroughSeq = entry.throughSeq;
        break;
      default: {
        const unreachable: never = entry;
        throw new Error(`unknown entry ${String(unreachable)}`);
      }
    }
  }

  /** Every uncertain tap, oldest first. */
  uncertainAll(): UncertainTap[] {
    return [...this.uncertain.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Uncertain taps of the card with this PAN token (pan_vault.ts) and PSN, oldest first. */
  uncertainForCard(panToken: string, psn: number): UncertainTap[] {
    return this.uncertainAll().filter((tap) => {
      const card = tap.recovery.card;
      return card.panToken === panToken && card.psn === psn;
    });
  }

  /** Uncertain taps of the card with this UID (physical cards only: phones change UID). */
  uncertainForUid(uidHex: string): UncertainTap[] {
    const uid = uidHex.toUpperCase();
    if (uid === '') return [];
    return this.uncertainAll().filter((tap) => tap.recovery.card.uidHex === uid);
  }

  /** The latest final record of the card with this PAN token and PSN, or null. */
  lastFinalFor(panToken: string, psn: number): LastFinal | null {
    return this.lastFinalByCard.get(`${panToken}/${psn}`) ?? null;
  }

  /** Number of final records after the acknowledged seq (clearing records not yet uploaded). */
  unacknowledgedFinalCount(): number {
    let count = 0;
    for (const seq of this.finalSeqs) if (seq > this.ackThroughSeq) count += 1;
    return count;
  }

  private checkClose(
    pendingSeq: number | null,
    card: CardKey,
    tornAllowed: boolean,
  ): string | null {
    if (pendingSeq === null) return null;
    const slot = this.pendings.get(pendingSeq);
    if (slot === undefined) return `pending ${pendingSeq} is not open`;
    if (!tornAllowed && slot.tornSeq !== null) {
      return `pending ${pendingSeq} is already torn (record ${slot.tornSeq})`;
    }
    const entry = slot.record.entry;
    if (entry.kind !== 'pending') return `record ${pendingSeq} is not a pending record`;
    const pendingCard = entry.recovery.card;
    if (pendingCard.panToken !== card.panToken || pendingCard.psn !== card.psn) {
      return `pending ${pendingSeq} is for another card`;
    }
    return null;
  }

  private closePending(pendingSeq: number | null): void {
    if (pendingSeq === null) return;
    const slot = this.pendings.get(pendingSeq);
    this.pendings.delete(pendingSeq);
    this.uncertain.delete(pendingSeq);
    // The final (or declined) of a recovered tap also settles its torn record.
    if (slot?.tornSeq != null) this.uncertain.delete(slot.tornSeq);
  }
}

function tapOf(
  record: JournalRecord,
  recovery: RecoveryContext,
  pendingSeq: number | null,
): UncertainTap {
  const kind = record.entry.kind === 'pending' ? 'pending' : 'torn';
  return { seq: record.seq, kind, pendingSeq, timeWallMs: record.timeWallMs, recovery };
}

function cardKeyString(card: CardKey): string {
  return `${card.panToken}/${card.psn}`;
}

function countsZero(): Record<JournalKind, number> {
  return { pending: 0, final: 0, declined: 0, torn: 0, reconciled: 0, ack: 0 };
}
