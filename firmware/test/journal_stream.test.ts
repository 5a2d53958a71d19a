// Windowed reads: a segment larger than the read window scans exactly as its whole image does,
// and damage on either side of a window boundary is found at the right record.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import type { StoragePort } from '../../hal/src/ports/storage_port.js';
import { Journal } from '../src/app/journal/journal.js';
import {
  FRAME_BYTES_MAX, FRAME_HEADER_BYTES, frameCheck, toHex,
} from '../src/app/journal/journal_frame.js';
import {
  READ_WINDOW_BYTES, journalRead, journalScanFiles,
} from '../src/app/journal/journal_reader.js';
import type { JournalRead } from '../src/app/journal/journal_reader.js';
import type { JournalRecord } from '../src/app/journal/journal_records.js';
import { journalScan } from '../src/app/journal/journal_scan.js';
import {
  JOURNAL_FILE, journalOptions, newClock, newPrng, randomEntries,
} from './journal_fixtures.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 11);
/** Enough records that the one segment spans several read windows. */
const RECORDS = 1200;

/** A journal of RECORDS random records in one segment of about 6 windows. */
async function bigSegment(): Promise<StorageSim> {
  const sim = new StorageSim({ totalBytes: 1 << 26, prng: newPrng(SEED), tornModes: ['prefix'] });
  const options = { ...journalOptions(newClock(), 1 << 25, 8192), segmentBytesMax: 1 << 24 };
  const opened = await Journal.open(sim, options);
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of randomEntries(newPrng(SEED), RECORDS)) {
    const appended = await opened.value.journal.append(entry);
    if (!appended.ok) throw new Error(`seed ${SEED}: ${appended.detail}`);
  }
  return sim;
}

/** Offsets of the frames in an image, by the frame codec alone. */
function frameOffsets(image: Uint8Array): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (;;) {
    const checked = frameCheck(image, offset);
    if (!checked.ok) return offsets;
    offsets.push(offset);
    offset += checked.frame.frameBytes;
  }
}

async function readAll(
  port: StoragePort,
): Promise<{ read: JournalRead; records: JournalRecord[] }> {
  const records: JournalRecord[] = [];
  const read = await journalRead(port, JOURNAL_FILE, {
    from: 'oldest', trackLastFinals: true, onRecord: (record) => records.push(record),
  });
  if (!read.ok) throw new Error(read.detail);
  return { read: read.value, records };
}

/** The same medium through a port without readAt (read whole, the fallback). */
function wholeReadsOnly(sim: StorageSim): StoragePort {
  return {
    read: (name) => sim.read(name),
    append: (name, bytes) => sim.append(name, bytes),
    replace: (name, bytes) => sim.replace(name, bytes),
    sync: (name) => sim.sync(name),
    truncate: (name, length) => sim.truncate(name, length),
    list: () => sim.list(),
    size: (name) => sim.size(name),
    remove: (name) => sim.remove(name),
    capacity: () => sim.capacity(),
  };
}

describe(`journal windowed reads (SHUAKA_SEED=${SEED})`, () => {
  it('aSegmentOfManyWindows_readsAsItsWholeImage_throughEveryPort', async () => {
    const sim = await bigSegment();
    const image = sim.durableBytes(JOURNAL_FILE);
    expect(image.length).toBeGreaterThan(4 * READ_WINDOW_BYTES);
    const whole = journalScan(image, JOURNAL_FILE, true);
    expect(whole.corruption).toBeNull();
    expect(whole.records).toHaveLength(RECORDS);
    expect(frameOffsets(image)).toHaveLength(RECORDS);
    for (const port of [sim, wholeReadsOnly(sim)]) {
      const { read, records } = await readAll(port);
      expect(read.corruption).toBeNull();
      expect(read.tornTail).toBeNull();
      expect(read.validBytes).toBe(image.length);
      expect(toHex(read.headHash)).toBe(toHex(whole.headHash));
      expect(records).toEqual(whole.records);
      expect(read.state.continuityKey()).toBe(whole.state.continuityKey());
    }
    const files = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
    expect(files.records).toEqual(whole.records);
  });

  it('aFlippedBitInAFrameAcrossAWindowBoundary_isCorruptAtThatRecord', async () => {
    const sim = await bigSegment();
    const image = sim.durableBytes(JOURNAL_FILE);
    const offsets = frameOffsets(image);
    // The frames that straddle a window boundary, and the last one (the newest record).
    const straddling = offsets
      .map((offset, index) => ({ offset, index }))
      .filter(({ offset, index }) => {
        const end = offsets[index + 1] ?? image.length;
        return Math.floor(offset / READ_WINDOW_BYTES) !== Math.floor((end - 1) / READ_WINDOW_BYTES);
      });
    expect(straddling.length).toBeGreaterThan(2);
    const last = { offset: offsets.at(-1) ?? 0, index: offsets.length - 1 };
    for (const { offset, index } of [...straddling, last]) {
      const at = offset + FRAME_HEADER_BYTES + 3;
      const original = image[at] ?? 0;
      sim.corruptByte(JOURNAL_FILE, at, original ^ 0x10);
      const { read } = await readAll(sim);
      expect(read.corruption).toMatchObject({ file: JOURNAL_FILE, offset, seqExpected: index + 1 });
      expect(read.corruption?.reason).toMatch(/record CRC fails/);
      expect(read.tornTail).toBeNull();
      sim.corruptByte(JOURNAL_FILE, at, original);
    }
  });

  it('zerosAtTheEnd_areTornUpToOneFrame_wipedRecordsBeyond_andAnyOtherByteIsCorrupt', async () => {
    const sim = await bigSegment();
    const validBytes = sim.durableBytes(JOURNAL_FILE).length;
    // The one append a power cut interrupts: at most a frame of zeros.
    await sim.append(JOURNAL_FILE, new Uint8Array(FRAME_BYTES_MAX));
    await sim.sync(JOURNAL_FILE);
    const torn = (await readAll(sim)).read;
    expect(torn.corruption).toBeNull();
    expect(torn.tornTail).toEqual({
      file: JOURNAL_FILE, offset: validBytes, bytes: FRAME_BYTES_MAX, defect: 'zeros',
    });
    expect(torn.validBytes).toBe(validBytes);
    // Longer than a window (read window by window): more zeros than one append writes are
    // records that were synced and wiped, never cut.
    const tailBytes = 2 * READ_WINDOW_BYTES + 77;
    await sim.append(JOURNAL_FILE, new Uint8Array(tailBytes - FRAME_BYTES_MAX));
    await sim.sync(JOURNAL_FILE);
    const wiped = (await readAll(sim)).read;
    expect(wiped.tornTail).toBeNull();
    expect(wiped.corruption).toMatchObject({ offset: validBytes, seqExpected: RECORDS + 1 });
    expect(wiped.corruption?.reason).toBe(`${tailBytes} zero bytes at the end, more than one `
      + `record can be (${FRAME_BYTES_MAX}): records that were written are gone`);
    // One non-zero byte at the very end, two windows away: bytes that are no record.
    sim.corruptByte(JOURNAL_FILE, validBytes + tailBytes - 1, 0x5a);
    const garbage = (await readAll(sim)).read;
    expect(garbage.tornTail).toBeNull();
    expect(garbage.corruption).toMatchObject({ offset: validBytes, seqExpected: RECORDS + 1 });
    expect(garbage.corruption?.reason)
      .toBe(`${tailBytes} bytes that are no record (magic) at the end`);
  });
});
