// `shuaka bench`: flags, the JSON document, and --compare on a rerun with the same seed.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBenchArgs, runBenchCommand } from '../bench_cli.js';
import { readBenchResult } from '../report/report_compare.js';

const dir = mkdtempSync(join(tmpdir(), 'shuaka-bench-cli-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function capture(): { io: { out(t: string): void; err(t: string): void }; text: () => string } {
  const lines: string[] = [];
  return {
    io: { out: (t) => lines.push(t), err: (t) => lines.push(t) },
    text: () => lines.join('\n'),
  };
}

describe('shuaka bench', () => {
  it('parseBenchArgs_rejectsUnknownSuitesAndBadNumbers', () => {
    expect(() => parseBenchArgs(['--only', 'nope'])).toThrow(/unknown suite nope/);
    expect(() => parseBenchArgs(['--taps', '0'])).toThrow(/--taps/);
    expect(() => parseBenchArgs(['--taps'])).toThrow(/needs a value/);
    expect(() => parseBenchArgs(['--frobnicate', '1'])).toThrow(/unknown option/);
    // Alone or before another flag, a misspelt flag is still unknown, not "needs a value".
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/unknown option --frobnicate/);
    expect(() => parseBenchArgs(['--tap', '--seed', '1'])).toThrow(/unknown option --tap$/);
    expect(() => parseBenchArgs(['--taps', '5', '--taps', '6']))
      .toThrow('--taps given twice: give it once');
    expect(parseBenchArgs(['--only', 'e2e,burst', '--taps', '7']).taps).toBe(7);
  });

  it('badArguments_exitWith2BeforeRunningAnything', async () => {
    const { io, text } = capture();
    expect(await runBenchCommand(['--scenario', 'warp'], io)).toBe(2);
    expect(text()).toContain('usage: shuaka bench');
    const missing = join(dir, 'missing.json');
    expect(await runBenchCommand(['--compare', missing], io)).toBe(2);
  });

  it('sameSeedRerun_comparesWithZeroChangeInSimulatedTime', async () => {
    const json = join(dir, 'a.json');
    const html = join(dir, 'a.html');
    const first = capture();
    const args = ['--only', 'e2e', '--scenario', 'base', '--taps', '3', '--seed', '5'];
    expect(await runBenchCommand([...args, '--json', json, '--html', html], first.io)).toBe(0);
    const saved = readBenchResult(json);
    expect(saved.scenarios.map((s) => s.id)).toEqual(['base']);
    expect(saved.scenarios[0]?.taps).toBe(3);
    expect(readFileSync(html, 'utf8')).toContain('<svg');
    const second = capture();
    const again = [...args, '--json', join(dir, 'b.json'), '--html', join(dir, 'b.html')];
    expect(await runBenchCommand([...again, '--compare', json], second.io)).toBe(0);
    // Simulated time is deterministic per seed; real (own) times are free to move.
    expect(second.text()).toMatch(/base latency median +[\d.]+ -> +[\d.]+ ms +\+0\.0 %/);
  });
});
