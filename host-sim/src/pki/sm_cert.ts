// SM (PBOC 3.0 national cryptography) certificates, SDADs and CA key parameters for test cards.
//
// Layouts from domain.md 3.6 (written from that text, sharing no code with the kernel): issuer
// certificate format 12, ICC certificate format 14, SDAD format 15, each the plain data then an
// SM2 signature r || s over SM3(Z_A || data [|| extra]). Reconstructed [G]: bytes 10-12 / 16-18
// as hash algorithm (07 SM3), key algorithm (04 SM2), parameter indicator (00); the CA key's
// check value as SHA-1(RID || index || X || Y) like the RSA DF03.

import { createHash } from 'node:crypto';
import type { Prng } from '../prng.js';
import { sm2Sign } from './sm2_sign.js';
import type { Sm2KeyPair } from './sm2_sign.js';

export const SM_FORMAT_12_ISSUER = 0x12;
export const SM_FORMAT_14_ICC = 0x14;
export const SM_FORMAT_15_SDAD = 0x15;
export const SM_HASH_ALG_07_SM3 = 0x07;
export const SM_PK_ALG_04_SM2 = 0x04;

/** Fields of an SM issuer certificate; `overrides` lets tests forge single bytes. */
export interface SmIssuerCertInput {
  readonly caKey: Sm2KeyPair;
  /** 4 bytes: 3 to 8 leading PAN digits, F-padded. */
  readonly issuerId: Uint8Array;
  /** MMYY, BCD. */
  readonly expiry: Uint8Array;
  readonly serial: Uint8Array;
  readonly issuerPublicKey: Uint8Array;
  readonly overrides?: Readonly<Record<number, number>>;
}

/** Fields of an SM ICC certificate. */
export interface SmIccCertInput {
  readonly issuerKey: Sm2KeyPair;
  /** 10 bytes: the PAN, F-padded. */
  readonly pan: Uint8Array;
  readonly expiry: Uint8Array;
  readonly serial: Uint8Array;
  readonly iccPublicKey: Uint8Array;
  /** Static data to be authenticated (ODA records || 9F4A values), signed after the body. */
  readonly staticData: Uint8Array;
  readonly overrides?: Readonly<Record<number, number>>;
}

function patched(body: Uint8Array, overrides?: Readonly<Record<number, number>>): Uint8Array {
  const out = Uint8Array.from(body);
  for (const [at, value] of Object.entries(overrides ?? {})) out[Number(at)] = value;
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** The issuer public key certificate (tag 90), format 12. */
export function smIssuerCert(input: SmIssuerCertInput, prng: Prng): Uint8Array {
  const key = input.issuerPublicKey;
  const body = patched(
    concat(
      Uint8Array.of(SM_FORMAT_12_ISSUER),
      input.issuerId,
      input.expiry,
      input.serial,
      Uint8Array.of(SM_HASH_ALG_07_SM3, SM_PK_ALG_04_SM2, 0x00, key.length),
      key,
    ),
    input.overrides,
  );
  return concat(body, sm2Sign(input.caKey, body, prng));
}

/** The ICC public key certificate (9F46), format 14; the signature also covers static data. */
export function smIccCert(input: SmIccCertInput, prng: Prng): Uint8Array {
  const key = input.iccPublicKey;
  const body = patched(
    concat(
      Uint8Array.of(SM_FORMAT_14_ICC),
      input.pan,
      input.expiry,
      input.serial,
      Uint8Array.of(SM_HASH_ALG_07_SM3, SM_PK_ALG_04_SM2, 0x00, key.length),
      key,
    ),
    input.overrides,
  );
  return concat(body, sm2Sign(input.issuerKey, concat(body, input.staticData), prng));
}

/**
 * The SM fDDA SDAD (9F4B), format 15: ICC dynamic data = IDN length 02 || ATC; the signature
 * covers the body then `terminalTail` (9F37 || 9F02 || 5F2A || 9F69 for v01, 9F37 for v00).
 */
export function smSdad(
  iccKey: Sm2KeyPair,
  atc: number,
  terminalTail: Uint8Array,
  prng: Prng,
): Uint8Array {
  const body = Uint8Array.of(SM_FORMAT_15_SDAD, 3, 2, (atc >> 8) & 0xff, atc & 0xff);
  return concat(body, sm2Sign(iccKey, concat(body, terminalTail), prng));
}

/** An SM2 CA key as UnionPay TLV parameters (9F06 9F22 DF05 DF06 DF07 DF02 DF04 DF03). */
export function smCapkTlv(
  rid: Uint8Array,
  index: number,
  publicKey: Uint8Array,
  expiryYyyymmdd: string,
): Uint8Array {
  const check = createHash('sha1').update(rid).update(Uint8Array.of(index)).update(publicKey);
  const tlv = (tag: string, value: Uint8Array): Buffer =>
    Buffer.concat([Buffer.from(tag, 'hex'), Buffer.from([value.length]), value]);
  return Uint8Array.from(
    Buffer.concat([
      tlv('9F06', rid),
      tlv('9F22', Uint8Array.of(index)),
      tlv('DF05', Buffer.from(expiryYyyymmdd, 'ascii')),
      tlv('DF06', Uint8Array.of(SM_HASH_ALG_07_SM3)),
      tlv('DF07', Uint8Array.of(SM_PK_ALG_04_SM2)),
      tlv('DF02', publicKey),
      tlv('DF03', check.digest()),
    ]),
  );
}
