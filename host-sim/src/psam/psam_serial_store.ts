// Where the PSAM keeps its terminal transaction serial: in memory, or in a file that survives
// the process (the serial must never repeat, or two debits would share a TAC input).

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

/** The persistent next terminal transaction serial (0..2^32-1). */
export interface PsamSerialStore {
  /** The next serial to hand out. */
  read(): number;
  /** Makes `value` the next serial, durably, before the PSAM answers. */
  write(value: number): void;
}

/** A store in memory (a PSAM whose life is the process's). */
export function memorySerialStore(initial: number): PsamSerialStore {
  let value = initial;
  return {
    read: () => value,
    write: (next: number) => {
      value = next;
    },
  };
}

const SERIAL_FILE_BYTES = 8;

/**
 * A store in `path`: the serial as 4 bytes big-endian followed by its complement, replaced by
 * write-fsync-rename so a power cut leaves the old or the new value, never a torn one. A missing
 * file starts at `initial`. Throws Error on a file of the wrong size or a complement that does
 * not match (a corrupt serial must stop the PSAM, never restart it at 0).
 */
export function fileSerialStore(path: string, initial: number): PsamSerialStore {
  const load = (): number => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return initial;
      throw error;
    }
    const value = bytes.length === SERIAL_FILE_BYTES ? bytes.readUInt32BE(0) : -1;
    if (value < 0 || (bytes.readUInt32BE(4) ^ 0xffffffff) >>> 0 !== value) {
      throw new Error(`PSAM serial file ${path} is corrupt`);
    }
    return value;
  };
  let value = load();
  return {
    read: () => value,
    write: (next: number) => {
      const bytes = Buffer.alloc(SERIAL_FILE_BYTES);
      bytes.writeUInt32BE(next >>> 0, 0);
      bytes.writeUInt32BE((next ^ 0xffffffff) >>> 0, 4);
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, bytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      value = next;
    },
  };
}
