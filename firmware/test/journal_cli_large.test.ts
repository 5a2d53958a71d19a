// `node bin/shuaka.js journal verify/export [--salvage]` on a journal of 20,000 records in some 35
// segments (each read in several windows): the counts, the ack, the head hash and every
// exported line agree with the entries that were written and with the writer's own state.

import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HalStatus, halErr, halOk } from '../../hal/src/ports/hal_status.js';
import type { StoragePort } from '../../hal/src/ports/storage_port.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { JOURNAL_FILE_NAME, Journal } from '../src/app/journal/journal.js';
import type { JournalSummary } from '../src/app/journal/journal.js';
import { journalExport } from '../src/app/journal/journal_export.js';
import { frameCheck } from '../src/app/journal/journal_frame.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import { JOURNAL_KINDS } from '../src/app/journal/journal_records.js';
import type { JournalEntry, JournalKind } from '../src/app/journal/journal_records.js';
import type { UncertainTap } from '../src/app/journal/journal_state.js';
import { panVaultClear } from '../src/app/journal/pan_vault.js';
import { DATA_KEY_FILE_NAME } from '../src/app/journal/pan_vault_file.js';
import {
  card, FIXTURE_DATA_KEY, FIXTURE_VAULT, journalOptions, newClock, newPrng, randomEntries,
} from './journal_fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = Number(process.env['SHUAKA_SEED'] ?? 23);
const RECORDS = 20_000;

interface Written {
  readonly dir: string;
  readonly entries: readonly JournalEntry[];
  readonly summary: JournalSummary;
  readonly uncertain: readonly UncertainTap[];
}

let root = '';
let written: Written | null = null;

/**
 * FileStorage without fsync or free-space checks, appends gathered until the next other call:
 * the same bytes, written fast.
 */
function unsynced(storage: FileStorage): StoragePort & { flush(): Promise<void> } {
  const pending: { name: string; bytes: Uint8Array }[] = [];
  const flush = async (): Promise<void> => {
    const names = [...new Set(pending.map((item) => item.name))];
    for (const name of names) {
      const chunks = pending.filter((item) => item.name === name).map((item) => item.bytes);
      const appended = await storage.append(name, Buffer.concat(chunks));
      if (!appended.ok) throw new Error(appended.detail);
    }
    pending.length = 0;
  };
  const flushed = async <T>(call: () => Promise<T>): Promise<T> => {
    await flush();
    return call();
  };
  return {
    flush,
    read: (name) => flushed(() => storage.read(name)),
    readAt: (name, offset, into) => flushed(() => storage.readAt(name, offset, into)),
    append: (name, bytes) => {
      pending.push({ name, bytes: bytes.slice() });
      return Promise.resolve(halOk(undefined));
    },
    replace: (name, bytes) => flushed(() => storage.replace(name, bytes)),
    sync: () => Promise.resolve(halOk(undefined)),
    truncate: (name, length) => flushed(() => storage.truncate(name, length)),
    list: () => flushed(() => storage.list()),
    size: (name) => flushed(() => storage.size(name)),
    remove: (name) => flushed(() => storage.remove(name)),
    capacity: () => Promise.resolve(halErr(HalStatus.NOT_SUPPORTED, 'test build')),
  };
}

/**
 * The random sequence with one ack kept (the first after a quarter of the records), so that
 * most records stay retained and exported; the others become declined taps (same seqs).
 */
function fewAcks(entries: readonly JournalEntry[]): JournalEntry[] {
  let kept = false;
  return entries.map((entry, i) => {
    if (entry.kind !== 'ack') return entry;
    if (!kept && i >= RECORDS / 4) {
      kept = true;
      return entry;
    }
    return { kind: 'declined', pendingSeq: null, card: card(i), reason: 'deny list' };
  });
}

async function writeLarge(dir: string): Promise<Written> {
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const options = {
    ...journalOptions(newClock(), 1 << 30), fileName: JOURNAL_FILE_NAME, segmentBytesMax: 256 << 10,
  };
  const port = unsynced(storage.value);
  const opened = await Journal.open(port, options);
  if (!opened.ok) throw new Error(opened.detail);
  const journal = opened.value.journal;
  const entries = fewAcks(randomEntries(newPrng(SEED), RECORDS));
  for (const entry of entries) {
    const appended = await journal.append(entry);
    if (!appended.ok) throw new Error(`seed ${SEED}: ${appended.detail}`);
  }
  await port.flush();
  await storage.value.close();
  // The key the fixtures sealed the PANs with, where `journal export` looks by default.
  await writeFile(join(dir, DATA_KEY_FILE_NAME), FIXTURE_DATA_KEY, { mode: 0o600 });
  return { dir, entries, summary: journal.summary(), uncertain: journal.uncertainAll() };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shuaka-journal-large-'));
  // The first run may rebuild dist/; later runs are quick.
  spawnSync(process.execPath, [BIN, 'journal', '--help'], { cwd: ROOT, encoding: 'utf8' });
  written = await writeLarge(join(root, 'journal'));
}, 300_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function shuaka(args: string[]): { code: number | null; out: string; err: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 240_000, maxBuffer: 1 << 26,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function journalWritten(): Written {
  if (written === null) throw new Error('journal not written');
  return written;
}

/** The last ack's seq among the entries (an ack names seqs, entries are 1-based). */
function ackThrough(entries: readonly JournalEntry[]): number {
  let through = 0;
  for (const entry of entries) if (entry.kind === 'ack') through = entry.throughSeq;
  return through;
}

describe(`shuaka journal on ${RECORDS} records (SHUAKA_SEED=${SEED})`, () => {
  it('verify_reportsTheCountsAckHeadHashAndUncertainTapsOfWhatWasWritten', () => {
    const { dir, entries, summary, uncertain } = journalWritten();
    expect(summary.segmentCount).toBeGreaterThan(10);
    const verified = shuaka(['journal', 'verify', '--journal', dir]);
    expect(verified.code, verified.err).toBe(0);
    const counts = new Map<JournalKind, number>(JOURNAL_KINDS.map((kind) => [kind, 0]));
    for (const entry of entries) counts.set(entry.kind, (counts.get(entry.kind) ?? 0) + 1);
    const countText = JOURNAL_KINDS.map((kind) => `${kind} ${counts.get(kind) ?? 0}`).join(', ');
    const through = ackThrough(entries);
    const lines = verified.out.split('\n');
    expect(lines[0]).toBe(`journal ${dir}: OK`);
    expect(verified.out).toContain(`records ${RECORDS} (${countText})`);
    expect(verified.out).toContain(`segments ${summary.segmentCount}, retained from seq`);
    expect(verified.out).toContain(`last seq ${RECORDS}, acknowledged through ${through}`);
    expect(verified.out).toContain(`head hash ${summary.headHashHex}`);
    const unacked = entries.filter((entry, i) => entry.kind === 'final' && i + 1 > through);
    expect(verified.out).toContain(`unacknowledged clearing records ${unacked.length}`);
    expect(verified.out).toContain('torn tail: none');
    expect(verified.out).toContain(`uncertain taps ${uncertain.length}`);
    const listed = lines.filter((line) => /^ {4}seq \d+ /.test(line)).map((line) => line.trim());
    expect(listed.map((line) => Number(line.split(' ')[1])))
      .toEqual(uncertain.map((tap) => tap.seq));
  });

  it('export_writesOneLinePerUnacknowledgedRecord_inOrder_withItsFields', async () => {
    const { dir, entries, uncertain } = journalWritten();
    const out = join(root, 'export.jsonl');
    const exported = shuaka(['journal', 'export', '--journal', dir, '--out', out]);
    expect(exported.code, exported.err).toBe(0);
    const lines = (await readFile(out, 'utf8')).split('\n').filter((line) => line !== '');
    const through = ackThrough(entries);
    const openPendings = new Set(uncertain.filter((t) => t.kind === 'pending').map((t) => t.seq));
    const expected: { seq: number; type: string }[] = [];
    entries.forEach((entry, i) => {
      const seq = i + 1;
      if (seq <= through) return;
      if (entry.kind === 'final') expected.push({ seq, type: 'clearing' });
      if (entry.kind === 'torn') expected.push({ seq, type: 'torn' });
      if (entry.kind === 'reconciled') expected.push({ seq, type: 'reconciled' });
      if (entry.kind === 'pending' && openPendings.has(seq)) {
        expected.push({ seq, type: 'pending_open' });
      }
    });
    expect(expected.length).toBeGreaterThan(1000);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((line) => ({ seq: line['seq'], type: line['type'] }))).toEqual(expected);
    for (const line of parsed) {
      const entry = entries[Number(line['seq']) - 1];
      if (entry?.kind !== 'final') continue;
      const seq = Number(line['seq']);
      expect(line['pan']).toBe(panVaultClear(FIXTURE_VAULT, entry.clearing.card, seq));
      expect(line['atc']).toBe(entry.clearing.atc);
      expect(line['pendingSeq']).toBe(entry.pendingSeq);
      expect(line['iccDataHex']).toBe(entry.clearing.iccDataHex);
    }
    const clearing = expected.filter((line) => line.type === 'clearing').length;
    expect(exported.err).toContain(`exported ${expected.length} lines (${clearing} clearing,`);
    // The summary's parts add up to the lines (torn and reconciled ones count as other).
    const parts = /lines \((\d+) clearing, (\d+) uncertain(?:, (\d+) other)?\)/
      .exec(exported.err)?.slice(1).map((n) => Number(n ?? 0)) ?? [];
    expect(parts.reduce((a, b) => a + b, 0)).toBe(expected.length);
    expect(exported.err).toContain(`through seq ${RECORDS}`);
    // Byte for byte the lines the decoding export makes of the same files (the CLI writes
    // most of them from the payload bytes without decoding).
    const files = new Map<string, Uint8Array>();
    for (const name of await readdir(dir)) files.set(name, await readFile(join(dir, name)));
    const decoded = journalExport(journalScanFiles(files, JOURNAL_FILE_NAME, true), FIXTURE_VAULT);
    expect(lines).toEqual(decoded.lines);
  });

  it('salvage_ofOneDamagedRecordMidJournal_writesTheSameLines_inABoundedHeap', async () => {
    const { dir } = journalWritten();
    const out = join(root, 'export-intact.jsonl');
    expect(shuaka(['journal', 'export', '--journal', dir, '--out', out]).code).toBe(0);
    const damaged = join(root, 'damaged');
    await cp(dir, damaged, { recursive: true });
    // A declined tap of no pending in the middle segment: it has no line and closes nothing,
    // so the salvage must write exactly the intact journal's lines.
    const segments = (await readdir(damaged)).filter((name) => /^journal-\d+\.bin$/.test(name))
      .sort();
    const file = segments[Math.floor(segments.length / 2)] ?? '';
    const image = await readFile(join(damaged, file));
    let hit: { offset: number; bytes: number; seq: number } | null = null;
    for (let at = 0; hit === null && at < image.length;) {
      const checked = frameCheck(image, at);
      if (!checked.ok) throw new Error(`${file} at ${at}: ${checked.defect}`);
      const text = Buffer.from(checked.frame.payload).toString('latin1');
      if (checked.frame.kindCode === 3 && text.includes('"pendingSeq":null') && at > 0) {
        hit = { offset: at, bytes: checked.frame.frameBytes, seq: checked.frame.seq };
      }
      at += checked.frame.frameBytes;
    }
    if (hit === null) throw new Error(`no declined tap without a pending in ${file}`);
    image[hit.offset + 40] = (image[hit.offset + 40] ?? 0) ^ 0x04;
    await writeFile(join(damaged, file), image);
    const salvagedOut = join(root, 'export-salvaged.jsonl');
    const salvaged = shuaka(['journal', 'export', '--salvage', '--stats', '--journal', damaged,
      '--out', salvagedOut]);
    expect(salvaged.code, salvaged.err).toBe(3);
    expect(await readFile(salvagedOut, 'utf8')).toEqual(await readFile(out, 'utf8'));
    expect(salvaged.err).toContain(`damaged: ${file} bytes ${hit.offset}..`
      + `${hit.offset + hit.bytes} (${hit.bytes} bytes), after seq ${hit.seq - 1}, before seq `
      + `${hit.seq + 1}: record CRC fails`);
    const verified = shuaka(['journal', 'verify', '--journal', dir]);
    const retainedFrom = Number(/retained from seq (\d+)/.exec(verified.out)?.[1]);
    expect(retainedFrom).toBeGreaterThan(1);
    // Every retained record but the damaged one.
    const read = RECORDS - retainedFrom;
    expect(salvaged.err).toContain(`salvaged ${read} records past 1 damaged range`);
    const limit = Number(/V8 heap limit ([0-9.]+) MiB/.exec(salvaged.err)?.[1]);
    expect(limit).toBeLessThan(64);
    // Seen by the one who runs it: the measured peak RSS of the salvage.
    console.log(/stats: .*/.exec(salvaged.err)?.[0]);
  });
});
