// FileStorage on a real temp directory: append/sync/read, atomic replace, truncate, quota, list.

import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { HalStatus } from '../../src/ports/hal_status.js';
import { FileStorage } from '../../src/storage/file_storage.js';

let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-storage-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openStorage(quotaBytes: number | null): Promise<FileStorage> {
  const opened = await FileStorage.open(dir, { quotaBytes });
  if (!opened.ok) throw new Error(opened.detail);
  return opened.value;
}

describe('FileStorage', () => {
  it('appendSyncRead_returnsTheBytesAndMissingFilesReadEmpty', async () => {
    const storage = await openStorage(null);
    expect(await storage.read('absent.bin')).toEqual({ ok: true, value: new Uint8Array(0) });
    expect((await storage.append('j.bin', Uint8Array.of(1, 2, 3))).ok).toBe(true);
    expect((await storage.append('j.bin', Uint8Array.of(4))).ok).toBe(true);
    expect((await storage.sync('j.bin')).ok).toBe(true);
    const read = await storage.read('j.bin');
    expect(read.ok && [...read.value]).toEqual([1, 2, 3, 4]);
    expect([...(await readFile(join(dir, 'j.bin')))]).toEqual([1, 2, 3, 4]);
    expect((await storage.truncate('j.bin', 2)).ok).toBe(true);
    expect((await storage.append('j.bin', Uint8Array.of(9))).ok).toBe(true);
    const after = await storage.read('j.bin');
    expect(after.ok && [...after.value]).toEqual([1, 2, 9]);
    await storage.close();
  });

  it('directoryRemovedAndMadeAgainWhileOpen_appendAndCapacityFail_nothingWrittenUnseen',
    async () => {
      // `rm -rf DIR && mkdir DIR` under a running validator: its cached handle wrote paid
      // taps into the deleted journal.bin, and nothing said so.
      const storage = await openStorage(null);
      expect((await storage.append('j.bin', Uint8Array.of(1))).ok).toBe(true);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir);
      const appended = await storage.append('j.bin', Uint8Array.of(2));
      expect(appended).toMatchObject({ ok: false, error: HalStatus.READER_IO });
      expect(!appended.ok && appended.detail).toContain('removed or replaced while open');
      const capacity = await storage.capacity();
      expect(capacity).toMatchObject({ ok: false, error: HalStatus.READER_IO });
      expect(!capacity.ok && capacity.detail).toContain('no longer the directory opened');
      // A file never opened before goes nowhere either.
      expect((await storage.append('k.bin', Uint8Array.of(3))).ok).toBe(false);
      await storage.close();
    });

  it('twin: the file alone deleted while open fails its next append; an intact one writes',
    async () => {
      const storage = await openStorage(null);
      expect((await storage.append('j.bin', Uint8Array.of(1))).ok).toBe(true);
      expect((await storage.append('k.bin', Uint8Array.of(1))).ok).toBe(true);
      await rm(join(dir, 'j.bin'));
      expect((await storage.append('j.bin', Uint8Array.of(2))).ok).toBe(false);
      expect((await storage.append('k.bin', Uint8Array.of(2))).ok).toBe(true);
      expect([...(await readFile(join(dir, 'k.bin')))]).toEqual([1, 2]);
      expect((await storage.capacity()).ok).toBe(true);
      await storage.close();
    });

  it('replace_swapsWholeContentsAndLeftoverTemporariesAreRemovedAtOpen', async () => {
    const storage = await openStorage(null);
    await storage.append('p.bin', Uint8Array.of(1, 1, 1));
    expect((await storage.replace('p.bin', Uint8Array.of(2, 2))).ok).toBe(true);
    // The append handle was for the old inode: appends after a replace go to the new file.
    await storage.append('p.bin', Uint8Array.of(3));
    const read = await storage.read('p.bin');
    expect(read.ok && [...read.value]).toEqual([2, 2, 3]);
    await writeFile(join(dir, 'p.bin.tmp'), 'half written by a power cut');
    await storage.close();
    const again = await openStorage(null);
    expect(await again.list()).toEqual({ ok: true, value: ['p.bin'] });
  });

  it('quota_refusesAppendsWithSizeAndCapacityReportsFreeBytes', async () => {
    const storage = await openStorage(100);
    expect((await storage.append('a.bin', new Uint8Array(60))).ok).toBe(true);
    const capacity = await storage.capacity();
    expect(capacity).toEqual({ ok: true, value: { freeBytes: 40, totalBytes: 100 } });
    const refused = await storage.append('a.bin', new Uint8Array(41));
    expect(refused.ok ? null : refused.error).toBe(HalStatus.SIZE);
    expect((await storage.replace('a.bin', new Uint8Array(100))).ok).toBe(true);
    await storage.close();
  });

  it('capacityWithoutQuota_comesFromTheFileSystem', async () => {
    const storage = await openStorage(null);
    const capacity = await storage.capacity();
    expect(capacity.ok).toBe(true);
    if (capacity.ok) {
      expect(capacity.value.totalBytes).toBeGreaterThan(0);
      expect(capacity.value.freeBytes).toBeLessThanOrEqual(capacity.value.totalBytes);
    }
  });

  it('list_passesOverADirectory_andFailsOnADataFileThatIsALinkOrAFifo_namingIt', async () => {
    const storage = await openStorage(null);
    expect((await storage.append('j.bin', Uint8Array.of(1))).ok).toBe(true);
    await mkdir(join(dir, 'old-copies'));
    expect(await storage.list()).toEqual({ ok: true, value: ['j.bin'] });
    await writeFile(join(dir, 'elsewhere.bin'), Uint8Array.of(7));
    await symlink(join(dir, 'elsewhere.bin'), join(dir, 'k.bin'));
    const linked = await storage.list();
    expect(linked.ok ? null : linked.error).toBe(HalStatus.READER_IO);
    expect(linked.ok ? '' : linked.detail).toContain('k.bin is a symbolic link');
    await rm(join(dir, 'k.bin'));
    execFileSync('mkfifo', [join(dir, 'f.bin')]);
    const fifo = await storage.list();
    expect(fifo.ok ? '' : fifo.detail).toContain('f.bin is not a regular file');
    await rm(join(dir, 'f.bin'));
    // A key kept elsewhere by a link (data.key -> a secure place) is none of the storage's.
    await symlink(join(dir, 'elsewhere.bin'), join(dir, 'data.key'));
    expect(await storage.list()).toEqual({ ok: true, value: ['elsewhere.bin', 'j.bin'] });
    await storage.close();
  });

  it('badNames_areAssertions', async () => {
    const storage = await openStorage(null);
    await expect(storage.read('../escape')).rejects.toThrow(/bad storage name/);
    await expect(storage.append('x.tmp', Uint8Array.of(1))).rejects.toThrow(/bad storage name/);
  });
});
