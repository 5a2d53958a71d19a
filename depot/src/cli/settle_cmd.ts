// `shuaka depot settle`: deferred authorisation and clearing with the acquirer, once or looping.

import { DepotStoreError } from '../store/depot_db.js';
import { DataKeyError, panVault, readDataKey } from '../store/pan_vault.js';
import { ACQUIRER_LINK_DEFAULTS, AcquirerLink } from '../acquirer/acquirer_link.js';
import { settleLoop, settleOnce, type SettlementRun } from '../acquirer/settlement.js';
import { SETTLEMENT_DEFAULTS, type SettlementOptions } from
  '../acquirer/settlement_options.js';
import type { CliArgs } from '../../../firmware/src/cli/cli_args.js';
import type { CliIo } from './depot_cli_io.js';
import {
  cliArgsProblem, cliInt, cliParse, dbOpenOrReport, depotFiles, EXIT_DATABASE, EXIT_KEYS, EXIT_OK,
  EXIT_USAGE,
} from './depot_cli_io.js';

/** `settle` without --loop: the acquirer left requests unanswered (run again later). */
export const EXIT_ACQUIRER = 13;

export const SETTLE_USAGE = `usage: shuaka depot settle --db DB --dir DIR --acquirer HOST:PORT
  [--fare-model single|aggregated] [--exposure-limit MINOR] [--recovery-interval SECONDS]
  [--batch N] [--loop SECONDS]
  Sends new taps to the acquirer (ISO 8583 over TCP; depot/src/acquirer/README.md): ODA
  admissions as authorisations, EC debits as clearing advices; declines become debts and deny
  entries. DIR holds data.key (to unseal PANs). --loop repeats every SECONDS until SIGTERM.
  Prints one JSON line per run; reversalsRefused counts voided taps whose reversal the
  acquirer refused (the rider is still charged: refund by hand; reversed, those given back),
  duplicates the EC debits the acquirer had cleared before (94: no debt), recoveriesDeclined
  the debt presentments refused (each open debt is presented at most once a run).
  A row no message can be made of (its sealed PAN does not open under DIR's data key, a
  stored value the message refuses) is left pending and the others are sent (unreadable);
  why rows were left unread or unanswered (the link's error) follows on stderr.
exit: 0 done, 2 usage, 10 database (or an unreadable row), 12 data key (a sealed PAN that does
  not open), 13 requests left unanswered (without --loop)`;

/** What is wrong with settle's flags (the first thing found), for the usage error. */
function settleArgsProblem(
  args: CliArgs,
  parsed: { acquirer: unknown; model: string; limit: number | null; recovery: number | null;
    batch: number | null },
): string {
  const v = args.values;
  const bad = (flag: string, range: string): string =>
    `--${flag} must be an integer in ${range}, got '${v[flag] ?? ''}'`;
  return cliArgsProblem(args, ['dir', 'acquirer'], [])
    ?? (parsed.acquirer === null ? `--acquirer must be HOST:PORT, got '${v['acquirer'] ?? ''}'`
      : parsed.model !== 'single' && parsed.model !== 'aggregated'
        ? `--fare-model must be single or aggregated, got '${parsed.model}'`
        : parsed.limit === null ? bad('exposure-limit', '0..1000000000000')
          : parsed.recovery === null ? bad('recovery-interval', '0..1000000000')
            : parsed.batch === null ? bad('batch', '0..999999') : bad('loop', '1..86400'));
}

/** Runs `shuaka depot settle`; resolves with the exit code. */
export async function runSettleCommand(argv: readonly string[], io: CliIo,
  stop?: Promise<void>): Promise<number> {
  const args = cliParse(argv, ['db', 'dir', 'acquirer', 'fare-model', 'exposure-limit',
    'recovery-interval', 'batch', 'loop'], io);
  const acquirer = /^([^:]+):([0-9]{1,5})$/.exec(args?.values['acquirer'] ?? '');
  const model = args?.values['fare-model'] ?? SETTLEMENT_DEFAULTS.fareModel;
  const limit = cliInt(args?.values['exposure-limit']
    ?? String(SETTLEMENT_DEFAULTS.exposureLimitMinor), 0, 1e12);
  const recovery = cliInt(args?.values['recovery-interval']
    ?? String(SETTLEMENT_DEFAULTS.recoveryIntervalMs / 1000), 0, 1e9);
  const batch = cliInt(args?.values['batch'] ?? '1', 0, 999_999);
  const loop = args?.values['loop'] === undefined ? null : cliInt(args.values['loop'], 1, 86_400);
  if (args === null || args.positionals.length > 0 || acquirer === null || limit === null
    || recovery === null || batch === null || (model !== 'single' && model !== 'aggregated')
    || args.values['dir'] === undefined || (args.values['loop'] !== undefined && loop === null)) {
    const why = args === null ? null : settleArgsProblem(args, { acquirer, model, limit,
      recovery, batch });
    io.err(`${why === null ? '' : `shuaka depot settle: ${why}\n`}${SETTLE_USAGE}`);
    return EXIT_USAGE;
  }
  // The pattern admits 0 and 99999: no TCP port (16 bits, 0 none), and the link would only
  // report every request unanswered (exit 13) without naming the flag.
  const port = Number(acquirer[2]);
  if (port < 1 || port > 65535) {
    io.err(`shuaka depot settle: --acquirer ${acquirer[0]}: the port is 1..65535\n${SETTLE_USAGE}`);
    return EXIT_USAGE;
  }
  let unseal: (sealed: string) => string;
  try {
    unseal = panVault(readDataKey(depotFiles(args.values['dir']).dataKey)).unseal;
  } catch (error) {
    if (!(error instanceof DataKeyError)) throw error;
    io.err(`shuaka depot settle: ${error.message}`);
    return EXIT_KEYS;
  }
  const db = await dbOpenOrReport(args.values['db'], io, Date.now());
  if (typeof db === 'number') return db;
  const options: SettlementOptions = { ...SETTLEMENT_DEFAULTS, fareModel: model,
    exposureLimitMinor: limit, recoveryIntervalMs: recovery * 1000, batch,
    nowMs: () => Date.now(), unsealPan: unseal };
  const link = new AcquirerLink({ ...ACQUIRER_LINK_DEFAULTS, host: acquirer[1] ?? '', port });
  const print = (run: SettlementRun | Error): void => {
    if (run instanceof Error) {
      io.err(`shuaka depot settle: ${run.message}`);
      return;
    }
    io.out(JSON.stringify({ event: 'settled', ...run }));
    // Connection refused and a mistyped host looked the same as a down acquirer: say which.
    if (run.problem !== null) io.err(`shuaka depot settle: ${run.problem}`);
  };
  try {
    if (loop !== null) {
      await settleLoop(db, link, options, loop * 1000, stop ?? stopSignal(), print);
      return EXIT_OK;
    }
    const run = await settleOnce(db, link, options);
    print(run);
    if (run.keyFailed) return EXIT_KEYS;
    if (run.unreadable > 0) return EXIT_DATABASE;
    return run.unanswered > 0 ? EXIT_ACQUIRER : EXIT_OK;
  } catch (error) {
    if (!(error instanceof DepotStoreError)) throw error;
    io.err(`shuaka depot settle: ${error.message}`);
    return EXIT_DATABASE;
  } finally {
    link.close();
    await db.close();
  }
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}
