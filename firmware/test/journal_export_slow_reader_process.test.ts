// `shuaka journal export` to stdout, a real process, read by a reader that stops for a while
// (a pipe to a slow upload link): the export waits for it. It used to go on reading the
// journal into stdout's buffer until its bounded heap ran out (exit 134, a line cut in half)
// once it was more than ~20 MB ahead of the reader. The truth: every line parses, their
// number is what the export says, and the process exits 0.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { buildJournal } from '../../bench/journal_bench.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const temp = mkdtempSync(join(tmpdir(), 'shuaka-export-slow-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** Runs the export; its stdout is not read for `pauseMs`, then read whole. */
function exportPaused(dir: string, pauseMs: number)
  : Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('node', [BIN, 'journal', 'export', '--journal', dir], { cwd: ROOT });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdout.pause();
    setTimeout(() => {
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.stdout.resume();
    }, pauseMs);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(chunks), stderr }));
  });
}

describe('shuaka journal export to a slow reader (process)', () => {
  it('waitsForAReaderThatStops_allLinesWhole_exit0', async () => {
    const dir = join(temp, 'journal');
    // 10^5 records: about 48 MB of export lines, more than the export's heap (16 MB old space).
    await buildJournal(dir, 100_000);
    const run = await exportPaused(dir, 8_000);
    expect(run.code, run.stderr).toBe(0);
    const text = run.stdout.toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    for (const line of lines) {
      expect(() => JSON.parse(line) as unknown, line.slice(0, 80)).not.toThrow();
    }
    const said = /exported (\d+) lines/.exec(run.stderr);
    expect(said, run.stderr).not.toBeNull();
    expect(lines.length).toBe(Number(said?.[1]));
    expect(lines.length).toBeGreaterThan(40_000);
  }, 120_000);
});
