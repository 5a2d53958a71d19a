// A journal started after seq N (`shuaka journal init`): read as a journal that reclaimed
// everything through N, the validator appends N + 1, and a power cut at any write point of
// the start or of the first appends leaves no journal or a whole one.

import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import type { TornMode } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import { checkpointDecode } from '../src/app/journal/journal_checkpoint.js';
import { toHex } from '../src/app/journal/journal_frame.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import { JOURNAL_KINDS, SEQ_MAX } from '../src/app/journal/journal_records.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import {
  journalStart, journalStartCheckpoint, journalStartHash,
} from '../src/app/journal/journal_start.js';
import {
  JOURNAL_FILE, card, clearing, journalOptions, newClock, newPrng, recovery,
} from './journal_fixtures.js';

const TORN_MODES: readonly TornMode[] = ['prefix', 'garbage', 'zeros'];
const AFTER = 5000;

function newSim(seed: number, tornModes: readonly TornMode[] = TORN_MODES): StorageSim {
  return new StorageSim({ totalBytes: 1 << 22, prng: newPrng(seed), tornModes });
}

/** A tap approved and its upload acknowledged: seqs AFTER + 1..3 in a journal after AFTER. */
function tapAfter(after: number): JournalEntry[] {
  const a = card(7);
  return [
    { kind: 'pending', recovery: recovery(a, 70), fareRule: 'flat', amountMinor: 200 },
    { kind: 'final', pendingSeq: after + 1, clearing: clearing(a, 70) },
    { kind: 'ack', throughSeq: after + 2 },
  ];
}

async function openOn(sim: StorageSim): Promise<Journal> {
  const opened = await Journal.open(sim, journalOptions(newClock()));
  if (!opened.ok) throw new Error(`${opened.error} ${opened.detail}`);
  return opened.value.journal;
}

describe('a journal started after a seq', () => {
  it('startCheckpoint_holdsSeqN_ackN_nothingElse_andTheDocumentedHash', () => {
    const { name, bytes } = journalStartCheckpoint(JOURNAL_FILE, AFTER);
    expect(name).toBe('journal-0000005001.ckpt');
    const decoded = checkpointDecode(bytes, name);
    expect(decoded.firstSeq).toBe(AFTER + 1);
    const label = createHash('sha256').update('shuaka journal init after seq 5000').digest('hex');
    expect(toHex(decoded.headHash).toLowerCase()).toBe(label);
    expect(toHex(journalStartHash(AFTER)).toLowerCase()).toBe(label);
    expect(decoded.state.lastSeq).toBe(AFTER);
    expect(decoded.state.ackThroughSeq).toBe(AFTER);
    expect(JOURNAL_KINDS.map((kind) => decoded.state.countsByKind[kind])).toEqual(
      JOURNAL_KINDS.map(() => 0));
    expect(decoded.state.records).toHaveLength(0);
    expect([...decoded.state.finals]).toEqual([]);
    expect([...decoded.state.lastFinals]).toEqual([]);
    // Out of range: 0 is an empty directory, and N + 1 must still be a seq.
    expect(() => journalStartCheckpoint(JOURNAL_FILE, 0)).toThrow(RangeError);
    expect(() => journalStartCheckpoint(JOURNAL_FILE, SEQ_MAX)).toThrow(RangeError);
    expect(() => journalStartCheckpoint(JOURNAL_FILE, 1.5)).toThrow(RangeError);
  });

  it('theValidatorAppendsNPlus1_andVerifyReadsTheRecordsAfterTheCheckpoint', async () => {
    const sim = newSim(1);
    const started = await journalStart(sim, JOURNAL_FILE, AFTER);
    expect(started).toEqual({ ok: true, written: 'journal-0000005001.ckpt' });
    const journal = await openOn(sim);
    const before = journal.summary();
    expect([before.lastSeq, before.ackThroughSeq, before.segmentCount]).toEqual([AFTER, AFTER, 1]);
    expect(journal.holdsCardData()).toBe(false);
    const seqs: number[] = [];
    for (const entry of tapAfter(AFTER)) {
      const appended = await journal.append(entry);
      if (!appended.ok) throw new Error(appended.detail);
      seqs.push(appended.value.seq);
    }
    expect(seqs).toEqual([5001, 5002, 5003]);
    expect(journal.holdsCardData()).toBe(true);
    expect(sim.durableNames()).toEqual(['journal-0000005001.bin', 'journal-0000005001.ckpt']);
    // Read from the oldest checkpoint, as verify and export do.
    const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
    expect(scan.corruption).toBeNull();
    expect(scan.records.map((r) => r.seq)).toEqual([5001, 5002, 5003]);
    expect(scan.state.ackThroughSeq).toBe(5002);
    expect(scan.state.countsByKind.final).toBe(1);
    // A restart reads the same.
    expect((await openOn(sim)).summary().lastSeq).toBe(5003);
  });

  it('afterTheLastSeqButOne_theFirstRecordIsSeqMax', async () => {
    const sim = newSim(2);
    expect((await journalStart(sim, JOURNAL_FILE, SEQ_MAX - 1)).ok).toBe(true);
    const appended = await (await openOn(sim)).append(tapAfter(SEQ_MAX - 1)[0] as JournalEntry);
    if (!appended.ok) throw new Error(appended.detail);
    expect(appended.value.seq).toBe(SEQ_MAX);
    expect(journalScanFiles(sim.durableFiles(), JOURNAL_FILE, false).corruption).toBeNull();
  });

  it('isRefusedOnAnyJournalFile_changingNothing_andIgnoresQuarantineKeyAndLock', async () => {
    const segmentWithoutCheckpoint = 'journal-0000000100.bin';
    for (const existing of ['journal.bin', 'journal-0000000100.ckpt', segmentWithoutCheckpoint]) {
      const sim = newSim(3);
      expect((await sim.replace(existing, Uint8Array.of(1, 2, 3))).ok).toBe(true);
      const files = sim.durableFiles();
      const refused = await journalStart(sim, JOURNAL_FILE, AFTER);
      expect(refused, existing).toEqual({
        ok: false, why: 'exists', detail: `holds a journal already (${existing})`,
      });
      expect(sim.durableFiles(), existing).toEqual(files);
    }
    const sim = newSim(4);
    for (const other of ['quarantine-journal.bin', 'data.key', 'journal.lock']) {
      expect((await sim.replace(other, Uint8Array.of(9))).ok).toBe(true);
    }
    expect((await journalStart(sim, JOURNAL_FILE, AFTER)).ok).toBe(true);
    expect((await openOn(sim)).summary().lastSeq).toBe(AFTER);
    // After 0: nothing to write, an empty medium is a new journal.
    const empty = newSim(5);
    expect(await journalStart(empty, JOURNAL_FILE, 0)).toEqual({ ok: true, written: null });
    expect(empty.durableNames()).toEqual([]);
  });

  it('cutAtEveryWritePointOfStartAndFirstTap_leavesNoJournalOrAWholeOne', async () => {
    const entries = tapAfter(AFTER);
    const dry = newSim(0);
    await journalStart(dry, JOURNAL_FILE, AFTER);
    const dryJournal = await openOn(dry);
    for (const entry of entries) expect((await dryJournal.append(entry)).ok).toBe(true);
    // One replace, then an append and a sync per record.
    const writePoints = dry.writePoints();
    expect(writePoints).toBe(1 + 2 * entries.length);
    const startOutcomes = new Set<string>();
    for (let cut = 1; cut <= writePoints; cut += 1) {
      for (let seed = 0; seed < 6; seed += 1) {
        const label = `cut at write point ${cut}, seed ${seed}`;
        const sim = newSim(cut * 100 + seed, [TORN_MODES[seed % 3] ?? 'prefix']);
        sim.armPowerCut(cut);
        const started = await journalStart(sim, JOURNAL_FILE, AFTER);
        let acknowledged = 0;
        if (started.ok) {
          const journal = await openOn(sim);
          for (const entry of entries) {
            if (!(await journal.append(entry)).ok) break;
            acknowledged += 1;
          }
        }
        sim.restart();
        if (!started.ok) {
          // The start was cut: its checkpoint is whole or absent, and absent starts again.
          const names = sim.durableNames();
          startOutcomes.add(names.length === 0 ? 'absent' : 'whole');
          if (names.length === 0) {
            expect((await journalStart(sim, JOURNAL_FILE, AFTER)).ok, label).toBe(true);
          }
        }
        const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
        expect(scan.corruption, label).toBeNull();
        const journal = await openOn(sim);
        const lastSeq = journal.summary().lastSeq;
        expect(lastSeq, label).toBeGreaterThanOrEqual(AFTER + acknowledged);
        expect(lastSeq, label).toBeLessThanOrEqual(AFTER + acknowledged + 1);
        const reread = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
        expect(reread.records.map((r) => r.seq), label).toEqual(
          Array.from({ length: lastSeq - AFTER }, (_, i) => AFTER + 1 + i));
        expect(reread.tornTail, label).toBeNull();
      }
    }
    expect([...startOutcomes].sort()).toEqual(['absent', 'whole']);
  });
});
