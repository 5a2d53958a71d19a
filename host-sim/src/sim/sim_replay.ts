// Replay hints: the command line that runs a simulation again, written from its parsed flags.

/** A flag's value as parsed: a string, true for a boolean flag given, null/false when absent. */
export type FlagValue = string | boolean | null;

/** The arguments for `values` (in its key order): `--flag value`, or `--flag` for true. */
export function replayArgsOf(values: Readonly<Record<string, FlagValue>>): string[] {
  const args: string[] = [];
  for (const [flag, value] of Object.entries(values)) {
    if (value === null || value === false) continue;
    args.push(`--${flag}`);
    if (value !== true) args.push(value);
  }
  return args;
}

/** Quotes an argument for a POSIX shell when it needs it (single quotes, ' as '\''). */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** `shuaka sim ARGS`, each argument quoted for a shell as needed. */
export function replayHintOf(args: readonly string[]): string {
  return ['shuaka', 'sim', ...args].map(shellWord).join(' ');
}
