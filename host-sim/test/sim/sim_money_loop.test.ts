// `shuaka sim` (what `npm start` runs) as a real process: after the ride the validator uploads
// to a depot on SQLite over HTTPS, the depot settles with the acquirer simulator over TCP, and
// the output ends with the money per card. Truth: the journal the run leaves in --journal DIR,
// exported by `shuaka journal export` (what was tapped, card by card), and the scenario's
// one emptied issuer account (every other admission is authorised, every e-cash tap cleared).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runSimCommand } from '../../src/sim/sim_cli.js';
import { maskPan } from '../../src/sim/sim_money_summary.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = Number(process.env['SHUAKA_SEED'] ?? 3);

interface Cell {
  readonly count: number;
  readonly minor: number;
}

interface Row {
  readonly tapped: Cell;
  readonly authorised: Cell;
  readonly cleared: Cell;
  readonly settledMinor: number;
  readonly declined: Cell;
  readonly denied: boolean;
  readonly outstanding: Cell;
}

const NONE: Cell = { count: 0, minor: 0 };

function minorOf(text: string): number {
  return Math.round(Number(text.replace('¥', '')) * 100);
}

function cellOf(text: string): Cell {
  const match = /^(\d+) (¥[0-9.]+)/.exec(text);
  return match === null ? NONE : { count: Number(match[1]), minor: minorOf(match[2] ?? '') };
}

/** The rows of the money table, by masked PAN (the output never holds a clear PAN). */
function moneyRows(out: string): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const line of out.split('\n')) {
    const head = /^ {2}(\d{6}\*+\d{4}) +(\S+) +(.*)$/.exec(line);
    if (head === null) continue;
    const cells = (head[3] ?? '').match(/\d+ ¥\d+\.\d{2}(?:, deny)?|¥\d+\.\d{2}|-/g) ?? [];
    expect(cells, line).toHaveLength(6);
    const at = (i: number): string => cells[i] ?? '-';
    expect(rows.has(head[1] ?? ''), `masked PAN ${head[1]} twice`).toBe(false);
    rows.set(head[1] ?? '', {
      tapped: cellOf(at(0)), authorised: cellOf(at(1)), cleared: cellOf(at(2)),
      settledMinor: at(3) === '-' ? 0 : minorOf(at(3)), declined: cellOf(at(4)),
      denied: at(4).endsWith(', deny'), outstanding: cellOf(at(5)),
    });
  }
  return rows;
}

interface ExportLine {
  readonly type: string;
  readonly pan: string;
  readonly amountMinor: number;
  readonly cryptogramType: 'TC' | 'ARQC';
}

let dir = '';
let sim = { code: null as number | null, out: '', err: '' };
let exported: ExportLine[] = [];
let privateTmp = '';

function shuaka(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8',
    timeout: 240_000, env });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-money-'));
  privateTmp = join(dir, 'tmp');
  mkdirSync(privateTmp);
  // The depot's temporary directory goes to a TMPDIR of its own: it must be gone at the end.
  sim = shuaka(['sim', '--seed', String(SEED), '--riders', '40', '--link', 'memory', '--quiet',
    '--journal', join(dir, 'journal')], { ...process.env, TMPDIR: privateTmp });
  const listed = shuaka(['journal', 'export', '--journal', join(dir, 'journal')]);
  expect(listed.code, listed.err).toBe(0);
  exported = listed.out.trim().split('\n').map((l) => JSON.parse(l) as ExportLine)
    .filter((l) => l.type === 'clearing');
}, 300_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe(`shuaka sim money loop, real process (seed ${SEED})`, () => {
  it('uploadsOverHttps_settles_andRemovesItsTemporaryDepot', () => {
    expect(sim.code, `${sim.out}\n${sim.err}`).toBe(0);
    expect(sim.out).toMatch(new RegExp('depot: SQLite in a temporary directory, reached at '
      + 'https://127\\.0\\.0\\.1:\\d+ \\(HTTPS, mutual TLS\\)'));
    const upload = /upload: (\d+) records in \d+ batch(?:es)?, (\d+) stored, 0 duplicates/
      .exec(sim.out);
    expect(upload?.[2], sim.out).toBe(upload?.[1]);
    expect(readdirSync(privateTmp)).toEqual([]);
    expect(sim.out).toContain('money checks: every card\'s money equals its ledger');
  });

  it('tappedPerCard_equalsTheJournalsExport', () => {
    const rows = moneyRows(sim.out);
    const truth = new Map<string, Cell>();
    for (const line of exported) {
      const key = maskPan(line.pan);
      const was = truth.get(key) ?? NONE;
      truth.set(key, { count: was.count + 1, minor: was.minor + line.amountMinor });
    }
    expect(truth.size).toBeGreaterThan(5);
    expect(new Map([...rows].map(([key, row]) => [key, row.tapped]))).toEqual(truth);
  });

  it('everyTapAuthorisedOrClearedOnce_butTheEmptiedAccountsDeclinedIntoADebt', () => {
    const rows = moneyRows(sim.out);
    const emptied = /the issuer account of (\d{6}\*+\d{4}) \(\S+\) is empty/.exec(sim.out)?.[1];
    expect(emptied, sim.out).toBeDefined();
    for (const [pan, row] of rows) {
      const lines = exported.filter((l) => maskPan(l.pan) === pan);
      const sum = (type: 'TC' | 'ARQC'): Cell => {
        const of = lines.filter((l) => l.cryptogramType === type);
        return { count: of.length, minor: of.reduce((s, l) => s + l.amountMinor, 0) };
      };
      // An e-cash purse paid at the tap: its clearing advice is honoured whatever the account.
      expect(row.cleared, pan).toEqual(sum('TC'));
      if (pan === emptied) {
        expect(row.authorised, pan).toEqual(NONE);
        expect(row.declined.count, pan).toBeGreaterThan(0);
        expect(row.declined.count + row.outstanding.count, pan).toBe(sum('ARQC').count);
        expect(row.declined.minor + row.outstanding.minor, pan).toBe(sum('ARQC').minor);
        expect(row.denied, pan).toBe(true);
      } else {
        expect(row.authorised, pan).toEqual(sum('ARQC'));
        expect(row.declined, pan).toEqual(NONE);
        expect(row.outstanding, pan).toEqual(NONE);
      }
      expect(row.settledMinor, pan).toBe(row.authorised.minor + row.cleared.minor);
    }
  });

  it('totalsReconcile_tappedEqualsSettledPlusDeclinedPlusOutstanding', () => {
    const tapped = exported.reduce((s, l) => s + l.amountMinor, 0);
    const money = '(¥[0-9.]+)';
    const line = new RegExp(`reconciled: tapped ${money} = settled ${money} \\+ declined `
      + `${money} \\(open debt ${money}\\) \\+ outstanding ${money}`).exec(sim.out);
    expect(line, sim.out).not.toBeNull();
    const [t, settled, declined, debt, outstanding] = (line ?? []).slice(1).map(minorOf);
    expect(t).toBe(tapped);
    expect((settled ?? 0) + (declined ?? 0) + (outstanding ?? 0)).toBe(tapped);
    expect(debt).toBe(declined);
    expect(declined).toBeGreaterThan(0);
  });

  it('noDepot_skipsTheLoop_andHelpDocumentsIt', () => {
    const quick = shuaka(['sim', '--seed', String(SEED), '--riders', '3', '--link', 'memory',
      '--quiet', '--no-depot']);
    expect(quick.code, quick.err).toBe(0);
    expect(quick.out).not.toContain('money per card');
    expect(quick.out).toContain('checks: no double charge');
    expect(shuaka(['sim', '--help']).out).toContain('--no-depot');
  });

  it('withoutTheHttpsTransport_theSameLoopRunsInProcess_andReconciles', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const argv = ['--seed', String(SEED), '--riders', '40', '--link', 'memory', '--quiet'];
    expect(await runSimCommand(argv, io), out.join('\n')).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('reached at in process (no HTTPS transport)');
    // Same seed, same ride, same money: the transport changes nothing of it.
    const table = (t: string): string[] => t.split('\n').filter((l) => /^ {2}\d{6}\*/.test(l));
    expect(table(text)).toEqual(table(sim.out));
    expect(table(text).length).toBeGreaterThan(5);
  }, 120_000);
});
