// cliNegativesJoined and cliParse: a negative number is a flag's value, not a flag.

import { describe, expect, it } from 'vitest';

import { cliNegativesJoined, cliParse } from '../src/cli/cli_args.js';

const FLAGS = { seed: { type: 'string' }, quiet: { type: 'boolean' } } as const;

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

describe('cliParse', () => {
  it('givesANegativeNumber_asTheValue_forTheCallersRangeCheck', () => {
    expect(cliParse(['--port', '-1'], ['port'])?.values['port']).toBe('-1');
    expect(cliParse(['--port', '--host'], ['port', 'host'])).toBeNull();
  });
});
