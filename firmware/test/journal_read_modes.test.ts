// The journal read two ways, from every checkpoint: as a validator reads it (records decoded)
// and as verify, export and an upload pass read it (a checkpoint's open records kept as
// bytes, their facts read in place). Both must find the journal sound and the same state, on
// random mixes of qPBOC taps and T-Union purchases (greys closed by name, by a re-run of the
// same card and ATC, or left open) cut into small segments. Swarm seed 4 with --taps 20000
// found the two ways apart on an open grey: the bytes lost its ATC.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import type { Prng } from '../../host-sim/src/prng.js';
import { Journal } from '../src/app/journal/journal.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { journalRead } from '../src/app/journal/journal_reader.js';
import { testSeed } from '../../host-sim/test/sim/support/sim_ride.js';
import {
  JOURNAL_FILE, card, clearing, journalOptions, newClock, newPrng, recovery, torn,
} from './journal_fixtures.js';
import { tunionEntries } from './journal_tunion_fixtures.js';

const SEGMENT_BYTES_MAX = 3000;

/** What a read is compared on: the rules' state key, the open greys and uncertain taps. */
function stateOf(state: Awaited<ReturnType<typeof readAs>>['state']): string {
  return JSON.stringify([state.continuityKey(), state.tunionGreySeqs(),
    state.uncertainAll().map((u) => u.seq)]);
}

async function readAs(sim: StorageSim, afterSeq: number | 'oldest', trackLastFinals: boolean) {
  const from = afterSeq === 'oldest' ? afterSeq : { afterSeq };
  const read = await journalRead(sim, JOURNAL_FILE, { from, trackLastFinals, onRecord: null });
  if (!read.ok) throw new Error(read.detail);
  return read.value;
}

/** `count` random steps: open and close taps and greys, now and then an ack (a reclaim). */
async function appendRandom(journal: Journal, prng: Prng, count: number): Promise<void> {
  const pendings: { seq: number; n: number; atc: number }[] = [];
  const greys: { seq: number; n: number; atc: number }[] = [];
  let lastSeq = 0;
  let ack = 0;
  const append = async (entry: JournalEntry): Promise<number> => {
    const written = await journal.append(entry);
    if (!written.ok) throw new Error(`${entry.kind}: ${written.detail}`);
    lastSeq = written.value.seq;
    return lastSeq;
  };
  for (let i = 0; i < count; i += 1) {
    const roll = prng.below(100);
    const n = 1 + prng.below(6);
    const atc = 1 + prng.below(4);
    if (roll < 25) {
      const pending: JournalEntry = {
        kind: 'pending', recovery: recovery(card(n), atc), fareRule: 'flat', amountMinor: 200,
      };
      pendings.push({ seq: await append(pending), n, atc });
    } else if (roll < 40 && pendings.length > 0) {
      const tap = pendings.splice(prng.below(pendings.length), 1)[0]!;
      const close = prng.below(3);
      if (close === 0) {
        await append({ kind: 'final', pendingSeq: tap.seq,
          clearing: clearing(card(tap.n), tap.atc) });
        // A final settles every open tap of its card and ATC (journal_state.ts).
        for (let p = pendings.length - 1; p >= 0; p -= 1) {
          if (pendings[p]?.n === tap.n && pendings[p]?.atc === tap.atc) pendings.splice(p, 1);
        }
      } else if (close === 1) {
        await append({ kind: 'declined', pendingSeq: tap.seq, card: card(tap.n),
          reason: 'expired' });
      } else {
        await append(torn(tap.seq, card(tap.n), tap.atc));
      }
    } else if (roll < 65) {
      const [grey] = tunionEntries(n, atc, null);
      greys.push({ seq: await append(grey), n, atc });
    } else if (roll < 90 && greys.length > 0) {
      const grey = greys.splice(prng.below(greys.length), 1)[0]!;
      const [redoGrey, final] = tunionEntries(grey.n, grey.atc, null);
      if (prng.chance(0.5)) {
        // Its own final, naming it.
        await append({ ...final, greySeq: grey.seq });
      } else {
        // Found not debited, run again: the re-run's final settles every grey of card and ATC.
        const redo = await append(redoGrey);
        await append({ ...final, greySeq: redo });
        for (let g = greys.length - 1; g >= 0; g -= 1) {
          if (greys[g]?.n === grey.n && greys[g]?.atc === grey.atc) greys.splice(g, 1);
        }
      }
    } else if (roll >= 97 && lastSeq > ack + 1) {
      ack += 1 + prng.below(lastSeq - ack - 1);
      await append({ kind: 'ack', throughSeq: ack });
    }
  }
}

describe('journal read modes', () => {
  for (const base of [1, 2, 3]) {
    it(`fromEveryCheckpoint_decodedAndBytes_agreeAndFindNoDamage (seed ${base})`, async () => {
      const seed = testSeed(base);
      const prng = newPrng(seed);
      const sim = new StorageSim({ totalBytes: 1 << 24, prng, tornModes: ['prefix'] });
      const opened = await Journal.open(sim, { ...journalOptions(newClock(), 1 << 23),
        segmentBytesMax: SEGMENT_BYTES_MAX });
      if (!opened.ok) throw new Error(opened.detail);
      const journal = opened.value.journal;
      await appendRandom(journal, prng, 600);
      const firstSeqs = [...sim.durableFiles().keys()]
        .map((name) => /-(\d+)\.ckpt$/.exec(name)?.[1])
        .filter((digits) => digits !== undefined).map(Number);
      expect(firstSeqs.length, `seed ${seed}`).toBeGreaterThan(20);
      const live = journal.tunionOpenGreys().map((g) => g.seq);
      for (const from of ['oldest' as const, ...firstSeqs.map((seq) => seq - 1)]) {
        const where = `seed ${seed}, from ${from}`;
        const decoded = await readAs(sim, from, true);
        const bytes = await readAs(sim, from, false);
        expect(decoded.corruption, where).toBeNull();
        expect(bytes.corruption, where).toBeNull();
        expect(stateOf(bytes.state), where).toBe(stateOf(decoded.state));
        expect(bytes.state.tunionGreySeqs(), where).toEqual(live);
      }
    });
  }
});
