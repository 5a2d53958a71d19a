// readFileBounded(Sync): a regular file reads as node's readFileSync reads it; a device, a
// FIFO and a file over the bound are refused at once, without growing or waiting.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { readFileBounded, readFileBoundedSync } from '../../src/fs/read_bounded.js';
import { errorCode } from '../../src/fs/error_code.js';
import { Prng } from '../../../host-sim/src/prng.js';

const dir = mkdtempSync(join(tmpdir(), 'shuaka-read-bounded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Both variants, rejections as their error code. */
async function both(path: string, bytesMax: number): Promise<(Buffer | string)[]> {
  const asCode = (error: unknown): string => errorCode(error) ?? String(error);
  const promised = await readFileBounded(path, bytesMax).catch(asCode);
  let blocking: Buffer | string;
  try {
    blocking = readFileBoundedSync(path, bytesMax);
  } catch (error) {
    blocking = asCode(error);
  }
  return [promised, blocking];
}

describe('readFileBounded', () => {
  it('readsRegularFiles_andLinksToThem_asReadFileSyncDoes', async () => {
    const prng = new Prng(0xb0);
    for (const size of [0, 1, 4095, 4096, 65_537, 300_000]) {
      const path = join(dir, `f${size}`);
      writeFileSync(path, prng.bytes(size));
      const link = join(dir, `l${size}`);
      symlinkSync(path, link);
      for (const [got] of [await both(path, size), await both(link, size)]) {
        expect(Buffer.compare(got as Buffer, readFileSync(path))).toBe(0);
      }
      expect(await both(path, size)).toEqual(await both(link, size));
    }
  });

  it('refusesALargerFile_aDevice_andAFifo_atOnce', async () => {
    const big = join(dir, 'big');
    writeFileSync(big, Buffer.alloc(1025));
    expect(await both(big, 1024)).toEqual(['EFBIG', 'EFBIG']);
    expect(await both('/dev/zero', 1 << 20)).toEqual(['EFTYPE', 'EFTYPE']);
    const zero = join(dir, 'zero');
    symlinkSync('/dev/zero', zero);
    expect(await both(zero, 1 << 20)).toEqual(['EFTYPE', 'EFTYPE']);
    // A FIFO with no writer: readFileSync would wait for one for ever.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await both(fifo, 1 << 20)).toEqual(['EFTYPE', 'EFTYPE']);
    expect(await both(dir, 1 << 20)).toEqual(['EFTYPE', 'EFTYPE']);
    expect(await both(join(dir, 'none'), 1)).toEqual(['ENOENT', 'ENOENT']);
  });
});
