// Shared by every shuaka subcommand: output sinks, exit codes, strict flag parsing.

import { parseArgs } from 'node:util';

/** Where a command prints: `out` for results, `err` for diagnostics and usage. */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Done as asked (for `run`: stopped by a signal or after --max-taps). */
export const EXIT_OK = 0;
/** Refused or failed for a reason of its own (bad parameter set, corrupt input, a crash). */
export const EXIT_FAILED = 1;
/** Bad flags or arguments; the usage is printed. */
export const EXIT_USAGE = 2;
/** `run`: the reader's serial port cannot be opened, or no PN532 answers on it at start. */
export const EXIT_READER = 3;
/** `run`: the journal directory is read-only, full, too small or not a directory. */
export const EXIT_STORAGE = 4;
/** `run`: the display's serial port cannot be opened. */
export const EXIT_DISPLAY = 5;
/** `run --board gate`: the turnstile's device cannot be opened or its controller is silent. */
export const EXIT_TURNSTILE = 6;

/** Parsed flags (string values only) and positionals, or null when the flags are bad. */
export interface CliArgs {
  readonly values: Readonly<Record<string, string | undefined>>;
  readonly positionals: readonly string[];
}

/** A value that reads as a negative number ("-1", "-0.5"), not as a flag. */
const NEGATIVE_NUMBER = /^-[0-9.]/;

/**
 * `argv` with each `--name -1` of a string flag of `options` written `--name=-1`. parseArgs
 * refuses a separate value that starts with a dash ("argument is ambiguous ... use
 * '--seeds=-XYZ'"), which would hide the flag's own message ("--seeds must be an integer in
 * 1..1000000, got '-1'"). Only a negative number is joined, so `--seed --quiet` still lacks
 * its value; nothing after `--` is touched.
 */
export function cliNegativesJoined(
  argv: readonly string[],
  options: Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>,
): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--') return [...joined, ...argv.slice(i)];
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : '';
    const stringFlag = Object.hasOwn(options, name) && options[name]?.type === 'string';
    if (stringFlag && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      joined.push(`${arg}=${next}`);
      i += 1;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/**
 * Parses `argv` strictly against string flags `names`: an unknown flag, a flag without its
 * value or a repeated flag gives null (the caller prints usage and exits 2). A negative number
 * is a value (`--port -1`), left to the caller's range check to refuse by name.
 */
export function cliParse(argv: readonly string[], names: readonly string[]): CliArgs | null {
  const options: Record<string, { type: 'string' }> = {};
  for (const name of names) options[name] = { type: 'string' };
  try {
    const args = cliNegativesJoined(argv, options);
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    const values: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(parsed.values)) {
      if (typeof value !== 'string') return null;
      values[key] = value;
    }
    return { values, positionals: parsed.positionals };
  } catch {
    return null;
  }
}

/** A decimal integer in [min, max], or null. */
export function cliInt(text: string | undefined, min: number, max: number): number | null {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}
