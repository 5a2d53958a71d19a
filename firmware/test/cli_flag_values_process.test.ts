// Every command that parses its flags with cli_args.ts, as a real subprocess: a flag followed
// by another flag, or by nothing, is named in our words (exit 2, the usage after it), never in
// node's parseArgs wording.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
/** parseArgs' own sentences for these cases (node 20): none may reach the operator. */
const NODE_WORDS = /ambiguous|argument missing|Unknown option|-XYZ|does not take an argument/;

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
  [['journal', 'verify', '--journal'], '--journal needs a value, got nothing'],
  [['journal', 'ack', '--through', '--journal', 'j'],
    "--through needs a value, got the flag '--journal'"],
  [['replay', '--runtime', '--x', 't.json'], "--runtime needs a value, got the flag '--x'"],
  [['depot', 'terminal', 'add', '--id', 'B1', '--db'], '--db needs a value, got nothing'],
  [['depot', 'serve', '--dir', '--db', 'x'], "--dir needs a value, got the flag '--db'"],
  [['depot', 'report', '--db'], '--db needs a value, got nothing'],
  [['depot', 'settle', '--db', 'x', '--acquirer'], '--acquirer needs a value, got nothing'],
  [['depot', 'debt', 'list', '--db'], '--db needs a value, got nothing'],
  [['depot', 'init', '--dir'], '--dir needs a value, got nothing'],
  [['depot', 'publish', '--key', '--dir', 'd'], "--key needs a value, got the flag '--dir'"],
  [['acquirer-sim', '--port'], '--port needs a value, got nothing'],
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
