// `shuaka journal verify` and `export`, real processes, on a journal `shuaka sim --journal`
// wrote with bank and T-Union riders and then acknowledged part way: verify's count of the
// clearing records not yet acknowledged is the number of clearing lines export writes (bank
// `clearing` and T-Union `tunion_clearing`), before and after the ack.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const temp = mkdtempSync(join(tmpdir(), 'shuaka-verify-counts-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function shuaka(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The export's lines by type, from the JSON itself. */
function exportedTypes(dir: string): { types: string[]; seqs: number[] } {
  const r = shuaka('journal', 'export', '--journal', dir);
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n').filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { type: string; seq: number });
  return { types: lines.map((l) => l.type), seqs: lines.map((l) => l.seq) };
}

function verifiedCount(dir: string): number {
  const r = shuaka('journal', 'verify', '--journal', dir);
  expect(r.status, r.stderr).toBe(0);
  const m = /unacknowledged clearing records (\d+)/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return Number(m?.[1]);
}

const isClearing = (type: string): boolean => type === 'clearing' || type === 'tunion_clearing';

describe('shuaka journal verify vs export (process)', () => {
  it('verifyCountsEveryClearingLineExportWrites_bankAndTunion_beforeAndAfterAnAck', () => {
    const dir = join(temp, 'journal');
    const sim = shuaka('sim', '--seed', '7', '--riders', '30', '--link', 'memory', '--quiet',
      '--no-depot', '--journal', dir);
    expect(sim.status, sim.stdout + sim.stderr).toBe(0);
    const before = exportedTypes(dir);
    expect(before.types).toContain('tunion_clearing');
    expect(verifiedCount(dir)).toBe(before.types.filter(isClearing).length);
    // Acknowledge through a seq that leaves T-Union and bank clearing lines on either side.
    const tunionSeqs = before.seqs.filter((_, i) => before.types[i] === 'tunion_clearing');
    const through = tunionSeqs[Math.floor(tunionSeqs.length / 2)] ?? 0;
    const acked = shuaka('journal', 'ack', '--through', String(through), '--journal', dir);
    expect(acked.status, acked.stderr).toBe(0);
    const after = exportedTypes(dir);
    expect(after.types).toContain('tunion_clearing');
    expect(after.types).toContain('clearing');
    expect(verifiedCount(dir)).toBe(after.types.filter(isClearing).length);
  }, 120_000);
});
