// A checkpoint read in windows (verify, export, an upload pass) against the same file decoded
// whole (checkpointDecode): the same checkpoint or the same refusal, for a table of 5,000
// cards cut into seeded random windows, intact, cut short, grown, with bits flipped anywhere,
// and resealed with faults only the bounds catch; and through the reader, the same verdicts
// as a read that keeps the last finals.

import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import {
  CheckpointInWindows, checkpointDecode, checkpointEncode,
} from '../src/app/journal/journal_checkpoint.js';
import type { JournalCheckpoint } from '../src/app/journal/journal_checkpoint.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import { JOURNAL_KINDS } from '../src/app/journal/journal_records.js';
import type { JournalKind } from '../src/app/journal/journal_records.js';
import type { JournalStateSnapshot } from '../src/app/journal/journal_state.js';
import {
  JOURNAL_FILE, WALL_EPOCH_MS, card, clearing, journalOptions, newClock, newPrng, recovery,
} from './journal_fixtures.js';

const NAME = 'journal-0000020001.ckpt';
const CARDS = 5_000;
const ENTRY_BYTES = 40;

/** A checkpoint after seq 20,000 whose table holds the last finals of CARDS cards. */
function bigCheckpoint(): Uint8Array {
  const countsByKind = Object.fromEntries(JOURNAL_KINDS.map((kind) => [kind, 0])) as
    Record<JournalKind, number>;
  countsByKind.pending = 10_000;
  countsByKind.final = 10_000;
  const lastFinals = Array.from({ length: CARDS }, (_, i) => ({
    cardHash: createHash('md5').update(String(i)).digest('hex'),
    last: {
      seq: 2 * (i + 1), timeWallMs: WALL_EPOCH_MS + i * 1000,
      lineId: i % 2 === 0 ? 'L1' : 'L2', fareRule: 'flat', amountMinor: 200,
    },
  }));
  const state: JournalStateSnapshot = {
    lastSeq: 20_000, ackThroughSeq: 0, newestWallMs: WALL_EPOCH_MS + CARDS * 1000,
    countsByKind, records: [], pendings: [], uncertainSeqs: [], finals: [19_998, 20_000],
    lastFinals,
  };
  return checkpointEncode({ firstSeq: 20_001, headHash: new Uint8Array(32).fill(7), state });
}

/** What checkpointDecode makes of `file`: its checkpoint's summary, or its refusal. */
function whole(file: Uint8Array): string {
  try {
    return summary(checkpointDecode(file, NAME, null, 'bytes'));
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * What CheckpointInWindows makes of `file` fed in windows of seeded random sizes, then its
 * table checked in other random windows: as `whole`, or what the whole read gives when it
 * asks for one (as the reader then reads it), with a word that it did.
 */
function windowed(file: Uint8Array, prng: Prng, bytesMax = 1 << 28): string {
  const windows = new CheckpointInWindows(NAME, new Uint8Array(0), bytesMax);
  for (let at = 0; ;) {
    const asked = 1 + prng.below(70_000);
    const window = file.subarray(at, at + asked);
    if (windows.feed(window) === 'whole') return `read whole: ${whole(file)}`;
    at += window.length;
    if (window.length < asked) break;
  }
  try {
    const checkpoint = windows.decode(null, 'bytes');
    const { from, end } = windows.tableRange();
    for (let at = from; at < end;) {
      const window = file.subarray(at, Math.min(end, at + ENTRY_BYTES + prng.below(100_000)));
      const checked = windows.entriesCheck(window, at);
      expect(checked % ENTRY_BYTES).toBe(0);
      expect(checked).toBeGreaterThan(0);
      at += checked;
    }
    return summary(checkpoint);
  } catch (error) {
    return (error as Error).message;
  }
}

function summary(checkpoint: JournalCheckpoint): string {
  const { lastFinals: _lastFinals, records, finals, ...rest } = checkpoint.state;
  return JSON.stringify({
    firstSeq: checkpoint.firstSeq, headHash: [...checkpoint.headHash], ...rest,
    records: records.length, finals: [...finals],
  });
}

/** `file` with its SHA-256 made again after `change` (only the bounds can then refuse it). */
function resealed(
  file: Uint8Array,
  change: (bytes: Uint8Array, view: DataView) => void,
): Uint8Array {
  const body = file.slice(0, file.length - 32);
  change(body, new DataView(body.buffer));
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

describe('checkpoint read in windows', () => {
  it('givesWhatTheWholeDecodeGives_intactDamagedAndResealed', () => {
    const file = bigCheckpoint();
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const jsonLength = view.getUint32(8, true);
    const tableFrom = 12 + jsonLength + 4;
    expect(file.length).toBe(tableFrom + CARDS * ENTRY_BYTES + 32);
    const cases: [string, Uint8Array][] = [['intact', file]];
    for (const cut of [0, 5, 11, 12, 43, 44, 200, tableFrom - 3, tableFrom + 1, tableFrom + 40_000,
      file.length - 33, file.length - 1]) {
      cases.push([`cut to ${cut}`, file.subarray(0, cut)]);
    }
    cases.push(['one byte more', Buffer.concat([file, Uint8Array.of(0)])]);
    const flips = new Prng(0xc4c4);
    for (let i = 0; i < 40; i += 1) {
      const at = i < 8 ? i * 2 : flips.below(file.length);
      const flipped = file.slice();
      flipped[at] = (flipped[at] ?? 0) ^ (1 << flips.below(8));
      cases.push([`bit flipped at ${at}`, flipped]);
    }
    const entryAt = (n: number): number => tableFrom + n * ENTRY_BYTES;
    for (const n of [0, 3276, 3277, CARDS - 1]) {
      const at = entryAt(n);
      cases.push([`entry ${n} seq 0`, resealed(file, (_, v) => v.setUint32(at + 16, 0, true))]);
      cases.push([`entry ${n} text`, resealed(file, (_, v) => v.setUint16(at + 30, 9, true))]);
      cases.push([`entry ${n} amount`, resealed(file, (_, v) => v.setFloat64(at + 32, 0.5, true))]);
    }
    cases.push(['table length odd', resealed(file, (bytes, v) => {
      v.setUint32(tableFrom - 4, CARDS * ENTRY_BYTES - 1, true);
      bytes[bytes.length - 1] = 0;
    }).subarray(0, file.length - 1)]);
    cases.push(['JSON field', resealed(file, (bytes) => {
      const text = Buffer.from(bytes.subarray(12, 12 + jsonLength)).toString('latin1');
      bytes.set(Buffer.from(text.replace('"lastSeq":20000', '"lastSeq":20001'), 'latin1'), 12);
    })]);
    const refusals = new Set<string>();
    for (const [label, bytes] of cases) {
      const expected = whole(bytes);
      for (const seed of [1, 2]) {
        // A header that is no version 2 checkpoint's is read whole, as before.
        const got = windowed(bytes, new Prng(seed)).replace(/^read whole: /, '');
        expect(got, `${label}, windows of seed ${seed}`).toBe(expected);
      }
      if (label !== 'intact') refusals.add(expected);
    }
    // Every damaged or resealed file is refused, each fault by its own words.
    expect(refusals.has(whole(file))).toBe(false);
    expect([...refusals].join('\n')).toMatch(/SHA-256 does not match/);
    expect([...refusals].join('\n')).toMatch(/length \d+ does not match the file/);
    expect([...refusals].join('\n')).toMatch(/lastFinals\[3277\]: seq 0/);
    expect([...refusals].join('\n')).toMatch(/lastFinals\[4999\]: text index/);
  });

  it('versionOneOrPastTheBound_isReadWhole', () => {
    const file = bigCheckpoint();
    expect(windowed(file, new Prng(3))).toBe(whole(file));
    expect(windowed(file, new Prng(3), 1000)).toBe(`read whole: ${whole(file)}`);
    const v1 = file.slice();
    v1[4] = 1;
    expect(windowed(v1, new Prng(3))).toMatch(/^read whole: /);
  });

  it('throughTheReader_aReadKeepingNoLastFinals_findsWhatOneKeepingThemFinds', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(8), tornModes: ['prefix'] });
    const opened = await Journal.open(sim, {
      ...journalOptions(newClock(), 1 << 22, 8192), segmentBytesMax: 16_000,
    });
    if (!opened.ok) throw new Error(opened.detail);
    const journal = opened.value.journal;
    for (let i = 0; i < 150; i += 1) {
      const key = card(i);
      const pendingSeq = journal.summary().lastSeq + 1;
      for (const entry of [
        {
          kind: 'pending' as const, recovery: recovery(key, i), fareRule: 'flat', amountMinor: 200,
        },
        { kind: 'final' as const, pendingSeq, clearing: clearing(key, i) },
      ]) {
        const appended = await journal.append(entry);
        if (!appended.ok) throw new Error(appended.detail);
      }
    }
    const files = sim.durableFiles();
    const names = [...files.keys()].filter((name) => name.endsWith('.ckpt')).sort();
    expect(names.length).toBeGreaterThan(3);
    const verdicts = (set: Map<string, Uint8Array>): (string | null)[] => [true, false].map(
      (trackLastFinals) => journalScanFiles(set, JOURNAL_FILE, false, { trackLastFinals })
        .corruption?.reason ?? null);
    expect(verdicts(files)).toEqual([null, null]);
    const name = names.at(-2) ?? '';
    const file = files.get(name) ?? new Uint8Array(0);
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const tableFrom = 12 + view.getUint32(8, true) + 4;
    for (const damaged of [
      resealed(file, (_, v) => v.setUint32(tableFrom + ENTRY_BYTES + 16, 0, true)),
      file.subarray(0, file.length - 1),
      Buffer.concat([file.subarray(0, 20), Uint8Array.of((file[20] ?? 0) ^ 4), file.subarray(21)]),
    ]) {
      const [kept, notKept] = verdicts(new Map([...files, [name, damaged]]));
      expect(notKept).not.toBeNull();
      expect(notKept).toBe(kept);
    }
  });
});
