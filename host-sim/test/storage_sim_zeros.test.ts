// StorageSim.appendZeros against append of a zero array (the independent truth): the same
// bytes, write points, medium-full refusals and torn remnants after a power cut.

import { describe, expect, it } from 'vitest';
import { HalStatus } from '../../hal/src/ports/hal_status.js';
import { Prng } from '../src/prng.js';
import { StorageSim } from '../src/storage_sim.js';

function twin(seed: number, totalBytes: number): StorageSim {
  return new StorageSim({ totalBytes, prng: new Prng(seed), tornModes: ['prefix', 'garbage'] });
}

/** The same script of calls; `zeros` appends count zero bytes one way or the other. */
async function script(
  storage: StorageSim,
  zeros: (s: StorageSim, name: string, count: number) => Promise<unknown>,
  cutAfter: number,
): Promise<unknown[]> {
  const seen: unknown[] = [];
  seen.push(await storage.append('f', Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)));
  seen.push(await storage.sync('f'));
  // A truncate leaves old bytes in the buffer past the new end: zeros must cover them.
  seen.push(await storage.truncate('f', 2));
  seen.push(await zeros(storage, 'f', 5));
  const read = await storage.read('f');
  seen.push(read.ok ? Buffer.from(read.value).toString('hex') : read);
  seen.push(await zeros(storage, 'big', 3_000));
  seen.push(await zeros(storage, 'big', 9_000));
  storage.armPowerCut(cutAfter);
  seen.push(await zeros(storage, 'f', 700));
  seen.push(await storage.append('f', Uint8Array.of(9)));
  storage.restart();
  for (const [name, bytes] of storage.durableFiles()) {
    seen.push(name, Buffer.from(bytes).toString('hex'));
  }
  return seen;
}

/**
 * Random calls drawn from `seed` (the same for both twins): appends of data and of zeros,
 * syncs, truncates into zeros, replaces and removes, power cuts armed at any of them, with
 * every torn mode; records every result and, after each restart, every durable file.
 */
async function longScript(
  seed: number,
  zeros: (s: StorageSim, name: string, count: number) => Promise<unknown>,
): Promise<unknown[]> {
  const draw = new Prng(seed + 1000);
  const storage = new StorageSim({
    totalBytes: 50_000,
    prng: new Prng(seed),
    tornModes: ['prefix', 'garbage', 'zeros'],
  });
  const seen: unknown[] = [];
  const names = ['a', 'b'];
  for (let step = 0; step < 80; step += 1) {
    const name = names[draw.below(names.length)] ?? 'a';
    const size = await storage.size(name);
    const length = size.ok ? size.value : 0;
    switch (draw.below(8)) {
      case 0:
        seen.push(await storage.append(name, Uint8Array.of(1 + draw.below(255), 7, 9)));
        break;
      case 1:
      case 2:
        seen.push(await zeros(storage, name, draw.below(3_000)));
        break;
      case 3:
        seen.push(await storage.sync(name));
        break;
      case 4:
        if (!storage.isDown()) seen.push(await storage.truncate(name, draw.below(length + 1)));
        break;
      case 5:
        seen.push(await storage.replace(name, Uint8Array.of(draw.below(256))));
        break;
      case 6:
        storage.armPowerCut(1 + draw.below(3));
        break;
      default: {
        const read = await storage.read(name);
        seen.push(read.ok ? Buffer.from(read.value).toString('hex') : read);
      }
    }
    if (storage.isDown()) {
      storage.restart();
      for (const [file, bytes] of storage.durableFiles()) {
        seen.push(file, Buffer.from(bytes).toString('hex'));
      }
    }
  }
  return seen;
}

describe('StorageSim.appendZeros', () => {
  it('isAppendOfAZeroArray_bytesFaultsAndTornRemnants', async () => {
    for (let seed = 1; seed <= 40; seed += 1) {
      for (const cutAfter of [1, 2]) {
        const viaZeros = await script(
          twin(seed, 20_000),
          (s, n, c) => s.appendZeros(n, c),
          cutAfter,
        );
        const viaArray = await script(
          twin(seed, 20_000),
          (s, n, c) => s.append(n, new Uint8Array(c)),
          cutAfter,
        );
        expect(viaZeros, `seed ${seed}`).toEqual(viaArray);
      }
    }
  });

  it('isAppendOfAZeroArray_throughSyncsTruncatesAndRepeatedCuts', async () => {
    for (let seed = 1; seed <= 60; seed += 1) {
      const viaZeros = await longScript(seed, (s, n, c) => s.appendZeros(n, c));
      const viaArray = await longScript(seed, (s, n, c) => s.append(n, new Uint8Array(c)));
      expect(viaZeros, `seed ${seed}`).toEqual(viaArray);
    }
  });

  it('refusesAsAppendDoes_whenTheMediumIsFull', async () => {
    const storage = twin(1, 1000);
    expect(await storage.appendZeros('f', 600)).toEqual({ ok: true, value: undefined });
    const full = await storage.appendZeros('f', 500);
    expect(full.ok).toBe(false);
    if (!full.ok) expect(full.error).toBe(HalStatus.SIZE);
    expect(() => storage.appendZeros('f', -1)).toThrow(RangeError);
  });
});
