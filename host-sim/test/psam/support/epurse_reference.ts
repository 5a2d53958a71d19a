// Test-only PBOC e-purse maths, written apart from src/psam with other node:crypto plumbing:
// 3-key EDE with K3 = K1 for 3DES, whole-message CBC for the MACs, and field layouts spelt out
// as hex strings from domain.md 7.4 and the JR/T 0025 e-purse model.

import { createCipheriv, createDecipheriv } from 'node:crypto';

export function h(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
}

export function x(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function ede3(key24: Uint8Array, block: Uint8Array, decrypt = false): Uint8Array {
  const c = decrypt
    ? createDecipheriv('des-ede3-ecb', key24, null)
    : createCipheriv('des-ede3-ecb', key24, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

/** 3DES with a 16-byte key as three-key EDE K1 K2 K1. */
export function ref3des(key16: Uint8Array, block: Uint8Array): Uint8Array {
  return ede3(new Uint8Array([...key16, ...key16.subarray(0, 8)]), block);
}

/** Single DES as three-key EDE with K K K. */
export function refDes(key8: Uint8Array, block: Uint8Array): Uint8Array {
  return ede3(new Uint8Array([...key8, ...key8, ...key8]), block);
}

function pad(data: Uint8Array): Uint8Array {
  const hex = `${x(data)}80`;
  return h(hex.padEnd(Math.ceil(hex.length / 16) * 16, '0'));
}

/** CBC-MAC (ISO 9797-1 alg 1, padding 2) as one des-ede3-cbc pass, last block kept. */
export function refMac1(key8: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(
    'des-ede3-cbc',
    new Uint8Array([...key8, ...key8, ...key8]),
    Buffer.alloc(8),
  );
  c.setAutoPadding(false);
  const out = Buffer.concat([c.update(pad(data)), c.final()]);
  return new Uint8Array(out.subarray(out.length - 8));
}

/** Retail MAC: CBC-MAC under K_L, then decrypt under K_R and encrypt under K_L. */
export function refMac3(key16: Uint8Array, data: Uint8Array): Uint8Array {
  const kl = key16.subarray(0, 8);
  const kr = key16.subarray(8, 16);
  const last = refMac1(kl, data);
  return refDes(kl, ede3(new Uint8Array([...kr, ...kr, ...kr]), last, true));
}

/** One PBOC diversification: 3DES(MK, D) ‖ 3DES(MK, NOT D). */
export function refDiversify(mk16: Uint8Array, d8: Uint8Array): Uint8Array {
  return new Uint8Array([
    ...ref3des(mk16, d8),
    ...ref3des(
      mk16,
      d8.map((b) => 255 - b),
    ),
  ]);
}

function hexN(value: number, bytes: number): string {
  return value.toString(16).padStart(bytes * 2, '0');
}

/** Everything one purchase computes, from the root key down, as the test reads the spec. */
export interface RefPurchase {
  readonly root: Uint8Array;
  readonly tacMaster: Uint8Array;
  readonly issuerId: string;
  readonly cardSerial8: string;
  readonly random: string;
  readonly atc: number;
  readonly terminalSerial: number;
  readonly amount: number;
  readonly type: number;
  readonly terminalNumber: string;
  readonly dateTime: string;
}

/** DPK, SESPK, MAC1, MAC2 and TAC of `p`. */
export function refPurchase(
  p: RefPurchase,
): Record<'dpk' | 'sk' | 'mac1' | 'mac2' | 'tac', string> {
  const dpk = refDiversify(refDiversify(p.root, h(p.issuerId)), h(p.cardSerial8));
  const tserial = hexN(p.terminalSerial, 4);
  const sk = ref3des(dpk, h(`${p.random}${hexN(p.atc, 2)}${tserial.slice(4)}`));
  const head = `${hexN(p.amount, 4)}${hexN(p.type, 1)}${p.terminalNumber}`;
  const mac1 = refMac1(sk, h(`${head}${p.dateTime}`)).subarray(0, 4);
  const mac2 = refMac1(sk, h(hexN(p.amount, 4))).subarray(0, 4);
  const dtk = refDiversify(p.tacMaster, h(p.cardSerial8));
  const tk = dtk.subarray(0, 8).map((b, i) => b ^ (dtk[i + 8] ?? 0));
  const tac = refMac1(tk, h(`${head}${tserial}${p.dateTime}`)).subarray(0, 4);
  return { dpk: x(dpk), sk: x(sk), mac1: x(mac1), mac2: x(mac2), tac: x(tac) };
}
