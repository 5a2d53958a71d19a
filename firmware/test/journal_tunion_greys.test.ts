// Open T-Union grey records in the journal's state: kept across segment checkpoints and
// reopens (the validator recovers them at the card's next tap), closed by the final that
// names them or by a final of the same card and ATC (a purchase found not debited and run
// again), and the same answer from a full scan of every segment (verify) as from a reopen.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { journalRead, journalScanFiles } from '../src/app/journal/journal_reader.js';
import { JOURNAL_FILE, journalOptions, newClock, newPrng } from './journal_fixtures.js';
import { tunionEntries } from './journal_tunion_fixtures.js';

/** Small segments: every few records start a new segment with a checkpoint. */
const SEGMENT_BYTES_MAX = 2048;

async function open(sim: StorageSim): Promise<Journal> {
  const opened = await Journal.open(sim, { ...journalOptions(newClock()),
    segmentBytesMax: SEGMENT_BYTES_MAX });
  if (!opened.ok) throw new Error(opened.detail);
  return opened.value.journal;
}

async function append(journal: Journal, entries: readonly JournalEntry[]): Promise<number[]> {
  const seqs: number[] = [];
  for (const entry of entries) {
    const written = await journal.append(entry);
    if (!written.ok) throw new Error(`${entry.kind}: ${written.detail}`);
    seqs.push(written.value.seq);
  }
  return seqs;
}

/** Unrelated T-Union purchases (other cards) that fill segments. */
function filler(from: number, count: number): JournalEntry[] {
  return Array.from({ length: count }, (_, i) => tunionEntries(100 + from + i, 5, null))
    .flatMap(([grey, final]) => [grey, { ...final, greySeq: null }]);
}

describe('open T-Union grey records', () => {
  it('survive checkpoints and reopens, and close by greySeq or by card and ATC', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(9), tornModes: ['prefix'] });
    let journal = await open(sim);
    const [tornA] = tunionEntries(1, 17, null);
    const [tornB] = tunionEntries(2, 30, null);
    const [greyA, greyB] = await append(journal, [tornA, tornB]);
    await append(journal, filler(0, 12));
    journal = await open(sim);
    const names = (j: Journal): string[] => j.tunionOpenGreys()
      .map((g) => `${g.seq}:${g.entry.card.serialDigits.slice(-2)}/${g.entry.purchase.atc}`);
    // Both greys stay open (fillers' finals close only their own greys: same card and ATC).
    expect(names(journal)).toEqual([`${greyA}:01/17`, `${greyB}:02/30`]);
    const files = [...sim.durableFiles().keys()].filter((f) => f.endsWith('.ckpt'));
    expect(files.length).toBeGreaterThan(1);
    // A final naming grey A closes it; a final of card 2 with ATC 30 (greySeq of a new grey,
    // the purchase run again) settles grey B too.
    const [, finalA] = tunionEntries(1, 17, greyA ?? 0);
    const [redoGreyB, redoFinalB] = tunionEntries(2, 30, null);
    const [redoSeq] = await append(journal, [redoGreyB]);
    await append(journal, [finalA, { ...redoFinalB, greySeq: redoSeq ?? null }]);
    expect(names(journal)).toEqual([]);
    await append(journal, filler(20, 6));
    journal = await open(sim);
    expect(names(journal)).toEqual([]);
    const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
    expect(scan.corruption).toBeNull();
    expect(scan.state.tunionOpenGreys()).toEqual([]);
    // A read from each checkpoint, as an upload pass starts: verify and export keep the
    // checkpoint's open greys as bytes, a validator decodes them; both see grey B closed by
    // the redo's final (swarm seed 4, 20,000 taps: bytes lost grey B's ATC, and the next
    // checkpoint read as "differs from its records", which stopped every upload).
    const firstSeqs = [...sim.durableFiles().keys()]
      .map((name) => /-(\d+)\.ckpt$/.exec(name)?.[1])
      .filter((digits) => digits !== undefined).map(Number);
    expect(firstSeqs.filter((seq) => seq > (greyB ?? 0) && seq < (redoSeq ?? 0)).length)
      .toBeGreaterThan(0);
    for (const firstSeq of firstSeqs) {
      for (const trackLastFinals of [false, true]) {
        const read = await journalRead(sim, JOURNAL_FILE,
          { from: { afterSeq: firstSeq - 1 }, trackLastFinals, onRecord: null });
        if (!read.ok) throw new Error(read.detail);
        const where = `from seq ${firstSeq}, trackLastFinals ${trackLastFinals}`;
        expect(read.value.corruption, where).toBeNull();
        expect(read.value.state.tunionOpenGreys(), where).toEqual([]);
      }
    }
  });

  it('a full scan and a reopen agree on an open grey left behind a checkpoint', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(10), tornModes: ['prefix'] });
    const journal = await open(sim);
    const [torn] = tunionEntries(3, 44, null);
    await append(journal, [torn, ...filler(40, 10)]);
    const reopened = await open(sim);
    const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
    expect(scan.corruption).toBeNull();
    expect(scan.state.tunionOpenGreys().map((g) => g.seq)).toEqual([1]);
    expect(reopened.tunionOpenGreys().map((g) => g.seq)).toEqual([1]);
  });
});
