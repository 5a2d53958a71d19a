// `shuaka sim --journal DIR`: the simulated validator's journal lands in a real directory and
// every `shuaka journal` command works on it.

import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runSimCommand } from '../../host-sim/src/sim/sim_cli.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';

let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-sim-journal-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function journal(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runJournalCommand(argv, {
    out: (line) => out.push(line), err: (line) => err.push(line),
  });
  return { code, out, err };
}

describe('shuaka sim --journal', () => {
  it('keepsTheSimulatedJournal_andVerifyExportAckWorkOnIt', async () => {
    const journalDir = join(dir, 'journal');
    const simOut: string[] = [];
    const io = { out: (t: string) => simOut.push(t), err: (t: string) => simOut.push(t) };
    const argv = ['--seed', '5', '--riders', '12', '--link', 'memory', '--quiet'];
    expect(await runSimCommand([...argv, '--journal', journalDir], io)).toBe(0);
    const summary = simOut.join('\n');
    const finals = Number(/(\d+) clearing records/.exec(summary)?.[1] ?? 'NaN');
    const records = Number(/(\d+) journal records/.exec(summary)?.[1] ?? 'NaN');
    expect(finals).toBeGreaterThan(0);
    expect(await readdir(journalDir)).toContain('journal.bin');
    const verified = await journal(['verify', '--journal', journalDir]);
    expect(verified.code, verified.err.join('\n')).toBe(0);
    const lastSeq = new RegExp(`last seq ${records}, acknowledged through 0`);
    expect(verified.out.join('\n')).toMatch(lastSeq);
    const outFile = join(dir, 'upload.jsonl');
    expect((await journal(['export', '--journal', journalDir, '--out', outFile])).code).toBe(0);
    const lines = (await readFile(outFile, 'utf8')).trim().split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const clearing = lines.filter((line) => line['type'] === 'clearing');
    expect(clearing).toHaveLength(finals);
    // The journal holds PANs sealed; the export opens them with DIR/data.key (the seed's key):
    // each clear PAN agrees with its masked form.
    for (const line of clearing) {
      const pan = String(line['pan']);
      expect(pan).toMatch(/^[0-9]{12,19}$/);
      const masked = `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`;
      expect(line['panMasked']).toBe(masked);
    }
    expect((await stat(join(journalDir, 'data.key'))).mode & 0o777).toBe(0o600);
    const acked = await journal(['ack', '--through', String(records), '--journal', journalDir]);
    expect(acked.code, acked.err.join('\n')).toBe(0);
    expect((await journal(['export', '--journal', journalDir])).out).toEqual([]);
    // A second run refuses to mix its journal into a directory that holds one.
    await writeFile(join(dir, 'marker'), 'x');
    const refused = await runSimCommand([...argv, '--journal', journalDir], io);
    expect(refused).toBe(2);
  }, 120_000);

  it('startsOnAJournalThatInitStartedAfter5000_numbering9F41AndTheUploadFrom5001', async () => {
    const journalDir = join(dir, 'replaced');
    expect((await journal(['init', '--after-seq', '5000', '--journal', journalDir])).code).toBe(0);
    const simOut: string[] = [];
    const io = { out: (t: string) => simOut.push(t), err: (t: string) => simOut.push(t) };
    const argv = ['--seed', '5', '--riders', '12', '--link', 'memory', '--quiet'];
    const code = await runSimCommand([...argv, '--journal', journalDir], io);
    const summary = simOut.join('\n');
    expect(code, summary).toBe(0);
    const records = Number(/(\d+) journal records/.exec(summary)?.[1] ?? 'NaN');
    expect(records).toBeGreaterThan(0);
    // The money loop's depot stored every record, the first batch from 5001 on.
    const lastSeq = 5000 + records;
    const upload = /upload: (\d+) records in \d+ batch(?:es)?, (\d+) stored, (\d+) duplicates; (.*)/
      .exec(summary);
    expect(upload?.[1], summary).toBe(upload?.[2]);
    expect(upload?.[3]).toBe('0');
    expect(upload?.[4]).toBe(`journal acknowledged through seq ${lastSeq}`);
    expect((await readdir(journalDir)).sort()).toEqual(
      ['data.key', 'journal-0000005001.bin', 'journal-0000005001.ckpt']);
    const verified = await journal(['verify', '--journal', journalDir]);
    expect(verified.code, verified.err.join('\n')).toBe(0);
    expect(verified.out.join('\n')).toMatch(
      new RegExp(`retained from seq 5001\n {2}last seq ${lastSeq}, acknowledged through 5000`));
    const exported = await journal(['export', '--journal', journalDir]);
    expect(exported.code, exported.err.join('\n')).toBe(0);
    const clearing = exported.out.map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['type'] === 'clearing' && typeof line['iccDataHex'] === 'string');
    expect(clearing.length).toBeGreaterThan(0);
    for (const line of clearing) {
      // 9F41 is the seq of the tap's first record (its pending, else this final), n8 BCD.
      const first = Number(line['pendingSeq'] ?? line['seq']);
      expect(first).toBeGreaterThan(5000);
      const tsc = /9F4104([0-9]{8})/.exec(String(line['iccDataHex']))?.[1];
      expect(tsc, String(line['seq'])).toBe(String(first).padStart(8, '0'));
    }
    const acked = await journal(['ack', '--through', String(lastSeq), '--journal', journalDir]);
    expect(acked.code, acked.err.join('\n')).toBe(0);
    // A journal with records is never run on again.
    expect(await runSimCommand([...argv, '--journal', journalDir], io)).toBe(2);
    expect(simOut.at(-1)).toMatch(/is not empty \(a run writes a new journal, or starts on one/);
  }, 120_000);
});
