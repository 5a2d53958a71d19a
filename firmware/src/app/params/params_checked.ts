// What one trust has already checked: for a process that loads the same parameter images over
// and over (the swarm boots its validator about a hundred times a seed from the same slot, and
// reads every install back), so that a load whose bytes were checked before costs a compare.
//
// A validator boots once and never holds one: a memo keeps a copy of every file it remembers,
// and a national deny list is tens of megabytes. It is opt-in (ParamsTrust's `checked`).
//
// Why a hit gives exactly what the full check would: every check of a set (paramsValidate) is
// a pure function of the bytes of its files, the verifying key and the deny key. Ed25519
// verification is deterministic (RFC 8032 5.1.7: no randomness), so are SHA-256, the parsers
// and the deny list's binding. A memo serves one pair of keys (`serves`, by identity: a
// KeyObject and a DenyKey never change), compares every byte of every file (never a digest,
// never the manifest alone) and remembers only successes: a refusal is worked out in full
// each time, with its message. What it returns is what the first check built, from the memo's
// own copies of the files (nobody else holds them, so nothing can change them under a set,
// whose deny list views its image in place), and a ParamSet and what it holds are read-only.
// Files are still read from the medium at every load, with their names and sizes checked
// first (paramsLoadDir): the memo only takes over once the bytes are in memory.

import type { KeyObject } from 'node:crypto';

import type { DenyKey } from '../deny_list/deny_key.js';
import { FILE_MANIFEST, type ParamsContent } from './params_files.js';
import type { ParamSet } from './params_store.js';

/** One file name and its bytes, for the compare. */
type Files = ReadonlyMap<string, Uint8Array>;

/** Sets remembered (the active slot, the other, a download read back: a few at a time). */
const SETS_MAX = 8;
/** Signatures remembered as verified. */
const SIGNATURES_MAX = 256;

/** Successful checks of one verifying key and deny key, by the exact bytes checked. */
export class ParamsChecked {
  /** Most recently used last. */
  private readonly sets: { files: Files; set: ParamSet }[] = [];
  /** Content files (all but the manifest) and what they parsed and bound to. */
  private content: { files: Files; content: ParamsContent } | null = null;
  /** Signature hex, a space, the signed bytes as latin1: verified under the key. */
  private readonly signatures = new Map<string, true>();

  constructor(
    readonly publicKey: KeyObject,
    readonly denyKey: DenyKey | null,
  ) {}

  /** True when this memo remembers checks made with exactly these keys. */
  serves(publicKey: KeyObject, denyKey: DenyKey | null): boolean {
    return publicKey === this.publicKey && denyKey === this.denyKey;
  }

  /** The set checked earlier from files byte for byte equal to `files`, or undefined. */
  setOf(files: Files): ParamSet | undefined {
    // The manifest first: it tells two versions of one content apart at once.
    const manifest = files.get(FILE_MANIFEST);
    const at = this.sets.findIndex((entry) =>
      bytesEqual(entry.files.get(FILE_MANIFEST), manifest) && filesEqual(entry.files, files, null));
    const entry = this.sets[at];
    if (entry === undefined) return undefined;
    this.sets.splice(at, 1);
    this.sets.push(entry);
    return entry.set;
  }

  /** Remembers `set`, checked from `files` (the memo's own copies: see filesCopy). */
  keepSet(files: Files, set: ParamSet): void {
    this.sets.push({ files, set });
    if (this.sets.length > SETS_MAX) this.sets.shift();
  }

  /** The content parsed and bound earlier from equal content files, or undefined. */
  contentOf(files: Files): ParamsContent | undefined {
    const kept = this.content;
    return kept !== null && filesEqual(kept.files, files, FILE_MANIFEST) ? kept.content
      : undefined;
  }

  /** Remembers the content of `files` (the memo's own copies), all but the manifest. */
  keepContent(files: Files, content: ParamsContent): void {
    const own = new Map([...files].filter(([name]) => name !== FILE_MANIFEST));
    this.content = { files: own, content };
  }

  /** True when `signature` over `signed` verified under the key before. */
  verified(signed: Uint8Array, signatureHex: string): boolean {
    return this.signatures.has(signatureKey(signed, signatureHex));
  }

  /** Remembers that `signature` over `signed` verified under the key. */
  keepVerified(signed: Uint8Array, signatureHex: string): void {
    if (this.signatures.size >= SIGNATURES_MAX) this.signatures.clear();
    this.signatures.set(signatureKey(signed, signatureHex), true);
  }
}

/** Copies of `files` in buffers of their own (4-byte aligned: a deny list is used in place). */
export function filesCopy(files: Files): Map<string, Uint8Array> {
  return new Map([...files].map(([name, bytes]) => [name, new Uint8Array(bytes)]));
}

/** Same names, every file byte for byte equal; `except` is left out of both. */
function filesEqual(a: Files, b: Files, except: string | null): boolean {
  const count = (files: Files): number =>
    files.size - (except !== null && files.has(except) ? 1 : 0);
  if (count(a) !== count(b)) return false;
  for (const [name, bytes] of a) {
    if (name !== except && !bytesEqual(bytes, b.get(name))) return false;
  }
  return true;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
}

function signatureKey(signed: Uint8Array, signatureHex: string): string {
  return `${signatureHex} ${Buffer.from(signed.buffer, signed.byteOffset, signed.length)
    .toString('latin1')}`;
}
