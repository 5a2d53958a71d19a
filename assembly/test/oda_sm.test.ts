// SM ODA in the kernel (domain.md 3.6): SM2 CA keys, issuer/ICC certificates, SM fDDA, and a
// failing twin for every check. Cards are signed by host-sim (OpenSSL's curve arithmetic).

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import { sm2KeyPairFrom } from '../../host-sim/src/pki/sm2_sign.js';
import type { Sm2KeyPair } from '../../host-sim/src/pki/sm2_sign.js';
import {
  smCapkTlv, smIccCert, smIssuerCert, smSdad,
} from '../../host-sim/src/pki/sm_cert.js';
import type { SmIccCertInput, SmIssuerCertInput } from '../../host-sim/src/pki/sm_cert.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x5a3_0002);
const RID = Uint8Array.from(Buffer.from('A000000333', 'hex'));
const CA_INDEX = 0x18;
const PAN = '6212345678901234';
const STATIC = Uint8Array.from(Buffer.from('5F24032812315A08621234567890123482027C00', 'hex'));
const UN = Uint8Array.from(Buffer.from('1A2B3C4D', 'hex'));
const AMOUNT = Uint8Array.from(Buffer.from('000000000200', 'hex'));
const CURRENCY = Uint8Array.from(Buffer.from('0156', 'hex'));
const CARD_AUTH = Uint8Array.from(Buffer.from('0111223344000080', 'hex'));
const ATC = 0x0123;

function tlv(tag: string, value: Uint8Array): Buffer {
  const length = value.length;
  const head = length < 0x80 ? [length] : length < 0x100 ? [0x81, length] : [0x82, length >> 8,
    length & 0xff];
  return Buffer.concat([Buffer.from(tag, 'hex'), Buffer.from(head), value]);
}

interface Chain {
  ca: Sm2KeyPair;
  issuer: Sm2KeyPair;
  icc: Sm2KeyPair;
  issuerCert: Uint8Array;
  iccCert: Uint8Array;
  sdad: Uint8Array;
}

const bcd = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

function issuerInput(c: Pick<Chain, 'ca' | 'issuer'>): SmIssuerCertInput {
  return {
    caKey: c.ca, issuerId: bcd('621234FF'), expiry: bcd('1230'), serial: bcd('000042'),
    issuerPublicKey: c.issuer.publicKey,
  };
}

function iccInput(c: Pick<Chain, 'issuer' | 'icc'>): SmIccCertInput {
  return {
    issuerKey: c.issuer, pan: bcd(`${PAN}FFFF`), expiry: bcd('1229'), serial: bcd('000007'),
    iccPublicKey: c.icc.publicKey, staticData: STATIC,
  };
}

const v01Tail = (): Uint8Array => Uint8Array.from(Buffer.concat([UN, AMOUNT, CURRENCY, CARD_AUTH]));

function chainOf(prng: Prng): Chain {
  const ca = sm2KeyPairFrom(prng);
  const issuer = sm2KeyPairFrom(prng);
  const icc = sm2KeyPairFrom(prng);
  return {
    ca, issuer, icc,
    issuerCert: smIssuerCert(issuerInput({ ca, issuer }), prng),
    iccCert: smIccCert(iccInput({ issuer, icc }), prng),
    sdad: smSdad(icc, ATC, v01Tail(), prng),
  };
}

function fddaInput(c: Chain, edits: Record<string, Uint8Array | null> = {}): Buffer {
  const fields: [string, Uint8Array][] = [
    ['9F06', RID], ['8F', Uint8Array.of(CA_INDEX)], ['90', c.issuerCert], ['9F46', c.iccCert],
    ['9F4B', c.sdad], ['5A', bcd(PAN)], ['9F36', Uint8Array.of(ATC >> 8, ATC & 0xff)],
    ['9F37', UN], ['9F02', AMOUNT], ['5F2A', CURRENCY], ['9F69', CARD_AUTH], ['9A', bcd('261203')],
  ];
  const parts = fields.flatMap(([tag, value]) => {
    const edited = tag in edits ? edits[tag] : value;
    return edited === null || edited === undefined ? [] : [tlv(tag, edited)];
  });
  return Buffer.concat([STATIC, ...parts]);
}

describe('kernel SM ODA', () => {
  let kernel: Kernel;
  let chain: Chain;
  let prng: Prng;
  const fdda = (input: Buffer): number =>
    kernel.step(KernelOp.OP_ODA_SM_FDDA, STATIC.length, input);
  const loadCa = (key: Sm2KeyPair, expiry = '20301231', index = CA_INDEX): number => {
    kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
    return kernel.step(KernelOp.OP_CAPK_LOAD, 0, smCapkTlv(RID, index, key.publicKey, expiry));
  };

  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
    prng = new Prng(SEED);
    console.log(`oda_sm seed 0x${SEED.toString(16)} (replay: SHUAKA_SEED=${SEED})`);
    chain = chainOf(prng);
  });

  it('smFdda_goodChain_verifiesAndReturnsTheDynamicData', () => {
    expect(loadCa(chain.ca)).toBe(KernelStatus.STATUS_OK);
    expect(fdda(fddaInput(chain))).toBe(KernelStatus.STATUS_OK);
    expect(Buffer.from(kernel.output()).toString('hex')).toBe('020123');
    expect(kernel.step(KernelOp.OP_CAPK_LIST, 0, new Uint8Array(0))).toBe(0);
    expect(Buffer.from(kernel.output()).toString('hex')).toBe('a00000033318004000000000' +
      '20301231');
  });

  it('smFdda_v00_hashesTheUnpredictableNumberOnly', () => {
    expect(loadCa(chain.ca)).toBe(KernelStatus.STATUS_OK);
    const sdad = smSdad(chain.icc, ATC, UN, prng);
    expect(fdda(fddaInput({ ...chain, sdad }, { '9F69': null }))).toBe(0);
    expect(fdda(fddaInput({ ...chain, sdad }))).toBe(KernelStatus.ERR_ODA_SM_SDAD_SIGNATURE);
  });

  it('smIssuerCertificate_everyCheck_hasAFailingTwin', () => {
    expect(loadCa(chain.ca)).toBe(KernelStatus.STATUS_OK);
    const bad = (overrides: Record<number, number>, key = chain.issuer.publicKey): Uint8Array =>
      smIssuerCert({ ...issuerInput(chain), overrides, issuerPublicKey: key }, prng);
    const flipped = Uint8Array.from(chain.issuerCert);
    flipped[100] = (flipped[100] ?? 0) ^ 0x01;
    const offCurve = Uint8Array.from(chain.issuer.publicKey);
    offCurve[63] = (offCurve[63] ?? 0) ^ 0x01;
    const cases: [Uint8Array, number][] = [
      [bad({ 0: 0x02 }), KernelStatus.ERR_ODA_ISSUER_CERT_FORMAT],
      [bad({ 10: 0x01 }), KernelStatus.ERR_ODA_ISSUER_HASH_ALGORITHM],
      [flipped, KernelStatus.ERR_ODA_SM_ISSUER_SIGNATURE],
      [chain.issuerCert.subarray(0, 141), KernelStatus.ERR_ODA_ISSUER_CERT_LENGTH],
      [bad({ 1: 0x63 }), KernelStatus.ERR_ODA_ISSUER_ID_MISMATCH],
      [bad({ 5: 0x11, 6: 0x26 }), KernelStatus.ERR_ODA_ISSUER_CERT_EXPIRED],
      [bad({ 5: 0x13 }), KernelStatus.ERR_ODA_ISSUER_CERT_DATE_INVALID],
      [bad({ 11: 0x01 }), KernelStatus.ERR_ODA_ISSUER_PK_ALGORITHM],
      [bad({}, offCurve), KernelStatus.ERR_ODA_SM_KEY_INVALID],
      [bad({}, Uint8Array.of(...chain.issuer.publicKey, 0)), KernelStatus.ERR_ODA_ISSUER_PK_LENGTH],
    ];
    for (const [cert, want] of cases) {
      expect(fdda(fddaInput({ ...chain, issuerCert: cert })), `want ${want}`).toBe(want);
    }
    // Twin of each: the genuine certificate passes on the same kernel state.
    expect(fdda(fddaInput(chain))).toBe(0);
  });

  it('smIssuerCertificate_revokedSerial_isRefused', () => {
    expect(loadCa(chain.ca)).toBe(KernelStatus.STATUS_OK);
    const entry = Buffer.concat([RID, Buffer.from([CA_INDEX]), Buffer.from('000043', 'hex')]);
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, entry)).toBe(0);
    expect(fdda(fddaInput(chain))).toBe(0);
    entry[8] = 0x42;
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, entry)).toBe(0);
    expect(fdda(fddaInput(chain))).toBe(KernelStatus.ERR_ODA_ISSUER_CERT_REVOKED);
  });

  it('smCaKey_unknownExpiredWrongTypeOrBadCheckValue_isRefused', () => {
    expect(loadCa(chain.ca, '20251231')).toBe(0);
    expect(fdda(fddaInput(chain))).toBe(KernelStatus.ERR_ODA_CA_KEY_EXPIRED);
    expect(loadCa(chain.ca, '20301231', CA_INDEX + 1)).toBe(0);
    expect(fdda(fddaInput(chain))).toBe(KernelStatus.ERR_ODA_CA_KEY_UNKNOWN);
    // The RSA chain refuses an SM2 CA key, and the SM chain an RSA one.
    expect(loadCa(chain.ca)).toBe(0);
    expect(kernel.step(KernelOp.OP_ODA_FDDA, STATIC.length,
      Buffer.concat([fddaInput(chain), tlv('9F32', Uint8Array.of(3)), tlv('9F47', Uint8Array.of(3))])))
      .toBe(KernelStatus.ERR_ODA_SM_CA_KEY_TYPE);
    const tlvKey = smCapkTlv(RID, CA_INDEX, chain.ca.publicKey, '20301231');
    const broken = Uint8Array.from(tlvKey);
    broken[broken.length - 1] = (broken[broken.length - 1] ?? 0) ^ 1;
    kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0, broken)).toBe(KernelStatus.ERR_CAPK_CHECK_VALUE);
    const offCurve = Uint8Array.from(chain.ca.publicKey);
    offCurve[10] = (offCurve[10] ?? 0) ^ 4;
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0, smCapkTlv(RID, 1, offCurve, '20301231'))).toBe(
      KernelStatus.ERR_CAPK_SM2_KEY_INVALID,
    );
  });

  it('smIccCertificate_everyCheck_hasAFailingTwin', () => {
    expect(loadCa(chain.ca)).toBe(KernelStatus.STATUS_OK);
    const bad = (overrides: Record<number, number>, key = chain.icc.publicKey): Uint8Array =>
      smIccCert({ ...iccInput(chain), overrides, iccPublicKey: key }, prng);
    const offCurve = Uint8Array.from(chain.icc.publicKey);
    offCurve[1] = (offCurve[1] ?? 0) ^ 0x80;
    const otherStatic = smIccCert({ ...iccInput(chain), staticData: STATIC.subarray(1) }, prng);
    const cases: [Uint8Array, number][] = [
      [bad({ 0: 0x04 }), KernelStatus.ERR_ODA_ICC_CERT_FORMAT],
      [bad({ 16: 0x01 }), KernelStatus.ERR_ODA_ICC_HASH_ALGORITHM],
      [otherStatic, KernelStatus.ERR_ODA_SM_ICC_SIGNATURE],
      [bad({ 5: 0x99 }), KernelStatus.ERR_ODA_ICC_PAN_MISMATCH],
      [bad({ 11: 0x10, 12: 0x26 }), KernelStatus.ERR_ODA_ICC_CERT_EXPIRED],
      [bad({ 11: 0x00 }), KernelStatus.ERR_ODA_ICC_CERT_DATE_INVALID],
      [bad({ 17: 0x01 }), KernelStatus.ERR_ODA_ICC_PK_ALGORITHM],
      [bad({}, offCurve), KernelStatus.ERR_ODA_SM_KEY_INVALID],
      [Uint8Array.of(...chain.iccCert, 0), KernelStatus.ERR_ODA_ICC_CERT_LENGTH],
    ];
    for (const [cert, want] of cases) {
      expect(fdda(fddaInput({ ...chain, iccCert: cert })), `want ${want}`).toBe(want);
    }
    expect(fdda(fddaInput(chain))).toBe(0);
  });

  it('smSdad_everyCheck_hasAFailingTwin', () => {
    expect(loadCa(chain.ca)).toBe(KernelStatus.STATUS_OK);
    const otherAtc = smSdad(chain.icc, ATC + 1, v01Tail(), prng);
    const wrongFormat = Uint8Array.from(chain.sdad);
    wrongFormat[0] = 0x05;
    const cases: [Record<string, Uint8Array | null>, number][] = [
      [{ '9F4B': wrongFormat }, KernelStatus.ERR_ODA_SDAD_FORMAT],
      [{ '9F4B': chain.sdad.subarray(0, 60) }, KernelStatus.ERR_ODA_SDAD_LENGTH],
      [{ '9F37': bcd('1A2B3C4E') }, KernelStatus.ERR_ODA_SM_SDAD_SIGNATURE],
      [{ '9F02': bcd('000000000201') }, KernelStatus.ERR_ODA_SM_SDAD_SIGNATURE],
      [{ '9F69': bcd('0211223344000080') }, KernelStatus.ERR_ODA_FDDA_VERSION],
      [{ '9F4B': otherAtc }, KernelStatus.ERR_ODA_SDAD_IDN_MISMATCH],
      [{ '9F36': null }, KernelStatus.ERR_ODA_ATC_MISSING],
      [{ '9F37': bcd('1A2B3C') }, KernelStatus.ERR_ODA_TERMINAL_DATA],
    ];
    for (const [edits, want] of cases) {
      expect(fdda(fddaInput(chain, edits)), `want ${want}`).toBe(want);
    }
    expect(fdda(fddaInput(chain))).toBe(0);
  });

  it('compressedKeys_inTheCaParametersAndTheIssuerCertificate_areDecompressed', () => {
    const compress = (xy: Uint8Array): Uint8Array =>
      Uint8Array.of(2 + ((xy[63] ?? 0) & 1), ...xy.subarray(0, 32));
    kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0,
      smCapkTlv(RID, CA_INDEX, compress(chain.ca.publicKey), '20301231'))).toBe(0);
    const issuerCert = smIssuerCert({ ...issuerInput(chain),
      issuerPublicKey: compress(chain.issuer.publicKey) }, prng);
    expect(fdda(fddaInput({ ...chain, issuerCert }))).toBe(0);
    expect(kernel.step(KernelOp.OP_ODA_SM_RECOVER_ISSUER, STATIC.length,
      fddaInput({ ...chain, issuerCert }))).toBe(0);
    expect(Buffer.from(kernel.output()).equals(chain.issuer.publicKey)).toBe(true);
    // Twin: the other parity names the other point, whose signature check then fails.
    const wrongParity = compress(chain.issuer.publicKey);
    wrongParity[0] = (wrongParity[0] ?? 0) ^ 1;
    const twin = smIssuerCert({ ...issuerInput(chain), issuerPublicKey: wrongParity }, prng);
    expect(fdda(fddaInput({ ...chain, issuerCert: twin }))).toBe(
      KernelStatus.ERR_ODA_SM_ICC_SIGNATURE);
  });

  it('smChain_stepOps_returnTheRecoveredKeys', () => {
    expect(loadCa(chain.ca)).toBe(KernelStatus.STATUS_OK);
    const input = fddaInput(chain);
    expect(kernel.step(KernelOp.OP_ODA_SM_RECOVER_ISSUER, STATIC.length, input)).toBe(0);
    expect(Buffer.from(kernel.output()).equals(chain.issuer.publicKey)).toBe(true);
    expect(kernel.step(KernelOp.OP_ODA_SM_RECOVER_ICC, STATIC.length, input)).toBe(0);
    expect(Buffer.from(kernel.output()).equals(chain.icc.publicKey)).toBe(true);
    expect(kernel.step(KernelOp.OP_ODA_SM_VERIFY_SDAD, STATIC.length, input)).toBe(0);
    expect(Buffer.from(kernel.output()).toString('hex')).toBe('020123');
  });

  it('smFdda_manySeededChains_verify', () => {
    for (let round = 0; round < 12; round += 1) {
      const c = chainOf(prng);
      expect(loadCa(c.ca)).toBe(0);
      expect(fdda(fddaInput(c)), `seed ${SEED} round ${round}`).toBe(0);
    }
  });
});
