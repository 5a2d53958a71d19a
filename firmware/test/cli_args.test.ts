// cliNegativesJoined, cliFlagProblem and cliParse: a negative number is a flag's value, not a
// flag; a flag strict parseArgs refuses is named in our words, never in parseArgs' own.

import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';

import {
  cliFlagProblem, cliFlagsChecked, cliNegativesJoined, cliParse, cliShare,
} from '../src/cli/cli_args.js';

const FLAGS = { seed: { type: 'string' }, quiet: { type: 'boolean' } } as const;

/** Every argv of up to `lengthMax` words from `words` (all of them, no sampling). */
function argvsOf(words: readonly string[], lengthMax: number): string[][] {
  const all: string[][] = [[]];
  let level: string[][] = [[]];
  for (let length = 1; length <= lengthMax; length += 1) {
    level = level.flatMap((argv) => words.map((word) => [...argv, word]));
    all.push(...level);
  }
  return all;
}

describe('cliNegativesJoined', () => {
  it('joinsANegativeNumber_toItsStringFlag_only', () => {
    expect(cliNegativesJoined(['--seed', '-1', '--quiet'], FLAGS))
      .toEqual(['--seed=-1', '--quiet']);
    expect(cliNegativesJoined(['--seed', '-0.5'], FLAGS)).toEqual(['--seed=-0.5']);
    // A boolean flag takes no value: what follows stays as it is.
    expect(cliNegativesJoined(['--quiet', '-1'], FLAGS)).toEqual(['--quiet', '-1']);
  });

  it('leavesAMissingValue_unknownFlags_andEverythingAfterDashDash', () => {
    expect(cliNegativesJoined(['--seed', '--quiet'], FLAGS)).toEqual(['--seed', '--quiet']);
    expect(cliNegativesJoined(['--seed'], FLAGS)).toEqual(['--seed']);
    expect(cliNegativesJoined(['--taps', '-1'], FLAGS)).toEqual(['--taps', '-1']);
    expect(cliNegativesJoined(['--constructor', '-1'], FLAGS)).toEqual(['--constructor', '-1']);
    expect(cliNegativesJoined(['--', '--seed', '-1'], FLAGS)).toEqual(['--', '--seed', '-1']);
  });
});

describe('cliFlagProblem', () => {
  it('namesTheFlag_andWhatCameInsteadOfItsValue', () => {
    expect(cliFlagProblem(['--seed', '--quiet'], FLAGS))
      .toBe("--seed needs a value, got the flag '--quiet'");
    expect(cliFlagProblem(['--quiet', '--seed'], FLAGS)).toBe('--seed needs a value, got nothing');
    expect(cliFlagProblem(['--seed', '-x'], FLAGS)).toBe("--seed needs a value, got the flag '-x'");
    expect(cliFlagProblem(['--taps', '3'], FLAGS)).toBe("unknown flag '--taps'");
    expect(cliFlagProblem(['-h'], FLAGS)).toBe("unknown flag '-h'");
    expect(cliFlagProblem(['--quiet=yes'], FLAGS)).toBe("--quiet takes no value, got 'yes'");
    // The first problem in the order given.
    expect(cliFlagProblem(['--bogus', '--seed'], FLAGS)).toBe("unknown flag '--bogus'");
    expect(cliFlagProblem(['--seed', '1', '--seed=2'], FLAGS))
      .toBe('--seed given twice: give it once');
    expect(cliFlagProblem(['--quiet', '--seed', '1', '--quiet'], FLAGS))
      .toBe('--quiet given twice: give it once');
  });

  it('acceptsWhatStrictParseArgsAccepts_withEachFlagOnce_andNothingElse', () => {
    // Every argv of up to 4 of these words; strict parseArgs is the second opinion.
    const words = ['--seed', '--quiet', '--bogus', '5', '-1', '--seed=--x', '--quiet=1', '--',
      '-', '-q', 'x', '--seed='];
    const argvs = argvsOf(words, 4);
    expect(argvs).toHaveLength(1 + 12 + 12 ** 2 + 12 ** 3 + 12 ** 4);
    for (const argv of argvs) {
      const args = cliNegativesJoined(argv, FLAGS);
      let strictRefuses = false;
      try {
        const { tokens } = parseArgs({ args, options: FLAGS, strict: true,
          allowPositionals: true, tokens: true });
        // What strict parsing takes with the last value winning: a flag given twice.
        const names = tokens.flatMap((t) => (t.kind === 'option' ? [t.name] : []));
        strictRefuses = new Set(names).size !== names.length;
      } catch {
        strictRefuses = true;
      }
      expect(cliFlagProblem(args, FLAGS) !== null, argv.join(' ')).toBe(strictRefuses);
    }
  });
});

describe('cliFlagsChecked', () => {
  it('throwsTheProblem_asARangeError_orGivesTheJoinedArgv', () => {
    expect(() => cliFlagsChecked(['--seed'], FLAGS))
      .toThrow(new RangeError('--seed needs a value, got nothing'));
    expect(cliFlagsChecked(['--seed', '-1', '--quiet'], FLAGS)).toEqual(['--seed=-1', '--quiet']);
  });
});

describe('cliParse', () => {
  it('givesANegativeNumber_asTheValue_forTheCallersRangeCheck', () => {
    const err: string[] = [];
    const io = { err: (line: string) => err.push(line) };
    expect(cliParse(['--port', '-1'], ['port'], io)?.values['port']).toBe('-1');
    expect(err).toEqual([]);
  });

  it('saysWhyItGivesNull', () => {
    const err: string[] = [];
    const io = { err: (line: string) => err.push(line) };
    expect(cliParse(['--port', '--host'], ['port', 'host'], io)).toBeNull();
    expect(cliParse(['--host', 'h', '--port'], ['port', 'host'], io)).toBeNull();
    expect(cliParse(['--bogus'], ['port'], io)).toBeNull();
    expect(cliParse(['--host', ''], ['port', 'host'], io)).toBeNull();
    expect(cliParse(['--host='], ['port', 'host'], io)).toBeNull();
    expect(err).toEqual(["--port needs a value, got the flag '--host'",
      '--port needs a value, got nothing', "unknown flag '--bogus'",
      "--host needs a value, got ''", "--host needs a value, got ''"]);
  });
});

describe('cliShare', () => {
  it('takesDecimalsIn0To1_andWhatAReplayWritesBack', () => {
    // Every value with up to 4 places, written as String() writes it (what a replay prints).
    for (let i = 0; i <= 10_000; i += 1) {
      const value = i / 10_000;
      expect(cliShare(String(value))).toBe(value);
      expect(cliShare(String(value), true)).toBe(value < 1 ? value : null);
    }
    expect(cliShare('.5')).toBe(0.5);
    expect(cliShare('0.000001')).toBe(0.000001);
    expect(String(0.000001)).toBe('0.000001');
  });

  it('refusesWhatNumberWouldTake', () => {
    // Number() gives 0, 1, 0.1 or 0.5 for each of these; none is a share written out.
    for (const text of ['', ' ', '0x1', '0b1', '1e-1', '5e-1', ' 0.5', '0.5 ', '+0.5', '-0',
      '.', '0.', '1.5', '2', '0.0000001', 'Infinity', 'NaN', '0,5']) {
      expect(cliShare(text), JSON.stringify(text)).toBeNull();
    }
  });
});
