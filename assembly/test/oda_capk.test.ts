// CA public key store: the public UnionPay keys load with verified check values; every refusal
// has its own status. Vectors are read from ../shared/vectors (never copied into the repo).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import { capkTlv, concat, fromHex, tlv, toHex } from './support/oda_emv.js';

interface UnionPayKey {
  readonly index: string;
  readonly modulus: string;
  readonly exponent: string;
  readonly checksum_matches: boolean;
  readonly source_tlv: string;
  readonly DF05_expiry: { readonly value: string };
}
interface UnionPayFile {
  readonly keys: readonly UnionPayKey[];
  readonly negative_case_bad_checksum: {
    readonly DF04_exponent: string;
    readonly DF03_checksum_in_source: string;
    readonly DF05_expiry: string;
  };
}

const VECTORS = join(REPO_ROOT, '..', 'shared', 'vectors', 'unionpay_capk.json');
const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as UnionPayFile;
const RID = fromHex('A000000333');

function statuses(output: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i + 4 <= output.length; i += 4) {
    out.push(kernelStatusName(Buffer.from(output).readInt32BE(i)));
  }
  return out;
}

function list(
  kernel: Kernel,
): Array<{ rid: string; index: number; length: number; e: number; expiry: string }> {
  expect(kernel.step(KernelOp.OP_CAPK_LIST, 0, new Uint8Array(0))).toBe(KernelStatus.STATUS_OK);
  const out = Buffer.from(kernel.output());
  const rows = [];
  for (let p = 0; p + 16 <= out.length; p += 16) {
    rows.push({
      rid: out
        .subarray(p, p + 5)
        .toString('hex')
        .toUpperCase(),
      index: out[p + 5] ?? -1,
      length: out.readUInt16BE(p + 6),
      e: out.readUInt32BE(p + 8),
      expiry: out.subarray(p + 12, p + 16).toString('hex'),
    });
  }
  return rows;
}

describe('CA public key store', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
  });
  beforeEach(() => {
    expect(kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0))).toBe(KernelStatus.STATUS_OK);
  });

  it('capkLoad_unionPayKeys_loadWithVerifiedCheckValue_andIndex61IsRefused', () => {
    const input = concat(...file.keys.map((k) => fromHex(k.source_tlv)));
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0, input)).toBe(KernelStatus.ERR_CAPK_CHECK_VALUE);
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 1, input)).toBe(KernelStatus.STATUS_OK);
    const perKey = statuses(kernel.output());
    expect(perKey.length).toBe(file.keys.length);
    for (const [i, key] of file.keys.entries()) {
      expect(perKey[i], `index ${key.index}`).toBe(
        key.checksum_matches ? 'STATUS_OK' : 'ERR_CAPK_CHECK_VALUE',
      );
    }
    expect(file.keys.find((k) => k.index === '61')?.checksum_matches).toBe(false);
    const rows = list(kernel);
    expect(rows.map((r) => r.index.toString(16).padStart(2, '0').toUpperCase())).toEqual(
      file.keys.filter((k) => k.checksum_matches).map((k) => k.index),
    );
    for (const row of rows) {
      const key = file.keys.find((k) => parseInt(k.index, 16) === row.index);
      expect(row.rid).toBe('A000000333');
      expect(row.length).toBe((key?.modulus.length ?? 0) / 2);
      expect(row.e).toBe(parseInt(key?.exponent ?? '0', 16));
      expect(row.expiry).toBe(key?.DF05_expiry.value);
    }
  });

  it('capkLoad_badChecksumTwinOfIndex0B_isRefused', () => {
    const good = file.keys.find((k) => k.index === '0B');
    const bad = file.negative_case_bad_checksum;
    const input = concat(
      tlv('9F06', RID),
      tlv('9F22', Uint8Array.of(0x0b)),
      tlv('DF05', fromHex(bad.DF05_expiry)),
      tlv('DF06', Uint8Array.of(1)),
      tlv('DF07', Uint8Array.of(1)),
      tlv('DF02', fromHex(good?.modulus ?? '')),
      tlv('DF04', fromHex(bad.DF04_exponent)),
      tlv('DF03', fromHex(bad.DF03_checksum_in_source)),
    );
    expect(kernelStatusName(kernel.step(KernelOp.OP_CAPK_LOAD, 0, input))).toBe(
      'ERR_CAPK_CHECK_VALUE',
    );
    expect(list(kernel)).toEqual([]);
  });

  it('capkLoad_zeroPaddedExponent_isNormalisedBeforeHashing', () => {
    const good = file.keys.find((k) => k.index === '0B');
    const modulus = fromHex(good?.modulus ?? '');
    const check = createHash('sha1')
      .update(RID)
      .update(Uint8Array.of(0x0b))
      .update(modulus)
      .update(Uint8Array.of(3))
      .digest();
    const input = concat(
      tlv('9F06', RID),
      tlv('9F22', Uint8Array.of(0x0b)),
      tlv('DF02', modulus),
      tlv('DF04', fromHex('000003')),
      tlv('DF03', check),
    );
    expect(kernelStatusName(kernel.step(KernelOp.OP_CAPK_LOAD, 0, input))).toBe('STATUS_OK');
    expect(list(kernel)[0]?.expiry).toBe('99991231');
  });

  it('capkLoad_eachRefusal_hasItsOwnStatus', () => {
    const key = { modulus: fromHex(file.keys[0]?.modulus ?? ''), exponent: Uint8Array.of(3) };
    const wrongCheck = new Uint8Array(20).fill(0x11);
    const cases: Array<[string, Uint8Array, string]> = [
      [
        'check value wrong',
        capkTlv(RID, 1, key, { checkValue: wrongCheck }),
        'ERR_CAPK_CHECK_VALUE',
      ],
      [
        'check value missing',
        capkTlv(RID, 1, key).subarray(0, -23),
        'ERR_CAPK_CHECK_VALUE_MISSING',
      ],
      [
        'check value 19 bytes',
        concat(capkTlv(RID, 1, key).subarray(0, -23), tlv('DF03', new Uint8Array(19))),
        'ERR_CAPK_MALFORMED',
      ],
      ['RID 4 bytes', capkTlv(RID.subarray(0, 4), 1, key), 'ERR_CAPK_RID_INVALID'],
      [
        'index 2 bytes',
        concat(
          tlv('9F06', RID),
          tlv('9F22', Uint8Array.of(1, 1)),
          tlv('DF02', key.modulus),
          tlv('DF04', key.exponent),
        ),
        'ERR_CAPK_INDEX_INVALID',
      ],
      [
        'modulus missing',
        concat(tlv('9F06', RID), tlv('9F22', Uint8Array.of(1)), tlv('DF04', key.exponent)),
        'ERR_CAPK_MODULUS_INVALID',
      ],
      [
        'modulus leading zero',
        capkTlv(RID, 1, { modulus: concat(Uint8Array.of(0), key.modulus), exponent: key.exponent }),
        'ERR_CAPK_MODULUS_INVALID',
      ],
      [
        'modulus 300 bytes',
        capkTlv(RID, 1, { modulus: new Uint8Array(300).fill(0xc3), exponent: key.exponent }),
        'ERR_CAPK_MODULUS_INVALID',
      ],
      [
        'exponent 5',
        capkTlv(RID, 1, { modulus: key.modulus, exponent: Uint8Array.of(5) }),
        'ERR_CAPK_EXPONENT_UNSUPPORTED',
      ],
      ['hash algorithm 02', capkTlv(RID, 1, key, { hashAlgorithm: 2 }), 'ERR_CAPK_HASH_ALGORITHM'],
      ['pk algorithm 02 (unknown)', capkTlv(RID, 1, key, { pkAlgorithm: 2 }), 'ERR_CAPK_PK_ALGORITHM'],
      // DF07 04 selects the SM2 path (oda_sm.test.ts), where an RSA modulus is no SM2 key.
      ['pk algorithm 04 with an RSA modulus', capkTlv(RID, 1, key, { pkAlgorithm: 4 }),
        'ERR_CAPK_MODULUS_INVALID'],
      [
        'expiry month 13',
        capkTlv(RID, 1, key, { expiry: Buffer.from('20301331', 'ascii') }),
        'ERR_CAPK_EXPIRY_INVALID',
      ],
      [
        'expiry not digits',
        capkTlv(RID, 1, key, { expiry: Buffer.from('2030123X', 'ascii') }),
        'ERR_CAPK_EXPIRY_INVALID',
      ],
      [
        'expiry 5 bytes',
        capkTlv(RID, 1, key, { expiry: fromHex('2030123100') }),
        'ERR_CAPK_EXPIRY_INVALID',
      ],
      ['broken TLV', fromHex('9F0605A0000003'), 'ERR_CAPK_MALFORMED'],
      ['empty', new Uint8Array(0), 'ERR_CAPK_MALFORMED'],
    ];
    for (const [label, input, want] of cases) {
      expect(kernelStatusName(kernel.step(KernelOp.OP_CAPK_LOAD, 0, input)), label).toBe(want);
    }
    expect(list(kernel)).toEqual([]);
  });

  it('capkLoad_expiryForms_decodeToYyyymmdd', () => {
    const key = { modulus: fromHex(file.keys[0]?.modulus ?? ''), exponent: Uint8Array.of(3) };
    const forms: Array<[Uint8Array, string]> = [
      [Buffer.from('20301231', 'ascii'), '20301231'],
      [fromHex('20301231'), '20301231'],
      [fromHex('301231'), '20301231'],
    ];
    for (const [expiry, want] of forms) {
      expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0, capkTlv(RID, 1, key, { expiry }))).toBe(
        KernelStatus.STATUS_OK,
      );
      expect(list(kernel)[0]?.expiry, toHex(expiry)).toBe(want);
    }
    expect(list(kernel).length).toBe(1);
  });

  it('capkLoad_pastThirtyTwoKeys_returnsStoreFull', () => {
    const key = { modulus: fromHex(file.keys[0]?.modulus ?? ''), exponent: Uint8Array.of(3) };
    const input = concat(...Array.from({ length: 33 }, (_, i) => capkTlv(RID, i + 1, key)));
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0, input)).toBe(KernelStatus.ERR_CAPK_STORE_FULL);
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 1, input)).toBe(KernelStatus.STATUS_OK);
    const perKey = statuses(kernel.output());
    expect(perKey.slice(0, 32).every((s) => s === 'STATUS_OK')).toBe(true);
    expect(perKey[32]).toBe('ERR_CAPK_STORE_FULL');
  });

  it('capkRevoke_checksItsInput', () => {
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, new Uint8Array(8))).toBe(
      KernelStatus.ERR_CAPK_REVOCATION_MALFORMED,
    );
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, new Uint8Array(0))).toBe(
      KernelStatus.ERR_CAPK_REVOCATION_MALFORMED,
    );
    const entries = concat(
      ...Array.from({ length: 64 }, (_, i) => concat(RID, Uint8Array.of(1, 0, 0, i))),
    );
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, entries)).toBe(KernelStatus.STATUS_OK);
    // Re-listing an entry is accepted; a 65th distinct one is not.
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, concat(RID, Uint8Array.of(1, 0, 0, 5)))).toBe(
      KernelStatus.STATUS_OK,
    );
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, concat(RID, Uint8Array.of(1, 0, 1, 0)))).toBe(
      KernelStatus.ERR_CAPK_REVOCATION_FULL,
    );
  });
});
