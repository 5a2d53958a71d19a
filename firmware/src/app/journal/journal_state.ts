// In-memory index of a journal: open pendings, uncertain taps, acks; the record reference rules.

import { hash as hashOneShot } from 'node:crypto';

import { journalPayloadDecode, journalPayloadEncode } from './journal_records.js';
import type {
  CardKey, JournalEntry, JournalKind, JournalRecord, ReconcileOutcome, RecoveryContext,
} from './journal_records.js';
import {
  OPEN_TAPS_MAX, openTapWatchEnded, openTapWatchMayEnd,
} from './journal_expiry.js';
import { SeqList } from './journal_seq_list.js';
import type { TunionGreyEntry } from './journal_tunion.js';
import { UncertainTaps } from './journal_uncertain.js';

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
/**
 * ... or while it is among this many newest records, whatever the clock says: a wall clock
 * set ahead by more than LAST_FINAL_KEEP_MS and then corrected must not make the card that
 * tapped seconds before the jump a new rider (charged twice in one fare). About a day of a
 * busy bus: more than any duplicate-tap window, and than a transfer window in practice.
 */
export const LAST_FINAL_KEEP_RECORDS = 2048;

/** What a checkpoint keeps of the state (see `JournalState.snapshot`). */
export interface JournalStateSnapshot {
  readonly lastSeq: number;
  readonly ackThroughSeq: number;
  /**
   * `timeWallMs` of the newest record (the clock of the last-final window). The newest, not
   * the highest: a wall clock once set far ahead and then corrected would otherwise put every
   * later final outside the window (swarm seed 12, --taps 20000: a card charged twice in one
   * fare, two months after a forward clock jump). Stored as the checkpoint's `maxWallMs`.
   */
  readonly newestWallMs: number;
  readonly countsByKind: Readonly<Record<JournalKind, number>>;
  /** Records the state still needs: open or torn-closed pendings, uncertain torn records. */
  readonly records: readonly HeldRecord[];
  readonly pendings: readonly { readonly seq: number; readonly tornSeq: number | null }[];
  readonly uncertainSeqs: readonly number[];
  /** Finals a reconciled record may still name (unacknowledged, or among the newest). */
  readonly finals: Iterable<number>;
  /**
   * Last final per card kept (LAST_FINAL_KEEP_MS, LAST_FINAL_KEEP_RECORDS), oldest first;
   * cards by `cardKeyHash`
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

/** An open T-Union grey record (a purchase whose DEBIT may or may not have happened). */
export interface TunionOpenGrey {
  readonly seq: number;
  readonly timeWallMs: number;
  readonly entry: TunionGreyEntry;
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

/**
 * What the reference rules read of one record: the fields below, whichever of them its kind
 * has (the others are ignored). Made from a decoded record (`recordFacts`) or, by verify and
 * export, straight from the payload bytes without decoding them (journal_scan.ts).
 */
export interface RecordFacts {
  readonly seq: number;
  readonly timeWallMs: number;
  readonly kind: JournalKind;
  /** final, declined, torn: the pending record it closes, or null. */
  readonly pendingSeq: number | null;
  /** The card's PAN token and PSN (every kind but reconciled and ack). */
  readonly panToken: string;
  readonly psn: number;
  /** pending, torn (its recovery), final (its clearing): 9F36 ATC; 0 for the other kinds. */
  readonly atc: number;
  /** torn: the debit is uncertain. */
  readonly uncertain: boolean;
  /** reconciled. */
  readonly targetSeq: number;
  readonly outcome: ReconcileOutcome;
  readonly finalSeq: number | null;
  /** ack. */
  readonly throughSeq: number;
  /** A final's line, fare rule and amount (asked for only by a state that tracks cards). */
  lastFinal(): Omit<LastFinal, 'seq' | 'timeWallMs'>;
  /** The record, for a state that keeps it (an open pending, an uncertain torn record). */
  hold(): HeldRecord;
}

/**
 * A record the state keeps (an open pending, an uncertain torn record): decoded, or its
 * payload bytes, decoded when asked for. Verify and export keep the bytes (one buffer, not a
 * tree of objects per open tap); a validator's state keeps what it decodes. The card and the
 * pending it closes are kept apart: the reference rules read them.
 */
export class HeldRecord {
  private constructor(
    readonly seq: number,
    readonly kind: JournalKind,
    readonly panToken: string,
    readonly psn: number,
    /** The ATC of the tap (its recovery's 9F36). */
    readonly atc: number,
    /** A torn record's pending (null for a pending). */
    readonly pendingSeq: number | null,
    private decoded: JournalRecord | null,
    private payload: Uint8Array | null,
    private readonly keepDecoded: boolean,
  ) {}

  static of(record: JournalRecord): HeldRecord {
    const card = entryCard(record.entry);
    const entry = record.entry;
    const pendingSeq = entry.kind === 'torn' ? entry.pendingSeq : null;
    return new HeldRecord(
      record.seq, entry.kind, card?.panToken ?? '', card?.psn ?? 0, entryAtc(entry), pendingSeq,
      record, null, true,
    );
  }

  /**
   * The record whose canonical payload (payloadFastCheck) is `payload`, with the facts read
   * from it. `copy` false: `payload` is the record's own buffer, or a view of a read window
   * that `detach` copies before the window is reused (most held records are let go first).
   */
  static ofPayload(
    facts: Pick<RecordFacts, 'seq' | 'kind' | 'panToken' | 'psn' | 'atc' | 'pendingSeq'>,
    payload: Uint8Array,
    keepDecoded: boolean,
    copy: boolean,
  ): HeldRecord {
    const { seq, kind, panToken, psn, atc, pendingSeq } = facts;
    const bytes = copy ? payload.slice() : payload;
    return new HeldRecord(seq, kind, panToken, psn, atc, pendingSeq, null, bytes, keepDecoded);
  }

  /** Copies the payload out of the buffer it views (a read window about to be reused). */
  detach(): void {
    if (this.payload !== null) this.payload = this.payload.slice();
  }

  /** The payload bytes as the journal holds them. */
  payloadBytes(): Uint8Array {
    return this.payload ?? Buffer.from(this.payloadText(), 'utf8');
  }

  /** True when the payload is `text` (a checkpoint's copy of this record). */
  payloadIs(text: string): boolean {
    const payload = this.payload;
    if (payload === null) return this.payloadText() === text;
    if (payload.length !== text.length) return false;
    for (let i = 0; i < payload.length; i += 1) {
      if (payload[i] !== text.charCodeAt(i)) return false;
    }
    return true;
  }

  /** This record, kept decoded once decoded (a validator's state) or not. */
  kept(keepDecoded: boolean): HeldRecord {
    if (this.payload === null || keepDecoded === this.keepDecoded) return this;
    const { seq, kind, panToken, psn, atc, pendingSeq } = this;
    return new HeldRecord(seq, kind, panToken, psn, atc, pendingSeq, null, this.payload,
      keepDecoded);
  }

  record(): JournalRecord {
    if (this.decoded !== null) return this.decoded;
    const payload = this.payload ?? new Uint8Array(0);
    // The bytes were checked by the scan that kept them: this decode does not throw.
    const record = { seq: this.seq, ...journalPayloadDecode(this.kind, payload, 'journal') };
    if (this.keepDecoded) {
      // Kept decoded, the bytes are not kept too (the text is re-encoded when a checkpoint
      // needs it: the same bytes, the payload being canonical).
      this.decoded = record;
      this.payload = null;
    }
    return record;
  }

  /** The payload as the journal holds it (a checkpoint stores this text). */
  payloadText(): string {
    if (this.payload !== null) return Buffer.from(this.payload).toString('latin1');
    const record = this.record();
    return Buffer.from(journalPayloadEncode(record.timeWallMs, record.entry)).toString('utf8');
  }
}

/** The facts of a decoded record. */
export function recordFacts(record: JournalRecord): RecordFacts {
  const entry = record.entry;
  const card = entryCard(entry);
  return {
    seq: record.seq,
    timeWallMs: record.timeWallMs,
    kind: entry.kind,
    pendingSeq: 'pendingSeq' in entry ? entry.pendingSeq
      : entry.kind === 'tunion_final' ? entry.greySeq : null,
    panToken: card?.panToken ?? '',
    psn: card?.psn ?? 0,
    atc: entryAtc(entry),
    uncertain: entry.kind === 'torn' && entry.uncertain,
    targetSeq: entry.kind === 'reconciled' ? entry.targetSeq : 0,
    outcome: entry.kind === 'reconciled' ? entry.outcome : 'unresolved',
    finalSeq: entry.kind === 'reconciled' ? entry.finalSeq : null,
    throughSeq: entry.kind === 'ack' ? entry.throughSeq : 0,
    lastFinal: () => {
      if (entry.kind !== 'final') throw new Error(`record ${record.seq} is no final`);
      const { lineId, fareRule, amountMinor } = entry.clearing;
      return { lineId, fareRule, amountMinor };
    },
    hold: () => HeldRecord.of(record),
  };
}

function entryAtc(entry: JournalEntry): number {
  if (entry.kind === 'pending' || entry.kind === 'torn') return entry.recovery.atc;
  if (entry.kind === 'tunion_grey' || entry.kind === 'tunion_final') return entry.purchase.atc;
  return entry.kind === 'final' ? entry.clearing.atc : 0;
}

function entryCard(entry: JournalEntry): CardKey | null {
  switch (entry.kind) {
    case 'pending':
    case 'torn':
      return entry.recovery.card;
    case 'final':
      return entry.clearing.card;
    case 'declined':
      return entry.card;
    case 'reconciled':
    case 'ack':
    // A T-Union card has no PAN token: its records are keyed by card number and ATC.
    case 'tunion_grey':
    case 'tunion_final':
    case 'tunion_blocked':
      return null;
    default: {
      const unreachable: never = entry;
      throw new Error(`unknown entry ${String(unreachable)}`);
    }
  }
}

interface PendingSlot {
  readonly held: HeldRecord;
  readonly panToken: string;
  readonly psn: number;
  /** Seq of the torn record that closed this pending, or null while it is open. */
  tornSeq: number | null;
}

interface UncertainSlot {
  readonly held: HeldRecord;
  readonly kind: 'pending' | 'torn';
  readonly pendingSeq: number | null;
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
  newestWallMs = 0;
  readonly countsByKind: Record<JournalKind, number> = countsZero();
  private readonly pendings = new Map<number, PendingSlot>();
  private readonly uncertain = new UncertainTaps<UncertainSlot>();
  /** The records of the uncertain torn taps (a checkpoint carries them). */
  private readonly tornRecords = new Map<number, HeldRecord>();
  private finalSeqs = new SeqList();
  /**
   * Open T-Union grey records (journal_tunion.ts): no final names them, and no final of the
   * same card and ATC settled them. The validator recovers them at the card's next tap
   * (domain.md 7.5); a checkpoint keeps them among its uncertain seqs.
   */
  private readonly tunionGreys = new Map<number, HeldRecord>();
  private readonly lastFinalByCard = new Map<string, LastFinal>();
  private lastFinalPruneAt = 1024;

  /**
   * `trackLastFinals` false: verify and export, which never look a card up, keep no per-card
   * map, so their memory does not grow with the number of cards. A state that tracks them is
   * a validator's: it also keeps the records it decodes (see HeldRecord).
   */
  constructor(private readonly trackLastFinals = true) {}

  /** True for a validator's state (see the constructor). */
  get keepsDecoded(): boolean {
    return this.trackLastFinals;
  }

  /** Why `entry` may not be appended as record `seq`, or null when it may. */
  check(entry: JournalEntry, seq: number): string | null {
    return this.checkFacts(recordFacts({ seq, timeWallMs: 0, entry }));
  }

  /** Why the record of `facts` may not follow, or null when it may. */
  checkFacts(facts: RecordFacts): string | null {
    const seq = facts.seq;
    if (seq !== this.lastSeq + 1) return `seq ${seq} does not follow ${this.lastSeq}`;
    switch (facts.kind) {
      case 'pending':
        return null;
      case 'final':
      case 'declined':
        return this.checkClose(facts, true);
      case 'torn':
        return this.checkClose(facts, false);
      case 'reconciled': {
        // An open T-Union grey is settled by a final of its card; a reconciled record only
        // ends the watch for it (journal_expiry.ts), so it leaves the grey unresolved.
        if (this.tunionGreys.has(facts.targetSeq)) {
          return facts.outcome === 'unresolved' && facts.finalSeq === null ? null
            : `reconciled T-Union grey ${facts.targetSeq} must be unresolved, with no final`;
        }
        if (!this.uncertain.has(facts.targetSeq)) {
          return `reconciled target ${facts.targetSeq} is not an uncertain tap or open grey`;
        }
        if (facts.outcome === 'debited') {
          if (facts.finalSeq === null || !this.finalKnown(facts.finalSeq)) {
            return `reconciled as debited needs an existing final, got ${String(facts.finalSeq)}`;
          }
        } else if (facts.finalSeq !== null) {
          return `reconciled as ${facts.outcome} must not name a final`;
        }
        return null;
      }
      case 'ack':
        return ackProblem(facts.throughSeq, this.ackThroughSeq, seq - 1);
      // T-Union records refer to no qPBOC tap; a final names its grey by seq, which the export
      // pairs (journal_tunion.ts), and the kernel's torn recovery works from the grey itself.
      case 'tunion_grey':
      case 'tunion_final':
        return null;
      // A block record opens and closes nothing: it only reports the card (journal_tunion.ts).
      case 'tunion_blocked':
        return null;
      default: {
        const unreachable: never = facts.kind;
        return `unknown entry ${String(unreachable)}`;
      }
    }
  }

  /** Applies a record that passed `check`. */
  apply(record: JournalRecord): void {
    this.applyFacts(recordFacts(record));
  }

  /** Applies the record of `facts`, which passed `checkFacts`. */
  applyFacts(facts: RecordFacts): void {
    this.lastSeq = facts.seq;
    this.newestWallMs = facts.timeWallMs;
    this.countsByKind[facts.kind] += 1;
    switch (facts.kind) {
      case 'pending': {
        const held = facts.hold();
        const { panToken, psn } = facts;
        this.pendings.set(facts.seq, { held, panToken, psn, tornSeq: null });
        this.uncertain.set(facts.seq, { held, kind: 'pending', pendingSeq: null });
        break;
      }
      case 'final':
        this.closePending(facts.pendingSeq);
        this.settleTransaction(facts.panToken, facts.psn, facts.atc);
        this.finalSeqs.push(facts.seq);
        if (this.trackLastFinals) this.lastFinalRemember(facts);
        break;
      case 'declined':
        this.closePending(facts.pendingSeq);
        break;
      case 'torn':
        this.applyTorn(facts);
        break;
      case 'reconciled': {
        const tap = this.uncertain.get(facts.targetSeq);
        this.uncertain.delete(facts.targetSeq);
        this.tornRecords.delete(facts.targetSeq);
        this.tunionGreys.delete(facts.targetSeq);
        this.pendings.delete(tap?.kind === 'torn' ? (tap.pendingSeq ?? 0) : facts.targetSeq);
        break;
      }
      case 'ack':
        this.ackThroughSeq = facts.throughSeq;
        this.finalsPrune();
        break;
      case 'tunion_grey':
        this.tunionGreys.set(facts.seq, facts.hold());
        break;
      case 'tunion_final':
        this.tunionGreyClose(facts);
        break;
      case 'tunion_blocked':
        break;
      default: {
        const unreachable: never = facts.kind;
        throw new Error(`unknown entry ${String(unreachable)}`);
      }
    }
  }

  /**
   * What must agree between a checkpoint and the records before it: the ack, the counts, the
   * open pendings and the uncertain taps (cheap: no record or final list is copied).
   */
  continuityKey(): string {
    const pendings = [...this.pendings].map(([seq, slot]) => [seq, slot.tornSeq]);
    const uncertain = this.uncertainSeqs();
    const greys = this.tunionGreySeqs();
    return JSON.stringify([this.lastSeq, this.ackThroughSeq, this.countsByKind, uncertain,
      pendings.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0)), greys]);
  }

  /** What a checkpoint stores: everything later records may refer to, nothing more. */
  snapshot(): JournalStateSnapshot {
    const records = new Map<number, HeldRecord>();
    for (const slot of this.pendings.values()) records.set(slot.held.seq, slot.held);
    for (const held of this.tornRecords.values()) records.set(held.seq, held);
    for (const held of this.tunionGreys.values()) records.set(held.seq, held);
    return {
      lastSeq: this.lastSeq,
      ackThroughSeq: this.ackThroughSeq,
      newestWallMs: this.newestWallMs,
      countsByKind: { ...this.countsByKind },
      records: [...records.values()].sort((a, b) => a.seq - b.seq),
      pendings: [...this.pendings]
        .map(([seq, slot]) => ({ seq, tornSeq: slot.tornSeq }))
        .sort((a, b) => a.seq - b.seq),
      // Open T-Union greys ride along as uncertain seqs: the checkpoint format stays as it was.
      uncertainSeqs: [...this.uncertainSeqs(), ...this.tunionGreySeqs()].sort((a, b) => a - b),
      finals: this.finalSeqs.filtered((seq, index) => this.finalKnownAt(seq, index)),
      lastFinals: [...this.lastFinalByCard]
        .filter(([, last]) => this.lastFinalKept(last))
        .map(([cardHash, last]) => ({ cardHash, last }))
        .sort((a, b) => a.last.seq - b.last.seq),
    };
  }

  /** The records this state keeps (open pendings, uncertain torn records, open greys). */
  *heldRecords(): Generator<HeldRecord, void, undefined> {
    for (const slot of this.pendings.values()) yield slot.held;
    yield* this.tornRecords.values();
    yield* this.tunionGreys.values();
  }

  /**
   * The state `fromSnapshot(this.snapshot(), this.keepsDecoded)` rebuilds, made directly: a
   * reader copies its state at each resume point and each resumed read, and a snapshot's
   * finals, expanded and pushed back one by one, cost as much as reading that many records.
   * The maps keep their order (ascending seqs, as a checkpoint lists them), the finals are
   * those the snapshot keeps (finalsPrune drops the same prefix), and the last finals those
   * it keeps, oldest first. Held records are shared: they do not change once applied.
   */
  copy(): JournalState {
    const keep = this.trackLastFinals;
    const state = new JournalState(keep);
    state.lastSeq = this.lastSeq;
    state.ackThroughSeq = this.ackThroughSeq;
    state.newestWallMs = this.newestWallMs;
    Object.assign(state.countsByKind, this.countsByKind);
    // One kept record per record, as the snapshot's record list gives (a pending's is both
    // its pending slot's and its uncertain slot's).
    const kept = new Map<HeldRecord, HeldRecord>();
    const keptOf = (held: HeldRecord): HeldRecord => {
      let out = kept.get(held);
      if (out === undefined) kept.set(held, out = held.kept(keep));
      return out;
    };
    for (const [seq, slot] of this.pendings) {
      const held = keptOf(slot.held);
      const { panToken, psn } = held;
      state.pendings.set(seq, { held, panToken, psn, tornSeq: slot.tornSeq });
    }
    for (const [seq, slot] of this.uncertain) {
      const held = keptOf(slot.held);
      if (slot.kind === 'pending') {
        state.uncertain.set(seq, { held, kind: 'pending', pendingSeq: null });
      } else {
        state.uncertain.set(seq, { held, kind: 'torn', pendingSeq: held.pendingSeq });
        state.tornRecords.set(seq, held);
      }
    }
    for (const [seq, held] of this.tunionGreys) state.tunionGreys.set(seq, keptOf(held));
    state.finalSeqs = this.finalSeqs.copy();
    state.finalsPrune();
    if (keep) {
      const lastFinals = [...this.lastFinalByCard]
        .filter(([, last]) => this.lastFinalKept(last))
        .sort((a, b) => a[1].seq - b[1].seq);
      for (const [cardHash, last] of lastFinals) state.lastFinalByCard.set(cardHash, last);
    }
    return state;
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
    state.newestWallMs = snap.newestWallMs;
    Object.assign(state.countsByKind, snap.countsByKind);
    const records = new Map(snap.records.map((held) => [held.seq, held.kept(trackLastFinals)]));
    for (const { seq, tornSeq } of snap.pendings) {
      const held = records.get(seq);
      if (held?.kind !== 'pending') return `pending ${seq} has no pending record`;
      state.pendings.set(seq, { held, panToken: held.panToken, psn: held.psn, tornSeq });
    }
    for (const seq of snap.uncertainSeqs) {
      const held = records.get(seq);
      if (held === undefined) return `uncertain ${seq} has no record`;
      if (held.kind === 'pending') {
        state.uncertain.set(seq, { held, kind: 'pending', pendingSeq: null });
      } else if (held.kind === 'torn') {
        state.uncertain.set(seq, { held, kind: 'torn', pendingSeq: held.pendingSeq });
        state.tornRecords.set(seq, held);
      } else if (held.kind === 'tunion_grey') {
        state.tunionGreys.set(seq, held);
      } else return `uncertain ${seq} is a ${held.kind} record`;
    }
    // A state only compared keeps no finals; a checkpoint's decoder checked their order and
    // bound already (walking a backlog of 10^6 finals at every checkpoint made verify
    // quadratic).
    let lastFinal = 0;
    for (const seq of keepFinals ? snap.finals : []) {
      if (seq > snap.lastSeq || seq <= lastFinal) return `final ${seq} out of order`;
      state.finalSeqs.push(seq);
      lastFinal = seq;
    }
    if (trackLastFinals) {
      for (const { cardHash, last } of snap.lastFinals) state.lastFinalByCard.set(cardHash, last);
    }
    return state;
  }

  /** True when a record (an open or uncertain tap, a grey) or a card's last final is kept. */
  holdsCardData(): boolean {
    return this.pendings.size + this.uncertain.size + this.tornRecords.size
      + this.tunionGreys.size + this.lastFinalByCard.size > 0;
  }

  /** Every uncertain tap, oldest first. */
  uncertainAll(): UncertainTap[] {
    return this.uncertainSeqs().map((seq) => {
      const slot = this.uncertain.get(seq);
      if (slot === undefined) throw new Error(`uncertain ${seq} vanished`);
      const record = slot.held.record();
      const entry = record.entry;
      if (entry.kind !== 'pending' && entry.kind !== 'torn') {
        throw new Error(`uncertain ${seq} is a ${entry.kind} record`);
      }
      return {
        seq, kind: slot.kind, pendingSeq: slot.pendingSeq, timeWallMs: record.timeWallMs,
        recovery: entry.recovery,
      };
    });
  }

  /** The record `seq` this state keeps (an open pending or an uncertain tap), or null. */
  held(seq: number): HeldRecord | null {
    return this.pendings.get(seq)?.held ?? this.uncertain.get(seq)?.held
      ?? this.tunionGreys.get(seq) ?? null;
  }

  /**
   * Open taps (uncertain taps, open T-Union greys) whose watch is over at `nowWallMs`
   * (journal_expiry.ts), oldest first, at most `limit`. Both maps hold their taps in seq
   * order (inserted in record order, or ascending from a checkpoint), so a state with nothing
   * due answers from their first keys alone. An open pending after the ack is not due: the
   * export sends a pending only while it is open (`pending_open`), so ended before the depot
   * holds it, the tap (card, amount, recovery) would never reach the back office; and the
   * oldest beyond OPEN_TAPS_MAX waits for it too (a younger tap does not go in its place).
   */
  openTapsPastWatch(limit: number, nowWallMs: number): number[] {
    const open = this.uncertain.size + this.tunionGreys.size;
    const oldest = Math.min(firstKey(this.uncertain), firstKey(this.tunionGreys));
    if (open <= OPEN_TAPS_MAX && !openTapWatchMayEnd(oldest, this.lastSeq)) return [];
    const seqs = [...this.uncertain.keys(), ...this.tunionGreys.keys()].sort((a, b) => a - b);
    const due: number[] = [];
    // Oldest first past the cap, until the cap holds or an unacknowledged pending stops it.
    let capping = true;
    for (const seq of seqs) {
      if (due.length >= limit) break;
      const uploaded = this.openTapUploaded(seq);
      capping &&= uploaded && open - due.length > OPEN_TAPS_MAX;
      if (capping) {
        due.push(seq);
        continue;
      }
      // Seqs ascend: once one is too recent by count, every later one is too.
      if (!openTapWatchMayEnd(seq, this.lastSeq)) break;
      const held = uploaded ? this.held(seq) : null;
      if (held !== null && openTapWatchEnded(held.record().timeWallMs, nowWallMs)) due.push(seq);
    }
    return due;
  }

  /**
   * True when the export line of the open tap `seq` no longer depends on its staying open: a
   * torn record and a grey are exported either way, an open pending only while open, so it
   * must be acknowledged (the depot holds its `pending_open` line).
   */
  private openTapUploaded(seq: number): boolean {
    return this.uncertain.get(seq)?.kind !== 'pending' || seq <= this.ackThroughSeq;
  }

  /** The seqs of the uncertain taps, ascending (nothing decoded). */
  uncertainSeqs(): number[] {
    return [...this.uncertain.keys()].sort((a, b) => a - b);
  }

  /** The seqs of the open T-Union grey records, ascending (nothing decoded). */
  tunionGreySeqs(): number[] {
    return [...this.tunionGreys.keys()].sort((a, b) => a - b);
  }

  /** The open T-Union grey records, oldest first (see `tunionGreys`). */
  tunionOpenGreys(): TunionOpenGrey[] {
    return this.tunionGreySeqs().map((seq) => {
      const record = this.tunionGreys.get(seq)?.record();
      if (record?.entry.kind !== 'tunion_grey') throw new Error(`grey ${seq} vanished`);
      return { seq, timeWallMs: record.timeWallMs, entry: record.entry };
    });
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
   * The latest final record of the card with this PAN token (pan_vault.ts) and PSN, if kept
   * (`lastFinalKept`), or null. The same rule decides what a checkpoint and a prune keep, so
   * the answer is the same whether the state was rebuilt from a checkpoint or from every
   * record, with one exception: a wall clock set back (a record dated before the newest)
   * moves the time window back, and a final more than LAST_FINAL_KEEP_RECORDS back that a
   * checkpoint or a prune had left while the clock ran ahead is found live only if still
   * held. Measured from the highest time instead, the window stayed ahead for as long as the
   * clock had been wrong.
   */
  lastFinalFor(panToken: string, psn: number): LastFinal | null {
    const last = this.lastFinalByCard.get(cardHashOf(panToken, psn));
    return last !== undefined && this.lastFinalKept(last) ? last : null;
  }

  /**
   * A card's last final is kept within LAST_FINAL_KEEP_MS of the newest record, or among the
   * newest LAST_FINAL_KEEP_RECORDS records (a clock set ahead and corrected: the time alone
   * would drop the finals of the minutes before the jump, live and in every checkpoint).
   */
  private lastFinalKept(last: LastFinal): boolean {
    return last.timeWallMs >= this.newestWallMs - LAST_FINAL_KEEP_MS
      || last.seq > this.lastSeq - LAST_FINAL_KEEP_RECORDS;
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
    // Those kept (seq > ack, or index >= recentFrom) are a suffix of the ascending list: the
    // finals dropped are its first ones up to whichever of the two bounds comes first.
    const recentFrom = this.finalSeqs.length - FINALS_RECENT;
    const acknowledged = this.finalSeqs.length - this.finalSeqs.countAbove(this.ackThroughSeq);
    this.finalSeqs.dropFirst(Math.min(recentFrom, acknowledged));
  }

  private applyTorn(facts: RecordFacts): void {
    const pendingSeq = facts.pendingSeq;
    const slot = pendingSeq === null ? undefined : this.pendings.get(pendingSeq);
    if (slot !== undefined) slot.tornSeq = facts.seq;
    if (pendingSeq !== null) this.uncertain.delete(pendingSeq);
    if (facts.uncertain) {
      const held = facts.hold();
      this.uncertain.set(facts.seq, { held, kind: 'torn', pendingSeq });
      this.tornRecords.set(facts.seq, held);
    }
  }

  private lastFinalRemember(facts: RecordFacts): void {
    this.lastFinalByCard.set(cardHashOf(facts.panToken, facts.psn), {
      seq: facts.seq,
      timeWallMs: facts.timeWallMs,
      ...facts.lastFinal(),
    });
    if (this.lastFinalByCard.size < this.lastFinalPruneAt) return;
    for (const [key, last] of this.lastFinalByCard) {
      if (!this.lastFinalKept(last)) this.lastFinalByCard.delete(key);
    }
    this.lastFinalPruneAt = 2 * this.lastFinalByCard.size + 1024;
  }

  private checkClose(facts: RecordFacts, tornAllowed: boolean): string | null {
    const pendingSeq = facts.pendingSeq;
    if (pendingSeq === null) return null;
    const slot = this.pendings.get(pendingSeq);
    if (slot === undefined) return `pending ${pendingSeq} is not open`;
    if (!tornAllowed && slot.tornSeq !== null) {
      return `pending ${pendingSeq} is already torn (record ${slot.tornSeq})`;
    }
    if (slot.held.kind !== 'pending') return `record ${pendingSeq} is not a pending record`;
    if (slot.panToken !== facts.panToken || slot.psn !== facts.psn) {
      return `pending ${pendingSeq} is for another card`;
    }
    return null;
  }

  /**
   * A final settles every uncertain tap of its card (PAN token, PSN) and ATC: they are one
   * transaction (the ATC counts the card's transactions). A recovery that tore again writes a
   * second torn record, which no pending can point at (a pending tears once); without this,
   * the first torn record would stay open and be recovered again at the card's next tap: a
   * second clearing record for one debit (swarm seed 287).
   */
  private settleTransaction(panToken: string, psn: number, atc: number): void {
    if (this.uncertain.size === 0) return;
    for (const seq of this.uncertain.seqsOfToken(panToken)) {
      const tap = this.uncertain.get(seq);
      if (tap === undefined) continue;
      const held = tap.held;
      if (held.psn !== psn || held.atc !== atc) continue;
      this.uncertain.delete(seq);
      this.tornRecords.delete(seq);
      this.pendings.delete(tap.kind === 'torn' ? (tap.pendingSeq ?? 0) : seq);
    }
  }

  /**
   * A T-Union final closes the grey it names and every open grey of its card and ATC: one
   * card transaction (the ATC counts the card's debits, domain.md 7.4). A purchase found not
   * debited at the re-tap is run again under the same ATC, so its final settles the torn grey
   * too; without this, a later recovery of that grey would fetch the new purchase's proof and
   * write a second final for one debit.
   */
  private tunionGreyClose(facts: RecordFacts): void {
    if (facts.pendingSeq !== null) this.tunionGreys.delete(facts.pendingSeq);
    if (this.tunionGreys.size === 0) return;
    // Decoded only once a grey of the same ATC is open (most often none is).
    let final: JournalEntry | null = null;
    for (const [seq, held] of this.tunionGreys) {
      if (held.atc !== facts.atc) continue;
      final ??= facts.hold().record().entry;
      if (final.kind !== 'tunion_final') return;
      const grey = held.record().entry;
      if (grey.kind !== 'tunion_grey') continue;
      const same = grey.card.issuerIdHex === final.card.issuerIdHex
        && grey.card.serialDigits === final.card.serialDigits;
      if (same) this.tunionGreys.delete(seq);
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
  // One call, no Hash object: looked up at each final and each repeated-tap check.
  return hashOneShot('sha256', `${panToken}/${psn}`, 'hex').slice(0, 32);
}

function countsZero(): Record<JournalKind, number> {
  return {
    pending: 0, final: 0, declined: 0, torn: 0, reconciled: 0, ack: 0, tunion_grey: 0,
    tunion_final: 0, tunion_blocked: 0,
  };
}

/** The first key of a map in insertion order, or +Infinity for an empty one. */
function firstKey(map: ReadonlyMap<number, unknown>): number {
  for (const key of map.keys()) return key;
  return Number.POSITIVE_INFINITY;
}

/**
 * Why an ack through `through` cannot be written after `acked` (the journal's ack) with
 * `last` the last record's seq; null when it can. Says what the journal holds, not only the
 * range: 'must be in 1001..1000' told an operator nothing.
 */
function ackProblem(through: number, acked: number, last: number): string | null {
  if (through > acked && through <= last) return null;
  if (acked >= last) {
    return `ack through ${through}: nothing to acknowledge, every record (through seq `
      + `${last}) is acknowledged already`;
  }
  if (through <= acked) {
    return `ack through ${through}: records through seq ${acked} are acknowledged already `
      + `(the next ack is through ${acked + 1}..${last})`;
  }
  return `ack through ${through}: the last record is seq ${last} (an ack is through `
    + `${acked + 1}..${last})`;
}
