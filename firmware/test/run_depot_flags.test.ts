// `shuaka run --depot …` flag validation: every bad combination is usage (exit 2) with a
// sentence naming the flag, before any device or file is touched.

import { describe, expect, it } from 'vitest';

import { EXIT_USAGE } from '../src/cli/cli_args.js';
import { runRunCommand } from '../src/cli/run_cmd.js';

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await runRunCommand(argv, { out: () => undefined, err: (l) => err.push(l) });
  return { code, err: err.join('\n') };
}

describe('shuaka run --depot flags', () => {
  const port = ['--port', '/dev/shuaka-no-such-port'];
  it.each([
    [['--depot', 'http://depot:8443', '--depot-identity', 'id'], 'https://'],
    [['--depot', 'no scheme here', '--depot-identity', 'id'], 'not a URL'],
    [['--depot', 'https://depot:8443'], '--depot-identity'],
    [['--depot-identity', 'id'], 'need --depot'],
    [['--depot-interval-s', '5'], 'need --depot'],
    [['--depot', 'https://d:1', '--depot-identity', 'id', '--depot-interval-s', '0'], '1..86400'],
    [['--depot', 'https://d:1', '--depot-identity', ''], '--depot-identity'],
  ])('%j_isUsage', async (flags, says) => {
    const result = await run([...port, ...flags]);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.err).toContain(says);
  });
});
