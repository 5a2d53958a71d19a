// Salvage of a CORRUPT journal (`shuaka journal export --salvage`): every record whose own
// frame still checks (header CRC, record CRC, a payload that decodes), found by resyncing past
// damaged bytes to the next valid frame, in every retained segment. Reads only: nothing is
// written, truncated or removed. Memory is one read window plus the open taps, as export; a
// payload in the journal's canonical form is checked in place, as verify and export do, and
// handed over undecoded.

import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import { FieldError } from '../params/json_fields.js';
import { checkpointDecode } from './journal_checkpoint.js';
import type { JournalCheckpoint } from './journal_checkpoint.js';
import type { KnownRecords } from './journal_checkpoint_records.js';
import { journalUnits } from './journal_files.js';
import type { JournalUnit } from './journal_files.js';
import {
  CHAIN_GENESIS_HASH, FRAME_BYTES_MAX, FRAME_HASH_BYTES, FRAME_MAGIC_0, FRAME_MAGIC_1,
  chainHashInto, frameCheck, hashEqual,
} from './journal_frame.js';
import type { FrameView } from './journal_frame.js';
import { PayloadFacts, payloadFastCheck } from './journal_payload_fast.js';
import { READ_WINDOW_BYTES, checkpointBytesMax, readWhole } from './journal_reader.js';
import { journalKindOfCode, journalPayloadDecode } from './journal_records.js';
import type { JournalKind, JournalRecord } from './journal_records.js';
import { PayloadRecordFacts } from './journal_scan.js';
import type { PayloadSink } from './journal_scan.js';
import { JournalState, recordFacts } from './journal_state.js';
import type { RecordFacts } from './journal_state.js';

/** A stretch of a file that gave no record, or a check that failed between two records. */
export interface SalvageDamage {
  readonly file: string;
  /** Byte offsets [from, to) in `file` (from = to: nothing unread, a link check failed). */
  readonly from: number;
  readonly to: number;
  /** Seq of the last record read before it, and of the first read after it (null: none). */
  readonly seqBefore: number | null;
  readonly seqAfter: number | null;
  readonly what: string;
  /**
   * True when records may be missing here (unread bytes, a frame dropped, a seq gap, a
   * segment missing): one of them may have closed a tap read before it. False for a
   * checkpoint skipped or missing, or a check that failed between two records that follow.
   */
  readonly recordsLost: boolean;
}

/** What the salvage hands over, in journal order. */
export interface SalvageSinks {
  /**
   * Every record read with its own checks, as the journal's reader hands them to export
   * (PayloadSink): the payload is a view valid during the call only; `facts` holds its fields
   * when it is in the canonical form, else null (it decodes: the salvage decoded it).
   */
  readonly onPayload: PayloadSink;
  readonly onDamage: (damage: SalvageDamage) => void;
  /** Awaited before each read of the storage (export flushes its lines there). */
  readonly beforeRead?: () => Promise<void>;
}

/**
 * `tally` false: a pass that only streams what an earlier pass tallied and reported. No state
 * is built, and of the checkpoints only the oldest is read (the others give nothing but a
 * damage report). Which records are handed over does not depend on it.
 */
export interface SalvageOptions {
  readonly tally: boolean;
}

/**
 * The salvage's tally (null when not asked for): the records read applied in order to the
 * oldest checkpoint's state (an empty one when it fails its checks), without the reference
 * checks past a damage. Its ack is the highest read; its uncertain taps are the pendings and
 * torn records no record read closed, which the export writes as still open.
 */
export interface SalvageResult {
  readonly state: JournalState | null;
  readonly records: number;
  readonly damages: number;
}

/** A damage whose end is known, waiting for the seq of the next record read. */
type OpenDamage = Omit<SalvageDamage, 'seqAfter'>;

/**
 * Reads every retained segment of the journal `fileName` on `storage` (which must offer
 * readAt: one window of READ_WINDOW_BYTES is read at a time). Errors: the storage's own.
 */
export async function journalSalvage(
  storage: StoragePort,
  fileName: string,
  sinks: SalvageSinks,
  options: SalvageOptions,
): Promise<{ ok: true; value: SalvageResult } | { ok: false; detail: string }> {
  const listed = await storage.list();
  if (!listed.ok) return { ok: false, detail: listed.detail };
  const units = journalUnits(fileName, listed.value);
  // Checkpoints left by an interrupted reclaim lead the list without their segment.
  let first = 0;
  while (first < units.length - 1 && units[first]?.segmentExists === false) first += 1;
  // One buffer for every checkpoint read, as large as the largest at once (as the reader).
  const read = units.slice(first, options.tally ? units.length : first + 1);
  const held = { bytes: new Uint8Array(await checkpointBytesMax(storage, read)) };
  const order = await segmentOrder(storage, units, first);
  if (typeof order === 'string') return { ok: false, detail: order };
  const salvage = new Salvage(sinks, options.tally, held);
  for (let i = first; i < units.length; i += 1) {
    const unit = units[i];
    if (unit === undefined) break;
    const segment = order[i - first] ?? unit.segment;
    const problem = await salvage.unit(storage, unit, segment, i === first,
      i === units.length - 1);
    if (problem !== null) return { ok: false, detail: problem };
  }
  salvage.flush();
  salvage.detachHeld();
  return {
    ok: true,
    value: { state: salvage.state, records: salvage.records, damages: salvage.damages },
  };
}

class Salvage {
  /** The tally, or null when not asked for. */
  state: JournalState | null;
  records = 0;
  damages = 0;
  /** Seq and chain hash of the last record read; `linked`: no damage since it. */
  private lastSeq: number | null = null;
  private lastHash: Uint8Array | null = null;
  private linked = false;
  private pending: OpenDamage | null = null;
  /** The read window, one for every segment of the pass (as the journal's own reader). */
  private readonly window = new Uint8Array(READ_WINDOW_BYTES);
  /** The last record's chain hash (lastHash once a record is read), and the next one's. */
  private readonly headHash = new Uint8Array(FRAME_HASH_BYTES);
  private readonly linkHash = new Uint8Array(FRAME_HASH_BYTES);
  /** Reused for every record: a canonical payload is checked and tallied undecoded. */
  private readonly payloadFacts = new PayloadFacts();
  private readonly facts = new PayloadRecordFacts(this.payloadFacts);

  constructor(
    private readonly sinks: SalvageSinks,
    tally: boolean,
    /** The buffer checkpoints are read into (readWhole). */
    private readonly held: { bytes: Uint8Array },
  ) {
    this.state = tally ? new JournalState(false) : null;
  }

  /** Before the read window is reused: the tally copies out the payloads it still holds. */
  detachHeld(): void {
    if (this.state !== null) this.facts.detach(this.state);
  }

  /**
   * Reads one unit (checkpoint, then segment); the storage's error, or null. `segment`: the
   * file read in the unit's place (segmentOrder), reported when not the unit's own.
   */
  async unit(
    storage: StoragePort, unit: JournalUnit, segment: string, oldest: boolean, newest: boolean,
  ): Promise<string | null> {
    if (unit.checkpoint === null) {
      this.lastHash = CHAIN_GENESIS_HASH;
      this.linked = true;
    } else if (!unit.checkpointExists) {
      this.damage(unit.checkpoint, 0, 0, 'checkpoint missing (its segment is read all the same)',
        false);
    } else {
      const problem = await this.checkpoint(storage, unit.checkpoint, unit.firstSeq, oldest);
      if (problem !== null) return problem;
    }
    if (!unit.segmentExists) {
      if (!newest) this.damage(unit.segment, 0, 0, 'segment missing', true);
      return null;
    }
    if (segment !== unit.segment) {
      this.damage(segment, 0, 0, `holds the records of ${unit.segment}'s place: read in the`
        + ' order of its seqs', false);
    }
    return this.segment(storage, segment);
  }

  /**
   * A checkpoint that fails its checks is reported and skipped: its records are in the older
   * segments, if retained. The oldest one, when it checks, gives the state before the first
   * retained record (ack, open taps) and the chain hash the first record follows. An untallied
   * pass reads no other (see SalvageOptions).
   */
  private async checkpoint(storage: StoragePort, file: string, firstSeq: number, oldest: boolean)
    : Promise<string | null> {
    if (!oldest && this.state === null) return null;
    const read = await readWhole(storage, file, this.held);
    if (!read.ok) return `cannot read ${file}: ${read.detail}`;
    try {
      const checkpoint = oldest
        ? checkpointDecode(read.value, file, null, 'bytes')
        : laterCheckpointDecode(read.value, file, this.state);
      if (checkpoint.firstSeq !== firstSeq) {
        throw new FieldError(file, '', `checkpoint names seq ${checkpoint.firstSeq}`);
      }
      if (!oldest) return null;
      // Checked untallied too: a checkpoint that fails here is skipped in every pass.
      const state = JournalState.fromSnapshot(checkpoint.state, false, true);
      if (typeof state === 'string') throw new FieldError(file, '', state);
      if (this.state !== null) this.state = state;
      this.lastHash = checkpoint.headHash;
      this.lastSeq = state.lastSeq === 0 ? null : state.lastSeq;
      this.linked = true;
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      this.damage(file, 0, read.value.length, `checkpoint skipped: ${error.message}`, false);
    }
    return null;
  }

  /** Walks one segment window by window; the storage's error, or null. */
  private async segment(storage: StoragePort, file: string): Promise<string | null> {
    if (storage.readAt === undefined) return 'the storage cannot read at an offset';
    const size = await storage.size(file);
    if (!size.ok) return `cannot read ${file}: ${size.detail}`;
    const window = this.window;
    let bytes = window.subarray(0, 0);
    let bytesAt = 0;
    let damagedFrom = -1;
    let defect = '';
    let at = 0;
    // Bounded: `at` grows every turn (by a whole frame, or to the next candidate magic).
    while (at < size.value) {
      const end = bytesAt + bytes.length;
      if (at < bytesAt || (at + FRAME_BYTES_MAX > end && end < size.value)) {
        this.detachHeld();
        await this.sinks.beforeRead?.();
        const read = await storage.readAt(file, at, window);
        if (!read.ok) return `cannot read ${file}: ${read.detail}`;
        bytes = window.subarray(0, read.value);
        bytesAt = at;
        if (read.value === 0) break;
      }
      const checked = frameCheck(bytes, at - bytesAt);
      if (checked.ok) {
        if (damagedFrom >= 0) this.damage(file, damagedFrom, at, defect, true);
        damagedFrom = -1;
        this.frame(file, at, checked.frame);
        at += checked.frame.frameBytes;
        continue;
      }
      if (damagedFrom < 0) {
        damagedFrom = at;
        defect = defectText(checked.defect);
      }
      at = bytesAt + nextMagic(bytes, at - bytesAt + 1, bytesAt + bytes.length >= size.value);
    }
    if (damagedFrom >= 0) this.damage(file, damagedFrom, size.value, defect, true);
    return null;
  }

  /**
   * One frame whose CRCs check: handed over, or reported when its payload is not a valid
   * record. A canonical payload is checked in place (payloadFastCheck); any other is decoded,
   * which decides (another JSON spelling of a valid record is valid) as the journal's reader.
   */
  private frame(file: string, at: number, frame: FrameView): void {
    const last = this.lastSeq;
    if (last !== null && frame.seq <= last) {
      const what = `seq ${frame.seq} is not after ${last}`;
      this.damage(file, at, at + frame.frameBytes, what, true);
      return;
    }
    if (this.linked && last !== null && frame.seq !== last + 1) {
      this.damage(file, at, at, `seq ${frame.seq} does not follow ${last}`, true);
    } else if (this.linked && this.lastHash !== null
      && !hashEqual(chainHashInto(this.lastHash, frame.hashed, this.linkHash), frame.hash)) {
      this.damage(file, at, at, 'chain hash does not follow the record before', false);
    }
    const kind = journalKindOfCode(frame.kindCode);
    if (kind === null) {
      this.badPayload(file, at, frame, `${file}: unknown record kind ${frame.kindCode}`);
      return;
    }
    const fast = payloadFastCheck(kind, frame.payload, this.payloadFacts);
    const record = fast ? null : salvageDecode(frame.seq, kind, frame.payload, file);
    if (typeof record === 'string') {
      this.badPayload(file, at, frame, record);
      return;
    }
    this.lastSeq = frame.seq;
    this.headHash.set(frame.hash);
    this.lastHash = this.headHash;
    this.flush();
    const state = this.state;
    if (state !== null) {
      const facts = record === null
        ? this.facts.fill(frame.seq, kind, frame.payload, state.keepsDecoded)
        : recordFacts(record);
      this.tally(state, file, at, facts);
    }
    this.linked = true;
    this.records += 1;
    this.sinks.onPayload(frame.seq, kind, frame.payload, fast ? this.payloadFacts : null);
  }

  /** A frame whose CRCs check but whose payload is no valid record: its record is lost. */
  private badPayload(file: string, at: number, frame: FrameView, why: string): void {
    this.damage(file, at, at + frame.frameBytes, `bad payload: ${why}`, true);
  }

  /**
   * Applies the record to the tally. While no damage was met, it is first checked against the
   * reference rules as verify does (a break is reported, the record still exported). Past a
   * damage the rules cannot be checked: a record's partner may be in the damaged bytes.
   */
  private tally(state: JournalState, file: string, at: number, facts: RecordFacts): void {
    const problem = this.damages > 0 ? null : state.checkFacts(facts);
    if (problem !== null) {
      this.damage(file, at, at, `seq ${facts.seq}: reference rule: ${problem}`, false);
    }
    // The ack only moves forward (a lower one read past a damage changes nothing).
    if (facts.kind === 'ack' && facts.throughSeq <= state.ackThroughSeq) return;
    state.applyFacts(facts);
  }

  /** Records a damage; it is reported once the seq after it is known. */
  private damage(file: string, from: number, to: number, what: string, recordsLost: boolean)
    : void {
    this.flush();
    this.damages += 1;
    this.linked = false;
    this.pending = { file, from, to, seqBefore: this.lastSeq, what, recordsLost };
  }

  /** Reports the damage waiting for its next seq (the last record read, or none). */
  flush(): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    const seqAfter = this.lastSeq !== pending.seqBefore ? this.lastSeq : null;
    this.sinks.onDamage({ ...pending, seqAfter });
  }
}

/**
 * The segments of `units` from `first` in the order of the seqs they hold: the seq of each
 * one's first frame that checks (within its first window), or the seq its name says when none
 * does. Flash that swaps two files' blocks, or files restored under each other's names, leave
 * every record intact in a file named for other seqs; read in name order, each record would
 * come after higher seqs and be dropped. A missing segment keeps its place. The storage's
 * error, or the names (one per unit from `first`).
 */
async function segmentOrder(storage: StoragePort, units: readonly JournalUnit[], first: number)
  : Promise<string[] | string> {
  const names = units.slice(first).map((unit) => unit.segment);
  if (storage.readAt === undefined) return names;
  const window = new Uint8Array(READ_WINDOW_BYTES);
  const found: { name: string; key: number }[] = [];
  for (const unit of units.slice(first)) {
    if (!unit.segmentExists) continue;
    const read = await storage.readAt(unit.segment, 0, window);
    if (!read.ok) return `cannot read ${unit.segment}: ${read.detail}`;
    const bytes = window.subarray(0, read.value);
    let key = unit.firstSeq;
    // Bounded: `at` grows every turn, to the next candidate magic or the end.
    for (let at = 0; at < bytes.length; at = nextMagic(bytes, at + 1, true)) {
      const checked = frameCheck(bytes, at);
      if (checked.ok) {
        key = checked.frame.seq;
        break;
      }
    }
    found.push({ name: unit.segment, key });
  }
  // Stable: segments whose seqs tie stay in name order.
  const sorted = [...found].sort((a, b) => a.key - b.key);
  const places = units.slice(first).flatMap((unit, i) => (unit.segmentExists ? [i] : []));
  places.forEach((place, k) => { names[place] = sorted[k]?.name ?? names[place] ?? ''; });
  return names;
}

/**
 * Index of the next 'SJ' in `bytes` from `from`, or where the search must go on: the last
 * byte (it may be an 'S' whose 'J' is in the next window), or the end at the end of the file.
 */
function nextMagic(bytes: Uint8Array, from: number, eof: boolean): number {
  for (let i = from; i + 1 < bytes.length; i += 1) {
    if (bytes[i] === FRAME_MAGIC_0 && bytes[i + 1] === FRAME_MAGIC_1) return i;
  }
  return eof ? bytes.length : Math.max(from, bytes.length - 1);
}

/**
 * A checkpoint after the oldest, judged on its own (its records are not compared with the
 * journal's: past a damage the tally may hold other taps). Its records are first compared in
 * place with the taps the tally holds, as verify does: a checkpoint of a thousand open taps
 * is a megabyte of JSON strings when parsed whole, at every segment. Only when they differ
 * (or `known` is null) is it parsed whole, which says why it fails, if it does.
 */
function laterCheckpointDecode(bytes: Uint8Array, file: string, known: KnownRecords | null)
  : JournalCheckpoint {
  if (known !== null) {
    try {
      const checkpoint = checkpointDecode(bytes, file, known, 'bytes');
      // Checked by the whole parse, not by the comparison: each record is before the segment.
      const { lastSeq, records } = checkpoint.state;
      if (records.every((held) => held.seq <= lastSeq)) return checkpoint;
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
    }
  }
  return checkpointDecode(bytes, file, null, 'bytes');
}

/** The record of a payload that is not canonical, or why it is no valid record. */
function salvageDecode(seq: number, kind: JournalKind, payload: Uint8Array, file: string)
  : JournalRecord | string {
  try {
    return { seq, ...journalPayloadDecode(kind, payload, file) };
  } catch (error) {
    if (error instanceof FieldError) return error.message;
    throw error;
  }
}

function defectText(defect: string): string {
  switch (defect) {
    case 'record_crc': return 'record CRC fails';
    case 'header_crc': return 'header CRC fails';
    case 'magic': return 'no frame (magic)';
    case 'short': return 'incomplete record at the end of the file';
    default: return `damaged frame (${defect})`;
  }
}
