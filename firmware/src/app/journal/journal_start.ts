// A new journal numbered after a seq: what `shuaka journal init --after-seq N` writes when a
// validator's journal is replaced (new SD card, board swap, a CORRUPT journal moved away).
//
// The seq of a record is also the card's 9F41 and the depot's idempotency key per terminal, so
// a replacement journal must not start at 1 again. A journal whose segments up to N were all
// acknowledged and reclaimed keeps exactly one file about them: the checkpoint of the segment
// that starts at N + 1. Writing that checkpoint alone makes such a journal: the validator
// reads it at start-up and appends seq N + 1 to a new segment `journal-<N+1>.bin`.

import { createHash } from 'node:crypto';

import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import { checkpointEncode } from './journal_checkpoint.js';
import { checkpointName, journalUnits } from './journal_files.js';
import { SEQ_MAX } from './journal_records.js';
import { JournalState } from './journal_state.js';

/**
 * The chain hash the starting checkpoint names for record N, which no journal holds:
 * SHA-256 of the ASCII text `shuaka journal init after seq N` (N in decimal). Any 32 bytes
 * would do (the oldest checkpoint's hash is where its chain starts; nothing before it is
 * read). A defined value tells a started journal from a reclaimed one, and is not the
 * all-zero hash the chain starts from at seq 1.
 */
export function journalStartHash(afterSeq: number): Uint8Array {
  const text = `shuaka journal init after seq ${afterSeq}`;
  return new Uint8Array(createHash('sha256').update(text, 'ascii').digest());
}

/**
 * The checkpoint file of a new journal whose first record is `afterSeq + 1`, everything
 * through `afterSeq` acknowledged: no counts, no open taps, no finals (1 <= afterSeq <
 * SEQ_MAX; a journal after 0 is an empty directory).
 */
export function journalStartCheckpoint(
  fileName: string,
  afterSeq: number,
): { name: string; bytes: Uint8Array } {
  if (!(Number.isSafeInteger(afterSeq) && afterSeq >= 1 && afterSeq < SEQ_MAX)) {
    throw new RangeError(`after seq ${afterSeq}: not in 1..${SEQ_MAX - 1}`);
  }
  const state = new JournalState(false);
  state.lastSeq = afterSeq;
  state.ackThroughSeq = afterSeq;
  const firstSeq = afterSeq + 1;
  const bytes = checkpointEncode({
    firstSeq, headHash: journalStartHash(afterSeq), state: state.snapshot(),
  });
  return { name: checkpointName(fileName, firstSeq), bytes };
}

/** What `journalStart` did. */
export type JournalStartResult =
  | { readonly ok: true; readonly written: string | null }
  | { readonly ok: false; readonly why: 'exists' | 'io'; readonly detail: string };

/**
 * Starts a new journal named `fileName` on `storage`, after `afterSeq` (0: nothing to write,
 * an empty storage is a new journal). Refused ('exists') when any segment or checkpoint of a
 * journal is there: nothing is ever overwritten or removed. Quarantine copies, the data key
 * and the lock are not the journal and do not count. One atomic replace (the port's write,
 * sync, rename, directory sync): a power cut leaves no journal file or the whole checkpoint.
 */
export async function journalStart(
  storage: StoragePort,
  fileName: string,
  afterSeq: number,
): Promise<JournalStartResult> {
  const listed = await storage.list();
  if (!listed.ok) return { ok: false, why: 'io', detail: listed.detail };
  const unit = journalUnits(fileName, listed.value)[0];
  if (unit !== undefined) {
    const file = unit.segmentExists ? unit.segment : unit.checkpoint ?? unit.segment;
    return { ok: false, why: 'exists', detail: `holds a journal already (${file})` };
  }
  if (afterSeq === 0) return { ok: true, written: null };
  const { name, bytes } = journalStartCheckpoint(fileName, afterSeq);
  const written = await storage.replace(name, bytes);
  if (!written.ok) return { ok: false, why: 'io', detail: written.detail };
  return { ok: true, written: name };
}
