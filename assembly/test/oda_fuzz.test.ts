// Fuzzing ODA: mutated certificates, SDADs and TLV inputs must give a defined status, never a
// trap, with the memory size unchanged. Half the cases re-sign a mutated plaintext with the
// real key so the checks behind the signature (format, lengths, dates, IDN) are reached too.
// SHUAKA_SEED replays a run; the seed is always printed.

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import { fuzzMutate } from './support/fuzz_mutate.js';
import {
  DEFAULT_CARD,
  buildChain,
  buildFddaCard,
  encodeOdaInputs,
  loadChainCa,
  sdadHashTail,
} from './support/oda_chain.js';
import type { OdaInputs, TestChain } from './support/oda_chain.js';
import { fromHex, publicParts, recoverable, signCert, concat } from './support/oda_emv.js';
import { rsaSign } from './support/oda_rsa.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0xf022_0da0);
const RAW_CASES = 12_000;
const SIGNED_CASES = 8_000;
const KNOWN = new Set(
  Object.values(KernelStatus).filter((v): v is number => typeof v === 'number'),
);

/** One to three random edits (see fuzzMutate), with this suite's special bytes. */
function mutate(prng: Prng, bytes: Uint8Array): Uint8Array {
  return fuzzMutate(prng, bytes, [0x00, 0xff, 0x81, 0x82, 0x9f, 0xbb], 8192);
}

/** Edits inside a recoverable plaintext, keeping its length (the signer needs N bytes). */
function mutateInPlace(prng: Prng, message: Uint8Array): Uint8Array {
  const out = message.slice();
  const rounds = 1 + prng.below(3);
  const interesting = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x6a, 0xbb, 0xbc, 0xff];
  for (let r = 0; r < rounds; r += 1) {
    // Favour the header fields, where the checks live.
    const at = prng.chance(0.7) ? prng.below(Math.min(24, out.length)) : prng.below(out.length);
    out[at] = prng.chance(0.5)
      ? (interesting[prng.below(interesting.length)] ?? 0)
      : prng.below(256);
  }
  out[0] = Math.min(out[0] ?? 0, 0x7f); // stay below every modulus (top bit set)
  return out;
}

/** Recomputes the hash of a mutated plaintext so the checks after the hash are reached too. */
function rehash(message: Uint8Array, hashTail: Uint8Array): Uint8Array {
  const n = message.length;
  return recoverable(message.subarray(1, n - 21), hashTail, {
    header: message[0] ?? 0x6a,
    trailer: message[n - 1] ?? 0xbc,
  });
}

describe('ODA fuzzing', () => {
  let kernel: Kernel;
  let chain: TestChain;
  let good: OdaInputs;
  let memoryBytes = 0;
  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
    memoryBytes = kernel.memoryBytes();
    console.log(`oda_fuzz seed 0x${SEED.toString(16)} (replay: SHUAKA_SEED=${SEED})`);
    chain = buildChain(new Prng(SEED), { caBytes: 128, issuerBytes: 112, iccBytes: 96 });
    good = buildFddaCard(chain);
  });

  function run(
    inputs: OdaInputs | { arg: number; input: Uint8Array },
    label: string,
    counts: Map<string, number>,
  ): void {
    const { arg, input } = 'input' in inputs ? inputs : encodeOdaInputs(inputs);
    const status = kernel.step(KernelOp.OP_ODA_FDDA, arg, input);
    if (!KNOWN.has(status) || status === KernelStatus.ERR_KERNEL_FAULT) {
      throw new Error(`seed ${SEED} ${label}: status ${status} (${kernelStatusName(status)})`);
    }
    const name = kernelStatusName(status);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }

  it('oda_rawMutations_giveDefinedStatuses', () => {
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    const prng = new Prng(SEED);
    const counts = new Map<string, number>();
    const fields: ReadonlyArray<keyof OdaInputs> = [
      'issuerCert',
      'issuerRemainder',
      'iccCert',
      'iccRemainder',
      'sdad',
      'pan',
      'atc',
      'cardAuth',
      'date',
      'staticData',
      'un',
      'caIndex',
    ];
    const encoded = encodeOdaInputs(good);
    for (let i = 0; i < RAW_CASES; i += 1) {
      if (prng.chance(0.3)) {
        // Whole-input mutation: TLV framing, lengths, the static-data split.
        const arg = prng.chance(0.9) ? encoded.arg : prng.below(encoded.input.length + 8);
        run({ arg, input: mutate(prng, encoded.input) }, `raw ${i}`, counts);
      } else {
        const field = fields[prng.below(fields.length)] ?? 'sdad';
        const value = good[field] ?? new Uint8Array(0);
        run({ ...good, [field]: mutate(prng, value) }, `field ${field} ${i}`, counts);
      }
    }
    expect(kernel.faultCount()).toBe(0);
    expect(kernel.memoryBytes()).toBe(memoryBytes);
    console.log('oda_fuzz raw statuses', Object.fromEntries(counts));
  });

  it('oda_resignedPlaintextMutations_giveDefinedStatuses', () => {
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    const prng = new Prng(SEED ^ 0x5151);
    const counts = new Map<string, number>();
    const card = DEFAULT_CARD;
    const issuer = signCert(chain.ca, publicParts(chain.issuer), {
      idHex: card.issuerIdHex,
      expiryHex: card.issuerExpiryHex,
      serialHex: card.issuerSerialHex,
    });
    const icc = signCert(chain.issuer, publicParts(chain.icc), {
      idHex: card.iccPanFieldHex,
      expiryHex: card.iccExpiryHex,
      staticData: card.staticData,
    });
    const sdadBody = concat(
      fromHex(`0501030${'2'}${card.atcHex}`),
      new Uint8Array(96 - 25 - 3).fill(0xbb),
    );
    const sdadMessage = recoverable(sdadBody, sdadHashTail(card));
    const issuerTail = concat(issuer.remainder, issuer.exponent);
    const iccTail = concat(icc.remainder, icc.exponent, card.staticData);
    const sdadTail = sdadHashTail(card);
    for (let i = 0; i < SIGNED_CASES; i += 1) {
      const fix = prng.chance(0.5);
      const sign = (key: TestChain['ca'], message: Uint8Array, tail: Uint8Array): Uint8Array => {
        const mutated = mutateInPlace(prng, message);
        return rsaSign(key, fix ? rehash(mutated, tail) : mutated);
      };
      switch (prng.below(3)) {
        case 0:
          run(
            { ...good, issuerCert: sign(chain.ca, issuer.message, issuerTail) },
            `issuer ${i}`,
            counts,
          );
          break;
        case 1:
          run({ ...good, iccCert: sign(chain.issuer, icc.message, iccTail) }, `icc ${i}`, counts);
          break;
        default:
          run({ ...good, sdad: sign(chain.icc, sdadMessage, sdadTail) }, `sdad ${i}`, counts);
          break;
      }
    }
    expect(kernel.faultCount()).toBe(0);
    expect(kernel.memoryBytes()).toBe(memoryBytes);
    // The signed mutations must reach checks behind the signature, not only the framing.
    const deepChecks = [
      'ERR_ODA_ISSUER_CERT_FORMAT',
      'ERR_ODA_ICC_HASH',
      'ERR_ODA_SDAD_HASH',
      'ERR_ODA_ISSUER_ID_MISMATCH',
      'ERR_ODA_ICC_PAN_MISMATCH',
      'ERR_ODA_ICC_CERT_DATE_INVALID',
      'ERR_ODA_ISSUER_PK_ALGORITHM',
      'ERR_ODA_SDAD_IDN_MISMATCH',
    ];
    for (const deep of deepChecks) {
      expect(counts.get(deep) ?? 0, deep).toBeGreaterThan(0);
    }
    console.log('oda_fuzz signed statuses', Object.fromEntries(counts));
  });
});
