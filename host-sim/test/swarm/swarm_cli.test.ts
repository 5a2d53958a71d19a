// `shuaka swarm` from the outside: the real bin as a subprocess, its output and exit codes.

import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { testSeed } from '../sim/support/sim_ride.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = testSeed(77);

function shuaka(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return shuakaWith({}, ...args);
}

function shuakaWith(
  env: Record<string, string>,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('shuaka swarm (subprocess)', () => {
  beforeAll(() => {
    // The bin rebuilds dist/ when sources are newer; do it once, outside the timed cases.
    shuaka('swarm', '--help');
  }, 600_000);

  it('prints its usage with the exit codes', () => {
    const run = shuaka('swarm', '--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--faults LIST');
    expect(run.stdout).toContain('1 invariant violated, 2 usage, 3 crash, 4 liveness');
    // The codes the second process adds (both tested below).
    expect(run.stdout).toContain('9 node refused SHUAKA_SWARM_NODE_OPTIONS');
    expect(run.stdout).toContain('128+N ended by signal');
  });

  it('refuses bad flags with exit 2 and says why', () => {
    const unknownFault = shuaka('swarm', '--faults', 'power-cut,meteor');
    expect(unknownFault.status).toBe(2);
    expect(unknownFault.stderr).toContain("unknown 'meteor'");
    const unknownCheck = shuaka('swarm', '--check', 'speed');
    expect(unknownCheck.status).toBe(2);
    expect(shuaka('swarm', '--taps', '0').status).toBe(2);
    expect(shuaka('swarm', '--seed', '-1').status).toBe(2);
    expect(shuaka('swarm', 'extra').status).toBe(2);
    const emptyFaults = shuaka('swarm', '--faults=');
    expect(emptyFaults.status).toBe(2);
    expect(emptyFaults.stderr).toContain("--faults needs a list, 'all' or 'none', got nothing");
  });

  it('refuses a negative number by the flag\'s own range, not parseArgs\' dash message', () => {
    const cases = [
      [['--seeds', '-1'], "--seeds must be an integer in 1..1000000, got '-1'"],
      [['--seed', '-1'], "--seed must be an integer in 0..4294967295, got '-1'"],
      [['--taps', '-5'], "--taps must be an integer in 1..1000000, got '-5'"],
      [['--taps=-5'], "--taps must be an integer in 1..1000000, got '-5'"],
      [['--seeds', '0'], "--seeds must be an integer in 1..1000000, got '0'"],
    ] as const;
    for (const [args, message] of cases) {
      const run = shuaka('swarm', ...args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(`shuaka swarm: ${message}\nUsage: shuaka swarm`);
      expect(run.stderr).not.toContain('ambiguous');
    }
  });

  it('names a flag given without its value, not in parseArgs\' words', () => {
    const cases = [
      [['--seeds', '--quiet'], "--seeds needs a value, got the flag '--quiet'"],
      [['--quiet', '--seeds'], '--seeds needs a value, got nothing'],
      [['--taps', '-x', '--seeds', '2'], "--taps needs a value, got the flag '-x'"],
      [['--seeds', '2', '--bogus'], "unknown flag '--bogus'"],
    ] as const;
    for (const [args, message] of cases) {
      const run = shuaka('swarm', ...args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toContain(`shuaka swarm: ${message}\nUsage: shuaka swarm`);
      expect(run.stderr).not.toMatch(/ambiguous|argument missing|Unknown option|-XYZ/);
      expect(run.stdout).toBe('');
    }
  });

  it(`runs a seed to the end and prints taps per second (seed ${SEED})`, () => {
    const args = ['swarm', '--seed', String(SEED), '--taps', '12', '--faults', 'card-pull'];
    const run = shuaka(...args, '--check', 'double-charge,durable-debit,committed,kernel');
    expect(run.stderr, `seed ${SEED}`).toBe('');
    expect(run.status, `seed ${SEED}: ${run.stdout}`).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^seed ${SEED}: \\d+ taps`, 'm'));
    expect(run.stdout).toMatch(/taps\/s wall, [\d,]+ taps\/s CPU/);
    // The last line names the runtime the figure was measured on (the swarm's own node).
    expect(run.stdout).toContain(`taps/s CPU; Node.js ${process.versions.node})\n`);
    expect(run.stdout).toContain('shuaka swarm: 1 seed, ');
    // Four of the invariants were checked: the last line says so, not "all".
    expect(run.stdout).toMatch(/taps, the 4 invariants checked held \(/);
    const none = shuaka('swarm', '--seed', String(SEED), '--taps', '3', '--check', 'none');
    expect(none.status, `seed ${SEED}`).toBe(0);
    expect(none.stdout).toContain('no invariant checked (--check none)');
    expect(none.stdout).not.toContain('held');
  });

  it('runs in a second node process started with its V8 options, and says when node refuses them', () => {
    // The options reach node: one it does not know ends the run with node's exit code 9.
    const refused = shuakaWith({ SHUAKA_SWARM_NODE_OPTIONS: '--no-such-v8-option' },
      'swarm', '--taps', '3');
    expect(refused.status).toBe(9);
    expect(refused.stderr).toMatch(/shuaka swarm: node refused the options --no-such-v8-option/);
    expect(refused.stdout).toBe('');
    // One that would run something else (node's version, a syntax check: exit 0, no swarm),
    // or a word node would run as the script: refused as usage, before any process starts.
    for (const options of ['--version', '--check', 'other.js', '--single-threaded-gc -e']) {
      const other = shuakaWith({ SHUAKA_SWARM_NODE_OPTIONS: options }, 'swarm', '--taps', '3');
      expect(other.status, options).toBe(2);
      expect(other.stderr, options).toMatch(/SHUAKA_SWARM_NODE_OPTIONS may list node and V8 /);
      expect(other.stdout, options).toBe('');
    }
  });

  it('runs the swarm under its V8 options and passes a SIGTERM on to it', async () => {
    const parent = spawn(process.execPath, [BIN, 'swarm', '--taps', '1000000', '--faults', 'none'],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    parent.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => parent.on('exit', resolve));
    // The second process is the parent's child: its command line, from /proc (Linux).
    let cmdline: string[] = [];
    for (let i = 0; i < 200 && cmdline.length === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const children = await readFile(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8')
        .catch(() => '');
      const pid = children.trim().split(/\s+/)[0];
      if (pid === undefined || pid === '') continue;
      cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    }
    try {
      expect(cmdline).toContain('--single-threaded-gc');
      expect(cmdline).toContain('--max-semi-space-size=64');
      expect(cmdline).toContain('swarm');
    } finally {
      parent.kill('SIGTERM');
    }
    // The child ends on the signal; the parent exits as it did (128 + 15).
    expect(await exited, stderr).toBe(143);
  }, 60_000);
});
