// SM3 and SM2 in the kernel against the official vectors, node:crypto's SM3 and OpenSSL's SM2.

import { execFileSync } from 'node:child_process';
import { createECDH, createHash, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import {
  SM2_DEFAULT_ID, SM2_N, sm2Digest, sm2KeyPairFrom, sm2NodeKeys, sm2PublicKeyPem, sm2Sign,
  sm2SignatureDer, sm2SignatureRaw, sm2Za,
} from '../../host-sim/src/pki/sm2_sign.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import { requireTools } from './support/tools.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x5a3_0001);
const VECTORS_PATH = join(REPO_ROOT, '..', 'shared', 'vectors', 'sm2_sm3_sm4_vectors.json');
const P_HEX = 'FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF';

interface Sm3Vector { input_hex: string; digest: string; what?: string }
interface Sm2Vector {
  curve: string;
  user_id_hex: string;
  message_hex: string;
  signature_r: string;
  signature_s: string;
  derived: { public_key_x: string; public_key_y: string; ZA: string; e_SM3_ZA_M: string };
}
interface Vectors { sm3: Sm3Vector[]; sm2_signatures: Sm2Vector[] }

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

function verifyInput(key: Uint8Array, sig: Uint8Array, id: Uint8Array, msg: Uint8Array): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(id.length);
  return Buffer.concat([key, sig, len, id, msg]);
}

function flipBit(data: Uint8Array, prng: Prng): Uint8Array {
  const copy = Uint8Array.from(data);
  const at = prng.below(copy.length);
  copy[at] = (copy[at] ?? 0) ^ (1 << prng.below(8));
  return copy;
}

describe('kernel SM3 / SM2', () => {
  let kernel: Kernel;
  let vectors: Vectors;
  let work: string;
  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
    vectors = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as Vectors;
    work = mkdtempSync(join(tmpdir(), 'shuaka-sm2-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const verify = (input: Uint8Array): number => kernel.step(KernelOp.OP_SM2_VERIFY, 0, input);

  it('sm3_officialVectors_match', () => {
    expect(vectors.sm3.length).toBeGreaterThan(3);
    for (const v of vectors.sm3) {
      expect(kernel.step(KernelOp.OP_SM3, 0, bytes(v.input_hex))).toBe(KernelStatus.STATUS_OK);
      expect(hex(kernel.output()), v.what).toBe(v.digest.toUpperCase());
    }
  });

  it('sm3_seededRandomLengthsAndBlockEdges_matchNodeCrypto', () => {
    const prng = new Prng(SEED);
    const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 248, 1000, 4000];
    for (let round = 0; round < 600; round += 1) lengths.push(prng.below(3000));
    for (const length of lengths) {
      const data = prng.bytes(length);
      expect(kernel.step(KernelOp.OP_SM3, 0, data)).toBe(KernelStatus.STATUS_OK);
      const want = createHash('sm3').update(data).digest('hex').toUpperCase();
      expect(hex(kernel.output()), `seed ${SEED} length ${length}`).toBe(want);
    }
  });

  it('sm2_recommendedCurveVector_verifiesWithZaAndE', () => {
    const v = vectors.sm2_signatures.find((s) => s.curve === 'sm2p256v1_recommended');
    expect(v).toBeDefined();
    if (v === undefined) return;
    const key = bytes(v.derived.public_key_x + v.derived.public_key_y);
    const id = bytes(v.user_id_hex);
    expect(kernel.step(KernelOp.OP_SM2_ZA, 0, Buffer.concat([key, id]))).toBe(0);
    expect(hex(kernel.output())).toBe(v.derived.ZA);
    const sig = bytes(v.signature_r + v.signature_s);
    expect(verify(verifyInput(key, sig, id, bytes(v.message_hex)))).toBe(KernelStatus.STATUS_OK);
    expect(hex(kernel.output())).toBe(v.derived.e_SM3_ZA_M);
    // Failing twins: one bit of r, s, the message, the ID, the key's y.
    const prng = new Prng(SEED);
    const twins = [
      verifyInput(key, sigWith(sig, 5), id, bytes(v.message_hex)),
      verifyInput(key, sigWith(sig, 40), id, bytes(v.message_hex)),
      verifyInput(key, sig, id, flipBit(bytes(v.message_hex), prng)),
      verifyInput(key, sig, flipBit(id, prng), bytes(v.message_hex)),
    ];
    for (const twin of twins) expect(verify(twin)).toBe(KernelStatus.ERR_SM2_SIGNATURE_INVALID);
    const badKey = Uint8Array.from(key);
    badKey[63] = (badKey[63] ?? 0) ^ 1;
    expect(verify(verifyInput(badKey, sig, id, bytes(v.message_hex)))).toBe(
      KernelStatus.ERR_SM2_POINT_INVALID,
    );
  });

  it('sm2_exampleCurveVector_zaAndDigestMatchThroughSm3', () => {
    // The kernel verifies on the recommended curve only (cards use no other); the GB/T 32918
    // example-curve vector still checks the Z_A and e hashing rule through OP_SM3.
    const v = vectors.sm2_signatures.find((s) => s.curve === 'gbt32918_example_Fp256');
    expect(v).toBeDefined();
    if (v === undefined) return;
    const z = vectors.sm3.find((s) => s.digest.toUpperCase() === v.derived.ZA);
    expect(z).toBeDefined();
    const za = bytes(v.derived.ZA);
    expect(kernel.step(KernelOp.OP_SM3, 0, Buffer.concat([za, bytes(v.message_hex)]))).toBe(0);
    expect(hex(kernel.output())).toBe(v.derived.e_SM3_ZA_M);
  });

  it('sm2_thousandsOfSeededKeys_validVerifyAndTamperedFail', () => {
    const prng = new Prng(SEED ^ 0x2);
    console.log(`crypto_sm seed 0x${SEED.toString(16)} (replay: SHUAKA_SEED=${SEED})`);
    for (let round = 0; round < 1200; round += 1) {
      const key = sm2KeyPairFrom(prng);
      const id = round % 5 === 0 ? prng.bytes(prng.below(40)) : SM2_DEFAULT_ID;
      const msg = prng.bytes(prng.below(300));
      const sig = sm2Sign(key, msg, prng, id);
      const where = `seed ${SEED} round ${round}`;
      expect(verify(verifyInput(key.publicKey, sig, id, msg)), where).toBe(0);
      expect(hex(kernel.output()), where).toBe(hex(sm2Digest(key.publicKey, msg, id)));
      const tampered = round % 3 === 0 ? flipBit(sig, prng) : sig;
      const tamperedMsg = round % 3 === 1 ? flipBit(Uint8Array.of(...msg, 0), prng) : msg;
      const tamperedId = round % 3 === 2 ? Uint8Array.of(...id, 0x41) : id;
      const status = verify(verifyInput(key.publicKey, tampered, tamperedId, tamperedMsg));
      expect([KernelStatus.ERR_SM2_SIGNATURE_INVALID, KernelStatus.ERR_SM2_SIGNATURE_RANGE],
        where).toContain(status);
    }
  });

  it('sm2_rangeAndDegenerateSignatures_areRefused', () => {
    const prng = new Prng(SEED ^ 0x3);
    const key = sm2KeyPairFrom(prng);
    const msg = prng.bytes(20);
    const sig = sm2Sign(key, msg, prng);
    const n = Buffer.from(SM2_N.toString(16), 'hex');
    const r = sig.subarray(0, 32);
    const minusR = Buffer.from((SM2_N - BigInt(`0x${hex(r)}`)).toString(16).padStart(64, '0'),
      'hex');
    const cases: [Uint8Array, number][] = [
      [Buffer.concat([Buffer.alloc(32), sig.subarray(32)]), KernelStatus.ERR_SM2_SIGNATURE_RANGE],
      [Buffer.concat([r, Buffer.alloc(32)]), KernelStatus.ERR_SM2_SIGNATURE_RANGE],
      [Buffer.concat([n, sig.subarray(32)]), KernelStatus.ERR_SM2_SIGNATURE_RANGE],
      [Buffer.concat([r, n]), KernelStatus.ERR_SM2_SIGNATURE_RANGE],
      [Buffer.concat([r, minusR]), KernelStatus.ERR_SM2_SIGNATURE_INVALID],
    ];
    for (const [bad, want] of cases) {
      expect(verify(verifyInput(key.publicKey, bad, SM2_DEFAULT_ID, msg))).toBe(want);
    }
    const offCurve = Uint8Array.from(key.publicKey);
    offCurve[40] = (offCurve[40] ?? 0) ^ 0x10;
    expect(verify(verifyInput(offCurve, sig, SM2_DEFAULT_ID, msg))).toBe(
      KernelStatus.ERR_SM2_POINT_INVALID,
    );
    const xAtP = Uint8Array.from([...bytes(P_HEX), ...key.publicKey.subarray(32)]);
    expect(verify(verifyInput(xAtP, sig, SM2_DEFAULT_ID, msg))).toBe(
      KernelStatus.ERR_SM2_POINT_INVALID,
    );
    expect(verify(Buffer.alloc(129))).toBe(KernelStatus.ERR_SM2_INPUT_MALFORMED);
  });

  it('sm2_signedHere_isAcceptedByOpensslCli_andKernelAgreesWithIt', () => {
    if (!requireTools('SM2 truth', ['openssl'])) return;
    const prng = new Prng(SEED ^ 0x4);
    for (let round = 0; round < 40; round += 1) {
      const key = sm2KeyPairFrom(prng);
      const msg = prng.bytes(1 + prng.below(200));
      const good = sm2Sign(key, msg, prng);
      const sig = round % 2 === 0 ? good : flipBit(good, prng);
      const cli = opensslVerify(work, key.publicKey, sig, msg);
      const ours = verify(verifyInput(key.publicKey, sig, SM2_DEFAULT_ID, msg));
      expect(ours === KernelStatus.STATUS_OK, `seed ${SEED} round ${round}`).toBe(cli);
      if (round % 2 === 0) expect(cli).toBe(true);
    }
  });

  it('sm2_signedByOpensslCli_verifiesInKernel', () => {
    if (!requireTools('SM2 truth', ['openssl'])) return;
    const prng = new Prng(SEED ^ 0x5);
    for (let round = 0; round < 12; round += 1) {
      const keyPem = join(work, 'key.pem');
      writeFileSync(keyPem, execFileSync('openssl', ['genpkey', '-algorithm', 'SM2']));
      const der = execFileSync('openssl', ['pkey', '-in', keyPem, '-pubout', '-outform', 'DER']);
      const publicKey = Uint8Array.from(der.subarray(der.length - 64));
      const msg = prng.bytes(1 + prng.below(200));
      writeFileSync(join(work, 'msg.bin'), msg);
      const sigDer = execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-digest', 'sm3',
        '-inkey', keyPem, '-in', join(work, 'msg.bin'), '-pkeyopt',
        'distid:1234567812345678']);
      const sig = sm2SignatureRaw(sigDer);
      expect(verify(verifyInput(publicKey, sig, SM2_DEFAULT_ID, msg)), `round ${round}`).toBe(0);
      expect(verify(verifyInput(publicKey, sig, SM2_DEFAULT_ID, flipBit(msg, prng)))).toBe(
        KernelStatus.ERR_SM2_SIGNATURE_INVALID,
      );
    }
  });

  it('sm2_nodeCryptoSm2WithEmptyId_agreesWithTheKernelBothWays', () => {
    // Node's DER-imported SM2 keys run OpenSSL's SM2 with an empty ID: node signs, the kernel
    // verifies (ID length 0), and on tampered inputs both refuse.
    const prng = new Prng(SEED ^ 0x8);
    const empty = new Uint8Array(0);
    for (let round = 0; round < 400; round += 1) {
      const key = sm2KeyPairFrom(prng);
      const node = sm2NodeKeys(key);
      const msg = prng.bytes(prng.below(300));
      const sig = sm2SignatureRaw(nodeSign(null, msg, node.privateKey));
      const where = `seed ${SEED} round ${round}`;
      expect(verify(verifyInput(key.publicKey, sig, empty, msg)), where).toBe(0);
      const bad = flipBit(sig, prng);
      const nodeSays = nodeVerify(null, msg, node.publicKey, Buffer.from(sm2SignatureDer(bad)));
      const kernelSays = verify(verifyInput(key.publicKey, bad, empty, msg)) === 0;
      expect(kernelSays, where).toBe(nodeSays);
      expect(kernelSays, where).toBe(false);
      const ours = sm2Sign(key, msg, prng, empty);
      expect(nodeVerify(null, msg, node.publicKey, Buffer.from(sm2SignatureDer(ours))), where)
        .toBe(true);
    }
  });

  it('sm2Decompress_seededKeys_matchOpenssl', () => {
    const prng = new Prng(SEED ^ 0x6);
    for (let round = 0; round < 300; round += 1) {
      const ecdh = createECDH('SM2');
      ecdh.setPrivateKey(Buffer.from(prng.bytes(31)));
      const full = Uint8Array.from(ecdh.getPublicKey()).subarray(1);
      const compressed = Uint8Array.from(ecdh.getPublicKey(null, 'compressed'));
      expect(kernel.step(KernelOp.OP_SM2_DECOMPRESS, 0, compressed)).toBe(0);
      expect(hex(kernel.output()), `seed ${SEED} round ${round}`).toBe(hex(full));
      const wrongParity = Uint8Array.from(compressed);
      wrongParity[0] = (wrongParity[0] ?? 0) ^ 1;
      expect(kernel.step(KernelOp.OP_SM2_DECOMPRESS, 0, wrongParity)).toBe(0);
      expect(hex(kernel.output().subarray(32))).not.toBe(hex(full.subarray(32)));
    }
    // About half of all x have no point on the curve; then a bad prefix and x = p.
    let refused = 0;
    for (let round = 0; round < 40; round += 1) {
      const status = kernel.step(KernelOp.OP_SM2_DECOMPRESS, 0, Uint8Array.of(2, ...prng.bytes(32)));
      if (status === KernelStatus.ERR_SM2_POINT_INVALID) refused += 1;
      else expect(status).toBe(0);
    }
    expect(refused).toBeGreaterThan(5);
    expect(kernel.step(KernelOp.OP_SM2_DECOMPRESS, 0, Uint8Array.of(4, ...new Uint8Array(32))))
      .toBe(KernelStatus.ERR_SM2_POINT_INVALID);
    expect(kernel.step(KernelOp.OP_SM2_DECOMPRESS, 0, Uint8Array.of(2, ...bytes(P_HEX)))).toBe(
      KernelStatus.ERR_SM2_POINT_INVALID,
    );
  });

  it('sm2Za_matchesTheNodeComputation', () => {
    const prng = new Prng(SEED ^ 0x7);
    for (let round = 0; round < 50; round += 1) {
      const key = sm2KeyPairFrom(prng);
      const id = prng.bytes(prng.below(64));
      expect(kernel.step(KernelOp.OP_SM2_ZA, 0, Buffer.concat([key.publicKey, id]))).toBe(0);
      expect(hex(kernel.output())).toBe(hex(sm2Za(key.publicKey, id)));
    }
  });
});

function sigWith(sig: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(sig);
  copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (0x80 >> (bit & 7));
  return copy;
}

function opensslVerify(work: string, key: Uint8Array, sig: Uint8Array, msg: Uint8Array): boolean {
  writeFileSync(join(work, 'pub.pem'), sm2PublicKeyPem(key));
  writeFileSync(join(work, 'sig.der'), sm2SignatureDer(sig));
  writeFileSync(join(work, 'msg.bin'), msg);
  try {
    execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(work, 'pub.pem'),
      '-rawin', '-digest', 'sm3', '-in', join(work, 'msg.bin'), '-sigfile',
      join(work, 'sig.der'), '-pkeyopt', 'distid:1234567812345678'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}
