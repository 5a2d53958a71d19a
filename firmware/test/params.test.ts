// Parameter sets: real UnionPay CA keys, signatures, and every kind of bad set refused.

import { createHash, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { capkIsValidOn, capkParse } from '../src/app/params/emv_capk.js';
import { FieldError } from '../src/app/params/json_fields.js';
import { fareCategoryFor } from '../src/app/params/params_files.js';
import { manifestBuild, manifestEncode, manifestSign } from '../src/app/params/params_manifest.js';
import {
  DEFAULT_FARES, ParamStore, paramsReadFiles, writeDefaultParams,
} from '../src/app/params/params_store.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VECTORS = resolve(REPO_ROOT, '../shared/vectors/unionpay_capk.json');

interface CapkVector {
  readonly index: string;
  readonly rid: string;
  readonly modulus: string;
  readonly exponent: string;
  readonly checksum_matches: boolean;
  readonly DF03_checksum_in_source: string;
  readonly DF05_expiry: { readonly value: string };
  readonly source_tlv: string;
}

interface CapkVectors {
  readonly keys: readonly CapkVector[];
  readonly negative_case_bad_checksum: {
    readonly index: string;
    readonly DF04_exponent: string;
    readonly DF03_checksum_in_source: string;
    readonly DF05_expiry: string;
  };
}

function vectors(): CapkVectors {
  return JSON.parse(readFileSync(VECTORS, 'utf8')) as CapkVectors;
}

function goodKeysTlv(): string[] {
  return vectors().keys.filter((key) => key.index !== '61').map((key) => key.source_tlv);
}

/** TLV of one primitive object, lengths up to 255 (81 form above 127). */
function tlv(tagHex: string, valueHex: string): string {
  const length = valueHex.length / 2;
  const short = length.toString(16).padStart(2, '0');
  const lengthHex = length > 127 ? `81${short}` : short;
  return `${tagHex}${lengthHex}${valueHex}`.toUpperCase();
}

function newSim(seed: number): StorageSim {
  return new StorageSim({ totalBytes: 1 << 24, prng: new Prng(seed), tornModes: ['prefix'] });
}

function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ed25519');
}

async function defaultSet(sim: StorageSim, signingKey: KeyObject, version: number): Promise<void> {
  const written = await writeDefaultParams(sim, {
    caRevocations: [],
    version,
    terminal: { terminalId: 'T0001', lineId: 'L42' },
    fares: DEFAULT_FARES,
    caKeysTlvHex: goodKeysTlv(),
    denyList: [{ pan: '6217990000000000001', psn: 1 }, { pan: '6231000000000000002', psn: 0 }],
    signingKey,
    denyKey: TEST_DENY_KEY,
  });
  if (!written.ok) throw new Error(written.error.message);
}

/** A copy of a set, with files changed or removed, re-signed without content validation. */
async function variant(
  source: StorageSim,
  change: (files: Map<string, Uint8Array>) => void,
  signingKey: KeyObject | null,
  version: number,
): Promise<StorageSim> {
  const read = await paramsReadFiles(source, true);
  if (!read.ok) throw new Error(read.error.message);
  const files = read.value;
  const manifest = files.get('manifest.json');
  files.delete('manifest.json');
  change(files);
  const target = newSim(99);
  for (const [name, bytes] of files) await target.replace(name, bytes);
  const contentFiles = new Map([...files].filter(([name]) => name !== 'extra.txt'));
  if (signingKey !== null) {
    const signed = manifestSign(manifestBuild(contentFiles, version), signingKey);
    await target.replace('manifest.json', manifestEncode(signed));
  } else if (manifest !== undefined) {
    await target.replace('manifest.json', manifest);
  }
  return target;
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

describe('CA public keys', () => {
  it('realUnionPayKeys_loadWithVerifiedCheckValues_andIndex61IsRefused', () => {
    for (const key of vectors().keys) {
      // Independent truth: SHA-1 over RID || index || modulus || exponent, with node:crypto.
      const hashed = Buffer.from(key.rid + key.index + key.modulus + key.exponent, 'hex');
      const truth = createHash('sha1').update(hashed).digest('hex').toUpperCase();
      if (key.index === '61') {
        expect(key.checksum_matches).toBe(false);
        expect(() => capkParse(key.source_tlv, 'capk.txt', 'line 1'))
          .toThrow(/line 1 \(index 61\)\.DF03: check value 008C4830/);
        continue;
      }
      const parsed = capkParse(key.source_tlv, 'capk.txt', 'line 1');
      expect(parsed.checkValueHex, key.index).toBe(truth);
      expect(parsed.index).toBe(Number.parseInt(key.index, 16));
      expect(parsed.ridHex).toBe('A000000333');
      expect(parsed.modulusHex).toBe(key.modulus.toUpperCase());
      expect(parsed.expiryYyyymmdd, key.index).toBe(key.DF05_expiry.value);
    }
    expect(vectors().keys.filter((key) => key.index !== '61')).toHaveLength(9);
  });

  it('negativeCase_bad0BChecksum_isRefused_andA3ByteExponentIsNormalised', () => {
    const all = vectors();
    const primary = all.keys.find((key) => key.index === '0B');
    if (primary === undefined) throw new Error('vector 0B');
    const bad = all.negative_case_bad_checksum;
    const body = (exponentHex: string, checkHex: string): string =>
      tlv('9F06', primary.rid) + tlv('9F22', bad.index) + tlv('DF05', bad.DF05_expiry) +
      tlv('DF06', '01') + tlv('DF07', '01') +
      tlv('DF02', primary.modulus) + tlv('DF04', exponentHex) + tlv('DF03', checkHex);
    const badBody = body(bad.DF04_exponent, bad.DF03_checksum_in_source);
    expect(() => capkParse(badBody, 'capk.txt', 'line 2')).toThrow(/DF03/);
    const paddedBody = body('000003', primary.DF03_checksum_in_source);
    const normalised = capkParse(paddedBody, 'capk.txt', 'line 2');
    expect(normalised.exponentHex).toBe('03');
    expect(capkIsValidOn(normalised, '20311222')).toBe(true);
    expect(capkIsValidOn(normalised, '20311223')).toBe(false);
  });

  it('malformedKeyTlv_isRefusedWithTheField', () => {
    const good = goodKeysTlv()[0] ?? '';
    const cases: [string, RegExp][] = [
      [good.slice(0, -2), /runs past the end|length/],
      [good + '00', /has no length/],
      [good.replace('9F0605A000000333', ''), /9F06: missing/],
      ['XYZ', /expected hex/],
      [good + tlv('9F22', '01'), /appears twice/],
    ];
    for (const [tlvHex, message] of cases) {
      expect(() => capkParse(tlvHex, 'capk.txt', 'line 1'), tlvHex.slice(0, 20)).toThrow(message);
      expect(() => capkParse(tlvHex, 'capk.txt', 'line 1')).toThrow(FieldError);
    }
  });
});

/** A change that rewrites one JSON file of a set through `edit`. */
function replaceJson(name: string, edit: (value: Record<string, unknown>) => void) {
  return (files: Map<string, Uint8Array>): void => {
    const textValue = new TextDecoder().decode(files.get(name));
    const value = JSON.parse(textValue) as Record<string, unknown>;
    edit(value);
    files.set(name, text(JSON.stringify(value)));
  };
}

/** Copies of `base`, each broken in one way, with the error each must be refused with. */
async function badSetCases(
  base: StorageSim,
  privateKey: KeyObject,
  other: { privateKey: KeyObject },
): Promise<[string, StorageSim, RegExp][]> {
  const cut = (name: string, lengthBytes: number) => (files: Map<string, Uint8Array>): void => {
    files.set(name, (files.get(name) ?? new Uint8Array(0)).subarray(0, lengthBytes));
  };
  const capkLines = goodKeysTlv();
  const flipLast = (line: string): string =>
    line.slice(0, -2) + (line.endsWith('00') ? '01' : '00');
  const badCheck = capkLines.map((line, i) => (i === 2 ? flipLast(line) : line));
  const key61 = vectors().keys.find((k) => k.index === '61')?.source_tlv ?? '';
  const badRevocation = { ridHex: 'A000000333', caIndexHex: '08', certificateSerialHex: '01' };
  const badAid = { aidHex: 'A00000033G', partialMatch: true, label: 'x' };
  type Change = (files: Map<string, Uint8Array>) => void;
  const specs: [string, Change, KeyObject | null, RegExp][] = [
    ['bad signature', () => undefined, other.privateKey,
      /manifest\.json: signatureHex: signature does not verify/],
    ['file changed after signing', replaceJson('fares.json', (v) => { v['flatFareMinor'] = 1; }),
      null, /fares\.json: SHA-256 does not match/],
    ['truncated file', cut('terminal.json', 10), privateKey, /terminal\.json: not valid JSON/],
    ['wrong type', replaceJson('fares.json', (v) => { v['flatFareMinor'] = '200'; }), privateKey,
      /fares\.json: flatFareMinor: expected an integer/],
    ['nested wrong type',
      replaceJson('fares.json', (v) => { v['transfer'] = { discountMinor: -1, windowSec: 1 }; }),
      privateKey, /fares\.json: transfer\.discountMinor/],
    ['unknown field', replaceJson('terminal.json', (v) => { v['terminalID'] = 'x'; }), privateKey,
      /terminal\.json: terminalID: unexpected field/],
    // JSON.parse keeps the second; a reader that keeps the first sees another fare.
    ['key twice', (f) => f.set('fares.json', text(new TextDecoder().decode(f.get('fares.json'))
      .replace('"flatFareMinor":', '"flatFareMinor": 1, "flat\\u0046areMinor":'))), privateKey,
      /fares\.json: key "flatFareMinor" appears twice in one object/],
    ['bad hex', replaceJson('aids.json', (v) => { v['aids'] = [badAid]; }), privateKey,
      /aids\.json: aids\[0\]\.aidHex: expected hex/],
    ['bad check value', (f) => f.set('capk.txt', text(badCheck.join('\n'))), privateKey,
      /capk\.txt: line 3 \(index 03\)\.DF03: check value/],
    ['index 61', (f) => f.set('capk.txt', text([...capkLines, key61].join('\n'))), privateKey,
      /capk\.txt: line 10 \(index 61\)\.DF03/],
    ['missing file', (f) => f.delete('aids.json'), privateKey, /aids\.json: missing file/],
    ['extra file', (f) => f.set('extra.txt', text('x')), privateKey, /extra\.txt: extra file/],
    ['bad deny list', cut('deny_list.bin', 70), privateKey, /deny_list\.bin: count/],
    ['bad revocation',
      replaceJson('capk_revocation.json', (v) => { v['revoked'] = [badRevocation]; }),
      privateKey, /capk_revocation\.json: revoked\[0\]\.certificateSerialHex/],
  ];
  const cases: [string, StorageSim, RegExp][] = [];
  for (const [label, change, key, message] of specs) {
    cases.push([label, await variant(base, change, key, 2), message]);
  }
  return cases;
}

describe('parameter sets', () => {
  it('defaultSet_isSignedLoadedAndActivated', async () => {
    const { privateKey, publicKey } = keyPair();
    const sim = newSim(1);
    await defaultSet(sim, privateKey, 7);
    const store = new ParamStore({ publicKey, denyKey: TEST_DENY_KEY });
    const activated = await store.activate(sim);
    if (!activated.ok) throw new Error(activated.error.message);
    const set = store.active();
    expect(set?.version).toBe(7);
    const indexes = [0x01, 0x02, 0x03, 0x04, 0x08, 0x09, 0x0a, 0x0b, 0x80];
    expect(set?.caKeys.map((key) => key.index)).toEqual(indexes);
    expect(set?.denyList.contains('6231000000000000002', 0)).toBe(true);
    expect(set?.denyList.contains('6231000000000000002', 1)).toBe(false);
    expect(set?.terminal).toEqual({ terminalId: 'T0001', lineId: 'L42' });
    const unionPay = { aidHex: 'A0000003330101', partialMatch: true, label: 'UnionPay' };
    expect(set?.aids).toEqual([unionPay]);
    expect(fareCategoryFor(DEFAULT_FARES, '6217990000000000001')?.name).toBe('concession');
    expect(fareCategoryFor(DEFAULT_FARES, '6217980000000000001')).toBeNull();
    // Same version again, or an older one, is a replay: refused, the set stays.
    const replay = await store.activate(sim);
    expect(replay.ok ? '' : replay.error.message)
      .toMatch(/manifest\.json: version: 7 is not newer than the active 7/);
    expect(store.active()).toBe(set);
  });

  it('badSets_areRefusedNamingFileAndField_andThePreviousSetStaysActive', async () => {
    const { privateKey, publicKey } = keyPair();
    const other = keyPair();
    const base = newSim(2);
    await defaultSet(base, privateKey, 1);
    const store = new ParamStore({ publicKey, denyKey: TEST_DENY_KEY });
    expect((await store.activate(base)).ok).toBe(true);
    const active = store.active();
    const cases = await badSetCases(base, privateKey, other);
    for (const [label, source, message] of cases) {
      const result = await store.activate(source);
      expect(result.ok, label).toBe(false);
      if (!result.ok) expect(result.error.message, label).toMatch(message);
      expect(store.active(), label).toBe(active);
    }
    const manifestGone = await variant(base, () => undefined, null, 2);
    const bytes = await manifestGone.read('manifest.json');
    if (bytes.ok) await manifestGone.replace('manifest.json', bytes.value.subarray(0, 30));
    const truncatedManifest = await store.activate(manifestGone);
    const truncatedMessage = truncatedManifest.ok ? '' : truncatedManifest.error.message;
    expect(truncatedMessage).toMatch(/manifest\.json: not valid JSON/);
    // A good newer set still goes in after all that.
    const fare300 = replaceJson('fares.json', (v) => { v['flatFareMinor'] = 300; });
    const newer = await variant(base, fare300, privateKey, 2);
    expect((await store.activate(newer)).ok).toBe(true);
    expect(store.active()?.fares.flatFareMinor).toBe(300);
  });
});
