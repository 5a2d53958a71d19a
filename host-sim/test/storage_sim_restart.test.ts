// StorageSim power cuts on files with nothing unsynced (kept as they are, no copy) against the
// torn-remnant rule (the general path): the same bytes, the same random draws, and the files
// behave afterwards as copies would.

import { describe, expect, it } from 'vitest';
import { HalStatus } from '../../hal/src/ports/hal_status.js';
import { Prng } from '../src/prng.js';
import { StorageSim } from '../src/storage_sim.js';

const SEED = 5;

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

async function readHex(storage: StorageSim, name: string): Promise<string> {
  const read = await storage.read(name);
  if (!read.ok) throw new Error(`read ${name}: ${read.error}`);
  return hexOf(read.value);
}

describe('StorageSim power cut with nothing unsynced', () => {
  it('restart_syncedFiles_keepBytesDrawNothingAndGrowAsCopies', async () => {
    const prng = new Prng(SEED);
    const storage = new StorageSim({ totalBytes: 1 << 20, prng, tornModes: ['prefix'] });
    await storage.append('a', Uint8Array.of(1, 2, 3));
    await storage.appendZeros('a', 100);
    await storage.append('a', Uint8Array.of(4));
    await storage.sync('a');
    await storage.append('b', Uint8Array.of(7, 8));
    await storage.sync('b');
    const aBefore = hexOf(storage.durableBytes('a'));
    storage.powerCut();
    storage.restart();
    expect(hexOf(storage.durableBytes('a'))).toBe(aBefore);
    expect(await readHex(storage, 'a')).toBe(aBefore);
    expect(await readHex(storage, 'b')).toBe('0708');
    // Unsynced bytes after the restart tear as the rule says, drawing as it does (the mode,
    // then the kept length): the draws before were none.
    const twin = new Prng(SEED);
    const tail = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
    await storage.append('a', tail);
    expect(await readHex(storage, 'a')).toBe(aBefore + hexOf(tail));
    storage.powerCut();
    storage.restart();
    twin.below(1);
    const kept = twin.below(tail.length + 1);
    expect(hexOf(storage.durableBytes('a'))).toBe(aBefore + hexOf(tail.subarray(0, kept)));
    expect(await readHex(storage, 'a')).toBe(aBefore + hexOf(tail.subarray(0, kept)));
    expect(await readHex(storage, 'b')).toBe('0708');
    expect(prng.below(1_000_000)).toBe(twin.below(1_000_000));
  });

  it('syncCut_syncedFile_keepsBytesDrawsNothing', async () => {
    const prng = new Prng(SEED);
    const storage = new StorageSim({ totalBytes: 1 << 20, prng, tornModes: ['garbage'] });
    await storage.append('f', Uint8Array.of(9, 9, 9));
    await storage.sync('f');
    storage.armPowerCut(1);
    const cut = await storage.sync('f');
    expect(cut.ok ? null : cut.error).toBe(HalStatus.READER_IO);
    storage.restart();
    expect(hexOf(storage.durableBytes('f'))).toBe('090909');
    await storage.append('f', Uint8Array.of(1));
    await storage.sync('f');
    expect(hexOf(storage.durableBytes('f'))).toBe('09090901');
    expect(prng.below(1_000_000)).toBe(new Prng(SEED).below(1_000_000));
  });
});
