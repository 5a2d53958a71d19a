// `mkdir -p` that ends: a helper every layer may use (node:fs only, no port behind it).

import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { errorCode } from './error_code.js';

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

/** `mkdirParents` for synchronous callers (command-line set-up). Throws node's error. */
export function mkdirParentsSync(dir: string, mode?: number): string | undefined {
  const path = resolve(dir);
  try {
    return mkdirOneSync(path, mode) ? path : undefined;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT' || dirname(path) === path) throw error;
  }
  const first = mkdirParentsSync(dirname(path), mode);
  return mkdirOneSync(path, mode) ? (first ?? path) : first;
}

function mkdirOneSync(path: string, mode: number | undefined): boolean {
  try {
    mkdirSync(path, mode === undefined ? undefined : { mode });
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST' && statSync(path).isDirectory()) return false;
    throw error;
  }
}
