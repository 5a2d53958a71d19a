// Every command that parses its flags with cli_args.ts, as a real subprocess: a flag followed
// by another flag, or by nothing (or `params sign`'s out of range), is named in our words (exit
// 2, the usage after it), never in node's parseArgs wording; `params init` refuses a bad id in
// terminal.json's own words.

import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ID_PATTERN } from '../src/app/params/field_patterns.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
/** parseArgs' own sentences for these cases (node 20): none may reach the operator. */
const NODE_WORDS = /ambiguous|argument missing|Unknown option|-XYZ|does not take an argument/;

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-cli-flags-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function shuaka(args: readonly string[]): { code: number | null; out: string; err: string } {
  // A command that wrongly accepted its flags might start serving: the timeout ends it.
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

/** argv, and the line the command prints first (its own prefix, then our sentence). */
const CASES: readonly (readonly [readonly string[], string])[] = [
  [['run', '--port', '/dev/null', '--max-taps', '--mode', 'ec'],
    "shuaka run: --max-taps needs a value, got the flag '--mode'"],
  [['run', '--port'], 'shuaka run: --port needs a value, got nothing'],
  [['sim', '--seed', '--quiet'], "shuaka sim: --seed needs a value, got the flag '--quiet'"],
  [['sim', '--web', '--port'], 'shuaka sim --web: --port needs a value, got nothing'],
  [['sim', '--board', 'gate', '--groups', '--quiet'],
    "shuaka sim: --groups needs a value, got the flag '--quiet'"],
  [['sim', '--fleet', '2', '--seed'], 'shuaka sim: --seed needs a value, got nothing'],
  [['swarm', '--seeds', '--quiet'], "shuaka swarm: --seeds needs a value, got the flag '--quiet'"],
  [['params', 'sign', '--key', '--version', '3', 'set'],
    "--key needs a value, got the flag '--version'"],
  [['params', 'init', 'set', '--terminal-id'], '--terminal-id needs a value, got nothing'],
  // A value out of range, or a flag missing, is named too (the usage alone said neither).
  [['params', 'sign', '--key', 'k.pem', '--version', '0', 'set'],
    'params sign: --version 0: a whole number from 1 to 4294967295'],
  [['params', 'sign', '--key', 'k.pem', '--version', '1e3', 'set'],
    'params sign: --version 1e3: a whole number from 1 to 4294967295'],
  [['params', 'sign', 'set'], 'params sign: --key KEY.pem is required'],
  [['journal', 'verify', '--journal'], '--journal needs a value, got nothing'],
  [['journal', 'ack', '--through', '--journal', 'j'],
    "--through needs a value, got the flag '--journal'"],
  [['replay', '--runtime', '--x', 't.json'], "--runtime needs a value, got the flag '--x'"],
  // The trace taken for the runtime: said so (the usage alone came before).
  [['replay', '--runtime', 't.json'], "--runtime: expected core or component, got 't.json'"],
  [['inspect', 'a.json', 'b.json'], "unexpected argument 'b.json'"],
  [['--version', '--bogus'], "shuaka --version: takes no arguments, got '--bogus'"],
  [['depot', 'terminal', 'add', '--id', 'B1', '--db'], '--db needs a value, got nothing'],
  [['depot', 'serve', '--dir', '--db', 'x'], "--dir needs a value, got the flag '--db'"],
  [['depot', 'report', '--db'], '--db needs a value, got nothing'],
  [['depot', 'settle', '--db', 'x', '--acquirer'], '--acquirer needs a value, got nothing'],
  [['depot', 'debt', 'list', '--db'], '--db needs a value, got nothing'],
  [['depot', 'init', '--dir'], '--dir needs a value, got nothing'],
  [['depot', 'publish', '--key', '--dir', 'd'], "--key needs a value, got the flag '--dir'"],
  [['acquirer-sim', '--port'], '--port needs a value, got nothing'],
  // An empty value: as a path it is the current directory (a journal there written over).
  [['journal', 'export', '--journal', 'j', '--out', ''], "--out needs a value, got ''"],
  [['journal', 'verify', '--journal', ''], "--journal needs a value, got ''"],
  [['journal', 'init', '--after-seq', '5', '--journal', ''], "--journal needs a value, got ''"],
  [['params', 'denylist-build', '--deny-key', '', 'in.csv', 'out.bin'],
    "--deny-key needs a value, got ''"],
  [['sim', '--journal', '', '--link', 'memory'], 'shuaka sim: --journal needs a directory name'],
];

describe('a flag without its value (subprocess)', () => {
  it.each(CASES)('%j is named, exit 2', (argv, first) => {
    const run = shuaka(argv);
    expect(run.code, run.err).toBe(2);
    expect(run.err.split('\n')[0]).toBe(first);
    expect(run.err).toMatch(/usage/i);
    expect(run.err).not.toMatch(NODE_WORDS);
    expect(run.out).toBe('');
  });
});

describe('a depot command without --db (subprocess)', () => {
  // Every one of their helps lists "2 usage" and "10 database": no --db is the former.
  it.each([
    [['depot', 'tap', 'void', '--id', '3']], [['depot', 'debt', 'list']], [['depot', 'report']],
    [['depot', 'terminal', 'list']],
  ])('%j says so, exit 2', (argv) => {
    const run = shuaka(argv);
    expect(run.code, run.err).toBe(2);
    expect(run.err).toBe('shuaka depot: --db FILE or --db postgres://... is required\n');
    expect(run.out).toBe('');
  });
});

/** A subcommand asked for help, and a line its usage starts with. */
const HELP_CASES: readonly (readonly [readonly string[], string])[] = [
  [['depot', 'serve', '--help'], 'usage: shuaka depot serve'],
  [['depot', 'terminal', 'add', '-h'], 'usage:'],
  [['depot', 'report', '--db', 'x.db', '--help'], 'usage: shuaka depot report'],
  [['journal', 'verify', '--help'], 'Usage:'],
  [['params', 'sign', '--key', 'k.pem', '--help'], 'Usage:'],
  [['acquirer-sim', '--help'], 'usage: shuaka acquirer-sim'],
  [['acquirer-sim', '--port', '0', '-h'], 'usage: shuaka acquirer-sim'],
  [['sim', '-h'], 'Usage: shuaka sim [--seed N]'],
  [['swarm', '-h'], 'Usage: shuaka swarm'],
  [['sim', '--fleet', '1', '--help'], 'Usage: shuaka sim --fleet N'],
  [['sim', '--fleet', '2', '-h'], 'Usage: shuaka sim --fleet N'],
  [['sim', '--board', 'gate', '-h'], 'Usage: shuaka sim --board gate'],
  [['sim', '--web', '-h'], 'Usage: shuaka sim --web'],
  // Printed nothing, exit 2.
  [['run', '--board', 'gate', '--help'], 'Usage:'],
  [['run', '--port', 'x', '-h'], 'Usage:'],
];

describe('a subcommand asked for --help (subprocess)', () => {
  it.each(HELP_CASES)('%j prints its usage on stdout, exit 0', (argv, first) => {
    const run = shuaka(argv);
    expect(run.code, run.err).toBe(0);
    expect(run.out.split('\n')[0]).toContain(first);
    expect(run.out).not.toMatch(/unknown flag/);
    expect(run.err).toBe('');
  });
});

describe('shuaka params init (subprocess)', () => {
  it('refusesABadId_inTheWordsOfTerminalJsonsPattern_andWritesNothing', async () => {
    const cases = [
      ['--terminal-id', 'BUS 001'], ['--terminal-id', 'B'.repeat(33)],
      ['--line-id', 'LINE/1'], ['--terminal-id', ''],
    ] as const;
    for (const [flag, id] of cases) {
      const set = join(dir, 'refused');
      const run = shuaka(['params', 'init', `${flag}=${id}`, set]);
      expect(run.code, run.err).toBe(2);
      // An empty value is refused as every command's empty flag is, before its pattern.
      expect(id === '' ? run.err.split('\n')[0] : run.err.trim()).toBe(id === ''
        ? `${flag} needs a value, got ''`
        : `shuaka params init: ${flag} must be ${ID_PATTERN.says}, got ${JSON.stringify(id)}`);
      await expect(readdir(set)).rejects.toThrow(/ENOENT/);
    }
  });

  it('acceptsTheLongestId_thatTheSignerAccepts', async () => {
    const set = join(dir, 'longest');
    const init = shuaka(['params', 'init', '--terminal-id', 'B'.repeat(32), '--line-id',
      'L-1.a_b', '--deny-key', join(dir, 'deny.key'), set]);
    expect(init.code, init.err).toBe(0);
    expect(shuaka(['params', 'keygen', '--out', join(dir, 'ops')]).code).toBe(0);
    const signed = shuaka(['params', 'sign', '--key', join(dir, 'ops.key.pem'), set]);
    expect(signed.code, signed.err).toBe(0);
  });
});

describe('files named on the command line that are endless (subprocess)', () => {
  // Each was read with readFile: /dev/zero grew to node's string limit (615 MB) or, for the
  // deny list's CSV, to 3.6 GB in 10 s. Now each read stops at its bound; a pipe (a key given
  // as <(vault read ...)) is still read to its end.
  it('devZero_isRefusedAtItsBound_aPipeStillServes', async () => {
    const denyKey = join(dir, 'zero-deny.key');
    expect(shuaka(['params', 'denykey-new', denyKey]).code).toBe(0);
    const set = join(dir, 'zero-set');
    expect(shuaka(['params', 'init', '--deny-key', denyKey, set]).code).toBe(0);
    const cases: readonly (readonly [readonly string[], number])[] = [
      [['replay', '/dev/zero'], 2],
      [['inspect', '/dev/zero'], 2],
      [['params', 'denylist-build', '--deny-key', denyKey, '/dev/zero', join(dir, 'out.bin')], 1],
      [['params', 'sign', '--key', '/dev/zero', set], 1],
      [['params', 'verify', '--pub', '/dev/zero', set], 1],
    ];
    for (const [args, code] of cases) {
      const started = Date.now();
      const run = shuaka(args);
      expect(run.code, args.join(' ')).toBe(code);
      expect(run.err, args.join(' '))
        .toMatch(/EFBIG: larger than [0-9]+ bytes, open '\/dev\/zero'/);
      expect(Date.now() - started, args.join(' ')).toBeLessThan(20_000);
    }
    expect(shuaka(['params', 'keygen', '--out', join(dir, 'piped')]).code).toBe(0);
    const piped = spawnSync('bash', ['-c', `'${process.execPath}' '${BIN}' params sign --key `
      + `<(cat '${join(dir, 'piped.key.pem')}') '${set}'`], { cwd: ROOT, encoding: 'utf8' });
    expect(piped.status, piped.stderr).toBe(0);
  }, 120_000);
});
