// ODA benchmarks: kernel RSA, SHA-1, SDAD check and full fDDA chain next to JS BigInt/node:crypto.
//
// RSA e = 65537: UnionPay CA key 80 (1024 bits, read from ../shared/vectors at run time) and a
// 1984-bit F4 key, the kernel against node:crypto with a new key per call (what an issuer or
// ICC key costs) and with a reused KeyObject, in the same run (performance.md target: kernel
// no slower than node:crypto with a new key).
//
// Chain as in performance.md: CA 1984 bits -> issuer 1408 -> ICC 1408, all e = 3, fDDA v01.
// "op" figures go through the kernel boundary (copy into IN, one shuaka_step); "in-kernel"
// figures repeat the work inside one step (arg = repetitions) to show the compute alone.

import {
  createHash, createPublicKey, constants, generateKeyPairSync, publicEncrypt,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { KernelOp, KernelStatus, kernelStatusName } from '../assembly/host/abi.gen.js';
import { loadKernel } from '../assembly/host/kernel_loader.js';
import type { Kernel } from '../assembly/host/kernel_loader.js';
import { Prng } from '../host-sim/src/prng.js';
import {
  buildChain,
  buildFddaCard,
  encodeOdaInputs,
  loadChainCa,
} from '../assembly/test/support/oda_chain.js';
import type { OdaInputs, TestChain } from '../assembly/test/support/oda_chain.js';
import { bigToBytes } from '../assembly/test/support/oda_rsa.js';
import type { TestRsaKey } from '../assembly/test/support/oda_rsa.js';
import { measure, printFigures } from './bench_util.js';

const BENCH_SEED = 0x0da_be4c;
/** bench/ in the sources, dist/bench/ when compiled: the vectors are beside the repository. */
const CAPK_VECTORS_CANDIDATES = ['..', '../..'].map((up) =>
  join(dirname(fileURLToPath(import.meta.url)), up, '..', 'shared', 'vectors',
    'unionpay_capk.json'));
const REPEAT = 200;

function rsaOpInput(modulus: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + modulus.length + 2 + data.length);
  out[0] = modulus.length >> 8;
  out[1] = modulus.length & 0xff;
  out.set(modulus, 2);
  out[2 + modulus.length] = 1;
  out[3 + modulus.length] = 3;
  out.set(data, 4 + modulus.length);
  return out;
}

function publicKeyObject(key: TestRsaKey): KeyObject {
  const b64 = (v: Uint8Array): string => Buffer.from(v).toString('base64url');
  return createPublicKey({
    key: { kty: 'RSA', n: b64(bigToBytes(key.n, key.bytes)), e: 'Aw' },
    format: 'jwk',
  });
}

/** Bytes to BigInt through hex, the fastest plain-JS route. */
function hexToBig(data: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(data.buffer, data.byteOffset, data.length).toString('hex')}`);
}

/** x^3 mod n on bytes, the way a plain TypeScript verifier would do it (hex round trip). */
function jsCube(data: Uint8Array, n: bigint, length: number): Uint8Array {
  const x = hexToBig(data);
  return Buffer.from(((((x * x) % n) * x) % n).toString(16).padStart(length * 2, '0'), 'hex');
}

function sha1(...parts: readonly Uint8Array[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Framing and hash check of a recovered message; returns false on any mismatch. */
function jsRecoveredOk(x: Uint8Array, format: number, ...tail: readonly Uint8Array[]): boolean {
  const n = x.length;
  if (x[0] !== 0x6a || x[n - 1] !== 0xbc || x[1] !== format) return false;
  return sha1(x.subarray(1, n - 21), ...tail).equals(x.subarray(n - 21, n - 1));
}

/** The same fDDA v01 verification in TypeScript: BigInt RSA, node:crypto SHA-1. */
function jsFdda(inputs: OdaInputs, caN: bigint, caBytes: number): boolean {
  const need = (v: Uint8Array | undefined): Uint8Array => {
    if (v === undefined) throw new Error('bench input incomplete');
    return v;
  };
  const rem = inputs.issuerRemainder ?? new Uint8Array(0);
  const x = jsCube(need(inputs.issuerCert), caN, caBytes);
  if (!jsRecoveredOk(x, 2, rem, need(inputs.issuerExponent))) return false;
  const ni = x[13] ?? 0;
  const room = caBytes - 36;
  const issuerMod = Buffer.concat([x.subarray(15, 15 + Math.min(ni, room)), rem]);
  const y = jsCube(need(inputs.iccCert), hexToBig(issuerMod), ni);
  const iccRem = inputs.iccRemainder ?? new Uint8Array(0);
  if (!jsRecoveredOk(y, 4, iccRem, need(inputs.iccExponent), inputs.staticData)) return false;
  const nic = y[19] ?? 0;
  const iccMod = Buffer.concat([y.subarray(21, 21 + Math.min(nic, ni - 42)), iccRem]);
  return jsSdad(need(inputs.sdad), hexToBig(iccMod), nic, inputs);
}

function jsSdad(sdad: Uint8Array, n: bigint, length: number, inputs: OdaInputs): boolean {
  const z = jsCube(sdad, n, length);
  const tail = [inputs.un, inputs.amount, inputs.currency, inputs.cardAuth].map(
    (v) => v ?? new Uint8Array(0),
  );
  if (!jsRecoveredOk(z, 5, ...tail)) return false;
  const atc = inputs.atc ?? new Uint8Array(0);
  return z[4] === 2 && z[5] === atc[0] && z[6] === atc[1];
}

function expectOk(status: number, what: string): void {
  if (status !== KernelStatus.STATUS_OK) throw new Error(`${what}: ${kernelStatusName(status)}`);
}

async function benchRsa(kernel: Kernel, chain: TestChain): Promise<void> {
  const key = chain.ca;
  const modulus = bigToBytes(key.n, key.bytes);
  const data = bigToBytes((key.n * 7n) / 11n, key.bytes);
  const input = rsaOpInput(modulus, data);
  expectOk(kernel.step(KernelOp.OP_RSA_PUBLIC, 0, input), 'OP_RSA_PUBLIC');
  const reused = publicKeyObject(key);
  const x = hexToBig(data);
  const n = key.n;
  const figures = await measure([
    [
      'kernel, one op per call (OP_RSA_PUBLIC)',
      () => kernel.step(KernelOp.OP_RSA_PUBLIC, 0, input),
    ],
    [
      `kernel, in-kernel (x${REPEAT} per call)`,
      () => kernel.step(KernelOp.OP_RSA_PUBLIC, REPEAT, input),
    ],
    ['JS BigInt x*x%n*x%n with byte conversions', () => jsCube(data, key.n, key.bytes)],
    ['JS BigInt x*x%n*x%n, numbers only', () => (((x * x) % n) * x) % n],
    [
      'node:crypto publicEncrypt NO_PADDING, new key',
      () => publicEncrypt({ key: publicKeyObject(key), padding: constants.RSA_NO_PADDING }, data),
    ],
    [
      'node:crypto publicEncrypt NO_PADDING, reused key',
      () => publicEncrypt({ key: reused, padding: constants.RSA_NO_PADDING }, data),
    ],
  ]);
  const inKernel = figures[1];
  if (inKernel !== undefined) {
    figures[1] = { ...inKernel, nsPerOp: inKernel.nsPerOp / REPEAT };
  }
  printFigures(
    'RSA public op, 1984-bit, e = 3 (target kernel <= 10 µs)',
    figures,
    'JS BigInt x*x%n*x%n with byte conversions',
  );
}

/** UnionPay CA key 80's modulus, or null when ../shared/vectors is not there. */
function unionPayKey80(): Uint8Array | null {
  for (const path of CAPK_VECTORS_CANDIDATES) {
    try {
      const file = JSON.parse(readFileSync(path, 'utf8')) as {
        keys: { index: string; modulus: string; exponent: string }[];
      };
      const key = file.keys.find((k) => k.index === '80' && k.exponent === '010001');
      if (key !== undefined) return Buffer.from(key.modulus, 'hex');
    } catch {
      // Try the next location.
    }
  }
  return null;
}

async function benchRsa65537(kernel: Kernel, label: string, modulus: Uint8Array): Promise<void> {
  const n = BigInt(`0x${Buffer.from(modulus).toString('hex')}`);
  const data = bigToBytes((n * 7n) / 11n, modulus.length);
  const input = new Uint8Array(2 + modulus.length + 4 + data.length);
  input[0] = modulus.length >> 8;
  input[1] = modulus.length & 0xff;
  input.set(modulus, 2);
  input.set([3, 1, 0, 1], 2 + modulus.length);
  input.set(data, 6 + modulus.length);
  const jwk = { kty: 'RSA', n: Buffer.from(modulus).toString('base64url'), e: 'AQAB' };
  const reused = createPublicKey({ key: jwk, format: 'jwk' });
  const want = publicEncrypt({ key: reused, padding: constants.RSA_NO_PADDING }, data);
  expectOk(kernel.step(KernelOp.OP_RSA_PUBLIC, 0, input), 'OP_RSA_PUBLIC e=65537');
  if (!Buffer.from(kernel.output()).equals(want)) throw new Error('kernel != node:crypto');
  const baseline = 'node:crypto publicEncrypt NO_PADDING, new key';
  const repeat = 20;
  const figures = await measure([
    [
      'kernel, one op per call (OP_RSA_PUBLIC)',
      () => kernel.step(KernelOp.OP_RSA_PUBLIC, 0, input),
    ],
    [
      `kernel, in-kernel (x${repeat} per call)`,
      () => kernel.step(KernelOp.OP_RSA_PUBLIC, repeat, input),
    ],
    [
      baseline,
      () => publicEncrypt(
        { key: createPublicKey({ key: jwk, format: 'jwk' }), padding: constants.RSA_NO_PADDING },
        data,
      ),
    ],
    [
      'node:crypto publicEncrypt NO_PADDING, reused key',
      () => publicEncrypt({ key: reused, padding: constants.RSA_NO_PADDING }, data),
    ],
  ]);
  const inKernel = figures[1];
  if (inKernel !== undefined) figures[1] = { ...inKernel, nsPerOp: inKernel.nsPerOp / repeat };
  printFigures(`RSA public op, ${label}, e = 65537 (target kernel <= node:crypto new key)`,
    figures, baseline);
}

async function benchSha1(kernel: Kernel): Promise<void> {
  const data = new Prng(BENCH_SEED).bytes(248);
  const repeat = 1000;
  const figures = await measure(
    [
      ['kernel, one digest per call (OP_SHA1)', () => kernel.step(KernelOp.OP_SHA1, 0, data)],
      [
        `kernel, in-kernel (x${repeat} per call)`,
        () => kernel.step(KernelOp.OP_SHA1, repeat, data),
      ],
      ['node:crypto createHash(sha1)', () => createHash('sha1').update(data).digest()],
    ],
    { batch: 1 },
  );
  const inKernel = figures[1];
  if (inKernel !== undefined) figures[1] = { ...inKernel, nsPerOp: inKernel.nsPerOp / repeat };
  printFigures(
    'SHA-1 of 248 bytes (target kernel <= 0.5 µs)',
    figures,
    'node:crypto createHash(sha1)',
  );
}

async function benchChain(kernel: Kernel, chain: TestChain): Promise<void> {
  const card = buildFddaCard(chain);
  const { arg, input } = encodeOdaInputs(card);
  expectOk(loadChainCa(kernel, chain), 'CA key load');
  expectOk(kernel.step(KernelOp.OP_ODA_FDDA, arg, input), 'OP_ODA_FDDA');
  if (!jsFdda(card, chain.ca.n, chain.ca.bytes)) throw new Error('JS reference rejects the card');
  const sdadInput = encodeOdaInputs({
    sdad: card.sdad ?? new Uint8Array(0),
    un: card.un ?? new Uint8Array(0),
    amount: card.amount ?? new Uint8Array(0),
    currency: card.currency ?? new Uint8Array(0),
    cardAuth: card.cardAuth ?? new Uint8Array(0),
    atc: card.atc ?? new Uint8Array(0),
    staticData: new Uint8Array(0),
  }).input;
  // OP_ODA_FDDA above left the ICC key recovered: the SDAD op reuses it.
  expectOk(kernel.step(KernelOp.OP_ODA_VERIFY_SDAD, 0, sdadInput), 'OP_ODA_VERIFY_SDAD');
  const sdad = await measure([
    [
      'kernel SDAD check (OP_ODA_VERIFY_SDAD)',
      () => kernel.step(KernelOp.OP_ODA_VERIFY_SDAD, 0, sdadInput),
    ],
    [
      'JS BigInt + node:crypto SHA-1 SDAD check',
      () => jsSdad(card.sdad ?? new Uint8Array(0), chain.icc.n, chain.icc.bytes, card),
    ],
  ]);
  printFigures(
    'SDAD check, 1408-bit ICC key, fDDA v01',
    sdad,
    'JS BigInt + node:crypto SHA-1 SDAD check',
  );
  const repeatArg = arg | (REPEAT << 16);
  const full = await measure([
    [
      'kernel full chain (OP_ODA_FDDA, TLV in)',
      () => kernel.step(KernelOp.OP_ODA_FDDA, arg, input),
    ],
    [
      `kernel full chain, in-kernel (x${REPEAT})`,
      () => kernel.step(KernelOp.OP_ODA_FDDA, repeatArg, input),
    ],
    ['JS BigInt + node:crypto SHA-1 full chain', () => jsFdda(card, chain.ca.n, chain.ca.bytes)],
  ]);
  const inKernel = full[1];
  if (inKernel !== undefined) full[1] = { ...inKernel, nsPerOp: inKernel.nsPerOp / REPEAT };
  printFigures(
    'full fDDA chain 1984 -> 1408 -> 1408, e = 3 (target kernel <= 25 µs, < JS)',
    full,
    'JS BigInt + node:crypto SHA-1 full chain',
  );
}

/** Prints RSA, SHA-1, SDAD and full-chain figures with ratios (one tinybench run per table). */
export async function runOdaBench(): Promise<void> {
  const kernel = await loadKernel();
  const chain = buildChain(new Prng(BENCH_SEED), { caBytes: 248, issuerBytes: 176, iccBytes: 176 });
  await benchRsa(kernel, chain);
  const key80 = unionPayKey80();
  if (key80 === null) {
    console.log('RSA e = 65537, UnionPay CA key 80: skipped (../shared/vectors not found)');
  } else {
    await benchRsa65537(kernel, 'UnionPay CA key 80, 1024-bit', key80);
  }
  const f4 = generateKeyPairSync('rsa', { modulusLength: 1984, publicExponent: 65537 });
  const f4n = Buffer.from(f4.publicKey.export({ format: 'jwk' }).n ?? '', 'base64url');
  await benchRsa65537(kernel, '1984-bit key', f4n);
  await benchSha1(kernel);
  await benchChain(kernel, chain);
}
