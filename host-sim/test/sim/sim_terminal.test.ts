// The terminal of `shuaka sim`: progress and tap lines never share a line; the replay hint
// carries every flag.

import { describe, expect, it } from 'vitest';
import {
  parseSimOptions,
  SIM_FLAGS,
  simReplayArgs,
  simReplayHint,
  type SimOptions,
} from '../../src/sim/sim_cli.js';
import { FLEET_FLAGS, fleetReplayHint, runFleetCommand } from '../../src/sim/fleet_cli.js';
import { terminalIo } from '../../src/sim/sim_terminal.js';
import { terminalScreen } from './terminal_screen.js';

/** Every flag of SIM_FLAGS with a value that is not its default. */
const EVERY_FLAG: Record<keyof typeof SIM_FLAGS, string | null> = {
  seed: '77',
  riders: '9',
  torn: '0.25',
  baud: '115200',
  mode: 'ec',
  population: 'default',
  link: 'memory',
  quiet: null,
  log: 'run log.jsonl',
  journal: 'journal-dir',
  'no-depot': null,
  psam: 'none',
};

function argvOf(flags: Readonly<Record<string, string | null>>): string[] {
  return Object.entries(flags).flatMap(([flag, value]) =>
    value === null ? [`--${flag}`] : [`--${flag}`, value]);
}

function parsed(argv: string[]): SimOptions {
  const options = parseSimOptions(argv);
  if (typeof options === 'string') throw new Error(options);
  return options;
}

describe('terminalIo', () => {
  it('tty_tapAfterProgress_startsOnItsOwnLine_andSummaryEndsClean', () => {
    let screen = '';
    const write = { write: (t: string) => (screen += t) };
    const io = terminalIo(write, write, write);
    io.out('shuaka sim: seed 1');
    for (let n = 1; n <= 3; n += 1) {
      io.out(`   ${n}.0s #  ${n} card`);
      io.status?.(`[${'#'.repeat(n)}] ${n}/3 riders`);
    }
    io.out('summary: 3 taps');
    io.endStatus();
    expect(terminalScreen(screen)).toEqual(['shuaka sim: seed 1', '   1.0s #  1 card',
      '   2.0s #  2 card', '   3.0s #  3 card', 'summary: 3 taps', '']);
  });

  it('notATty_hasNoStatus_andWritesPlainLines', () => {
    let out = '';
    const io = terminalIo({ write: (t: string) => (out += t) }, { write: () => 0 }, null);
    expect(io.status).toBeUndefined();
    io.out('a');
    io.endStatus();
    expect(out).toBe('a\n');
  });
});

describe('replay hint', () => {
  it('negativeNumber_isRefusedByTheFlagsOwnRange', () => {
    expect(parseSimOptions(['--seed', '-1']))
      .toBe("--seed must be an integer in 0..4294967295, got '-1'");
    expect(parseSimOptions(['--torn', '-0.5'])).toBe("--torn must be a number in 0..1, got '-0.5'");
  });

  it('shares_areDecimals_andAFleetFailureShareStaysBelowOne', async () => {
    for (const torn of ['', '0x1', '1e-1', '1.5']) {
      expect(parseSimOptions(['--torn', torn])).toBe(`--torn must be a number in 0..1, got '${
        torn}'`);
    }
    // --fail 1: no contact would ever get through. The usage said 0..1 and refused 1.
    for (const fail of ['1', '0x0', '']) {
      const err: string[] = [];
      const io = { out: () => undefined, err: (t: string) => err.push(t) };
      expect(await runFleetCommand(['--fleet', '1', '--fail', fail], io, null)).toBe(2);
      expect(err.join('\n')).toContain(
        `--fail must be a decimal number from 0 to below 1, got '${fail}'`);
    }
  });

  it('everyFlag_appearsInTheHint_withItsValue', () => {
    const hint = simReplayHint(parsed(argvOf(EVERY_FLAG)));
    for (const [flag, value] of Object.entries(EVERY_FLAG)) {
      expect(hint).toContain(value === null ? `--${flag}`
        : `--${flag} ${/ /.test(value) ? `'${value}'` : value}`);
    }
  });

  it('replayArgs_parseBackToTheSameRun', () => {
    const first = parsed(argvOf(EVERY_FLAG));
    expect(parsed(simReplayArgs(first))).toEqual(first);
    const defaults = parsed([]);
    expect(parsed(simReplayArgs(defaults))).toEqual(defaults);
    // Defaults are written out: the replay does not lean on a later version's defaults.
    expect(simReplayArgs(defaults)).toEqual(['--seed', '1', '--riders', '40', '--torn', '0.08',
      '--baud', '921600', '--mode', 'auto', '--population', 'realistic', '--link', 'pty',
      '--psam', 'emu']);
  });
});

describe('fleet replay hint', () => {
  const every: Record<keyof typeof FLEET_FLAGS, string | null> = {
    fleet: '3', seed: '12', riders: '7', depot: 'https://depot.example:8443/',
    'depot-identities': 'ids dir', fail: '0.2', lost: '0.01', quiet: null,
    'params-key': 'params.pub.pem', 'deny-key': 'deny.key', link: 'memory',
  };

  it('everyFleetFlag_appearsInTheHint_andTheHintParsesBackToItself', () => {
    const hint = fleetReplayHint(argvOf(every)) ?? '';
    for (const [flag, value] of Object.entries(every)) {
      expect(hint).toContain(value === null ? `--${flag}`
        : `--${flag} ${/ /.test(value) ? `'${value}'` : value}`);
    }
    // The hint's own arguments (one quoted word here) give the same hint back.
    const words = hint.replace("'ids dir'", 'ids\u0000dir').split(' ').slice(2)
      .map((w) => w.replace('\u0000', ' '));
    expect(fleetReplayHint(words)).toBe(hint);
    expect(fleetReplayHint(['--fleet', '2'])).toBe('shuaka sim --fleet 2 --seed 1 --riders 20 '
      + '--fail 0.1 --lost 0.05 --link memory');
  });
});
