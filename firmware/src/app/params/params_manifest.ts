// Signed manifest of a parameter set: version, file hashes, Ed25519 signature.

import assert from 'node:assert';
import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { FieldError, JsonFields, type FieldPattern } from './json_fields.js';
import type { ParamsChecked } from './params_checked.js';
import { FILE_MANIFEST } from './params_files.js';

export const MANIFEST_FORMAT = 'shuaka-params/1';
const FILES_MAX = 16;
const FILE_NAME_PATTERN: FieldPattern = {
  re: /^[a-z0-9_]{1,32}\.[a-z]{1,4}$/,
  says: "a file name: 1 to 32 lower-case letters, digits or '_', a dot, " +
    '1 to 4 lower-case letters',
};
const FORMAT_PATTERN: FieldPattern = { re: /^shuaka-params\/1$/, says: `'${MANIFEST_FORMAT}'` };
export const PARAMS_VERSION_MAX = 0xffff_ffff;

export interface ManifestFile {
  readonly name: string;
  readonly sha256Hex: string;
}

/** The manifest without its signature: what the signature covers. */
export interface UnsignedManifest {
  readonly format: string;
  readonly version: number;
  /** Sorted by name. */
  readonly files: readonly ManifestFile[];
}

export interface ParamsManifest extends UnsignedManifest {
  /** Ed25519 signature over `manifestCanonicalBytes`, 64 bytes hex. */
  readonly signatureHex: string;
}

/**
 * The signed bytes: UTF-8 of JSON.stringify({format, version, files:[{name, sha256Hex}]})
 * with exactly that key order, files sorted by name and hashes upper case. The verifier
 * rebuilds them from the parsed fields, so whitespace or key order in manifest.json does not
 * matter and nothing outside these fields can ride along unsigned (unknown keys are refused).
 */
export function manifestCanonicalBytes(manifest: UnsignedManifest): Uint8Array {
  const files = [...manifest.files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((file) => ({ name: file.name, sha256Hex: file.sha256Hex.toUpperCase() }));
  const canonical = { format: manifest.format, version: manifest.version, files };
  return new TextEncoder().encode(JSON.stringify(canonical));
}

/** Hashes `files` into an unsigned manifest of `version`. */
export function manifestBuild(
  files: ReadonlyMap<string, Uint8Array>,
  version: number,
): UnsignedManifest {
  assert(Number.isSafeInteger(version) && version >= 1 && version <= PARAMS_VERSION_MAX, 'version');
  const entries = [...files.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, bytes]) => ({ name, sha256Hex: sha256Hex(bytes) }));
  return { format: MANIFEST_FORMAT, version, files: entries };
}

/** Signs with an Ed25519 private key. */
export function manifestSign(unsigned: UnsignedManifest, privateKey: KeyObject): ParamsManifest {
  assert(privateKey.asymmetricKeyType === 'ed25519', 'Ed25519 key');
  assert(privateKey.type === 'private', 'private key');
  const signature = sign(null, manifestCanonicalBytes(unsigned), privateKey);
  return { ...unsigned, signatureHex: signature.toString('hex').toUpperCase() };
}

/**
 * True when the signature verifies under the Ed25519 public key. `checked`: the memo of the
 * key's earlier checks (params_checked.ts), which answers for the same bytes and signature.
 */
export function manifestVerify(
  manifest: ParamsManifest,
  publicKey: KeyObject,
  checked: ParamsChecked | null = null,
): boolean {
  assert(publicKey.asymmetricKeyType === 'ed25519', 'Ed25519 key');
  assert(publicKey.type === 'public', 'public key');
  const signed = manifestCanonicalBytes(manifest);
  const memo = checked !== null && checked.publicKey === publicKey ? checked : null;
  if (memo !== null && memo.verified(signed, manifest.signatureHex)) return true;
  const signature = Buffer.from(manifest.signatureHex, 'hex');
  const verified = verify(null, signed, publicKey, signature);
  if (verified) memo?.keepVerified(signed, manifest.signatureHex);
  return verified;
}

/** manifest.json as written: indented JSON, a trailing newline. */
export function manifestEncode(manifest: ParamsManifest): Uint8Array {
  const { format, version, files, signatureHex } = manifest;
  const text = JSON.stringify({ format, version, files, signatureHex }, null, 2);
  return new TextEncoder().encode(`${text}\n`);
}

/** Parses manifest.json strictly. Throws FieldError. */
export function manifestParse(bytes: Uint8Array): ParamsManifest {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FieldError(FILE_MANIFEST, '', 'not UTF-8 text');
  }
  const fields = JsonFields.of(JsonFields.parseUnique(text, FILE_MANIFEST), FILE_MANIFEST, '');
  const format = fields.str('format', FORMAT_PATTERN, 32);
  const version = fields.int('version', 1, PARAMS_VERSION_MAX);
  const files = fields.arr('files', FILES_MAX).map((value, i) => {
    const file = JsonFields.of(value, FILE_MANIFEST, `files[${i}]`);
    const parsed = {
      name: file.str('name', FILE_NAME_PATTERN, 40),
      sha256Hex: file.hex('sha256Hex', 32, 32),
    };
    file.finish();
    return parsed;
  });
  const signatureHex = fields.hex('signatureHex', 64, 64);
  fields.finish();
  const names = files.map((file) => file.name);
  if (new Set(names).size !== names.length) fields.refuse('files', 'a file is listed twice');
  return { format, version, files, signatureHex };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').toUpperCase();
}

/**
 * The Ed25519 public key that verifies manifests, from PEM text; or why not. A private key is
 * refused though node derives its public half: given as --params-pub it would sit on every
 * bus (and in every copy of a validator's disk), and whoever holds it signs parameter sets.
 */
export function manifestPublicKeyParse(pem: string)
  : { ok: true; key: KeyObject } | { ok: false; detail: string } {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return { ok: false, detail: 'a private key, not the public key: give PREFIX.pub.pem '
      + '(`shuaka params keygen`); the private key stays with whoever signs the sets' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    return { ok: false, detail: `not an Ed25519 key (${String(key.asymmetricKeyType)})` };
  }
  return { ok: true, key };
}
