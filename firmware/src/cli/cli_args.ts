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

/**
 * Parses `argv` strictly against string flags `names`: an unknown flag, a flag without its
 * value or a repeated flag gives null (the caller prints usage and exits 2).
 */
export function cliParse(argv: readonly string[], names: readonly string[]): CliArgs | null {
  const options: Record<string, { type: 'string' }> = {};
  for (const name of names) options[name] = { type: 'string' };
  try {
    const parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
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
