// Sysfs attribute access: one small synchronous write or read per call, errors as HalResult values.

import * as fs from 'node:fs';
import { halErr, halOk, HalStatus, type HalResult } from '../ports/hal_status.js';

/**
 * The file operations sysfs drivers need. The board passes NODE_SYSFS_FILES; tests wrap it to
 * record every write with the simulated time, while the real file write still happens.
 *
 * Why synchronous: a sysfs attribute write is handled in the kernel in one `write(2)` (a
 * `store()` callback), never touches a disk and takes microseconds. Doing it synchronously keeps
 * a pattern's edges at exactly the instant the clock woke the player; an async write would
 * finish on libuv's thread pool at some later turn of the event loop, which would jitter the
 * timing on the real board and make it nondeterministic under the simulated clock.
 */
export interface SysfsFiles {
  /**
   * Writes `value` to an existing attribute. Never creates a file: a missing attribute means
   * the device or driver is absent. Errors: NOT_SUPPORTED (no such file), READER_IO (any other
   * failure, e.g. EINVAL for a value the driver rejects, EBUSY, EACCES).
   */
  write(path: string, value: string): HalResult<void>;
  /** Reads a whole attribute. Errors: NOT_SUPPORTED (no such file), READER_IO. */
  read(path: string): HalResult<string>;
  /** True when the path (file or directory) exists. */
  exists(path: string): boolean;
}

/**
 * O_WRONLY | O_TRUNC without O_CREAT, as a shell's `echo 1 > enable` does minus the create.
 * Truncation is a no-op on sysfs and keeps a plain file in a test tree holding exactly the last
 * value written.
 */
const WRITE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_TRUNC;

function errno(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return 'UNKNOWN';
}

function fault<T>(error: unknown, what: string, path: string): HalResult<T> {
  const code = errno(error);
  const status = code === 'ENOENT' ? HalStatus.NOT_SUPPORTED : HalStatus.READER_IO;
  return halErr(status, `${what} ${path}: ${code}`);
}

/** The real thing: node:fs on whatever root the path starts with (`/sys` on a board). */
export const NODE_SYSFS_FILES: SysfsFiles = {
  write(path: string, value: string): HalResult<void> {
    let fd: number | null = null;
    try {
      fd = fs.openSync(path, WRITE_FLAGS);
      // One write(2): sysfs takes the whole value in a single store() call.
      fs.writeSync(fd, value);
      return halOk(undefined);
    } catch (error) {
      return fault(error, 'write', path);
    } finally {
      if (fd !== null) fs.closeSync(fd);
    }
  },
  read(path: string): HalResult<string> {
    try {
      return halOk(fs.readFileSync(path, 'latin1'));
    } catch (error) {
      return fault(error, 'read', path);
    }
  },
  exists(path: string): boolean {
    return fs.existsSync(path);
  },
};
