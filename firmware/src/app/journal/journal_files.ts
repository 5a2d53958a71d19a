// Names of the journal's files on the storage port: segments, checkpoints, quarantine copies.

/** One segment of the journal: the records from `firstSeq` on, and the state before them. */
export interface JournalUnit {
  readonly firstSeq: number;
  /** Segment file name (it may not exist yet: a segment is created by its first append). */
  readonly segment: string;
  /** Checkpoint file name, or null for the first segment (its state is the empty journal). */
  readonly checkpoint: string | null;
  readonly segmentExists: boolean;
  readonly checkpointExists: boolean;
}

const SEQ_DIGITS = 10;

/**
 * The segment holding records from `firstSeq` on. The first segment keeps the journal's
 * historic single-file name (`journal.bin`), so a journal written before segments existed is
 * read as it is; later ones are `journal-NNNNNNNNNN.bin` with the first seq in ten digits.
 */
export function segmentName(fileName: string, firstSeq: number): string {
  if (firstSeq === 1) return fileName;
  const { base, ext } = nameParts(fileName);
  return `${base}-${String(firstSeq).padStart(SEQ_DIGITS, '0')}${ext}`;
}

/** The checkpoint of the segment starting at `firstSeq` (> 1): `journal-NNNNNNNNNN.ckpt`. */
export function checkpointName(fileName: string, firstSeq: number): string {
  const { base } = nameParts(fileName);
  return `${base}-${String(firstSeq).padStart(SEQ_DIGITS, '0')}.ckpt`;
}

/** Where a damaged file is copied before anything else happens to it. */
export function quarantineName(name: string): string {
  return `quarantine-${name}`;
}

/**
 * The journal's units among the storage's file names, oldest first. Every segment after the
 * first has a checkpoint, written before the segment is created; a unit lacking one of its
 * files is reported as it is and judged by the caller.
 */
export function journalUnits(fileName: string, names: readonly string[]): JournalUnit[] {
  const pattern = unitPatternOf(fileName);
  const segments = new Set<number>();
  const checkpoints = new Set<number>();
  for (const name of names) {
    if (name === fileName) segments.add(1);
    const match = pattern.exec(name);
    if (match === null) continue;
    const seq = Number(match[1]);
    if (seq < 2) continue;
    if (match[2] === '.ckpt') checkpoints.add(seq);
    else segments.add(seq);
  }
  const seqs = [...new Set([...segments, ...checkpoints])].sort((a, b) => a - b);
  return seqs.map((firstSeq) => ({
    firstSeq,
    segment: segmentName(fileName, firstSeq),
    checkpoint: firstSeq === 1 ? null : checkpointName(fileName, firstSeq),
    segmentExists: segments.has(firstSeq),
    checkpointExists: firstSeq === 1 || checkpoints.has(firstSeq),
  }));
}

/**
 * The pattern of the later segments and checkpoints of `fileName`, made once per name: every
 * read and every reclaim lists the journal's units (a board has one journal, the simulator a
 * few). Without the global or sticky flag, `exec` keeps no state between names.
 */
const UNIT_PATTERNS = new Map<string, RegExp>();
const UNIT_PATTERNS_MAX = 16;

function unitPatternOf(fileName: string): RegExp {
  let pattern = UNIT_PATTERNS.get(fileName);
  if (pattern === undefined) {
    const { base, ext } = nameParts(fileName);
    pattern = new RegExp(`^${escape(base)}-([0-9]{${SEQ_DIGITS}})(${escape(ext)}|\\.ckpt)$`);
    if (UNIT_PATTERNS.size >= UNIT_PATTERNS_MAX) UNIT_PATTERNS.clear();
    UNIT_PATTERNS.set(fileName, pattern);
  }
  return pattern;
}

function nameParts(fileName: string): { base: string; ext: string } {
  const dot = fileName.lastIndexOf('.');
  return dot <= 0
    ? { base: fileName, ext: '' }
    : { base: fileName.slice(0, dot), ext: fileName.slice(dot) };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
