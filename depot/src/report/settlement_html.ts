// The settlement report as one self-contained HTML page: a table and an inline SVG bar chart
// of the amount per day (authorised, declined, outstanding stacked), then the T-Union section.

import type { SettlementRow } from './settlement_report.js';
import { SETTLEMENT_COLUMNS, settlementCells } from './settlement_report.js';
import type { TunionSectionRow } from './tunion_section.js';
import { TUNION_COLUMNS, tunionCells } from './tunion_section.js';
import type { TunionBlockRow } from './tunion_blocks_section.js';
import type { TunionGreyRow } from './tunion_grey_section.js';
import { TUNION_GREY_COLUMNS, tunionGreyCells } from './tunion_grey_section.js';
import {
  TUNION_BLOCK_COLUMNS, tunionBlockCells, tunionCardsBlocked,
} from './tunion_blocks_section.js';

const CHART_WIDTH = 640;
const CHART_HEIGHT = 220;
const CHART_MARGIN = 30;

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

interface DayTotal {
  readonly day: string;
  authorised: number;
  declined: number;
  outstanding: number;
}

function dayTotals(rows: readonly SettlementRow[]): DayTotal[] {
  const byDay = new Map<string, DayTotal>();
  for (const r of rows) {
    const t = byDay.get(r.day) ?? { day: r.day, authorised: 0, declined: 0, outstanding: 0 };
    t.authorised += r.authorisedMinor;
    t.declined += r.declinedMinor;
    t.outstanding += r.outstandingMinor;
    byDay.set(r.day, t);
  }
  return [...byDay.values()];
}

/** An SVG bar per day; heights scale to the largest day. */
export function settlementSvg(rows: readonly SettlementRow[]): string {
  const days = dayTotals(rows);
  const top = Math.max(1, ...days.map((d) => d.authorised + d.declined + d.outstanding));
  const plotHeight = CHART_HEIGHT - 2 * CHART_MARGIN;
  const slot = (CHART_WIDTH - 2 * CHART_MARGIN) / Math.max(1, days.length);
  const bars: string[] = [];
  days.forEach((d, i) => {
    let y = CHART_HEIGHT - CHART_MARGIN;
    const x = CHART_MARGIN + i * slot + slot * 0.15;
    for (const [value, colour] of [[d.authorised, '#2e7d32'], [d.declined, '#c62828'],
      [d.outstanding, '#9e9e9e']] as const) {
      const h = (value / top) * plotHeight;
      y -= h;
      bars.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.7)
        .toFixed(1)}" height="${h.toFixed(1)}" fill="${colour}"/>`);
    }
    bars.push(`<text x="${(x + slot * 0.35).toFixed(1)}" y="${CHART_HEIGHT - 10}" `
      + `font-size="10" text-anchor="middle">${escapeHtml(d.day)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${
    CHART_HEIGHT}" role="img" aria-label="amount per day">${bars.join('')}</svg>`;
}

/** A table of `columns` over `rows` of cells, every cell escaped. */
function htmlTable(columns: readonly string[],
  rows: readonly (readonly (string | number)[])[]): string {
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows.map((cells) => `<tr>${cells.map((v) => `<td>${escapeHtml(String(v))}</td>`)
    .join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The T-Union section: heading, what the columns mean, the table (or "none"). */
function tunionHtml(rows: readonly TunionSectionRow[]): string {
  const table = rows.length === 0 ? '<p>No T-Union taps.</p>'
    : htmlTable(TUNION_COLUMNS, rows.map(tunionCells));
  return `<h2>T-Union (JT/T 978)</h2>
<p>Per day, route, terminal and card city (file 0017). tac_failed: TAC invalid or malformed;
tac_unchecked: not verified yet or issuer key unknown. missed_tap_out: taps that charged the
marked amount (marked_minor) of a ride never tapped out. grey_open: purchases no clearing line
completes.
mac2_unverified: approved without the PSAM's MAC2 check (the TAC alone vouches for them).</p>
${table}`;
}

/** The deny-listed T-Union cards met: heading, what the columns mean, the table (or "none"). */
function tunionBlocksHtml(rows: readonly TunionBlockRow[]): string {
  const table = rows.length === 0 ? '<p>No T-Union card met on the deny list.</p>'
    : htmlTable(TUNION_BLOCK_COLUMNS, rows.map(tunionBlockCells));
  return `<h2>T-Union cards on the deny list</h2>
<p>${tunionCardsBlocked(rows)} cards blocked. One row per time a validator met a listed card
(a card met twice has two rows). outcome:
blocked (the card confirmed APPLICATION BLOCK), not-confirmed (sent; the card refused it or
left before answering: card_sw; or the validator lost power before it recorded the answer),
not-sent (the block stopped before the command). The card
is refused in every case; one not blocked is blocked at its next tap.</p>
${table}`;
}

/** The open grey purchases: heading, what to do with them, the table (or "none"). */
function tunionGreysHtml(rows: readonly TunionGreyRow[]): string {
  const table = rows.length === 0 ? '<p>No T-Union purchase left grey.</p>'
    : htmlTable(TUNION_GREY_COLUMNS, rows.map(tunionGreyCells));
  return `<h2>T-Union purchases left grey</h2>
<p>Written before the card's DEBIT, never completed by a clearing line: the card may have paid
(settle from its transaction log or the clearing centre, by card, ATC, PSAM terminal and
serial) or not (taken away before the command).</p>
${table}`;
}

/**
 * The whole page: the settlement chart and table when `rows` is given (null: a page of the
 * T-Union sections only, which must not read as a day without settlement), the T-Union
 * section when `tunion` is, the deny-listed T-Union cards met when `blocks` is, the purchases
 * left grey when `greys` is.
 */
export function settlementHtml(rows: readonly SettlementRow[] | null, title: string,
  tunion: readonly TunionSectionRow[] | null = null,
  blocks: readonly TunionBlockRow[] | null = null,
  greys: readonly TunionGreyRow[] | null = null): string {
  const settlement = rows === null ? '' : `<p>Amounts in minor units. Bars: authorised (green), `
    + `declined (red), outstanding (grey).</p>
${settlementSvg(rows)}
${htmlTable(SETTLEMENT_COLUMNS, rows.map(settlementCells))}`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif}td,th{padding:2px 6px;border:1px solid #ccc}
td{text-align:right}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${settlement}
${tunion === null ? '' : tunionHtml(tunion)}
${blocks === null ? '' : tunionBlocksHtml(blocks)}
${greys === null ? '' : tunionGreysHtml(greys)}</body></html>
`;
}
