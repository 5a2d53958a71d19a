// A reader that stops early (`shuaka journal export | head -1`): the real CLI as a subprocess
// whose stdout pipe is closed after the first line. It must end as a program killed by
// SIGPIPE would (exit 141), with no stack trace, and the journal it read must be unchanged.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { card, clearing, recovery, writeJournalDir } from './journal_fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-pipe-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Enough finals that the export outgrows a pipe's buffer (64 KiB) many times over. */
function finals(count: number): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (let n = 1; n <= count; n += 1) {
    const pendingSeq = out.length + 1;
    out.push({ kind: 'pending', recovery: recovery(card(n), n), fareRule: 'flat',
      amountMinor: 200 });
    out.push({ kind: 'final', pendingSeq, clearing: clearing(card(n), n) });
  }
  return out;
}

async function filesDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(path)).sort()) {
    hash.update(name).update(await readFile(join(path, name)));
  }
  return hash.digest('hex');
}

describe('shuaka with its stdout closed early (subprocess)', () => {
  it('journalExportPipedToHead_exits141_withoutAStackTrace_andChangesNothing', async () => {
    const journal = await writeJournalDir(dir, 'journal', finals(600));
    const before = await filesDigest(journal);
    const child = spawn(process.execPath, [BIN, 'journal', 'export', '--journal', journal],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => { err += text; });
    let first = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      if (first !== '') return;
      first = text.split('\n')[0] ?? '';
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect((JSON.parse(first) as { seq: number }).seq).toBe(2);
    expect(code, err).toBe(141);
    expect(err).not.toMatch(/EPIPE|at .*\(|Unhandled/);
    expect(await filesDigest(journal)).toBe(before);
  }, 120_000);
});
