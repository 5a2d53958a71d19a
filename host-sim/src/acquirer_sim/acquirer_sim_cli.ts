// `shuaka acquirer-sim`: the acquirer and issuer simulator as its own process, until a signal.

import { cliHelpAsked, cliInt, cliParse, EXIT_OK, EXIT_FAILED, EXIT_USAGE, type CliIo } from
  '../../../firmware/src/cli/cli_args.js';
import { CARD_MIXES, type PopulationKind } from '../cards/card_mix.js';
import { testPki } from '../pki/test_pki.js';
import { riderPool } from '../sim/bus_riders.js';
import { issuerAccountsOf } from './issuer_accounts.js';
import { IssuerHost } from './issuer_host.js';
import { acquirerSimListen } from './acquirer_sim_server.js';

const USAGE = `usage: shuaka acquirer-sim [--port P] [--seed N] [--groups G] [--mix KIND]
  [--drop-before PERMILLE] [--drop-after PERMILLE]
Serves ISO 8583 (2-byte length framing) on 127.0.0.1:P (0 = any; default 8583) for the
cards of \`shuaka sim --seed N\` (G card groups of mix KIND: default, realistic or sm; the sim's
defaults). Prints {"event":"listening","port":P}; stops on SIGINT/SIGTERM and prints the
request count. Exit 0 on a signal, 1 when the port cannot be bound, 2 on bad flags.`;

/**
 * Runs the simulator until `stop` resolves (default: SIGINT or SIGTERM). Exit codes:
 * EXIT_OK, EXIT_FAILED (listen error, printed), EXIT_USAGE.
 */
export async function runAcquirerSimCommand(
  argv: string[],
  io: CliIo,
  stop: Promise<void> = signalled(),
): Promise<number> {
  // Asked for, the usage is the answer (stdout, exit 0) as for every other command; only a
  // mistake is a usage error.
  if (cliHelpAsked(argv)) {
    io.out(USAGE);
    return EXIT_OK;
  }
  const flags = ['port', 'seed', 'groups', 'mix', 'drop-before', 'drop-after'];
  const args = cliParse(argv, flags, io);
  const port = cliInt(args?.values['port'] ?? '8583', 0, 65535);
  const seed = cliInt(args?.values['seed'] ?? '1', 0, 2 ** 31);
  const groups = cliInt(args?.values['groups'] ?? '4', 1, 1000);
  const mix = args?.values['mix'] ?? 'realistic';
  const before = cliInt(args?.values['drop-before'] ?? '0', 0, 1000);
  const after = cliInt(args?.values['drop-after'] ?? '0', 0, 1000);
  if (args === null || port === null || seed === null || groups === null || before === null
    || after === null || !(mix in CARD_MIXES) || args.positionals.length > 0) {
    const bad = (flag: string, range: string): string =>
      `--${flag} must be an integer in ${range}, got '${args?.values[flag] ?? ''}'`;
    const why = args === null ? null : args.positionals.length > 0
      ? `unexpected argument '${args.positionals[0] ?? ''}'`
      : port === null ? bad('port', '0..65535') : seed === null ? bad('seed', '0..2147483648')
        : groups === null ? bad('groups', '1..1000')
          : before === null ? bad('drop-before', '0..1000')
            : after === null ? bad('drop-after', '0..1000')
              : `--mix must be one of ${Object.keys(CARD_MIXES).join(', ')}, got '${mix}'`;
    io.err(`${why === null ? '' : `shuaka acquirer-sim: ${why}\n`}${USAGE}`);
    return EXIT_USAGE;
  }
  const pool = riderPool(seed, groups, testPki(), mix as PopulationKind);
  const accounts = issuerAccountsOf(pool.cards.map((c) => [c.name, c.card.profile]), seed);
  const host = new IssuerHost(accounts, seed);
  const faults = { dropBeforeRatio: before / 1000, dropAfterRatio: after / 1000 };
  try {
    const server = await acquirerSimListen(host, { port, seed, faults });
    io.out(JSON.stringify({ event: 'listening', port: server.port, accounts: accounts.size }));
    await stop;
    await server.close();
    io.out(JSON.stringify({ event: 'stopped', requests: host.requestCount }));
    return EXIT_OK;
  } catch (error) {
    io.err(`acquirer-sim: cannot listen on ${port}: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
}

function signalled(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
