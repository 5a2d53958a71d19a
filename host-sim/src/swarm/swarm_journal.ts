// The swarm's view of the journal on its medium: the only file that knows the on-medium
// layout (segments and their checkpoints, chained frames: firmware/src/app/journal/README.md).

import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import {
  journalUnits,
  type JournalUnit,
} from '../../../firmware/src/app/journal/journal_files.js';
import {
  frameCheck,
  FRAME_OVERHEAD_BYTES,
} from '../../../firmware/src/app/journal/journal_frame.js';
import {
  FactSlot,
  PayloadFacts,
  payloadFastCheck,
} from '../../../firmware/src/app/journal/journal_payload_fast.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import {
  journalKindOfCode,
  journalPayloadDecode,
  type JournalEntry,
  type JournalKind,
} from '../../../firmware/src/app/journal/journal_records.js';
import type { StorageSim } from '../storage_sim.js';
import { VerifiedJournal, type VerifiedPrefix } from './swarm_verified.js';

/** The file another writer fills the journal's medium with (a disk-full fault): not ours. */
export const SWARM_FILLER_FILE = 'filler.bin';

/** The card and ATC a record speaks for (a debit's key), and whether it clears the debit. */
export interface SwarmDebitKey {
  readonly key: string;
  readonly final: boolean;
}

/** What the T-Union checks read of a grey or final record (swarm_tunion.ts). */
export interface SwarmTunionFacts {
  /** The record's `timeWallMs` (a grey's starts the torn window). */
  readonly timeWallMs: number;
  /** Of a final: its card number, the purchase's amount and the card's TAC; else null. */
  readonly final: {
    readonly serialDigits: string;
    readonly amountMinor: number;
    readonly tacHex: string;
  } | null;
}

/** One durable record as the checkers compare it. */
export interface SwarmRecord {
  readonly seq: number;
  readonly kind: JournalKind;
  /** The frame's payload bytes as a latin1 string (exact comparison, cheap to hold). */
  readonly payload: string;
  /** recordDebitKey of its entry: null for a record that speaks for no debit. */
  readonly debit: SwarmDebitKey | null;
  /**
   * Of a T-Union grey or final, its entry's fields the T-Union checks read, taken when the
   * record was decided (the check decodes no payload again); null for any other kind.
   */
  readonly tunion: SwarmTunionFacts | null;
}

/** What a record's payload tells the checkers: its debit key and its T-Union facts. */
interface RecordFacts {
  readonly debit: SwarmDebitKey | null;
  readonly tunion: SwarmTunionFacts | null;
}

/** What a full scan of the durable journal (every segment and checkpoint) found. */
export interface SwarmJournalScan {
  /** The records still on the medium, oldest first (those before `firstSeq` were reclaimed). */
  readonly records: readonly SwarmRecord[];
  /** Each record's payload by seq (what `records` holds). */
  readonly payloadBySeq: ReadonlyMap<number, string>;
  readonly corruption: string | null;
  readonly tornTail: boolean;
  /** Seq of the oldest segment's first record: every record before it was reclaimed. */
  readonly firstSeq: number;
  /** The upload mark the durable journal holds (records up to it may be reclaimed). */
  readonly ackThroughSeq: number;
  /** Where the newest segment's intact records end (the follower goes on from there). */
  readonly newest: JournalFollowPoint;
}

/** A segment (by its first seq) and a byte offset in it. */
export interface JournalFollowPoint {
  readonly firstSeq: number;
  readonly offset: number;
}

/** The files of the medium the validator writes (the journal's, quarantine copies, keys). */
export function validatorFile(name: string): boolean {
  return name !== SWARM_FILLER_FILE;
}

/** Journal segments and checkpoints among the medium's file names. */
function journalFileNames(names: readonly string[]): Set<string> {
  const wanted = new Set<string>();
  for (const unit of journalUnits(JOURNAL_FILE_NAME, names)) {
    if (unit.segmentExists) wanted.add(unit.segment);
    if (unit.checkpoint !== null && unit.checkpointExists) wanted.add(unit.checkpoint);
  }
  return wanted;
}

/** The durable bytes of every journal file (what survives a power cut now). */
export function journalDurableFiles(storage: StorageSim): Map<string, Uint8Array> {
  const wanted = journalFileNames(storage.durableNames());
  return storage.durableFiles((name) => wanted.has(name));
}

/** The newest segment on the medium (where appends go): its name. */
export function journalNewestSegment(storage: StorageSim): string {
  const units = journalUnits(JOURNAL_FILE_NAME, storage.durableNames());
  return units[units.length - 1]?.segment ?? JOURNAL_FILE_NAME;
}

/**
 * The records the checkers last saw, by seq: one still on the medium byte for byte at the next
 * full scan has the same debit key (payloadDebitKey is a function of the kind and the bytes),
 * so a scan decides the key of new or changed records only. Holds the last scan's records and
 * those the follower decoded since: bounded by the journal.
 */
export class SwarmRecordMemo {
  private last = new Map<number, SwarmRecord>();
  private next = new Map<number, SwarmRecord>();
  private readonly facts = new PayloadFacts();
  /** What the last scan verified (the next one reads only what differs from it). */
  readonly verified = new VerifiedJournal<SwarmRecord>();

  /**
   * The record of a payload the scan found valid (so it decodes); `facts`: its fields as the
   * scan's own payloadFastCheck filled them, or null when it is not in the canonical form.
   */
  scanned(
    seq: number,
    kind: JournalKind,
    payload: Uint8Array,
    facts: PayloadFacts | null,
  ): SwarmRecord {
    const text = latin1(payload);
    const known = this.last.get(seq);
    const record = known !== undefined && known.kind === kind && known.payload === text
      ? known
      : { seq, kind, payload: text, ...this.factsOf(kind, payload, facts) };
    this.next.set(seq, record);
    return record;
  }

  /**
   * A record the last scan reported from bytes this scan found the same: what `scanned` gives
   * for them (the record known by seq when the same kind and payload, else this one, whose
   * debit key came from the same bytes).
   */
  carried(record: SwarmRecord): SwarmRecord {
    const known = this.last.get(record.seq);
    const same = known !== undefined && known.kind === record.kind
      && known.payload === record.payload ? known : record;
    this.next.set(record.seq, same);
    return same;
  }

  /** The scan checked the payload already when `facts` is not null: not checked again. */
  private factsOf(kind: JournalKind, payload: Uint8Array, facts: PayloadFacts | null)
    : RecordFacts {
    const canonical = facts === null ? undefined : canonicalRecordFacts(kind, payload, facts);
    return canonical ?? payloadRecordFacts(kind, payload, this.facts)
      ?? { debit: null, tunion: null };
  }

  /** A scan ended: its records are what the next one compares with. */
  scanEnded(): void {
    this.last = this.next;
    this.next = new Map();
  }

  /** A record the follower decoded (with payloadDebitKey too). */
  followed(record: SwarmRecord): void {
    this.last.set(record.seq, record);
  }
}

/**
 * Full scan of the durable journal with the firmware's own reader, as `journal verify` reads
 * it: every segment from the oldest, each checkpoint checked against the records before it,
 * chain, CRCs, references, and a missing segment that was not acknowledged is corruption.
 * `files`: the medium's durable files, if the caller has them already (others are ignored).
 * `memo`: the records a scan before this one saw (a fresh one when absent).
 */
export function journalScanDurable(
  storage: StorageSim,
  files: ReadonlyMap<string, Uint8Array> = journalDurableFiles(storage),
  memo: SwarmRecordMemo = new SwarmRecordMemo(),
): SwarmJournalScan {
  const units = journalUnits(JOURNAL_FILE_NAME, [...files.keys()]);
  const prefix = memo.verified.prefixOf(units, files);
  // The reader resumes only where the bytes hold (checked above): a full scan otherwise.
  const scanned = scanFrom(files, memo, prefix) ?? scanFrom(files, memo, null);
  if (scanned === null) throw new Error('a scan from the oldest segment always ends');
  const { read, records } = scanned;
  const last = records[records.length - 1];
  const resume = read.corruption === null && last?.seq === read.resume?.state.lastSeq
    ? read.resume
    : null;
  memo.verified.remember(units, files, resume, records);
  const corruption = read.corruption === null
    ? null
    : `${read.corruption.file} at byte ${read.corruption.offset} (seq `
      + `${read.corruption.seqExpected}): ${read.corruption.reason}`;
  const oldest = read.units[0]?.firstSeq ?? 1;
  const newest = read.units[read.units.length - 1]?.firstSeq ?? 1;
  const payloadBySeq = new Map<number, string>();
  for (const record of records) payloadBySeq.set(record.seq, record.payload);
  return {
    records,
    payloadBySeq,
    corruption,
    tornTail: read.tornTail !== null,
    firstSeq: oldest,
    ackThroughSeq: read.state.ackThroughSeq,
    newest: { firstSeq: newest, offset: read.newestValidBytes },
  };
}

/**
 * The firmware's reader over `files`: from the oldest segment, or on from `prefix` (the
 * records before it those of the scan that verified them). Null when the reader did not
 * resume there after all (it read from the oldest: not this scan's records).
 */
function scanFrom(
  files: ReadonlyMap<string, Uint8Array>,
  memo: SwarmRecordMemo,
  prefix: VerifiedPrefix<SwarmRecord> | null,
): { read: ReturnType<typeof journalScanFiles>; records: SwarmRecord[] } | null {
  const records = prefix === null ? [] : prefix.records.map((record) => memo.carried(record));
  const read = journalScanFiles(files, JOURNAL_FILE_NAME, false, {
    onPayload: (seq, kind, payload, facts) => {
      records.push(memo.scanned(seq, kind, payload, facts));
    },
    // As `journal verify` and an upload pass read: a checkpoint's open records as bytes.
    trackLastFinals: false,
    ...(prefix === null ? {} : { from: { resume: prefix.resume, afterSeq: 0 } }),
  });
  if (prefix !== null && !read.resumed) return null;
  memo.scanEnded();
  return { read, records };
}

/**
 * New bytes the follower read from one segment (for the PAN search), from `offset` on: a view
 * of the medium's bytes, valid until its next change (whoever keeps them copies them).
 */
export interface FollowedBytes {
  readonly name: string;
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * Follows the durable journal as it grows between full scans: decodes only the frames
 * appended since the last call (a tap costs its own records, not the whole journal), into the
 * next segments when the journal moved on, skipping segments reclaimed meanwhile.
 */
export class JournalFollower {
  private point: JournalFollowPoint = { firstSeq: 1, offset: 0 };
  /** Reused by every record's in-place check (payloadFastCheck allocates nothing). */
  private readonly facts = new PayloadFacts();
  /** The medium's durable names the last call found, and their journal units. */
  private unitsOf: { names: readonly string[]; units: JournalUnit[] } = { names: [], units: [] };

  /** Starts after the records of a full scan. */
  reset(scan: SwarmJournalScan): void {
    this.point = scan.newest;
  }

  /**
   * New intact frames since the last call, and the bytes read to find them, each chunk from
   * `overlapBytes` before where the last call stopped (a needle across the boundary); stops
   * in each segment at its first incomplete frame.
   */
  next(storage: StorageSim, overlapBytes: number): {
    records: SwarmRecord[];
    read: FollowedBytes[];
  } {
    const records: SwarmRecord[] = [];
    const read: FollowedBytes[] = [];
    for (const unit of this.units(storage)) {
      if (unit.firstSeq < this.point.firstSeq || !unit.segmentExists) continue;
      const from = unit.firstSeq === this.point.firstSeq ? this.point.offset : 0;
      const start = Math.max(0, from - overlapBytes);
      const tail = storage.durableTailView(unit.segment, start);
      const at = this.frames(tail, from - start, records);
      read.push({ name: unit.segment, offset: start, bytes: tail });
      this.point = { firstSeq: unit.firstSeq, offset: start + at };
    }
    return { records, read };
  }

  /**
   * journalUnits of the medium's durable names, worked out again only when the names changed
   * (a segment or checkpoint came or went: a few times a run, not at every tap).
   */
  private units(storage: StorageSim): JournalUnit[] {
    const names = storage.durableNames();
    const before = this.unitsOf.names;
    const changed = names !== before
      && (names.length !== before.length || names.some((name, i) => name !== before[i]));
    if (changed) {
      this.unitsOf = { names, units: journalUnits(JOURNAL_FILE_NAME, names) };
    }
    return this.unitsOf.units;
  }

  /** Decodes the intact frames of `bytes` from `at`; returns where they end. */
  private frames(bytes: Uint8Array, at: number, out: SwarmRecord[]): number {
    let offset = at;
    while (offset < bytes.length) {
      const checked = frameCheck(bytes, offset);
      if (!checked.ok) break;
      const frame = checked.frame;
      const kind = journalKindOfCode(frame.kindCode);
      if (kind === null) break;
      const facts = payloadRecordFacts(kind, frame.payload, this.facts);
      if (facts === undefined) break;
      out.push({ seq: frame.seq, kind, payload: latin1(frame.payload), ...facts });
      offset += FRAME_OVERHEAD_BYTES + frame.payload.length;
    }
    return offset;
  }
}

/**
 * recordDebitKey of a payload of `kind`, or undefined when it does not decode. A payload in
 * the journal's canonical form (every one the journal writes) is checked in place and its
 * card token (a T-Union card's number) and ATC read from there, without building the entry
 * (JSON.parse and a walk over some 40 values per record); any other goes through the decoder,
 * which decides.
 * `payloadFastCheck` accepts only what the decoder accepts, with the same values
 * (journal_payload_fast.test.ts).
 */
export function payloadDebitKey(
  kind: JournalKind,
  payload: Uint8Array,
  facts: PayloadFacts,
): SwarmDebitKey | null | undefined {
  return payloadRecordFacts(kind, payload, facts)?.debit;
}

/** payloadDebitKey's debit key with the record's T-Union facts; undefined as it. */
function payloadRecordFacts(
  kind: JournalKind,
  payload: Uint8Array,
  facts: PayloadFacts,
): RecordFacts | undefined {
  if (payloadFastCheck(kind, payload, facts)) {
    const canonical = canonicalRecordFacts(kind, payload, facts);
    if (canonical !== undefined) return canonical;
  }
  try {
    const { timeWallMs, entry } = journalPayloadDecode(kind, payload, JOURNAL_FILE_NAME);
    return { debit: recordDebitKey(entry), tunion: tunionFactsOf(timeWallMs, entry) };
  } catch {
    return undefined;
  }
}

/** The T-Union facts of a decoded entry (null for a kind of no T-Union debit). */
function tunionFactsOf(timeWallMs: number, entry: JournalEntry): SwarmTunionFacts | null {
  if (entry.kind === 'tunion_grey') return { timeWallMs, final: null };
  if (entry.kind !== 'tunion_final') return null;
  const final = {
    serialDigits: entry.card.serialDigits,
    amountMinor: entry.purchase.amountMinor,
    tacHex: entry.tacHex,
  };
  return { timeWallMs, final };
}

/**
 * The facts of a payload in the canonical form, from `facts` as payloadFastCheck filled them
 * for it (true), or undefined for a kind read only through the decoder.
 */
function canonicalRecordFacts(
  kind: JournalKind,
  payload: Uint8Array,
  facts: PayloadFacts,
): RecordFacts | undefined {
  switch (kind) {
    case 'declined':
    case 'reconciled':
    case 'ack':
    case 'tunion_blocked':
      return { debit: null, tunion: null };
    case 'tunion_grey':
    case 'tunion_final': {
      const serialDigits = tunionSerialInPlace(payload);
      const debit = {
        key: tunionKey(serialDigits, facts.num[FactSlot.ATC] ?? 0),
        final: kind === 'tunion_final',
      };
      const timeWallMs = facts.num[FactSlot.TIME_WALL_MS] ?? 0;
      const final = kind === 'tunion_final' ? tunionFinalInPlace(payload, serialDigits) : null;
      return { debit, tunion: { timeWallMs, final } };
    }
    case 'pending':
    case 'torn':
    case 'final':
      return {
        debit: {
          key: `${facts.text(FactSlot.PAN_TOKEN)}/${facts.num[FactSlot.ATC] ?? 0}`,
          final: kind === 'final',
        },
        tunion: null,
      };
    default:
      return undefined;
  }
}

/**
 * The key of a T-Union debit: its card number and the serial INITIALIZE FOR PURCHASE gave
 * (the records' `purchase.atc`). The one spelling of it: records, depot lines, the card twin.
 */
export function tunionKey(serialDigits: string, atc: number): string {
  return `tunion:${serialDigits}/${atc}`;
}

/** `"serialDigits":"` as the canonical form writes it (journal_payload_fast.ts). */
const SERIAL_FIELD = Buffer.from('"serialDigits":"', 'latin1');
/** `"amountMinor":` and `"tacHex":"` as the canonical form writes them. */
const AMOUNT_FIELD = Buffer.from('"amountMinor":', 'latin1');
const TAC_FIELD = Buffer.from('"tacHex":"', 'latin1');
/** Hex digits of a T-Union TAC (4 bytes: journal_tunion.ts, tunionFinalRead). */
const TAC_HEX_DIGITS = 8;

/**
 * The card number of a T-Union payload that passed `payloadFastCheck`: in the canonical form
 * its card is the first object with text fields (a final's `greySeq` before it is a number),
 * and its `serialDigits` are the 20 digits after the field's name (checked there).
 */
function tunionSerialInPlace(payload: Uint8Array): string {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  const at = bytes.indexOf(SERIAL_FIELD) + SERIAL_FIELD.length;
  return bytes.toString('latin1', at, at + 20);
}

/**
 * The purchase's amount and the TAC of a T-Union final that passed `payloadFastCheck`. In the
 * canonical form a text holds no quote (nor backslash), so a key's bytes are found only where
 * that key is; the fields come in the encoder's order: the card (no amount), then the
 * purchase, whose `amountMinor` is the first in the payload (the ride has none), a decimal
 * integer up to the comma after it; and one `tacHex` of 8 upper-case digits.
 */
function tunionFinalInPlace(
  payload: Uint8Array,
  serialDigits: string,
): NonNullable<SwarmTunionFacts['final']> {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  const amountAt = bytes.indexOf(AMOUNT_FIELD) + AMOUNT_FIELD.length;
  const amountMinor = Number(bytes.toString('latin1', amountAt, bytes.indexOf(0x2c, amountAt)));
  const tacAt = bytes.indexOf(TAC_FIELD) + TAC_FIELD.length;
  const tacHex = bytes.toString('latin1', tacAt, tacAt + TAC_HEX_DIGITS);
  return { serialDigits, amountMinor, tacHex };
}

/** The card and ATC a record speaks for (a debit's key), or null for ack/reconciled. */
export function recordDebitKey(entry: JournalEntry): SwarmDebitKey | null {
  switch (entry.kind) {
    case 'pending':
    case 'torn':
      return { key: `${entry.recovery.card.panToken}/${entry.recovery.atc}`, final: false };
    case 'final':
      return { key: `${entry.clearing.card.panToken}/${entry.clearing.atc}`, final: true };
    case 'tunion_grey':
    case 'tunion_final':
      return {
        key: tunionKey(entry.card.serialDigits, entry.purchase.atc),
        final: entry.kind === 'tunion_final',
      };
    case 'declined':
    case 'reconciled':
    case 'ack':
    // A deny-listed T-Union card's block: no debit (journal_tunion.ts).
    case 'tunion_blocked':
      return null;
    default: {
      const unreachable: never = entry;
      throw new Error(`journal kind ${String(unreachable)}`);
    }
  }
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}
