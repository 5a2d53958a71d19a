// A later checkpoint's records are compared in place with the records the reader's scan holds
// (journal_checkpoint_records.ts): the same bytes pass, one changed byte under a recomputed
// SHA-256 is corruption, and a checkpoint laid out otherwise falls back to the full decode.

import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import {
  JOURNAL_FILE, card, clearing, journalOptions, newClock, newPrng, recovery,
} from './journal_fixtures.js';

/** Taps left open early (carried by every later checkpoint), then enough for 6+ segments. */
async function journalWithOpenTaps(): Promise<Map<string, Uint8Array>> {
  const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(7), tornModes: ['prefix'] });
  const options = { ...journalOptions(newClock(), 1 << 22, 8192), segmentBytesMax: 16_000 };
  const opened = await Journal.open(sim, options);
  if (!opened.ok) throw new Error(opened.detail);
  const journal = opened.value.journal;
  const append = async (entry: JournalEntry): Promise<void> => {
    const appended = await journal.append(entry);
    if (!appended.ok) throw new Error(appended.detail);
  };
  for (let i = 0; i < 3; i += 1) {
    await append({
      kind: 'pending', recovery: recovery(card(900 + i), i), fareRule: 'flat', amountMinor: 200,
    });
  }
  for (let i = 0; i < 80; i += 1) {
    const pendingSeq = journal.summary().lastSeq + 1;
    await append({
      kind: 'pending', recovery: recovery(card(i), i), fareRule: 'flat', amountMinor: 200,
    });
    await append({ kind: 'final', pendingSeq, clearing: clearing(card(i), i) });
  }
  return new Map(sim.durableFiles());
}

/** A version 2 checkpoint with its JSON replaced and its SHA-256 recomputed. */
function withJson(file: Uint8Array, edit: (json: string) => string): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const length = view.getUint32(8, true);
  const json = Buffer.from(edit(Buffer.from(file.subarray(12, 12 + length)).toString('latin1')));
  const tail = file.subarray(12 + length, file.length - 32);
  const out = Buffer.concat([file.subarray(0, 12), json, tail, Buffer.alloc(32)]);
  out.writeUInt32LE(json.length, 8);
  const hash = createHash('sha256').update(out.subarray(0, out.length - 32)).digest();
  hash.copy(out, out.length - 32);
  return out;
}

/** The first open tap's amount, changed in a checkpoint's copy of it only. */
function amountChanged(json: string): string {
  return json.replace('\\"amountMinor\\":200', '\\"amountMinor\\":900');
}

describe('later checkpoints against the scanned records', () => {
  it('aCheckpointRecordChangedUnderAValidHash_isCorrupt_theSameBytesPass', async () => {
    const files = await journalWithOpenTaps();
    const clean = journalScanFiles(files, JOURNAL_FILE, false);
    expect(clean.corruption).toBeNull();
    expect(clean.units.length).toBeGreaterThan(4);
    expect(clean.state.uncertainSeqs()).toEqual([1, 2, 3]);
    const name = clean.units[2]?.checkpoint ?? '';
    const original = files.get(name) ?? new Uint8Array(0);
    expect(Buffer.from(original).toString('latin1')).toContain('\\"amountMinor\\":200');
    // The open tap's amount, changed in the checkpoint's copy only.
    files.set(name, withJson(original, amountChanged));
    const changed = journalScanFiles(files, JOURNAL_FILE, false);
    expect(changed.corruption?.file).toBe(name);
    expect(changed.corruption?.reason).toMatch(/differs from the journal's record 1/);
  });

  it('aCheckpointLaidOutOtherwise_isDecodedWhole_andStillAgrees', async () => {
    const files = await journalWithOpenTaps();
    const clean = journalScanFiles(files, JOURNAL_FILE, false);
    const name = clean.units[2]?.checkpoint ?? '';
    const original = files.get(name) ?? new Uint8Array(0);
    // Same content, records moved to the end: no in-place comparison, the full decode decides.
    const moved = withJson(original, (json) => {
      const { records, ...rest } = JSON.parse(json) as Record<string, unknown>;
      return JSON.stringify({ ...rest, records });
    });
    files.set(name, moved);
    const read = journalScanFiles(files, JOURNAL_FILE, false);
    expect(read.corruption).toBeNull();
    expect(read.state.lastSeq).toBe(clean.state.lastSeq);
    // And a changed record in that layout is still caught.
    files.set(name, withJson(moved, amountChanged));
    const changed = journalScanFiles(files, JOURNAL_FILE, false);
    expect(changed.corruption?.reason).toMatch(/differs from the journal's record 1/);
  });
});
