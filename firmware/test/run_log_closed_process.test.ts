// `shuaka run` whose log reader goes away (a log collector restarted, `shuaka run | head`):
// the real CLI (bin/shuaka.js) as a subprocess on the PN532 emulator's pty, its stdout pipe
// closed once it has started. It exited 141 at its next log line, in the middle of a tap:
// the card debited, no answer on the screen, the final record never written. Now it says
// once on stderr that the log is lost and goes on: the tap ends with its final record, and a
// SIGTERM stops it with exit 0. Truths: the card twin's own ledger and `journal verify`.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { population } from '../../host-sim/src/cards/card_population.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import type { Pn532SimOnPty } from '../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { startReaderPty } from './gate/gate_run_child.js';
import { writeSignedDefaultParams } from './params_fixture.js';

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

async function until(what: string, holds: () => boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !holds(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('shuaka run with its log reader gone (subprocess)', () => {
  it('logClosedAfterStart_theTapStillEndsWithItsFinal_thenSigtermExits0', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run on the emulator pty')) return;
    pty = await startReaderPty(dir);
    const journal = join(dir, 'journal');
    const child = spawn(process.execPath, [BIN, 'run', '--port', pty.hostPath,
      ...await writeSignedDefaultParams(dir), '--mode', 'ec', '--sysfs-root', join(dir, 'no-sys'),
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
