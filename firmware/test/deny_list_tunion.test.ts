// T-Union cards on the deny list: the token of "T" || 20-digit serial against node:crypto's
// HMAC, bank and T-Union tokens of the same digits never equal (the messages differ in their
// first byte and length), `tunion:SERIAL` lines mixed with PAN lines, every malformed
// `tunion:` line refused by line number, and the real `node bin/shuaka.js params
// denylist-build` writing exactly the tokens node:crypto computes.

import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { DenyList } from '../src/app/deny_list/deny_list.js';
import { denyLineOf, denyListBuild } from '../src/app/deny_list/deny_list_build.js';
import { TEST_DENY_KEY, TEST_DENY_KEY_BYTES, writeTestDenyKey } from './deny_key_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = Number(process.env['SHUAKA_SEED'] ?? 20261203);
const dir = mkdtempSync(join(tmpdir(), 'shuaka-deny-tunion-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function digits(prng: Prng, n: number): string {
  let out = '';
  while (out.length < n) out += String(prng.below(10));
  return out;
}

/** The T-Union token by node:crypto's HMAC: "T" || the serial's ASCII digits, 12 bytes. */
function hmacTunion(serial: string): string {
  return createHmac('sha256', TEST_DENY_KEY_BYTES).update(`T${serial}`, 'latin1').digest()
    .subarray(0, 12).toString('hex');
}

function bound(image: Uint8Array): DenyList {
  const loaded = DenyList.load(image, 'deny_list.bin');
  if (!loaded.ok) throw loaded.error;
  const b = loaded.value.bind(TEST_DENY_KEY, 'deny_list.bin');
  if (!b.ok) throw b.error;
  return b.value;
}

describe('T-Union deny tokens', () => {
  it('tokenTunion_isHmacOfTAndTheSerial_andRefusesNonSerials', () => {
    const prng = new Prng(SEED);
    for (let i = 0; i < 200; i += 1) {
      const serial = digits(prng, 20);
      const token = TEST_DENY_KEY.tokenTunion(serial);
      expect(token === null ? null : Buffer.from(token).toString('hex'), `SHUAKA_SEED=${SEED}`)
        .toBe(hmacTunion(serial));
    }
    for (const bad of ['', '1'.repeat(19), '1'.repeat(21), `${'1'.repeat(19)}A`,
      `${'1'.repeat(19)} `, `T${'1'.repeat(19)}`]) {
      expect(TEST_DENY_KEY.tokenTunion(bad), JSON.stringify(bad)).toBeNull();
    }
  });

  it('bankAndTunionCards_ofTheSameDigits_neverShareAToken', () => {
    const prng = new Prng(SEED + 1);
    const entries = [];
    for (let i = 0; i < 500; i += 1) {
      const serial = digits(prng, 20);
      // The bank cards closest to this serial: its first 8-19 digits, PSN its next digit.
      const n = 8 + prng.below(12);
      entries.push({ tunionSerial: serial },
        { pan: serial.slice(0, n), psn: Number(serial[n]) });
    }
    const built = denyListBuild(entries.map(denyLineOf).join('\n'), 'mixed.txt', TEST_DENY_KEY);
    if (!built.ok) throw built.error;
    expect([built.value.count, built.value.duplicates]).toEqual([1000, 0]);
    const list = bound(built.value.image);
    for (const e of entries) {
      expect('tunionSerial' in e ? list.containsTunion(e.tunionSerial)
        : list.contains(e.pan, e.psn)).toBe(true);
    }
    // Listed as a bank card only: the T-Union card of those digits is not listed, and back.
    const serial = digits(prng, 20);
    const bankOnly = denyListBuild(`${serial.slice(0, 19)},0${serial[19]}`, 'b', TEST_DENY_KEY);
    if (!bankOnly.ok) throw bankOnly.error;
    expect(bound(bankOnly.value.image).containsTunion(serial)).toBe(false);
    const tunionOnly = denyListBuild(`tunion:${serial}`, 't', TEST_DENY_KEY);
    if (!tunionOnly.ok) throw tunionOnly.error;
    const list2 = bound(tunionOnly.value.image);
    expect(list2.contains(serial.slice(0, 19), Number(serial[19]))).toBe(false);
    expect(list2.containsTunion(serial)).toBe(true);
    expect(list2.containsTunion(`${serial.slice(0, 19)}${(Number(serial[19]) + 1) % 10}`))
      .toBe(false);
  });

  it('badTunionLines_areRefusedWithTheLineNumber_neverTheSerial', () => {
    const serial = '10005840000012345678';
    const spaced = denyListBuild(` tunion:${serial}\r\n6231000000000001,01\n\ttunion:${serial} `,
      'in.txt', TEST_DENY_KEY);
    expect(spaced.ok && [spaced.value.count, spaced.value.duplicates]).toEqual([2, 1]);
    const cases: [string, RegExp][] = [
      ['tunion:1000584000001234567', /expected tunion:SERIAL \(the 20 digits of file 0015\)/],
      [`tunion:${serial}9`, /expected tunion:SERIAL/],
      [`tunion:${serial.slice(0, 19)}A`, /expected tunion:SERIAL/],
      [`tunion: ${serial}`, /expected tunion:SERIAL/],
      [`tunion:${serial},01`, /expected tunion:SERIAL/],
      ['tunion:', /expected tunion:SERIAL/],
      [`TUNION:${serial}`, /expected PAN,PSN .* or tunion:SERIAL/],
    ];
    for (const [bad, reason] of cases) {
      const refused = denyListBuild(`tunion:${serial}\n${bad}\n`, 'in.txt', TEST_DENY_KEY);
      expect(refused.ok, bad).toBe(false);
      if (refused.ok) continue;
      expect(refused.error.message, bad).toMatch(/^in\.txt: line 2: /);
      expect(refused.error.message, bad).toMatch(reason);
      expect(refused.error.message, bad).not.toContain(serial.slice(6, 16));
    }
  });
});

describe('shuaka params denylist-build with T-Union lines (real process)', () => {
  it('writesTheTokensNodeCryptoComputes_andRefusesABadLine', () => {
    const serials = ['10005840000012345678', '31000000000000000001'] as const;
    const pan = '6231000000000001';
    const input = join(dir, 'cards.txt');
    writeFileSync(input, `pan,psn\n${pan},01\ntunion:${serials[0]}\ntunion:${serials[1]}\n`);
    const keyPath = writeTestDenyKey(dir);
    const out = join(dir, 'deny_list.bin');
    const built = spawnSync(process.execPath,
      [BIN, 'params', 'denylist-build', '--deny-key', keyPath, input, out], { cwd: ROOT });
    expect(built.status, built.stderr.toString()).toBe(0);
    expect(built.stdout.toString()).toMatch(/3 tokens \(0 duplicates merged\)/);
    const image = readFileSync(out);
    const bankToken = createHmac('sha256', TEST_DENY_KEY_BYTES)
      .update(Buffer.concat([Buffer.from(pan), Buffer.from([0x01])])).digest().subarray(0, 12);
    const expected = [bankToken.toString('hex'), ...serials.map(hmacTunion)];
    const records: string[] = [];
    for (let at = 64; at < image.length; at += 12) {
      records.push(image.subarray(at, at + 12).toString('hex'));
    }
    expect(records.sort()).toEqual(expected.sort());
    for (const s of serials) expect(image.includes(Buffer.from(s))).toBe(false);
    writeFileSync(input, `tunion:${serials[0]}\ntunion:${serials[1].slice(1)}\n`);
    const bad = spawnSync(process.execPath,
      [BIN, 'params', 'denylist-build', '--deny-key', keyPath, input, out], { cwd: ROOT });
    expect(bad.status).toBe(1);
    expect(bad.stderr.toString()).toMatch(/line 2: expected tunion:SERIAL/);
  }, 300_000);
});
