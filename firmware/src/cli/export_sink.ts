// Where `shuaka journal export` writes its lines: stdout, or a file written in chunks and
// renamed into place only when the export is complete, beside FILE.sha256: the file's SHA-256
// in sha256sum's format, which `shuaka depot ingest` checks (a file carried to the depot on a
// USB stick has no other check: one changed digit of an ARQC would be declined by the issuer
// and put an innocent card on the deny list).

import { createHash, type Hash } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';

import { writeAll } from '../../../hal/src/fs/write_all.js';
import type { CliIo } from './cli_args.js';

/** Export destination: stdout line by line, or FILE written in chunks then renamed. */
export class ExportSink {
  /** Lines of the segment being read (written when the reader moves to the next file). */
  private chunk: string[] = [];
  private failed: string | null = null;
  /** SHA-256 of the bytes written to the file so far. */
  private readonly digest: Hash = createHash('sha256');

  private constructor(
    private readonly io: CliIo,
    private readonly outPath: string | null,
    private readonly handle: FileHandle | null,
  ) {}

  static async open(outPath: string | null, io: CliIo): Promise<ExportSink | null> {
    if (outPath === null) return new ExportSink(io, null, null);
    try {
      // Owner-only: the export is the one file that holds clear PANs (a umask's 0644 let
      // every user of the machine read them). chmod too: a temporary left by a crash keeps
      // the mode it was created with.
      const handle = await open(`${outPath}.tmp`, 'w', 0o600);
      await handle.chmod(0o600).catch(async (error: unknown) => {
        await handle.close().catch(() => undefined);
        throw error;
      });
      return new ExportSink(io, outPath, handle);
    } catch (error) {
      io.err(`cannot write ${outPath}: ${describe(error)}`);
      return null;
    }
  }

  push(text: string): void {
    if (this.handle === null) {
      this.io.out(text);
      return;
    }
    this.chunk.push(text, '\n');
  }

  async flush(): Promise<void> {
    // Lines on stdout: the next read waits for the reader to take them (bounded memory).
    if (this.handle === null) return this.io.outDrain?.();
    if (this.chunk.length === 0 || this.failed !== null) return;
    const text = this.chunk.join('');
    this.chunk = [];
    try {
      const bytes = Buffer.from(text, 'utf8');
      this.digest.update(bytes);
      await writeAll(this.handle, bytes);
    } catch (error) {
      this.failed = describe(error);
    }
  }

  /** Closes and removes the temporary without a word (the caller says why). */
  async abandon(): Promise<void> {
    if (this.handle === null || this.outPath === null) return;
    await this.handle.close().catch(() => undefined);
    await unlink(`${this.outPath}.tmp`).catch(() => undefined);
  }

  /**
   * Flushes, syncs and renames into place when `keep` (FILE.sha256 first: a crash between the
   * two renames leaves a digest that does not match, so the file is refused, not trusted);
   * else removes the temporary.
   */
  async close(keep: boolean): Promise<boolean> {
    if (this.handle === null || this.outPath === null) {
      // Lines on stdout: only written lines are exported (`> FILE` on a full disk, or past
      // `ulimit -f`, kept the first 2 KiB, and the advice to ack came all the same).
      const failed = await this.io.outFlush?.() ?? null;
      if (failed !== null) this.io.err(`cannot write the export to stdout: ${failed}`);
      else if (!keep) {
        this.io.err('the journal changed while it was exported (the validator running on it '
          + 'wrote meanwhile): the lines on stdout are not the whole export; run it again');
      }
      return keep && failed === null;
    }
    await this.flush();
    const tmp = `${this.outPath}.tmp`;
    try {
      if (this.failed !== null) throw new Error(this.failed);
      await this.handle.sync();
      await this.handle.close();
      if (!keep) {
        throw new Error('the journal changed while it was exported (the validator running on '
          + 'it wrote meanwhile): nothing was written; run the export again');
      }
      await writeDigestFile(this.outPath, this.digest.digest('hex'));
      await rename(tmp, this.outPath);
      return true;
    } catch (error) {
      await this.handle.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      this.io.err(`cannot write ${this.outPath}: ${describe(error)}`);
      return false;
    }
  }
}

/** Writes `${path}.sha256` (`HEX  NAME`, as sha256sum prints) through a synced temporary. */
async function writeDigestFile(path: string, hex: string): Promise<void> {
  const tmp = `${path}.sha256.tmp`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await writeAll(handle, Buffer.from(`${hex}  ${basename(path)}\n`, 'utf8'));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, `${path}.sha256`);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
