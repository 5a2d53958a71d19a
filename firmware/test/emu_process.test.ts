// `shuaka emu` as a process, driven through stdin, with libnfc's nfc-list as the independent
// host on its pty: a card put on is found, taken off it is gone; the display pty exists.

import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../../assembly/test/support/codec_vectors.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import { childOf, type Child } from './package_install_child.js';

const BIN = join(REPO_ROOT, 'bin', 'shuaka.js');
let dir = '';
let emu: Child | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-emu-test-'));
});

afterEach(() => {
  emu?.kill();
  emu = null;
  rmSync(dir, { recursive: true, force: true });
});

/** `nfc-list -v` (every modulation, with its count) on `connstring`. */
function nfcList(connstring: string): Promise<string> {
  const env = {
    ...process.env,
    LIBNFC_DEVICE: connstring,
    LIBNFC_DEFAULT_DEVICE: connstring,
    LIBNFC_AUTO_SCAN: 'false',
    LIBNFC_INTRUSIVE_SCAN: 'false',
    LIBNFC_LOG_LEVEL: '1',
  };
  return new Promise((resolve) => {
    execFile('nfc-list', ['-v'], { env, timeout: 30_000 }, (_e, out, err) =>
      resolve(`${out}${err}`));
  });
}

describe('shuaka emu', () => {
  it('emu_onOff_seenByLibnfc_quitStopsSocatAndRemovesTheLinks', async () => {
    if (!externalToolsReady(['socat', 'nfc-list'], 'shuaka emu with nfc-list')) return;
    const emuDir = join(dir, 'emu');
    emu = childOf(spawn(process.execPath, [BIN, 'emu', '--dir', emuDir, '--display']));
    const [, , connstring = ''] = await emu.line(/^pn532 (\S+) \(libnfc: (pn532_uart:\S+)\)$/);
    const [, displayPath = ''] = await emu.line(/^display (\/\S+)$/);
    expect(existsSync(displayPath)).toBe(true);
    await emu.line(/^ready: /);

    emu.write('cards');
    await emu.line(/unionpay-debit-ec .*deny-listed/);
    emu.write('on unionpay-debit-ec');
    await emu.line(/^on unionpay-debit-ec$/);
    expect(await nfcList(connstring)).toContain('1 ISO14443A passive target(s) found');
    emu.write('off');
    await emu.line(/^off$/);
    expect(await nfcList(connstring)).toContain('0 ISO14443A passive target(s) found');

    emu.write('quit');
    expect(await emu.exit()).toBe(0);
    expect(existsSync(join(emuDir, 'host')), 'socat stopped, links removed').toBe(false);
  }, 90_000);

  it('emu_hungUp_stopsSocatAndRemovesTheLinks_asQuitDoes', async () => {
    if (!externalToolsReady(['socat'], 'shuaka emu SIGHUP')) return;
    const emuDir = join(dir, 'emu-hup');
    const child = spawn(process.execPath, [BIN, 'emu', '--dir', emuDir]);
    emu = childOf(child);
    await emu.line(/^ready: /);
    expect(existsSync(join(emuDir, 'host'))).toBe(true);
    // Its terminal closing (an ssh session ended). Old code: killed by the signal, socat
    // still running and the links left, so a validator opening them met a silent pty.
    child.kill('SIGHUP');
    expect(await emu.exit()).toBe(0);
    expect(existsSync(join(emuDir, 'host')), 'socat stopped, links removed').toBe(false);
  }, 90_000);

  it('emu_onAnUnknownCard_namesTheCard_notTheCommand', async () => {
    if (!externalToolsReady(['socat'], 'shuaka emu unknown card')) return;
    const child = spawn(process.execPath, [BIN, 'emu', '--dir', join(dir, 'emu-nope')]);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    emu = childOf(child);
    await emu.line(/^ready: /);
    emu.write('on nope');
    emu.write('cards');
    await emu.line(/unionpay-debit-ec/);
    // Old code: "unknown command 'on nope'", as if 'on' were not a command.
    expect(stderr).toBe("emu: unknown card 'nope' ('cards' lists them)\n");
    emu.write('quit');
    expect(await emu.exit()).toBe(0);
  }, 90_000);

  it('emu_itsSocatKilled_saysThePtyIsGone_andExits1', async () => {
    // socat killed under a running emu (an OOM kill, an operator's pkill): the emulator ran
    // on, silent, still taking 'on' and 'cards', while the validator retried a dead pty.
    if (!externalToolsReady(['socat', 'pkill'], 'shuaka emu losing socat')) return;
    const emuDir = join(dir, 'emu-socat');
    const child = spawn(process.execPath, [BIN, 'emu', '--dir', emuDir]);
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => { err += text; });
    emu = childOf(child);
    await emu.line(/^ready: /);
    expect(spawnSync('pkill', ['-f', `socat .*${emuDir}/host`]).status).toBe(0);
    expect(await emu.exit()).toBe(1);
    expect(err).toMatch(/socat of pn532 \S+ exited; the pty is gone: stopping/);
    expect(existsSync(join(emuDir, 'host')), 'links removed').toBe(false);
  }, 90_000);

  it('onATerminalThatHangsUp_stopsWithExit0_notAnAbort', () => {
    // An ssh session closed under a running `shuaka emu` (or `shuaka run`): SIGHUP, and the
    // terminal gone. The stop ran, then node aborted at its exit (SIGABRT: it asserts that
    // restoring the terminal's settings succeeded). python3's pty stands for the session.
    if (!externalToolsReady(['socat', 'python3'], 'shuaka emu on a pty that hangs up')) return;
    const script = [
      'import os, pty, sys, time',
      'pid, m = pty.fork()',
      'if pid == 0: os.execv(sys.argv[1], sys.argv[1:])',
      'out, end = b"", time.time() + 30',
      'while b"ready" not in out and time.time() < end: out += os.read(m, 4096)',
      'os.close(m)',
      'print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script, process.execPath, BIN, 'emu', '--dir',
      join(dir, 'emu')], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout.trim(), run.stderr).toBe('0');
    expect(existsSync(join(dir, 'emu', 'host'))).toBe(false);
  }, 90_000);

  it('emu_badFlag_exits2WithUsage', async () => {
    emu = childOf(spawn(process.execPath, [BIN, 'emu', '--seed', 'x']));
    expect(await emu.exit()).toBe(2);
    // --print-capk beside another flag: said so (it was called an unknown flag).
    const both = spawnSync(process.execPath, [BIN, 'emu', '--print-capk', '--display'],
      { encoding: 'utf8' });
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/^shuaka emu: --print-capk takes no other flag\n/);
  });
});
