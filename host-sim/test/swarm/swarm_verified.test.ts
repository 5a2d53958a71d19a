// A swarm scan that goes on from what the scan before it verified (swarm_verified.ts) must give
// what a full scan from the oldest segment gives, after appends, acks and reclaims, power cuts
// (torn tails), a flipped bit in an older segment and a checkpoint written again.

import { describe, expect, it } from 'vitest';

import { Journal, JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalUnits } from '../../../firmware/src/app/journal/journal_files.js';
import {
  journalEntryNormalise,
  type JournalEntry,
} from '../../../firmware/src/app/journal/journal_records.js';
import { PanVault } from '../../../firmware/src/app/journal/pan_vault.js';
import { Prng } from '../../src/prng.js';
import {
  journalDurableFiles,
  journalScanDurable,
  SwarmRecordMemo,
  type SwarmJournalScan,
} from '../../src/swarm/swarm_journal.js';
import { testSeed } from '../sim/support/sim_ride.js';
import { swarmTestEntry, swarmTestMedium } from './support/swarm_entry.js';

const VAULT = PanVault.fromKey(new Uint8Array(32).fill(9), (n) => new Prng(n).bytes(n));

/** A pending record of card `n` (normalised), or the final that closes `pendingSeq`. */
function entry(n: number, atc: number, pendingSeq: number | null): JournalEntry {
  const made = swarmTestEntry(VAULT, n, atc, pendingSeq);
  return made.kind === 'pending' ? journalEntryNormalise(made, 'test') : made;
}

/** Everything a checker reads of a scan. */
function seen(scan: SwarmJournalScan): unknown {
  return {
    records: scan.records.map((r) => [r.seq, r.kind, r.payload, r.debit]),
    payloadBySeq: [...scan.payloadBySeq],
    corruption: scan.corruption, tornTail: scan.tornTail, firstSeq: scan.firstSeq,
    ackThroughSeq: scan.ackThroughSeq, newest: scan.newest,
  };
}

describe('journalScanDurable going on from the last verified scan', () => {
  it('equalsAFullScan_afterAppendsReclaimsCutsFlippedBitsAndRewrittenCheckpoints', async () => {
    const seed = testSeed(11);
    const prng = new Prng(seed);
    const { storage, options } = swarmTestMedium(prng);
    const memo = new SwarmRecordMemo();
    const counts = { resumed: 0, full: 0, torn: 0, flipped: 0, rewritten: 0, reclaimed: 0 };
    const compare = (): SwarmJournalScan => {
      const files = journalDurableFiles(storage);
      const units = journalUnits(JOURNAL_FILE_NAME, [...files.keys()]);
      if (memo.verified.prefixOf(units, files) === null) counts.full += 1;
      else counts.resumed += 1;
      const going = journalScanDurable(storage, files, memo);
      const full = journalScanDurable(storage, journalDurableFiles(storage));
      expect(seen(going), `seed ${seed}`).toEqual(seen(full));
      return going;
    };
    /** Changes one durable byte of `name`, scans, puts it back and scans again. */
    const damage = (name: string, at: number): string | null => {
      const byte = storage.durableBytes(name)[at] ?? 0;
      storage.corruptByte(name, at, byte ^ (1 << prng.below(8)));
      const corruption = compare().corruption;
      storage.corruptByte(name, at, byte);
      compare();
      return corruption;
    };
    let opened = await Journal.open(storage, options);
    let pending: number | null = null;
    for (let step = 0; step < 500; step += 1) {
      if (!opened.ok) throw new Error(`seed ${seed}: ${opened.detail}`);
      const journal = opened.value.journal;
      const roll = prng.below(100);
      if (roll < 5) storage.armPowerCut(1 + prng.below(3));
      const summary = journal.summary();
      if (roll >= 85 && pending === null && summary.lastSeq > summary.ackThroughSeq) {
        await journal.append({ kind: 'ack', throughSeq: summary.lastSeq });
      } else {
        const appended = await journal.append(entry(step % 7, step, pending));
        pending = appended.ok && pending === null ? appended.value.seq : null;
      }
      if (storage.isDown()) {
        // The medium as the cut left it (a torn tail, maybe), then as the reboot mends it.
        if (compare().tornTail) counts.torn += 1;
        pending = null;
        storage.restart();
        compare();
        opened = await Journal.open(storage, options);
      }
      const scan = compare();
      if (scan.firstSeq > 1) counts.reclaimed = scan.firstSeq - 1;
      const units = journalUnits(JOURNAL_FILE_NAME, storage.durableNames())
        .filter((unit) => unit.segmentExists);
      const older = units[prng.below(Math.max(1, units.length - 1))];
      if (roll >= 96 && units.length > 1 && older !== undefined) {
        // A flipped bit in a segment the last scan verified is found, named.
        const bytes = storage.durableBytes(older.segment).length;
        const corruption = damage(older.segment, prng.below(bytes));
        expect(corruption, `seed ${seed}`).toContain(older.segment);
        counts.flipped += 1;
      } else if (roll >= 92 && older?.checkpoint != null && older.checkpointExists) {
        // A checkpoint written again with another byte: read again, never taken as verified.
        const bytes = storage.durableBytes(older.checkpoint).length;
        expect(damage(older.checkpoint, prng.below(bytes)), `seed ${seed}`).not.toBeNull();
        counts.rewritten += 1;
      }
    }
    expect(counts.resumed, `seed ${seed}`).toBeGreaterThan(counts.full);
    expect(counts.torn, `seed ${seed}`).toBeGreaterThan(3);
    expect(counts.flipped, `seed ${seed}`).toBeGreaterThan(3);
    expect(counts.rewritten, `seed ${seed}`).toBeGreaterThan(3);
    expect(counts.reclaimed, `seed ${seed}`).toBeGreaterThan(100);
  });
});
