// What the swarm's last full scan of the durable journal verified, so that the next scan reads
// only the bytes that differ from it (most scans follow a few appends to the newest segment).

import type { JournalUnit } from '../../../firmware/src/app/journal/journal_files.js';
import type { JournalResume } from '../../../firmware/src/app/journal/journal_reader.js';
import { bytesEqual } from '../pki/emv_bytes.js';

/** Where a scan may go on from, and the records the scan before it reported up to there. */
export interface VerifiedPrefix<R> {
  readonly resume: JournalResume;
  readonly records: readonly R[];
}

/**
 * The files, units, end point and records of the last scan that verified without corruption.
 *
 * Why a scan that resumes there gives what a full scan gives: the reader is a deterministic
 * function of the file names and of the bytes it reads, in order. A full scan from the oldest
 * segment takes its live units from the names, then reads each unit's checkpoint and segment
 * from the first live unit on. When the names give the same units up to and including the
 * unit the last scan's last intact record is in (unit k; same names, same files present, so
 * the same first live unit), and every file of those units holds the same bytes as then
 * (segment k: up to the end of that record), a full scan reaches the end of that record
 * exactly as the last one did: the same records reported, the same state and chain hash,
 * whether k is still the newest segment or not (that only decides what a damaged frame is, and
 * none is before the end of an intact record). The reader's resume starts there with a copy of
 * that state (the same checks on later records) and reads every byte after it as a full scan
 * would. The bytes are compared with copies held here, never with the caller's arrays.
 */
export class VerifiedJournal<R> {
  private last: {
    readonly units: readonly JournalUnit[];
    /** Index in `units` of the unit the resume is in. */
    readonly index: number;
    /** Own copies: every file of units 0..index (segment `index` up to the resume offset). */
    readonly bytes: ReadonlyMap<string, Uint8Array>;
    readonly prefix: VerifiedPrefix<R>;
  } | null = null;

  /** The last scan's end and records when `files` hold its verified bytes, else null. */
  prefixOf(
    units: readonly JournalUnit[],
    files: ReadonlyMap<string, Uint8Array>,
  ): VerifiedPrefix<R> | null {
    const last = this.last;
    if (last === null || units.length <= last.index) return null;
    for (let i = 0; i <= last.index; i += 1) {
      const unit = units[i];
      const before = last.units[i];
      if (unit === undefined || before === undefined || !sameUnit(unit, before)) return null;
    }
    const resumeSegment = last.prefix.resume.segment;
    for (const [name, held] of last.bytes) {
      const now = files.get(name);
      if (now === undefined) return null;
      // Whole files the same; segment k the same up to the resume (appends may follow).
      const sized = name === resumeSegment
        ? now.length >= held.length
        : now.length === held.length;
      if (!sized || !bytesEqual(held, now.subarray(0, held.length))) return null;
    }
    return last.prefix;
  }

  /**
   * A scan over `files` (names giving `units`) ended at `resume` (null: damage found, or no
   * record) having reported `records`, oldest first, the last one the resume's.
   */
  remember(
    units: readonly JournalUnit[],
    files: ReadonlyMap<string, Uint8Array>,
    resume: JournalResume | null,
    records: readonly R[],
  ): void {
    const index = resume === null ? -1 : units.findIndex((unit) =>
      unit.segment === resume.segment && unit.firstSeq === resume.unitFirstSeq);
    if (resume === null || index < 0) {
      this.last = null;
      return;
    }
    const bytes = new Map<string, Uint8Array>();
    const kept = this.last?.bytes;
    const take = (name: string, length: number): void => {
      const now = (files.get(name) ?? new Uint8Array(0)).subarray(0, length);
      const held = kept?.get(name);
      // An unchanged file keeps the copy held (the same bytes), a changed one is copied.
      bytes.set(name, held !== undefined && bytesEqual(held, now) ? held : now.slice());
    };
    for (let i = 0; i <= index; i += 1) {
      const unit = units[i];
      if (unit === undefined) break;
      if (unit.checkpoint !== null && unit.checkpointExists) {
        take(unit.checkpoint, files.get(unit.checkpoint)?.length ?? 0);
      }
      const segmentBytes = files.get(unit.segment)?.length ?? 0;
      if (unit.segmentExists) take(unit.segment, i === index ? resume.offset : segmentBytes);
    }
    this.last = { units: units.slice(), index, bytes, prefix: { resume, records } };
  }
}

function sameUnit(a: JournalUnit, b: JournalUnit): boolean {
  return a.firstSeq === b.firstSeq && a.segment === b.segment && a.checkpoint === b.checkpoint
    && a.segmentExists === b.segmentExists && a.checkpointExists === b.checkpointExists;
}
