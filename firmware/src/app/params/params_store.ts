// Parameter sets: load with full validation, activate atomically, sign, write the defaults.

import assert from 'node:assert';
import type { KeyObject } from 'node:crypto';

import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import type { DenyKey } from '../deny_list/deny_key.js';
import { denyLineOf, denyListBuild, type DenyEntry } from '../deny_list/deny_list_build.js';
import { FieldError } from './json_fields.js';
import { filesCopy, type ParamsChecked } from './params_checked.js';
import {
  FILE_AIDS,
  FILE_CAPK,
  FILE_CAPK_REVOCATION,
  FILE_DENY_LIST,
  FILE_FARES,
  FILE_MANIFEST,
  FILE_TERMINAL,
  PARAMS_FILES,
  PARAMS_FILES_OPTIONAL,
  PARAMS_FILE_BYTES_MAX,
  paramsContentParse,
  paramsFileBytesMax,
} from './params_files.js';
import type {
  AidParams, CaRevocation, FareParams, ParamsContent, TerminalParams,
} from './params_files.js';
import {
  PARAMS_VERSION_MAX, manifestBuild, manifestEncode, manifestParse, manifestSign, manifestVerify,
  sha256Hex,
} from './params_manifest.js';
import type { ParamsManifest } from './params_manifest.js';

/** A validated, signed parameter set. */
export interface ParamSet extends ParamsContent {
  readonly version: number;
  /** SHA-256 of manifest.json: names the set in logs and journal records. */
  readonly manifestSha256Hex: string;
}

/**
 * What a set is checked against: the parameter signing key alone (tools that only read a
 * set: its deny list stays unbound), or a validator's trust, the signing key and the fleet
 * deny key. With a deny key, a set whose deny list was made with another key is refused
 * (`deny_list.bin: keyId`), and the set's list is bound to the key for lookups.
 */
export type ParamsTrust =
  | KeyObject
  | {
    readonly publicKey: KeyObject;
    readonly denyKey: DenyKey;
    /** What these keys already checked (params_checked.ts): a process that reloads sets. */
    readonly checked?: ParamsChecked;
  };

/** What a check uses of a trust: the keys, and its memo when it serves exactly these keys. */
export interface TrustParts {
  readonly publicKey: KeyObject;
  readonly denyKey: DenyKey | null;
  readonly checked: ParamsChecked | null;
}

/** The verifying key and, for a validator, its fleet deny key (and memo, if it holds one). */
export function trustParts(trust: ParamsTrust): TrustParts {
  if (!('denyKey' in trust)) return { publicKey: trust, denyKey: null, checked: null };
  const { publicKey, denyKey } = trust;
  const checked = trust.checked ?? null;
  const serves = checked !== null && checked.serves(publicKey, denyKey);
  return { publicKey, denyKey, checked: serves ? checked : null };
}

/** Success, or the first problem found, naming the file and the field. */
export type ParamsResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: FieldError };

/**
 * Reads every file of a set into memory: exactly PARAMS_FILES plus manifest.json must exist
 * (a missing or extra file is refused). Errors: FieldError (read failure, missing, extra,
 * too large).
 */
export async function paramsReadFiles(
  source: StoragePort,
  withManifest: boolean,
): Promise<ParamsResult<Map<string, Uint8Array>>> {
  const listed = await source.list();
  if (!listed.ok) return fail('', '', `cannot list the set: ${listed.detail}`);
  const expected = withManifest ? [...PARAMS_FILES, FILE_MANIFEST] : PARAMS_FILES;
  // Signing reads the content files only; an old manifest.json there is expected.
  const allowed = (name: string): boolean =>
    expected.includes(name) || name === FILE_MANIFEST || PARAMS_FILES_OPTIONAL.includes(name);
  const extra = listed.value.find((name) => !allowed(name));
  if (extra !== undefined) return fail(extra, '', 'extra file: not part of a parameter set');
  const files = new Map<string, Uint8Array>();
  for (const name of expected) {
    if (!listed.value.includes(name)) return fail(name, '', 'missing file');
    const read = await source.read(name);
    if (!read.ok) return fail(name, '', `read failed: ${read.detail}`);
    if (read.value.length > paramsFileBytesMax(name)) {
      return fail(name, '', `larger than ${paramsFileBytesMax(name)} bytes`);
    }
    files.set(name, read.value);
  }
  for (const name of PARAMS_FILES_OPTIONAL.filter((n) => listed.value.includes(n))) {
    const read = await source.read(name);
    if (!read.ok) return fail(name, '', `read failed: ${read.detail}`);
    if (read.value.length > PARAMS_FILE_BYTES_MAX) {
      return fail(name, '', `larger than ${PARAMS_FILE_BYTES_MAX} bytes`);
    }
    files.set(name, read.value);
  }
  return { ok: true, value: files };
}

/**
 * Loads and fully validates a set: manifest syntax, Ed25519 signature, exactly the listed
 * files with matching SHA-256, then every file's content (CA key check values, deny list...).
 * Errors: FieldError naming the file and field.
 */
export async function paramsLoad(
  source: StoragePort,
  trust: ParamsTrust,
): Promise<ParamsResult<ParamSet>> {
  const read = await paramsReadFiles(source, true);
  if (!read.ok) return read;
  return paramsValidate(read.value, trust);
}

/**
 * `paramsLoad` on files already in memory. With a deny key in `trust`, also refuses a deny
 * list made with another deny key (FieldError on deny_list.bin, field keyId).
 */
export function paramsValidate(
  files: ReadonlyMap<string, Uint8Array>,
  trust: ParamsTrust,
): ParamsResult<ParamSet> {
  const parts = trustParts(trust);
  const { checked } = parts;
  if (checked === null) return paramsCheck(files, parts);
  // Files byte for byte equal to a set these keys checked: that set (params_checked.ts).
  const again = checked.setOf(files);
  if (again !== undefined) return { ok: true, value: again };
  const own = filesCopy(files);
  const result = paramsCheck(own, parts);
  if (result.ok) checked.keepSet(own, result.value);
  return result;
}

/** Every check of paramsValidate, in its order; `parts.checked` spares repeated work. */
function paramsCheck(
  files: ReadonlyMap<string, Uint8Array>,
  { publicKey, denyKey, checked }: TrustParts,
): ParamsResult<ParamSet> {
  try {
    const manifestBytes = files.get(FILE_MANIFEST) ?? new Uint8Array(0);
    const manifest = manifestParse(manifestBytes);
    if (!manifestVerify(manifest, publicKey, checked)) {
      const reason = 'signature does not verify with the validator key';
      return fail(FILE_MANIFEST, 'signatureHex', reason);
    }
    const listed = manifest.files.map((file) => file.name).sort();
    const missing = PARAMS_FILES.find((name) => !listed.includes(name));
    if (missing !== undefined) return fail(FILE_MANIFEST, 'files', `does not list ${missing}`);
    const known = (name: string): boolean =>
      PARAMS_FILES.includes(name) || PARAMS_FILES_OPTIONAL.includes(name);
    const unknown = listed.find((name) => !known(name));
    if (unknown !== undefined) return fail(FILE_MANIFEST, 'files', `lists unknown file ${unknown}`);
    // An optional file beside the set but not signed into it is refused, never ignored.
    const unsigned = PARAMS_FILES_OPTIONAL.find((n) => files.has(n) && !listed.includes(n));
    if (unsigned !== undefined) return fail(unsigned, '', 'not listed in the manifest');
    for (const file of manifest.files) {
      const bytes = files.get(file.name) ?? new Uint8Array(0);
      if (sha256Hex(bytes) !== file.sha256Hex) {
        return fail(file.name, '', 'SHA-256 does not match the manifest');
      }
    }
    let content = checked?.contentOf(files);
    if (content === undefined) {
      const parsed = paramsContentParse(files, true);
      content = parsed;
      if (denyKey !== null) {
        const bound = parsed.denyList.bind(denyKey, FILE_DENY_LIST);
        if (!bound.ok) return bound;
        content = { ...parsed, denyList: bound.value };
      }
      checked?.keepContent(files, content);
    }
    const manifestSha256Hex = sha256Hex(manifestBytes);
    return { ok: true, value: { ...content, version: manifest.version, manifestSha256Hex } };
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, error };
    throw error;
  }
}

/**
 * Holds the active set. A new set replaces it only after complete validation, in one
 * assignment: a tap sees the old set or the new one, never a mix, and a bad set leaves the
 * previous one active. Versions only go forward (a replayed old set is refused).
 */
export class ParamStore {
  private activeSet: ParamSet | null = null;

  /** `trust`: a validator's (with its deny key); a bare public key leaves the list unbound. */
  constructor(private readonly trust: ParamsTrust) {
    const { publicKey } = trustParts(trust);
    assert(publicKey.asymmetricKeyType === 'ed25519', 'Ed25519 key');
    assert(publicKey.type === 'public', 'public key');
  }

  active(): ParamSet | null {
    return this.activeSet;
  }

  /** Loads `source` and activates it. Errors: FieldError (the active set is unchanged). */
  async activate(source: StoragePort): Promise<ParamsResult<ParamSet>> {
    const loaded = await paramsLoad(source, this.trust);
    if (!loaded.ok) return loaded;
    const current = this.activeSet;
    if (current !== null && loaded.value.version <= current.version) {
      const reason = `${loaded.value.version} is not newer than the active ${current.version}`;
      return fail(FILE_MANIFEST, 'version', reason);
    }
    this.activeSet = loaded.value;
    return loaded;
  }
}

/**
 * Validates the content files of `target`, then writes a signed manifest.json (atomic
 * replace). Versions only go up: the previous version is the highest of `target`'s own
 * manifest.json (if any) and `previousVersion` (the last published set, `--previous`);
 * `version` null means one more than it (or 1 for a first set), and an explicit `version`
 * not above it is refused, so a validator never receives a set it must refuse as a rollback.
 * Errors: FieldError (nothing is written).
 */
export async function paramsSign(
  target: StoragePort,
  privateKey: KeyObject,
  version: number | null,
  previousVersion: number | null = null,
): Promise<ParamsResult<ParamsManifest>> {
  const read = await paramsReadFiles(target, false);
  if (!read.ok) return read;
  let versionNext = version;
  try {
    paramsContentParse(read.value);
    const own = await target.read(FILE_MANIFEST);
    const ownVersion = own.ok && own.value.length > 0 ? manifestParse(own.value).version : null;
    const previous = Math.max(ownVersion ?? 0, previousVersion ?? 0);
    if (versionNext === null) versionNext = previous + 1;
    if (versionNext <= previous) {
      const reason = `${versionNext} is not above the previous set's version ${previous}`;
      return fail(FILE_MANIFEST, 'version', `${reason} (validators would refuse it as a rollback)`);
    }
    if (versionNext > PARAMS_VERSION_MAX) {
      return fail(FILE_MANIFEST, 'version', `no version left above ${previous}`);
    }
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, error };
    throw error;
  }
  const manifest = manifestSign(manifestBuild(read.value, versionNext), privateKey);
  const written = await target.replace(FILE_MANIFEST, manifestEncode(manifest));
  if (!written.ok) return fail(FILE_MANIFEST, '', `write failed: ${written.detail}`);
  return { ok: true, value: manifest };
}

/** What the simulator's default set holds. */
export interface DefaultParamsOptions {
  readonly version: number;
  readonly terminal: TerminalParams;
  readonly fares: FareParams;
  /** One UnionPay TLV hex string per CA key. */
  readonly caKeysTlvHex: readonly string[];
  readonly denyList: readonly DenyEntry[];
  /** The fleet deny key the list's tokens are made with (the validators hold the same). */
  readonly denyKey: DenyKey;
  /** Revoked issuer certificates (EMV Book 2: RID, CA index, serial). */
  readonly caRevocations: readonly CaRevocation[];
  readonly signingKey: KeyObject;
  /** Applications after the UnionPay one (the T-Union ADF, say); absent: none. */
  readonly extraAids?: readonly AidParams[];
}

/** Fares for a flat-fare city bus line; the concession range is a made-up test BIN. */
export const DEFAULT_FARES: FareParams = {
  currencyCode: 156,
  flatFareMinor: 200,
  categories: [
    { name: 'concession', fareMinor: 100, panRanges: [{ low: '621799', high: '621799' }] },
  ],
  transfer: { discountMinor: 100, windowSec: 5400 },
  duplicateTapWindowSec: 60,
  tornWindowSec: 120,
};

/**
 * Writes a complete signed set (UnionPay AIDs with partial match, the given CA keys and deny
 * list, no revocations) to `target` and signs it. Errors: FieldError (a bad CA key, a bad
 * deny-list entry, a write failure).
 */
export async function writeDefaultParams(
  target: StoragePort,
  options: DefaultParamsOptions,
): Promise<ParamsResult<ParamsManifest>> {
  const denyText = options.denyList.map(denyLineOf).join('\n');
  const denyList = denyListBuild(denyText, FILE_DENY_LIST, options.denyKey);
  if (!denyList.ok) return denyList;
  const json = (value: unknown): Uint8Array =>
    new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  // UnionPay debit, credit, quasi-credit and EC all start A000000333 0101 (domain.md 1.3).
  const aids = [
    { aidHex: 'A0000003330101', partialMatch: true, label: 'UnionPay' },
    ...(options.extraAids ?? []),
  ];
  const files = new Map<string, Uint8Array>([
    [FILE_TERMINAL, json(options.terminal)],
    [FILE_FARES, json(options.fares)],
    [FILE_AIDS, json({ aids })],
    [FILE_CAPK, new TextEncoder().encode(`${options.caKeysTlvHex.join('\n')}\n`)],
    [FILE_CAPK_REVOCATION, json({ revoked: options.caRevocations.map(revocationJson) })],
    [FILE_DENY_LIST, denyList.value.image],
  ]);
  for (const [name, bytes] of files) {
    const written = await target.replace(name, bytes);
    if (!written.ok) return fail(name, '', `write failed: ${written.detail}`);
  }
  return paramsSign(target, options.signingKey, options.version);
}

/** The file form of a revocation entry (capk_revocation.json). */
function revocationJson(r: CaRevocation): Record<string, string> {
  return {
    ridHex: r.ridHex,
    caIndexHex: r.caIndex.toString(16).padStart(2, '0').toUpperCase(),
    certificateSerialHex: r.certificateSerialHex,
  };
}

function fail<T>(file: string, field: string, reason: string): ParamsResult<T> {
  return { ok: false, error: new FieldError(file, field, reason) };
}
