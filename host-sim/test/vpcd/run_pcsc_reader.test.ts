// `shuaka run --reader pcsc:NAME`: the validator firmware with a PC/SC contactless reader
// (pcscd + vpcd + a virtual qPBOC card), one tap approved and journaled; bad flags refused.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRunCommand } from '../../../firmware/src/cli/run_cmd.js';
import { writeSignedDefaultParams } from '../../../firmware/test/params_fixture.js';
import { population } from '../../src/cards/card_population.js';
import { startPrivatePcscd } from '../../src/vpcd/pcscd_private.js';
import type { PrivatePcscd } from '../../src/vpcd/pcscd_private.js';
import { pcscStackMissing } from '../../src/vpcd/pcsc_stack_ready.js';
import { VpcdClient } from '../../src/vpcd/vpcd_client.js';
import { VpcdContactlessCard } from '../../src/vpcd/vpcd_contactless_card.js';

const MISSING = pcscStackMissing([], 'shuaka run --reader pcsc: tests');

function capture() {
  const out: Record<string, unknown>[] = [];
  const err: string[] = [];
  const io = {
    out: (line: string) => out.push(JSON.parse(line) as Record<string, unknown>),
    err: (line: string) => err.push(line),
  };
  return { io, out, err };
}

describe('shuaka run --reader pcsc:NAME, flags', () => {
  it('badReaderFlags_exit2', async () => {
    for (const argv of [
      ['--reader', 'usb:x'],
      ['--reader', 'pcsc:'],
      ['--reader', 'pcsc:X', '--port', '/dev/null'],
      ['--reader', 'pcsc:X', '--baud', '115200'],
    ]) {
      const { io, err } = capture();
      expect(await runRunCommand(argv, io), argv.join(' ')).toBe(2);
      expect(err.join('\n')).toMatch(/--reader|--baud/);
    }
  });
});

describe.skipIf(MISSING !== null)('shuaka run --reader pcsc:NAME over pcscd + vpcd', () => {
  let pcscd: PrivatePcscd;
  let dir = '';

  beforeAll(async () => {
    pcscd = await startPrivatePcscd('Shuaka ACR122U');
    process.env['PCSCLITE_CSOCK_NAME'] = pcscd.socketPath;
    dir = mkdtempSync(join(tmpdir(), 'shuaka-run-pcsc-'));
  });

  afterAll(async () => {
    await pcscd?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('unknownReader_exit3NamesTheListedReaders', async () => {
    const { io, err } = capture();
    const flags = await writeSignedDefaultParams(dir);
    const journal = ['--journal', join(dir, 'journal-none'), '--sysfs-root', join(dir, 'no-sys')];
    const code = await runRunCommand(['--reader', 'pcsc:No Such', ...journal, ...flags], io);
    expect(code).toBe(3);
    expect(err.join('\n')).toMatch(/PC\/SC reader "No Such" not found \(readers: Shuaka ACR122U/);
  });

  it('noPcscService_exit3NamesTheServiceNotOnlyTheMissingReader', async () => {
    const { io, err } = capture();
    const flags = await writeSignedDefaultParams(dir);
    const journal = ['--journal', join(dir, 'journal-none'), '--sysfs-root', join(dir, 'no-sys')];
    // pcscd not running: its socket is a path nobody listens on.
    const own = process.env['PCSCLITE_CSOCK_NAME'];
    process.env['PCSCLITE_CSOCK_NAME'] = join(dir, 'no-pcscd.comm');
    try {
      const code = await runRunCommand(['--reader', 'pcsc:X', ...journal, ...flags], io);
      expect(code).toBe(3);
    } finally {
      process.env['PCSCLITE_CSOCK_NAME'] = own;
    }
    expect(err.join('\n')).toMatch(/"X" not found \(no readers; the PC\/SC service does not answer: /);
  });

  it('oneTap_approvedAndJournaled', async () => {
    const card = population(7).card('unionpay-debit-ec');
    const before = card.balanceMinor() ?? 0;
    const { io, out, err } = capture();
    const flags = await writeSignedDefaultParams(dir);
    const journal = ['--journal', join(dir, 'journal'), '--sysfs-root', join(dir, 'no-sys')];
    const running = runRunCommand(
      ['--reader', 'pcsc:Shuaka ACR122U', '--max-taps', '1', ...journal, ...flags],
      io,
    );
    const client = new VpcdClient(new VpcdContactlessCard(card));
    const deadline = Date.now() + 20_000;
    while (!out.some((e) => e['event'] === 'start') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await client.connect('127.0.0.1', pcscd.port);
    while (!out.some((e) => e['event'] === 'tap') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await client.disconnect();
    expect(await running, err.join('\n')).toBe(0);
    const tap = out.find((e) => e['event'] === 'tap');
    expect(tap?.['result'], JSON.stringify(tap)).toBe('approved');
    const amount = Number(tap?.['amountMinor']);
    expect(amount).toBeGreaterThan(0);
    expect(card.balanceMinor()).toBe(before - amount);
    expect(out.find((e) => e['event'] === 'reader')?.['path']).toBe('pcsc:Shuaka ACR122U');
  });

  it('pcscdRestarted_readerLostThenBack_loggedBoth_thenATapIsApproved', async () => {
    const card = population(8).card('unionpay-debit-ec');
    const { io, out, err } = capture();
    const flags = await writeSignedDefaultParams(dir);
    const journal = ['--journal', join(dir, 'journal-back'), '--sysfs-root', join(dir, 'no-sys')];
    const running = runRunCommand(
      ['--reader', 'pcsc:Shuaka ACR122U', '--max-taps', '1', ...journal, ...flags],
      io,
    );
    const seen = async (event: string): Promise<Record<string, unknown> | undefined> => {
      const deadline = Date.now() + 30_000;
      while (!out.some((e) => e['event'] === event) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      return out.find((e) => e['event'] === event);
    };
    expect(await seen('start'), err.join('\n')).toBeDefined();
    await pcscd.restart(700);
    expect(await seen('reader-lost'), err.join('\n')).toBeDefined();
    // An alert raised on reader-lost needs its end: old code logged none for PC/SC.
    const back = await seen('reader-back');
    expect(back, JSON.stringify(out.slice(-6))).toBeDefined();
    expect(Number.isInteger(back?.['downMs'])).toBe(true);
    expect(err.join('\n')).toMatch(/back after \d+ ms/);
    const client = new VpcdClient(new VpcdContactlessCard(card));
    await client.connect('127.0.0.1', pcscd.port);
    expect(await seen('tap')).toMatchObject({ result: 'approved' });
    await client.disconnect();
    expect(await running, err.join('\n')).toBe(0);
  }, 60_000);
});
