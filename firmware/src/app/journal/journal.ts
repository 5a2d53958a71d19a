// Power-safe transaction journal: append + sync per record, start-up recovery, space reserve.

import assert from 'node:assert';

import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import { HalStatus } from '../../../../hal/src/ports/hal_status.js';
import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import { FieldError } from '../params/json_fields.js';
import { checkpointEncode, checkpointGrowthBytesMax } from './journal_checkpoint.js';
import type { JournalCheckpoint } from './journal_checkpoint.js';
import { OPEN_TAP_EXPIRED_NOTE, OPEN_TAPS_EXPIRED_PER_CALL } from './journal_expiry.js';
import { PAYLOAD_FACTS_MEMO } from './journal_facts_memo.js';
import { checkpointName, quarantineName, segmentName } from './journal_files.js';
import {
  FRAME_BYTES_MAX, FRAME_OVERHEAD_BYTES, FRAME_PAYLOAD_BYTES_MAX, frameEncode, toHex,
} from './journal_frame.js';
import { PayloadFacts, payloadFastCheck } from './journal_payload_fast.js';
import { journalRead } from './journal_reader.js';
import {
  JOURNAL_KIND_CODES, SEQ_MAX, entryStoresNoCardTags, journalEntryNormalise, journalPayloadEncode,
} from './journal_records.js';
import type { JournalEntry, JournalKind, JournalRecord } from './journal_records.js';
import type { Corruption, TornTail } from './journal_scan.js';
import type {
  JournalState, LastFinal, TunionOpenGrey, UncertainTap,
} from './journal_state.js';

/** Operating errors of the journal. */
export enum JournalStatus {
  /** Not enough space: the validator must go out of service rather than lose records. */
  FULL = 'FULL',
  /** The storage failed (read, write, sync, truncate or remove). */
  IO = 'IO',
  /**
   * The journal has damage a torn write cannot explain: nothing was truncated or removed, and
   * a copy of the damaged file was put in quarantine (`quarantine-<file>`).
   */
  CORRUPT = 'CORRUPT',
  /** A field of the entry is malformed (detail names it). Nothing was written. */
  INVALID_ENTRY = 'INVALID_ENTRY',
  /** The entry breaks a reference rule (unknown or closed pending, ack backwards...). */
  BAD_REFERENCE = 'BAD_REFERENCE',
  /** The encoded record exceeds FRAME_PAYLOAD_BYTES_MAX. Nothing was written. */
  TOO_LARGE = 'TOO_LARGE',
  /** An earlier write or sync failed; the journal must be reopened (recovery) first. */
  FAILED = 'FAILED',
}

/**
 * Records a tap may write: pending, final or declined, a reconciled one for an open tap of
 * the card, and an expiry's reconciled record before it. A journal within this many seqs of
 * SEQ_MAX takes no more taps (journal init --after-seq near 2^32; at a thousand taps a day the
 * seqs last ten thousand years).
 */
const TAP_SEQS_MAX = 8;
const SEQS_EXHAUSTED = `sequence numbers exhausted: a record's seq is at most ${SEQ_MAX}; `
  + 'start a new journal (shuaka journal init) after the depot holds this one';

export type JournalResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: JournalStatus; readonly detail: string };

/** Options, passed explicitly by the composition root. */
export interface JournalOptions {
  /**
   * Name of the first segment on the storage port, e.g. "journal.bin"; later segments are
   * "journal-NNNNNNNNNN.bin" with checkpoints "journal-NNNNNNNNNN.ckpt" (see README.md).
   */
  readonly fileName: string;
  /** Stamps `timeWallMs` on every record. */
  readonly clock: ClockPort;
  /**
   * Bytes kept free for records that close a tap already under way (final, declined, torn,
   * reconciled, ack): a new tap is refused once less than this would remain, so the record
   * of a card that has already committed can always be written.
   */
  readonly reserveBytes: number;
  /** Upper bound of the journal's files together, whatever the medium's free space. */
  readonly sizeBytesMax: number;
  /**
   * A segment is sealed and a new one started (with a checkpoint) once the next record would
   * take it past this. Start-up reads one segment, so this bounds start-up time and memory.
   * Default: sizeBytesMax / 16, within [2 * FRAME_BYTES_MAX, 2 MiB].
   */
  readonly segmentBytesMax?: number;
}

/** Default upper bound of one segment. */
export const JOURNAL_SEGMENT_BYTES_DEFAULT = 2 << 20;

/** What start-up recovery did. */
export interface JournalRecovery {
  /** The torn tail that was cut, or null. */
  readonly tornTail: TornTail | null;
  /** Segments in use after recovery. */
  readonly segmentCount: number;
  readonly recordCount: number;
  /** Taps to reconcile (open pendings after a power cut, uncertain torn records). */
  readonly uncertain: readonly UncertainTap[];
}

/** Counts and positions for logs and the CLI. */
export interface JournalSummary {
  readonly recordCount: number;
  readonly lastSeq: number;
  readonly ackThroughSeq: number;
  /** Bytes of every segment and checkpoint in use. */
  readonly sizeBytes: number;
  readonly segmentCount: number;
  readonly headHashHex: string;
  readonly countsByKind: Readonly<Record<JournalKind, number>>;
  readonly unacknowledgedFinalCount: number;
  readonly uncertainCount: number;
  /** Wall time of the newest record (ms; 0 for a new journal). */
  readonly newestWallMs: number;
}

/** The journal's file name on the data partition (the CLI and boards use the same). */
export const JOURNAL_FILE_NAME = 'journal.bin';

/** How often a FAILED journal tries to reopen in place (Journal.canAcceptTap). */
export const JOURNAL_REOPEN_INTERVAL_MS = 5_000;

/** Default reserve: room for 16 closing records of the maximal size. */
export const JOURNAL_RESERVE_BYTES_DEFAULT = 16 * FRAME_BYTES_MAX;

/** A segment in use: its first seq and the bytes of its segment and checkpoint files. */
interface Segment {
  readonly firstSeq: number;
  segmentBytes: number;
  readonly checkpointBytes: number;
}

/**
 * The journal. One record = one append followed by one sync, so a record is durable before
 * `append` resolves, and at most the last record can be torn by a power cut. Records go to
 * segments; a checkpoint before each segment holds the state, so that start-up reads the
 * newest checkpoint and segment only, and acknowledged segments are removed (reclaimed).
 * Appends are serial: a second append while one is in flight is an assertion failure.
 */
export class Journal {
  private busy = false;
  /** Filled by the canonical check of each entry appended (canonicalPayload). */
  private readonly facts = new PayloadFacts();
  private failedDetail: string | null = null;
  /** See sealedPanSample. */
  private sealedPanSeen: string | null = null;
  /**
   * The checkpoint of the state after `lastSeq`, encoded by `canAcceptTap` or by an append that
   * could not go on: the append that rotates next needs the same bytes (the state changes only
   * by an append). Handed to storage at most once, so no copy of it is ever shared.
   */
  private checkpointMemo: { readonly lastSeq: number; readonly bytes: Uint8Array } | null = null;
  /**
   * A bound of the size of the checkpoint of the state after `lastSeq`: the size of the last
   * one encoded plus checkpointGrowthBytesMax of every record appended since. `canAcceptTap`
   * decides with it when the tap fits even so, and encodes the checkpoint only when it may not.
   */
  private checkpointBound: { lastSeq: number; bytes: number } | null = null;

  /** When a FAILED journal may next try to reopen in place (reopenFailed). */
  private reopenAtMs = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly storage: StoragePort,
    private readonly options: JournalOptions,
    private state: JournalState,
    private headHash: Uint8Array,
    private segments: Segment[],
  ) {}

  /**
   * Reads the newest checkpoint and segment, cuts a torn tail (and syncs the cut), removes
   * leftovers of an interrupted reclaim, and rebuilds the index. Errors: IO (list, read,
   * size, truncate, sync or remove failed), CORRUPT (damage in committed records or a
   * checkpoint; nothing is cut, a copy of the damaged file is put in quarantine).
   */
  static async open(
    storage: StoragePort,
    options: JournalOptions,
  ): Promise<JournalResult<{ journal: Journal; recovery: JournalRecovery }>> {
    assert(options.reserveBytes >= 0, 'reserveBytes');
    assert(options.sizeBytesMax > options.reserveBytes, 'sizeBytesMax above the reserve');
    const fileName = options.fileName;
    let sealedPan: string | null = null;
    const read = await journalRead(storage, fileName, {
      from: 'newest', trackLastFinals: true, onRecord: null,
      onPayload: (_seq, _kind, payload) => { sealedPan ??= sealedPanIn(payload); },
    });
    if (!read.ok) return journalErr(JournalStatus.IO, read.detail);
    const scan = read.value;
    if (scan.corruption !== null) return journalCorrupt(storage, scan.corruption);
    const newest = scan.units.at(-1);
    if (scan.tornTail !== null && newest !== undefined) {
      const cut = await storage.truncate(newest.segment, scan.newestValidBytes);
      if (!cut.ok) return journalErr(JournalStatus.IO, cut.detail);
      const synced = await storage.sync(newest.segment);
      if (!synced.ok) return journalErr(JournalStatus.IO, synced.detail);
    }
    for (const leftover of scan.leftovers) {
      const removed = await storage.remove(leftover.checkpoint ?? leftover.segment);
      if (!removed.ok) return journalErr(JournalStatus.IO, removed.detail);
    }
    const segments: Segment[] = [];
    for (const unit of scan.units) {
      const segmentBytes = await storage.size(unit.segment);
      const checkpointBytes = unit.checkpoint === null ? { ok: true, value: 0 } as const
        : await storage.size(unit.checkpoint);
      if (!segmentBytes.ok) return journalErr(JournalStatus.IO, segmentBytes.detail);
      if (!checkpointBytes.ok) return journalErr(JournalStatus.IO, checkpointBytes.detail);
      const firstSeq = unit.firstSeq;
      segments.push({
        firstSeq, segmentBytes: segmentBytes.value, checkpointBytes: checkpointBytes.value,
      });
    }
    if (segments.length === 0) segments.push({ firstSeq: 1, segmentBytes: 0, checkpointBytes: 0 });
    const journal = new Journal(storage, options, scan.state, scan.headHash, segments);
    journal.sealedPanSeen = sealedPan ?? scan.state.uncertainAll()
      .map((tap) => tap.recovery.card.panSealed).find((sealed) => sealed !== '')
      ?? null;
    const recovery: JournalRecovery = {
      tornTail: scan.tornTail,
      segmentCount: segments.length,
      recordCount: scan.state.lastSeq,
      uncertain: scan.state.uncertainAll(),
    };
    return { ok: true, value: { journal, recovery } };
  }

  /**
   * Appends one record and syncs it; resolves only once it is durable. Errors: INVALID_ENTRY,
   * BAD_REFERENCE, TOO_LARGE (nothing written, the journal stays usable); FULL (nothing
   * written); IO (write or sync failed: the journal is FAILED until reopened); FAILED.
   * An ack also reclaims the segments it acknowledges whole (a failed removal is retried at
   * the next ack or when space runs short; the ack itself stands).
   */
  async append(entry: JournalEntry): Promise<JournalResult<JournalRecord>> {
    assert(!this.busy, 'journal appends are serial');
    if (this.failedDetail !== null) return journalErr(JournalStatus.FAILED, this.failedDetail);
    // Whole milliseconds: a simulated clock may be fractional, the record format is integral.
    const timeWallMs = Math.floor(this.options.clock.wallMs());
    let normal: JournalEntry;
    let payload = this.canonicalPayload(timeWallMs, entry);
    // Its check filled this.facts (appends are serial: nothing refills them before the write).
    const facts = payload === null ? null : this.facts;
    if (payload !== null) {
      normal = entry;
    } else {
      try {
        normal = journalEntryNormalise(entry, this.options.fileName);
      } catch (error) {
        if (error instanceof FieldError) {
          return journalErr(JournalStatus.INVALID_ENTRY, error.message);
        }
        throw error;
      }
      payload = journalPayloadEncode(timeWallMs, normal);
    }
    const seq = this.state.lastSeq + 1;
    if (seq > SEQ_MAX) return journalErr(JournalStatus.FULL, SEQS_EXHAUSTED);
    const problem = this.state.check(normal, seq);
    if (problem !== null) return journalErr(JournalStatus.BAD_REFERENCE, problem);
    if (payload.length > FRAME_PAYLOAD_BYTES_MAX) {
      return journalErr(JournalStatus.TOO_LARGE, `${payload.length} payload bytes`);
    }
    this.busy = true;
    try {
      const appended = await this.appendFrame({ seq, timeWallMs, entry: normal }, payload, facts);
      if (appended.ok && normal.kind === 'ack') await this.reclaim();
      return appended;
    } finally {
      this.busy = false;
    }
  }

  /**
   * The payload of `entry` when the caller's object is already the normalised entry: encoded
   * as it is, it is exactly the canonical form the reader accepts (payloadFastCheck: known keys
   * only, in the encoder's order, every field within its rules) and its BER-TLV holds no tag a
   * record never stores, so journalEntryNormalise would give an equal copy and the same bytes.
   * Null otherwise (another key order, an extra or missing key, a value the rules refuse or
   * spell differently, a card tag): the caller normalises, which decides and says why. Saves
   * re-reading every field of a record the tap just built.
   */
  private canonicalPayload(timeWallMs: number, entry: JournalEntry): Uint8Array | null {
    if (!Object.hasOwn(JOURNAL_KIND_CODES, entry.kind)) return null;
    let payload: Uint8Array;
    try {
      payload = journalPayloadEncode(timeWallMs, entry);
    } catch {
      return null;
    }
    return payloadFastCheck(entry.kind, payload, this.facts) && entryStoresNoCardTags(entry)
      ? payload : null;
  }

  /**
   * Whether a new tap (which needs a pending record of the maximal size, a checkpoint if it
   * starts a segment, plus the reserve) fits, after reclaiming acknowledged segments. False
   * means "out of service". Errors: IO, FAILED.
   */
  async canAcceptTap(): Promise<JournalResult<boolean>> {
    if (this.failedDetail !== null && !(await this.reopenFailed())) {
      return journalErr(JournalStatus.FAILED, this.failedDetail);
    }
    // No ack gives sequence numbers back: a journal this near the last one serves no more.
    if (this.state.lastSeq > SEQ_MAX - TAP_SEQS_MAX) return { ok: true, value: false };
    // Once the newest segment is past its size less a maximal frame (in a journal of small
    // segments, most taps), the tap's pending may start a segment: its checkpoint counts.
    const rotate = this.rotationNeeded(FRAME_BYTES_MAX);
    const bytesMax = FRAME_BYTES_MAX + (rotate ? this.checkpointBytesMax() : 0);
    const bytesExact = (): number =>
      FRAME_BYTES_MAX + (rotate ? this.checkpointBytesNow().length : 0);
    const space = await this.spaceFor(bytesMax, true, bytesExact);
    if (!space.ok) return space;
    return { ok: true, value: space.value === null };
  }

  /**
   * Ends the watch of open taps whose card did not come back (journal_expiry.ts): a
   * `reconciled … unresolved` record for each, oldest first, at most
   * OPEN_TAPS_EXPIRED_PER_CALL a call, and only while a new tap would still fit (the records
   * must not take the reserve a tap under way needs). Resolves with the records written.
   * Errors: those of `append` and `canAcceptTap`.
   */
  async expireOpenTaps(): Promise<JournalResult<number>> {
    const due = this.state.openTapsPastWatch(OPEN_TAPS_EXPIRED_PER_CALL,
      this.options.clock.wallMs());
    let written = 0;
    for (const targetSeq of due) {
      const room = await this.canAcceptTap();
      if (!room.ok) return room;
      if (!room.value) break;
      const appended = await this.append({
        kind: 'reconciled', targetSeq, outcome: 'unresolved', finalSeq: null,
        note: OPEN_TAP_EXPIRED_NOTE,
      });
      if (!appended.ok) return appended;
      written += 1;
    }
    return { ok: true, value: written };
  }

  /** Every uncertain tap (oldest first): reconcile at the card's next tap or in the export. */
  uncertainAll(): UncertainTap[] {
    return this.state.uncertainAll();
  }

  /** Uncertain taps of the card with this PAN token (pan_vault.ts) and PSN (5F34 byte). */
  uncertainForCard(panToken: string, psn: number): UncertainTap[] {
    return this.state.uncertainForCard(panToken, psn);
  }

  /** Uncertain taps of the card with this UID. */
  uncertainForUid(uidHex: string): UncertainTap[] {
    return this.state.uncertainForUid(uidHex);
  }

  /** Open T-Union grey records, oldest first: recovered at the card's next tap. */
  tunionOpenGreys(): TunionOpenGrey[] {
    return this.state.tunionOpenGreys();
  }

  /** Latest final record of this card (duplicate-tap window across restarts), or null. */
  lastFinalFor(panToken: string, psn: number): LastFinal | null {
    return this.state.lastFinalFor(panToken, psn);
  }

  /**
   * A sealed PAN of a record read at open (the newest segment's first, else an uncertain
   * tap's), or null: the key id it names is the data key this journal's card data is under,
   * which a board checks its data key against before it seals anything more.
   */
  sealedPanSample(): string | null {
    return this.sealedPanSeen;
  }

  /**
   * True when the journal keeps anything sealed or keyed under the terminal data key: a record
   * in a segment, or a checkpoint's open or uncertain taps and per-card last finals. False for
   * a new journal and for one that `shuaka journal init` started after a seq (its last seq is
   * not 0, but nothing of a card is there): a new data key may be made for it.
   */
  holdsCardData(): boolean {
    return this.segments.some((s) => s.segmentBytes > 0) || this.state.holdsCardData();
  }

  /** True after a failed write or sync: reopen the journal to recover. */
  isFailed(): boolean {
    return this.failedDetail !== null;
  }

  /** The seq of the last record, 0 for an empty journal (summary's, without the rest). */
  lastSeq(): number {
    return this.state.lastSeq;
  }

  /** The seq an ack covers (summary's, without the rest). */
  ackThroughSeq(): number {
    return this.state.ackThroughSeq;
  }

  summary(): JournalSummary {
    return {
      recordCount: this.state.lastSeq,
      lastSeq: this.state.lastSeq,
      ackThroughSeq: this.state.ackThroughSeq,
      sizeBytes: this.sizeBytes(),
      segmentCount: this.segments.length,
      headHashHex: toHex(this.headHash),
      countsByKind: { ...this.state.countsByKind },
      unacknowledgedFinalCount: this.state.unacknowledgedFinalCount(),
      uncertainCount: this.state.uncertainAll().length,
      newestWallMs: this.state.newestWallMs,
    };
  }

  /** `facts`: those payloadFastCheck found in `payload`, or null when it did not check it. */
  private async appendFrame(
    record: JournalRecord,
    payload: Uint8Array,
    facts: PayloadFacts | null,
  ): Promise<JournalResult<JournalRecord>> {
    const frameBytes = FRAME_OVERHEAD_BYTES + payload.length;
    const rotate = this.rotationNeeded(frameBytes);
    const checkpoint = rotate ? this.checkpointBytesNow() : null;
    const needBytes = frameBytes + (checkpoint?.length ?? 0);
    const space = await this.spaceFor(needBytes, opensTap(record.entry));
    if (!space.ok) return space;
    if (space.value !== null) return journalErr(JournalStatus.FULL, space.value);
    if (checkpoint !== null) {
      // The checkpoint is durable before the segment it starts exists (replace is atomic).
      const name = checkpointName(this.options.fileName, record.seq);
      this.checkpointMemo = null;
      const written = await this.storage.replace(name, checkpoint);
      if (!written.ok) return this.fail(`checkpoint ${name}: ${written.detail}`, written.error);
      const checkpointBytes = checkpoint.length;
      this.segments.push({ firstSeq: record.seq, segmentBytes: 0, checkpointBytes });
    }
    const kindCode = JOURNAL_KIND_CODES[record.entry.kind];
    const { frame, hash } = frameEncode(kindCode, record.seq, payload, this.headHash);
    assert(frame.length === frameBytes, 'frame size');
    const newest = this.newest();
    const file = segmentName(this.options.fileName, newest.firstSeq);
    const written = await this.storage.append(file, frame);
    if (!written.ok) return this.fail(`append seq ${record.seq}: ${written.detail}`, written.error);
    const synced = await this.storage.sync(file);
    if (!synced.ok) return this.fail(`sync seq ${record.seq}: ${synced.detail}`, synced.error);
    // A read of the record takes the verdict of the check its encoding passed.
    if (facts !== null) PAYLOAD_FACTS_MEMO.remember(record.seq, hash, facts);
    const newestWallMsBefore = this.state.newestWallMs;
    this.state.apply(record);
    this.checkpointBoundGrow(record, payload, newestWallMsBefore);
    this.headHash = hash;
    newest.segmentBytes += frameBytes;
    assert(this.state.lastSeq === record.seq, 'seq advanced');
    return { ok: true, value: record };
  }

  /** True when a frame of `frameBytes` must start a new segment. */
  private rotationNeeded(frameBytes: number): boolean {
    const newest = this.newest();
    return newest.segmentBytes > 0 && newest.segmentBytes + frameBytes > this.segmentBytesMax();
  }

  private segmentBytesMax(): number {
    const sixteenth = Math.floor(this.options.sizeBytesMax / 16);
    const fallback = Math.min(JOURNAL_SEGMENT_BYTES_DEFAULT, sixteenth);
    return this.options.segmentBytesMax ?? Math.max(2 * FRAME_BYTES_MAX, fallback);
  }

  /** checkpointEncode(checkpointNow()), encoded once per state (see checkpointMemo). */
  private checkpointBytesNow(): Uint8Array {
    const lastSeq = this.state.lastSeq;
    const memo = this.checkpointMemo;
    if (memo !== null && memo.lastSeq === lastSeq) return memo.bytes;
    const bytes = checkpointEncode(this.checkpointNow());
    this.checkpointMemo = { lastSeq, bytes };
    this.checkpointBound = { lastSeq, bytes: bytes.length };
    return bytes;
  }

  /** At least checkpointBytesNow().length, without encoding it when a bound is known. */
  private checkpointBytesMax(): number {
    const bound = this.checkpointBound;
    if (bound !== null && bound.lastSeq === this.state.lastSeq) return bound.bytes;
    return this.checkpointBytesNow().length;
  }

  /**
   * Carries the checkpoint bound over `record`, just applied to the state. A record dated
   * before the newest one (the wall clock set back) moves the last-final window back, so
   * finals it had left may count again: no bound then, the next ask encodes.
   */
  private checkpointBoundGrow(
    record: JournalRecord,
    payload: Uint8Array,
    newestWallMsBefore: number,
  ): void {
    const bound = this.checkpointBound;
    if (bound === null || bound.lastSeq !== record.seq - 1) return;
    if (record.timeWallMs < newestWallMsBefore) {
      this.checkpointBound = null;
      return;
    }
    const entry = record.entry;
    const held = this.state.held(record.seq) === null ? null : payload;
    const finalTexts = entry.kind === 'final'
      ? [entry.clearing.lineId, entry.clearing.fareRule]
      : null;
    bound.lastSeq = record.seq;
    bound.bytes += checkpointGrowthBytesMax(held, finalTexts);
  }

  private checkpointNow(): JournalCheckpoint {
    const firstSeq = this.state.lastSeq + 1;
    return { firstSeq, headHash: this.headHash, state: this.state.snapshot() };
  }

  private newest(): Segment {
    const newest = this.segments.at(-1);
    assert(newest !== undefined, 'a journal has a segment');
    return newest;
  }

  private sizeBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.segmentBytes + s.checkpointBytes, 0);
  }

  /**
   * Removes the oldest segments whose records are all acknowledged: the segment first, then
   * its checkpoint (a cut in between leaves a checkpoint that the next open removes). The
   * newest segment stays. Errors: IO (the journal stays usable).
   */
  private async reclaim(): Promise<JournalResult<number>> {
    let reclaimed = 0;
    // Bounded: each iteration removes one segment, the newest is never removed.
    for (;;) {
      const [oldest, next] = this.segments;
      if (oldest === undefined || next === undefined) break;
      if (next.firstSeq - 1 > this.state.ackThroughSeq) break;
      const names = [segmentName(this.options.fileName, oldest.firstSeq)];
      if (oldest.firstSeq > 1) names.push(checkpointName(this.options.fileName, oldest.firstSeq));
      for (const name of names) {
        const removed = await this.storage.remove(name);
        if (!removed.ok) return journalErr(JournalStatus.IO, removed.detail);
        if (name === names[0]) oldest.segmentBytes = 0;
      }
      this.segments.shift();
      reclaimed += 1;
    }
    return { ok: true, value: reclaimed };
  }

  /**
   * Null when `bytes` fit (keeping the reserve if `opening`), else why not. `bytesMax` is a
   * bound of `bytes`, whose exact value `bytesExact` gives: the bound decides whenever it fits
   * (then `bytes` fits too), the exact value otherwise, so the answer and what is done on the
   * way (a reclaim) are those of the exact value.
   */
  private async spaceFor(
    bytesMax: number,
    opening: boolean,
    bytesExact: () => number = () => bytesMax,
  ): Promise<JournalResult<string | null>> {
    const keepBytes = opening ? this.options.reserveBytes : 0;
    let bytes = bytesMax;
    if (this.sizeBytes() + bytes + keepBytes > this.options.sizeBytesMax) bytes = bytesExact();
    if (this.sizeBytes() + bytes + keepBytes > this.options.sizeBytesMax) {
      const reclaimed = await this.reclaim();
      if (!reclaimed.ok) return reclaimed;
    }
    if (this.sizeBytes() + bytes + keepBytes > this.options.sizeBytesMax) {
      const value = `journal at ${this.sizeBytes()} of ${this.options.sizeBytesMax} bytes`;
      return { ok: true, value };
    }
    const capacity = await this.storage.capacity();
    if (!capacity.ok) {
      if (capacity.error === HalStatus.NOT_SUPPORTED) return { ok: true, value: null };
      return journalErr(JournalStatus.IO, capacity.detail);
    }
    if (capacity.value.freeBytes < bytes + keepBytes) bytes = bytesExact();
    if (capacity.value.freeBytes < bytes + keepBytes) {
      return { ok: true, value: `storage has ${capacity.value.freeBytes} bytes free` };
    }
    return { ok: true, value: null };
  }

  /**
   * A FAILED journal reopened in place, as `open` does (scan, cut a torn tail, rebuild the
   * index), once the storage lets it, at most every JOURNAL_REOPEN_INTERVAL_MS: true when it
   * serves again. Out of service until a restart, a validator whose disk had filled or whose
   * file had been made unwritable refused every rider after the cause was gone. A journal
   * read back shorter than this one wrote (its file deleted) stays failed for good: serving
   * it would hand the lost seqs out again; so does a corrupt one (open quarantined a copy).
   */
  private async reopenFailed(): Promise<boolean> {
    const nowMs = this.options.clock.nowMs();
    if (this.busy || nowMs < this.reopenAtMs) return false;
    this.reopenAtMs = nowMs + JOURNAL_REOPEN_INTERVAL_MS;
    const opened = await Journal.open(this.storage, this.options);
    if (!opened.ok) {
      if (opened.error === JournalStatus.CORRUPT) this.reopenAtMs = Number.POSITIVE_INFINITY;
      return false;
    }
    const fresh = opened.value.journal;
    if (fresh.state.lastSeq < this.state.lastSeq) {
      this.reopenAtMs = Number.POSITIVE_INFINITY;
      this.failedDetail = `${this.failedDetail ?? ''}; read back through seq `
        + `${fresh.state.lastSeq}, written through ${this.state.lastSeq}: records lost, out of `
        + 'service until the journal is restored or started anew (journal init)';
      return false;
    }
    this.state = fresh.state;
    this.headHash = fresh.headHash;
    this.segments = fresh.segments;
    this.sealedPanSeen = fresh.sealedPanSeen ?? this.sealedPanSeen;
    this.checkpointMemo = null;
    this.checkpointBound = null;
    this.failedDetail = null;
    return true;
  }

  /** A failed write may have left part of a frame: only a reopen (scan + cut) is safe. */
  private fail(detail: string, error: HalStatus): JournalResult<JournalRecord> {
    this.failedDetail = detail;
    const status = error === HalStatus.SIZE ? JournalStatus.FULL : JournalStatus.IO;
    return journalErr(status, detail);
  }
}

/**
 * Puts a copy of the damaged file in quarantine (once: an existing copy of the same size is
 * kept) and reports CORRUPT. The damaged file itself is never touched.
 */
async function journalCorrupt<T>(
  storage: StoragePort,
  corruption: Corruption,
): Promise<JournalResult<T>> {
  const where = `${corruption.file} at byte ${corruption.offset} (seq ${corruption.seqExpected})`;
  const detail = `${where}: ${corruption.reason}`;
  const damaged = await storage.read(corruption.file);
  const unsafe = (why: string): JournalResult<T> =>
    journalErr(JournalStatus.CORRUPT, `${detail}; not quarantined: ${why}`);
  if (!damaged.ok) return unsafe(damaged.detail);
  const name = quarantineName(corruption.file);
  const existing = await storage.size(name);
  if (!existing.ok || existing.value !== damaged.value.length || damaged.value.length === 0) {
    const copied = await storage.replace(name, damaged.value);
    if (!copied.ok) return unsafe(copied.detail);
  }
  return journalErr(JournalStatus.CORRUPT, `${detail}; copy in ${name}`);
}

function journalErr<T>(error: JournalStatus, detail: string): JournalResult<T> {
  return { ok: false, error, detail };
}

/** Records that start a tap need the reserve left free; records closing one may use it. */
function opensTap(entry: JournalEntry): boolean {
  switch (entry.kind) {
    case 'pending':
    case 'tunion_grey':
      return true;
    case 'final':
    case 'declined':
    case 'torn':
      return entry.pendingSeq === null;
    case 'tunion_final':
      return entry.greySeq === null;
    // A pending block record, or a block never sent, opens like a new tap; the final record
    // of a block sent closes its pending one and may use the reserve.
    case 'tunion_blocked':
      return entry.pendingSeq === null;
    case 'reconciled':
    case 'ack':
      return false;
    default: {
      const unreachable: never = entry;
      throw new Error(`unknown entry ${String(unreachable)}`);
    }
  }
}

const SEALED_PAN_FIELD = /"panSealed":"([0-9A-Fa-f]+)"/;

/** The first sealed PAN in a record's payload (its JSON text), or null. */
function sealedPanIn(payload: Uint8Array): string | null {
  return SEALED_PAN_FIELD.exec(Buffer.from(payload.buffer, payload.byteOffset, payload.length)
    .toString('latin1'))?.[1] ?? null;
}
