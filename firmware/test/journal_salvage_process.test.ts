// `shuaka journal export --salvage` as a real subprocess on damaged journals: the truth is the
// export of the same journal before the damage, minus the records the damage hit. Each time
// `journal verify` still says CORRUPT and no file on disk changed.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdir, mkdtemp, readFile, readdir, rename, rm, truncate, writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { JOURNAL_FILE_NAME, Journal } from '../src/app/journal/journal.js';
import { CHAIN_GENESIS_HASH, frameCheck, frameEncode } from '../src/app/journal/journal_frame.js';
import { PayloadFacts, payloadFastCheck } from '../src/app/journal/journal_payload_fast.js';
import { journalKindOfCode, journalPayloadDecode } from '../src/app/journal/journal_records.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { DATA_KEY_FILE_NAME } from '../src/app/journal/pan_vault_file.js';
import {
  FIXTURE_DATA_KEY, card, clearing, journalOptions, newClock, newPrng, panOf, recovery,
  scriptedEntries, torn, writeJournalDir,
} from './journal_fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');

let parent = '';

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'shuaka-salvage-'));
  spawnSync(process.execPath, [BIN, 'journal', '--help'], { cwd: ROOT, encoding: 'utf8' });
}, 300_000);

afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

function shuaka(args: string[]): { code: number | null; out: string; err: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

/** Every kind (scripted taps, an ack, an open pending), then 60 finals without a pending. */
function entries(): JournalEntry[] {
  const finals: JournalEntry[] = Array.from({ length: 60 }, (_, i) => ({
    kind: 'final', pendingSeq: null, clearing: clearing(card(100 + i), 0x100 + i),
  }));
  return [...scriptedEntries(), ...finals];
}

/** A journal of several segments (and checkpoints) in `parent/name`. */
async function writeSegmented(name: string, list = entries()): Promise<string> {
  const dir = join(parent, name);
  await appendTo(dir, list);
  await writeFile(join(dir, DATA_KEY_FILE_NAME), FIXTURE_DATA_KEY, { mode: 0o600 });
  return dir;
}

/** Appends `list` to the journal in `dir` (a new one when `dir` holds none), as a validator. */
async function appendTo(dir: string, list: readonly JournalEntry[]): Promise<void> {
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const options = {
    ...journalOptions(newClock(), 1 << 22), fileName: JOURNAL_FILE_NAME, segmentBytesMax: 16_000,
  };
  const opened = await Journal.open(storage.value, options);
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of list) {
    const appended = await opened.value.journal.append(entry);
    if (!appended.ok) throw new Error(appended.detail);
  }
  await storage.value.close();
}

/** Seqs of closingEntries() that close a tap, or move the ack, after the first ack. */
const CLOSE = { ack: 21, final: 23, declined: 25, torn: 27, reconciled: 30 } as const;

/**
 * `head`: the scripted taps (1..13: the ack through 10 is 11, pending 13 stays open) and 7
 * finals (14..20). `tail`: an ack through 20 (21), a tap closed each way after it (22 pending
 * and 23 final, 24 and 25 declined, 26 and 27 torn, 28 and 29 torn and 30 reconciled), and 60
 * finals, so the closes sit mid-segment in a journal of several.
 */
function closingEntries(): { head: JournalEntry[]; tail: JournalEntry[] } {
  const finals = (from: number, count: number): JournalEntry[] => Array.from(
    { length: count },
    (_, i) => ({ kind: 'final', pendingSeq: null, clearing: clearing(card(from + i), from + i) }),
  );
  const pending = (n: number): JournalEntry => ({
    kind: 'pending', recovery: recovery(card(n), n), fareRule: 'flat', amountMinor: 200,
  });
  const tail: JournalEntry[] = [
    { kind: 'ack', throughSeq: 20 }, // 21
    pending(300), // 22
    { kind: 'final', pendingSeq: 22, clearing: clearing(card(300), 300) }, // 23
    pending(301), // 24
    { kind: 'declined', pendingSeq: 24, card: card(301), reason: 'fDDA failed' }, // 25
    pending(302), // 26
    torn(26, card(302), 302), // 27
    pending(303), // 28
    torn(28, card(303), 303), // 29
    { kind: 'reconciled', targetSeq: 29, outcome: 'not_debited', finalSeq: null, note: 'ATC' },
    ...finals(400, 60),
  ];
  return { head: [...scriptedEntries(), ...finals(200, 7)], tail };
}

/** The frames of a segment image: offset, length and seq of each. */
function framesOf(bytes: Uint8Array): { offset: number; bytes: number; seq: number }[] {
  const frames = [];
  for (let at = 0; at < bytes.length;) {
    const checked = frameCheck(bytes, at);
    if (!checked.ok) throw new Error(`fixture frame at ${at}: ${checked.defect}`);
    frames.push({ offset: at, bytes: checked.frame.frameBytes, seq: checked.frame.seq });
    at += checked.frame.frameBytes;
  }
  return frames;
}

/** The segment files, oldest first (journal.bin holds seq 1 on). */
async function segments(dir: string): Promise<string[]> {
  const firstSeq = (name: string): number => Number(/-(\d{10})\./.exec(name)?.[1] ?? 1);
  return (await readdir(dir)).filter((name) => /^journal(-\d{10})?\.bin$/.test(name))
    .sort((a, b) => firstSeq(a) - firstSeq(b));
}

/** SHA-256 of every file of `dir`, by name. */
async function hashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    out.set(name, createHash('sha256').update(await readFile(join(dir, name))).digest('hex'));
  }
  return out;
}

/** The export of the intact journal: its lines. */
async function truthOf(dir: string): Promise<string[]> {
  const out = `${dir}.truth.jsonl`;
  const exported = shuaka(['journal', 'export', '--journal', dir, '--out', out]);
  expect(exported.code, exported.err).toBe(0);
  return (await readFile(out, 'utf8')).split('\n').filter((line) => line !== '');
}

/**
 * Salvages the damaged `dir`: verify says CORRUPT, the salvage exits 3, no file changed.
 * Resolves with the salvaged lines and the report.
 */
async function salvage(dir: string): Promise<{ lines: string[]; report: string }> {
  const before = await hashes(dir);
  const verified = shuaka(['journal', 'verify', '--journal', dir]);
  expect(verified.code, verified.out + verified.err).toBe(3);
  expect(verified.out).toMatch(/: CORRUPT/);
  const out = join(parent, `${dir.split('/').pop() ?? ''}.salvaged.jsonl`);
  const salvaged = shuaka(['journal', 'export', '--salvage', '--journal', dir, '--out', out]);
  expect(salvaged.code, salvaged.err).toBe(3);
  expect(shuaka(['journal', 'verify', '--journal', dir]).code).toBe(3);
  expect(await hashes(dir)).toEqual(before);
  const lines = (await readFile(out, 'utf8')).split('\n').filter((line) => line !== '');
  return { lines, report: salvaged.err };
}

/** The segment holding record `seq` and its frame. */
async function frameOfSeq(dir: string, seq: number)
  : Promise<{ file: string; offset: number; bytes: number; seq: number }> {
  for (const file of await segments(dir)) {
    const frame = framesOf(await readFile(join(dir, file))).find((f) => f.seq === seq);
    if (frame !== undefined) return { file, ...frame };
  }
  throw new Error(`fixture: no record ${seq}`);
}

/**
 * The closing journal in `parent/name`, its intact export, then the salvage once a bit of
 * record `seq` is flipped (its record CRC fails). `previous`: the export taken before the
 * tail was written, the upload the depot holds already.
 */
async function salvageLosing(name: string, seq: number): Promise<{
  truth: string[]; previous: string[]; lines: string[]; report: string;
}> {
  const { head, tail } = closingEntries();
  const dir = await writeSegmented(name, head);
  const previous = await truthOf(dir);
  await appendTo(dir, tail);
  const truth = await truthOf(dir);
  const hit = await frameOfSeq(dir, seq);
  await flipBit(join(dir, hit.file), hit.offset + hit.bytes - 2);
  const { lines, report } = await salvage(dir);
  expect(report).toContain(`damaged: ${hit.file} bytes ${hit.offset}..${hit.offset + hit.bytes}`
    + ` (${hit.bytes} bytes), after seq ${seq - 1}, before seq ${seq + 1}: record CRC fails`);
  return { truth, previous, lines, report };
}

/** The line of record `seq` among `lines`, parsed. */
function lineOf(lines: readonly string[], seq: number): Record<string, unknown> {
  const found = lines.find((line) => (JSON.parse(line) as { seq: number }).seq === seq);
  if (found === undefined) throw new Error(`no line for seq ${seq}`);
  return JSON.parse(found) as Record<string, unknown>;
}

/** What a `pending_open` line of the closing fixture's pending of card `n` must say. */
function expectPendingOpen(line: Record<string, unknown>, seq: number, n: number): void {
  expect(line).toMatchObject({
    type: 'pending_open', seq, pan: panOf(n), fareRule: 'flat', amountMinor: 200,
    recovery: { atc: n, amountAuthorisedMinor: 200 },
  });
}

/**
 * The report naming the taps exported as still open that a lost record may have closed:
 * exactly `taps` ([seq, type]), in seq order.
 */
function openBeforeDamage(...taps: [number, string][]): RegExp {
  const one = taps.length === 1;
  const them = one ? 'it' : 'them';
  return new RegExp(`\\n${taps.length} taps? exported as still open ${one ? 'was' : 'were'} `
    + 'read before a damaged range: a final, declined, torn or reconciled record lost there '
    + `may have closed ${them}\\. The depot holds ${them} for reconciliation.*:\\n`
    + taps.map(([seq, type]) => `  seq ${seq} ${type} \\S+ psn \\S+ atc \\d+ amount \\d+ `
      + 'at \\S+\\n').join('')
    + '[^ ]');
}

function without(lines: readonly string[], seqs: readonly number[]): string[] {
  return lines.filter((line) => !seqs.includes((JSON.parse(line) as { seq: number }).seq));
}

async function flipBit(path: string, index: number): Promise<void> {
  const image = await readFile(path);
  image[index] = (image[index] ?? 0) ^ 0x10;
  await writeFile(path, image);
}

describe('shuaka journal export --salvage (process)', () => {
  it('onAnIntactJournal_writesTheExport_exit0', async () => {
    const dir = await writeSegmented('intact');
    expect((await segments(dir)).length).toBeGreaterThan(2);
    const truth = await truthOf(dir);
    const out = join(parent, 'intact.salvaged.jsonl');
    const run = shuaka(['journal', 'export', '--journal', dir, '--salvage', '--out', out]);
    expect(run.code, run.err).toBe(0);
    expect((await readFile(out, 'utf8')).split('\n').filter((l) => l !== '')).toEqual(truth);
  }, 300_000);

  it('oneBitInARecordMidSegment_exportsAllButThatRecord_andNamesTheRange', async () => {
    const dir = await writeSegmented('mid');
    const truth = await truthOf(dir);
    const file = (await segments(dir))[1] ?? '';
    const frames = framesOf(await readFile(join(dir, file)));
    const hit = frames[Math.floor(frames.length / 2)];
    if (hit === undefined) throw new Error('fixture');
    await flipBit(join(dir, file), hit.offset + 100);
    const { lines, report } = await salvage(dir);
    expect(lines).toEqual(without(truth, [hit.seq]));
    expect(lines.length).toBe(truth.length - 1);
    expect(report).toContain(`damaged: ${file} bytes ${hit.offset}..${hit.offset + hit.bytes}`
      + ` (${hit.bytes} bytes), after seq ${hit.seq - 1}, before seq ${hit.seq + 1}:`
      + ' record CRC fails');
    expect(report).toMatch(/salvaged \d+ records past 1 damaged range:/);
    // Pending 13 (left open by a power cut) was read before the lost record, which the
    // salvage cannot tell from a close.
    expect(report).toMatch(openBeforeDamage([13, 'pending_open']));
  }, 300_000);

  it('oneBitInTheLastRecord_exportsAllButIt', async () => {
    const dir = await writeSegmented('last');
    const truth = await truthOf(dir);
    const file = (await segments(dir)).pop() ?? '';
    const frames = framesOf(await readFile(join(dir, file)));
    const hit = frames[frames.length - 1];
    if (hit === undefined) throw new Error('fixture');
    await flipBit(join(dir, file), hit.offset + hit.bytes - 40);
    const { lines, report } = await salvage(dir);
    expect(lines).toEqual(without(truth, [hit.seq]));
    expect(report).toContain(`damaged: ${file} bytes ${hit.offset}..${hit.offset + hit.bytes}`
      + ` (${hit.bytes} bytes), after seq ${hit.seq - 1}, no record after: record CRC fails`);
  }, 300_000);

  it('oneBitInACheckpoint_skipsIt_andExportsEveryRecord', async () => {
    const dir = await writeSegmented('ckpt');
    const truth = await truthOf(dir);
    const checkpoints = (await readdir(dir)).filter((name) => name.endsWith('.ckpt')).sort();
    const file = checkpoints[1];
    if (file === undefined) throw new Error('fixture: two checkpoints');
    await flipBit(join(dir, file), 40);
    const { lines, report } = await salvage(dir);
    expect(lines).toEqual(truth);
    expect(report).toMatch(new RegExp(`damaged: ${file} bytes 0\\.\\.\\d+ .*checkpoint skipped`));
    // No record is lost: the taps still open are so in the journal too.
    expect(report).not.toMatch(/damaged range: a final/);
  }, 300_000);

  it('aCheckpointTheFileSystemSays3GiB_refusedWithItsName_noNodeAbort_thenSalvagedWithout',
    async () => {
    // Sparse: the file system reports 3 GiB (a damaged inode); reading it whole aborted Node
    // (exit 134) in verify and salvage alike. Now both say which file (exit 1); moved away,
    // the salvage exports every record.
    const dir = await writeSegmented('huge-ckpt');
    const truth = await truthOf(dir);
    const checkpoints = (await readdir(dir)).filter((name) => name.endsWith('.ckpt')).sort();
    const file = checkpoints[1];
    if (file === undefined) throw new Error('fixture: two checkpoints');
    await truncate(join(dir, file), 3 * 2 ** 30);
    const out = join(parent, 'huge-ckpt.salvaged.jsonl');
    for (const args of [['verify'], ['export', '--salvage', '--out', out]]) {
      const run = shuaka(['journal', ...args, '--journal', dir]);
      expect(run.code, run.err).toBe(1);
      expect(run.err).toContain(`${file} is ${3 * 2 ** 30} bytes, more than a checkpoint can hold`);
    }
    await rename(join(dir, file), join(parent, `${file}.moved`));
    const salvaged = shuaka(['journal', 'export', '--salvage', '--journal', dir, '--out', out]);
    expect([0, 3], salvaged.err).toContain(salvaged.code);
    expect((await readFile(out, 'utf8')).split('\n').filter((l) => l !== '')).toEqual(truth);
  }, 300_000);

  it('aLostOpenTap_theLaterCheckpointsStillListIt_noneIsReportedDamaged', async () => {
    const dir = await writeSegmented('lost-open');
    const truth = await truthOf(dir);
    // Pending 13 stays open to the end: every checkpoint after it lists it, a tap the
    // salvage never read. They are intact all the same.
    const hit = await frameOfSeq(dir, 13);
    const later = (await readdir(dir)).filter((name) => name.endsWith('.ckpt')
      && Number(/-(\d{10})\./.exec(name)?.[1]) > 13);
    expect(later.length).toBeGreaterThan(1);
    await flipBit(join(dir, hit.file), hit.offset + 100);
    const { lines, report } = await salvage(dir);
    expect(lines).toEqual(without(truth, [13]));
    expect(report.match(/^damaged: /gm)).toEqual(['damaged: ']);
    expect(report).toContain(`damaged: ${hit.file} bytes ${hit.offset}..${hit.offset + hit.bytes}`
      + ' (');
    expect(report).toMatch(/salvaged \d+ records past 1 damaged range:/);
  }, 300_000);

  it('aRangeOverSeveralFrames_exportsAllButThoseRecords', async () => {
    const dir = await writeSegmented('range');
    const truth = await truthOf(dir);
    const file = (await segments(dir))[1] ?? '';
    const path = join(dir, file);
    const image = await readFile(path);
    const frames = framesOf(image);
    const k = 2;
    const from = (frames[k]?.offset ?? 0) + 30;
    const to = (frames[k + 3]?.offset ?? 0) + 10;
    const prng = newPrng(7);
    for (let i = from; i < to; i += 1) image[i] = prng.below(256);
    await writeFile(path, image);
    const hit = frames.slice(k, k + 4);
    const { lines, report } = await salvage(dir);
    expect(lines).toEqual(without(truth, hit.map((frame) => frame.seq)));
    const start = frames[k]?.offset ?? 0;
    const end = frames[k + 4]?.offset ?? 0;
    expect(report).toContain(`damaged: ${file} bytes ${start}..${end} (${end - start} bytes),`
      + ` after seq ${(hit[0]?.seq ?? 0) - 1}, before seq ${(hit[3]?.seq ?? 0) + 1}:`);
  }, 300_000);

  // Flash that swaps two files' blocks (or a copy restored under the wrong names) leaves every
  // record intact, only in a file named for other seqs: none of them may be lost.
  it.each([[0, 1], [1, 2]])('twoSegmentsSwapped_%i_%i_exportsEveryRecordInSeqOrder',
    async (a, b) => {
      const dir = await writeSegmented(`swapped-${a}-${b}`);
      const truth = await truthOf(dir);
      const names = await segments(dir);
      const [nameA, nameB] = [names[a] ?? '', names[b] ?? ''];
      const [bytesA, bytesB] = [await readFile(join(dir, nameA)), await readFile(join(dir, nameB))];
      await writeFile(join(dir, nameA), bytesB);
      await writeFile(join(dir, nameB), bytesA);
      const { lines, report } = await salvage(dir);
      expect(lines).toEqual(truth);
      expect(report).toContain(`damaged: ${nameB} at byte 0, `);
      expect(report).toMatch(/read in the order of its seqs/);
      expect(report).not.toMatch(/is not after/);
    }, 300_000);

  it('aFileOfRandomBytes_exportsNothing_andReportsTheWholeFile', async () => {
    const dir = join(parent, 'random');
    await mkdir(dir);
    const prng = newPrng(42);
    await writeFile(join(dir, JOURNAL_FILE_NAME), Uint8Array.from({ length: 4096 },
      () => prng.below(256)));
    await writeFile(join(dir, DATA_KEY_FILE_NAME), FIXTURE_DATA_KEY, { mode: 0o600 });
    const { lines, report } = await salvage(dir);
    expect(lines).toEqual([]);
    expect(report).toContain(`damaged: ${JOURNAL_FILE_NAME} bytes 0..4096 (4096 bytes), `
      + 'no record before, no record after:');
    expect(report).toMatch(/salvaged 0 records past 1 damaged range: exported 0 lines/);
  }, 300_000);
});

// `journal ack` removes the segments it covers whole; the validator's open reads only the
// newest, so damage in an older segment is for the ack to find before anything is removed.
describe('shuaka journal ack on damage in a sealed segment (process)', () => {
  it.each(['flipped', 'swapped'])('%s_refusedExit3_nothingChanged_theSalvageStillWhole',
    async (damage) => {
      const dir = await writeSegmented(`ack-${damage}`);
      const truth = await truthOf(dir);
      const names = await segments(dir);
      const [one, two] = [names[1] ?? '', names[2] ?? ''];
      if (damage === 'flipped') {
        const hit = framesOf(await readFile(join(dir, one)))[1];
        await flipBit(join(dir, one), (hit?.offset ?? 0) + 60);
      } else {
        const [bytesOne, bytesTwo] = [await readFile(join(dir, one)), await readFile(join(dir, two))];
        await writeFile(join(dir, one), bytesTwo);
        await writeFile(join(dir, two), bytesOne);
      }
      const before = await hashes(dir);
      // Through the first seq of the third segment: the first two are acknowledged whole.
      const through = String(Number(/-(\d{10})\./.exec(two)?.[1]));
      const acked = shuaka(['journal', 'ack', '--through', through, '--journal', dir]);
      expect(acked.code, acked.out + acked.err).toBe(3);
      expect(acked.err).toMatch(/not acknowledged: .* is CORRUPT: journal-\d{10}\.bin at byte /);
      expect(await hashes(dir)).toEqual(before);
      const { lines } = await salvage(dir);
      expect(lines.length).toBe(truth.length - (damage === 'flipped' ? 1 : 0));
    }, 300_000);
});

describe('shuaka journal export --salvage: the lost record closed a tap (process)', () => {
  it('aLostFinal_exportsItsPendingAsStillOpen_andSaysADamageMayHaveClosedIt', async () => {
    const { truth, lines, report } = await salvageLosing('lost-final', CLOSE.final);
    expect(lineOf(truth, CLOSE.final)['type']).toBe('clearing');
    expect(without(lines, [CLOSE.final - 1])).toEqual(without(truth, [CLOSE.final]));
    expectPendingOpen(lineOf(lines, CLOSE.final - 1), CLOSE.final - 1, 300);
    expect(report).toMatch(openBeforeDamage([CLOSE.final - 1, 'pending_open']));
  }, 300_000);

  it('aLostDeclined_exportsItsPendingAsStillOpen', async () => {
    const { truth, lines, report } = await salvageLosing('lost-declined', CLOSE.declined);
    expect(() => lineOf(truth, CLOSE.declined - 1)).toThrow();
    expect(without(lines, [CLOSE.declined - 1])).toEqual(truth);
    expectPendingOpen(lineOf(lines, CLOSE.declined - 1), CLOSE.declined - 1, 301);
    expect(report).toMatch(openBeforeDamage([CLOSE.declined - 1, 'pending_open']));
  }, 300_000);

  it('aLostTorn_exportsItsPendingAsStillOpen_inPlaceOfTheTornLine', async () => {
    const { truth, lines, report } = await salvageLosing('lost-torn', CLOSE.torn);
    expect(lineOf(truth, CLOSE.torn)).toMatchObject({ type: 'torn', stillUncertain: true });
    expect(without(lines, [CLOSE.torn - 1])).toEqual(without(truth, [CLOSE.torn]));
    expectPendingOpen(lineOf(lines, CLOSE.torn - 1), CLOSE.torn - 1, 302);
    expect(report).toMatch(openBeforeDamage([CLOSE.torn - 1, 'pending_open']));
  }, 300_000);

  it('aLostReconciled_exportsItsTornAsStillUncertain', async () => {
    const tornSeq = CLOSE.reconciled - 1;
    const { truth, lines, report } = await salvageLosing('lost-reconciled', CLOSE.reconciled);
    expect(lineOf(truth, tornSeq)).toMatchObject({ type: 'torn', stillUncertain: false });
    const changed = JSON.stringify({ ...lineOf(truth, tornSeq), stillUncertain: true });
    expect(lines).toEqual(without(truth, [CLOSE.reconciled])
      .map((line) => ((JSON.parse(line) as { seq: number }).seq === tornSeq ? changed : line)));
    // Torn 27, still uncertain in the journal too, was read before the damage as well.
    expect(report).toMatch(openBeforeDamage(
      [CLOSE.torn, `torn of pending ${CLOSE.torn - 1}`],
      [tornSeq, `torn of pending ${tornSeq - 1}`],
    ));
  }, 300_000);

  it('aLostAck_exportsFromTheOlderAck_theExtraLinesAreTheUploadTheDepotHolds', async () => {
    const { truth, previous, lines, report } = await salvageLosing('lost-ack', CLOSE.ack);
    const extra = lines.filter((line) => !truth.includes(line));
    expect(lines.filter((line) => truth.includes(line))).toEqual(truth);
    // Seqs 11..20: acknowledged by the lost ack, exported before it; the depot takes each
    // as the replay of a seq it holds, byte for byte the line it stored.
    expect(extra.length).toBeGreaterThan(0);
    expect(extra).toEqual(previous);
    expect(without(lines, [13, 14, 15, 16, 17, 18, 19, 20])).toEqual(truth);
    expect(report).toMatch(openBeforeDamage([13, 'pending_open']));
  }, 300_000);
});

describe('shuaka journal export --salvage: the data key (process)', () => {
  const OTHER_KEY = new Uint8Array(32).fill(0x33);

  /** Salvage of `dir` with `keyArgs`: exit 1, nothing written at --out, no file changed. */
  async function refused(dir: string, keyArgs: string[]): Promise<string> {
    const before = await hashes(dir);
    const out = `${dir}.refused.jsonl`;
    const run = shuaka(['journal', 'export', '--salvage', '--journal', dir, ...keyArgs,
      '--out', out]);
    expect(run.code, run.err).toBe(1);
    expect(run.out).toBe('');
    const left = (await readdir(parent)).filter((name) => name.startsWith(basename(out)));
    expect(left).toEqual([]);
    expect(await hashes(dir)).toEqual(before);
    return run.err;
  }

  it('anotherValidKey_onACorruptJournal_refusedAsPlainExportRefusesIt_exit1_noOut', async () => {
    const dir = await writeSegmented('other-key');
    const keyFile = `${dir}.other.key`;
    await writeFile(keyFile, OTHER_KEY, { mode: 0o600 });
    const plain = shuaka(['journal', 'export', '--journal', dir, '--data-key', keyFile]);
    expect(plain.code, plain.err).toBe(1);
    const message = new RegExp('not exported: record seq \\d+: its PAN does not open with this'
      + ' data key \\(other-key\\)');
    expect(plain.err).toMatch(message);
    const hit = await frameOfSeq(dir, 40);
    await flipBit(join(dir, hit.file), hit.offset + 100);
    const err = await refused(dir, ['--data-key', keyFile]);
    expect(err.match(message)?.[0]).toBe(plain.err.match(message)?.[0]);
    expect(err).not.toMatch(/salvaged \d+ records/);
  }, 300_000);

  it('anotherValidKey_whenOnlyATapLeftOpenByTheDamageIsExported_refused_exit1', async () => {
    const a = card(1);
    const b = card(2);
    const dir = await writeSegmented('other-key-open', [
      { kind: 'pending', recovery: recovery(a, 1), fareRule: 'flat', amountMinor: 200 }, // 1
      { kind: 'final', pendingSeq: 1, clearing: clearing(a, 1) }, // 2
      { kind: 'ack', throughSeq: 2 }, // 3
      { kind: 'pending', recovery: recovery(b, 2), fareRule: 'flat', amountMinor: 200 }, // 4
      { kind: 'final', pendingSeq: 4, clearing: clearing(b, 2) }, // 5: damaged below
      { kind: 'declined', pendingSeq: null, card: card(3), reason: 'deny list' }, // 6
    ]);
    const keyFile = `${dir}.other.key`;
    await writeFile(keyFile, OTHER_KEY, { mode: 0o600 });
    const hit = await frameOfSeq(dir, 5);
    await flipBit(join(dir, hit.file), hit.offset + 100);
    const err = await refused(dir, ['--data-key', keyFile]);
    expect(err).toMatch(/not exported: record seq 4: its PAN does not open with this data key/);
    // With its own key the same journal exports seq 4 as still open.
    const { lines } = await salvage(dir);
    expect(lines.map((line) => JSON.parse(line) as { type: string; seq: number }))
      .toEqual([expect.objectContaining({ type: 'pending_open', seq: 4, pan: panOf(2) })]);
  }, 300_000);

  it('noKey_onACorruptJournalWithCardRecords_refused_exit1_noOut', async () => {
    const dir = await writeSegmented('no-key');
    const hit = await frameOfSeq(dir, 40);
    await flipBit(join(dir, hit.file), hit.offset + 100);
    const missing = `${dir}.absent.key`;
    const err = await refused(dir, ['--data-key', missing]);
    expect(err).toMatch(/not exported: .*no data key/);
    expect(err).toContain(missing);
    await rm(join(dir, DATA_KEY_FILE_NAME));
    expect(await refused(dir, [])).toContain(join(dir, DATA_KEY_FILE_NAME));
  }, 300_000);
});


/**
 * A copy in `parent/name` of the one-segment journal `dir` whose payloads `respell` gives
 * anew (null: the same bytes), every frame re-chained as the journal writes it.
 */
async function respelled(dir: string, name: string, respell: (seq: number, text: string)
  => string | null): Promise<string> {
  const image = await readFile(join(dir, JOURNAL_FILE_NAME));
  const frames: Uint8Array[] = [];
  let hash = CHAIN_GENESIS_HASH;
  for (const { offset, seq } of framesOf(image)) {
    const checked = frameCheck(image, offset);
    if (!checked.ok) throw new Error('fixture');
    const text = respell(seq, Buffer.from(checked.frame.payload).toString('utf8'));
    const payload = text === null ? checked.frame.payload : Buffer.from(text, 'utf8');
    const encoded = frameEncode(checked.frame.kindCode, seq, payload, hash);
    frames.push(encoded.frame);
    hash = encoded.hash;
  }
  const copy = join(parent, name);
  await mkdir(copy);
  await writeFile(join(copy, JOURNAL_FILE_NAME), Buffer.concat(frames));
  await writeFile(join(copy, DATA_KEY_FILE_NAME), FIXTURE_DATA_KEY, { mode: 0o600 });
  return copy;
}

/** True when the payload of record `seq` in `dir` is read only by the full decoder. */
async function decodedOnly(dir: string, seq: number): Promise<boolean> {
  const image = await readFile(join(dir, JOURNAL_FILE_NAME));
  const frame = framesOf(image).find((f) => f.seq === seq);
  const checked = frame === undefined ? null : frameCheck(image, frame.offset);
  const kind = checked?.ok === true ? journalKindOfCode(checked.frame.kindCode) : null;
  if (checked?.ok !== true || kind === null) throw new Error(`fixture: no record ${seq}`);
  journalPayloadDecode(kind, checked.frame.payload, 'fixture');
  return !payloadFastCheck(kind, checked.frame.payload, new PayloadFacts());
}

describe('shuaka journal export --salvage: payloads in another JSON spelling (process)', () => {
  /** The closing fixture's head and tail in one segment (no checkpoint to re-chain). */
  async function oneSegment(name: string): Promise<string> {
    const { head, tail } = closingEntries();
    const dir = await writeJournalDir(parent, name, [...head, ...tail]);
    expect(await segments(dir)).toEqual([JOURNAL_FILE_NAME]);
    return dir;
  }

  it('validButNotCanonical_salvagedAsTheCanonicalRecord_theDamageElsewhere', async () => {
    const dir = await oneSegment('spelled-canonical');
    const truth = await truthOf(dir);
    // Every kind the tally and the lines read: taps closed and open, the ack, a clearing line.
    const spelled = [2, 4, 8, 9, 10, 11, 13, CLOSE.ack, 22, CLOSE.final, CLOSE.torn, 40];
    const copy = await respelled(dir, 'spelled', (seq, text) => (spelled.includes(seq)
      ? JSON.stringify(JSON.parse(text), null, 1)
      : null));
    for (const seq of spelled) expect(await decodedOnly(copy, seq)).toBe(true);
    // The plain export reads them as the records they spell.
    expect(await truthOf(copy)).toEqual(truth);
    const hit = await frameOfSeq(copy, 50);
    await flipBit(join(copy, hit.file), hit.offset + 100);
    const { lines, report } = await salvage(copy);
    expect(lines).toEqual(without(truth, [50]));
    expect(report).toContain(`damaged: ${hit.file} bytes ${hit.offset}..${hit.offset + hit.bytes}`
      + ` (${hit.bytes} bytes), after seq 49, before seq 51: record CRC fails`);
    expect(report).toMatch(/salvaged \d+ records past 1 damaged range:/);
    // Torn 27, respelled, is the tap after the ack left open before the damage.
    expect(report).toMatch(openBeforeDamage([CLOSE.torn, `torn of pending ${CLOSE.torn - 1}`]));
  }, 300_000);

  it('aPayloadThatDoesNotDecode_underValidCrcs_isADamage_theOthersExported', async () => {
    const dir = await oneSegment('spelled-invalid');
    const truth = await truthOf(dir);
    const bad = 40;
    const copy = await respelled(dir, 'spelled-invalid-copy', (seq, text) => (seq === bad
      ? text.replace('"amountMinor":200', '"amountMinor":-200')
      : null));
    const hit = await frameOfSeq(copy, bad);
    const verified = shuaka(['journal', 'verify', '--journal', copy]);
    expect(verified.err).toContain(`(seq ${bad}): bad payload:`);
    const { lines, report } = await salvage(copy);
    expect(lines).toEqual(without(truth, [bad]));
    expect(report).toContain(`damaged: ${hit.file} bytes ${hit.offset}..${hit.offset + hit.bytes}`
      + ` (${hit.bytes} bytes), after seq ${bad - 1}, before seq ${bad + 1}: bad payload: `);
    expect(report).toMatch(/amountMinor/);
  }, 300_000);
});
