// `node bin/shuaka.js run --display-port` as a real subprocess whose DWIN display is unplugged
// mid-run (its socat pty killed) and plugged back: the loss is reported, taps go on with the
// buzzer/LED signals, the display is reopened with backoff and shows the current screen again.
//
// What is real: the process, both socat ptys, the PN532 emulator, the DWIN emulator parsing
// the bytes the validator writes on the display's pty, the exit code and the journal.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { population } from '../../host-sim/src/cards/card_population.js';
import { DwinDisplaySim } from '../../host-sim/src/display_sim/dwin_display_sim.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import {
  startPn532SimOnPty,
  type Pn532SimOnPty,
} from '../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { PtySerialLink } from '../../host-sim/src/pn532_sim/pty/pty_serial_link.js';
import {
  startSocatPtyPair,
  type SocatPtyPair,
} from '../../host-sim/src/pn532_sim/pty/socat_pty_pair.js';
import { WallClock } from '../../host-sim/src/pn532_sim/pty/wall_clock.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 2026);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const GUARD_MS = 60_000;

type LogLine = Record<string, unknown>;

let dir = '';
const live: ChildProcess[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(() => {
  const warm = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(warm.status, warm.stderr).toBe(0);
}, 300_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-display-'));
});

afterEach(async () => {
  for (const proc of live.splice(0)) proc.kill('SIGKILL');
  for (const close of closers.splice(0)) await close();
  rmSync(dir, { recursive: true, force: true });
});

async function paramsFlags(): Promise<string[]> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubPath = join(dir, 'params.pub.pem');
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  const paramsDir = join(dir, 'params');
  const storage = await FileStorage.open(paramsDir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version: 1,
    terminal: { terminalId: 'BUS00042', lineId: 'L101' },
    fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    denyList: [],
    caRevocations: [],
    signingKey: privateKey,
    denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return ['--params', paramsDir, '--params-pub', pubPath, '--sysfs-root', join(dir, 'no-sys'),
    '--deny-key', writeTestDenyKey(dir)];
}

/** A DWIN emulator behind a socat pty whose host end is `<displayDir>/host`. */
interface DisplayRig {
  readonly sim: DwinDisplaySim;
  readonly hostPath: string;
  unplug(): Promise<void>;
}

async function plugDisplay(displayDir: string): Promise<DisplayRig> {
  const socat: SocatPtyPair = await startSocatPtyPair({
    dir: displayDir,
    startTimeoutMs: 5000,
    graceMs: 1000,
  });
  const clock = new WallClock();
  const opened = await PtySerialLink.open({
    path: socat.devicePath,
    baudRate: 115200,
    pace: false,
    clock,
  });
  if (!opened.ok) throw new Error(opened.detail);
  const sim = new DwinDisplaySim();
  sim.attach(opened.value);
  let plugged = true;
  const unplug = async (): Promise<void> => {
    if (!plugged) return;
    plugged = false;
    await opened.value.close();
    await socat.close();
  };
  closers.push(unplug);
  return { sim, hostPath: socat.hostPath, unplug };
}

async function plugReader(): Promise<Pn532SimOnPty> {
  const ptyDir = join(dir, 'reader');
  mkdirSync(ptyDir);
  const rig = await startPn532SimOnPty({
    dir: ptyDir,
    clock: new WallClock(),
    pace: false,
    sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0 },
  });
  closers.push(() => rig.close());
  return rig;
}

async function until(what: () => string, done: () => boolean): Promise<void> {
  const endMs = Date.now() + GUARD_MS;
  while (!done()) {
    if (Date.now() > endMs) throw new Error(what());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe(`shuaka run subprocess: DWIN display unplugged and plugged back (seed ${SEED})`, () => {
  it('run_displayUnplugged_reportsLoss_tapsGoOnWithSignals_reopens_showsTheScreenAgain', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run display loss test')) return;
    const flags = await paramsFlags();
    const reader = await plugReader();
    const displayDir = join(dir, 'display');
    mkdirSync(displayDir);
    let display = await plugDisplay(displayDir);
    const journalDir = join(dir, 'journal');
    const argv = ['--port', reader.hostPath, '--display-port', display.hostPath];
    const proc = spawn(process.execPath, [BIN, 'run', ...argv, '--journal', journalDir, ...flags], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.push(proc);
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (text: string) => {
      stderr += text;
    });
    const lines: LogLine[] = [];
    if (proc.stdout === null) throw new Error('no stdout');
    createInterface({ input: proc.stdout }).on('line', (t) => lines.push(JSON.parse(t) as LogLine));
    const exited = new Promise<number | null>((resolve) => proc.once('close', resolve));
    const count = (event: string): number => lines.filter((l) => l['event'] === event).length;
    const why = (event: string) => (): string =>
      `no '${event}'; stderr: ${stderr}; last lines: ${JSON.stringify(lines.slice(-8))}`;

    await until(why('start'), () => count('start') === 1);
    await until(() => 'idle page never shown', () => display.sim.snapshot().pageName === 'idle');

    await display.unplug();
    await until(why('display-lost'), () => count('display-lost') === 1);
    // The sentence goes to stderr, another pipe: it may arrive after the stdout line.
    const lostSentence = /display on .* lost \(.*\); taps go on, reopening/;
    await until(why('the display-lost sentence'), () => lostSentence.test(stderr));
    expect(stderr).toMatch(lostSentence);

    // Riders are still served: the tap is approved and signalled (the LED/buzzer sysfs files
    // are missing here, so each signal is a log line), with no display.
    const pop = population(SEED, { pki: testPki() });
    const first = pop.card('unionpay-debit-ec');
    const second = pop.card('unionpay-credit-ec');
    reader.sim.placeCard(first);
    await until(why('tap'), () => count('tap') === 1);
    reader.sim.removeCard(first);
    const tap = lines.find((l) => l['event'] === 'tap');
    expect(tap?.['result']).toBe('approved');
    const lostAt = lines.findIndex((l) => l['event'] === 'display-lost');
    const signals = lines.slice(lostAt).filter((l) => l['event'] === 'signal');
    expect(signals.map((l) => l['signal']), JSON.stringify(lines.slice(lostAt))).toContain(
      'approved',
    );
    await until(why('display-reopen'), () => count('display-reopen') >= 1);

    display = await plugDisplay(displayDir);
    await until(why('display-back'), () => count('display-back') === 1);
    // The sentence goes to stderr, another pipe: it may arrive after the stdout line.
    const backSentence = /display on .* back after \d+ ms/;
    await until(why('the display-back sentence'), () => backSentence.test(stderr));
    expect(stderr).toMatch(backSentence);
    // The screen the validator meant to show is on the new display without a new tap.
    await until(
      () => `nothing shown after the return: ${display.sim.render()}`,
      () => display.sim.snapshot().pageId !== 0,
    );
    reader.sim.placeCard(second);
    await until(why('second tap'), () => count('tap') === 2);
    reader.sim.removeCard(second);
    await until(() => 'approved page never shown', () => {
      return display.sim.snapshot().pageName === 'approved';
    });

    proc.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    expect(await runJournalCommand(['verify', '--journal', journalDir], io)).toBe(0);
    expect(first.ledger()).toHaveLength(1);
    expect(second.ledger()).toHaveLength(1);
  }, 120_000);
});
