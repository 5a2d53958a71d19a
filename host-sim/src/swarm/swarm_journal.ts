// The swarm's view of the journal on its medium: the only file that knows the on-medium
// layout (one file of chained frames, firmware/src/app/journal/README.md). A branch that
// changes the layout (segments, encrypted PANs) adapts these functions and nothing else.

import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import {
  frameCheck,
  FRAME_OVERHEAD_BYTES,
} from '../../../firmware/src/app/journal/journal_frame.js';
import {
  journalKindOfCode,
  journalPayloadDecode,
  type JournalEntry,
} from '../../../firmware/src/app/journal/journal_records.js';
import { journalScan } from '../../../firmware/src/app/journal/journal_scan.js';
import type { StorageSim } from '../storage_sim.js';

/** One durable record as the checkers compare it. */
export interface SwarmRecord {
  readonly seq: number;
  /** The frame's payload bytes as a latin1 string (exact comparison, cheap to hold). */
  readonly payload: string;
  readonly entry: JournalEntry;
}

/** What a full scan of the durable image found. */
export interface SwarmJournalScan {
  readonly records: readonly SwarmRecord[];
  readonly corruption: string | null;
  readonly tornTail: boolean;
  readonly sizeBytes: number;
}

/** The durable bytes of the journal (what survives a power cut now). */
export function journalDurableImage(storage: StorageSim): Uint8Array {
  return storage.durableBytes(JOURNAL_FILE_NAME);
}

/** The durable bytes from byte `offset` on, and the durable length (a follower's read). */
export function journalDurableTail(
  storage: StorageSim,
  offset: number,
): { bytes: Uint8Array; lengthBytes: number } {
  return storage.durableTail(JOURNAL_FILE_NAME, offset);
}

/** Full scan with the firmware's own scanner (chain, CRCs, references). */
export function journalScanDurable(storage: StorageSim): SwarmJournalScan {
  const bytes = journalDurableImage(storage);
  const scan = journalScan(bytes, JOURNAL_FILE_NAME, true);
  const records: SwarmRecord[] = [];
  let offset = 0;
  for (const record of scan.records) {
    const checked = frameCheck(bytes, offset);
    if (!checked.ok) break;
    records.push({ seq: record.seq, payload: latin1(checked.frame.payload), entry: record.entry });
    offset += FRAME_OVERHEAD_BYTES + checked.frame.payload.length;
  }
  const corruption =
    scan.corruption === null
      ? null
      : `at byte ${scan.corruption.offset} (seq ${scan.corruption.seqExpected}): ` +
        scan.corruption.reason;
  return { records, corruption, tornTail: scan.tornTail !== null, sizeBytes: bytes.length };
}

/**
 * Follows the durable image as it grows between full scans: decodes only the frames appended
 * since the last call (a tap costs its own records, not the whole journal).
 */
export class JournalFollower {
  private offset = 0;

  /** Starts after the records of a full scan. */
  reset(scan: SwarmJournalScan): void {
    this.offset = 0;
    for (const r of scan.records) this.offset += FRAME_OVERHEAD_BYTES + r.payload.length;
  }

  /** Byte offset of the first frame not yet decoded. */
  position(): number {
    return this.offset;
  }

  /**
   * New intact frames since the last call, from `tail` (the durable bytes from byte
   * `tailStart` on, at most `position()`); stops at the first incomplete frame.
   */
  next(tail: Uint8Array, tailStart: number): SwarmRecord[] {
    const out: SwarmRecord[] = [];
    const bytes = tail.subarray(this.offset - tailStart);
    let at = 0;
    while (at < bytes.length) {
      const checked = frameCheck(bytes, at);
      if (!checked.ok) break;
      const frame = checked.frame;
      const kind = journalKindOfCode(frame.kindCode);
      if (kind === null) break;
      let entry: JournalEntry;
      try {
        entry = journalPayloadDecode(kind, frame.payload, JOURNAL_FILE_NAME).entry;
      } catch {
        break;
      }
      out.push({ seq: frame.seq, payload: latin1(frame.payload), entry });
      at += FRAME_OVERHEAD_BYTES + frame.payload.length;
    }
    this.offset += at;
    return out;
  }
}

/** The card and ATC a record speaks for (a debit's key), or null for ack/reconciled. */
export function recordDebitKey(entry: JournalEntry): { key: string; final: boolean } | null {
  switch (entry.kind) {
    case 'pending':
    case 'torn':
      return { key: `${entry.recovery.card.panToken}/${entry.recovery.atc}`, final: false };
    case 'final':
      return { key: `${entry.clearing.card.panToken}/${entry.clearing.atc}`, final: true };
    case 'tunion_grey':
    case 'tunion_final':
      return {
        key: `tunion:${entry.card.serialDigits}/${entry.purchase.atc}`,
        final: entry.kind === 'tunion_final',
      };
    case 'declined':
    case 'reconciled':
    case 'ack':
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
