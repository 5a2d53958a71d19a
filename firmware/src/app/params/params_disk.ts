// The file system of the parameter code: what a load reads and what an install writes. The
// validator uses node:fs (PARAMS_DISK, or PARAMS_DISK_START for the start-up load); the swarm
// keeps its parameter directories in memory (host-sim/src/params_disk_sim.ts), so that its
// boots and installs wait on no thread pool and touch no real disk.
//
// A set is some ten small files; each asynchronous read is four thread-pool round trips (open,
// fstat, read, close), each a wake of a pool thread and of the event loop: ~100 us of CPU a
// file on a busy board, where a blocking read costs a few microseconds. While the validator
// runs (an install from the depot), the reads stay asynchronous so a tap is never held up
// behind a large deny list; the checks, the errors and their messages are the same either way.

import { readdirSync, statSync } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';

import { mkdirParents } from '../../../../hal/src/fs/mkdir_parents.js';
import { readFileBounded, readFileBoundedSync } from '../../../../hal/src/fs/read_bounded.js';
import { DENY_LIST_IMAGE_BYTES_MAX } from '../deny_list/deny_list.js';
import { PARAMS_FILE_BYTES_MAX } from './params_files.js';

/**
 * No file of a set, nor a pointer or floor file, is read past the largest file a set may hold:
 * a set comes from outside (a download, an SD card), and one of its names may be a link to a
 * device or a pipe (a link to /dev/zero grew `params verify` to 6.9 GB in 30 s).
 */
export const PARAMS_READ_BYTES_MAX = Math.max(PARAMS_FILE_BYTES_MAX, DENY_LIST_IMAGE_BYTES_MAX);

/** The reads of a parameter load. Each rejects with node's error (code, message). */
export interface ParamsReads {
  /** Names in a directory. */
  list(dir: string): Promise<string[]>;
  /** Size of a file in bytes (follows links, as stat). */
  size(path: string): Promise<number>;
  /**
   * Whole content of a regular file (links followed); a device, a pipe or a file larger than
   * any a set may hold is refused (code EFTYPE, EFBIG).
   */
  read(path: string): Promise<Buffer>;
  /** True when `path` is a directory; false when it is not or cannot be read. */
  isDir(path: string): Promise<boolean>;
}

/** A file open for writing (created or truncated). */
export interface ParamsWriteHandle {
  /** Appends `bytes[from, from + length)`. */
  write(bytes: Uint8Array, from: number, length: number): Promise<void>;
  /** Makes what was written durable (fsync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Reads and writes of the parameter code. Each rejects with node's error (code, message). */
export interface ParamsDisk extends ParamsReads {
  /** Creates `dir` and its missing parents; an existing directory is fine. */
  mkdirs(dir: string): Promise<void>;
  /** Removes `path` and everything under it; a missing path is fine. */
  removeTree(path: string): Promise<void>;
  /** Creates or truncates the file `path` (its directory must exist). */
  create(path: string): Promise<ParamsWriteHandle>;
  /** Renames a file over another (atomic on one file system). */
  rename(from: string, to: string): Promise<void>;
  /** fsync of a directory: makes created, renamed and removed entries durable (Linux). */
  syncDir(dir: string): Promise<void>;
}

/** node:fs writes, shared by both node disks. */
const NODE_WRITES = {
  // Not node's recursive mkdir: it spins for ever on ENOENT under an existing parent (/proc).
  mkdirs: async (dir: string): Promise<void> => {
    await mkdirParents(dir);
  },
  removeTree: (path: string): Promise<void> => rm(path, { recursive: true, force: true }),
  create: async (path: string): Promise<ParamsWriteHandle> => {
    const handle = await open(path, 'w');
    return {
      write: async (bytes, from, length) => {
        await handle.write(bytes, from, length);
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  rename: (from: string, to: string): Promise<void> => rename(from, to),
  syncDir: async (dir: string): Promise<void> => {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** node:fs/promises: for loads and installs while the validator runs, and for the CLI. */
export const PARAMS_DISK: ParamsDisk = {
  list: (dir) => readdir(dir),
  size: async (path) => (await stat(path)).size,
  read: (path) => readFileBounded(path, PARAMS_READ_BYTES_MAX, { regular: true }),
  isDir: async (path) => {
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  },
  ...NODE_WRITES,
};

/**
 * Blocking node:fs reads behind the same promises: for the start-up load (paramsBootLoad),
 * which runs before the validator serves anyone.
 */
export const PARAMS_DISK_START: ParamsDisk = {
  list: async (dir) => readdirSync(dir),
  size: async (path) => statSync(path).size,
  read: async (path) => readFileBoundedSync(path, PARAMS_READ_BYTES_MAX, { regular: true }),
  isDir: async (path) => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
  ...NODE_WRITES,
};
