// EMV RSA certificates with message recovery: issuer (format 02), ICC (format 04), generic signer.

import { createHash } from 'node:crypto';
import { bigToBytes, rsaPrivate } from './rsa_keygen.js';
import type { RsaKeyPair } from './rsa_keygen.js';
import { concatBytes, fromHex, toCompressedNumeric } from './emv_bytes.js';

/** Header and trailer of every recoverable EMV message. See EMV 4.4 Book 2, 5.3 and 6.3. */
export const EMV_HEADER_6A = 0x6a;
export const EMV_TRAILER_BC = 0xbc;
/** Padding byte of the key field and of signed dynamic data. */
export const EMV_PAD_BB = 0xbb;
/** Hash algorithm indicator 01 = SHA-1; public key algorithm indicator 01 = RSA. */
export const HASH_ALG_01_SHA1 = 0x01;
export const PK_ALG_01_RSA = 0x01;
export const CERT_FORMAT_02_ISSUER = 0x02;
export const CERT_FORMAT_04_ICC = 0x04;
/** Bytes of a recovered message outside the signed body: 6A header, 20-byte hash, BC trailer. */
export const RECOVERY_OVERHEAD_BYTES = 22;

/** A public-key certificate as personalised on the card. */
export interface EmvPublicKeyCertificate {
  /** Tag 90 (issuer) or 9F46 (ICC): N bytes, N = the signer's modulus length. */
  readonly certificate: Uint8Array;
  /** Tag 92 / 9F48: the modulus bytes that did not fit (empty when none). */
  readonly remainder: Uint8Array;
  /** Tag 9F32 / 9F47: the certified key's exponent (03 or 010001). */
  readonly exponent: Uint8Array;
}

/** Issuer certificate fields. See EMV 4.4 Book 2, Table 6 (domain.md 3.2). */
export interface IssuerCertificateFields {
  /** Leftmost 3 to 8 PAN digits (the BIN), right-padded with F to 4 bytes. */
  readonly issuerIdDigits: string;
  /** Certificate expiry, "MMYY". */
  readonly expiryMmyy: string;
  /** Certificate serial number, 3 bytes. */
  readonly serial: Uint8Array;
}

/** ICC certificate fields. See EMV 4.4 Book 2, Table 14 (domain.md 3.3). */
export interface IccCertificateFields {
  /** Application PAN digits, right-padded with F to 10 bytes. */
  readonly panDigits: string;
  readonly expiryMmyy: string;
  readonly serial: Uint8Array;
  /** The static data to be authenticated (ODA records, then the 9F4A-listed values). */
  readonly staticData: Uint8Array;
}

/** The exponent as the certificate formats carry it: 03 or 01 00 01. */
export function exponentBytes(e: bigint): Uint8Array {
  const hex = e.toString(16);
  return fromHex(hex.length % 2 === 0 ? hex : `0${hex}`);
}

/** The modulus as big-endian bytes of exactly bits/8 bytes. */
export function modulusBytes(key: Pick<RsaKeyPair, 'n' | 'bits'>): Uint8Array {
  return bigToBytes(key.n, key.bits / 8);
}

/**
 * Signs a recoverable message: X = 6A || body || SHA-1(body || hashTail) || BC, where
 * |X| is the signer's modulus length, then returns X^d mod n.
 * `hashTail` is hashed but not carried (remainder, exponent, static or terminal data).
 * Throws RangeError when the body length is not modulus length - 22.
 */
export function signRecoverable(
  signer: RsaKeyPair,
  body: Uint8Array,
  hashTail: Uint8Array,
): Uint8Array {
  const size = signer.bits / 8;
  if (body.length !== size - RECOVERY_OVERHEAD_BYTES) {
    throw new RangeError(`body ${body.length} bytes for a ${size}-byte key`);
  }
  const hash = createHash('sha1').update(body).update(hashTail).digest();
  const message = concatBytes(
    Uint8Array.of(EMV_HEADER_6A),
    body,
    new Uint8Array(hash),
    Uint8Array.of(EMV_TRAILER_BC),
  );
  return rsaPrivate(signer, message);
}

/**
 * The issuer public-key certificate (tag 90) signed by the CA key, with remainder and exponent.
 * Throws RangeError when the issuer key is longer than the CA key or a field is malformed.
 */
export function buildIssuerCertificate(
  caKey: RsaKeyPair,
  issuerKey: RsaKeyPair,
  fields: IssuerCertificateFields,
): EmvPublicKeyCertificate {
  if (!/^[0-9]{3,8}$/.test(fields.issuerIdDigits)) {
    throw new RangeError(`issuer id "${fields.issuerIdDigits}"`);
  }
  const header = concatBytes(
    Uint8Array.of(CERT_FORMAT_02_ISSUER),
    toCompressedNumeric(fields.issuerIdDigits, 4),
    expiryBytes(fields.expiryMmyy),
    serialBytes(fields.serial),
  );
  return certify(caKey, issuerKey, header, new Uint8Array(0));
}

/**
 * The ICC public-key certificate (tag 9F46) signed by the issuer key. Its hash covers the
 * static data to be authenticated, so the ODA records must be final before this is called.
 * Throws RangeError when the ICC key is longer than the issuer key or a field is malformed.
 */
export function buildIccCertificate(
  issuerKey: RsaKeyPair,
  iccKey: RsaKeyPair,
  fields: IccCertificateFields,
): EmvPublicKeyCertificate {
  if (!/^[0-9]{12,19}$/.test(fields.panDigits)) throw new RangeError(`PAN "${fields.panDigits}"`);
  const header = concatBytes(
    Uint8Array.of(CERT_FORMAT_04_ICC),
    toCompressedNumeric(fields.panDigits, 10),
    expiryBytes(fields.expiryMmyy),
    serialBytes(fields.serial),
  );
  return certify(issuerKey, iccKey, header, fields.staticData);
}

/** header || 01 01 N e_len || key (leftmost, BB-padded); remainder and exponent hashed after. */
function certify(
  signer: RsaKeyPair,
  subject: RsaKeyPair,
  header: Uint8Array,
  staticData: Uint8Array,
): EmvPublicKeyCertificate {
  const size = signer.bits / 8;
  const room = size - RECOVERY_OVERHEAD_BYTES - header.length - 4;
  const modulus = modulusBytes(subject);
  if (modulus.length > size) throw new RangeError(`key ${modulus.length} > signer ${size} bytes`);
  const exponent = exponentBytes(subject.e);
  const leftmost = new Uint8Array(room).fill(EMV_PAD_BB);
  leftmost.set(modulus.subarray(0, Math.min(room, modulus.length)));
  const remainder = modulus.slice(Math.min(room, modulus.length));
  const body = concatBytes(
    header,
    Uint8Array.of(HASH_ALG_01_SHA1, PK_ALG_01_RSA, modulus.length, exponent.length),
    leftmost,
  );
  const certificate = signRecoverable(signer, body, concatBytes(remainder, exponent, staticData));
  return { certificate, remainder, exponent };
}

function expiryBytes(mmyy: string): Uint8Array {
  const month = Number.parseInt(mmyy.slice(0, 2), 10);
  if (!/^[0-9]{4}$/.test(mmyy) || month < 1 || month > 12) throw new RangeError(`MMYY "${mmyy}"`);
  return fromHex(mmyy);
}

function serialBytes(serial: Uint8Array): Uint8Array {
  if (serial.length !== 3) throw new RangeError(`serial of ${serial.length} bytes`);
  return serial;
}
