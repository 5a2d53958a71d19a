// A seeded bus line end to end: every card ledger matches the journal, and runs replay exactly.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkBusRun } from '../../src/sim/bus_checks.js';
import { BUS_RUN_DEFAULT, runBus, type TapLine } from '../../src/sim/bus_run.js';
import { formatTap, runSimCommand } from '../../src/sim/sim_cli.js';
import type { SimBoard } from '../../src/sim/sim_board.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 4);

function outline(lines: readonly TapLine[]): string[] {
  return lines.map((l) => `${formatTap(l)} ${l.report?.journalSeqs.join(',') ?? ''}`);
}

describe(`bus run (seed ${SEED})`, () => {
  it('charges every debit once, records every debit, never debits refused cards', async () => {
    // The e-cash-heavy mix: many torn e-cash debits to recover, phones admitted beside them.
    const run = await runBus(
      { ...BUS_RUN_DEFAULT, populationKind: 'default', seed: SEED, riders: 120, tornChance: 0.3 },
      () => undefined,
    );
    try {
      const check = checkBusRun(run);
      expect(check.violations, `seed ${SEED}`).toEqual([]);
      const results = new Set(run.taps.map((t) => t.report?.result));
      // The population exercises approvals, declines, torn taps and repeats in one run.
      // Auto mode: e-cash cards pay offline, the other genuine cards are admitted.
      const expected = ['approved', 'admitted', 'declined', 'tryAgain', 'alreadyPaid', 'denyList'];
      for (const result of expected) {
        expect(results.has(result as never), `${result} in seed ${SEED}`).toBe(true);
      }
      expect(
        run.taps.every((t) => t.report !== null),
        `every tap answered, seed ${SEED}`,
      ).toBe(true);
      expect(check.debits).toBeGreaterThan(10);
      expect(
        run.taps.some((t) => t.report?.recovered === true),
        `a torn tap recovered, seed ${SEED}`,
      ).toBe(true);
    } finally {
      run.board.dispose();
    }
  });

  it('npm start default: auto mode on the realistic line refuses no genuine card', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const argv = ['--seed', String(SEED), '--riders', '80', '--link', 'memory', '--quiet'];
    expect(await runSimCommand(argv, io), out.join('\n')).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('auto mode');
    expect(text).toContain('no genuine card refused');
    expect(text).not.toContain('NaN');
    // Most riders are admitted (ordinary cards, phones), a minority pays from e-cash.
    const admitted = Number(
      /to be authorised \(admitted, nothing debited yet\): (\d+)/.exec(text)?.[1],
    );
    const paid = Number(/paid offline \(e-cash, money moved at the tap\): (\d+)/.exec(text)?.[1]);
    expect(admitted, text).toBeGreaterThan(paid);
    expect(paid, text).toBeGreaterThan(0);
  });

  it('--population sm: SM (national cryptography) cards ride, pay, are admitted and settle', async () => {
    // The SM cards had no command to ride them: only kernel tests tapped them. Here the
    // board's parameter set carries the SM CA key, so SM-only cards pass SM fDDA (a
    // validator without it refuses them: qpboc_sm.test.ts), and the money loop settles them.
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const argv = ['--seed', '3', '--riders', '150', '--population', 'sm', '--link', 'memory'];
    expect(await runSimCommand(argv, io), out.join('\n')).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('no genuine card refused');
    const taps = (name: string): string[] => text.split('\n')
      .filter((l) => new RegExp(`#\\s*\\d+ ${name} `).test(l))
      .map((l) => /(approved|admitted|declined|tryAgain|alreadyPaid)/.exec(l)?.[1] ?? '?');
    expect(taps('sm-ec')).toContain('approved');
    expect(taps('sm-oda-online')).toContain('admitted');
    expect(taps('rsa-and-sm-ec')).toContain('approved');
    for (const name of ['sm-ec', 'sm-oda-online']) expect(taps(name)).not.toContain('declined');
    expect(text).toMatch(/money checks: every card's money equals its ledger/);
  });

  it('a purse ridden down to below the fare is refused, and that is no violation', async () => {
    // One card group on the e-cash mix: seed 10's debit card (92.00 yuan) is tapped so often
    // that its purse runs out within 1,000 riders (`shuaka sim --seed 7 --riders 5000` did the
    // same with four groups, and the run ended in a false correctness failure).
    const run = await runBus(
      { ...BUS_RUN_DEFAULT, populationKind: 'default', seed: 10, riders: 1000, cardGroups: 1,
        tornChance: 0 },
      () => undefined,
    );
    try {
      expect(checkBusRun(run).violations).toEqual([]);
      // The card's own purse (the twin's) is what says it ran out.
      const card = run.pool.cards.find((c) => c.name === 'unionpay-debit-ec')?.card;
      expect(card?.balanceMinor()).toBeLessThan(200);
      const short = run.taps.filter((t) => t.purseShort === true && t.report?.result === 'declined'
        && t.report.reason === 'insufficient-ecash' && t.cardName === 'unionpay-debit-ec');
      expect(short.length).toBeGreaterThan(0);
    } finally {
      run.board.dispose();
    }
  });

  it('keeps no wire bytes, RF timings or display frames as the line runs', async () => {
    // They grew a run by ~170 KB a tap: `shuaka sim --riders 5000` held 1.1 GB at the end.
    const run = await runBus({ ...BUS_RUN_DEFAULT, seed: SEED, riders: 30 }, () => undefined);
    try {
      expect(run.taps.filter((t) => t.report !== null).length).toBeGreaterThan(20);
      // The memory link's board (createSimBoard) has the rig.
      const { rig } = run.board as SimBoard;
      expect(rig.line.stats('host-to-device').bytes).toBeGreaterThan(0);
      expect(rig.line.transcript()).toEqual([]);
      expect(rig.sim.exchangeTimings()).toEqual([]);
      expect(run.board.screen.frames).toEqual([]);
    } finally {
      run.board.dispose();
    }
  });

  it('replays the same seed exactly', async () => {
    const first = await runBus({ ...BUS_RUN_DEFAULT, seed: SEED, riders: 25 }, () => undefined);
    const second = await runBus({ ...BUS_RUN_DEFAULT, seed: SEED, riders: 25 }, () => undefined);
    first.board.dispose();
    second.board.dispose();
    expect(outline(second.taps)).toEqual(outline(first.taps));
  });

  it('answers bad flags with usage and exit code 2', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (t: string) => err.push(t) };
    expect(await runSimCommand(['--riders', 'many'], io)).toBe(2);
    expect(await runSimCommand(['--baud', '1200'], io)).toBe(2);
    expect(await runSimCommand(['--mode', 'cash'], io)).toBe(2);
    expect(await runSimCommand(['--bogus'], io)).toBe(2);
    expect(err.join('\n')).toContain('Usage: shuaka sim');
  });

  it('runs from the command line, reports a correct run and logs JSON lines', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const dir = mkdtempSync(join(tmpdir(), 'shuaka-sim-log-'));
    try {
      const log = join(dir, 'sim.jsonl');
      const argv = ['--seed', String(SEED), '--riders', '12', '--link', 'memory', '--log', log];
      expect(await runSimCommand(argv, io)).toBe(0);
      expect(out.join('\n')).toContain('no double charge');
      const events = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events.some((e) => e.event === 'tap')).toBe(true);
      // Every PAN in the log is masked: 6 digits, stars, 4 digits.
      const text = readFileSync(log, 'utf8');
      expect(text).not.toMatch(/(?<![\d.])\d{11,19}(?!\d)/);
      expect(text).toMatch(/\d{6}\*+\d{4}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
