// Reading a whole file that somebody else named: a regular file of bounded size, or an error.
// readFile on a link to /dev/zero grows until the heap gives out (a parameter file: 6.9 GB in
// 30 s), and on a FIFO it waits for a writer for ever.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** A PEM key or certificate file, with room for a chain and comments. */
export const PEM_BYTES_MAX = 1 << 20;

/** Opening never waits for a FIFO's writer; reads of a regular file are not affected. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** The error of a file that is no regular file, or larger than allowed (node-like: a code). */
function refusal(path: string, code: 'EFTYPE' | 'EFBIG', what: string): Error {
  return Object.assign(new Error(`${code}: ${what}, open '${path}'`), { code, path });
}

function notRegular(path: string): Error {
  return refusal(path, 'EFTYPE', 'not a regular file (a directory, a device, a pipe or a socket)');
}

function tooLarge(path: string, bytesMax: number): Error {
  return refusal(path, 'EFBIG', `larger than ${bytesMax} bytes`);
}

/**
 * The content of the regular file `path` (links followed) if it holds at most `bytesMax`
 * bytes. Rejects with node's error, or one whose code is EFTYPE (not a regular file) or EFBIG
 * (larger, or grew while read).
 */
export async function readFileBounded(path: string, bytesMax: number): Promise<Buffer> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw notRegular(path);
    if (stat.size > bytesMax) throw tooLarge(path, bytesMax);
    const out = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(out, length, out.length - length, length);
      if (bytesRead === 0) return out.subarray(0, length);
      length += bytesRead;
      if (length > stat.size) throw refusal(path, 'EFBIG', 'grew while read');
    }
  } finally {
    await handle.close();
  }
}

/** readFileBounded, blocking (start-up, before anyone is served). */
export function readFileBoundedSync(path: string, bytesMax: number): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw notRegular(path);
    if (stat.size > bytesMax) throw tooLarge(path, bytesMax);
    const out = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, out, length, out.length - length, length);
      if (bytesRead === 0) return out.subarray(0, length);
      length += bytesRead;
      if (length > stat.size) throw refusal(path, 'EFBIG', 'grew while read');
    }
  } finally {
    closeSync(fd);
  }
}
