// SM2 verification under a hostile signer: every signature the kernel accepts OpenSSL accepts,
// and the reverse. Node's DER-imported SM2 keys run OpenSSL's SM2 with an empty ID, so a few
// thousand seeded cases (malleated, out-of-range, swapped, random and degenerate r and s, the
// negated key, another key, another message) go through node:crypto; the distinguishing ID
// (Z_A) goes through the `openssl` CLI with `hexdistid`. SM3 against node:crypto at every
// length 0..300 and at long inputs. SHUAKA_SEED replays a run.

import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import {
  SM2_N, sm2KeyPairFrom, sm2NodeKeys, sm2PublicKeyPem, sm2SignatureDer, sm2SignatureRaw,
} from '../../host-sim/src/pki/sm2_sign.js';
import { requireTools } from './support/tools.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x5a3_0bad);
const CASES = 3_000;
const P = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF');
const TWO_256 = 1n << 256n;

const big = (b: Uint8Array): bigint => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
const bytes32 = (v: bigint): Uint8Array =>
  Uint8Array.from(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));

function verifyInput(key: Uint8Array, sig: Uint8Array, id: Uint8Array, msg: Uint8Array): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(id.length);
  return Buffer.concat([key, sig, len, id, msg]);
}

/** One hostile edit of (key, r, s, message); `other` is a second valid key. */
function hostile(prng: Prng, kind: number, key: Uint8Array, sig: Uint8Array, msg: Uint8Array,
  other: Uint8Array): { key: Uint8Array; r: bigint; s: bigint; msg: Uint8Array } {
  const r = big(sig.subarray(0, 32));
  const s = big(sig.subarray(32));
  const edge = [0n, 1n, SM2_N - 1n, SM2_N, SM2_N + 1n, P - 1n, P, TWO_256 - 1n];
  const pick = (): bigint => edge[prng.below(edge.length)] ?? 0n;
  switch (kind) {
    case 1: return { key, r, s: SM2_N - s, msg };
    case 2: return { key, r: SM2_N - r, s, msg };
    case 3: return { key, r: r + SM2_N, s, msg };
    case 4: return { key, r, s: s + SM2_N, msg };
    case 5: return { key, r: s, s: r, msg };
    case 6: return { key, r: big(prng.bytes(32)), s: big(prng.bytes(32)), msg };
    case 7: return prng.chance(0.5) ? { key, r: pick(), s, msg } : { key, r, s: pick(), msg };
    case 8: return { key, r, s: (SM2_N - r) % SM2_N, msg };
    case 9: {
      const negated = Uint8Array.from([...key.subarray(0, 32), ...bytes32(P - big(key.subarray(32)))]);
      return { key: negated, r, s, msg };
    }
    case 10: return { key: other, r, s, msg };
    case 11: return { key, r, s, msg: Uint8Array.of(...msg, prng.below(256)) };
    default: return { key, r, s, msg };
  }
}

describe('kernel SM2 against OpenSSL under hostile inputs', () => {
  let kernel: Kernel;
  let work: string;
  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
    work = mkdtempSync(join(tmpdir(), 'shuaka-sm2-hostile-'));
    console.log(`crypto_sm_hostile seed 0x${SEED.toString(16)} (replay: SHUAKA_SEED=${SEED})`);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const accepts = (key: Uint8Array, sig: Uint8Array, id: Uint8Array, msg: Uint8Array): boolean =>
    kernel.step(KernelOp.OP_SM2_VERIFY, 0, verifyInput(key, sig, id, msg)) ===
      KernelStatus.STATUS_OK;

  it('sm2_hostileSignaturesAndKeys_kernelAgreesWithNodeCryptoEveryTime', () => {
    const prng = new Prng(SEED);
    const empty = new Uint8Array(0);
    const counts = [0, 0];
    let other = sm2KeyPairFrom(prng).publicKey;
    for (let round = 0; round < CASES; round += 1) {
      const pair = sm2KeyPairFrom(prng);
      const node = sm2NodeKeys(pair);
      const msg = prng.bytes(prng.below(200));
      const sig = sm2SignatureRaw(nodeSign(null, msg, node.privateKey));
      const kind = round % 12;
      const edit = hostile(prng, kind, pair.publicKey, sig, msg, other);
      other = pair.publicKey;
      const where = `seed ${SEED} round ${round} kind ${kind}`;
      // Raw r || s holds 256-bit values only; a wider one (r + n) has no raw form to send.
      if (edit.r >= TWO_256 || edit.s >= TWO_256) continue;
      const raw = Uint8Array.from([...bytes32(edit.r), ...bytes32(edit.s)]);
      const spki = createPublicKey({ key: sm2PublicKeyPem(edit.key), format: 'pem' });
      const truth = nodeVerify(null, edit.msg, spki, Buffer.from(sm2SignatureDer(raw)));
      expect(accepts(edit.key, raw, empty, edit.msg), where).toBe(truth);
      if (kind === 0) expect(truth, where).toBe(true);
      counts[truth ? 1 : 0] = (counts[truth ? 1 : 0] ?? 0) + 1;
    }
    // Both answers occur: the cases are neither all accepted nor all refused.
    expect(counts[1]).toBeGreaterThan(CASES / 12 - 1);
    expect(counts[0]).toBeGreaterThan(CASES / 2);
  });

  it('sm2_distinguishingIds_kernelAgreesWithOpensslCli', () => {
    if (!requireTools('SM2 truth', ['openssl'])) return;
    const prng = new Prng(SEED ^ 0x1d);
    const keyPem = join(work, 'key.pem');
    const msgPath = join(work, 'msg.bin');
    const sigPath = join(work, 'sig.der');
    const pubPath = join(work, 'pub.pem');
    for (let round = 0; round < 24; round += 1) {
      writeFileSync(keyPem, execFileSync('openssl', ['genpkey', '-algorithm', 'SM2']));
      const der = execFileSync('openssl', ['pkey', '-in', keyPem, '-pubout', '-outform', 'DER']);
      const key = Uint8Array.from(der.subarray(der.length - 64));
      writeFileSync(pubPath, sm2PublicKeyPem(key));
      // IDs of 1..300 bytes, any byte values (the CLI's empty hexdistid means its default ID).
      const id = prng.bytes(1 + prng.below(300));
      const msg = prng.bytes(prng.below(150));
      writeFileSync(msgPath, msg);
      const hexId = `hexdistid:${Buffer.from(id).toString('hex')}`;
      writeFileSync(sigPath, execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-digest',
        'sm3', '-inkey', keyPem, '-in', msgPath, '-pkeyopt', hexId]));
      const sig = sm2SignatureRaw(readFileSync(sigPath));
      const where = `seed ${SEED} round ${round} id ${id.length}`;
      expect(accepts(key, sig, id, msg), where).toBe(true);
      // Another ID (one byte more, or one bit flipped) is another Z_A: both refuse.
      const wrong = round % 2 === 0 ? Uint8Array.of(...id, 0) : Uint8Array.from(id);
      const at = prng.below(wrong.length);
      if (round % 2 === 1) wrong[at] = (wrong[at] ?? 0) ^ (1 << prng.below(8));
      const wrongHex = `hexdistid:${Buffer.from(wrong).toString('hex')}`;
      let cli = true;
      try {
        execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', pubPath, '-rawin',
          '-digest', 'sm3', '-in', msgPath, '-sigfile', sigPath, '-pkeyopt', wrongHex],
        { stdio: 'pipe' });
      } catch {
        cli = false;
      }
      expect(cli, where).toBe(false);
      expect(accepts(key, sig, wrong, msg), where).toBe(false);
    }
  });

  it('sm3_everyLengthTo300AndLongInputs_matchNodeCrypto', () => {
    const prng = new Prng(SEED ^ 0x53);
    const lengths = Array.from({ length: 301 }, (_, i) => i);
    lengths.push(511, 512, 513, 4095, 4096, 8127, 8128, 8191, 8192);
    for (const length of lengths) {
      const data = prng.bytes(length);
      expect(kernel.step(KernelOp.OP_SM3, 0, data)).toBe(KernelStatus.STATUS_OK);
      const want = createHash('sm3').update(data).digest('hex');
      expect(Buffer.from(kernel.output()).toString('hex'), `seed ${SEED} length ${length}`)
        .toBe(want);
    }
  });
});
