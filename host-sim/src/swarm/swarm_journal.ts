// The swarm's view of the journal on its medium: the only file that knows the on-medium
// layout (one file of chained frames, firmware/src/app/journal/README.md). A branch that
// changes the layout (segments, encrypted PANs) adapts these functions and nothing else.

import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import {
  CHAIN_GENESIS_HASH,
  frameCheck,
  FRAME_OVERHEAD_BYTES,
} from '../../../firmware/src/app/journal/journal_frame.js';
import {
  FactSlot,
  PayloadFacts,
  payloadFastCheck,
} from '../../../firmware/src/app/journal/journal_payload_fast.js';
import {
  journalKindOfCode,
  journalPayloadDecode,
  type JournalEntry,
  type JournalKind,
} from '../../../firmware/src/app/journal/journal_records.js';
import { SegmentScanner } from '../../../firmware/src/app/journal/journal_scan.js';
import { JournalState } from '../../../firmware/src/app/journal/journal_state.js';
import type { StorageSim } from '../storage_sim.js';

/** The card and ATC a record speaks for (a debit's key), and whether it clears the debit. */
export interface SwarmDebitKey {
  readonly key: string;
  readonly final: boolean;
}

/** One durable record as the checkers compare it. */
export interface SwarmRecord {
  readonly seq: number;
  /** The frame's payload bytes as a latin1 string (exact comparison, cheap to hold). */
  readonly payload: string;
  /** recordDebitKey of its entry: null for a record that speaks for no debit. */
  readonly debit: SwarmDebitKey | null;
}

/** What a full scan of the durable image found. */
export interface SwarmJournalScan {
  readonly records: readonly SwarmRecord[];
  /** Each record's payload by seq (what `records` holds). */
  readonly payloadBySeq: ReadonlyMap<number, string>;
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
  return new JournalScanner().scan(journalDurableImage(storage));
}

/**
 * Full scans of an image that grows between them, with the firmware's own scanner (chain,
 * CRCs, references). The scanner is kept after the last intact record of the previous scan
 * and goes on from there while the image still begins with the bytes it read (compared byte
 * for byte): a scan costs the new records. The verdict is the one a scan from the first byte
 * gives, since the firmware's scanner carries everything it checks (chain hash, seq, the
 * reference state) from frame to frame; any change in the bytes read (a cut, a flipped bit,
 * a truncation below them) starts again from the first byte.
 */
export class JournalScanner {
  private scanner: SegmentScanner | null = null;
  /** The image of the last scan (a copy nobody changes) and the bytes the scanner read. */
  private image: Uint8Array = new Uint8Array(0);
  private records: SwarmRecord[] = [];
  private payloadBySeq = new Map<number, string>();
  /** Entries decoded during the current window, matched with their payloads. */
  private entry: JournalEntry | null = null;

  /** Scans `image` (a copy the caller no longer changes). */
  scan(image: Uint8Array): SwarmJournalScan {
    const read = this.scanner?.offset ?? 0;
    if (this.scanner === null || image.length < read || !samePrefix(image, this.image, read)) {
      this.restart();
    }
    const scanner = this.scanner ?? this.restart();
    const from = scanner.offset;
    const step = scanner.scan(image.subarray(from), true);
    this.image = image;
    // eof: the window holds the whole tail, so the scan ends here.
    const end = 'end' in step ? step.end : null;
    if (end === null) throw new Error('journal scan of a whole image did not end');
    const corruption =
      end.corruption === null
        ? null
        : `at byte ${end.corruption.offset} (seq ${end.corruption.seqExpected}): ` +
          end.corruption.reason;
    return {
      records: this.records,
      payloadBySeq: this.payloadBySeq,
      corruption,
      tornTail: end.tornTail !== null,
      sizeBytes: image.length,
    };
  }

  private restart(): SegmentScanner {
    this.records = [];
    this.payloadBySeq = new Map();
    const start = { state: new JournalState(), headHash: CHAIN_GENESIS_HASH };
    const scanner = new SegmentScanner(
      JOURNAL_FILE_NAME,
      start,
      true,
      (record) => {
        this.entry = record.entry;
      },
      (seq, _kind, payload) => {
        const entry = this.entry;
        if (entry === null) throw new Error(`journal record ${seq} without its entry`);
        const text = latin1(payload);
        this.records.push({ seq, payload: text, debit: recordDebitKey(entry) });
        this.payloadBySeq.set(seq, text);
        this.entry = null;
      },
    );
    this.scanner = scanner;
    return scanner;
  }
}

/** True when the first `length` bytes of `a` and `b` are equal. */
function samePrefix(a: Uint8Array, b: Uint8Array, length: number): boolean {
  if (a.length < length || b.length < length) return false;
  return Buffer.from(a.buffer, a.byteOffset, length).equals(
    Buffer.from(b.buffer, b.byteOffset, length),
  );
}

/**
 * Follows the durable image as it grows between full scans: decodes only the frames appended
 * since the last call (a tap costs its own records, not the whole journal).
 */
export class JournalFollower {
  private offset = 0;
  /** Reused by every record's in-place check (payloadFastCheck allocates nothing). */
  private readonly facts = new PayloadFacts();

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
      const debit = payloadDebitKey(kind, frame.payload, this.facts);
      if (debit === undefined) break;
      out.push({ seq: frame.seq, payload: latin1(frame.payload), debit });
      at += FRAME_OVERHEAD_BYTES + frame.payload.length;
    }
    this.offset += at;
    return out;
  }
}

/**
 * recordDebitKey of a payload of `kind`, or undefined when it does not decode. A payload in
 * the journal's canonical form (every one the journal writes) is checked in place and its
 * card token and ATC read from there, without building the entry (JSON.parse and a walk over
 * some 40 values per record); any other goes through the decoder, which decides.
 * `payloadFastCheck` accepts only what the decoder accepts, with the same values
 * (journal_payload_fast.test.ts).
 */
export function payloadDebitKey(
  kind: JournalKind,
  payload: Uint8Array,
  facts: PayloadFacts,
): SwarmDebitKey | null | undefined {
  const carded = kind === 'pending' || kind === 'torn' || kind === 'final';
  const noDebit = kind === 'declined' || kind === 'reconciled' || kind === 'ack';
  if ((carded || noDebit) && payloadFastCheck(kind, payload, facts)) {
    if (noDebit) return null;
    const key = `${facts.text(FactSlot.PAN_TOKEN)}/${facts.num[FactSlot.ATC] ?? 0}`;
    return { key, final: kind === 'final' };
  }
  try {
    return recordDebitKey(journalPayloadDecode(kind, payload, JOURNAL_FILE_NAME).entry);
  } catch {
    return undefined;
  }
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
