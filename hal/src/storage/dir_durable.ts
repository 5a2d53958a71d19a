// Directories made durable: an entry (a file renamed in, a directory created) survives a power
// cut only once the directory holding it is fsynced.

import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { mkdirParents } from '../fs/mkdir_parents.js';

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
