// The memo of checked parameter sets (params_checked.ts): what a trust holding one answers is
// what the full check answers, for the same bytes, for every changed byte, for other keys,
// and through the install and the start-up load cut at every write point.

import { generateKeyPairSync } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { ParamsDiskSim } from '../../host-sim/src/params_disk_sim.js';
import { Prng } from '../../host-sim/src/prng.js';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { paramsBootLoad, type ParamsBootResult } from '../src/app/params/params_boot.js';
import { ParamsChecked } from '../src/app/params/params_checked.js';
import { FILE_FARES } from '../src/app/params/params_files.js';
import { paramsInstall } from '../src/app/params/params_install.js';
import {
  DEFAULT_FARES, paramsValidate, writeDefaultParams, type ParamsTrust,
} from '../src/app/params/params_store.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';

const KEYS = generateKeyPairSync('ed25519');
const PLAIN: ParamsTrust = { publicKey: KEYS.publicKey, denyKey: TEST_DENY_KEY };

function memoTrust(): ParamsTrust {
  const checked = new ParamsChecked(KEYS.publicKey, TEST_DENY_KEY);
  return { publicKey: KEYS.publicKey, denyKey: TEST_DENY_KEY, checked };
}

/** The files of a signed set of `version` (the same content for every version). */
async function image(version: number): Promise<Map<string, Uint8Array>> {
  const scratch = new StorageSim({ totalBytes: 1 << 24, prng: new Prng(version),
    tornModes: ['prefix'] });
  const written = await writeDefaultParams(scratch, {
    version, terminal: { terminalId: 'T0001', lineId: 'L42' }, fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex), caRevocations: [],
    denyList: [{ pan: '6231000000000000002', psn: 0 }], signingKey: KEYS.privateKey,
    denyKey: TEST_DENY_KEY,
  });
  if (!written.ok) throw new Error(written.error.message);
  const files = new Map<string, Uint8Array>();
  const names = await scratch.list();
  for (const name of names.ok ? names.value : []) {
    const read = await scratch.read(name);
    if (read.ok) files.set(name, Uint8Array.from(read.value));
  }
  return files;
}

function copyOf(files: ReadonlyMap<string, Uint8Array>): Map<string, Uint8Array> {
  return new Map([...files].map(([name, bytes]) => [name, Uint8Array.from(bytes)]));
}

describe('ParamsChecked', () => {
  it('aSetCheckedBefore_isTheFullChecksSet_andEveryChangedByteIsRefusedAsWithoutIt', async () => {
    const files = await image(1);
    const trust = memoTrust();
    const first = paramsValidate(copyOf(files), trust);
    const again = paramsValidate(copyOf(files), trust);
    if (!first.ok || !again.ok) throw new Error('refused');
    expect(again.value).toBe(first.value);
    expect(again).toEqual(paramsValidate(copyOf(files), PLAIN));
    expect(again.value.denyList.contains('6231000000000000002', 0)).toBe(true);
    for (const [name, bytes] of files) {
      for (const at of [0, bytes.length >> 1, bytes.length - 2]) {
        const changed = copyOf(files);
        const target = changed.get(name) ?? new Uint8Array(0);
        target[at] = (target[at] ?? 0) ^ 0x01;
        const expected = paramsValidate(copyOf(changed), PLAIN);
        expect(paramsValidate(changed, trust), `${name} byte ${at}`).toEqual(expected);
      }
    }
    expect(paramsValidate(copyOf(files), trust).ok).toBe(true);
  });

  it('servesOnlyItsOwnKeys', async () => {
    const files = await image(1);
    const trust = memoTrust();
    expect(paramsValidate(copyOf(files), trust).ok).toBe(true);
    if (!('checked' in trust) || trust.checked === undefined) throw new Error('no memo');
    const other = generateKeyPairSync('ed25519').publicKey;
    const borrowed: ParamsTrust = { publicKey: other, denyKey: TEST_DENY_KEY,
      checked: trust.checked };
    const refused = paramsValidate(copyOf(files), borrowed);
    expect(refused.ok).toBe(false);
    expect(refused).toEqual(paramsValidate(copyOf(files), { publicKey: other,
      denyKey: TEST_DENY_KEY }));
  });

  it('keepsItsOwnCopies_soTheCallersBuffersMayChangeAfterwards', async () => {
    const files = await image(1);
    const trust = memoTrust();
    const given = copyOf(files);
    const first = paramsValidate(given, trust);
    for (const bytes of given.values()) bytes.fill(0x30);
    const again = paramsValidate(copyOf(files), trust);
    expect(again.ok && first.ok && again.value === first.value).toBe(true);
    expect(again).toEqual(paramsValidate(copyOf(files), PLAIN));
  });

  it('aNewVersionOfTheSameContent_isCheckedAsWithoutIt', async () => {
    const trust = memoTrust();
    const [v1, v2] = [await image(1), await image(2)];
    expect(paramsValidate(copyOf(v1), trust).ok).toBe(true);
    const second = paramsValidate(copyOf(v2), trust);
    expect(second.ok && second.value.version).toBe(2);
    expect(second).toEqual(paramsValidate(copyOf(v2), PLAIN));
    const fares = copyOf(v2);
    fares.set(FILE_FARES, new TextEncoder().encode('{}\n'));
    expect(paramsValidate(fares, trust)).toEqual(paramsValidate(copyOf(fares), PLAIN));
  });

  it('installAndBoot_cutAtEveryWritePoint_answerAsWithoutIt', async () => {
    const sets = [await image(1), await image(2)];
    const summary = (boot: ParamsBootResult): unknown => boot.ok
      ? { version: boot.set.version, raise: boot.floorRaise, fallback: boot.fallback }
      : { kind: boot.kind, message: boot.message };
    let whole = false;
    for (let k = 0; !whole; k += 1) {
      const runs = await Promise.all([PLAIN, memoTrust()].map(async (trust) => {
        const disk = new ParamsDiskSim();
        for (const [dir, files] of [['/v1', sets[0]], ['/v2', sets[1]]] as const) {
          await disk.mkdirs(dir);
          for (const [name, bytes] of files ?? []) disk.put(`${dir}/${name}`, bytes);
        }
        const first = await paramsInstall('/v1', '/root', trust, '/state', undefined, disk);
        let seen = 0;
        const hook = (): void => {
          if (seen++ === k) throw new Error('cut');
        };
        const done = await paramsInstall('/v2', '/root', trust, '/state', hook, disk)
          .then((r) => r.ok, () => 'cut');
        const rollback = await paramsInstall('/v1', '/root', trust, '/state', undefined, disk);
        const boot = summary(await paramsBootLoad('/root', trust, '/state', disk));
        return { first: first.ok, done, rollback, boot };
      }));
      expect(runs[1], `cut at write point ${k}`).toEqual(runs[0]);
      whole = runs[0]?.done === true;
    }
  });
});
