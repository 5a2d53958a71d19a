// `shuaka depot serve` as a real process (the build: `npm run build`), its peak resident memory
// read from the kernel (/proc/PID/status VmHWM, Linux): validators upload batches of whatever
// size their backlog has, so a depot meets every size from 1 to 500. Two servers take the
// same taps, one in batches of every size 1..SIZES, the other in batches of one size; their
// peaks must not differ by more than a bound well above the run-to-run spread. Before, SQLite
// kept one multi-row INSERT statement prepared per distinct row count (about 1.9 KiB per row
// of VALUES, 264 MiB for 1..500) for the process's life: the two peaks were 144 MiB apart.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, clearingLine, clearingOf } from './ingest_fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const TERMINAL = 'SIM00001';
/** Batch sizes 1..SIZES: 51,360 taps, the same count as 321 batches of 160. */
const SIZES = 320;
const FIXED_SIZE = 160;
/**
 * What the varied server may hold above the fixed one. Same taps, same file: 11-17 MiB apart
 * in five runs (its largest batches are twice as large); 144 MiB before the fix.
 */
const PEAK_SPREAD_MIB_MAX = 40;
const temp = mkdtempSync(join(tmpdir(), 'shuaka-ingest-memory-'));
const dir = join(temp, 'depot');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(temp, { recursive: true, force: true });
});

function shuaka(...args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, 'depot', ...args], { encoding: 'utf8',
    cwd: ROOT });
  if (r.status !== 0) throw new Error(`shuaka depot ${args[0] ?? ''}: ${r.stderr}`);
}

function serve(db: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'depot', 'serve', '--dir', dir, '--db', db,
    '--port', '0', '--host', '127.0.0.1'], { cwd: ROOT });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening https:\/\/[^:]+:(\d+)/.exec(out);
      if (m !== null) resolve({ child, port: Number(m[1]) });
    });
    child.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('exit', (code) => reject(new Error(`serve exited ${String(code)}: ${out}`)));
  });
}

/** Peak resident set of `pid` in MiB (VmHWM: the kernel's high-water mark). */
function peakMib(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmHWM for process ${pid}`);
  return Number(match[1]) / 1024;
}

/** Posts `sizes` consecutive batches of the lines; resolves with the server's peak, MiB. */
async function ingestPeakMib(db: string, lines: readonly unknown[],
  sizes: readonly number[]): Promise<number> {
  const { child, port } = await serve(db);
  const client = { key: readFileSync(join(temp, 'term', `${TERMINAL}.key`)),
    cert: readFileSync(join(temp, 'term', `${TERMINAL}.pem`)) };
  const ca = readFileSync(join(dir, 'ca.pem'));
  let first = 1;
  for (const size of sizes) {
    const records = lines.slice(first - 1, first - 1 + size);
    const answer = await call(port, ca, client, 'POST', '/v1/batches', JSON.stringify({
      terminalId: TERMINAL, firstSeq: first, throughSeq: first + size - 1, records }));
    expect(answer).toMatchObject({ status: 200, json: { stored: size, duplicates: 0 } });
    first += size;
  }
  const peak = peakMib(child.pid ?? 0);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return peak;
}

describe('depot serve memory (process)', () => {
  it('batchesOfEverySize_peakNoHigherThanOneSize_forTheSameTaps', async () => {
    shuaka('init', '--dir', dir);
    const [varied, fixed] = [join(temp, 'varied.sqlite'), join(temp, 'fixed.sqlite')];
    shuaka('terminal', 'add', '--db', varied, '--id', TERMINAL, '--route', 'R12', '--dir', dir,
      '--out', join(temp, 'term'));
    shuaka('terminal', 'add', '--db', fixed, '--id', TERMINAL, '--route', 'R12', '--cert',
      join(temp, 'term', `${TERMINAL}.pem`));
    const variedSizes = Array.from({ length: SIZES }, (_, i) => i + 1);
    const taps = variedSizes.reduce((sum, size) => sum + size, 0);
    expect(taps % FIXED_SIZE).toBe(0);
    const lines = Array.from({ length: taps }, (_, i) =>
      clearingLine(i + 1, clearingOf(i + 1, 100 + i, TERMINAL)));
    const [variedMib, fixedMib] = await Promise.all([
      ingestPeakMib(varied, lines, variedSizes),
      ingestPeakMib(fixed, lines, Array.from({ length: taps / FIXED_SIZE }, () => FIXED_SIZE)),
    ]);
    expect(variedMib - fixedMib, `peaks ${variedMib.toFixed(0)} MiB (sizes 1..${SIZES}) `
      + `vs ${fixedMib.toFixed(0)} MiB (all ${FIXED_SIZE})`).toBeLessThan(PEAK_SPREAD_MIB_MAX);
  }, 240_000);
});
