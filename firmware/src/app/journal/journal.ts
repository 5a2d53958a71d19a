// Power-safe transaction journal: append + sync per record, start-up recovery, space reserve.

import assert from 'node:assert';

import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import { HalStatus } from '../../../../hal/src/ports/hal_status.js';
import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import { FieldError } from '../params/json_fields.js';
import {
  FRAME_BYTES_MAX, FRAME_OVERHEAD_BYTES, FRAME_PAYLOAD_BYTES_MAX, frameEncode, toHex,
} from './journal_frame.js';
import {
  JOURNAL_KIND_CODES, journalEntryNormalise, journalPayloadEncode,
} from './journal_records.js';
import type { JournalEntry, JournalKind, JournalRecord } from './journal_records.js';
import { journalScan } from './journal_scan.js';
import type { TornTail } from './journal_scan.js';
import type { JournalState, LastFinal, UncertainTap } from './journal_state.js';

/** Operating errors of the journal. */
export enum JournalStatus {
  /** Not enough space: the validator must go out of service rather than lose records. */
  FULL = 'FULL',
  /** The storage failed (read, write, sync or truncate). */
  IO = 'IO',
  /** The image has damage a torn write cannot explain; nothing was truncated. */
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

export type JournalResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: JournalStatus; readonly detail: string };

/** Options, passed explicitly by the composition root. */
export interface JournalOptions {
  /** File name on the storage port, e.g. "journal.bin". */
  readonly fileName: string;
  /** Stamps `timeWallMs` on every record. */
  readonly clock: ClockPort;
  /**
   * Bytes kept free for records that close a tap already under way (final, declined, torn,
   * reconciled, ack): a new tap is refused once less than this would remain, so the record
   * of a card that has already committed can always be written.
   */
  readonly reserveBytes: number;
  /** Upper bound of the journal file itself, whatever the medium's free space. */
  readonly sizeBytesMax: number;
}

/** What start-up recovery did. */
export interface JournalRecovery {
  /** The torn tail that was cut, or null. */
  readonly tornTail: TornTail | null;
  readonly recordCount: number;
  /** Taps to reconcile (open pendings after a power cut, uncertain torn records). */
  readonly uncertain: readonly UncertainTap[];
}

/** Counts and positions for logs and the CLI. */
export interface JournalSummary {
  readonly recordCount: number;
  readonly lastSeq: number;
  readonly ackThroughSeq: number;
  readonly sizeBytes: number;
  readonly headHashHex: string;
  readonly countsByKind: Readonly<Record<JournalKind, number>>;
  readonly unacknowledgedFinalCount: number;
  readonly uncertainCount: number;
}

/** The journal's file name on the data partition (the CLI and boards use the same). */
export const JOURNAL_FILE_NAME = 'journal.bin';

/** Default reserve: room for 16 closing records of the maximal size. */
export const JOURNAL_RESERVE_BYTES_DEFAULT = 16 * FRAME_BYTES_MAX;

/**
 * The journal. One record = one append followed by one sync, so a record is durable before
 * `append` resolves, and at most the last record can be torn by a power cut. Appends are
 * serial: a second append while one is in flight is an assertion failure.
 */
export class Journal {
  private busy = false;
  private failedDetail: string | null = null;

  private constructor(
    private readonly storage: StoragePort,
    private readonly options: JournalOptions,
    private readonly state: JournalState,
    private headHash: Uint8Array,
    private sizeBytes: number,
  ) {}

  /**
   * Reads and verifies the journal, cuts a torn tail (and syncs the cut), and rebuilds the
   * index. Errors: IO (read, truncate or sync failed), CORRUPT (damage in committed records;
   * the file is left untouched).
   */
  static async open(
    storage: StoragePort,
    options: JournalOptions,
  ): Promise<JournalResult<{ journal: Journal; recovery: JournalRecovery }>> {
    assert(options.reserveBytes >= 0, 'reserveBytes');
    assert(options.sizeBytesMax > options.reserveBytes, 'sizeBytesMax above the reserve');
    const read = await storage.read(options.fileName);
    if (!read.ok) return journalErr(JournalStatus.IO, read.detail);
    const scan = journalScan(read.value, options.fileName, false);
    if (scan.corruption !== null) {
      const c = scan.corruption;
      const where = `${options.fileName} at byte ${c.offset} (seq ${c.seqExpected})`;
      return journalErr(JournalStatus.CORRUPT, `${where}: ${c.reason}`);
    }
    if (scan.tornTail !== null) {
      const cut = await storage.truncate(options.fileName, scan.validBytes);
      if (!cut.ok) return journalErr(JournalStatus.IO, cut.detail);
      const synced = await storage.sync(options.fileName);
      if (!synced.ok) return journalErr(JournalStatus.IO, synced.detail);
    }
    const journal = new Journal(storage, options, scan.state, scan.headHash, scan.validBytes);
    const recovery: JournalRecovery = {
      tornTail: scan.tornTail,
      recordCount: scan.state.lastSeq,
      uncertain: scan.state.uncertainAll(),
    };
    return { ok: true, value: { journal, recovery } };
  }

  /**
   * Appends one record and syncs it; resolves only once it is durable. Errors: INVALID_ENTRY,
   * BAD_REFERENCE, TOO_LARGE (nothing written, the journal stays usable); FULL (nothing
   * written); IO (write or sync failed: the journal is FAILED until reopened); FAILED.
   */
  async append(entry: JournalEntry): Promise<JournalResult<JournalRecord>> {
    assert(!this.busy, 'journal appends are serial');
    if (this.failedDetail !== null) return journalErr(JournalStatus.FAILED, this.failedDetail);
    let normal: JournalEntry;
    try {
      normal = journalEntryNormalise(entry, this.options.fileName);
    } catch (error) {
      if (error instanceof FieldError) {
        return journalErr(JournalStatus.INVALID_ENTRY, error.message);
      }
      throw error;
    }
    const seq = this.state.lastSeq + 1;
    const problem = this.state.check(normal, seq);
    if (problem !== null) return journalErr(JournalStatus.BAD_REFERENCE, problem);
    // Whole milliseconds: a simulated clock may be fractional, the record format is integral.
    const timeWallMs = Math.floor(this.options.clock.wallMs());
    const payload = journalPayloadEncode(timeWallMs, normal);
    if (payload.length > FRAME_PAYLOAD_BYTES_MAX) {
      return journalErr(JournalStatus.TOO_LARGE, `${payload.length} payload bytes`);
    }
    this.busy = true;
    try {
      return await this.appendFrame({ seq, timeWallMs, entry: normal }, payload);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Whether a new tap (which needs a pending record of the maximal size plus the reserve)
   * fits. False means "out of service". Errors: IO, FAILED.
   */
  async canAcceptTap(): Promise<JournalResult<boolean>> {
    if (this.failedDetail !== null) return journalErr(JournalStatus.FAILED, this.failedDetail);
    const space = await this.spaceFor(FRAME_BYTES_MAX, true);
    if (!space.ok) return space;
    return { ok: true, value: space.value === null };
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

  /** Latest final record of this card (duplicate-tap window across restarts), or null. */
  lastFinalFor(panToken: string, psn: number): LastFinal | null {
    return this.state.lastFinalFor(panToken, psn);
  }

  /** True after a failed write or sync: reopen the journal to recover. */
  isFailed(): boolean {
    return this.failedDetail !== null;
  }

  summary(): JournalSummary {
    return {
      recordCount: this.state.lastSeq,
      lastSeq: this.state.lastSeq,
      ackThroughSeq: this.state.ackThroughSeq,
      sizeBytes: this.sizeBytes,
      headHashHex: toHex(this.headHash),
      countsByKind: { ...this.state.countsByKind },
      unacknowledgedFinalCount: this.state.unacknowledgedFinalCount(),
      uncertainCount: this.state.uncertainAll().length,
    };
  }

  private async appendFrame(
    record: JournalRecord,
    payload: Uint8Array,
  ): Promise<JournalResult<JournalRecord>> {
    const frameBytes = FRAME_OVERHEAD_BYTES + payload.length;
    const space = await this.spaceFor(frameBytes, opensTap(record.entry));
    if (!space.ok) return space;
    if (space.value !== null) return journalErr(JournalStatus.FULL, space.value);
    const kindCode = JOURNAL_KIND_CODES[record.entry.kind];
    const { frame, hash } = frameEncode(kindCode, record.seq, payload, this.headHash);
    assert(frame.length === frameBytes, 'frame size');
    const written = await this.storage.append(this.options.fileName, frame);
    if (!written.ok) return this.fail(`append seq ${record.seq}: ${written.detail}`, written.error);
    const synced = await this.storage.sync(this.options.fileName);
    if (!synced.ok) return this.fail(`sync seq ${record.seq}: ${synced.detail}`, synced.error);
    this.state.apply(record);
    this.headHash = hash;
    this.sizeBytes += frameBytes;
    assert(this.state.lastSeq === record.seq, 'seq advanced');
    return { ok: true, value: record };
  }

  /** Null when `frameBytes` fit (keeping the reserve if `opening`), else why not. */
  private async spaceFor(
    frameBytes: number,
    opening: boolean,
  ): Promise<JournalResult<string | null>> {
    const keepBytes = opening ? this.options.reserveBytes : 0;
    if (this.sizeBytes + frameBytes + keepBytes > this.options.sizeBytesMax) {
      const value = `journal at ${this.sizeBytes} of ${this.options.sizeBytesMax} bytes`;
      return { ok: true, value };
    }
    const capacity = await this.storage.capacity();
    if (!capacity.ok) {
      if (capacity.error === HalStatus.NOT_SUPPORTED) return { ok: true, value: null };
      return journalErr(JournalStatus.IO, capacity.detail);
    }
    if (capacity.value.freeBytes < frameBytes + keepBytes) {
      return { ok: true, value: `storage has ${capacity.value.freeBytes} bytes free` };
    }
    return { ok: true, value: null };
  }

  /** A failed write may have left part of a frame: only a reopen (scan + cut) is safe. */
  private fail(detail: string, error: HalStatus): JournalResult<JournalRecord> {
    this.failedDetail = detail;
    const status = error === HalStatus.SIZE ? JournalStatus.FULL : JournalStatus.IO;
    return journalErr(status, detail);
  }
}

function journalErr<T>(error: JournalStatus, detail: string): JournalResult<T> {
  return { ok: false, error, detail };
}

/** Records that start a tap need the reserve left free; records closing one may use it. */
function opensTap(entry: JournalEntry): boolean {
  switch (entry.kind) {
    case 'pending':
      return true;
    case 'final':
    case 'declined':
    case 'torn':
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
