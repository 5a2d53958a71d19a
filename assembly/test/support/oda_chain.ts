// Test PKI chains (CA -> issuer -> ICC) and the ODA inputs of a card, encoded for the kernel ops.

import type { Prng } from '../../../host-sim/src/prng.js';
import { KernelOp } from '../../host/abi.gen.js';
import type { Kernel } from '../../host/kernel_loader.js';
import { generateTestRsaKey } from './oda_rsa.js';
import type { TestRsaKey } from './oda_rsa.js';
import {
  capkTlv,
  concat,
  fromHex,
  publicParts,
  signCert,
  signSdad,
  signSsad,
  tlv,
} from './oda_emv.js';
import type { CertSpec, SdadSpec } from './oda_emv.js';

/** Key sizes (bytes) and exponents of a chain. */
export interface ChainSizes {
  readonly caBytes: number;
  readonly issuerBytes: number;
  readonly iccBytes: number;
  readonly caE?: bigint;
  readonly issuerE?: bigint;
  readonly iccE?: bigint;
}

/** The keys of one chain. */
export interface TestChain {
  readonly rid: Uint8Array;
  readonly caIndex: number;
  readonly ca: TestRsaKey;
  readonly issuer: TestRsaKey;
  readonly icc: TestRsaKey;
}

/** Builds the three keys from `prng` (deterministic for a seed). */
export function buildChain(prng: Prng, sizes: ChainSizes, caIndex = 0x0b): TestChain {
  return {
    rid: fromHex('A000000333'),
    caIndex,
    ca: generateTestRsaKey(prng, sizes.caBytes, sizes.caE ?? 3n),
    issuer: generateTestRsaKey(prng, sizes.issuerBytes, sizes.issuerE ?? 3n),
    icc: generateTestRsaKey(prng, sizes.iccBytes, sizes.iccE ?? 3n),
  };
}

/** Everything the ODA ops read; absent fields are left out of the TLV input. */
export interface OdaInputs {
  readonly rid?: Uint8Array;
  readonly caIndex?: Uint8Array;
  readonly issuerCert?: Uint8Array;
  readonly issuerRemainder?: Uint8Array;
  readonly issuerExponent?: Uint8Array;
  readonly iccCert?: Uint8Array;
  readonly iccRemainder?: Uint8Array;
  readonly iccExponent?: Uint8Array;
  readonly sdad?: Uint8Array;
  readonly ssad?: Uint8Array;
  readonly pan?: Uint8Array;
  readonly atc?: Uint8Array;
  readonly un?: Uint8Array;
  readonly amount?: Uint8Array;
  readonly currency?: Uint8Array;
  readonly cardAuth?: Uint8Array;
  readonly date?: Uint8Array;
  readonly staticData: Uint8Array;
}

const FIELD_TAGS: ReadonlyArray<readonly [keyof OdaInputs, string]> = [
  ['rid', '9F06'],
  ['caIndex', '8F'],
  ['issuerCert', '90'],
  ['issuerRemainder', '92'],
  ['issuerExponent', '9F32'],
  ['iccCert', '9F46'],
  ['iccRemainder', '9F48'],
  ['iccExponent', '9F47'],
  ['sdad', '9F4B'],
  ['ssad', '93'],
  ['pan', '5A'],
  ['atc', '9F36'],
  ['un', '9F37'],
  ['amount', '9F02'],
  ['currency', '5F2A'],
  ['cardAuth', '9F69'],
  ['date', '9A'],
];

/** The op input: static data then the TLVs; `arg` carries the static data length. */
export function encodeOdaInputs(inputs: OdaInputs): { arg: number; input: Uint8Array } {
  const parts: Uint8Array[] = [inputs.staticData];
  for (const [field, tag] of FIELD_TAGS) {
    const value = inputs[field];
    if (value !== undefined && field !== 'staticData') parts.push(tlv(tag, value));
  }
  return { arg: inputs.staticData.length, input: concat(...parts) };
}

/** Card and terminal parameters of a generated card. */
export interface CardSpec {
  readonly panHex: string;
  readonly issuerIdHex: string;
  readonly iccPanFieldHex: string;
  readonly issuerExpiryHex: string;
  readonly iccExpiryHex: string;
  readonly issuerSerialHex: string;
  readonly atcHex: string;
  readonly unHex: string;
  readonly amountHex: string;
  readonly currencyHex: string;
  /** 9F69 for fDDA v01; undefined for v00. */
  readonly cardAuthHex?: string;
  readonly dateHex: string;
  readonly staticData: Uint8Array;
}

/** The default card: PAN 6228480012345678901, v01, dated 2025-06-15. */
export const DEFAULT_CARD: CardSpec = {
  panHex: '6228480012345678901F',
  issuerIdHex: '622848FF',
  iccPanFieldHex: '6228480012345678901F',
  issuerExpiryHex: '1230',
  iccExpiryHex: '1228',
  issuerSerialHex: '123456',
  atcHex: '0042',
  unHex: '1A2B3C4D',
  amountHex: '000000000200',
  currencyHex: '0156',
  cardAuthHex: '0101020304000000',
  dateHex: '250615',
  staticData: fromHex('5F24032812315A0A6228480012345678901F5F3401019F0702FFC07C00'),
};

/** Optional per-object overrides used to build failing twins. */
export interface CardOverrides {
  readonly issuerCert?: Partial<CertSpec>;
  readonly iccCert?: Partial<CertSpec>;
  readonly sdad?: Partial<SdadSpec>;
}

/** The hash tail of an SDAD: 9F37, then for v01 9F02 || 5F2A || 9F69. */
export function sdadHashTail(card: CardSpec): Uint8Array {
  if (card.cardAuthHex === undefined) return fromHex(card.unHex);
  return fromHex(card.unHex + card.amountHex + card.currencyHex + card.cardAuthHex);
}

/** Signs a complete fDDA card (issuer cert, ICC cert, SDAD) for `chain`. */
export function buildFddaCard(
  chain: TestChain,
  card: CardSpec = DEFAULT_CARD,
  overrides: CardOverrides = {},
): OdaInputs {
  const issuer = signCert(chain.ca, publicParts(chain.issuer), {
    idHex: card.issuerIdHex,
    expiryHex: card.issuerExpiryHex,
    serialHex: card.issuerSerialHex,
    ...overrides.issuerCert,
  });
  const icc = signCert(chain.issuer, publicParts(chain.icc), {
    idHex: card.iccPanFieldHex,
    expiryHex: card.iccExpiryHex,
    serialHex: '000001',
    staticData: card.staticData,
    ...overrides.iccCert,
  });
  const sdad = signSdad(chain.icc, {
    dynamicData: fromHex(`02${card.atcHex}`),
    hashTail: sdadHashTail(card),
    ...overrides.sdad,
  });
  return {
    rid: chain.rid,
    caIndex: Uint8Array.of(chain.caIndex),
    issuerCert: issuer.cert,
    ...(issuer.remainder.length > 0 ? { issuerRemainder: issuer.remainder } : {}),
    issuerExponent: issuer.exponent,
    iccCert: icc.cert,
    ...(icc.remainder.length > 0 ? { iccRemainder: icc.remainder } : {}),
    iccExponent: icc.exponent,
    sdad,
    pan: fromHex(card.panHex),
    atc: fromHex(card.atcHex),
    un: fromHex(card.unHex),
    amount: fromHex(card.amountHex),
    currency: fromHex(card.currencyHex),
    ...(card.cardAuthHex !== undefined ? { cardAuth: fromHex(card.cardAuthHex) } : {}),
    date: fromHex(card.dateHex),
    staticData: card.staticData,
  };
}

/** Signs an SDA card (issuer cert + SSAD with DAC 'DAC1'). */
export function buildSdaCard(chain: TestChain, card: CardSpec = DEFAULT_CARD): OdaInputs {
  const issuer = signCert(chain.ca, publicParts(chain.issuer), {
    idHex: card.issuerIdHex,
    expiryHex: card.issuerExpiryHex,
    serialHex: card.issuerSerialHex,
  });
  const ssad = signSsad(chain.issuer, { dacHex: 'DAC1', staticData: card.staticData });
  return {
    rid: chain.rid,
    caIndex: Uint8Array.of(chain.caIndex),
    issuerCert: issuer.cert,
    ...(issuer.remainder.length > 0 ? { issuerRemainder: issuer.remainder } : {}),
    issuerExponent: issuer.exponent,
    ssad,
    pan: fromHex(card.panHex),
    date: fromHex(card.dateHex),
    staticData: card.staticData,
  };
}

/** Loads the chain's CA key into the kernel (after clearing the store); returns the status. */
export function loadChainCa(kernel: Kernel, chain: TestChain): number {
  kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
  return kernel.step(
    KernelOp.OP_CAPK_LOAD,
    0,
    capkTlv(chain.rid, chain.caIndex, publicParts(chain.ca)),
  );
}

/** Runs one ODA op on `inputs`; returns the status and a copy of the output. */
export function runOda(
  kernel: Kernel,
  op: KernelOp,
  inputs: OdaInputs,
): { status: number; output: Uint8Array } {
  const { arg, input } = encodeOdaInputs(inputs);
  const status = kernel.step(op, arg, input);
  return { status, output: kernel.output().slice() };
}
