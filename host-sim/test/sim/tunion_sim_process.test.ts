// `shuaka sim` (what `npm start` runs) as a real process: the T-Union riders are approved with
// their boarding and alighting stops and balances, their money reaches the depot with every
// TAC valid, a deny-listed card is blocked with its block records in the journal, and
// `--psam none` refuses them with the no-PSAM screen, all checks passing.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = process.env['SHUAKA_SEED'] ?? '1';

function sim(extra: readonly string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, 'sim', '--seed', SEED, '--link', 'memory',
    ...extra], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe(`shuaka sim with T-Union riders (SHUAKA_SEED=${SEED})`, () => {
  it('approves them with boarding, alighting and balance; their money clears with valid TACs',
    () => {
      const run = sim([]);
      expect(run.code, `${run.out}\n${run.err}`).toBe(0);
      const taps = run.out.split('\n').filter((l) => / tunion-interop-\S+ +\d{20} +approved/
        .test(l));
      expect(taps.some((l) => /上车成功 \/ 扣款 0\.00元 \/ 余额 [\d.]+元 \/ 上车站 \d+/.test(l)))
        .toBe(true);
      expect(taps.some((l) => /下车成功 \/ 扣款 [1-9][\d.]*元 \/ 余额 [\d.]+元 \/ 下车站 \d+/
        .test(l))).toBe(true);
      const riders = run.out.split('\n').filter((l) => /^ {4}\d{20} +tunion-/.test(l));
      expect(riders.some((l) => /on at \d+, off at \d+ ¥\d+\.\d\d .*balance ¥/.test(l)))
        .toBe(true);
      const money = run.out.slice(run.out.indexOf('T-Union money per card'));
      const rows = money.split('\n').filter((l) => /^ {2}\d{20} /.test(l));
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        const [journal, depot, valid, card] = [...row.matchAll(/(\d+) (¥[\d.]+)|(\d+)\/(\d+)/g)]
          .map((m) => m[0]);
        expect([depot, card], row).toEqual([journal, journal]);
        const [ok, all] = (valid ?? '').split('/');
        expect(ok, row).toBe(all);
      }
    }, 300_000);

  it('blocks a deny-listed card: 黑名单卡, then 卡片已锁定, a pending and a blocked record', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'shuaka-sim-deny-')), 'journal');
    try {
      const run = sim(['--no-depot', '--journal', dir]);
      expect(run.code, `${run.out}\n${run.err}`).toBe(0);
      const taps = run.out.split('\n').filter((l) => / tunion-deny-listed /.test(l));
      expect(taps.some((l) => /denyList +「黑名单卡/.test(l)), taps.join('\n')).toBe(true);
      expect(taps.some((l) => /卡片已锁定 \/ 代码 08-25/.test(l)), taps.join('\n')).toBe(true);
      const blocked = /(\d+) deny-listed cards blocked/.exec(run.out);
      expect(Number(blocked?.[1] ?? 0)).toBeGreaterThan(0);
      const exported = spawnSync(process.execPath, [BIN, 'journal', 'export', '--journal', dir],
        { cwd: ROOT, encoding: 'utf8' });
      expect(exported.status, exported.stderr).toBe(0);
      const blocks = exported.stdout.split('\n').filter((l) => l.includes('"tunion_blocked"'))
        .map((l) => JSON.parse(l) as { seq: number; blockOutcome: string; pendingSeq?: number });
      const finals = blocks.filter((b) => b.blockOutcome === 'blocked');
      expect(finals.length).toBe(Number(blocked?.[1]));
      for (const final of finals) {
        const pending = blocks.find((b) => b.seq === final.pendingSeq);
        expect(pending?.blockOutcome, JSON.stringify(final)).toBe('pending');
      }
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  }, 300_000);

  it('--psam none refuses them with the no-PSAM screen and debits none', () => {
    const run = sim(['--psam', 'none', '--no-depot']);
    expect(run.code, `${run.out}\n${run.err}`).toBe(0);
    const taps = run.out.split('\n').filter((l) => / tunion-\S+ /.test(l) && /beep:/.test(l));
    expect(taps.length).toBeGreaterThan(0);
    for (const tap of taps) expect(tap).toContain('交易失败 / 不支持此卡 / 代码 04-76');
    expect(run.out).toMatch(/T-Union riders .*: \d+ cards, 0 card debits ¥0\.00, 0 final records/);
  }, 300_000);
});
