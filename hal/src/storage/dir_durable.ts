// Directories made durable: an entry (a file renamed in, a directory created) survives a power
// cut only once the directory holding it is fsynced.

import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** fsync of the directory `path` itself (its entries). Rejects with node's error. */
export async function dirSync(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `dir` and its missing parents, and makes what it created durable: each directory
 * created and the one holding the first of them are fsynced. Nothing is synced when `dir`
 * was there already. Rejects with node's error.
 */
export async function dirMakeDurable(dir: string): Promise<void> {
  const first = await mkdirParents(dir);
  if (first === undefined) return;
  const top = resolve(first);
  // Bounded: from `dir` up to the first directory mkdir created.
  for (let at = resolve(dir); ; at = dirname(at)) {
    await dirSync(at);
    if (at === top || at === dirname(at)) break;
  }
  await dirSync(dirname(top));
}

/**
 * `mkdir -p`: creates `dir` and its missing parents; resolves with the first directory it
 * created (absolute), undefined when `dir` was there. Not node's `{ recursive: true }`: that
 * retries for ever, at full CPU and deaf to signals, when mkdir answers ENOENT under a parent
 * that exists (any path in /proc, a parent being removed). Here each level is tried at most
 * twice, and the second ENOENT is the answer. Rejects with node's error.
 */
export async function mkdirParents(dir: string): Promise<string | undefined> {
  const path = resolve(dir);
  try {
    return (await mkdirOne(path)) ? path : undefined;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT' || dirname(path) === path) throw error;
  }
  const first = await mkdirParents(dirname(path));
  return (await mkdirOne(path)) ? (first ?? path) : first;
}

/** mkdir of one level: true when made, false when a directory is there already. */
async function mkdirOne(path: string): Promise<boolean> {
  try {
    await mkdir(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST' && (await stat(path)).isDirectory()) return false;
    throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code: unknown = error.code;
  return typeof code === 'string' ? code : undefined;
}
