// `shuaka journal export --salvage` as a real subprocess on damaged journals: the truth is the
// export of the same journal before the damage, minus the records the damage hit. Each time
// `journal verify` still says CORRUPT and no file on disk changed.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { JOURNAL_FILE_NAME, Journal } from '../src/app/journal/journal.js';
import { frameCheck } from '../src/app/journal/journal_frame.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { DATA_KEY_FILE_NAME } from '../src/app/journal/pan_vault_file.js';
import {
  FIXTURE_DATA_KEY, card, clearing, journalOptions, newClock, newPrng, scriptedEntries,
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
async function writeSegmented(name: string): Promise<string> {
  const dir = join(parent, name);
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const options = {
    ...journalOptions(newClock(), 1 << 22), fileName: JOURNAL_FILE_NAME, segmentBytesMax: 16_000,
  };
  const opened = await Journal.open(storage.value, options);
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of entries()) {
    const appended = await opened.value.journal.append(entry);
    if (!appended.ok) throw new Error(appended.detail);
  }
  await storage.value.close();
  await writeFile(join(dir, DATA_KEY_FILE_NAME), FIXTURE_DATA_KEY, { mode: 0o600 });
  return dir;
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
