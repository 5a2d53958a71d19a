// Writes that end only when every byte is written: a helper every layer may use (node:fs only).
//
// One write may take fewer bytes than given (a file-size limit, a disk filling up); the rest
// goes in another write, which then fails with the reason (EFBIG, ENOSPC). Taken as written
// whole, a short write left a truncated file behind a success.

import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** Writes all of `bytes` at the handle's position. Rejects with node's error. */
export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  // Bounded: each write makes progress or throws.
  for (let at = 0; at < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
    at += progressOf(bytesWritten, bytes.length - at);
  }
}

/** writeAll on a file descriptor, synchronously. Throws node's error. */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) {
    at += progressOf(writeSync(fd, bytes, at, bytes.length - at), bytes.length - at);
  }
}

function progressOf(written: number, left: number): number {
  if (written <= 0) throw new Error(`short write: ${left} bytes not written`);
  return written;
}
