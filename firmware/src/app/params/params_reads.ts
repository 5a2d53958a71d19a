// How a parameter load reads its files: node's thread-pool calls, or plain blocking calls at
// start-up, when the validator has nothing else to do yet.
//
// A set is some ten small files; each asynchronous read is four thread-pool round trips (open,
// fstat, read, close), each a wake of a pool thread and of the event loop: ~100 us of CPU a
// file on a busy board, where a blocking read costs a few microseconds. While the validator
// runs (an install from the depot), the reads stay asynchronous so a tap is never held up
// behind a large deny list; the checks, the errors and their messages are the same either way.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';

/** The file-system reads of a parameter load. Each rejects with node's error (code, message). */
export interface ParamsReads {
  /** Names in a directory. */
  list(dir: string): Promise<string[]>;
  /** Size of a file in bytes (follows links, as stat). */
  size(path: string): Promise<number>;
  /** Whole content of a file. */
  read(path: string): Promise<Buffer>;
  /** True when `path` is a directory; false when it is not or cannot be read. */
  isDir(path: string): Promise<boolean>;
}

/** node:fs/promises: for loads while the validator runs (installs, the CLI). */
export const PARAMS_READS_ASYNC: ParamsReads = {
  list: (dir) => readdir(dir),
  size: async (path) => (await stat(path)).size,
  read: (path) => readFile(path),
  isDir: async (path) => {
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  },
};

/**
 * Blocking node:fs calls behind the same promises: for the start-up load (paramsBootLoad),
 * which runs before the validator serves anyone.
 */
export const PARAMS_READS_START: ParamsReads = {
  list: async (dir) => readdirSync(dir),
  size: async (path) => statSync(path).size,
  read: async (path) => readFileSync(path),
  isDir: async (path) => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
};
