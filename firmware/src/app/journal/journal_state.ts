// In-memory index of a journal: open pendings, uncertain taps, acks; the record reference rules.

import { createHash } from 'node:crypto';

import type {
  CardKey, ClearingRecord, JournalEntry, JournalKind, JournalRecord, RecoveryContext,
} from './journal_records.js';
import { SeqList } from './journal_seq_list.js';

/**
 * Final records a `reconciled … debited` may name once they are acknowledged: the validator
 * writes that record right after the final it names, so the newest few always suffice.
 */
export const FINALS_RECENT = 64;
/**
 * How long a card's last final is remembered for the fare rules (duplicate tap, transfer):
 * longer than any window a parameter set may give (7 days), measured from the newest record.
 */
export const LAST_FINAL_KEEP_MS = 8 * 24 * 3600 * 1000;

/** What a checkpoint keeps of the state (see `JournalState.snapshot`). */
export interface JournalStateSnapshot {
  readonly lastSeq: number;
  readonly ackThroughSeq: number;
  /** Newest `timeWallMs` seen (the clock of the last-final window). */
  readonly maxWallMs: number;
  readonly countsByKind: Readonly<Record<JournalKind, number>>;
  /** Records the state still needs: open or torn-closed pendings, uncertain torn records. */
  readonly records: readonly JournalRecord[];
  readonly pendings: readonly { readonly seq: number; readonly tornSeq: number | null }[];
  readonly uncertainSeqs: readonly number[];
  /** Finals a reconciled record may still name (unacknowledged, or among the newest). */
  readonly finals: Iterable<number>;
  /**
   * Last final per card within LAST_FINAL_KEEP_MS, oldest first; cards by `cardKeyHash`
   * (iterable: a decoded checkpoint builds them only for a reader that keeps them).
   */
  readonly lastFinals: Iterable<{ readonly cardHash: string; readonly last: LastFinal }>;
}

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
  maxWallMs = 0;
  readonly countsByKind: Record<JournalKind, number> = countsZero();
  private readonly pendings = new Map<number, PendingSlot>();
  private readonly uncertain = new Map<number, UncertainTap>();
  /** The records of the uncertain torn taps (a checkpoint carries them). */
  private readonly tornRecords = new Map<number, JournalRecord>();
  private readonly finalSeqs = new SeqList();
  private readonly lastFinalByCard = new Map<string, LastFinal>();
  private lastFinalPruneAt = 1024;

  /**
   * `trackLastFinals` false: verify and export, which never look a card up, keep no per-card
   * map, so their memory does not grow with the number of cards.
   */
  constructor(private readonly trackLastFinals = true) {}

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
          if (entry.finalSeq === null || !this.finalKnown(entry.finalSeq)) {
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
    this.maxWallMs = Math.max(this.maxWallMs, record.timeWallMs);
    this.countsByKind[entry.kind] += 1;
    switch (entry.kind) {
      case 'pending':
        this.pendings.set(record.seq, { record, tornSeq: null });
        this.uncertain.set(record.seq, tapOf(record, entry.recovery, null));
        break;
      case 'final':
        this.closePending(entry.pendingSeq);
        this.settleTransaction(entry.clearing.card, entry.clearing.atc);
        this.finalSeqs.push(record.seq);
        if (this.trackLastFinals) this.lastFinalRemember(record, entry.clearing);
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
          this.tornRecords.set(record.seq, record);
        }
        break;
      }
      case 'reconciled': {
        const tap = this.uncertain.get(entry.targetSeq);
        this.uncertain.delete(entry.targetSeq);
        this.tornRecords.delete(entry.targetSeq);
        this.pendings.delete(tap?.kind === 'torn' ? (tap.pendingSeq ?? 0) : entry.targetSeq);
        break;
      }
      case 'ack':
        this.ackThroughSeq = entry.throughSeq;
        this.finalsPrune();
        break;
      default: {
        const unreachable: never = entry;
        throw new Error(`unknown entry ${String(unreachable)}`);
      }
    }
  }

  /**
   * What must agree between a checkpoint and the records before it: the ack, the counts, the
   * open pendings and the uncertain taps (cheap: no record or final list is copied).
   */
  continuityKey(): string {
    const pendings = [...this.pendings.values()].map((slot) => [slot.record.seq, slot.tornSeq]);
    const uncertain = [...this.uncertain.keys()].sort((a, b) => a - b);
    return JSON.stringify([this.lastSeq, this.ackThroughSeq, this.countsByKind, uncertain,
      pendings.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0))]);
  }

  /** What a checkpoint stores: everything later records may refer to, nothing more. */
  snapshot(): JournalStateSnapshot {
    const records = new Map<number, JournalRecord>();
    for (const slot of this.pendings.values()) records.set(slot.record.seq, slot.record);
    for (const record of this.tornRecords.values()) records.set(record.seq, record);
    const keepFrom = this.maxWallMs - LAST_FINAL_KEEP_MS;
    return {
      lastSeq: this.lastSeq,
      ackThroughSeq: this.ackThroughSeq,
      maxWallMs: this.maxWallMs,
      countsByKind: { ...this.countsByKind },
      records: [...records.values()].sort((a, b) => a.seq - b.seq),
      pendings: [...this.pendings.values()]
        .map((slot) => ({ seq: slot.record.seq, tornSeq: slot.tornSeq }))
        .sort((a, b) => a.seq - b.seq),
      uncertainSeqs: [...this.uncertain.keys()].sort((a, b) => a - b),
      finals: this.finalSeqs.filtered((seq, index) => this.finalKnownAt(seq, index)),
      lastFinals: [...this.lastFinalByCard]
        .filter(([, last]) => last.timeWallMs >= keepFrom)
        .map(([cardHash, last]) => ({ cardHash, last }))
        .sort((a, b) => a.last.seq - b.last.seq),
    };
  }

  /**
   * Rebuilds a state from a checkpoint's snapshot; a string says what is inconsistent (a
   * pending without its record, an uncertain seq of the wrong kind...). `keepFinals` false:
   * the finals are checked but not kept (a state that is only compared, never continued).
   */
  static fromSnapshot(
    snap: JournalStateSnapshot,
    trackLastFinals = true,
    keepFinals = true,
  ): JournalState | string {
    const state = new JournalState(trackLastFinals);
    state.lastSeq = snap.lastSeq;
    state.ackThroughSeq = snap.ackThroughSeq;
    state.maxWallMs = snap.maxWallMs;
    Object.assign(state.countsByKind, snap.countsByKind);
    const records = new Map(snap.records.map((record) => [record.seq, record]));
    for (const { seq, tornSeq } of snap.pendings) {
      const record = records.get(seq);
      if (record?.entry.kind !== 'pending') return `pending ${seq} has no pending record`;
      state.pendings.set(seq, { record, tornSeq });
    }
    for (const seq of snap.uncertainSeqs) {
      const record = records.get(seq);
      const entry = record?.entry;
      if (record === undefined || entry === undefined) return `uncertain ${seq} has no record`;
      if (entry.kind === 'pending') state.uncertain.set(seq, tapOf(record, entry.recovery, null));
      else if (entry.kind === 'torn') {
        state.uncertain.set(seq, tapOf(record, entry.recovery, entry.pendingSeq));
        state.tornRecords.set(seq, record);
      } else return `uncertain ${seq} is a ${entry.kind} record`;
    }
    let lastFinal = 0;
    for (const seq of snap.finals) {
      if (seq > snap.lastSeq || seq <= lastFinal) return `final ${seq} out of order`;
      if (keepFinals) state.finalSeqs.push(seq);
      lastFinal = seq;
    }
    if (trackLastFinals) {
      for (const { cardHash, last } of snap.lastFinals) state.lastFinalByCard.set(cardHash, last);
    }
    return state;
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

  /**
   * The latest final record of the card with this PAN token (pan_vault.ts) and PSN within
   * LAST_FINAL_KEEP_MS of the newest record, or null. The window makes the answer the same
   * whether the state was rebuilt from a checkpoint (which keeps only that window) or from
   * every record.
   */
  lastFinalFor(panToken: string, psn: number): LastFinal | null {
    const last = this.lastFinalByCard.get(cardHashOf(panToken, psn));
    if (last === undefined || last.timeWallMs < this.maxWallMs - LAST_FINAL_KEEP_MS) return null;
    return last;
  }

  /** Number of final records after the acknowledged seq (clearing records not yet uploaded). */
  unacknowledgedFinalCount(): number {
    return this.finalSeqs.countAbove(this.ackThroughSeq);
  }

  /** A final a reconciled record may name: unacknowledged, or among the newest. */
  private finalKnown(seq: number): boolean {
    const index = this.finalSeqs.indexOf(seq);
    return index >= 0 && this.finalKnownAt(seq, index);
  }

  /** `finalKnown` for the final at `index` of the list. */
  private finalKnownAt(seq: number, index: number): boolean {
    return seq > this.ackThroughSeq || index >= this.finalSeqs.length - FINALS_RECENT;
  }

  /** Drops finals no record may name any more, so the list stays as small as the backlog. */
  private finalsPrune(): void {
    const recentFrom = this.finalSeqs.length - FINALS_RECENT;
    this.finalSeqs.retain((seq, index) => seq > this.ackThroughSeq || index >= recentFrom);
  }

  private lastFinalRemember(record: JournalRecord, clearing: ClearingRecord): void {
    this.lastFinalByCard.set(cardKeyHash(clearing.card), {
      seq: record.seq,
      timeWallMs: record.timeWallMs,
      lineId: clearing.lineId,
      fareRule: clearing.fareRule,
      amountMinor: clearing.amountMinor,
    });
    if (this.lastFinalByCard.size < this.lastFinalPruneAt) return;
    const keepFrom = this.maxWallMs - LAST_FINAL_KEEP_MS;
    for (const [key, last] of this.lastFinalByCard) {
      if (last.timeWallMs < keepFrom) this.lastFinalByCard.delete(key);
    }
    this.lastFinalPruneAt = 2 * this.lastFinalByCard.size + 1024;
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

  /**
   * A clearing record settles every uncertain tap of the same card transaction (PAN token,
   * PSN, ATC), not only the pending it names: a recovery that tore again left a second torn
   * record (with no pending, since a pending is torn once) for the same ATC, and the final of
   * its later recovery names neither. Left open, each would be recovered again at the card's
   * next taps, a new clearing record each time (the card answers its last transaction again).
   */
  private settleTransaction(card: { panToken: string; psn: number }, atc: number): void {
    if (this.uncertain.size === 0) return;
    for (const [seq, tap] of this.uncertain) {
      const same = tap.recovery.card;
      if (same.panToken !== card.panToken || same.psn !== card.psn) continue;
      if (tap.recovery.atc !== atc) continue;
      this.uncertain.delete(seq);
      this.tornRecords.delete(seq);
      this.pendings.delete(tap.kind === 'torn' ? (tap.pendingSeq ?? 0) : seq);
    }
  }

  private closePending(pendingSeq: number | null): void {
    if (pendingSeq === null) return;
    const slot = this.pendings.get(pendingSeq);
    this.pendings.delete(pendingSeq);
    this.uncertain.delete(pendingSeq);
    // The final (or declined) of a recovered tap also settles its torn record.
    if (slot?.tornSeq != null) {
      this.uncertain.delete(slot.tornSeq);
      this.tornRecords.delete(slot.tornSeq);
    }
  }
}

/**
 * Key of a card in the last-final map and in checkpoints: a SHA-256 of the card's PAN token
 * (a keyed HMAC of the PAN, pan_vault.ts) and PSN. A plain hash of the PAN could be reversed
 * by trying the few billion PANs of a BIN (PCI DSS v4.0 req. 3.5.1.1 asks for a keyed hash).
 */
export function cardKeyHash(card: CardKey): string {
  return cardHashOf(card.panToken, card.psn);
}

function cardHashOf(panToken: string, psn: number): string {
  return createHash('sha256').update(`${panToken}/${psn}`).digest('hex').slice(0, 32);
}

function tapOf(
  record: JournalRecord,
  recovery: RecoveryContext,
  pendingSeq: number | null,
): UncertainTap {
  const kind = record.entry.kind === 'pending' ? 'pending' : 'torn';
  return { seq: record.seq, kind, pendingSeq, timeWallMs: record.timeWallMs, recovery };
}

function countsZero(): Record<JournalKind, number> {
  return { pending: 0, final: 0, declined: 0, torn: 0, reconciled: 0, ack: 0 };
}
