// The parameter code's file system in memory (ParamsDisk), for the swarm: its boots and
// installs run the firmware's own A/B and floor code with no thread pool and no real disk,
// so a run does no I/O between two clock wakes and leaves nothing behind.
//
// What a power cut leaves is what the firmware wrote before the cut, as on a real file system
// whose page cache survives the cut (the swarm's cuts are write-point hooks that throw): a
// torn half file, a slot without its pointer. Errors carry node's codes (ENOENT, ENOTDIR,
// EISDIR, EEXIST) and read_bounded's EFTYPE, which the parameter code tells apart.

import { posix } from 'node:path';

import type { ParamsDisk, ParamsWriteHandle } from '../../firmware/src/app/params/params_disk.js';

export class ParamsDiskSim implements ParamsDisk {
  private readonly files = new Map<string, Uint8Array>();
  private readonly dirs = new Set<string>(['/']);

  async list(dir: string): Promise<string[]> {
    const at = this.dirPath(dir, 'scandir');
    const prefix = at === '/' ? '/' : `${at}/`;
    const names: string[] = [];
    for (const path of [...this.files.keys(), ...this.dirs]) {
      if (path !== at && path.startsWith(prefix) && !path.slice(prefix.length).includes('/')) {
        names.push(path.slice(prefix.length));
      }
    }
    return names.sort();
  }

  async size(path: string): Promise<number> {
    return this.filePath(path, 'stat').length;
  }

  async read(path: string): Promise<Buffer> {
    // The node disk reads regular files only (read_bounded.ts): a directory is EFTYPE there.
    if (this.dirs.has(normal(path))) throw fsError('EFTYPE', 'open', normal(path));
    return Buffer.from(this.filePath(path, 'open'));
  }

  async isDir(path: string): Promise<boolean> {
    return this.dirs.has(normal(path));
  }

  async mkdirs(dir: string): Promise<void> {
    const at = normal(dir);
    if (this.files.has(at)) throw fsError('EEXIST', 'mkdir', at);
    for (let p = at; !this.dirs.has(p); p = posix.dirname(p)) {
      if (this.files.has(p)) throw fsError('ENOTDIR', 'mkdir', at);
      this.dirs.add(p);
    }
  }

  async removeTree(path: string): Promise<void> {
    const at = normal(path);
    const prefix = `${at}/`;
    this.files.delete(at);
    this.dirs.delete(at);
    for (const p of [...this.files.keys()]) if (p.startsWith(prefix)) this.files.delete(p);
    for (const p of [...this.dirs]) if (p.startsWith(prefix)) this.dirs.delete(p);
  }

  async create(path: string): Promise<ParamsWriteHandle> {
    const at = this.newFilePath(path, 'open');
    this.files.set(at, new Uint8Array(0));
    let open = true;
    const guard = (): void => {
      if (!open) throw fsError('EBADF', 'write', at);
    };
    return {
      write: async (bytes, from, length) => {
        guard();
        const before = this.files.get(at) ?? new Uint8Array(0);
        const after = new Uint8Array(before.length + length);
        after.set(before);
        after.set(bytes.subarray(from, from + length), before.length);
        this.files.set(at, after);
      },
      sync: async () => guard(),
      close: async () => {
        guard();
        open = false;
      },
    };
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.filePath(from, 'rename');
    const target = this.newFilePath(to, 'rename');
    this.files.delete(normal(from));
    this.files.set(target, source);
  }

  async syncDir(dir: string): Promise<void> {
    this.dirPath(dir, 'open');
  }

  /** Writes a whole file at once (a test's or a push's staging, not a durable write). */
  put(path: string, bytes: Uint8Array): void {
    this.files.set(this.newFilePath(path, 'open'), bytes.slice());
  }

  private dirPath(dir: string, op: string): string {
    const at = normal(dir);
    if (this.files.has(at)) throw fsError('ENOTDIR', op, at);
    if (!this.dirs.has(at)) throw fsError('ENOENT', op, at);
    return at;
  }

  private filePath(path: string, op: string): Uint8Array {
    const at = normal(path);
    if (this.dirs.has(at)) throw fsError('EISDIR', op, at);
    const bytes = this.files.get(at);
    if (bytes === undefined) throw fsError('ENOENT', op, at);
    return bytes;
  }

  /** A path a file may be created at: its directory exists, it is not a directory. */
  private newFilePath(path: string, op: string): string {
    const at = normal(path);
    if (this.dirs.has(at)) throw fsError('EISDIR', op, at);
    if (!this.dirs.has(posix.dirname(at))) throw fsError('ENOENT', op, at);
    return at;
  }
}

function normal(path: string): string {
  return posix.resolve('/', path);
}

/** An error as node:fs makes it: code, and a message naming the operation and the path. */
function fsError(code: string, op: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${op} '${path}'`), { code });
}
