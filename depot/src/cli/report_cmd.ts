// `shuaka depot report`: settlement per day, route and terminal as CSV or HTML.

import { writeFileSync } from 'node:fs';
import { settlementHtml } from '../report/settlement_html.js';
import { settlementCsv, settlementRows } from '../report/settlement_report.js';
import {
  gateCountCsv, gateCountDbCsv, gateCountRows,
} from '../report/gate_counts_report.js';
import { gateCountRowsFromDb } from '../store/gate_record_store.js';
import { DepotStoreError } from '../store/depot_db.js';
import type { CliIo } from './depot_cli_io.js';
import {
  cliParse, dbOpenOrReport, EXIT_DATABASE, EXIT_FAILED, EXIT_OK, EXIT_USAGE,
} from './depot_cli_io.js';

export const REPORT_USAGE = `usage: shuaka depot report --db DB [--format csv|html] \
[--day YYYY-MM-DD] [--out FILE]
       shuaka depot report --gate-ledger DIR [--day YYYY-MM-DD] [--out FILE]
       shuaka depot report --db DB --gate-terminal ID|all [--day YYYY-MM-DD] [--out FILE]
  Settlement per day, route and terminal (amounts in minor units); stdout unless --out.
  --gate-ledger: a scenic-area gate's counts per day and hour (entries by ticket and paid,
  exits, tailgaters, refusals) as CSV, from the gate-YYYY-MM-DD.log files in DIR.
  --gate-terminal: the same counts from the records gates uploaded to the depot (one gate's
  terminal ID, or all), with a terminal_id column; a line not uploaded yet is an error (1).
exit: 0 written, 1 cannot write --out or a bad gate ledger, 2 usage, 10 database`;

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

/** Runs `shuaka depot report`. */
export async function runReportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['db', 'format', 'day', 'out', 'gate-ledger', 'gate-terminal']);
  const format = args?.values['format'] ?? 'csv';
  const day = args?.values['day'] ?? null;
  const gateDir = args?.values['gate-ledger'];
  if (args !== null && gateDir !== undefined && args.positionals.length === 0 && format === 'csv'
    && (day === null || validDay(day))) {
    return gateReport(gateDir, day, args.values['out'], io);
  }
  const gateTerminal = args?.values['gate-terminal'];
  if (args === null || args.positionals.length > 0 || (format !== 'csv' && format !== 'html')
    || (day !== null && !validDay(day)) || (gateTerminal !== undefined && (format !== 'csv'
      || gateDir !== undefined || !/^[\x21-\x7e]{1,64}$/.test(gateTerminal)))) {
    io.err(REPORT_USAGE);
    return EXIT_USAGE;
  }
  const db = await dbOpenOrReport(args.values['db'], io, Date.now());
  if (db === null) return EXIT_DATABASE;
  let text: string;
  try {
    if (gateTerminal !== undefined) {
      text = gateCountDbCsv(await gateCountRowsFromDb(db, day,
        gateTerminal === 'all' ? null : gateTerminal));
    } else {
      const rows = await settlementRows(db, day);
      text = format === 'csv' ? settlementCsv(rows)
        : settlementHtml(rows, `Settlement${day === null ? '' : ` ${day}`}`);
    }
  } catch (error) {
    if (!(error instanceof DepotStoreError)) {
      if (gateTerminal === undefined || !(error instanceof Error)) throw error;
      io.err(`shuaka depot report: gate records: ${error.message}`);
      return EXIT_FAILED;
    }
    io.err(`shuaka depot report: ${error.message}`);
    return EXIT_DATABASE;
  } finally {
    await db.close();
  }
  const out = args.values['out'];
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
