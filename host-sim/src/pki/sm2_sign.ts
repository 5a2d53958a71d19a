// SM2 signing for virtual cards and tests: OpenSSL's curve arithmetic, GB/T 32918.2 6.1 rules.
//
// Node 20's keys from generateKeyPairSync('ec', SM2) sign ECDSA, not SM2; keys imported from
// DER become OpenSSL SM2 keys that sign and verify real SM2 but with an empty distinguishing ID
// (sm2NodeKeys below), and node cannot set the ID. So the PBOC signature (default ID) is put
// together here: k*G and d*G come
// from OpenSSL through node's ECDH on the SM2 curve, Z_A and e from node's SM3, and the two
// scalar formulas (r = e + x1 mod n, s = (1 + d)^-1 (k - r d) mod n) are BigInt arithmetic.
// The `openssl` CLI verifies what this signs in crypto_sm.test.ts.

import { createECDH, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Prng } from '../prng.js';

/** SM2 recommended curve (GB/T 32918.5): order n and the Z_A curve parameters a, b, G. */
export const SM2_N = BigInt('0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123');
const CURVE_HEX =
  'FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC' +
  '28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93' +
  '32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7' +
  'BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0';
/** The default distinguishing ID of GM/T 0009-2012 (PBOC uses it; domain.md 3.6). */
export const SM2_DEFAULT_ID = new TextEncoder().encode('1234567812345678');

/** An SM2 key pair: private scalar and public X || Y (64 bytes, big-endian). */
export interface Sm2KeyPair {
  readonly privateKey: bigint;
  readonly publicKey: Uint8Array;
}

function toBytes32(value: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(64, '0'), 'hex'));
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function mod(value: bigint, m: bigint): bigint {
  const r = value % m;
  return r < 0n ? r + m : r;
}

function modInverse(value: bigint, m: bigint): bigint {
  let [a, b, x, y] = [mod(value, m), m, 1n, 0n];
  while (b !== 0n) {
    const q = a / b;
    [a, b, x, y] = [b, a - q * b, y, x - q * y];
  }
  if (a !== 1n) throw new Error('sm2: no inverse');
  return mod(x, m);
}

/** A scalar in [1, n-1] from the PRNG (rejection sampling keeps it uniform). */
function scalar(prng: Prng): bigint {
  for (;;) {
    const k = toBigInt(prng.bytes(32));
    if (k >= 1n && k < SM2_N) return k;
  }
}

/** k*G as X || Y (64 bytes), computed by OpenSSL. */
export function sm2BaseMultiply(k: bigint): Uint8Array {
  const ecdh = createECDH('SM2');
  ecdh.setPrivateKey(Buffer.from(toBytes32(k)));
  return Uint8Array.from(ecdh.getPublicKey()).subarray(1);
}

/** A key pair from the PRNG (private key in [1, n-2], as GB/T 32918.2 6.1 needs 1 + d != n). */
export function sm2KeyPairFrom(prng: Prng): Sm2KeyPair {
  for (;;) {
    const d = scalar(prng);
    if (d !== SM2_N - 1n) return { privateKey: d, publicKey: sm2BaseMultiply(d) };
  }
}

/** The key pair of a given private scalar. */
export function sm2KeyPairOf(privateKey: bigint): Sm2KeyPair {
  return { privateKey, publicKey: sm2BaseMultiply(privateKey) };
}

/** Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2, 5.5). */
export function sm2Za(publicKey: Uint8Array, id: Uint8Array = SM2_DEFAULT_ID): Uint8Array {
  const bits = id.length * 8;
  return Uint8Array.from(
    createHash('sm3')
      .update(Uint8Array.of((bits >> 8) & 0xff, bits & 0xff))
      .update(id)
      .update(Buffer.from(CURVE_HEX, 'hex'))
      .update(publicKey)
      .digest(),
  );
}

/** e = SM3(Z_A || M). */
export function sm2Digest(
  publicKey: Uint8Array,
  message: Uint8Array,
  id: Uint8Array = SM2_DEFAULT_ID,
): Uint8Array {
  return Uint8Array.from(createHash('sm3').update(sm2Za(publicKey, id)).update(message).digest());
}

/** Signs the digest e (GB/T 32918.2, 6.1 steps A3-A7) with nonces from `prng`: r || s. */
export function sm2SignDigest(key: Sm2KeyPair, digest: Uint8Array, prng: Prng): Uint8Array {
  const e = toBigInt(digest);
  const d = key.privateKey;
  for (;;) {
    const k = scalar(prng);
    const x1 = toBigInt(sm2BaseMultiply(k).subarray(0, 32));
    const r = mod(e + x1, SM2_N);
    if (r === 0n || r + k === SM2_N) continue;
    const s = mod(modInverse(1n + d, SM2_N) * (k - r * d), SM2_N);
    if (s === 0n) continue;
    const out = new Uint8Array(64);
    out.set(toBytes32(r), 0);
    out.set(toBytes32(s), 32);
    return out;
  }
}

/** Signs `message` with the distinguishing ID `id`: r || s over e = SM3(Z_A || M). */
export function sm2Sign(
  key: Sm2KeyPair,
  message: Uint8Array,
  prng: Prng,
  id: Uint8Array = SM2_DEFAULT_ID,
): Uint8Array {
  return sm2SignDigest(key, sm2Digest(key.publicKey, message, id), prng);
}

/** The public key in SubjectPublicKeyInfo PEM, for the `openssl` CLI. */
export function sm2PublicKeyPem(publicKey: Uint8Array): string {
  const prefix = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');
  const der = Buffer.concat([prefix, Buffer.from([4]), Buffer.from(publicKey)]);
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
}

/** r || s as the DER SEQUENCE of two INTEGERs the `openssl` CLI reads. */
export function sm2SignatureDer(signature: Uint8Array): Uint8Array {
  const integer = (raw: Uint8Array): Buffer => {
    let i = 0;
    while (i < raw.length - 1 && raw[i] === 0) i += 1;
    let body = Buffer.from(raw.subarray(i));
    if ((body[0] ?? 0) & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([2, body.length]), body]);
  };
  const seq = Buffer.concat([integer(signature.subarray(0, 32)), integer(signature.subarray(32))]);
  return Uint8Array.from(Buffer.concat([Buffer.from([0x30, seq.length]), seq]));
}

/**
 * Node:crypto keys that run OpenSSL's own SM2 (empty distinguishing ID) for a key pair: the
 * private key as PKCS#8 DER (RFC 5915 ECPrivateKey on the SM2 curve), the public key as SPKI.
 */
export function sm2NodeKeys(key: Sm2KeyPair): { privateKey: KeyObject; publicKey: KeyObject } {
  const d = Buffer.from(toBytes32(key.privateKey));
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(key.publicKey)]);
  const pkcs8 = Buffer.concat([
    Buffer.from('308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420', 'hex'),
    d,
    Buffer.from('a144034200', 'hex'),
    point,
  ]);
  const spki = Buffer.concat([
    Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex'),
    point,
  ]);
  return {
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: spki, format: 'der', type: 'spki' }),
  };
}

/** DER SEQUENCE { INTEGER r, INTEGER s } to r || s (32 bytes each). */
export function sm2SignatureRaw(der: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  let at = 2;
  for (let part = 0; part < 2; part += 1) {
    const length = der[at + 1] ?? 0;
    const value = der.subarray(at + 2, at + 2 + length);
    const trimmed = value.length > 32 ? value.subarray(value.length - 32) : value;
    out.set(trimmed, part * 32 + 32 - trimmed.length);
    at += 2 + length;
  }
  return out;
}
