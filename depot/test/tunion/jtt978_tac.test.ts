// The depot's TAC verifier against the simulator's e-purse module (host-sim/src/psam, written
// separately): the same TAC over seeded inputs, and every altered field refused.

import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  cardKeyFromIssuerMaster,
  computeTac,
} from '../../../host-sim/src/psam/pboc_epurse_crypto.js';
import { jtt978TacVerify, type TacFacts } from '../../src/tunion/jtt978_tac.js';

function seeded(seed: number): (n: number) => Buffer {
  let state = seed >>> 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i += 1) {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      out[i] = state >>> 24;
    }
    return out;
  };
}

function factsFor(bytes: (n: number) => Buffer, master: Uint8Array): TacFacts {
  const serialDigits = [...bytes(10)].map((b) => (b % 100).toString().padStart(2, '0')).join('');
  const serial = Buffer.from(serialDigits, 'hex');
  const dateTimeDigits = '2026120308' + [...bytes(2)].map((b) => (b % 60).toString()
    .padStart(2, '0')).join('');
  const base = {
    issuerIdHex: bytes(8).toString('hex').toUpperCase(),
    applicationSerialHex: serialDigits,
    amountMinor: bytes(4).readUInt32BE(0) % 100_000,
    transactionType: 0x09,
    terminalNumberHex: bytes(6).toString('hex').toUpperCase(),
    terminalSerial: bytes(4).readUInt32BE(0),
    dateTimeDigits,
  };
  const tac = computeTac(cardKeyFromIssuerMaster(master, serial), {
    amountMinor: base.amountMinor, transactionType: base.transactionType,
    terminalNumber: Buffer.from(base.terminalNumberHex, 'hex'),
    dateTime: Buffer.from(dateTimeDigits, 'hex'),
  }, base.terminalSerial);
  return { ...base, tacHex: Buffer.from(tac).toString('hex').toUpperCase() };
}

describe('jtt978TacVerify', () => {
  const seed = Number(process.env['SHUAKA_SEED'] ?? 978);
  const bytes = seeded(seed);
  const master = bytes(16);
  const keys = (issuer: string): Uint8Array | null => (issuer.length === 16 ? master : null);

  it('accepts the TAC the simulator\'s card computes, over 500 seeded purchases', () => {
    for (let i = 0; i < 500; i += 1) {
      expect(jtt978TacVerify(factsFor(bytes, master), keys), `seed ${seed} #${i}`).toBe('valid');
    }
  });

  it('refuses every altered field (failing twins)', () => {
    const good = factsFor(bytes, master);
    const twins: Partial<TacFacts>[] = [
      { amountMinor: good.amountMinor + 1 },
      { transactionType: 0x06 },
      { terminalNumberHex: `${good.terminalNumberHex.slice(0, 11)}${good.terminalNumberHex
        .endsWith('0') ? '1' : '0'}` },
      { terminalSerial: (good.terminalSerial + 1) % 2 ** 32 },
      { dateTimeDigits: `${good.dateTimeDigits.slice(0, 13)}${good.dateTimeDigits
        .endsWith('0') ? '1' : '0'}` },
      { applicationSerialHex: `${good.applicationSerialHex.slice(0, 19)}${good
        .applicationSerialHex.endsWith('0') ? '1' : '0'}` },
      { tacHex: good.tacHex === '00000000' ? '00000001' : '00000000' },
    ];
    for (const twin of twins) {
      expect(jtt978TacVerify({ ...good, ...twin }, keys), JSON.stringify(twin)).toBe('invalid');
    }
    const otherMaster = randomBytes(16);
    expect(jtt978TacVerify(good, () => otherMaster)).toBe('invalid');
  });

  it('says when it cannot tell: unknown issuer, malformed fields', () => {
    const good = factsFor(bytes, master);
    expect(jtt978TacVerify(good, () => null)).toBe('unknownIssuer');
    expect(jtt978TacVerify({ ...good, tacHex: 'ABC' }, keys)).toBe('malformed');
    expect(jtt978TacVerify({ ...good, applicationSerialHex: 'A'.repeat(20) }, keys))
      .toBe('malformed');
    expect(jtt978TacVerify({ ...good, amountMinor: -1 }, keys)).toBe('malformed');
    expect(jtt978TacVerify({ ...good, dateTimeDigits: '2026' }, keys)).toBe('malformed');
    expect(jtt978TacVerify(good, () => new Uint8Array(8))).toBe('malformed');
  });
});
