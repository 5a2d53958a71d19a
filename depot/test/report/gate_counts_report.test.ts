// `shuaka depot report --gate-ledger DIR` as a real process on the ledger of a seeded gate
// day: the hourly CSV adds up to the day's checked counts; a flipped byte is refused.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { checkGateRun } from '../../../host-sim/src/sim/gate_checks.js';
import { GATE_RUN_DEFAULT, runGate } from '../../../host-sim/src/sim/gate_run.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const temp = mkdtempSync(join(tmpdir(), 'shuaka-gate-report-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function report(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [BIN, 'depot', 'report', ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('shuaka depot report --gate-ledger', () => {
  it('hourlyCsv_addsUpToTheCheckedGateDay_andAFlippedByteIsRefused', async () => {
    const run = await runGate({ ...GATE_RUN_DEFAULT, seed: 8 }, () => undefined);
    run.board.dispose();
    const check = checkGateRun(run);
    expect(check.violations).toEqual([]);
    for (const [name, bytes] of run.ledgerStorage.durableFiles()) {
      writeFileSync(join(temp, name), bytes);
    }
    const r = report('--gate-ledger', temp, '--day', '2026-11-22');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split(/\r?\n/);
    expect(lines[0]).toBe('day,hour,ticket_entries,paid_entries,exits,tailgates,refusals');
    const sum = (col: number): number =>
      lines.slice(1).reduce((n, line) => n + Number(line.split(',')[col]), 0);
    expect([sum(2), sum(3), sum(4), sum(5), sum(6)]).toEqual([
      check.ticketEntries, check.paidEntries, check.exits, check.tailgates, check.refusals,
    ]);
    const file = join(temp, 'gate-2026-11-22.log');
    const bytes = readFileSync(file);
    bytes[40] = (bytes[40] ?? 0) ^ 0x01;
    writeFileSync(file, bytes);
    const bad = report('--gate-ledger', temp);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/gate-2026-11-22\.log line 1: check value mismatch/);
  });

  it('names a flag the gate counts do not take, exit 2, instead of ignoring it', () => {
    // Before: --db, --section and --tac-keys were dropped silently beside --gate-ledger (the
    // ledger's counts printed, exit 0), --format html fell to "--db is required", and a bad
    // --gate-terminal printed the usage without saying what was wrong.
    const dir = join(temp, 'flags');
    mkdirSync(dir);
    writeFileSync(join(dir, 'gate-2026-11-22.log'), '');
    const db = join(temp, 'flags.db');
    const cases: [string[], string][] = [
      [['--gate-ledger', dir, '--db', db], '--db does not apply to --gate-ledger'],
      [['--gate-ledger', dir, '--format', 'html'], '--format html: the gate counts are csv'],
      [['--gate-ledger', dir, '--section', 'tunion'], '--section does not apply to --gate-ledger'],
      [['--gate-ledger', dir, '--tac-keys', db], '--tac-keys does not apply to --gate-ledger'],
      [['--db', db, '--gate-terminal', 'all', '--gate-ledger', dir],
        '--gate-ledger does not apply to --gate-terminal'],
      [['--db', db, '--gate-terminal', 'all', '--format', 'text'],
        '--format text: the gate counts are csv'],
      [['--db', db, '--gate-terminal', 'GATE 01'],
        '--gate-terminal GATE 01: a terminal ID (1..64 printable characters, no space) or all'],
    ];
    for (const [args, problem] of cases) {
      const r = report(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0], args.join(' ')).toBe(`shuaka depot report: ${problem}`);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(existsSync(db)).toBe(false);
  });

  it('refuses a directory without a ledger, and names a --day that is no date', () => {
    const empty = join(temp, 'not-a-ledger');
    mkdirSync(empty);
    writeFileSync(join(empty, 'notes.txt'), 'hello\n');
    const none = report('--gate-ledger', empty);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain(`no gate ledger file (gate-YYYY-MM-DD.log) in ${empty}`);
    expect(none.stdout).toBe('');
    for (const day of ['2026-13-40', '2026-02-30', '26-11-22']) {
      const bad = report('--gate-ledger', temp, '--day', day);
      expect(bad.status).toBe(2);
      expect(bad.stderr.split('\n')[0]).toBe(
        `shuaka depot report: --day ${day}: a calendar date, YYYY-MM-DD`);
    }
  });
});
