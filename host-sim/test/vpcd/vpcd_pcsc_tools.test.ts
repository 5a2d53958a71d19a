// The PSAM emulator in a real PC/SC stack (pcscd + vsmartcard's vpcd), seen by independent
// clients: pcsc_scan lists the reader and the card's ATR, scriptor runs an APDU script.

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PsamEmulator } from '../../src/psam/psam_emulator.js';
import { testPsamProfile } from '../../src/psam/psam_profile.js';
import { startPrivatePcscd } from '../../src/vpcd/pcscd_private.js';
import type { PrivatePcscd } from '../../src/vpcd/pcscd_private.js';
import { pcscStackMissing } from '../../src/vpcd/pcsc_stack_ready.js';
import { VpcdClient } from '../../src/vpcd/vpcd_client.js';

const MISSING = pcscStackMissing(['pcsc_scan', 'scriptor'], 'vpcd + pcsc-tools tests');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = '', timeoutMs = 15_000) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(input);
  });
}

describe.skipIf(MISSING !== null)('PSAM emulator through pcscd + vpcd, independent clients', () => {
  let pcscd: PrivatePcscd;
  const psam = new PsamEmulator(testPsamProfile());
  const client = new VpcdClient(psam);

  beforeAll(async () => {
    pcscd = await startPrivatePcscd('Shuaka PSAM');
    await client.connect('127.0.0.1', pcscd.port);
  });

  afterAll(async () => {
    await client.disconnect();
    await pcscd?.stop();
  });

  it('pcscScan_listsReaderAndTheEmulatorAtr', async () => {
    const { out } = await run('pcsc_scan', ['-n', '-t', '3'], pcscd.env);
    expect(out).toContain(pcscd.readerNames[0]);
    expect(out).toMatch(/3B 6A 00 00 53 48 55 41 4B 41 50 53 41 4D/);
    expect(client.stats().atrRequests).toBeGreaterThan(0);
  });

  it('scriptor_selectsAndReadsTheTerminalNumber', async () => {
    const script = [
      'reset',
      '00 A4 04 00 10 A0 00 00 06 32 4D 4F 54 2E 43 50 53 41 4D 30 31',
      '00 C0 00 00 1A',
      '00 B0 96 00 06',
      '00 B0 96 00 00',
      '80 72 00 00 04 01 02 03 04',
      'exit',
      '',
    ].join('\n');
    const { code, out } = await run('scriptor', ['-r', pcscd.readerNames[0]], pcscd.env, script);
    expect(code, out).toBe(0);
    expect(out).toMatch(/< 61 1A/);
    const flat = out.replace(/\s*\n(?![<>])/g, ' '); // scriptor wraps answers at 16 bytes
    expect(flat).toMatch(/< 6F 18 84 10 A0 00 00 06 32 4D 4F 54 2E 43 50 53 41 4D 30 31 A5 04/);
    expect(out).toMatch(/Using T=0 protocol/);
    expect(out).toMatch(/< 00 00 00 00 01 23 90 00/);
    expect(out).toMatch(/< 6C 06/);
    expect(out).toMatch(/< 69 85/);
  });
});
