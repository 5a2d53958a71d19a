// The `shuaka depot` command table: the back office commands. The bin script dispatches here
// so that firmware's own table never imports the depot.

import { cliHelpAsked } from '../../../firmware/src/cli/cli_args.js';
import type { CliIo } from './depot_cli_io.js';
import { EXIT_USAGE } from './depot_cli_io.js';

type DepotCommand = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<DepotCommand> }> = {
  init: {
    summary: 'create a depot directory: fleet CA, server certificate, PAN data key',
    load: async () => (await import('./init_cmd.js')).runInitCommand,
  },
  serve: {
    summary: 'run the HTTPS ingest API (mutual TLS) until SIGTERM',
    load: async () => (await import('./serve_cmd.js')).runServeCommand,
  },
  terminal: {
    summary: 'add, revoke or list terminals (client certificates)',
    load: async () => (await import('./terminal_cmd.js')).runTerminalCommand,
  },
  ingest: {
    summary: 'store export lines from a file (no network, or a salvaged journal) as an upload',
    load: async () => (await import('./ingest_cmd.js')).runIngestCommand,
  },
  report: {
    summary: 'settlement per day, route and terminal (csv or html)',
    load: async () => (await import('./report_cmd.js')).runReportCommand,
  },
  settle: {
    summary: 'authorise ODA taps and clear EC debits with the acquirer (ISO 8583 over TCP)',
    load: async () => (await import('./settle_cmd.js')).runSettleCommand,
  },
  debt: {
    summary: 'list open debts, or mark a card repaid (removes it from the deny list)',
    load: async () => (await import('./debt_cmd.js')).runDebtCommand,
  },
  tap: {
    summary: 'void a stored tap (reversed with the acquirer if it was approved)',
    load: async () => (await import('./debt_cmd.js')).runTapCommand,
  },
  publish: {
    summary: 'sign and store the next parameter set with the deny list from open debts',
    load: async () => (await import('./publish_cmd.js')).runPublishCommand,
  },
};

function usage(): string {
  const lines = ['usage: shuaka depot <command> [options]', '', 'commands:'];
  for (const [name, entry] of Object.entries(COMMANDS))
    lines.push(`  ${name.padEnd(10)} ${entry.summary}`);
  lines.push('', 'Run `shuaka depot <command> --help` for its options and exit codes.');
  return lines.join('\n');
}

/** Runs `shuaka depot ...`; resolves with the exit code. */
export async function runDepotCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.err(`shuaka depot: unknown command '${name}'\n${usage()}`);
    return EXIT_USAGE;
  }
  const run = await entry.load();
  if (!cliHelpAsked(rest)) return run(rest, io);
  // Asked for help, a command parses no further and prints its usage as for a bad flag: here
  // that usage is the answer, on stdout, and asking is no error.
  await run(rest, { ...io, err: (text) => io.out(text) });
  return 0;
}
