// File-backed StoragePort: one directory, fsync as the durability barrier, atomic replace.

import assert from 'node:assert';
import {
  open, readFile, readdir, rename, stat, statfs, truncate, unlink,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import { HalStatus, halErr, halOk } from '../ports/hal_status.js';
import { dirMakeDurable, dirSync } from './dir_durable.js';
import { writeAll } from '../fs/write_all.js';
import type { HalResult } from '../ports/hal_status.js';
import type { StoragePort } from '../ports/storage_port.js';
import { errorCode } from '../fs/error_code.js';

/** File names: flat, short, no path separators; `.tmp` is reserved for replace temporaries. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const TEMP_SUFFIX = '.tmp';
/** Names of the data files a storage keeps: journal segments and checkpoints, ledger days. */
const DATA_FILE_NAME = /\.(bin|ckpt|log)$/;
/** Open append handles kept at once; the journal needs one, parameters none. */
const HANDLES_MAX = 8;

/** Options of a FileStorage. */
export interface FileStorageOptions {
  /**
   * Caps the bytes this directory may hold (a partition of its own in miniature), so that
   * "storage nearly full" can be exercised on a big disk. Null: only the file system limits.
   */
  readonly quotaBytes: number | null;
  /**
   * TEST HOOK of the real-process crash test: SIGKILL this process at one mutating call.
   * Absent or null (production) never kills. Only a board reading an operator's explicit
   * request (`SHUAKA_CRASH_AT`) sets it.
   */
  readonly crashAt?: FileStorageCrashPoint | null;
  /**
   * Read only (verify, export): the directory must exist, nothing in it is created or
   * removed, and every mutating call fails with NOT_SUPPORTED.
   */
  readonly readOnly?: boolean;
}

/**
 * Where the crash-test hook kills: at the `write`-th mutating call (append, replace, sync,
 * truncate, remove; 1-based, counted over this FileStorage's life), either `before` it touches the
 * file or `after` it returned. SIGKILL is a process crash, not a power cut: bytes handed to
 * the kernel survive it even unsynced, so `after` an append is the same file as `before` its
 * sync; `before` an append and `after` the previous sync differ by what the process did in
 * between (the card exchange), which is why both variants exist.
 */
export interface FileStorageCrashPoint {
  readonly when: 'before' | 'after';
  readonly write: number;
}

/**
 * Parses the crash-test hook's text form `before:K` or `after:K` (K >= 1); null when the text
 * is anything else, so a typo refuses to start instead of silently running without the hook.
 */
export function fileStorageCrashPointParse(text: string): FileStorageCrashPoint | null {
  const match = /^(before|after):([1-9][0-9]{0,8})$/.exec(text);
  if (match === null) return null;
  return { when: match[1] === 'before' ? 'before' : 'after', write: Number(match[2]) };
}

/**
 * StoragePort over one directory of a POSIX file system (the validator's data partition).
 *
 * Durability follows the usual Linux rules: data reaches the medium at fsync of the file, and a
 * new or renamed directory entry only at fsync of the directory, so `sync` fsyncs the
 * directory too the first time after it created the file.
 */
export class FileStorage implements StoragePort {
  private readonly handles = new Map<string, FileHandle>();
  /** Files created since the directory was last fsynced. */
  private readonly dirDirtyNames = new Set<string>();
  /** Mutating calls so far (the crash-test hook's counter). */
  private writes = 0;

  private constructor(
    readonly dirPath: string,
    private readonly options: FileStorageOptions,
    /** The directory opened (device and inode); null when opened read only. */
    private readonly dirId: FileId | null = null,
  ) {}

  /**
   * Opens (creating it if needed) the directory `dirPath`. Leftover replace temporaries from a
   * power cut are removed. Errors: READER_IO.
   */
  static async open(dirPath: string, options: FileStorageOptions): Promise<HalResult<FileStorage>> {
    assert(options.quotaBytes === null || options.quotaBytes > 0, 'quotaBytes must be positive');
    const crashAt = options.crashAt ?? null;
    assert(crashAt === null || crashAt.write >= 1, 'crashAt.write counts from 1');
    try {
      if (options.readOnly === true) {
        if (!(await stat(dirPath)).isDirectory()) throw new Error('not a directory');
        return halOk(new FileStorage(dirPath, options));
      }
      await dirMakeDurable(dirPath);
      for (const entry of await readdir(dirPath)) {
        if (entry.endsWith(TEMP_SUFFIX)) await unlink(join(dirPath, entry));
      }
      return halOk(new FileStorage(dirPath, options, fileIdOf(await stat(dirPath))));
    } catch (error) {
      return halErr(HalStatus.READER_IO, `open ${dirPath}: ${describe(error)}`);
    }
  }

  async read(name: string): Promise<HalResult<Uint8Array>> {
    const path = this.path(name);
    try {
      const buffer = await readFile(path);
      return halOk(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return halOk(new Uint8Array(0));
      return halErr(HalStatus.READER_IO, `read ${name}: ${describe(error)}`);
    }
  }

  async readAt(name: string, offsetBytes: number, into: Uint8Array): Promise<HalResult<number>> {
    assert(Number.isSafeInteger(offsetBytes) && offsetBytes >= 0, 'offsetBytes');
    let handle: FileHandle;
    try {
      handle = await open(this.path(name), 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return halOk(0);
      return halErr(HalStatus.READER_IO, `read ${name}: ${describe(error)}`);
    }
    try {
      let filled = 0;
      // Bounded: each read either adds bytes or meets the end of the file (0 bytes).
      while (filled < into.length) {
        const { bytesRead } = await handle.read(
          into, filled, into.length - filled, offsetBytes + filled,
        );
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return halOk(filled);
    } catch (error) {
      return halErr(HalStatus.READER_IO, `read ${name}: ${describe(error)}`);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async append(name: string, bytes: Uint8Array): Promise<HalResult<void>> {
    return this.crashHooked(() => this.appendUnhooked(name, bytes));
  }

  private async appendUnhooked(name: string, bytes: Uint8Array): Promise<HalResult<void>> {
    const path = this.path(name);
    try {
      if (!(await this.fitsQuota(bytes.length, name, false))) {
        return halErr(HalStatus.SIZE, `append ${name}: quota of ${this.options.quotaBytes} bytes`);
      }
      let handle = this.handles.get(name);
      if (handle === undefined) {
        const replaced = await this.dirReplaced();
        if (replaced !== null) return halErr(HalStatus.READER_IO, `append ${name}: ${replaced}`);
        const existed = await exists(path);
        handle = await open(path, 'a');
        if (!existed) this.dirDirtyNames.add(name);
        await this.handlesEvictFor(name);
        this.handles.set(name, handle);
      } else if (!(await sameFile(handle, path))) {
        // Written through, the records would go to a file no reader finds (the directory
        // removed and made again, the file deleted, a file system mounted over it).
        return halErr(HalStatus.READER_IO, `append ${name}: ${path} was removed or replaced `
          + 'while open: records written now would be lost');
      }
      await writeAll(handle, bytes);
      return halOk(undefined);
    } catch (error) {
      return halErr(ioStatus(error), `append ${name}: ${describe(error)}`);
    }
  }

  async replace(name: string, bytes: Uint8Array): Promise<HalResult<void>> {
    return this.crashHooked(() => this.replaceUnhooked(name, bytes));
  }

  private async replaceUnhooked(name: string, bytes: Uint8Array): Promise<HalResult<void>> {
    const path = this.path(name);
    const tempPath = path + TEMP_SUFFIX;
    try {
      if (!(await this.fitsQuota(bytes.length, name, true))) {
        return halErr(HalStatus.SIZE, `replace ${name}: quota of ${this.options.quotaBytes} bytes`);
      }
      await this.handleClose(name);
      const handle = await open(tempPath, 'w');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tempPath, path);
      await this.syncDir();
      return halOk(undefined);
    } catch (error) {
      await unlink(tempPath).catch(() => undefined);
      return halErr(ioStatus(error), `replace ${name}: ${describe(error)}`);
    }
  }

  async sync(name: string): Promise<HalResult<void>> {
    return this.crashHooked(() => this.syncUnhooked(name));
  }

  private async syncUnhooked(name: string): Promise<HalResult<void>> {
    const path = this.path(name);
    try {
      const cached = this.handles.get(name);
      if (cached !== undefined) {
        await cached.sync();
      } else if (await exists(path)) {
        const handle = await open(path, 'r');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
      if (this.dirDirtyNames.has(name)) await this.syncDir();
      return halOk(undefined);
    } catch (error) {
      return halErr(HalStatus.READER_IO, `sync ${name}: ${describe(error)}`);
    }
  }

  async truncate(name: string, lengthBytes: number): Promise<HalResult<void>> {
    return this.crashHooked(() => this.truncateUnhooked(name, lengthBytes));
  }

  private async truncateUnhooked(name: string, lengthBytes: number): Promise<HalResult<void>> {
    assert(Number.isSafeInteger(lengthBytes) && lengthBytes >= 0, 'lengthBytes');
    const path = this.path(name);
    try {
      const sizeBytes = (await stat(path)).size;
      assert(lengthBytes <= sizeBytes, `truncate ${name} to ${lengthBytes} > size ${sizeBytes}`);
      await truncate(path, lengthBytes);
      return halOk(undefined);
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      return halErr(HalStatus.READER_IO, `truncate ${name}: ${describe(error)}`);
    }
  }

  /**
   * The regular files (temporaries left out), sorted. Other entries are passed over, but one
   * named as the data this storage keeps (DATA_FILE_NAME: a segment, a checkpoint, a ledger
   * day) that is a symbolic link, a FIFO or a device fails the listing: a link named like a
   * segment was invisible to every reader while appends wrote through it into another file.
   * A link named otherwise (data.key kept elsewhere) is left to whoever reads it.
   */
  async list(): Promise<HalResult<string[]>> {
    try {
      const entries = await readdir(this.dirPath, { withFileTypes: true });
      const foreign = entries.find((entry) => !entry.isFile() && !entry.isDirectory()
        && DATA_FILE_NAME.test(entry.name));
      if (foreign !== undefined) {
        return halErr(HalStatus.READER_IO, `list ${this.dirPath}: ${foreign.name} is `
          + `${foreign.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}: the `
          + 'storage holds regular files only');
      }
      const names = entries
        .filter((entry) => entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX))
        .map((entry) => entry.name)
        .sort();
      return halOk(names);
    } catch (error) {
      return halErr(HalStatus.READER_IO, `list ${this.dirPath}: ${describe(error)}`);
    }
  }

  async size(name: string): Promise<HalResult<number>> {
    try {
      return halOk((await stat(this.path(name))).size);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return halOk(0);
      return halErr(HalStatus.READER_IO, `size ${name}: ${describe(error)}`);
    }
  }

  async remove(name: string): Promise<HalResult<void>> {
    return this.crashHooked(() => this.removeUnhooked(name));
  }

  private async removeUnhooked(name: string): Promise<HalResult<void>> {
    const path = this.path(name);
    try {
      await this.handleClose(name);
      await unlink(path);
      this.dirDirtyNames.delete(name);
      await this.syncDir();
      return halOk(undefined);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return halOk(undefined);
      return halErr(HalStatus.READER_IO, `remove ${name}: ${describe(error)}`);
    }
  }

  async capacity(): Promise<HalResult<{ freeBytes: number; totalBytes: number }>> {
    try {
      const replaced = await this.dirReplaced();
      if (replaced !== null) return halErr(HalStatus.READER_IO, `capacity: ${replaced}`);
      const fs = await statfs(this.dirPath);
      const fsFreeBytes = fs.bavail * fs.bsize;
      const fsTotalBytes = fs.blocks * fs.bsize;
      const quotaBytes = this.options.quotaBytes;
      if (quotaBytes === null) return halOk({ freeBytes: fsFreeBytes, totalBytes: fsTotalBytes });
      const usedBytes = await this.usedBytes();
      const freeBytes = Math.max(0, Math.min(fsFreeBytes, quotaBytes - usedBytes));
      return halOk({ freeBytes, totalBytes: quotaBytes });
    } catch (error) {
      return halErr(HalStatus.READER_IO, `capacity ${this.dirPath}: ${describe(error)}`);
    }
  }

  /** Closes every cached handle. Data not yet synced stays where the kernel has it. */
  async close(): Promise<void> {
    for (const name of [...this.handles.keys()]) await this.handleClose(name);
  }

  /**
   * Runs one mutating call under the crash-test hook. SIGKILL to oneself is delivered before
   * `process.kill` returns to JavaScript, so nothing after it runs: no write, no sync, no
   * promise settles.
   */
  private async crashHooked(call: () => Promise<HalResult<void>>): Promise<HalResult<void>> {
    if (this.options.readOnly === true) {
      return halErr(HalStatus.NOT_SUPPORTED, `${this.dirPath} is open read only`);
    }
    const crashAt = this.options.crashAt ?? null;
    this.writes += 1;
    const kill = crashAt !== null && crashAt.write === this.writes;
    if (kill && crashAt.when === 'before') process.kill(process.pid, 'SIGKILL');
    const result = await call();
    if (kill && crashAt.when === 'after') process.kill(process.pid, 'SIGKILL');
    return result;
  }

  /**
   * Why the directory at dirPath is not the one opened (removed and made again, moved away
   * with another put in its place, mounted over), or null when it is (or is gone: the call
   * that needs it fails on its own).
   */
  private async dirReplaced(): Promise<string | null> {
    const opened = this.dirId;
    if (opened === null) return null;
    const now = await stat(this.dirPath).catch(() => null);
    if (now === null || (now.dev === opened.dev && now.ino === opened.ino)) return null;
    return `${this.dirPath} is no longer the directory opened (removed and made again, or `
      + 'mounted over): its files are not the ones being kept; restart to open it anew';
  }

  private path(name: string): string {
    assert(NAME_PATTERN.test(name) && !name.endsWith(TEMP_SUFFIX), `bad storage name ${name}`);
    return join(this.dirPath, name);
  }

  private async handleClose(name: string): Promise<void> {
    const handle = this.handles.get(name);
    if (handle === undefined) return;
    this.handles.delete(name);
    await handle.close();
  }

  private async handlesEvictFor(name: string): Promise<void> {
    if (this.handles.size < HANDLES_MAX) return;
    const oldest = [...this.handles.keys()].find((key) => key !== name);
    if (oldest !== undefined) await this.handleClose(oldest);
  }

  private async syncDir(): Promise<void> {
    await dirSync(this.dirPath);
    this.dirDirtyNames.clear();
  }

  private async usedBytes(): Promise<number> {
    let usedBytes = 0;
    for (const entry of await readdir(this.dirPath, { withFileTypes: true })) {
      if (entry.isFile()) usedBytes += (await stat(join(this.dirPath, entry.name))).size;
    }
    return usedBytes;
  }

  private async fitsQuota(addBytes: number, name: string, replacing: boolean): Promise<boolean> {
    const quotaBytes = this.options.quotaBytes;
    if (quotaBytes === null) return true;
    let usedBytes = await this.usedBytes();
    if (replacing && (await exists(this.path(name)))) {
      usedBytes -= (await stat(this.path(name))).size;
    }
    return usedBytes + addBytes <= quotaBytes;
  }
}

/** A file's identity on its machine. */
interface FileId {
  readonly dev: number;
  readonly ino: number;
}

function fileIdOf(stats: { dev: number; ino: number }): FileId {
  return { dev: stats.dev, ino: stats.ino };
}

/** True when `path` names the file `handle` has open. */
async function sameFile(handle: FileHandle, path: string): Promise<boolean> {
  const [open, named] = await Promise.all([handle.stat(), stat(path).catch(() => null)]);
  return named !== null && named.dev === open.dev && named.ino === open.ino;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}


/** No space on the medium is a SIZE error (the caller can go out of service); the rest is I/O. */
function ioStatus(error: unknown): HalStatus {
  const code = errorCode(error);
  const full = code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG';
  return full ? HalStatus.SIZE : HalStatus.READER_IO;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
