// The clearing centre's check of a T-Union purchase: recompute the card's TAC from the
// issuer's TAC master key and the clearing record (domain.md §7.5: the PSAM cannot verify a
// TAC, only the clearing centre holding the issuer's keys can).
//
// Written apart from the simulator's e-purse module (host-sim/src/psam), which the depot may
// not import: the two are tested against each other. The model is the PBOC e-purse one that
// domain.md §7.2 marks [I] (JT/T 978 and JR/T 0025 are not public): the card's DTK is the
// issuer master diversified by the last 8 bytes of the application serial (K_L = 3DES(MK, D),
// K_R = 3DES(MK, NOT D)); the TAC key is K_L XOR K_R; the TAC is the leftmost 4 bytes of a
// single-DES CBC-MAC (ISO 9797-1 algorithm 1, padding 2, IV zero) over amount (4) ‖ type (1)
// ‖ terminal number (6) ‖ terminal transaction serial (4) ‖ date-time (7).

import { createCipheriv, timingSafeEqual } from 'node:crypto';

const BLOCK = 8;

/** What the TAC covers, as a T-Union clearing record carries it. */
export interface TacFacts {
  /** 8 bytes hex: selects the issuer's key. */
  readonly issuerIdHex: string;
  /** 10 bytes (20 BCD digits) of file 0015; its last 8 bytes diversify the key. */
  readonly applicationSerialHex: string;
  readonly amountMinor: number;
  /** 09 compound purchase, 06 purchase. */
  readonly transactionType: number;
  /** 6 bytes hex (PSAM file 0016). */
  readonly terminalNumberHex: string;
  readonly terminalSerial: number;
  /** 14 digits YYYYMMDDhhmmss. */
  readonly dateTimeDigits: string;
  /** 4 bytes hex. */
  readonly tacHex: string;
}

/** The TAC master key (16 bytes, 3DES) of an issuer, or null when the depot has none. */
export type TacKeyLookup = (issuerIdHex: string) => Uint8Array | null;

/**
 * - valid: the TAC is the card's;
 * - invalid: it is not (a forged or altered record, or a card of another key);
 * - unknownIssuer: the depot holds no key of that issuer (cannot tell; kept for the issuer);
 * - malformed: a field is not of its size or range.
 */
export type TacVerdict = 'valid' | 'invalid' | 'unknownIssuer' | 'malformed';

function encrypt3des(key16: Uint8Array, block: Uint8Array): Buffer {
  const cipher = createCipheriv('des-ede-ecb', key16, null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(block), cipher.final()]);
}

/** Single DES as 3DES with K1 = K2 (OpenSSL 3 keeps single DES in its legacy provider only). */
function encryptDes(key8: Uint8Array, block: Uint8Array): Buffer {
  return encrypt3des(Buffer.concat([key8, key8]), block);
}

/** The card's 16-byte TAC key (DTK) under `master16`, diversified by 8 bytes. */
export function jtt978CardDtk(master16: Uint8Array, factor8: Uint8Array): Uint8Array {
  const inverted = Buffer.from(factor8.map((b) => b ^ 0xff));
  return Buffer.concat([encrypt3des(master16, factor8), encrypt3des(master16, inverted)]);
}

/** TAC of `facts` under the card's DTK (4 bytes). */
export function jtt978Tac(dtk16: Uint8Array, facts: Omit<TacFacts, 'tacHex'>): Uint8Array {
  const key = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i += 1) key[i] = (dtk16[i] ?? 0) ^ (dtk16[i + BLOCK] ?? 0);
  const data = Buffer.alloc(22);
  data.writeUInt32BE(facts.amountMinor, 0);
  data[4] = facts.transactionType;
  Buffer.from(facts.terminalNumberHex, 'hex').copy(data, 5);
  data.writeUInt32BE(facts.terminalSerial, 11);
  Buffer.from(facts.dateTimeDigits, 'hex').copy(data, 15);
  // ISO 9797-1 padding method 2: 80 then zeros to a whole block (22 -> 24 bytes).
  const padded = Buffer.concat([data, Buffer.from([0x80, 0x00])]);
  let chain: Buffer = Buffer.alloc(BLOCK);
  for (let at = 0; at < padded.length; at += BLOCK) {
    const x = Buffer.alloc(BLOCK);
    for (let j = 0; j < BLOCK; j += 1) x[j] = (chain[j] ?? 0) ^ (padded[at + j] ?? 0);
    chain = encryptDes(key, x);
  }
  return chain.subarray(0, 4);
}

function wellFormed(facts: TacFacts): boolean {
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
  return /^[0-9A-Fa-f]{16}$/.test(facts.issuerIdHex)
    && /^[0-9]{20}$/.test(facts.applicationSerialHex)
    && u32(facts.amountMinor) && u32(facts.terminalSerial)
    && Number.isInteger(facts.transactionType) && facts.transactionType >= 0
    && facts.transactionType <= 0xff
    && /^[0-9A-Fa-f]{12}$/.test(facts.terminalNumberHex)
    && /^[0-9]{14}$/.test(facts.dateTimeDigits)
    && /^[0-9A-Fa-f]{8}$/.test(facts.tacHex);
}

/** Verifies the TAC of one clearing record. Verdicts: see TacVerdict. */
export function jtt978TacVerify(facts: TacFacts, keys: TacKeyLookup): TacVerdict {
  if (!wellFormed(facts)) return 'malformed';
  const master = keys(facts.issuerIdHex.toUpperCase());
  if (master === null) return 'unknownIssuer';
  if (master.length !== 16) return 'malformed';
  const serial = Buffer.from(facts.applicationSerialHex, 'hex');
  const dtk = jtt978CardDtk(master, serial.subarray(serial.length - 8));
  const expected = jtt978Tac(dtk, facts);
  return timingSafeEqual(expected, Buffer.from(facts.tacHex, 'hex')) ? 'valid' : 'invalid';
}
