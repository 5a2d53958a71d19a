// The files of a parameter set and their strict parsers (terminal, fares, AIDs, CA keys...).

import { FILE_GATE, gateParamsFromBytes, type GateParams } from '../gate/gate_params.js';
import { DENY_LIST_IMAGE_BYTES_MAX, DenyList } from '../deny_list/deny_list.js';
import { transitFareTableParse } from '../fare/fare_table.js';
import type { TransitFareTable } from '../fare/fare_table.js';
import { capkParse } from './emv_capk.js';
import type { CaPublicKey } from './emv_capk.js';
import { ID_PATTERN, NAME_PATTERN, TEXT_PATTERN } from './field_patterns.js';
import { FieldError, JsonFields, type FieldPattern } from './json_fields.js';
import { paramsSemanticCheck } from './params_semantic.js';

export const FILE_TERMINAL = 'terminal.json';
export const FILE_FARES = 'fares.json';
export const FILE_AIDS = 'aids.json';
export const FILE_CAPK = 'capk.txt';
export const FILE_CAPK_REVOCATION = 'capk_revocation.json';
export const FILE_DENY_LIST = 'deny_list.bin';
export const FILE_MANIFEST = 'manifest.json';

/** Exactly these files make a set (plus the manifest); a missing or extra file is refused. */
export const PARAMS_FILES: readonly string[] = [
  FILE_AIDS, FILE_CAPK, FILE_CAPK_REVOCATION, FILE_DENY_LIST, FILE_FARES, FILE_TERMINAL,
];

/**
 * Files a set may carry for one kind of device: `gate.json` for a scenic-area gate
 * (../gate/gate_params.ts). Present: signed and checked like the others; absent: a bus set.
 */
export const PARAMS_FILES_OPTIONAL: readonly string[] = [FILE_GATE];

/** Bounds that keep a malicious or broken set from exhausting memory before validation. */
export const PARAMS_FILE_BYTES_MAX = 32 * 1024 * 1024;

/** Largest accepted size of file `name`: the deny list may be national (10^7 entries+). */
export function paramsFileBytesMax(name: string): number {
  return name === FILE_DENY_LIST ? DENY_LIST_IMAGE_BYTES_MAX : PARAMS_FILE_BYTES_MAX;
}
const CATEGORIES_MAX = 16;
const RANGES_MAX = 256;
// The kernel's own capacities (qpboc_config AID table, emv_capk store and revocation list): a
// set beyond them would be signed and accepted here, then refused by the kernel at start-up,
// leaving the validator out of service instead of keeping the previous set.
const AIDS_MAX = 16;
const CAPKS_MAX = 32;
const REVOCATIONS_MAX = 64;
const FARE_MINOR_MAX = 100_000_00;
/** n12 amounts (DF19/DF20/DF21 are 6-byte BCD): 999,999,999,999 minor units. */
const LIMIT_MINOR_MAX = 999_999_999_999;
const WINDOW_SEC_MAX = 7 * 24 * 3600;
/** The first digits of a PAN range (low and high have as many). */
const PREFIX_PATTERN: FieldPattern = { re: /^[0-9]{1,12}$/, says: '1 to 12 digits' };

export interface TerminalParams {
  readonly terminalId: string;
  readonly lineId: string;
  /** Optional contactless risk limits in minor units (UnionPay DF19/DF20/DF21, domain.md §6). */
  readonly limits?: TerminalLimits;
}

/** The terminal's contactless amount limits (minor units of the fare currency). */
export interface TerminalLimits {
  /** DF19: above it a cryptogram must go online. */
  readonly contactlessFloorLimitMinor: number;
  /** DF20: at or above it the contactless interface is not allowed. */
  readonly contactlessTransactionLimitMinor: number;
  /** DF21: at or above it a CVM is required. */
  readonly cvmLimitMinor: number;
}

/** A PAN range by leading digits: inside when the first `low.length` digits are in [low, high]. */
export interface PanRange {
  readonly low: string;
  readonly high: string;
}

/** A fare category recognised by BIN / issuer range (e.g. concession on social-security cards). */
export interface FareCategory {
  readonly name: string;
  readonly fareMinor: number;
  readonly panRanges: readonly PanRange[];
}

export interface FareParams {
  /** ISO 4217 numeric (156 = CNY); goes to 5F2A / 9F1A. */
  readonly currencyCode: number;
  readonly flatFareMinor: number;
  readonly categories: readonly FareCategory[];
  readonly transfer: { readonly discountMinor: number; readonly windowSec: number };
  /** Same card again within this window is refused ("请勿重复刷卡", domain.md §4.5). */
  readonly duplicateTapWindowSec: number;
  /** How long a torn tap may be recovered by a re-tap (domain.md §4.4). */
  readonly tornWindowSec: number;
  /** Optional tap-in / tap-out fare table for JT/T 978 cards (`../fare/fare_table.ts`). */
  readonly transit?: TransitFareTable;
}

export interface AidParams {
  readonly aidHex: string;
  /** The card's AID may be longer than this one (EMV partial selection). */
  readonly partialMatch: boolean;
  readonly label: string;
}

/** A revoked issuer certificate (EMV Book 2: RID, CA index, certificate serial number). */
export interface CaRevocation {
  readonly ridHex: string;
  readonly caIndex: number;
  readonly certificateSerialHex: string;
}

/** Every file of a set, parsed. */
export interface ParamsContent {
  readonly terminal: TerminalParams;
  readonly fares: FareParams;
  readonly aids: readonly AidParams[];
  readonly caKeys: readonly CaPublicKey[];
  readonly caRevocations: readonly CaRevocation[];
  readonly denyList: DenyList;
  /** The gate's tickets, capacity and slots, when the set carries gate.json. */
  readonly gate?: GateParams;
}

const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses every file of a set. `manifestVerified`: every file's SHA-256 already matched a
 * verified manifest (the deny list then skips its own, identical-in-effect digest). Throws
 * FieldError naming the file and field.
 */
export function paramsContentParse(
  files: ReadonlyMap<string, Uint8Array>,
  manifestVerified = false,
): ParamsContent {
  const bytesOf = (name: string): Uint8Array => {
    const bytes = files.get(name);
    if (bytes === undefined || bytes.length === 0) {
      throw new FieldError(name, '', 'missing or empty');
    }
    return bytes;
  };
  const denyList = DenyList.load(bytesOf(FILE_DENY_LIST), FILE_DENY_LIST, {
    fileDigestVerified: manifestVerified,
  });
  if (!denyList.ok) throw denyList.error;
  const terminal = terminalParse(jsonOf(bytesOf(FILE_TERMINAL), FILE_TERMINAL));
  const fares = faresParse(jsonOf(bytesOf(FILE_FARES), FILE_FARES));
  paramsSemanticCheck(fares, terminal.limits ?? null);
  const gateBytes = files.get(FILE_GATE);
  return {
    ...(gateBytes === undefined ? {} : { gate: gateParamsFromBytes(gateBytes, FILE_GATE) }),
    terminal,
    fares,
    aids: aidsParse(jsonOf(bytesOf(FILE_AIDS), FILE_AIDS)),
    caKeys: capkFileParse(textOf(bytesOf(FILE_CAPK), FILE_CAPK)),
    caRevocations: revocationsParse(jsonOf(bytesOf(FILE_CAPK_REVOCATION), FILE_CAPK_REVOCATION)),
    denyList: denyList.value,
  };
}

/** The fare category whose PAN range holds `pan`, or null for the flat fare. */
export function fareCategoryFor(fares: FareParams, pan: string): FareCategory | null {
  for (const category of fares.categories) {
    for (const range of category.panRanges) {
      const prefix = pan.slice(0, range.low.length);
      if (prefix.length !== range.low.length) continue;
      if (prefix >= range.low && prefix <= range.high) return category;
    }
  }
  return null;
}

function textOf(bytes: Uint8Array, file: string): string {
  try {
    return TEXT_DECODER.decode(bytes);
  } catch {
    throw new FieldError(file, '', 'not UTF-8 text');
  }
}

function jsonOf(bytes: Uint8Array, file: string): JsonFields {
  return JsonFields.of(JsonFields.parseUnique(textOf(bytes, file), file), file, '');
}

function terminalParse(fields: JsonFields): TerminalParams {
  fields.comment();
  const terminalId = fields.str('terminalId', ID_PATTERN, 32);
  const lineId = fields.str('lineId', ID_PATTERN, 32);
  if (!fields.has('limits')) {
    fields.finish();
    return { terminalId, lineId };
  }
  const limitFields = fields.obj('limits');
  const limits = {
    contactlessFloorLimitMinor: limitFields.int('contactlessFloorLimitMinor', 0, LIMIT_MINOR_MAX),
    contactlessTransactionLimitMinor:
      limitFields.int('contactlessTransactionLimitMinor', 0, LIMIT_MINOR_MAX),
    cvmLimitMinor: limitFields.int('cvmLimitMinor', 0, LIMIT_MINOR_MAX),
  };
  limitFields.finish();
  fields.finish();
  return { terminalId, lineId, limits };
}

function faresParse(fields: JsonFields): FareParams {
  fields.comment();
  const categories = fields.arr('categories', CATEGORIES_MAX).map((value, i) => {
    const category = JsonFields.of(value, fields.file, `categories[${i}]`);
    const panRanges = category.arr('panRanges', RANGES_MAX).map((rangeValue, j) => {
      const range = JsonFields.of(rangeValue, fields.file, `${category.at('panRanges')}[${j}]`);
      const low = range.str('low', PREFIX_PATTERN, 12);
      const high = range.str('high', PREFIX_PATTERN, 12);
      range.finish();
      if (high.length !== low.length || high < low) {
        range.refuse('high', `must have as many digits as low and be >= ${low}`);
      }
      return { low, high };
    });
    const parsed = {
      name: category.str('name', NAME_PATTERN, 32),
      fareMinor: category.int('fareMinor', 0, FARE_MINOR_MAX),
      panRanges,
    };
    category.finish();
    return parsed;
  });
  const transferFields = fields.obj('transfer');
  const transfer = {
    discountMinor: transferFields.int('discountMinor', 0, FARE_MINOR_MAX),
    windowSec: transferFields.int('windowSec', 0, WINDOW_SEC_MAX),
  };
  transferFields.finish();
  const fares: FareParams = {
    currencyCode: fields.int('currencyCode', 1, 999),
    flatFareMinor: fields.int('flatFareMinor', 0, FARE_MINOR_MAX),
    categories,
    transfer,
    duplicateTapWindowSec: fields.int('duplicateTapWindowSec', 0, WINDOW_SEC_MAX),
    tornWindowSec: fields.int('tornWindowSec', 0, WINDOW_SEC_MAX),
    ...(fields.has('transit') ? { transit: transitFareTableParse(fields.obj('transit')) } : {}),
  };
  fields.finish();
  return fares;
}

function aidsParse(fields: JsonFields): AidParams[] {
  fields.comment();
  const aids = fields.arr('aids', AIDS_MAX).map((value, i) => {
    const aid = JsonFields.of(value, fields.file, `aids[${i}]`);
    const parsed = {
      aidHex: aid.hex('aidHex', 5, 16),
      partialMatch: aid.bool('partialMatch'),
      label: aid.str('label', TEXT_PATTERN, 32),
    };
    aid.finish();
    return parsed;
  });
  fields.finish();
  if (aids.length === 0) throw new FieldError(fields.file, 'aids', 'at least one AID is needed');
  return aids;
}

/** capk.txt: one TLV hex string per key; blank lines and '#' comments are skipped. */
function capkFileParse(text: string): CaPublicKey[] {
  const keys: CaPublicKey[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (keys.length >= CAPKS_MAX) {
      throw new FieldError(FILE_CAPK, `line ${i + 1}`, `more than ${CAPKS_MAX} keys`);
    }
    const key = capkParse(line, FILE_CAPK, `line ${i + 1}`);
    if (keys.some((k) => k.ridHex === key.ridHex && k.index === key.index)) {
      const name = `${key.ridHex}/${key.index.toString(16)}`;
      throw new FieldError(FILE_CAPK, `line ${i + 1}`, `duplicate key ${name}`);
    }
    keys.push(key);
  }
  if (keys.length === 0) throw new FieldError(FILE_CAPK, '', 'no CA key');
  return keys;
}

function revocationsParse(fields: JsonFields): CaRevocation[] {
  fields.comment();
  const revoked = fields.arr('revoked', REVOCATIONS_MAX).map((value, i) => {
    const entry = JsonFields.of(value, fields.file, `revoked[${i}]`);
    const parsed = {
      ridHex: entry.hex('ridHex', 5, 5),
      caIndex: Number.parseInt(entry.hex('caIndexHex', 1, 1), 16),
      certificateSerialHex: entry.hex('certificateSerialHex', 3, 3),
    };
    entry.finish();
    return parsed;
  });
  fields.finish();
  return revoked;
}
