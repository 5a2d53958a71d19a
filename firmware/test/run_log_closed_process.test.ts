// `shuaka run` whose log reader goes away (a log collector restarted, `shuaka run | head`):
// the real CLI (bin/shuaka.js) as a subprocess on the PN532 emulator's pty, its stdout pipe
// closed once it has started. It exited 141 at its next log line, in the middle of a tap:
// the card debited, no answer on the screen, the final record never written. Now it says
// once on stderr that the log is lost and goes on: the tap ends with its final record, and a
// SIGTERM stops it with exit 0. Truths: the card twin's own ledger and `journal verify`.

import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { population } from '../../host-sim/src/cards/card_population.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import {
  startPn532SimOnPty,
  type Pn532SimOnPty,
} from '../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { WallClock } from '../../host-sim/src/pn532_sim/pty/wall_clock.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');

let dir = '';
let pty: Pn532SimOnPty | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-run-log-'));
});

afterEach(async () => {
  await pty?.close();
  pty = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A signed default parameter set with the test PKI's CA keys; returns its flags. */
async function writeParams(): Promise<string[]> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubPath = join(dir, 'params.pub.pem');
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  const storage = await FileStorage.open(join(dir, 'params'), { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version: 1, terminal: { terminalId: 'BUS00042', lineId: 'L101' }, fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex), denyList: [], caRevocations: [],
    signingKey: privateKey, denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return ['--params', join(dir, 'params'), '--params-pub', pubPath,
    '--deny-key', writeTestDenyKey(dir)];
}

async function until(what: string, holds: () => boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !holds(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('shuaka run with its log reader gone (subprocess)', () => {
  it('logClosedAfterStart_theTapStillEndsWithItsFinal_thenSigtermExits0', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run on the emulator pty')) return;
    pty = await startPn532SimOnPty({
      dir: mkdtempSync(join(dir, 'pty-')), clock: new WallClock(), pace: false,
      sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0 },
    });
    const journal = join(dir, 'journal');
    const child = spawn(process.execPath, [BIN, 'run', '--port', pty.hostPath,
      ...await writeParams(), '--mode', 'ec', '--sysfs-root', join(dir, 'no-sys'),
      '--journal', journal], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => { out += text; });
    child.stderr.setEncoding('utf8').on('data', (text: string) => { err += text; });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('close', (code, signal) => resolve([code, signal]));
    });
    try {
      await until(`start (stderr: ${err})`, () => out.includes('"event":"start"'));
      // The log's reader goes away: the next log line meets a closed pipe (EPIPE).
      child.stdout.destroy();
      const card = population(21, { pki: testPki() }).card('unionpay-debit-ec');
      pty.sim.placeCard(card);
      await until('the debit', () => card.ledger().length === 1);
      await until('the log said lost', () => err.includes('the log is dropped from here'));
      // The tap's final record follows the debit; then the rider leaves and the depot's
      // technician stops the validator.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      pty.sim.removeCard(card);
      await new Promise((resolve) => setTimeout(resolve, 500));
      child.kill('SIGTERM');
      expect(await exited, err).toEqual([0, null]);
    } finally {
      child.kill('SIGKILL');
    }
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    expect(await runJournalCommand(['verify', '--journal', journal], io), lines.join('\n'))
      .toBe(0);
    const report = lines.join('\n');
    expect(report).toMatch(/unacknowledged clearing records 1 /);
    expect(report).toMatch(/uncertain taps 0/);
  }, 120_000);
});
