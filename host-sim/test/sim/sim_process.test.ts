// `shuaka sim` as a real process: --log fails fast and streams, the replay hint replays the run
// through a real shell, Ctrl-C leaves a partial summary and nothing behind, and a real pty
// shows progress and tap lines apart.

import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { externalToolsReady } from '../../src/pn532_sim/pty/external_tools.js';
import { SIM_FLAGS } from '../../src/sim/sim_cli.js';
import { terminalScreen } from './terminal_screen.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const TAP_LINE = /^ +[0-9]+\.[0-9]s #/;
const PROGRESS = /\[[#.]{30}\] [0-9]+\/[0-9]+ riders/;

const dirs: string[] = [];
function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `shuaka-${label}-`));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function sim(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [BIN, 'sim', ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env },
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('shuaka sim (process)', () => {
  it('log_onABadPath_exits2_beforeAnyTap', () => {
    const run = sim(['--riders', '3', '--link', 'memory', '--log', '/nonexistent-dir/x.log']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--log /nonexistent-dir/x.log: cannot write the log there');
    expect(run.stdout).toBe('');
  });

  it('log_thatFailsMidRun_endsThere_theRunGoesOn_exit2WithOneLine', () => {
    const run = sim(['--riders', '3', '--link', 'memory', '--no-depot', '--quiet', '--log',
      '/dev/full']);
    // Old code: 'crashed (seed 1)' and a stack trace, exit 3.
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toBe('shuaka sim: --log /dev/full: the log ends after 0 lines: ENOSPC: '
      + 'no space left on device, write\n');
    expect(run.stdout).toMatch(/^summary: \d+ taps, seed 1/m);
    expect(run.stdout).toMatch(/^ {2}checks: no double charge/m);
  });

  it('moneyLoop_withoutTheSqliteBinding_saysSoInOneLine_andNamesNoDepot', () => {
    // An install made with --ignore-scripts (install.md): better-sqlite3 without its compiled
    // binding. A copy of the package whose node_modules link to ours but for that one.
    const pkg = tempDir('no-binding');
    for (const part of ['bin', 'dist', 'build', 'package.json']) {
      cpSync(join(ROOT, part), join(pkg, part), { recursive: true });
    }
    const modules = join(pkg, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name === 'better-sqlite3') continue;
      symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
    }
    for (const part of ['package.json', 'lib']) {
      cpSync(join(ROOT, 'node_modules', 'better-sqlite3', part),
        join(modules, 'better-sqlite3', part), { recursive: true });
    }
    const run = spawnSync(process.execPath, [join(pkg, 'bin', 'shuaka.js'), 'sim', '--riders',
      '2', '--link', 'memory', '--quiet'], { cwd: pkg, encoding: 'utf8', timeout: 120_000 });
    // Old code: 'the money loop crashed' and a stack trace.
    expect(run.status, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/^shuaka sim: the money loop cannot run \(seed 1\): cannot open /);
    expect(run.stderr).toContain('--no-depot rides and checks without it');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    const ride = spawnSync(process.execPath, [join(pkg, 'bin', 'shuaka.js'), 'sim', '--riders',
      '2', '--link', 'memory', '--quiet', '--no-depot'], { cwd: pkg, encoding: 'utf8' });
    expect(ride.status, ride.stderr).toBe(0);
  });

  it('fleet_leavesNoTemporaryDirectoryBehind', () => {
    const temp = tempDir('fleet-tmp');
    const run = sim(['--fleet', '3', '--riders', '2', '--quiet'], { TMPDIR: temp });
    expect(run.status, run.stderr).toBe(0);
    // Old code: one shuaka-sim-sysfs-* per bus, left for good.
    expect(readdirSync(temp)).toEqual([]);
  });

  it('replayHint_runThroughAShell_replaysTheRunExactly', () => {
    const dir = tempDir('replay');
    const journal = join(dir, 'journal');
    const args = ['--seed', '9', '--riders', '6', '--torn', '0.5', '--baud', '230400', '--mode',
      'ec', '--population', 'default', '--link', 'memory', '--log', join(dir, 'run.log'),
      '--journal', journal, '--quiet', '--no-depot', '--psam', 'none'];
    // Every flag of the table is on this command line (a new flag must join this test).
    for (const flag of Object.keys(SIM_FLAGS)) expect(args).toContain(`--${flag}`);
    const first = sim(args);
    expect(first.status, first.stderr).toBe(0);
    const hint = first.stdout.trimEnd().split('\n').pop() ?? '';
    expect(hint).toMatch(/^replay: shuaka sim /);
    for (const flag of Object.keys(SIM_FLAGS)) expect(hint).toContain(`--${flag}`);
    const log = readFileSync(join(dir, 'run.log'), 'utf8');
    rmSync(journal, { recursive: true });
    const again = spawnSync('sh', ['-c',
      hint.replace(/^replay: shuaka /, `'${process.execPath}' '${BIN}' `)], {
      cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    expect(readFileSync(join(dir, 'run.log'), 'utf8')).toBe(log);
  });

  it('ctrlC_toTheProcessGroup_midRun_printsAPartialSummary_leavesNoSocatNorTempDir', async () => {
    const link = externalToolsReady(['socat'], 'sim SIGINT on the pty link') ? 'pty' : 'memory';
    const tmp = tempDir('sigint-tmp');
    const logPath = join(tempDir('sigint-log'), 'run.log');
    const child = spawn(process.execPath, [BIN, 'sim', '--riders', '2000', '--link', link,
      '--log', logPath], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp }, detached: true });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    while (stdout.split('\n').filter((l) => TAP_LINE.test(l)).length < 3) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // The log streams: the taps so far are in the file while the run goes on.
    expect(readFileSync(logPath, 'utf8')).toMatch(/"event":/);
    const children = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' })
      .stdout.split('\n').filter((p) => p !== '').map(Number);
    if (link === 'pty') expect(children.length).toBeGreaterThan(0);
    // As Ctrl-C at a terminal: SIGINT to the whole foreground process group.
    process.kill(-(child.pid ?? 0), 'SIGINT');
    expect(await exited).toBe(130);
    const lines = stdout.split('\n');
    const at = lines.findIndex((l) => /^interrupted \(SIGINT\) after [0-9]+ taps of 2000/.test(l));
    expect(at, stdout).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^summary: [0-9]+ taps, seed 1/);
    expect(lines.filter((l) => l.startsWith('replay: shuaka sim --seed 1 --riders 2000'))
      .length).toBe(1);
    for (const pid of children) expect(alive(pid), `child ${pid} survived`).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('npmStartView_inARealPty_tapLinesNeverShareALineWithProgress', () => {
    if (!externalToolsReady(['script'], 'sim in a pty (util-linux script)')) return;
    const tmp = tempDir('pty-tmp');
    const command = `'${process.execPath}' '${BIN}' sim --riders 8`;
    const run = spawnSync('script', ['-qfec', command, '/dev/null'], {
      cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: tmp },
    });
    expect(run.status, run.stdout).toBe(0);
    // Progress was drawn on the terminal (else this test would prove nothing).
    expect(run.stdout).toMatch(new RegExp(`\\x1b\\[2K${PROGRESS.source}`));
    const screen = terminalScreen(run.stdout);
    const taps = screen.filter((l) => TAP_LINE.test(l));
    expect(taps.length).toBeGreaterThanOrEqual(8);
    for (const line of screen) {
      expect(PROGRESS.test(line) && line.replace(PROGRESS, '').trim() !== '', line).toBe(false);
    }
    expect(screen.filter((l) => l.startsWith('summary: ')).length).toBe(1);
    expect(screen.some((l) => PROGRESS.test(l))).toBe(false);
    expect(screen.filter((l) => l !== '').pop()).toMatch(/^replay: shuaka sim --seed 1/);
    expect(readdirSync(tmp)).toEqual([]);
  });
});
