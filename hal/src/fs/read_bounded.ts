// Reading a whole file that somebody else named, up to a bound. readFile on a link to
// /dev/zero grows until the heap gives out (a parameter file: 6.9 GB in 30 s).
//
// Two kinds of caller:
// - `readFileBounded`: a file an operator names on the command line. A pipe is fine there (a
//   key given as <(vault read ...), a trace piped in): it is read to its end, up to the bound.
// - `regular: true`: what comes from outside and must be a file (a parameter set from a
//   download or an SD card), or what is read on every tap (the stop file). Anything but a
//   regular file is refused at once; the open never waits for a FIFO's writer.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** A PEM key or certificate file, with room for a chain and comments. */
export const PEM_BYTES_MAX = 1 << 20;

/** How a file is read. */
export interface ReadBoundedOptions {
  /** Only a regular file (links followed); the open does not wait for a FIFO's writer. */
  readonly regular?: boolean;
}

/** Pipes and devices are read in pieces of this size (their size is unknown). */
const CHUNK_BYTES = 64 << 10;

function refusal(path: string, code: 'EFTYPE' | 'EFBIG', what: string): Error {
  return Object.assign(new Error(`${code}: ${what}, open '${path}'`), { code, path });
}

function flagsOf(options: ReadBoundedOptions): number {
  return options.regular === true ? constants.O_RDONLY | constants.O_NONBLOCK : constants.O_RDONLY;
}

/** Throws for a kind of file this read does not take; else the buffer to read into. */
function bufferFor(path: string, stat: Stats, bytesMax: number, options: ReadBoundedOptions)
  : Buffer {
  const regular = stat.isFile();
  if (!regular && (options.regular === true || stat.isDirectory())) {
    throw refusal(path, 'EFTYPE',
      'not a regular file (a directory, a device, a pipe or a socket)');
  }
  if (regular && stat.size > bytesMax) {
    throw refusal(path, 'EFBIG', `larger than ${bytesMax} bytes`);
  }
  // One byte more than expected: a regular file that grew, or a stream past the bound, shows.
  return Buffer.alloc(regular ? stat.size + 1 : Math.min(bytesMax, CHUNK_BYTES) + 1);
}

/**
 * `out` after `length` bytes were read into it: the same while it has room, else grown (up to
 * limit + 1). Throws EFBIG past `limit`: a stream's bound, or a regular file's size at the
 * start (it grew while read).
 */
function collect(path: string, out: Buffer, length: number, limit: number, regular: boolean)
  : Buffer {
  if (length > limit) {
    throw refusal(path, 'EFBIG', regular ? 'grew while read' : `larger than ${limit} bytes`);
  }
  if (length < out.length) return out;
  const grown = Buffer.alloc(Math.min(limit + 1, out.length * 2));
  out.copy(grown, 0, 0, length);
  return grown;
}

/**
 * The content of the file `path` if it holds at most `bytesMax` bytes: a regular file (links
 * followed), or with `regular` unset a pipe or device too, read to its end. Rejects with
 * node's error, or one whose code is EFTYPE (a directory; with `regular`, anything but a
 * regular file) or EFBIG (larger, or a regular file that grew while read).
 */
export async function readFileBounded(
  path: string, bytesMax: number, options: ReadBoundedOptions = {},
): Promise<Buffer> {
  const handle = await open(path, flagsOf(options));
  try {
    const stat = await handle.stat();
    const regular = stat.isFile();
    let out = bufferFor(path, stat, bytesMax, options);
    const limit = regular ? stat.size : bytesMax;
    for (let length = 0; ;) {
      const { bytesRead } = await handle.read(out, length, out.length - length, null);
      if (bytesRead === 0) return out.subarray(0, length);
      length += bytesRead;
      out = collect(path, out, length, limit, regular);
    }
  } finally {
    await handle.close();
  }
}

/** readFileBounded, blocking (start-up, a tap's stop file, the depot's one-shot commands). */
export function readFileBoundedSync(
  path: string, bytesMax: number, options: ReadBoundedOptions = {},
): Buffer {
  const fd = openSync(path, flagsOf(options));
  try {
    const stat = fstatSync(fd);
    const regular = stat.isFile();
    let out = bufferFor(path, stat, bytesMax, options);
    const limit = regular ? stat.size : bytesMax;
    for (let length = 0; ;) {
      const bytesRead = readSync(fd, out, length, out.length - length, null);
      if (bytesRead === 0) return out.subarray(0, length);
      length += bytesRead;
      out = collect(path, out, length, limit, regular);
    }
  } finally {
    closeSync(fd);
  }
}
