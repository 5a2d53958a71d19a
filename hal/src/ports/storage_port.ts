// Durable storage port: append-only files with an explicit durability barrier.

import type { HalResult } from './hal_status.js';

/**
 * A small flat namespace of named byte files on non-volatile storage (flash, FRAM, a disk).
 * `sync` is the durability barrier: data written before a successful sync survives power loss.
 */
export interface StoragePort {
  /** Whole file contents, or an empty array when the file does not exist. Errors: READER_IO. */
  read(name: string): Promise<HalResult<Uint8Array>>;
  /**
   * Reads up to `into.length` bytes of the file from `offsetBytes` into `into`; resolves with
   * the count read, fewer than asked only at the end of the file (0 past it, or when the file
   * does not exist). Lets a reader walk a large file in a fixed buffer; a port without it is
   * read whole. Errors: READER_IO.
   */
  readAt?(name: string, offsetBytes: number, into: Uint8Array): Promise<HalResult<number>>;
  /** Appends bytes at the end. Errors: READER_IO, SIZE (no space left). */
  append(name: string, bytes: Uint8Array): Promise<HalResult<void>>;
  /**
   * Replaces the whole file atomically and durably (write a temporary, sync, rename, sync the
   * directory): a power cut leaves the old or the new contents, never a mix, and the new
   * contents survive once it returns ok. Errors: READER_IO, SIZE.
   */
  replace(name: string, bytes: Uint8Array): Promise<HalResult<void>>;
  /** Makes every earlier append/replace of `name` durable. Errors: READER_IO. */
  sync(name: string): Promise<HalResult<void>>;
  /** Truncates the file to `lengthBytes` (drops a torn tail); durable after the next `sync`.
   *  Errors: READER_IO. */
  truncate(name: string, lengthBytes: number): Promise<HalResult<void>>;
  /**
   * Names of the files that exist, sorted (temporaries of `replace` are never listed).
   * Parameter sets use it to refuse a set with an extra file. Errors: READER_IO.
   */
  list(): Promise<HalResult<string[]>>;
  /** Size of the file in bytes, 0 when it does not exist. Errors: READER_IO. */
  size(name: string): Promise<HalResult<number>>;
  /**
   * Removes the file durably (the directory entry is gone once it returns ok); absent is ok.
   * The journal reclaims acknowledged segments with it. Errors: READER_IO.
   */
  remove(name: string): Promise<HalResult<void>>;
  /** Free and total capacity in bytes. Errors: READER_IO, NOT_SUPPORTED. */
  capacity(): Promise<HalResult<{ freeBytes: number; totalBytes: number }>>;
}
