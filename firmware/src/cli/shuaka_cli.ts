// The `shuaka` command line: one table of subcommands, each in its own module.

import { EXIT_USAGE, type CliIo } from './cli_args.js';

type Command = (argv: string[], io: CliIo) => Promise<number>;

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

const COMMANDS: Record<string, CommandEntry> = {
  replay: {
    summary: 'run the kernel against a recorded card exchange (TRACE.json), print JSON',
    load: async () => (await import('./replay_cmd.js')).runReplayCommand,
  },
  inspect: {
    summary: 'decode a recorded exchange: TLV tree, certificates, fDDA verdict',
    load: async () => (await import('./inspect_cmd.js')).runInspectCommand,
  },
  params: {
    summary: 'sign, verify and build parameter sets (keys, fares, CA keys, deny list)',
    load: async () => (await import('./params_cmd.js')).runParamsCommand,
  },
  journal: {
    summary: 'verify the journal, export clearing records, acknowledge uploads',
    load: async () => (await import('./journal_cmd.js')).runJournalCommand,
  },
  run: {
    summary: 'run the bus validator on a PN532 serial port (JSON-lines log, until SIGINT)',
    load: async () => (await import('./run_cmd.js')).runRunCommand,
  },
};

/**
 * The usage text: this table's commands and `extra` (name -> summary), the commands that the
 * composition root (bin/shuaka.js) runs itself (sim, swarm, depot, emu...), sorted by name.
 */
export function cliUsage(extra: Readonly<Record<string, string>> = {}): string {
  const lines = ['usage: shuaka <command> [options]', '       shuaka --version', '', 'commands:'];
  const summaries = new Map<string, string>(Object.entries(extra));
  for (const [name, entry] of Object.entries(COMMANDS)) summaries.set(name, entry.summary);
  for (const name of [...summaries.keys()].sort())
    lines.push(`  ${name.padEnd(13)} ${summaries.get(name) ?? ''}`);
  lines.push('', 'Run `shuaka <command> --help` for the options of one command.');
  return lines.join('\n');
}

/**
 * Runs one command line; returns the process exit code. `extra`: summaries of the commands
 * the caller runs itself, listed in the usage.
 */
export async function runCli(
  argv: string[],
  io: CliIo = processIo(),
  extra: Readonly<Record<string, string>> = {},
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(cliUsage(extra));
    return name === undefined ? EXIT_USAGE : 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.err(`shuaka: unknown command '${name}'\n${cliUsage(extra)}`);
    return EXIT_USAGE;
  }
  const command = await entry.load();
  return command(rest, io);
}

function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  };
}
