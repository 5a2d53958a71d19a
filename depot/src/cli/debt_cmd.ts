// `shuaka depot debt list|repay` and `shuaka depot tap void`: the operator's hand on debts.

import { DepotStoreError } from '../store/depot_db.js';
import { debtRepay, tapVoid } from '../acquirer/settlement_debts.js';
import type { CliIo } from './depot_cli_io.js';
import {
  cliInt, cliParse, cliVerb, dbOpenOrReport, EXIT_DATABASE, EXIT_FAILED, EXIT_OK, EXIT_USAGE,
} from './depot_cli_io.js';

export const DEBT_USAGE = `usage: shuaka depot debt list --db DB
       shuaka depot debt repay --db DB --pan-token TOKEN [--psn NN]
  list: open debts as JSON lines (id, panToken, psn, amountMinor, openedAtMs).
  repay: the rider paid at a counter: closes the card's open debts and removes its deny
  entries (the card drops out of the next \`shuaka depot publish\`).
exit: 0 done, 1 nothing open for that card, 2 usage, 10 database`;

export const TAP_USAGE = `usage: shuaka depot tap void --db DB --id N
  Voids stored tap N: never sent → not sent; sent or approved → a reversal (0400) is sent by
  the next settle; declined → taken off its debt, or voided-debt-repaid when the debt was
  already repaid (the rider paid the fare: refund by hand). Prints the outcome.
exit: 0 voided, 1 not found, already voided or not counted, 2 usage, 10 database`;

/** Runs `shuaka depot debt ...`. */
export async function runDebtCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [verb, rest] = cliVerb(argv);
  const args = cliParse(rest, ['db', 'pan-token', 'psn'], io);
  const token = args?.values['pan-token'];
  const psn = args?.values['psn'] ?? null;
  const repay = verb === 'repay' && token !== undefined && /^[0-9a-f]{64}$/.test(token)
    && (psn === null || /^[0-9A-Fa-f]{2}$/.test(psn));
  if (args === null || args.positionals.length > 0 || !(verb === 'list' || repay)) {
    const why = args === null ? null : args.positionals.length > 0
      ? `unexpected argument '${args.positionals[0] ?? ''}'`
      : verb === undefined ? 'a command is required (list, repay)'
        : verb !== 'list' && verb !== 'repay' ? `unknown command '${verb}' (list, repay)`
          : token === undefined ? '--pan-token is required'
            : !/^[0-9a-f]{64}$/.test(token) ? '--pan-token must be 64 lower-case hex digits'
              : `--psn must be two hex digits, got '${psn ?? ''}'`;
    io.err(`${why === null ? '' : `shuaka depot debt: ${why}\n`}${DEBT_USAGE}`);
    return EXIT_USAGE;
  }
  const db = await dbOpenOrReport(args.values['db'], io, Date.now());
  if (typeof db === 'number') return db;
  try {
    if (verb === 'list') {
      const rows = await db.query(`SELECT id, pan_token, psn, amount_minor, opened_at_ms
        FROM debts WHERE state = 'open' ORDER BY id`);
      for (const r of rows) {
        io.out(JSON.stringify({ id: r['id'], panToken: r['pan_token'], psn: r['psn'],
          amountMinor: r['amount_minor'], openedAtMs: r['opened_at_ms'] }));
      }
      return EXIT_OK;
    }
    const closed = await debtRepay(db, token ?? '', psn, Date.now());
    if (closed === 0) {
      // Not 'repaid' (with debts 0, exit 1: read as done by a script that parsed stdout).
      io.err('shuaka depot debt: no open debt for that card: nothing repaid');
      return EXIT_FAILED;
    }
    io.out(JSON.stringify({ event: 'repaid', debts: closed }));
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof DepotStoreError)) throw error;
    io.err(`shuaka depot debt: ${error.message}`);
    return EXIT_DATABASE;
  } finally {
    await db.close();
  }
}

/** Runs `shuaka depot tap void`. */
export async function runTapCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [verb, rest] = cliVerb(argv);
  const args = cliParse(rest, ['db', 'id'], io);
  const id = cliInt(args?.values['id'], 1, Number.MAX_SAFE_INTEGER);
  if (args === null || args.positionals.length > 0 || verb !== 'void' || id === null) {
    const why = args === null ? null : args.positionals.length > 0
      ? `unexpected argument '${args.positionals[0] ?? ''}'`
      : verb === undefined ? 'a command is required (void)'
        : verb !== 'void' ? `unknown command '${verb}' (void)`
          : `--id must be a tap id (an integer from 1), got '${args.values['id'] ?? ''}'`;
    io.err(`${why === null ? '' : `shuaka depot tap: ${why}\n`}${TAP_USAGE}`);
    return EXIT_USAGE;
  }
  const db = await dbOpenOrReport(args.values['db'], io, Date.now());
  if (typeof db === 'number') return db;
  try {
    const outcome = await tapVoid(db, id, Date.now());
    io.out(JSON.stringify({ event: 'void', id, outcome }));
    const done = outcome === 'voided-unsent' || outcome === 'reversal-queued'
      || outcome === 'debt-reduced' || outcome === 'voided-debt-repaid';
    return done ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    if (!(error instanceof DepotStoreError)) throw error;
    io.err(`shuaka depot tap: ${error.message}`);
    return EXIT_DATABASE;
  } finally {
    await db.close();
  }
}
