// `shuaka depot report`: settlement per day, route and terminal, and the T-Union section, as
// text, CSV or HTML.

import { writeFileSync } from 'node:fs';
import { settlementHtml } from '../report/settlement_html.js';
import {
  SETTLEMENT_COLUMNS, settlementCells, settlementCsv, settlementRows, textTable,
} from '../report/settlement_report.js';
import {
  TUNION_COLUMNS, tunionCells, tunionCsv, tunionSectionRows,
} from '../report/tunion_section.js';
import {
  TUNION_BLOCK_COLUMNS, tunionBlockCells, tunionBlockCsv, tunionBlockRows, tunionCardsBlocked,
  type TunionBlockRow,
} from '../report/tunion_blocks_section.js';
import {
  TUNION_GREY_COLUMNS, tunionGreyCells, tunionGreyCsv, tunionGreyRows,
} from '../report/tunion_grey_section.js';
import {
  gateCountCsv, gateCountDbCsv, gateCountRows,
} from '../report/gate_counts_report.js';
import { gateCountRowsFromDb } from '../store/gate_record_store.js';
import type { TacKeyLookup } from '../tunion/jtt978_tac.js';
import { TacKeysFileError, tacKeysRead } from '../tunion/tac_keys_file.js';
import { tunionVerifyAndReport } from '../tunion/tunion_report.js';
import type { DepotDb } from '../store/depot_db.js';
import { DepotStoreError } from '../store/depot_db.js';
import type { CliIo } from './depot_cli_io.js';
import { reportOutRefusal } from './report_out_guard.js';
import {
  cliParse, dbOpenOrReport, EXIT_DATABASE, EXIT_FAILED, EXIT_OK, EXIT_USAGE,
} from './depot_cli_io.js';

export const REPORT_USAGE = `usage: shuaka depot report --db DB [--format text|csv|html] \
[--section settlement|tunion|tunion-blocked|tunion-grey|all] [--tac-keys FILE] [--day YYYY-MM-DD] \
[--out FILE]
       shuaka depot report --gate-ledger DIR [--day YYYY-MM-DD] [--out FILE]
       shuaka depot report --db DB --gate-terminal ID|all [--day YYYY-MM-DD] [--out FILE]
  Settlement per day, route and terminal (amounts in minor units); stdout unless --out.
  The T-Union section: per day, route, terminal and card city, taps and amounts, TAC valid /
  failed / unchecked, rides never tapped out (marked amount charged), open grey purchases;
  then the deny-listed cards met (tunion-blocked): card number, issuer, terminal, outcome of
  the block (blocked, not-confirmed, not-sent), the set whose deny list named the card;
  then the purchases left grey (tunion-grey): card, ATC, amount, balance before, PSAM
  terminal and serial, to settle each from the card's log or the clearing centre.
  --format: csv by default. --section: csv holds one table (settlement unless tunion,
  tunion-blocked or tunion-grey; not all);
  text and html default to all (tunion: the T-Union section, its blocked cards and greys).
  --tac-keys: JSON {issuer id (16 hex): TAC master key (32 hex)}; T-Union lines not yet
  valid (new, failed or unchecked under an earlier file) are verified (and their verdict
  stored) before the report.
  --gate-ledger: a scenic-area gate's counts per day and hour (entries by ticket and paid,
  exits, tailgaters, refusals) as CSV, from the gate-YYYY-MM-DD.log files in DIR.
  --gate-terminal: the same counts from the records gates uploaded to the depot (one gate's
  terminal ID, or all), with a terminal_id column; a line not uploaded yet is an error (1).
  --out: written in place; never the database (or its -wal / -shm / -journal), the --tac-keys
  file or a day file of the gate ledger it reads (refused, exit 2).
exit: 0 written, 1 cannot write --out, a bad gate ledger or --tac-keys file, 2 usage,
  10 database`;

type Section = 'settlement' | 'tunion' | 'tunion-blocked' | 'tunion-grey' | 'all';
const SECTIONS: readonly Section[] = ['settlement', 'tunion', 'tunion-blocked', 'tunion-grey',
  'all'];
type Format = 'text' | 'csv' | 'html';

/** The title of the blocked cards' table, with the number of cards the block confirmed. */
function tunionBlockTitle(rows: readonly TunionBlockRow[]): string {
  return `T-Union cards on the deny list (${tunionCardsBlocked(rows)} blocked)`;
}

/** The page title of each section choice (the settlement table's title in text). */
const REPORT_TITLES: Readonly<Record<Section, string>> = {
  all: 'Settlement', settlement: 'Settlement', tunion: 'T-Union (JT/T 978)',
  'tunion-blocked': 'T-Union cards on the deny list',
  'tunion-grey': 'T-Union purchases left grey',
};

/** The report text from the database (TACs verified first when `keys` is given). */
async function dbReport(db: DepotDb, format: Format, section: Section, day: string | null,
  keys: TacKeyLookup | null): Promise<string> {
  if (keys !== null) await tunionVerifyAndReport(db, keys);
  const withSettlement = section === 'settlement' || section === 'all';
  const settlement = withSettlement ? await settlementRows(db, day) : [];
  const tunion = section === 'tunion' || section === 'all'
    ? await tunionSectionRows(db, day) : null;
  const blocks = section === 'settlement' || section === 'tunion-grey' ? null
    : await tunionBlockRows(db, day);
  const greys = section === 'all' || section === 'tunion' || section === 'tunion-grey'
    ? await tunionGreyRows(db, day) : null;
  const title = `${REPORT_TITLES[section]}${day === null ? '' : ` ${day}`}`;
  switch (format) {
    case 'csv':
      if (section === 'tunion-blocked') return tunionBlockCsv(blocks ?? []);
      if (section === 'tunion-grey') return tunionGreyCsv(greys ?? []);
      return tunion === null ? settlementCsv(settlement) : tunionCsv(tunion);
    case 'html':
      return settlementHtml(withSettlement ? settlement : null, title, tunion, blocks, greys);
    case 'text': {
      const parts = withSettlement ? [textTable(title, SETTLEMENT_COLUMNS,
        settlement.map(settlementCells))] : [];
      if (tunion !== null) {
        parts.push(textTable('T-Union (JT/T 978)', TUNION_COLUMNS, tunion.map(tunionCells)));
      }
      if (blocks !== null) {
        parts.push(textTable(tunionBlockTitle(blocks), TUNION_BLOCK_COLUMNS,
          blocks.map(tunionBlockCells)));
      }
      if (greys !== null) {
        parts.push(textTable(`T-Union purchases left grey (${greys.length})`,
          TUNION_GREY_COLUMNS, greys.map(tunionGreyCells)));
      }
      return parts.join('\n');
    }
  }
}

/** `--section` and `--format` together, or null when they do not fit (csv is one table). */
function sectionOf(format: string, given: string | undefined): Section | null {
  if (format !== 'csv' && format !== 'html' && format !== 'text') return null;
  const section = SECTIONS.find((s) => s === (given ?? (format === 'csv' ? 'settlement'
    : 'all')));
  if (section === undefined) return null;
  return format === 'csv' && section === 'all' ? null : section;
}

function validDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

/** `--gate-ledger DIR`: the gate's counts per hour (gate_counts_report.ts). */
function gateReport(dir: string, day: string | null, out: string | undefined, io: CliIo): number {
  let text: string;
  try {
    text = gateCountCsv(gateCountRows(dir, day));
  } catch (error) {
    io.err(`shuaka depot report: gate ledger: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  return reportWrite(text, out, io);
}

/** Writes a report to `out` or stdout; the exit code. */
function reportWrite(text: string, out: string | undefined, io: CliIo): number {
  if (out === undefined) {
    io.out(text.replace(/\r?\n$/, ''));
    return EXIT_OK;
  }
  try {
    writeFileSync(out, text);
  } catch (error) {
    io.err(`shuaka depot report: cannot write ${out}: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

/**
 * What is wrong with the flags beside a gate report (`source`: gate-ledger or gate-terminal),
 * or null. A flag of the settlement report is named, not dropped: the operator asked for it.
 */
function gateFlagsProblem(v: Readonly<Record<string, string | undefined>>,
  source: 'gate-ledger' | 'gate-terminal'): string | null {
  const foreign = source === 'gate-ledger'
    ? ['db', 'section', 'tac-keys'] : ['gate-ledger', 'section', 'tac-keys'];
  const stray = foreign.find((f) => v[f] !== undefined);
  if (stray !== undefined) return `--${stray} does not apply to --${source}`;
  const format = v['format'] ?? 'csv';
  if (format !== 'csv') return `--format ${format}: the gate counts are csv`;
  const terminal = v['gate-terminal'] ?? '';
  if (source === 'gate-terminal' && !/^[\x21-\x7e]{1,64}$/.test(terminal)) {
    return `--gate-terminal ${terminal}: a terminal ID (1..64 printable characters, no space)`
      + ' or all';
  }
  return null;
}

/** `--db DB --gate-terminal ID|all`: the gates' counts from the depot (gate_record_store.ts). */
async function gateDbReport(v: Readonly<Record<string, string | undefined>>,
  positionals: number, io: CliIo): Promise<number> {
  const terminal = v['gate-terminal'] ?? '';
  const day = v['day'] ?? null;
  const problem = gateFlagsProblem(v, 'gate-terminal');
  if (positionals > 0 || problem !== null) {
    io.err(problem === null ? REPORT_USAGE : `shuaka depot report: ${problem}\n${REPORT_USAGE}`);
    return EXIT_USAGE;
  }
  const db = await dbOpenOrReport(v['db'], io, Date.now());
  if (typeof db === 'number') return db;
  let text: string;
  try {
    text = gateCountDbCsv(await gateCountRowsFromDb(db, day, terminal === 'all' ? null : terminal));
  } catch (error) {
    const store = error instanceof DepotStoreError;
    if (!store && !(error instanceof Error)) throw error;
    io.err(`shuaka depot report: gate records: ${(error as Error).message}`);
    return store ? EXIT_DATABASE : EXIT_FAILED;
  } finally {
    await db.close();
  }
  return reportWrite(text, v['out'], io);
}

/** Runs `shuaka depot report`. */
export async function runReportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['db', 'format', 'day', 'out', 'gate-ledger', 'section',
    'tac-keys', 'gate-terminal'], io);
  const refusal = args === null ? null : reportOutRefusal(args.values['out'], {
    db: args.values['db'], tacKeys: args.values['tac-keys'], gateLedger: args.values['gate-ledger'],
  });
  if (refusal !== null) {
    io.err(`shuaka depot report: not written: ${refusal}: the report would replace it; `
      + 'write it elsewhere');
    return EXIT_USAGE;
  }
  // Every report takes the same --day: a calendar date, checked once for all of them.
  const day = args?.values['day'] ?? null;
  if (day !== null && !validDay(day)) {
    io.err(`shuaka depot report: --day ${day}: a calendar date, YYYY-MM-DD\n${REPORT_USAGE}`);
    return EXIT_USAGE;
  }
  if (args !== null && args.values['gate-terminal'] !== undefined) {
    return gateDbReport(args.values, args.positionals.length, io);
  }
  const format = args?.values['format'] ?? 'csv';
  const gateDir = args?.values['gate-ledger'];
  if (args !== null && gateDir !== undefined && args.positionals.length === 0) {
    const problem = gateFlagsProblem(args.values, 'gate-ledger');
    if (problem !== null) {
      io.err(`shuaka depot report: ${problem}\n${REPORT_USAGE}`);
      return EXIT_USAGE;
    }
    return gateReport(gateDir, day, args.values['out'], io);
  }
  const section = sectionOf(format, args?.values['section']);
  if (args === null || args.positionals.length > 0 || section === null) {
    const why = args === null ? null : args.positionals.length > 0
      ? `unexpected argument '${args.positionals[0] ?? ''}'`
      : !['csv', 'html', 'text'].includes(format)
        ? `--format must be csv, html or text, got '${format}'`
        : `--section ${args.values['section'] ?? 'all'} is not one of ${format === 'csv'
          ? SECTIONS.filter((s) => s !== 'all').join(', ') : SECTIONS.join(', ')} `
          + `(with --format ${format})`;
    io.err(`${why === null ? '' : `shuaka depot report: ${why}\n`}${REPORT_USAGE}`);
    return EXIT_USAGE;
  }
  const keysPath = args.values['tac-keys'];
  let keys: TacKeyLookup | null = null;
  try {
    keys = keysPath === undefined ? null : tacKeysRead(keysPath);
  } catch (error) {
    if (!(error instanceof TacKeysFileError)) throw error;
    io.err(`shuaka depot report: --tac-keys ${keysPath}: ${error.message}`);
    return EXIT_FAILED;
  }
  const db = await dbOpenOrReport(args.values['db'], io, Date.now());
  if (typeof db === 'number') return db;
  let text: string;
  try {
    text = await dbReport(db, format as Format, section, day, keys);
  } catch (error) {
    if (!(error instanceof DepotStoreError)) throw error;
    io.err(`shuaka depot report: ${error.message}`);
    return EXIT_DATABASE;
  } finally {
    await db.close();
  }
  return reportWrite(text, args.values['out'], io);
}
