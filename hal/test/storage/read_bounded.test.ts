// readFileBounded(Sync): a regular file reads as node's readFileSync reads it; a pipe reads to
// its end, up to the bound; /dev/zero stops at the bound. With `regular`, a device, a FIFO and
// a directory are refused at once, without waiting for a writer.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import {
  readFileBounded, readFileBoundedSync, type ReadBoundedOptions,
} from '../../src/fs/read_bounded.js';
import { errorCode } from '../../src/fs/error_code.js';
import { Prng } from '../../../host-sim/src/prng.js';

const dir = mkdtempSync(join(tmpdir(), 'shuaka-read-bounded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const asCode = (error: unknown): string => errorCode(error) ?? String(error);

/** `read()`, or the code of what it threw. */
function syncOr(read: () => Buffer): Buffer | string {
  try {
    return read();
  } catch (error) {
    return asCode(error);
  }
}

/** Both variants, rejections as their error code. */
async function both(path: string, bytesMax: number, options: ReadBoundedOptions = {})
  : Promise<(Buffer | string)[]> {
  const promised = await readFileBounded(path, bytesMax, options).catch(asCode);
  return [promised, syncOr(() => readFileBoundedSync(path, bytesMax, options))];
}

/** A FIFO that `bytes` are written into by another process (a shell's <(...)). */
function fifoFed(name: string, bytes: Buffer): { path: string; done: Promise<unknown> } {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  const source = join(dir, `${name}.src`);
  writeFileSync(source, bytes);
  const child = spawn('sh', ['-c', `cat '${source}' > '${path}'`], { stdio: 'ignore' });
  return { path, done: new Promise((resolve) => child.on('exit', resolve)) };
}

describe('readFileBounded', () => {
  it('readsRegularFiles_andLinksToThem_asReadFileSyncDoes', async () => {
    const prng = new Prng(0xb0);
    for (const size of [0, 1, 4095, 4096, 65_537, 300_000]) {
      const path = join(dir, `f${size}`);
      writeFileSync(path, prng.bytes(size));
      const link = join(dir, `l${size}`);
      symlinkSync(path, link);
      for (const options of [{}, { regular: true }]) {
        for (const got of [...await both(path, size, options), ...await both(link, size)]) {
          expect(Buffer.compare(got as Buffer, readFileSync(path))).toBe(0);
        }
      }
      expect(await both(path, size - 1)).toEqual(['EFBIG', 'EFBIG']);
    }
  });

  it('readsAPipeToItsEnd_upToTheBound_andStopsDevZeroThere', async () => {
    const bytes = Buffer.from(new Prng(0xb1).bytes(200_000));
    for (const variant of ['async', 'sync'] as const) {
      const fed = fifoFed(`pipe-${variant}`, bytes);
      const got = variant === 'async' ? await readFileBounded(fed.path, 200_000)
        : readFileBoundedSync(fed.path, 200_000);
      expect(Buffer.compare(got, bytes)).toBe(0);
      await fed.done;
      const over = fifoFed(`over-${variant}`, bytes);
      const refused = variant === 'async'
        ? await readFileBounded(over.path, 199_999).catch(asCode)
        : syncOr(() => readFileBoundedSync(over.path, 199_999));
      expect(refused).toBe('EFBIG');
      await over.done;
    }
    expect(await both('/dev/zero', 1 << 20)).toEqual(['EFBIG', 'EFBIG']);
    expect(await both(dir, 1 << 20)).toEqual(['EFTYPE', 'EFTYPE']);
    expect(await both(join(dir, 'none'), 1)).toEqual(['ENOENT', 'ENOENT']);
  });

  it('regular_refusesADevice_aLinkToIt_aFifo_andADirectory_atOnce', async () => {
    const regular = { regular: true };
    expect(await both('/dev/zero', 1 << 20, regular)).toEqual(['EFTYPE', 'EFTYPE']);
    const zero = join(dir, 'zero');
    symlinkSync('/dev/zero', zero);
    expect(await both(zero, 1 << 20, regular)).toEqual(['EFTYPE', 'EFTYPE']);
    // A FIFO with no writer: readFileSync would wait for one for ever.
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(await both(fifo, 1 << 20, regular)).toEqual(['EFTYPE', 'EFTYPE']);
    expect(await both(dir, 1 << 20, regular)).toEqual(['EFTYPE', 'EFTYPE']);
  });
});
