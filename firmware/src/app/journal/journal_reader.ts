// Reads a segmented journal, one file at a time: from the oldest segment (verify, export) or
// from the newest segment's checkpoint (start-up).

import { HalStatus, halErr, type HalResult } from '../../../../hal/src/ports/hal_status.js';
import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import { FieldError } from '../params/json_fields.js';
import { CheckpointInWindows, checkpointDecode } from './journal_checkpoint.js';
import type { JournalCheckpoint } from './journal_checkpoint.js';
import { journalUnits } from './journal_files.js';
import type { JournalUnit } from './journal_files.js';
import { CHAIN_GENESIS_HASH, frameCheck, hashEqual } from './journal_frame.js';
import type { JournalRecord } from './journal_records.js';
import { SegmentScanner, isZeros } from './journal_scan.js';
import type { Corruption, JournalScan, PayloadSink, SegmentScan } from './journal_scan.js';
import { JournalState } from './journal_state.js';

/** How to read. */
export interface JournalReadOptions {
  /**
   * 'oldest': every retained segment, each checkpoint checked against the state the records
   * before it give. 'newest': the newest checkpoint and its segment only (start-up).
   * `{ afterSeq }`: from the checkpoint of the segment that holds seq afterSeq + 1 (an upload
   * pass: the records up to the ack are at the depot, their segments need not be read).
   * `{ resume, afterSeq }`: from where an earlier read ended (JournalRead.resume) or a resume
   * point it handed out, if its last record is still there and its segment is not older than
   * the one `{ afterSeq }` starts with, else as `{ afterSeq }`.
   */
  readonly from:
    | 'oldest'
    | 'newest'
    | { readonly afterSeq: number }
    | { readonly resume: JournalResume; readonly afterSeq: number };
  /** Keep each card's last final (the validator does; verify and export need not). */
  readonly trackLastFinals: boolean;
  /** Called with every intact record in order (export streams from here); null: none. */
  readonly onRecord: ((record: JournalRecord) => void) | null;
  /**
   * Called with every intact record's payload in order, without decoding a canonical one
   * (export streams from here: see PayloadSink); absent: none.
   */
  readonly onPayload?: PayloadSink;
  /** Awaited before each file is read (export flushes the lines of the previous segment). */
  readonly beforeRead?: () => Promise<void>;
  /** Asked after every intact record for a resume just after it (see JournalResumePoints). */
  readonly resumePoints?: JournalResumePoints;
}

/**
 * Resume points a read hands out as it goes: after each intact record it asks `wants` (with
 * the record's seq), and when true hands `take` where a later read may resume just after that
 * record (with a copy of the state there, so it costs a state copy: open taps and the finals
 * a later record may name).
 */
export interface JournalResumePoints {
  /** `state`: the read's state after that record (not to be kept or changed). */
  wants(seq: number, state: JournalState): boolean;
  take(resume: JournalResume): void;
}

/**
 * Where a read may go on from: just after the last record an earlier read of the journal
 * scanned, with the state and chain hash after it. A later read resumes there only when that
 * record is still there, whole: the same seq, the same chain hash (so every record before it
 * is the one read before), ending at `offset`; a segment reclaimed, a record cut and written
 * again after a power cut, a bit flipped in it, and the read starts from a checkpoint instead.
 * A read that resumes copies the state: a resume may be used again.
 */
export interface JournalResume {
  readonly unitFirstSeq: number;
  readonly segment: string;
  /** File offsets of that record's frame and of the byte after it. */
  readonly lastFrameOffset: number;
  readonly offset: number;
  readonly state: JournalState;
  /** Chain hash of that record (state.lastSeq). */
  readonly headHash: Uint8Array;
}

/** A read journal: the scan, the segments that hold it, and reclaim leftovers. */
export interface JournalRead extends JournalScan {
  /**
   * Where a later read may resume (after the last intact record of the last segment scanned),
   * or null: damage found, or no record scanned in that segment.
   */
  readonly resume: JournalResume | null;
  /** True when the read went on from `from.resume`. */
  readonly resumed: boolean;
  /** Segments in use, oldest first (the newest one's file may not exist yet). */
  readonly units: readonly JournalUnit[];
  /** Segments whose checkpoint a reclaim already removed (to be removed too). */
  readonly leftovers: readonly JournalUnit[];
  /** Intact bytes of the newest segment (where appends continue). */
  readonly newestValidBytes: number;
}

/**
 * Bytes read from a segment at a time. The reader holds one such window, however big the
 * segment (a journal written before segments existed may be one large file); it is a
 * multiple of 4 KiB and well above FRAME_BYTES_MAX, so each window advances by whole frames.
 */
export const READ_WINDOW_BYTES = 128 << 10;

/** Step in which the checkpoint buffer grows. */
const HELD_STEP_BYTES = 64 << 10;
/**
 * Bound of a file read whole (a checkpoint): its open taps (at most 256 records of a few KB)
 * and each recent card's last final (40 bytes a card) stay far below it. A damaged file
 * system may report any size: a 3 GiB checkpoint aborted Node inside the read (exit 134).
 */
export const WHOLE_READ_BYTES_MAX = 256 << 20;

/** A file the read needs next (a whole checkpoint, or a window of a segment), or the result. */
type ReadStep =
  /** A whole file (a checkpoint); the bytes are valid until the next step only. */
  | { readonly read: string }
  /** Up to READ_WINDOW_BYTES from `offset` (fewer only at the end of the file). */
  | { readonly readAt: string; readonly offset: number }
  | { readonly done: JournalRead };

/**
 * Reads the journal named `fileName` on `storage`. The reader holds one window of a segment
 * (READ_WINDOW_BYTES, read with `readAt`) and one checkpoint at a time, plus the state; a
 * port without `readAt` is read one whole segment at a time. Errors: the storage's own (list
 * or read failed).
 */
export async function journalRead(
  storage: StoragePort,
  fileName: string,
  options: JournalReadOptions,
): Promise<{ ok: true; value: JournalRead } | { ok: false; detail: string }> {
  const listed = await storage.list();
  if (!listed.ok) return { ok: false, detail: listed.detail };
  const units = journalUnits(fileName, listed.value);
  const steps = journalReadSteps(units, options);
  const window = spareTake(READ_BUFFERS_SPARE.windows, READ_WINDOW_BYTES);
  // Checkpoints are read into one buffer, made as large as the largest at once (a buffer
  // grown checkpoint after checkpoint leaves the smaller ones as garbage until V8's next
  // full collection).
  const unitsRead = units.slice(startIndexOf(units, options.from));
  // A read that keeps no last finals takes its checkpoints in windows (CheckpointInWindows):
  // the buffer is for the rare one read whole.
  const heldBytes = options.trackLastFinals ? await checkpointBytesMax(storage, unitsRead) : 0;
  const held = { bytes: spareTake(READ_BUFFERS_SPARE.held, heldBytes) };
  // The segment a port without readAt read whole ('' before the first).
  const whole: { name: string; bytes: Uint8Array } = { name: '', bytes: new Uint8Array(0) };
  let step = steps.next();
  // Bounded: one step per window of each file of the journal.
  while (step.done !== true) {
    const value: ReadStep = step.value;
    if ('done' in value) {
      spareGive(READ_BUFFERS_SPARE.windows, window);
      spareGive(READ_BUFFERS_SPARE.held, held.bytes);
      return { ok: true, value: value.done };
    }
    await options.beforeRead?.();
    let bytes: Uint8Array;
    if ('read' in value) {
      const read = await readWhole(storage, value.read, held);
      if (!read.ok) return { ok: false, detail: read.detail };
      bytes = read.value;
    } else if (storage.readAt !== undefined) {
      const read = await storage.readAt(value.readAt, value.offset, window);
      if (!read.ok) return { ok: false, detail: read.detail };
      bytes = window.subarray(0, read.value);
    } else {
      if (whole.name !== value.readAt) {
        const read = await storage.read(value.readAt);
        if (!read.ok) return { ok: false, detail: read.detail };
        whole.name = value.readAt;
        whole.bytes = read.value;
      }
      bytes = windowOf(whole.bytes, value.offset);
    }
    step = steps.next(bytes);
  }
  throw new Error('journal read ended without a result');
}

/**
 * Buffers of reads that ended, for the next read: each upload pass and each boot allocated
 * and zeroed a window of 128 KiB and a checkpoint buffer of 64 KiB or more. A read gives its
 * buffers back only once it has its result, and nothing a result holds views them: the scan
 * copies the payloads the state still holds out of a window before it is reused or the read
 * ends (SegmentScanner.scan), and a decoded checkpoint owns its bytes (its last finals are
 * built from the table before the next file is read). A read that throws gives nothing back.
 * What a read finds in a buffer before it reads into it is never looked at (only the bytes
 * the port reports read are). Kept: a few, none above SPARE_BYTES_MAX (a board keeps no
 * large checkpoint's buffer for good).
 */
const READ_BUFFERS_SPARE = { windows: [] as Uint8Array[], held: [] as Uint8Array[] };
const SPARES_MAX = 2;
const SPARE_BYTES_MAX = 1 << 20;

/** A spare buffer of at least `bytes` (0: none needed), or a new one. */
function spareTake(spares: Uint8Array[], bytes: number): Uint8Array {
  if (bytes === 0) return new Uint8Array(0);
  const i = spares.findIndex((spare) => spare.length >= bytes);
  if (i < 0) return new Uint8Array(bytes);
  const [spare] = spares.splice(i, 1);
  return spare ?? new Uint8Array(bytes);
}

function spareGive(spares: Uint8Array[], buffer: Uint8Array): void {
  if (buffer.length === 0 || buffer.length > SPARE_BYTES_MAX) return;
  if (spares.length < SPARES_MAX) spares.push(buffer);
}

/**
 * Size of the buffer that holds the largest checkpoint of `units` (plus the byte that tells
 * growth, in HELD_STEP_BYTES steps); 0 when the port has no readAt, or a size fails
 * (readWhole then reads as before and says why).
 */
export async function checkpointBytesMax(
  storage: StoragePort,
  units: readonly JournalUnit[],
): Promise<number> {
  if (storage.readAt === undefined) return 0;
  let largest = -1;
  for (const unit of units) {
    if (unit.checkpoint === null || !unit.checkpointExists) continue;
    const size = await storage.size(unit.checkpoint);
    if (!size.ok) return 0;
    // One over the bound is refused at its read (readWhole): no buffer for it.
    if (size.value <= WHOLE_READ_BYTES_MAX) largest = Math.max(largest, size.value);
  }
  return largest < 0 ? 0 : Math.ceil((largest + 1) / HELD_STEP_BYTES) * HELD_STEP_BYTES;
}

/**
 * Reads a journal from a map of file images (a test's view of a StorageSim's medium, or a
 * directory read by a tool). Missing files read as empty. `onPayload` as in JournalReadOptions;
 * `trackLastFinals` (default true: a validator's read) false reads as verify, export and an
 * upload pass do, the records a checkpoint holds kept as bytes. `from` as in
 * JournalReadOptions (default 'oldest').
 */
export function journalScanFiles(
  files: ReadonlyMap<string, Uint8Array>,
  fileName: string,
  collect: boolean,
  more: {
    readonly onPayload?: PayloadSink;
    readonly trackLastFinals?: boolean;
    readonly from?: JournalReadOptions['from'];
  } = {},
): JournalRead {
  const records: JournalRecord[] = [];
  const onRecord = collect ? (record: JournalRecord) => records.push(record) : null;
  const steps = journalReadSteps(journalUnits(fileName, [...files.keys()]), {
    from: more.from ?? 'oldest', trackLastFinals: more.trackLastFinals ?? true, onRecord,
    ...(more.onPayload === undefined ? {} : { onPayload: more.onPayload }),
  });
  let step = steps.next();
  while (step.done !== true) {
    const value: ReadStep = step.value;
    if ('done' in value) return { ...value.done, records };
    const name = 'read' in value ? value.read : value.readAt;
    const bytes = files.get(name) ?? new Uint8Array(0);
    step = steps.next('read' in value ? bytes : windowOf(bytes, value.offset));
  }
  throw new Error('journal read ended without a result');
}

/**
 * A whole file: with `readAt`, into `held` (the view is valid until the next read), else a
 * plain read. A file that changed size between the two calls (one byte more is asked for, to
 * see growth) is read plainly.
 */
export async function readWhole(
  storage: StoragePort,
  name: string,
  held: { bytes: Uint8Array },
): Promise<HalResult<Uint8Array>> {
  if (storage.readAt === undefined) return storage.read(name);
  const size = await storage.size(name);
  if (!size.ok) return size;
  if (size.value > WHOLE_READ_BYTES_MAX) {
    return halErr(HalStatus.SIZE, `${name} is ${size.value} bytes, more than a checkpoint can `
      + `hold (${WHOLE_READ_BYTES_MAX}): the file system reports it damaged; move it away `
      + '(a later checkpoint is not needed to salvage the records)');
  }
  if (held.bytes.length < size.value + 1) {
    // Grown in steps of 64 KiB, not doubled: checkpoints grow slowly, and a doubled buffer
    // would hold up to twice the largest one for the rest of the read.
    held.bytes = new Uint8Array(Math.ceil((size.value + 1) / HELD_STEP_BYTES) * HELD_STEP_BYTES);
  }
  const read = await storage.readAt(name, 0, held.bytes.subarray(0, size.value + 1));
  if (!read.ok) return read;
  if (read.value !== size.value) return storage.read(name);
  return { ok: true, value: held.bytes.subarray(0, size.value) };
}

function windowOf(bytes: Uint8Array, offset: number): Uint8Array {
  const from = Math.min(offset, bytes.length);
  return bytes.subarray(from, Math.min(bytes.length, from + READ_WINDOW_BYTES));
}

/**
 * Scans one segment window by window (an absent segment reads as empty), from `resumed`'s
 * window when the read resumes in it. A damaged frame in the newest segment with more bytes
 * after the window is torn only if all of them are zero: they are read to the end to tell.
 */
function* segmentSteps(
  unit: JournalUnit,
  scanner: SegmentScanner,
  resumed: Resumed | null,
): Generator<ReadStep, SegmentScan, Uint8Array> {
  let first = resumed;
  if (first !== null) {
    scanner.offset = first.from.offset;
    scanner.lastFrameOffset = first.from.lastFrameOffset;
  }
  // Bounded: a window that is not the last advances by at least READ_WINDOW_BYTES -
  // 2 * FRAME_BYTES_MAX (whole frames; a resumed window starts after one), the file is finite.
  for (;;) {
    const window = first?.window ?? (yield { readAt: unit.segment, offset: scanner.offset });
    const eof = first?.eof ?? window.length < READ_WINDOW_BYTES;
    first = null;
    const step = scanner.scan(window, eof);
    if ('end' in step) return step.end;
    if ('zerosFrom' in step) {
      let offset = step.zerosFrom;
      let allZeros = true;
      // Bounded: each read advances by a full window until the last, shorter one.
      for (;;) {
        const rest = yield { readAt: unit.segment, offset };
        allZeros &&= isZeros(rest);
        offset += rest.length;
        if (rest.length < READ_WINDOW_BYTES) break;
      }
      return scanner.tail(offset - step.zerosFrom, allZeros);
    }
  }
}

function* journalReadSteps(
  units: readonly JournalUnit[],
  options: JournalReadOptions,
): Generator<ReadStep, void, Uint8Array> {
  const split = unitsSplit(units);
  const live = split.live;
  let state = new JournalState(options.trackLastFinals);
  let headHash = CHAIN_GENESIS_HASH;
  let validBytes = 0;
  let newestValidBytes = 0;
  let last: { unit: JournalUnit; scanner: SegmentScanner } | null = null;
  const resumed = split.corruption === null ? yield* resumeSteps(live, options.from) : null;
  const result = (rest: Partial<JournalRead>): ReadStep => ({
    done: {
      state, records: [], validBytes, headHash, tornTail: null, corruption: null, units: live,
      leftovers: split.leftovers, newestValidBytes, resumed: resumed !== null,
      resume: rest.corruption == null && last !== null ? resumeAfter(last, state) : null,
      ...rest,
    },
  });
  if (split.corruption !== null) {
    yield result({ corruption: split.corruption });
    return;
  }
  const startIndex = resumed?.index ?? startIndexOf(live, options.from);
  if (resumed !== null) ({ state, headHash } = resumed.from);
  const heads = { buffer: new Uint8Array(0) };
  for (let i = startIndex; i < live.length; i += 1) {
    const unit = live[i];
    if (unit === undefined) break;
    if (unit.checkpoint !== null && !(resumed !== null && i === startIndex)) {
      const loaded = yield* checkpointSteps(unit, options, i === startIndex ? null : state, heads);
      const problem = typeof loaded === 'string'
        ? loaded
        : i === startIndex ? null : continuity(loaded, state, headHash);
      if (problem !== null || typeof loaded === 'string') {
        yield result({ corruption: corruptAt(unit.checkpoint, unit.firstSeq, problem ?? '') });
        return;
      }
      if (i === startIndex) ({ state, headHash } = loaded);
    }
    const newest = i === live.length - 1;
    if (!unit.segmentExists && !newest) {
      yield result({ corruption: corruptAt(unit.segment, unit.firstSeq, 'segment missing') });
      return;
    }
    const scanner = segmentScanner(unit, { state, headHash }, newest, options);
    const scan = yield* segmentSteps(unit, scanner, i === startIndex ? resumed : null);
    // An empty newest segment: a later read resumes after the last record of the one before.
    if (scanner.lastFrameOffset >= 0) last = { unit, scanner };
    validBytes += scan.validBytes;
    newestValidBytes = scan.validBytes;
    headHash = scan.headHash;
    if (scan.corruption !== null || scan.tornTail !== null) {
      yield result({ corruption: scan.corruption, tornTail: scan.tornTail });
      return;
    }
  }
  // Only acknowledged records are ever reclaimed (the ack may be in the last segment): records
  // before the oldest unit that no ack covers were lost, whether a reclaim's leftover
  // checkpoint remains or the oldest segment went with its checkpoint (deleted by hand, a
  // restore that missed a file). A journal that `init --after-seq N` began has ack N.
  const firstLive = live[0];
  if (firstLive !== undefined && state.ackThroughSeq < firstLive.firstSeq - 1) {
    const reason = `segments before seq ${firstLive.firstSeq} are missing but not acknowledged`;
    yield result({ corruption: corruptAt(firstLive.segment, firstLive.firstSeq, reason) });
    return;
  }
  yield result({});
}

/** The scanner of `unit`, handing out resume points when `options` asks for them. */
function segmentScanner(
  unit: JournalUnit,
  start: { readonly state: JournalState; readonly headHash: Uint8Array },
  newest: boolean,
  options: JournalReadOptions,
): SegmentScanner {
  const points = options.resumePoints;
  const afterRecord = points === undefined ? null : (seq: number): void => {
    if (!points.wants(seq, start.state)) return;
    const resume = resumeAfter({ unit, scanner }, start.state);
    // Its own state: the read goes on with this one, whose held records view the window.
    if (resume !== null) points.take({ ...resume, state: journalStateCopy(start.state) });
  };
  const scanner: SegmentScanner = new SegmentScanner(
    unit.segment, start, newest, options.onRecord, options.onPayload ?? null, afterRecord,
  );
  return scanner;
}

/**
 * A copy of `state` that later records applied to either leave the other as it is (what a
 * checkpoint would hold: the same checks on later records). Held records are shared, their
 * payloads copied out of the read window first.
 */
function journalStateCopy(state: JournalState): JournalState {
  for (const held of state.heldRecords()) held.detach();
  return state.copy();
}

/**
 * A resumed read: the unit it goes on in, its window from the resume offset, the start (with
 * a copy of the resume's state).
 */
interface Resumed {
  readonly index: number;
  readonly window: Uint8Array;
  readonly eof: boolean;
  readonly from: JournalResume;
}

/**
 * Reads the window holding the last record of `from.resume` and checks that record is still
 * there (see JournalResume); the resumed start, or null to read from a checkpoint.
 */
function* resumeSteps(
  live: readonly JournalUnit[],
  from: JournalReadOptions['from'],
): Generator<ReadStep, Resumed | null, Uint8Array> {
  if (typeof from === 'string' || !('resume' in from)) return null;
  const resume = from.resume;
  const index = live.findIndex((unit) => unit.firstSeq === resume.unitFirstSeq
    && unit.segment === resume.segment && unit.segmentExists);
  // Older than the segment the read from a checkpoint starts with: it would read more.
  if (index < 0 || index < startIndexOf(live, { afterSeq: from.afterSeq })) return null;
  const window = yield { readAt: resume.segment, offset: resume.lastFrameOffset };
  const checked = frameCheck(window, 0);
  const holds = checked.ok && checked.frame.seq === resume.state.lastSeq
    && resume.lastFrameOffset + checked.frame.frameBytes === resume.offset
    && hashEqual(checked.frame.hash, resume.headHash);
  if (!holds) return null;
  const eof = window.length < READ_WINDOW_BYTES;
  const rest = window.subarray(resume.offset - resume.lastFrameOffset);
  // Its own state: the resume may be used again.
  return { index, window: rest, eof, from: { ...resume, state: journalStateCopy(resume.state) } };
}

/** Where a later read may resume after `last`, the last segment scanned, or null. */
function resumeAfter(
  last: { unit: JournalUnit; scanner: SegmentScanner },
  state: JournalState,
): JournalResume | null {
  const { unit, scanner } = last;
  if (scanner.lastFrameOffset < 0) return null;
  return {
    unitFirstSeq: unit.firstSeq, segment: unit.segment, lastFrameOffset: scanner.lastFrameOffset,
    offset: scanner.offset, state, headHash: scanner.headHashNow(),
  };
}

interface LoadedCheckpoint {
  readonly state: JournalState;
  readonly headHash: Uint8Array;
}

/**
 * Decodes and checks a checkpoint: the one a read starts from (`before` null), or a later one,
 * compared with `before`, the state its previous segments gave (its records are taken from
 * there when the same).
 */
function checkpointLoad(
  bytes: Uint8Array,
  unit: JournalUnit,
  options: JournalReadOptions,
  before: JournalState | null,
): LoadedCheckpoint | string {
  const file = unit.checkpoint ?? unit.segment;
  try {
    // A validator's state keeps its open taps decoded; verify and export keep their bytes.
    const recordsAs = options.trackLastFinals ? 'decoded' : 'bytes';
    return checkpointLoaded(checkpointDecode(bytes, file, before, recordsAs), unit, options,
      before === null);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    return error.message;
  }
}

/**
 * Reads and loads the checkpoint of `unit` (checkpointLoad): whole for a read that
 * keeps the last finals; else in windows (CheckpointInWindows), its table's entries checked
 * from a second read of the table, and whole only when it is no version 2 file or too large.
 * `heads.buffer` holds a head from checkpoint to checkpoint.
 */
function* checkpointSteps(
  unit: JournalUnit,
  options: JournalReadOptions,
  before: JournalState | null,
  heads: { buffer: Uint8Array },
): Generator<ReadStep, LoadedCheckpoint | string, Uint8Array> {
  const name = unit.checkpoint ?? unit.segment;
  if (options.trackLastFinals) return checkpointLoad(yield { read: name }, unit, options, before);
  const windows = new CheckpointInWindows(name, heads.buffer, WHOLE_READ_BYTES_MAX);
  // Bounded: each window but the last is READ_WINDOW_BYTES, up to WHOLE_READ_BYTES_MAX.
  for (let offset = 0; ;) {
    const window = yield { readAt: name, offset };
    if (windows.feed(window) === 'whole') {
      return checkpointLoad(yield { read: name }, unit, options, before);
    }
    offset += window.length;
    if (window.length < READ_WINDOW_BYTES) break;
  }
  heads.buffer = windows.headBuffer();
  try {
    const checkpoint = windows.decode(before, 'bytes');
    const { from, end } = windows.tableRange();
    // Bounded: each window checks at least one whole entry, or the read stops.
    for (let at = from; at < end;) {
      const window = yield { readAt: name, offset: at };
      const checked = windows.entriesCheck(window.subarray(0, Math.min(window.length, end - at)),
        at);
      if (checked === 0) return 'checkpoint changed while it was read';
      at += checked;
    }
    return checkpointLoaded(checkpoint, unit, options, before === null);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    return error.message;
  }
}

/** The state a decoded checkpoint gives its unit, or why it cannot be that unit's. */
function checkpointLoaded(
  checkpoint: JournalCheckpoint,
  unit: JournalUnit,
  options: JournalReadOptions,
  continued: boolean,
): LoadedCheckpoint | string {
  if (checkpoint.firstSeq !== unit.firstSeq) {
    return `checkpoint names seq ${checkpoint.firstSeq}, its file ${unit.firstSeq}`;
  }
  const state = JournalState.fromSnapshot(
    checkpoint.state, options.trackLastFinals && continued, continued,
  );
  if (typeof state === 'string') return `checkpoint: ${state}`;
  return { state, headHash: checkpoint.headHash };
}

/**
 * Why a checkpoint disagrees with the state its previous segments give, or null: the records
 * end just before it, the chain continues from the same hash, and the counts, the ack and the
 * uncertain taps match.
 */
function continuity(
  loaded: LoadedCheckpoint,
  state: JournalState,
  headHash: Uint8Array,
): string | null {
  if (loaded.state.lastSeq !== state.lastSeq) {
    return `segments end at seq ${state.lastSeq}, the checkpoint follows ${loaded.state.lastSeq}`;
  }
  if (!hashEqual(loaded.headHash, headHash)) return 'checkpoint chain hash does not match';
  if (loaded.state.continuityKey() !== state.continuityKey()) {
    return 'checkpoint state (ack, counts, open taps) differs from its records';
  }
  return null;
}

/** The index of the unit a read begins with (see JournalReadOptions.from). */
function startIndexOf(units: readonly JournalUnit[], from: JournalReadOptions['from']): number {
  if (from === 'oldest') return 0;
  if (from === 'newest') return Math.max(0, units.length - 1);
  // A resume that does not hold reads from here; one that holds, from a later unit.
  if ('resume' in from) return startIndexOf(units, { afterSeq: from.afterSeq });
  let index = 0;
  for (let i = 0; i < units.length; i += 1) {
    if ((units[i]?.firstSeq ?? Infinity) <= from.afterSeq + 1) index = i;
  }
  return index;
}

/**
 * Splits units into live ones and leftovers of an interrupted reclaim (a reclaim removes a
 * segment, then its checkpoint: leading checkpoints without a segment are leftovers). A
 * segment without its checkpoint is corruption.
 */
function unitsSplit(units: readonly JournalUnit[]): {
  live: JournalUnit[];
  leftovers: JournalUnit[];
  corruption: Corruption | null;
} {
  let firstLive = 0;
  while (firstLive < units.length - 1 && units[firstLive]?.segmentExists === false) firstLive += 1;
  const leftovers = units.slice(0, firstLive);
  const live = units.slice(firstLive);
  const orphan = units.find((unit) => !unit.checkpointExists);
  const corruption = orphan === undefined
    ? null
    : corruptAt(orphan.segment, orphan.firstSeq, 'segment without its checkpoint');
  return { live, leftovers, corruption };
}

function corruptAt(file: string, seqExpected: number, reason: string): Corruption {
  return { file, offset: 0, seqExpected, reason };
}
