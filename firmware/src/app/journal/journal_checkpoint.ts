// Segment checkpoint: the journal state at a segment's first seq, so start-up reads one segment.

import assert from 'node:assert';
import { createHash, hash as hashOneShot } from 'node:crypto';

import { FieldError, JsonFields, type FieldPattern } from '../params/json_fields.js';
import { FRAME_HASH_BYTES, hashEqual, toHex } from './journal_frame.js';
import { PayloadFacts, payloadFastCheck } from './journal_payload_fast.js';
import { JOURNAL_KINDS, SEQ_MAX, journalPayloadDecode } from './journal_records.js';
import { PayloadRecordFacts } from './journal_scan.js';
import type { JournalKind } from './journal_records.js';
import { checkpointRecordsCompared } from './journal_checkpoint_records.js';
import type { KnownRecords } from './journal_checkpoint_records.js';
import { HeldRecord } from './journal_state.js';
import type { JournalStateSnapshot, LastFinal } from './journal_state.js';

/** What a checkpoint file holds. */
export interface JournalCheckpoint {
  /** Seq of the first record of the segment it starts (the state is after firstSeq - 1). */
  readonly firstSeq: number;
  /** Chain hash of record firstSeq - 1: the segment's first frame chains from it. */
  readonly headHash: Uint8Array;
  readonly state: JournalStateSnapshot;
}

const MAGIC = [0x53, 0x4a, 0x43, 0x4b]; // "SJCK"
/** Version 1: every field in the JSON. Version 2 (written): the last finals as a table. */
const VERSION_JSON = 1;
const VERSION = 2;
const HEADER_BYTES = 12;
/** u32 LE length of the last-final table (version 2). */
const TABLE_LENGTH_BYTES = 4;
/**
 * One last final in the version 2 table: card hash (16), seq u32, timeWallMs f64, lineId and
 * fareRule as u16 indexes into `lastFinalTexts`, amountMinor f64 (all little-endian).
 */
const LAST_FINAL_BYTES = 40;
const CARD_HASH_BYTES = 16;
/** Step in which CheckpointInWindows grows the buffer of a head. */
const HEAD_STEP_BYTES = 64 << 10;
/** Bound of one text of a last final (a line id, a fare rule name). */
const LAST_FINAL_TEXT_MAX = 64;
const TEXT_ENCODER = new TextEncoder();
const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });
/** Bounds of what a checkpoint may list (a sanity bound against a damaged length). */
const ITEMS_MAX = 10_000_000;
const WALL_MS_MAX = Number.MAX_SAFE_INTEGER;
/** A record's payload: any string here, its own decoder checks the content. */
const ANY_TEXT: FieldPattern = { re: /^/, says: 'a string' };

/**
 * Encodes a checkpoint (version 2): magic "SJCK", version 2, 3 reserved zero bytes, u32 LE
 * length n, n bytes of UTF-8 JSON, u32 LE length m, m bytes of the last-final table (see
 * LAST_FINAL_BYTES), then SHA-256 of everything before it. Records inside the JSON are their
 * journal payloads, written with the journal's own payload codec. The table keeps each card's
 * last final in 40 bytes instead of a JSON array of about 75, and a reader that does not need
 * them (verify, export) checks them in place without building an object per card.
 */
export function checkpointEncode(checkpoint: JournalCheckpoint): Uint8Array {
  const state = checkpoint.state;
  const table = lastFinalTable(state.lastFinals);
  const json = JSON.stringify({
    firstSeq: checkpoint.firstSeq,
    headHashHex: toHex(checkpoint.headHash),
    lastSeq: state.lastSeq,
    ackThroughSeq: state.ackThroughSeq,
    // The newest record's wall time, under the key it always had.
    maxWallMs: state.newestWallMs,
    countsByKind: state.countsByKind,
    records: state.records.map((held) => ({
      seq: held.seq,
      kind: held.kind,
      payload: held.payloadText(),
    })),
    pendings: state.pendings.map(({ seq, tornSeq }) => [seq, tornSeq]),
    uncertainSeqs: state.uncertainSeqs,
    finals: runsEncode(state.finals),
    lastFinalTexts: table.texts,
  });
  const payload = TEXT_ENCODER.encode(json);
  const tableAt = HEADER_BYTES + payload.length;
  const hashedBytes = tableAt + TABLE_LENGTH_BYTES + table.bytes.length;
  const out = new Uint8Array(hashedBytes + FRAME_HASH_BYTES);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  view.setUint32(8, payload.length, true);
  out.set(payload, HEADER_BYTES);
  view.setUint32(tableAt, table.bytes.length, true);
  out.set(table.bytes, tableAt + TABLE_LENGTH_BYTES);
  out.set(sha256(out.subarray(0, hashedBytes)), hashedBytes);
  return out;
}

/**
 * Bytes by which `checkpointEncode` of the state may grow when one record is applied to it, so
 * that a caller may add this up instead of encoding a checkpoint to learn its size (a bound,
 * never below the growth). `held`: the record's payload (as journalPayloadEncode wrote it)
 * when the state holds the record after it (an open pending, an uncertain torn record, a
 * T-Union grey), else null; `finalTexts`: a final's line id and fare rule, else null. Field
 * by field (seqs have at most 10 digits, times at most 16, see checkpointEncode):
 * - firstSeq and lastSeq gain a digit at most (2), a count of countsByKind one (1), maxWallMs
 *   15 (1 to 16 digits), ackThroughSeq 9 (an ack: 1 to 10 digits).
 * - Only for a record not dated before the newest: one dated before moves the last-final
 *   window back, and finals it had left count again (Journal then encodes instead).
 * - `records` gains the held record: its wrapper (RECORD_WRAPPER_BYTES) and its payload as a
 *   JSON string (`jsonStringBytesMax`); the records the state lets go only shrink the file.
 * - `pendings` gains `,[seq,null]` (18), or a torn record turns a null into a seq (6);
 *   `uncertainSeqs` gains `,seq` (11).
 * - `finals` (runs of a suffix of the finals): a new final adds `,step,1` (13) or a digit to
 *   the last count; dropping a prefix (the newest 64 move on, an ack) only shortens the runs
 *   it cuts and swaps the first seq for a later one (9 more digits at most): 22.
 * - A final adds a 40-byte entry to the table (a new card; an old one keeps its size), and its
 *   two texts to `lastFinalTexts` if new there (JSON strings and commas).
 */
export function checkpointGrowthBytesMax(
  held: Uint8Array | null,
  finalTexts: readonly string[] | null,
): number {
  let bytes = GROWTH_SCALARS_BYTES + GROWTH_LISTS_BYTES;
  if (held !== null) bytes += RECORD_WRAPPER_BYTES + jsonStringBytesMax(held);
  if (finalTexts !== null) {
    bytes += LAST_FINAL_BYTES;
    for (const text of finalTexts) bytes += Buffer.byteLength(JSON.stringify(text)) + 1;
  }
  return bytes;
}

/** firstSeq, lastSeq, one count, maxWallMs, ackThroughSeq (see checkpointGrowthBytesMax). */
const GROWTH_SCALARS_BYTES = 2 + 1 + 15 + 9;
/** pendings, uncertainSeqs, finals (see checkpointGrowthBytesMax). */
const GROWTH_LISTS_BYTES = 18 + 11 + 22;
/** `,{"seq":N,"kind":"K","payload":…}` with N of 10 digits, K of 14 letters at most. */
const RECORD_WRAPPER_BYTES = 1 + '{"seq":'.length + 10 + ',"kind":"'.length + 14
  + '","payload":'.length + '}'.length;

/**
 * A bound of the UTF-8 bytes of JSON.stringify of the text a checkpoint keeps for `payload`
 * (HeldRecord.payloadText), a payload journalPayloadEncode wrote: being JSON, it holds no raw
 * control character, so each byte gives 2 bytes at most (a quote or a backslash escaped; a
 * byte of a non-ASCII character read back as UTF-8 gives itself, read as Latin-1 two), plus
 * the quotes. A bound from the length alone: counting the escapes would walk every byte.
 */
function jsonStringBytesMax(payload: Uint8Array): number {
  return 2 + 2 * payload.length;
}

/** The last finals as a version 2 table, with the distinct texts it indexes. */
function lastFinalTable(
  lastFinals: Iterable<{ readonly cardHash: string; readonly last: LastFinal }>,
): { bytes: Uint8Array; texts: string[] } {
  const items = [...lastFinals];
  const texts: string[] = [];
  const textIndex = new Map<string, number>();
  const indexOf = (text: string): number => {
    assert(text.length <= LAST_FINAL_TEXT_MAX, 'last final text bound');
    let index = textIndex.get(text);
    if (index === undefined) {
      index = texts.push(text) - 1;
      assert(index <= 0xffff, 'last final texts bound');
      textIndex.set(text, index);
    }
    return index;
  };
  const bytes = new Uint8Array(items.length * LAST_FINAL_BYTES);
  const view = new DataView(bytes.buffer);
  items.forEach(({ cardHash, last }, i) => {
    const at = i * LAST_FINAL_BYTES;
    bytes.set(Buffer.from(cardHash, 'hex'), at);
    view.setUint32(at + 16, last.seq, true);
    view.setFloat64(at + 20, last.timeWallMs, true);
    view.setUint16(at + 28, indexOf(last.lineId), true);
    view.setUint16(at + 30, indexOf(last.fareRule), true);
    view.setFloat64(at + 32, last.amountMinor, true);
  });
  return { bytes, texts };
}

/**
 * Decodes and checks a checkpoint file (version 1 or 2). Throws FieldError naming what is
 * wrong. The last finals of a version 2 file are checked here and built only when iterated.
 * `known`: the records a reader compares this checkpoint with (its records must be the same
 * bytes, and are taken from there); `recordsAs`: records kept decoded (a validator) or as
 * their payload bytes (verify, export).
 */
export function checkpointDecode(
  bytes: Uint8Array,
  file: string,
  known: KnownRecords | null = null,
  recordsAs: 'decoded' | 'bytes' = 'decoded',
): JournalCheckpoint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layout = checkpointLayout(bytes, bytes.length, (at) => view.getUint32(at, true), file);
  const { tableAt, hashedBytes } = layout;
  if (!hashEqual(sha256(bytes.subarray(0, hashedBytes)), bytes.subarray(hashedBytes))) {
    throw new FieldError(file, '', 'checkpoint SHA-256 does not match');
  }
  const table = layout.tableLength === null
    ? null
    : bytes.subarray(tableAt + TABLE_LENGTH_BYTES, hashedBytes);
  return checkpointJsonRead(bytes.subarray(HEADER_BYTES, tableAt), table, file, known, recordsAs)
    .checkpoint;
}

/**
 * A checkpoint read in windows, from its first byte to its last, by a read that keeps no last
 * finals (verify, export, an upload pass). It holds the header and the JSON (the state and
 * the open taps' records) and only hashes the last-final table as it goes by: 40 bytes a card
 * for every card of the last 8 days (800 KB for the bench's 20,000 cards, several MB at a
 * busy gate), which such a read never looks up, so its memory no longer grows with the
 * cards. `decode` checks what checkpointDecode checks, in the same order, but for the
 * table's entries, which `entriesCheck` checks from a second read of the table (so a file
 * with a bad entry and another fault after it in the JSON reports that fault first). A file
 * that is no version 2 checkpoint, or whose parts pass `bytesMax`, is read whole instead
 * (`feed` says 'whole'), as checkpointDecode and the reader's bound say why.
 */
export class CheckpointInWindows {
  private head: Uint8Array;
  private headBytes = 0;
  /** The header's bytes until it is read, then those of header, JSON and table length. */
  private headWanted = HEADER_BYTES;
  private fileBytes = 0;
  private readonly hasher = createHash('sha256');
  /** Bytes the SHA-256 covers, once the head is whole. */
  private hashedBytes = Number.POSITIVE_INFINITY;
  private readonly digest = new Uint8Array(FRAME_HASH_BYTES);
  private layout: CheckpointLayout | null = null;
  private texts: readonly string[] = [];
  private lastSeq = 0;

  /** `head`: a buffer to hold the head in (grown as needed: see `headBuffer`). */
  constructor(
    private readonly file: string,
    head: Uint8Array,
    private readonly bytesMax: number,
  ) {
    this.head = head;
  }

  /** The buffer the head is in, for the next checkpoint. */
  headBuffer(): Uint8Array {
    return this.head;
  }

  /** Takes the next bytes of the file; 'whole' when it is to be read whole instead. */
  feed(bytes: Uint8Array): 'more' | 'whole' {
    let at = 0;
    while (at < bytes.length) {
      let taken: number;
      if (this.headBytes < this.headWanted) {
        taken = Math.min(this.headWanted - this.headBytes, bytes.length - at);
        this.headPut(bytes.subarray(at, at + taken));
        if (this.headBytes === this.headWanted && this.headStep() === 'whole') return 'whole';
      } else if (this.fileBytes < this.hashedBytes) {
        taken = Math.min(this.hashedBytes - this.fileBytes, bytes.length - at);
        this.hasher.update(bytes.subarray(at, at + taken));
      } else {
        // The SHA-256 and anything after it (a file too long: decode says so).
        const digestAt = this.fileBytes - this.hashedBytes;
        taken = bytes.length - at;
        if (digestAt < FRAME_HASH_BYTES) {
          this.digest.set(bytes.subarray(at, at + Math.min(taken, FRAME_HASH_BYTES - digestAt)),
            digestAt);
        }
      }
      at += taken;
      this.fileBytes += taken;
      if (this.fileBytes > this.bytesMax) return 'whole';
    }
    return 'more';
  }

  /**
   * After the last bytes: the checkpoint, its records compared with `known` as
   * checkpointDecode compares them. Throws FieldError as checkpointDecode does.
   */
  decode(known: KnownRecords | null, recordsAs: 'decoded' | 'bytes'): JournalCheckpoint {
    const head = this.head.subarray(0, this.headBytes);
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const layout = checkpointLayout(head, this.fileBytes, (at) => view.getUint32(at, true),
      this.file);
    if (!hashEqual(new Uint8Array(this.hasher.digest()), this.digest)) {
      throw new FieldError(this.file, '', 'checkpoint SHA-256 does not match');
    }
    const read = checkpointJsonRead(head.subarray(HEADER_BYTES, layout.tableAt),
      layout.tableLength ?? 0, this.file, known, recordsAs);
    this.layout = layout;
    this.texts = read.texts;
    this.lastSeq = read.checkpoint.state.lastSeq;
    return read.checkpoint;
  }

  /** The table's entries in the file, [from, end), once decoded. */
  tableRange(): { readonly from: number; readonly end: number } {
    const layout = this.layout;
    if (layout === null) throw new Error('tableRange before decode');
    return { from: layout.tableAt + TABLE_LENGTH_BYTES, end: layout.hashedBytes };
  }

  /**
   * Checks the whole entries of `bytes`, the table read from file offset `offset` (an entry's
   * start, in tableRange); returns the bytes it checked (0: not one whole entry).
   */
  entriesCheck(bytes: Uint8Array, offset: number): number {
    const from = this.tableRange().from;
    const whole = bytes.length - (bytes.length % LAST_FINAL_BYTES);
    lastFinalEntriesCheck(bytes.subarray(0, whole), (offset - from) / LAST_FINAL_BYTES,
      this.texts, this.lastSeq, this.file);
    return whole;
  }

  private headPut(bytes: Uint8Array): void {
    if (this.head.length < this.headBytes + bytes.length) {
      const grown = new Uint8Array(
        Math.ceil((this.headBytes + bytes.length) / HEAD_STEP_BYTES) * HEAD_STEP_BYTES);
      grown.set(this.head.subarray(0, this.headBytes));
      this.head = grown;
    }
    this.head.set(bytes, this.headBytes);
    this.headBytes += bytes.length;
  }

  /** The head reached `headWanted`: the header read (what follows?), or the whole head. */
  private headStep(): 'more' | 'whole' {
    const view = new DataView(this.head.buffer, this.head.byteOffset, this.headBytes);
    if (this.headWanted === HEADER_BYTES) {
      const version2 = MAGIC.every((b, i) => this.head[i] === b) && this.head[4] === VERSION
        && this.head[5] === 0 && this.head[6] === 0 && this.head[7] === 0;
      if (!version2) return 'whole';
      this.headWanted = HEADER_BYTES + view.getUint32(8, true) + TABLE_LENGTH_BYTES;
      return this.headWanted > this.bytesMax ? 'whole' : 'more';
    }
    this.hasher.update(this.head.subarray(0, this.headBytes));
    this.hashedBytes = this.headBytes + view.getUint32(this.headBytes - TABLE_LENGTH_BYTES, true);
    return 'more';
  }
}

/** Where a checkpoint file's parts are (see checkpointEncode). */
interface CheckpointLayout {
  /** Offset of the table's length (version 2), or of the SHA-256 (version 1). */
  readonly tableAt: number;
  /** Bytes of the last-final table (version 2), or null (version 1). */
  readonly tableLength: number | null;
  /** Bytes the SHA-256 covers; the file is these and the SHA-256. */
  readonly hashedBytes: number;
}

/**
 * The layout of a checkpoint of `fileLength` bytes whose first bytes are `header` (at least
 * HEADER_BYTES of them when the file has them) and whose u32 at an offset is `u32At` (asked
 * only inside the file). Throws FieldError for a file that cannot be a checkpoint, in this
 * order: magic or size, version, length.
 */
function checkpointLayout(
  header: Uint8Array,
  fileLength: number,
  u32At: (at: number) => number,
  file: string,
): CheckpointLayout {
  if (fileLength < HEADER_BYTES + FRAME_HASH_BYTES || MAGIC.some((b, i) => header[i] !== b)) {
    throw new FieldError(file, '', 'not a journal checkpoint (magic or size)');
  }
  const version = header[4] ?? 0;
  if ((version !== VERSION && version !== VERSION_JSON)
    || header[5] !== 0 || header[6] !== 0 || header[7] !== 0) {
    const known = `${VERSION_JSON} or ${VERSION}`;
    throw new FieldError(file, '', `checkpoint version ${version} is not ${known}`);
  }
  const length = u32At(8);
  const tableAt = HEADER_BYTES + length;
  const tableLength = version === VERSION_JSON || fileLength < tableAt + TABLE_LENGTH_BYTES
    ? null
    : u32At(tableAt);
  const hashedBytes = tableLength === null ? tableAt : tableAt + TABLE_LENGTH_BYTES + tableLength;
  if ((version === VERSION && tableLength === null)
    || fileLength !== hashedBytes + FRAME_HASH_BYTES) {
    throw new FieldError(file, '', `checkpoint length ${length} does not match the file`);
  }
  return { tableAt, tableLength, hashedBytes };
}

/**
 * The checkpoint its JSON (`json`) and last-final table give, and the texts the table
 * indexes. `table`: the table's bytes (checked here), its length when it is checked apart
 * (CheckpointInWindows: the entries are then not kept), or null (version 1).
 */
function checkpointJsonRead(
  json: Uint8Array,
  table: Uint8Array | number | null,
  file: string,
  known: KnownRecords | null,
  recordsAs: 'decoded' | 'bytes',
): { checkpoint: JournalCheckpoint; texts: readonly string[] } {
  const compared = known === null ? null : checkpointRecordsCompared(json, known, file);
  let text: string;
  try {
    text = compared?.rest ?? TEXT_DECODER.decode(json);
  } catch {
    throw new FieldError(file, '', 'checkpoint is not UTF-8');
  }
  const fields = JsonFields.of(JsonFields.parse(text, file), file, '');
  return checkpointRead(fields, table, file, compared?.records ?? known, recordsAs);
}

/** `known`: the records compared already (the JSON's list is empty), or held ones to match. */
function checkpointRead(
  fields: JsonFields,
  table: Uint8Array | number | null,
  file: string,
  known: readonly HeldRecord[] | KnownRecords | null,
  recordsAs: 'decoded' | 'bytes',
): { checkpoint: JournalCheckpoint; texts: readonly string[] } {
  const firstSeq = fields.int('firstSeq', 1, SEQ_MAX);
  const headHashHex = fields.hex('headHashHex', FRAME_HASH_BYTES, FRAME_HASH_BYTES);
  const lastSeq = fields.int('lastSeq', 0, SEQ_MAX);
  if (lastSeq !== firstSeq - 1) fields.refuse('lastSeq', `must be firstSeq - 1 = ${firstSeq - 1}`);
  const ackThroughSeq = fields.int('ackThroughSeq', 0, lastSeq);
  const newestWallMs = fields.int('maxWallMs', 0, WALL_MS_MAX);
  const countFields = fields.obj('countsByKind');
  const countsByKind = {} as Record<JournalKind, number>;
  for (const kind of JOURNAL_KINDS) {
    // Checkpoints written before the T-Union kinds existed have no count of them: zero.
    const added = kind === 'tunion_grey' || kind === 'tunion_final' || kind === 'tunion_blocked';
    countsByKind[kind] = added && !countFields.has(kind) ? 0 : countFields.int(kind, 0, SEQ_MAX);
  }
  countFields.finish();
  const listed = fields.arr('records', ITEMS_MAX);
  const records = Array.isArray(known)
    ? known
    : recordsRead(listed, lastSeq, file, known as KnownRecords | null, recordsAs);
  const pendings = fields.arr('pendings', ITEMS_MAX).map((item, i) => {
    const pair = tuple(item, 2, file, `pendings[${i}]`);
    const tornSeq = pair[1] === null ? null : seqOf(pair[1], lastSeq, file, `pendings[${i}]`);
    return { seq: seqOf(pair[0], lastSeq, file, `pendings[${i}]`), tornSeq };
  });
  const uncertainSeqs = fields.arr('uncertainSeqs', ITEMS_MAX)
    .map((item, i) => seqOf(item, lastSeq, file, `uncertainSeqs[${i}]`));
  const finals = runsDecode(fields.arr('finals', ITEMS_MAX), lastSeq, file);
  const texts = table === null ? [] : lastFinalTexts(fields, file);
  const lastFinals = table === null
    ? fields.arr('lastFinals', ITEMS_MAX)
      .map((item, i) => lastFinalRead(item, lastSeq, file, `lastFinals[${i}]`))
    : typeof table === 'number'
      ? lastFinalsNotKept(table, file)
      : lastFinalTableRead(table, texts, lastSeq, file);
  fields.finish();
  const headHash = Uint8Array.from(Buffer.from(headHashHex, 'hex'));
  const state = {
    lastSeq, ackThroughSeq, newestWallMs, countsByKind, records, pendings, uncertainSeqs, finals,
    lastFinals,
  };
  return { checkpoint: { firstSeq, headHash, state }, texts };
}

/**
 * The records of a checkpoint, each checked as the scan checks a record: a canonical payload
 * in place and kept as bytes (verify reads a checkpoint per segment), any other decoded.
 */
function recordsRead(
  items: readonly unknown[],
  lastSeq: number,
  file: string,
  known: KnownRecords | null,
  recordsAs: 'decoded' | 'bytes',
): HeldRecord[] {
  const facts = new PayloadFacts();
  const recordFacts = new PayloadRecordFacts(facts);
  return items.map((item, i) => {
    const record = JsonFields.of(item, file, `records[${i}]`);
    const seq = record.int('seq', 1, lastSeq);
    const kind = record.choice('kind', JOURNAL_KINDS);
    const text = record.str('payload', ANY_TEXT, 1 << 20);
    record.finish();
    const held = known?.held(seq) ?? null;
    if (held !== null) {
      if (held.kind === kind && held.payloadIs(text)) return held;
      throw new FieldError(file, `records[${i}]`, `differs from the journal's record ${seq}`);
    }
    const payload = TEXT_ENCODER.encode(text);
    if (recordsAs === 'decoded' || !payloadFastCheck(kind, payload, facts)) {
      return HeldRecord.of({ seq, ...journalPayloadDecode(kind, payload, file) });
    }
    // The facts a scan reads from the same bytes (a grey's ATC closes it at a re-run's final).
    return HeldRecord.ofPayload(recordFacts.fill(seq, kind, payload, true), payload, true, false);
  });
}

function lastFinalTexts(fields: JsonFields, file: string): string[] {
  return fields.arr('lastFinalTexts', 0x10000).map((item, i) => {
    if (typeof item !== 'string' || item.length > LAST_FINAL_TEXT_MAX) {
      throw new FieldError(file, `lastFinalTexts[${i}]`, 'text');
    }
    return item;
  });
}

/**
 * Checks every entry of a version 2 last-final table in place (bounds, indexes, integers)
 * and returns a view that builds the entries only when iterated.
 */
function lastFinalTableRead(
  table: Uint8Array,
  texts: readonly string[],
  lastSeq: number,
  file: string,
): Iterable<{ cardHash: string; last: LastFinal }> {
  if (table.length % LAST_FINAL_BYTES !== 0) {
    throw new FieldError(file, 'lastFinals', `table of ${table.length} bytes`);
  }
  lastFinalEntriesCheck(table, 0, texts, lastSeq, file);
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const entry = (at: number): { cardHash: string; last: LastFinal } => ({
    cardHash: Buffer.from(table.buffer, table.byteOffset + at, CARD_HASH_BYTES).toString('hex'),
    last: {
      seq: view.getUint32(at + 16, true),
      timeWallMs: view.getFloat64(at + 20, true),
      lineId: texts[view.getUint16(at + 28, true)] ?? '',
      fareRule: texts[view.getUint16(at + 30, true)] ?? '',
      amountMinor: view.getFloat64(at + 32, true),
    },
  });
  return {
    *[Symbol.iterator]() {
      for (let at = 0; at < table.length; at += LAST_FINAL_BYTES) yield entry(at);
    },
  };
}

/**
 * Checks the whole entries of a last-final table in `entries`, the first of them entry
 * `firstIndex` (bounds, indexes, integers); throws FieldError naming the first bad one.
 */
function lastFinalEntriesCheck(
  entries: Uint8Array,
  firstIndex: number,
  texts: readonly string[],
  lastSeq: number,
  file: string,
): void {
  const view = new DataView(entries.buffer, entries.byteOffset, entries.byteLength);
  for (let at = 0; at + LAST_FINAL_BYTES <= entries.length; at += LAST_FINAL_BYTES) {
    const seq = view.getUint32(at + 16, true);
    const timeWallMs = view.getFloat64(at + 20, true);
    const amountMinor = view.getFloat64(at + 32, true);
    if (seq >= 1 && seq <= lastSeq && intIn(timeWallMs, WALL_MS_MAX)
      && intIn(amountMinor, Number.MAX_SAFE_INTEGER) && view.getUint16(at + 28, true) < texts.length
      && view.getUint16(at + 30, true) < texts.length) continue;
    // The path is spelt for a bad entry only: a table has one entry per card, and each
    // checkpoint verify and export read spelt thousands of them.
    const path = `lastFinals[${firstIndex + at / LAST_FINAL_BYTES}]`;
    seqOf(seq, lastSeq, file, path);
    intOf(timeWallMs, WALL_MS_MAX, file, path);
    intOf(amountMinor, Number.MAX_SAFE_INTEGER, file, path);
    throw new FieldError(file, path, 'text index');
  }
}

/** The last finals of a table checked apart (CheckpointInWindows), which no one may iterate. */
function lastFinalsNotKept(
  tableLength: number,
  file: string,
): Iterable<{ cardHash: string; last: LastFinal }> {
  if (tableLength % LAST_FINAL_BYTES !== 0) {
    throw new FieldError(file, 'lastFinals', `table of ${tableLength} bytes`);
  }
  return {
    [Symbol.iterator]() {
      throw new Error(`${file}: the last finals of a checkpoint read in windows are not kept`);
    },
  };
}

function lastFinalRead(
  item: unknown,
  lastSeq: number,
  file: string,
  path: string,
): { cardHash: string; last: LastFinal } {
  const t = tuple(item, 6, file, path);
  const [cardHash, seq, timeWallMs, lineId, fareRule, amountMinor] = t;
  const text = (value: unknown): string => {
    if (typeof value !== 'string' || value.length > 64) throw new FieldError(file, path, 'text');
    return value;
  };
  if (typeof cardHash !== 'string' || !/^[0-9a-f]{32}$/.test(cardHash)) {
    throw new FieldError(file, path, 'card hash');
  }
  const last: LastFinal = {
    seq: seqOf(seq, lastSeq, file, path),
    timeWallMs: intOf(timeWallMs, WALL_MS_MAX, file, path),
    lineId: text(lineId),
    fareRule: text(fareRule),
    amountMinor: intOf(amountMinor, Number.MAX_SAFE_INTEGER, file, path),
  };
  return { cardHash, last };
}

/**
 * Ascending seqs as runs of equal steps, flat: [first, step, count, step, count, ...] (a
 * final every second record is three numbers however many there are).
 */
function runsEncode(seqs: Iterable<number>): number[] {
  const out: number[] = [];
  let previous: number | null = null;
  for (const seq of seqs) {
    if (previous === null) out.push(seq);
    else {
      const step = seq - previous;
      const runOn = out.length > 1 && out[out.length - 2] === step;
      if (runOn) out[out.length - 1] = (out.at(-1) ?? 0) + 1;
      else out.push(step, 1);
    }
    previous = seq;
  }
  return out;
}

/**
 * Checks runs written by `runsEncode` (steps and counts positive, the last seq at most
 * `lastSeq`) and returns a view that expands them only when iterated: a backlog of 10^6
 * finals is a few numbers here, not an array of 10^6.
 */
function runsDecode(items: readonly unknown[], lastSeq: number, file: string): Iterable<number> {
  if (items.length === 0) return [];
  if (items.length % 2 !== 1) throw new FieldError(file, 'finals', 'expected first, then pairs');
  const first = seqOf(items[0], lastSeq, file, 'finals[0]');
  const runs: number[] = [];
  let seq = first;
  for (let i = 1; i < items.length; i += 2) {
    const step = intOf(items[i], lastSeq, file, `finals[${i}]`);
    const count = intOf(items[i + 1], lastSeq, file, `finals[${i + 1}]`);
    if (step < 1 || count < 1 || seq + step * count > lastSeq) {
      throw new FieldError(file, `finals[${i}]`, 'run out of range');
    }
    seq += step * count;
    runs.push(step, count);
  }
  return {
    *[Symbol.iterator]() {
      let at = first;
      yield at;
      for (let i = 0; i < runs.length; i += 2) {
        const step = runs[i] ?? 1;
        for (let k = 0; k < (runs[i + 1] ?? 0); k += 1) {
          at += step;
          yield at;
        }
      }
    },
  };
}

function tuple(item: unknown, length: number, file: string, path: string): readonly unknown[] {
  if (!Array.isArray(item) || item.length !== length) {
    throw new FieldError(file, path, `expected an array of ${length}`);
  }
  return item;
}

function seqOf(value: unknown, lastSeq: number, file: string, path: string): number {
  const seq = intOf(value, lastSeq, file, path);
  if (seq < 1) throw new FieldError(file, path, 'seq 0');
  return seq;
}

/** True when `value` is an integer in 0..max (what intOf accepts). */
function intIn(value: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function intOf(value: unknown, max: number, file: string, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new FieldError(file, path, `expected an integer in 0..${max}`);
  }
  return value;
}

function sha256(bytes: Uint8Array): Uint8Array {
  const digest = hashOneShot('sha256', bytes, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}
