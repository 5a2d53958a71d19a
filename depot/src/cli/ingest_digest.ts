// FILE.sha256 beside an export file (`shuaka journal export --out FILE` writes it, in
// sha256sum's format): checked before `shuaka depot ingest` stores a line, since nothing else
// protects a file carried on a medium. A changed byte in an ARQC would be stored, declined by
// the issuer and end as a debt and a deny-list entry on the rider's genuine card.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** What the digest file said of FILE. */
export type IngestDigest =
  /**
   * `bytes` are FILE as read once and checked: the ingest stores these, never FILE read again
   * (replaced or rewritten after the check, a FIFO, a file still being copied).
   */
  | { readonly kind: 'matches'; readonly bytes: Buffer }
  /** No FILE.sha256 (stdout exports, older builds): the file is taken unchecked. */
  | { readonly kind: 'absent' }
  | { readonly kind: 'refused'; readonly why: string }
  /** FILE itself cannot be read: the ingest's own "FILE unreadable" (exit 1). */
  | { readonly kind: 'unreadable'; readonly why: string };

/** The file's lines must not be stored when this is 'refused'. Never throws. */
export async function ingestDigestCheck(file: string): Promise<IngestDigest> {
  const digestPath = `${file}.sha256`;
  let text: string;
  try {
    text = await readFile(digestPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'refused', why: `cannot read ${digestPath}: ${(error as Error).message}` };
  }
  // sha256sum's line: 64 hex digits, a space, a space or '*' (binary mode), the file name,
  // with a backslash first when sha256sum escaped a backslash or newline in the name (the
  // name is not compared).
  const expected = /^\\?([0-9a-fA-F]{64}) [ *]\S/.exec(text)?.[1]?.toLowerCase();
  if (expected === undefined) {
    return { kind: 'refused', why: `${digestPath} is not a sha256sum line (HEX  NAME)` };
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return { kind: 'unreadable', why: `cannot read ${file}: ${(error as Error).message}` };
  }
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expected) {
    return {
      kind: 'refused',
      why: `${file} does not match ${digestPath} (SHA-256 ${actual}, expected ${expected}): `
        + 'it changed after the export, in transfer or on the medium; export it again',
    };
  }
  return { kind: 'matches', bytes };
}
