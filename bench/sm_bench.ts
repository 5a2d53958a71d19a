// SM benchmarks: kernel SM3 and SM2 verification next to node:crypto (OpenSSL), and the SM fDDA
// chain of one tap, all in one run (performance.md: SM3 <= 1.5x node:crypto, SM2 verify at or
// ahead of node:crypto).
//
// The node:crypto figure is OpenSSL's own SM2 with an empty distinguishing ID (keys imported
// from DER, see host-sim/src/pki/sm2_sign.ts): Z_A, e and the verification, as the kernel
// does with the default ID. "new key" imports the SPKI at each call: an issuer or ICC key is
// new at every tap.

import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import { KernelOp, KernelStatus, kernelStatusName } from '../assembly/host/abi.gen.js';
import { loadKernel } from '../assembly/host/kernel_loader.js';
import type { Kernel } from '../assembly/host/kernel_loader.js';
import { Prng } from '../host-sim/src/prng.js';
import {
  SM2_DEFAULT_ID, sm2KeyPairFrom, sm2NodeKeys, sm2Sign,
} from '../host-sim/src/pki/sm2_sign.js';
import type { Sm2KeyPair } from '../host-sim/src/pki/sm2_sign.js';
import { smCapkTlv, smIccCert, smIssuerCert, smSdad } from '../host-sim/src/pki/sm_cert.js';
import { measure, printFigures } from './bench_util.js';

const BENCH_SEED = 0x5a3_be4c;
const RID = Uint8Array.from(Buffer.from('A000000333', 'hex'));
const bcd = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

function expectOk(kernel: Kernel, op: number, arg: number, input: Uint8Array, what: string): void {
  const status = kernel.step(op, arg, input);
  if (status !== KernelStatus.STATUS_OK) {
    throw new Error(`sm bench: ${what} failed (${kernelStatusName(status)})`);
  }
}

async function benchSm3(kernel: Kernel): Promise<void> {
  const data = new Prng(BENCH_SEED).bytes(248);
  const repeat = 1000;
  const figures = await measure([
    ['kernel, one digest per call (OP_SM3)', () => kernel.step(KernelOp.OP_SM3, 0, data)],
    [`kernel, in-kernel (x${repeat} per call)`, () => kernel.step(KernelOp.OP_SM3, repeat, data)],
    ['node:crypto createHash(sm3)', () => createHash('sm3').update(data).digest()],
  ]);
  const inKernel = figures[1];
  if (inKernel !== undefined) figures[1] = { ...inKernel, nsPerOp: inKernel.nsPerOp / repeat };
  printFigures('SM3 of 248 bytes (target kernel <= 1.5x node:crypto)', figures,
    'node:crypto createHash(sm3)');
}

function verifyInput(key: Sm2KeyPair, signature: Uint8Array, message: Uint8Array): Uint8Array {
  const length = Uint8Array.of(0, SM2_DEFAULT_ID.length);
  return Buffer.concat([key.publicKey, signature, length, SM2_DEFAULT_ID, message]);
}

async function benchSm2Verify(kernel: Kernel): Promise<void> {
  const prng = new Prng(BENCH_SEED);
  const key = sm2KeyPairFrom(prng);
  const message = prng.bytes(100);
  const input = verifyInput(key, sm2Sign(key, message, prng), message);
  expectOk(kernel, KernelOp.OP_SM2_VERIFY, 0, input, 'OP_SM2_VERIFY');
  const pair = sm2NodeKeys(key);
  const der = pair.publicKey.export({ type: 'spki', format: 'der' });
  const signature = sign(null, message, pair.privateKey);
  const nodeNewKey = (): boolean =>
    verify(null, message, createPublicKey({ key: der, format: 'der', type: 'spki' }), signature);
  if (!nodeNewKey()) throw new Error('sm bench: node:crypto did not verify its own signature');
  const repeat = 20;
  const figures = await measure([
    ['kernel, new key per call (OP_SM2_VERIFY)', () => kernel.step(KernelOp.OP_SM2_VERIFY, 0,
      input)],
    [`kernel, in-kernel (x${repeat} per call)`, () => kernel.step(KernelOp.OP_SM2_VERIFY,
      repeat, input)],
    ['node:crypto verify, new key per call', nodeNewKey],
    ['node:crypto verify, reused KeyObject', () => verify(null, message, pair.publicKey,
      signature)],
  ], { timeMs: 1500 });
  const inKernel = figures[1];
  if (inKernel !== undefined) figures[1] = { ...inKernel, nsPerOp: inKernel.nsPerOp / repeat };
  printFigures('SM2 signature verification, 100-byte message (target kernel <= node:crypto)',
    figures, 'node:crypto verify, new key per call');
}

/** An SM chain (CA -> issuer -> ICC -> SDAD, fDDA v01) and the kernel input that checks it. */
function smChainInput(prng: Prng): { capk: Uint8Array; input: Uint8Array; staticLength: number } {
  const ca = sm2KeyPairFrom(prng);
  const issuer = sm2KeyPairFrom(prng);
  const icc = sm2KeyPairFrom(prng);
  const staticData = bcd('5F24032812315A08623456789012345682027C00');
  const un = bcd('1A2B3C4D');
  const amount = bcd('000000000200');
  const currency = bcd('0156');
  const cardAuth = bcd('0111223344000080');
  const tlv = (tag: string, v: Uint8Array): Buffer => Buffer.concat([Buffer.from(tag, 'hex'),
    Buffer.from(v.length < 0x80 ? [v.length] : [0x81, v.length]), v]);
  const issuerCert = smIssuerCert({ caKey: ca, issuerId: bcd('623456FF'), expiry: bcd('1230'),
    serial: bcd('000001'), issuerPublicKey: issuer.publicKey }, prng);
  const iccCert = smIccCert({ issuerKey: issuer, pan: bcd('6234567890123456FFFF'),
    expiry: bcd('1230'), serial: bcd('000002'), iccPublicKey: icc.publicKey, staticData }, prng);
  const sdad = smSdad(icc, 0x0123, Buffer.concat([un, amount, currency, cardAuth]), prng);
  const input = Buffer.concat([staticData, tlv('9F06', RID), tlv('8F', Uint8Array.of(0xe8)),
    tlv('90', issuerCert), tlv('9F46', iccCert), tlv('9F4B', sdad),
    tlv('5A', bcd('6234567890123456')), tlv('9F36', bcd('0123')), tlv('9F37', un),
    tlv('9F02', amount), tlv('5F2A', currency), tlv('9F69', cardAuth), tlv('9A', bcd('261203'))]);
  return { capk: smCapkTlv(RID, 0xe8, ca.publicKey, '20301231'), input,
    staticLength: staticData.length };
}

async function benchSmChain(kernel: Kernel): Promise<void> {
  const { capk, input, staticLength } = smChainInput(new Prng(BENCH_SEED ^ 1));
  kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
  expectOk(kernel, KernelOp.OP_CAPK_LOAD, 0, capk, 'OP_CAPK_LOAD (SM2 CA key)');
  expectOk(kernel, KernelOp.OP_ODA_SM_FDDA, staticLength, input, 'OP_ODA_SM_FDDA');
  const pair = sm2NodeKeys(sm2KeyPairFrom(new Prng(BENCH_SEED ^ 2)));
  const der = pair.publicKey.export({ type: 'spki', format: 'der' });
  const message = new Uint8Array(148);
  const signature = sign(null, message, pair.privateKey);
  const repeat = 10;
  const figures = await measure([
    ['kernel SM fDDA chain (OP_ODA_SM_FDDA)', () => kernel.step(KernelOp.OP_ODA_SM_FDDA,
      staticLength, input)],
    [`kernel, in-kernel (x${repeat} per call)`, () => kernel.step(KernelOp.OP_ODA_SM_FDDA,
      staticLength | (repeat << 16), input)],
    ['node:crypto, 3 verifies with new keys', () => {
      for (let i = 0; i < 3; i += 1) {
        verify(null, message, createPublicKey({ key: der, format: 'der', type: 'spki' }),
          signature);
      }
    }],
  ], { timeMs: 1500 });
  const inKernel = figures[1];
  if (inKernel !== undefined) figures[1] = { ...inKernel, nsPerOp: inKernel.nsPerOp / repeat };
  printFigures('SM fDDA chain per tap: CA -> issuer -> ICC -> SDAD (3 SM2 verifies)', figures,
    'node:crypto, 3 verifies with new keys');
}

/** The SM suite: SM3, SM2 verify, the SM fDDA chain. */
export async function runSmBench(): Promise<void> {
  const kernel = await loadKernel();
  await benchSm3(kernel);
  await benchSm2Verify(kernel);
  await benchSmChain(kernel);
}
