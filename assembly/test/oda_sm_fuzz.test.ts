// Fuzzing SM ODA (OP_ODA_SM_FDDA): mutated certificates, SDADs and TLV inputs from a hostile
// issuer must give a defined status, never a trap, with the memory size unchanged. Half the
// cases re-sign a mutated plaintext (any length) with the real signer key, so the checks behind
// the signature (format, lengths, identity, dates, key) are reached too; an accepted one must
// then be well formed by the layout of domain.md 3.6, checked here with node:crypto's curve.
// SHUAKA_SEED replays a run; the seed is always printed.

import { ECDH } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import { sm2KeyPairFrom, sm2Sign } from '../../host-sim/src/pki/sm2_sign.js';
import type { Sm2KeyPair } from '../../host-sim/src/pki/sm2_sign.js';
import { smCapkTlv, smIccCert, smIssuerCert, smSdad } from '../../host-sim/src/pki/sm_cert.js';
import { fuzzMutate } from './support/fuzz_mutate.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x5a3_0f22);
const RAW_CASES = 3_000;
const SIGNED_CASES = 3_000;
const KNOWN = new Set(
  Object.values(KernelStatus).filter((v): v is number => typeof v === 'number'),
);
const RID = Uint8Array.from(Buffer.from('A000000333', 'hex'));
const CA_INDEX = 0x18;
const PAN = '6212345678901234';
const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const STATIC = h('5F24032812315A08621234567890123482027C00');
const UN = h('1A2B3C4D');
const AMOUNT = h('000000000200');
const CURRENCY = h('0156');
const CARD_AUTH = h('0111223344000080');
const ATC = 0x0123;
const TAIL = Uint8Array.from(Buffer.concat([UN, AMOUNT, CURRENCY, CARD_AUTH]));
const FIELDS = ['90', '9F46', '9F4B', '5A', '9F36', '9F37', '9F02', '5F2A', '9F69', '9A', '8F'];

interface Chain { ca: Sm2KeyPair; issuer: Sm2KeyPair; icc: Sm2KeyPair; tlv: Map<string, Uint8Array> }

function tlv(tag: string, value: Uint8Array): Buffer {
  const n = value.length;
  const head = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from(tag, 'hex'), Buffer.from(head), value]);
}

function chainOf(prng: Prng): Chain {
  const [ca, issuer, icc] = [sm2KeyPairFrom(prng), sm2KeyPairFrom(prng), sm2KeyPairFrom(prng)];
  const issuerCert = smIssuerCert({ caKey: ca, issuerId: h('621234FF'), expiry: h('1230'),
    serial: h('000042'), issuerPublicKey: issuer.publicKey }, prng);
  const iccCert = smIccCert({ issuerKey: issuer, pan: h(`${PAN}FFFF`), expiry: h('1229'),
    serial: h('000007'), iccPublicKey: icc.publicKey, staticData: STATIC }, prng);
  const values: [string, Uint8Array][] = [
    ['9F06', RID], ['8F', Uint8Array.of(CA_INDEX)], ['90', issuerCert], ['9F46', iccCert],
    ['9F4B', smSdad(icc, ATC, TAIL, prng)], ['5A', h(PAN)], ['9F36', Uint8Array.of(1, 0x23)],
    ['9F37', UN], ['9F02', AMOUNT], ['5F2A', CURRENCY], ['9F69', CARD_AUTH], ['9A', h('261203')],
  ];
  return { ca, issuer, icc, tlv: new Map(values) };
}

function encode(fields: Map<string, Uint8Array>): Buffer {
  return Buffer.concat([STATIC, ...[...fields].map(([tag, value]) => tlv(tag, value))]);
}

/** True when `key` (64 bytes X || Y, or 33 compressed) is a point node:crypto's SM2 accepts. */
function nodeAcceptsKey(key: Uint8Array): boolean {
  const point = key.length === 64 ? Uint8Array.of(4, ...key) : key;
  try {
    ECDH.convertKey(point, 'SM2', undefined, undefined, 'uncompressed');
    return true;
  } catch {
    return false;
  }
}

/**
 * The layout rule an accepted SM certificate must meet (domain.md 3.6): its format byte, the
 * SM3 and SM2 indicators, a key length byte that accounts for every byte before the signature,
 * and a key that is a curve point.
 */
function wellFormed(cert: Uint8Array, format: number, header: number): boolean {
  const keyLength = cert[header - 1] ?? -1;
  const key = cert.subarray(header, header + keyLength);
  return cert[0] === format && cert[header - 4] === 0x07 && cert[header - 3] === 0x04 &&
    cert.length === header + keyLength + 64 && (keyLength === 64 || keyLength === 33) &&
    nodeAcceptsKey(key);
}

/** A mutated plaintext of any length, favouring the header bytes where the checks live. */
function mutateBody(prng: Prng, body: Uint8Array): Uint8Array {
  if (prng.chance(0.5)) return fuzzMutate(prng, body, [0x00, 0x01, 0x04, 0x07, 0x21, 0x40], 400);
  const out = body.slice();
  const special = [0x00, 0x02, 0x03, 0x04, 0x07, 0x12, 0x14, 0x15, 0x21, 0x40, 0x41, 0xff];
  for (let r = 1 + prng.below(3); r > 0; r -= 1) {
    const at = prng.below(Math.min(22, out.length));
    out[at] = prng.chance(0.6) ? (special[prng.below(special.length)] ?? 0) : prng.below(256);
  }
  return out;
}

describe('SM ODA fuzzing', () => {
  let kernel: Kernel;
  let chain: Chain;
  const fdda = (fields: Map<string, Uint8Array>): number =>
    kernel.step(KernelOp.OP_ODA_SM_FDDA, STATIC.length, encode(fields));
  const check = (status: number, where: string): void => {
    if (!KNOWN.has(status) || status === KernelStatus.ERR_KERNEL_FAULT ||
      kernel.faultCount() !== 0) {
      expect.fail(`${where}: ${kernelStatusName(status)} ${JSON.stringify(kernel.lastFault())}`);
    }
  };

  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
    console.log(`oda_sm_fuzz seed 0x${SEED.toString(16)} (replay: SHUAKA_SEED=${SEED})`);
    chain = chainOf(new Prng(SEED));
    kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
    const ca = smCapkTlv(RID, CA_INDEX, chain.ca.publicKey, '20301231');
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0, ca)).toBe(KernelStatus.STATUS_OK);
    expect(fdda(chain.tlv)).toBe(KernelStatus.STATUS_OK);
  });

  it('smFdda_rawMutations_giveDefinedStatuses', () => {
    const prng = new Prng(SEED ^ 0x1);
    const memory = kernel.memoryBytes();
    const seen = new Map<string, number>();
    for (let round = 0; round < RAW_CASES; round += 1) {
      const fields = new Map(chain.tlv);
      const tag = FIELDS[prng.below(FIELDS.length)] ?? '90';
      const value = fields.get(tag) ?? new Uint8Array(0);
      if (prng.chance(0.05)) fields.delete(tag);
      else fields.set(tag, fuzzMutate(prng, value, [0x00, 0xff, 0x02, 0x03, 0x21, 0x40], 600));
      const status = fdda(fields);
      check(status, `seed ${SEED} raw ${round} ${tag}`);
      // Every signed byte is covered: only an edit of the date, the PAN or the ATC may pass.
      const same = Buffer.from(fields.get(tag) ?? []).equals(value);
      if (status === 0 && !same) expect(['9A', '5A', '9F36'], `raw ${round}`).toContain(tag);
      seen.set(kernelStatusName(status), (seen.get(kernelStatusName(status)) ?? 0) + 1);
    }
    expect(kernel.memoryBytes()).toBe(memory);
    expect(seen.size).toBeGreaterThan(8);
  });

  it('smFdda_resignedMutations_giveDefinedStatusesAndAcceptOnlyWellFormedData', () => {
    const prng = new Prng(SEED ^ 0x2);
    const memory = kernel.memoryBytes();
    const seen = new Map<string, number>();
    for (let round = 0; round < SIGNED_CASES; round += 1) {
      const fields = new Map(chain.tlv);
      const which = prng.below(3);
      const tag = ['90', '9F46', '9F4B'][which] ?? '90';
      const signed = fields.get(tag) ?? new Uint8Array(0);
      const body = mutateBody(prng, signed.subarray(0, signed.length - 64));
      const signer = [chain.ca, chain.issuer, chain.icc][which] ?? chain.ca;
      const extra = [new Uint8Array(0), STATIC, TAIL][which] ?? new Uint8Array(0);
      const message = Uint8Array.from(Buffer.concat([body, extra]));
      fields.set(tag, Uint8Array.from(Buffer.concat([body, sm2Sign(signer, message, prng)])));
      const status = fdda(fields);
      const where = `seed ${SEED} signed ${round} ${tag} ${Buffer.from(body).toString('hex')}`;
      check(status, where);
      if (status === 0) {
        const cert = fields.get(tag) ?? new Uint8Array(0);
        if (which === 0) expect(wellFormed(cert, 0x12, 14), where).toBe(true);
        if (which === 1) expect(wellFormed(cert, 0x14, 20), where).toBe(true);
        if (which === 2) expect(cert[0] === 0x15 && cert[1] === cert.length - 66, where).toBe(true);
      }
      seen.set(kernelStatusName(status), (seen.get(kernelStatusName(status)) ?? 0) + 1);
    }
    expect(kernel.memoryBytes()).toBe(memory);
    console.log(`oda_sm_fuzz re-signed outcomes: ${JSON.stringify(Object.fromEntries(seen))}`);
    expect(seen.get('STATUS_OK') ?? 0).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThan(8);
  });
});
