// The HTML report: one self-contained page with SVG charts (no script, no external file).
//
// Charts: a stacked bar per scenario (median ms of each simulated phase, our own real time as
// a last segment, the 250 ms target as a line) and a latency histogram per scenario.

import type { BenchResult, PhaseName, ScenarioResult } from './report_types.js';
import { burstLines, footprintLines, OWN_LABELS, PHASE_LABELS } from './report_table.js';

/** End-to-end target of performance.md, ms. */
export const TARGET_TAP_MS = 250;

const PHASES: readonly PhaseName[] = ['detect', 'uart', 'rf', 'card', 'display', 'other'];

/** Colour-blind-safe palette (Okabe-Ito), one colour per phase, then our own time. */
const COLOURS: Readonly<Record<PhaseName | 'own', string>> = {
  detect: '#999999',
  uart: '#E69F00',
  rf: '#56B4E9',
  card: '#009E73',
  display: '#CC79A7',
  other: '#F0E442',
  own: '#D55E00',
};

function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function f1(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : '-';
}

/** A round axis maximum at or above `x` (1, 2 or 5 times a power of ten). */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function legend(x: number, y: number): string {
  const items: [string, string][] = [
    ...PHASES.map((p) => [PHASE_LABELS[p], COLOURS[p]] as [string, string]),
    ['own (real CPU + fsync)', COLOURS.own],
  ];
  return items
    .map(([label, colour], i) => {
      const lx = x + (i % 4) * 190;
      const ly = y + Math.floor(i / 4) * 20;
      return (
        `<rect x="${lx}" y="${ly}" width="14" height="14" fill="${colour}"/>` +
        `<text x="${lx + 20}" y="${ly + 12}">${esc(label)}</text>`
      );
    })
    .join('');
}

/** Stacked horizontal bars: median of each phase per scenario, plus own time. */
export function stackedBarsSvg(scenarios: readonly ScenarioResult[]): string {
  const left = 110;
  const width = 1100;
  const plotW = width - left - 90;
  const rowH = 34;
  const top = 20;
  const totals = scenarios.map(
    (s) => PHASES.reduce((sum, p) => sum + s.phasesMs[p].median, 0) + s.ownTotalUs.median / 1000,
  );
  const maxMs = niceCeil(Math.max(TARGET_TAP_MS, ...totals));
  const scale = plotW / maxMs;
  const height = top + scenarios.length * rowH + 80;
  const parts: string[] = [];
  scenarios.forEach((s, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 20}" text-anchor="end">${esc(s.id)}</text>`);
    let x = left;
    const segments: [string, number, string][] = PHASES.map((p) => [
      COLOURS[p],
      s.phasesMs[p].median,
      PHASE_LABELS[p],
    ]);
    segments.push([COLOURS.own, s.ownTotalUs.median / 1000, 'own']);
    for (const [colour, ms, label] of segments) {
      const w = Math.max(0, ms * scale);
      parts.push(
        `<rect class="seg" x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="24" ` +
          `fill="${colour}"><title>${esc(`${s.id} ${label}: ${ms.toFixed(2)} ms`)}</title></rect>`,
      );
      x += w;
    }
    const total = totals[i] ?? 0;
    parts.push(`<text x="${(x + 6).toFixed(1)}" y="${y + 21}">${f1(total)} ms</text>`);
  });
  const axisY = top + scenarios.length * rowH + 4;
  parts.push(axis(left, axisY, plotW, 0, maxMs, 'ms (medians per phase)'));
  const tx = left + TARGET_TAP_MS * scale;
  parts.push(
    `<line x1="${tx}" y1="${top}" x2="${tx}" y2="${axisY}" stroke="#D55E00" ` +
      `stroke-dasharray="6 4" stroke-width="2"/>` +
      `<text x="${tx + 4}" y="${top - 6}" fill="#D55E00">target ${TARGET_TAP_MS} ms</text>`,
  );
  parts.push(legend(left, axisY + 36));
  return svg(width, height + 10, parts.join(''));
}

function axis(x0: number, y: number, w: number, min: number, max: number, label: string): string {
  const ticks: string[] = [`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#333"/>`];
  for (let k = 0; k <= 5; k += 1) {
    const value = min + ((max - min) * k) / 5;
    const x = x0 + (w * k) / 5;
    ticks.push(
      `<line x1="${x}" y1="${y}" x2="${x}" y2="${y + 5}" stroke="#333"/>` +
        `<text x="${x}" y="${y + 18}" text-anchor="middle">${value.toFixed(0)}</text>`,
    );
  }
  ticks.push(`<text x="${x0 + w}" y="${y + 32}" text-anchor="end">${esc(label)}</text>`);
  return ticks.join('');
}

function svg(width: number, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">${body}</svg>`
  );
}

/** Histogram of one scenario's tap latencies over its own range, with the median marked. */
export function histogramSvg(s: ScenarioResult): string {
  const width = 360;
  const height = 190;
  const left = 40;
  const plotW = width - left - 12;
  const plotH = 120;
  const top = 28;
  const lo = Math.floor(s.latencyMs.min / 10) * 10;
  const span = niceCeil(Math.max(50, s.latencyMs.max - lo + 1));
  const binMs = span / 25;
  const counts = new Array<number>(25).fill(0);
  for (const ms of s.latencySamplesMs) {
    const b = Math.min(24, Math.max(0, Math.floor((ms - lo) / binMs)));
    counts[b] = (counts[b] ?? 0) + 1;
  }
  const countMax = Math.max(1, ...counts);
  const barW = plotW / counts.length;
  const parts = [`<text x="${left}" y="16" font-weight="bold">${esc(s.id)}</text>`];
  counts.forEach((c, i) => {
    const h = (c / countMax) * plotH;
    const x = left + i * barW;
    const from = lo + i * binMs;
    parts.push(
      `<rect class="bin" x="${x.toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" ` +
        `width="${Math.max(1, barW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#0072B2">` +
        `<title>${f1(from)}-${f1(from + binMs)} ms: ${c}</title></rect>`,
    );
  });
  const mx = left + ((s.latencyMs.median - lo) / span) * plotW;
  parts.push(
    `<line x1="${mx.toFixed(1)}" y1="${top}" x2="${mx.toFixed(1)}" y2="${top + plotH}" ` +
      `stroke="#D55E00" stroke-width="2"/>` +
      `<text x="${(mx + 4).toFixed(1)}" y="${top + 10}" fill="#D55E00">median ` +
      `${f1(s.latencyMs.median)}</text>`,
  );
  parts.push(`<text x="${left - 6}" y="${top + 8}" text-anchor="end">${countMax}</text>`);
  parts.push(`<text x="${left - 6}" y="${top + plotH}" text-anchor="end">0</text>`);
  parts.push(axis(left, top + plotH, plotW, lo, lo + span, 'ms, card in field to answer'));
  return svg(width, height, parts.join(''));
}

function summaryTable(scenarios: readonly ScenarioResult[]): string {
  const head = [
    'scenario',
    'taps',
    'outcomes',
    'median ms',
    'p99 ms',
    'max ms',
    'activation→answer ms',
    ...PHASES.map((p) => `${PHASE_LABELS[p]} ms`),
    'own µs',
    'own %',
  ];
  const rows = scenarios.map((s) => [
    `<b>${esc(s.id)}</b><br><small>${esc(s.label)}</small>`,
    String(s.taps),
    esc(
      Object.entries(s.results)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ),
    f1(s.latencyMs.median),
    f1(s.latencyMs.p99),
    f1(s.latencyMs.max),
    f1(s.transactionMs.median),
    ...PHASES.map((p) => f1(s.phasesMs[p].median)),
    s.ownTotalUs.median.toFixed(0),
    s.ownSharePct.toFixed(3),
  ]);
  return table(head, rows);
}

function ownTable(scenarios: readonly ScenarioResult[]): string {
  const parts = Object.keys(OWN_LABELS) as (keyof typeof OWN_LABELS)[];
  const head = ['scenario', ...parts.map((p) => `${OWN_LABELS[p]} µs (median / p99)`)];
  const rows = scenarios.map((s) => [
    esc(s.id),
    ...parts.map((p) => `${s.ownUs[p].median.toFixed(1)} / ${s.ownUs[p].p99.toFixed(1)}`),
  ]);
  return table(head, rows);
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function microSection(result: BenchResult): string {
  if (result.micro.length === 0) return '';
  const blocks = result.micro.map((t) => {
    const base = t.figures.find((f) => f.name === t.baseline)?.nsPerOp;
    const rows = t.figures.map((f) => [
      esc(f.name),
      f.nsPerOp < 1000 ? `${f.nsPerOp.toFixed(0)} ns` : `${(f.nsPerOp / 1000).toFixed(2)} µs`,
      base === undefined ? '' : `${(f.nsPerOp / base).toFixed(2)}×`,
    ]);
    return `<h3>${esc(t.title)}</h3>` + table(['task', 'median per op', `vs ${t.baseline}`], rows);
  });
  return `<h2>Kernel micro-benchmarks (same run as their references)</h2>${blocks.join('')}`;
}

const STYLE = `body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}
td,th{border:1px solid #bbb;padding:3px 7px;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left}th{background:#eee}
.hist{display:flex;flex-wrap:wrap;gap:8px}pre{background:#f6f6f6;padding:8px}`;

/** The whole page. */
export function renderHtml(result: BenchResult): string {
  const scen = result.scenarios;
  const hist = scen.map((s) => histogramSvg(s)).join('');
  const m = result.machine;
  const sections = [
    `<h1>shuaka tap benchmark</h1>`,
    `<p>${esc(result.createdAt)} · node ${esc(m.node)} ${esc(m.arch)} · ${esc(m.cpu)} × ` +
      `${m.cores} · seed ${result.seed} · ${result.tapsPerScenario} taps per scenario. ` +
      `Simulated time for link, air and card; our own time measured for real.</p>`,
  ];
  if (scen.length > 0) {
    sections.push(
      `<h2>Where a tap's time goes</h2>${stackedBarsSvg(scen)}`,
      `<h2>Latency per scenario</h2>${summaryTable(scen)}`,
      `<h2>Latency histograms</h2><div class="hist">${hist}</div>`,
      `<h2>Our own time per tap (real)</h2>${ownTable(scen)}`,
    );
  }
  if (result.burst !== null) {
    sections.push(`<h2>Boarding burst</h2><pre>${esc(burstLines(result.burst).join('\n'))}</pre>`);
  }
  if (result.footprint !== null) {
    const text = footprintLines(result.footprint).join('\n');
    sections.push(`<h2>Kernel footprint</h2><pre>${esc(text)}</pre>`);
  }
  sections.push(microSection(result));
  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
    `<title>shuaka tap benchmark</title><style>${STYLE}</style></head>` +
    `<body>${sections.join('\n')}</body></html>\n`
  );
}
