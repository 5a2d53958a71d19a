// The HTML report renders in headless Chromium with bars and histograms that match the data.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTools } from '../../assembly/test/support/tools.js';
import { LATENCY_SCENARIOS, runLatencyScenario } from '../e2e_latency.js';
import { renderHtml } from '../report/report_html.js';
import {
  BENCH_RESULT_SCHEMA,
  type BenchResult,
  type ScenarioResult,
} from '../report/report_types.js';
import { decodePng } from './png_pixels.js';

const SEED = 7;
const CHROMIUM = 'chromium';
let dir = '';
let scenarios: ScenarioResult[] = [];
let htmlPath = '';

function chromium(dirPath: string, ...args: string[]): string {
  const run = spawnSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${join(dirPath, 'profile')}`,
      '--window-size=1200,1800',
      ...args,
      `file://${htmlPath}`,
    ],
    { encoding: 'utf8', timeout: 60_000, maxBuffer: 32 << 20 },
  );
  if (run.status !== 0) throw new Error(`chromium failed: ${run.stderr}`);
  return run.stdout;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-report-'));
  const chosen = LATENCY_SCENARIOS.filter((s) => s.id === 'base' || s.id === 'baud-115200');
  for (const s of chosen) scenarios.push(await runLatencyScenario(s, 4, SEED));
  const result: BenchResult = {
    schema: BENCH_RESULT_SCHEMA,
    createdAt: '2026-11-24T00:00:00.000Z',
    machine: { node: process.version, arch: process.arch, cpu: 'test', cores: 2 },
    seed: SEED,
    tapsPerScenario: 4,
    suites: ['e2e'],
    scenarios,
    burst: null,
    footprint: null,
    micro: [],
  };
  htmlPath = join(dir, 'report.html');
  writeFileSync(htmlPath, renderHtml(result));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe(`HTML report in headless Chromium (seed ${SEED})`, () => {
  it('dumpDom_hasOneStackedBarAndOneHistogramPerScenario', () => {
    if (!requireTools('report render check', [CHROMIUM])) return;
    const dom = chromium(dir, '--dump-dom');
    expect(dom).toContain('shuaka tap benchmark');
    expect(dom.match(/class="seg"/g)?.length).toBe(scenarios.length * 7);
    expect(dom.match(/class="bin"/g)?.length).toBe(scenarios.length * 25);
    // The card and RF segments of the first bar are drawn in proportion to their medians.
    const widths = [...dom.matchAll(/class="seg" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map(
      (m) => Number(m[1]),
    );
    const base = scenarios[0];
    if (base === undefined) throw new Error('no scenario');
    const rfWidth = widths[2] ?? 0;
    const cardWidth = widths[3] ?? 0;
    const expected = base.phasesMs.card.median / base.phasesMs.rf.median;
    expect(cardWidth / rfWidth).toBeCloseTo(expected, 1);
  });

  it('screenshot_isNotBlankAndShowsThePhaseColours', () => {
    if (!requireTools('report render check', [CHROMIUM])) return;
    const png = join(dir, 'report.png');
    chromium(dir, `--screenshot=${png}`);
    const image = decodePng(readFileSync(png));
    expect(image.width).toBe(1200);
    let ink = 0;
    let cardGreen = 0;
    let rfBlue = 0;
    const near = (r: number, g: number, b: number, c: readonly number[]): boolean =>
      Math.abs(r - (c[0] ?? 0)) + Math.abs(g - (c[1] ?? 0)) + Math.abs(b - (c[2] ?? 0)) < 12;
    for (let i = 0; i < image.pixels.length; i += image.channels) {
      const r = image.pixels[i] ?? 0;
      const g = image.pixels[i + 1] ?? 0;
      const b = image.pixels[i + 2] ?? 0;
      if (r + g + b < 720) ink += 1;
      if (near(r, g, b, [0x00, 0x9e, 0x73])) cardGreen += 1;
      if (near(r, g, b, [0x56, 0xb4, 0xe9])) rfBlue += 1;
    }
    const pixels = image.width * image.height;
    expect(ink / pixels).toBeGreaterThan(0.03);
    // Two bars of about 24 px height: card and RF segments are hundreds of pixels each.
    expect(cardGreen).toBeGreaterThan(2000);
    expect(rfBlue).toBeGreaterThan(2000);
  });
});
