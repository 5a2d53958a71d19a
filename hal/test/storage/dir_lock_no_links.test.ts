// The data directory's lock on a file system without hard links (FAT on an SD card): link()
// fails there with EPERM, which this machine's file systems cannot produce, so link alone is
// replaced by one that fails so; every other call is the real one.

import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof import('node:fs/promises')>();
  const link = async (): Promise<void> => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  };
  return { ...real, default: { ...real, link }, link };
});

const { dirLockAcquire, DIR_LOCK_NAME } = await import('../../src/storage/dir_lock.js');

describe('dir_lock without hard links', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('takes the lock by an exclusive create, refuses a second taker, releases it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shuaka-lock-nolink-'));
    const lock = await dirLockAcquire(dir);
    expect(lock.ok).toBe(true);
    if (!lock.ok) return;
    expect((await readFile(join(dir, DIR_LOCK_NAME), 'utf8')).split(' ')[0])
      .toBe(`${process.pid}`);
    // No half-made file of the taker's own is left beside it.
    expect(await readdir(dir)).toEqual([DIR_LOCK_NAME]);
    const second = await dirLockAcquire(dir);
    expect(second).toMatchObject({ ok: false, error: 'BUSY' });
    await lock.value.release();
    expect(await readdir(dir)).toEqual([]);
  });
});
