// qPBOC transaction log records: values laid out by the card's log format (9F4F), no tags.

import { fromHex } from '../pki/emv_bytes.js';
import { parseDol } from './card_dol.js';
import * as T from './emv_card_tags.js';

/** Tags whose values are numeric (n): fitted by left padding / keeping the rightmost digits. */
const NUMERIC_TAGS: ReadonlySet<number> = new Set([
  T.TAG_9A_DATE,
  T.TAG_9F21_TIME,
  T.TAG_9F02_AMOUNT,
  T.TAG_9F03_OTHER_AMOUNT,
  T.TAG_9F1A_COUNTRY,
  T.TAG_5F2A_CURRENCY,
  T.TAG_9C_TYPE,
  T.TAG_9F36_ATC,
]);

/** The log format of domain.md 1.7 [S:NFSEE]: date, time, amounts, country, currency,
 *  merchant name, type, ATC (45 bytes per record). */
export const LOG_FORMAT_DEFAULT_HEX = '9a039f21039f02069f03069f1a025f2a029f4e149c019f3602';

/**
 * One log record: for each entry of the format, the value `valueOf` gives for its tag fitted
 * to the asked length (numeric tags keep their rightmost bytes and pad left, others pad right),
 * zeros when the card has no value (undefined). Throws RangeError on a malformed format (a
 * personalisation error).
 */
export function buildLogRecord(
  formatHex: string,
  valueOf: (tag: number) => Uint8Array | undefined,
): Uint8Array {
  const entries = logFormatEntries(formatHex);
  let length = 0;
  for (const e of entries) length += e.length;
  const record = new Uint8Array(length);
  let at = 0;
  for (const e of entries) {
    const value = valueOf(e.tag) ?? NO_VALUE;
    if (NUMERIC_TAGS.has(e.tag)) {
      const tail = value.subarray(Math.max(0, value.length - e.length));
      record.set(tail, at + e.length - tail.length);
    } else {
      record.set(value.subarray(0, e.length), at);
    }
    at += e.length;
  }
  return record;
}

const NO_VALUE = new Uint8Array(0);

/** Parsed log formats by their hex: a card builds a record per debit from the same format. */
const logFormats = new Map<string, ReturnType<typeof parseDol>>();

/** The entries of a log format (9F4F), parsed once per distinct format. */
function logFormatEntries(formatHex: string): ReturnType<typeof parseDol> {
  let entries = logFormats.get(formatHex);
  if (entries === undefined) {
    entries = parseDol(fromHex(formatHex));
    // Bounded: a population has a handful of formats; a stranger one is parsed each time.
    if (logFormats.size < LOG_FORMATS_CACHED_MAX) logFormats.set(formatHex, entries);
  }
  return entries;
}

const LOG_FORMATS_CACHED_MAX = 64;
