// Test-side EMV signer: recoverable messages for issuer/ICC certificates, SSAD and SDAD.
//
// Written from EMV 4.4 Book 2 (Tables 6, 14, 7, 17; domain.md 3.2-3.5) with node:crypto SHA-1,
// independent of the kernel. Every field can be overridden so tests can build the failing
// twin of each check with a *valid* signature over the wrong content.

import { createHash } from 'node:crypto';
import { bigToBytes, rsaSign } from './oda_rsa.js';
import type { TestRsaKey } from './oda_rsa.js';

/** Hex string to bytes. */
export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Bytes to uppercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** Concatenation. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

/** One BER-TLV object (tag given as its hex bytes, e.g. '9F46'). */
export function tlv(tagHex: string, value: Uint8Array): Uint8Array {
  const n = value.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concat(fromHex(tagHex), Uint8Array.from(length), value);
}

function sha1(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Framing overrides shared by every recoverable message. */
export interface Framing {
  readonly header?: number;
  readonly trailer?: number;
  /** Flip a bit of the stored hash (the "bad hash" twin). */
  readonly corruptHash?: boolean;
}

/** 6A || body || SHA-1(body || hashTail) || BC, the plaintext before signing. */
export function recoverable(
  body: Uint8Array,
  hashTail: Uint8Array,
  framing: Framing = {},
): Uint8Array {
  const hash = sha1(body, hashTail);
  if (framing.corruptHash === true) hash[7] = (hash[7] ?? 0) ^ 0x01;
  return concat(
    Uint8Array.of(framing.header ?? 0x6a),
    body,
    hash,
    Uint8Array.of(framing.trailer ?? 0xbc),
  );
}

/** The public half of a key as a certificate carries it. */
export interface PublicKeyParts {
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
}

/** Public parts of a test key (exponent 03 or 010001). */
export function publicParts(key: TestRsaKey): PublicKeyParts {
  return {
    modulus: bigToBytes(key.n, key.bytes),
    exponent: key.e === 3n ? Uint8Array.of(3) : fromHex('010001'),
  };
}

/** Fields of an issuer (format 02) or ICC (format 04) certificate, all overridable. */
export interface CertSpec extends Framing {
  readonly format?: number;
  /** Issuer id (4 bytes, issuer cert) or PAN field (10 bytes, ICC cert) as hex. */
  readonly idHex: string;
  /** Expiry MMYY as hex, e.g. '1230'. */
  readonly expiryHex: string;
  readonly serialHex?: string;
  readonly hashAlgorithm?: number;
  readonly pkAlgorithm?: number;
  /** Declared key length (defaults to the real modulus length). */
  readonly keyLength?: number;
  /** Declared exponent length (defaults to the real one). */
  readonly exponentLength?: number;
  /** Exponent hashed into the certificate (defaults to the real one). */
  readonly hashedExponent?: Uint8Array;
  /** Static data hashed after the exponent (ICC certificates). */
  readonly staticData?: Uint8Array;
}

/** A certificate as it sits on the card. */
export interface SignedCert {
  readonly cert: Uint8Array;
  readonly remainder: Uint8Array;
  readonly exponent: Uint8Array;
  /** The plaintext that was signed. */
  readonly message: Uint8Array;
}

/**
 * Builds and signs a public-key certificate for `subject` with `signer`: issuer (fixed part 36,
 * id 4 bytes) when `spec.format` is 02 or the id is 4 bytes, ICC (fixed part 42) otherwise.
 */
export function signCert(signer: TestRsaKey, subject: PublicKeyParts, spec: CertSpec): SignedCert {
  const id = fromHex(spec.idHex);
  const fixed = id.length === 4 ? 36 : 42;
  const room = signer.bytes - fixed;
  const { modulus, exponent } = subject;
  const leftmost = new Uint8Array(room).fill(0xbb);
  leftmost.set(modulus.subarray(0, Math.min(room, modulus.length)));
  const remainder = modulus.slice(Math.min(room, modulus.length));
  const body = concat(
    Uint8Array.of(spec.format ?? (id.length === 4 ? 0x02 : 0x04)),
    id,
    fromHex(spec.expiryHex),
    fromHex(spec.serialHex ?? '00A1B2'),
    Uint8Array.of(
      spec.hashAlgorithm ?? 1,
      spec.pkAlgorithm ?? 1,
      spec.keyLength ?? modulus.length,
      spec.exponentLength ?? exponent.length,
    ),
    leftmost,
  );
  const message = recoverable(
    body,
    concat(remainder, spec.hashedExponent ?? exponent, spec.staticData ?? new Uint8Array(0)),
    spec,
  );
  return { cert: rsaSign(signer, message), remainder, exponent, message };
}

/** Fields of signed dynamic application data (format 05). */
export interface SdadSpec extends Framing {
  readonly format?: number;
  readonly hashAlgorithm?: number;
  /** ICC dynamic data; for fDDA: 02 || ATC || ... */
  readonly dynamicData: Uint8Array;
  /** Declared L_DD (defaults to the real length). */
  readonly dynamicLength?: number;
  /** Terminal data hashed after the message (9F37 [|| 9F02 || 5F2A || 9F69]). */
  readonly hashTail: Uint8Array;
}

/** Signs an SDAD with the ICC key: 05 01 L_DD DD BB.. then hash over body || hashTail. */
export function signSdad(icc: TestRsaKey, spec: SdadSpec): Uint8Array {
  const pad = icc.bytes - 25 - spec.dynamicData.length;
  const body = concat(
    Uint8Array.of(
      spec.format ?? 0x05,
      spec.hashAlgorithm ?? 1,
      spec.dynamicLength ?? spec.dynamicData.length,
    ),
    spec.dynamicData,
    new Uint8Array(pad).fill(0xbb),
  );
  return rsaSign(icc, recoverable(body, spec.hashTail, spec));
}

/** Fields of signed static application data (format 03). */
export interface SsadSpec extends Framing {
  readonly format?: number;
  readonly hashAlgorithm?: number;
  readonly dacHex: string;
  readonly staticData: Uint8Array;
}

/** Signs an SSAD with the issuer key: 03 01 DAC BB.. then hash over body || static data. */
export function signSsad(issuer: TestRsaKey, spec: SsadSpec): Uint8Array {
  const body = concat(
    Uint8Array.of(spec.format ?? 0x03, spec.hashAlgorithm ?? 1),
    fromHex(spec.dacHex),
    new Uint8Array(issuer.bytes - 26).fill(0xbb),
  );
  return rsaSign(issuer, recoverable(body, spec.staticData, spec));
}

/** A CA key in the UnionPay TLV form with a correct (or given) check value. */
export function capkTlv(
  rid: Uint8Array,
  index: number,
  key: PublicKeyParts,
  options: {
    readonly expiry?: Uint8Array;
    readonly checkValue?: Uint8Array;
    readonly hashAlgorithm?: number;
    readonly pkAlgorithm?: number;
  } = {},
): Uint8Array {
  const check = options.checkValue ?? sha1(rid, Uint8Array.of(index), key.modulus, key.exponent);
  return concat(
    tlv('9F06', rid),
    tlv('9F22', Uint8Array.of(index)),
    tlv('DF05', options.expiry ?? Uint8Array.from(Buffer.from('20491231', 'ascii'))),
    tlv('DF06', Uint8Array.of(options.hashAlgorithm ?? 1)),
    tlv('DF07', Uint8Array.of(options.pkAlgorithm ?? 1)),
    tlv('DF02', key.modulus),
    tlv('DF04', key.exponent),
    tlv('DF03', check),
  );
}
