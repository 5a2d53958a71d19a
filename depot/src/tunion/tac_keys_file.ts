// The issuers' TAC master keys the depot verifies T-Union clearing lines with (`--tac-keys`):
// a JSON object from issuer id (8 bytes, 16 hex digits, as file 0015 carries it) to the 16-byte
// 3DES TAC master key (32 hex digits). A clearing centre's secret: the file stays off the
// validators and out of reports.

import { jsonSyntaxProblem } from '../../../firmware/src/app/params/json_fields.js';
import type { TacKeyLookup } from './jtt978_tac.js';
import { PEM_BYTES_MAX, readFileBoundedSync } from '../../../hal/src/fs/read_bounded.js';

/** Thrown by `tacKeysRead` with the reason and, when one is at fault, the entry. */
export class TacKeysFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TacKeysFileError';
  }
}

function twice(issuer: string): TacKeysFileError {
  return new TacKeysFileError(`issuer ${issuer.toUpperCase()} is given twice: which key is `
    + 'the right one cannot be told');
}

/**
 * Parses the key file text into a lookup (issuer ids compared upper-case). Throws
 * TacKeysFileError: not JSON, not an object, an issuer id not 16 hex digits, a key not 32 hex
 * digits, an issuer given twice (in any case), no entry at all.
 */
export function tacKeysParse(text: string): TacKeyLookup {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TacKeysFileError(`not JSON: ${jsonSyntaxProblem(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TacKeysFileError('not a JSON object of issuer id -> key');
  }
  const keys = new Map<string, Uint8Array>();
  for (const [issuer, key] of Object.entries(parsed as Record<string, unknown>)) {
    if (!/^[0-9A-Fa-f]{16}$/.test(issuer)) {
      throw new TacKeysFileError(`issuer id "${issuer}" is not 16 hex digits`);
    }
    if (typeof key !== 'string' || !/^[0-9A-Fa-f]{32}$/.test(key)) {
      throw new TacKeysFileError(`key of issuer ${issuer} is not 32 hex digits`);
    }
    if (keys.has(issuer.toUpperCase())) throw twice(issuer);
    keys.set(issuer.toUpperCase(), Uint8Array.from(Buffer.from(key, 'hex')));
  }
  // JSON.parse keeps the last of two equal names silently: look for a second one in the text
  // (a 16-hex-digit string before a colon can only be a name in JSON).
  const named = new Set<string>();
  for (const m of text.matchAll(/"([0-9A-Fa-f]{16})"\s*:/g)) {
    const issuer = (m[1] ?? '').toUpperCase();
    if (named.has(issuer)) throw twice(issuer);
    named.add(issuer);
  }
  if (keys.size === 0) throw new TacKeysFileError('no issuer key');
  return (issuerIdHex) => keys.get(issuerIdHex.toUpperCase()) ?? null;
}

/** Reads and parses `path`. Throws TacKeysFileError (unreadable file or see `tacKeysParse`). */
export function tacKeysRead(path: string): TacKeyLookup {
  let text: string;
  try {
    text = readFileBoundedSync(path, PEM_BYTES_MAX).toString('utf8');
  } catch (error) {
    throw new TacKeysFileError(`cannot read: ${(error as Error).message}`);
  }
  return tacKeysParse(text);
}
