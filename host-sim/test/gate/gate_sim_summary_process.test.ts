// `shuaka sim --board gate` as a real process: its summary's closed-lane counts agree with the
// visit lines it printed. A lane kept closed by the gate's own rules shows a gate message
// (passback, capacity, ticket dates, opening hours); one closed before the rules shows the
// card's refusal or a try-again.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
/** The gate's rule screens (display_text.ts GATE_TEXT titles), none of them a card's refusal. */
const RULE_TITLES = ['已入园', '今日已满', '本时段已满', '门票已过期', '未到入园日期', '非预约时段',
  '非开放时间', '无有效门票'];

describe('shuaka sim --board gate summary', () => {
  it.each(['3', '8'])('seed %s: kept closed = closed visits, split by the screens shown', (seed) => {
    const r = spawnSync(process.execPath, [BIN, 'sim', '--board', 'gate', '--seed', seed],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const visits = r.stdout.split('\n').filter((l) => /^ +[\d.]+s # *\d+ /.test(l));
    const closed = visits.filter((l) => / closed, /.test(l));
    const byRule = closed.filter((l) => RULE_TITLES.some((t) => l.includes(`「${t} /`)));
    const summary = /(\d+) kept closed \((\d+) by the gate's rules, (\d+) before them/
      .exec(r.stdout);
    expect(summary, r.stdout).not.toBeNull();
    expect(summary?.slice(1).map(Number)).toEqual(
      [closed.length, byRule.length, closed.length - byRule.length]);
  }, 120_000);
});
