// Shared by every shuaka subcommand: output sinks, exit codes, strict flag parsing.

import { parseArgs } from 'node:util';

/** Where a command prints: `out` for results, `err` for diagnostics and usage. */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /**
   * Waits until every line given to `out` is written; resolves with why stdout failed (a
   * full disk, a file-size limit), or null. A command whose product is its stdout asks this
   * before it reports success. Absent: `out` cannot fail (a test's array).
   */
  readonly outFlush?: () => Promise<string | null>;
  /**
   * Resolves once stdout takes more (what `out` was given is under its buffer's bound) or has
   * failed. A command that streams much to stdout awaits it between chunks: a slow reader
   * (a pipe to an upload link) must slow the command, not fill its memory. Absent: `out`
   * never backs up.
   */
  readonly outDrain?: () => Promise<void>;
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

/** Flags of a command, as parseArgs takes them (no short aliases, no `multiple`). */
export type CliFlags = Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>;

/** True when `argv` asks for help (`--help` or `-h` before any `--`). */
export function cliHelpAsked(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/**
 * A `VERB [flags]` command line split into its verb and the rest. A first word that asks for
 * help is no verb: it stays in the rest, so that the command's parser answers with its usage
 * (`depot terminal --help` said "unknown command '--help'" before the usage).
 */
export function cliVerb(argv: readonly string[]): [string | undefined, string[]] {
  const [first, ...rest] = argv;
  return first === '--help' || first === '-h' ? [undefined, [...argv]] : [first, rest];
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
export function cliNegativesJoined(argv: readonly string[], options: CliFlags): string[] {
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
 * Our sentence for the first flag of `argv` (negatives already joined) that strict parseArgs
 * would refuse with its own wording, or null: an unknown flag, a string flag followed by
 * another flag or by nothing, a boolean flag given a value; and a flag given twice, which
 * parseArgs would take (the last value winning). parseArgs' words name its option
 * syntax ("Option '--seeds <value>' argument missing", "use '--seeds=-XYZ'"), not the
 * command's.
 */
export function cliFlagProblem(argv: readonly string[], options: CliFlags): string | null {
  // Lenient parsing yields the tokens in order (a string flag takes the next argument, even
  // a flag), which strict parsing would have thrown on.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false,
    allowPositionals: true, tokens: true });
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const flag = token.rawName;
    const type = Object.hasOwn(options, token.name) ? options[token.name]?.type : undefined;
    if (type === undefined) return `unknown flag '${flag}'`;
    // Two values for one setting is a mistake to name (a script's default left before its
    // override, a typo'd second flag), not a choice to make for the operator.
    if (seen.has(token.name)) return `${flag} given twice: give it once`;
    seen.add(token.name);
    if (type === 'boolean') {
      if (token.inlineValue === true) return `${flag} takes no value, got '${token.value}'`;
      continue;
    }
    if (token.value === undefined) return `${flag} needs a value, got nothing`;
    // `--seeds=--x` is a value by choice; a separate one that looks like a flag is a flag.
    const flagLike = token.value.length > 1 && token.value.startsWith('-');
    if (token.inlineValue !== true && flagLike) {
      return `${flag} needs a value, got the flag '${token.value}'`;
    }
  }
  return null;
}

/**
 * `argv` ready for strict parseArgs against `options`: negatives joined (cliNegativesJoined),
 * and a flag parseArgs would refuse thrown first as a RangeError with our sentence
 * (cliFlagProblem), which the commands print after their name, as their range errors.
 */
export function cliFlagsChecked(argv: readonly string[], options: CliFlags): string[] {
  const args = cliNegativesJoined(argv, options);
  const problem = cliFlagProblem(args, options);
  if (problem !== null) throw new RangeError(problem);
  return args;
}

/**
 * Parses `argv` strictly against string flags `names`: an unknown flag or a flag without its
 * value (or with an empty one), or a flag given twice, gives null after `io.err` says which
 * (the caller then prints its usage and exits 2). A negative number is a value (`--port -1`),
 * left to the caller's range check to refuse by name.
 */
export function cliParse(
  argv: readonly string[],
  names: readonly string[],
  io: Pick<CliIo, 'err'>,
): CliArgs | null {
  const options: Record<string, { type: 'string' }> = {};
  for (const name of names) options[name] = { type: 'string' };
  try {
    const args = cliFlagsChecked(argv, options);
    const parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
    const values: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(parsed.values)) {
      if (typeof value !== 'string') return null;
      // Every flag here names a file, a directory or a value: '' is none of them, and as a
      // path it meant the current directory ('sim --journal ""' wrote over a journal there).
      if (value === '') {
        io.err(`--${key} needs a value, got ''`);
        return null;
      }
      values[key] = value;
    }
    return { values, positionals: parsed.positionals };
  } catch (error) {
    // `--help` is a request, not a mistake: the caller's usage is the whole answer.
    if (!cliHelpAsked(argv)) io.err(error instanceof Error ? error.message : String(error));
    return null;
  }
}

/**
 * What is wrong with `args` for a command whose `required` flags must all be given and which
 * takes exactly the positional arguments `positionals` names (their usage names, e.g. 'DIR');
 * null when nothing is. The usage text alone did not say which of them was missing.
 */
export function cliArgsProblem(
  args: CliArgs,
  required: readonly string[],
  positionals: readonly string[],
): string | null {
  for (const flag of required) {
    if (args.values[flag] === undefined) return `--${flag} is required`;
  }
  const given = args.positionals.length;
  if (given > positionals.length) {
    return `unexpected argument '${args.positionals[positionals.length] ?? ''}'`;
  }
  if (given < positionals.length) return `${positionals.slice(given).join(' and ')} missing`;
  return null;
}

/**
 * A share written in decimal (0, 1, 0.25, .5) in [0, 1], or below 1 with `belowOne`; else
 * null. Six places at most: a replay line writes the value back with String(), which turns
 * 0.0000001 into '1e-7'. Number() alone also takes '', ' ', '0x1' and '1e-1'.
 */
export function cliShare(text: string, belowOne = false): number | null {
  if (!/^(?:[01]|[01]?\.[0-9]{1,6})$/.test(text)) return null;
  const value = Number(text);
  return value >= 0 && (belowOne ? value < 1 : value <= 1) ? value : null;
}

/** A decimal integer in [min, max], or null. */
export function cliInt(text: string | undefined, min: number, max: number): number | null {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) return null;
  const value = Number(text);
  return value >= min && value <= max ? value : null;
}
