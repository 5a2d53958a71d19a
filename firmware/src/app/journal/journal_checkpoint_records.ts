// A later checkpoint's records compared in place with the records the reader already holds.

import { FieldError } from '../params/json_fields.js';
import type { HeldRecord } from './journal_state.js';

/** The records a reader holds (the state its scan built before a checkpoint it compares). */
export interface KnownRecords {
  /** The record `seq` held, or null when none is. */
  held(seq: number): HeldRecord | null;
}

const ASCII = new TextEncoder();
const RECORDS_OPEN = ASCII.encode(',"records":[');
const RECORDS_CLOSE = ASCII.encode('],"pendings":[');
const SEQ_OPEN = ASCII.encode('{"seq":');
const KIND_OPEN = ASCII.encode(',"kind":"');
const PAYLOAD_OPEN = ASCII.encode('","payload":"');
const RECORD_CLOSE = ASCII.encode('"}');
const LATIN1 = new TextDecoder('latin1');

/**
 * Verify reads a checkpoint before every segment, each listing every open tap as its payload
 * in a JSON string: parsed whole, that is a megabyte of strings per checkpoint when a
 * thousand taps are open, for records the reader holds already. So the `records` array of a
 * checkpoint JSON laid out as checkpointEncode writes it is compared byte by byte with the
 * held records (`{"seq":N,"kind":"K","payload":"<the payload, JSON-escaped>"}` each) and cut
 * out; the rest of the JSON (small) is returned with `"records":[]` for the ordinary parse.
 * Null when the layout is any other (the caller parses the whole text, and judges). Throws
 * FieldError when a record names a seq the reader does not hold, or differs from it.
 */
export function checkpointRecordsCompared(
  json: Uint8Array,
  known: KnownRecords,
  file: string,
): { rest: string; records: HeldRecord[] } | null {
  const open = indexOf(json, RECORDS_OPEN, 0);
  const close = open < 0 ? -1 : indexOf(json, RECORDS_CLOSE, open);
  if (close < 0) return null;
  const records: HeldRecord[] = [];
  let at = open + RECORDS_OPEN.length;
  // Bounded: each iteration consumes one record of at least SEQ_OPEN.length bytes.
  while (at < close) {
    if (records.length > 0) {
      if (json[at] !== 0x2c) return null;
      at += 1;
    }
    const item = recordAt(json, at, close, known, file, records.length);
    if (item === null) return null;
    records.push(item.held);
    at = item.end;
  }
  if (at !== close) return null;
  const rest = `${LATIN1.decode(json.subarray(0, open))},"records":[`
    + LATIN1.decode(json.subarray(close));
  return { rest, records };
}

function recordAt(
  json: Uint8Array,
  start: number,
  limit: number,
  known: KnownRecords,
  file: string,
  index: number,
): { held: HeldRecord; end: number } | null {
  if (!bytesAt(json, start, SEQ_OPEN)) return null;
  let at = start + SEQ_OPEN.length;
  let seq = 0;
  const digitsFrom = at;
  // Bounded: at most 11 digits are read (a u32 has 10).
  while (at < limit && at - digitsFrom <= 10) {
    const byte = json[at] ?? 0;
    if (byte < 0x30 || byte > 0x39) break;
    seq = seq * 10 + (byte - 0x30);
    at += 1;
  }
  const digits = at - digitsFrom;
  if (digits === 0 || digits > 10 || (digits > 1 && json[digitsFrom] === 0x30)) return null;
  const held = known.held(seq);
  const path = `records[${index}]`;
  if (held === null) throw new FieldError(file, path, `record ${seq} is not an open tap here`);
  if (!bytesAt(json, at, KIND_OPEN)) return null;
  at += KIND_OPEN.length;
  const kind = ASCII.encode(held.kind);
  if (!bytesAt(json, at, kind) || !bytesAt(json, at + kind.length, PAYLOAD_OPEN)) {
    throw new FieldError(file, path, `differs from the journal's record ${seq} (kind)`);
  }
  at += kind.length + PAYLOAD_OPEN.length;
  const end = escapedAt(json, at, held.payloadBytes());
  if (end < 0 || !bytesAt(json, end, RECORD_CLOSE)) {
    throw new FieldError(file, path, `differs from the journal's record ${seq}`);
  }
  return { held, end: end + RECORD_CLOSE.length };
}

/**
 * The end of `payload` written as the inside of a JSON string at `at` (a quote and a
 * backslash escaped, as JSON.stringify does for printable ASCII), or -1 when the bytes differ.
 */
function escapedAt(json: Uint8Array, at: number, payload: Uint8Array): number {
  let pos = at;
  // Indexed, not for-of: Maglev, the top tier of the bounded verify and export process
  // (bin/shuaka.js), allocated an iterator result for each byte.
  for (let i = 0; i < payload.length; i += 1) {
    const byte = payload[i] ?? 0;
    if (byte === 0x22 || byte === 0x5c) {
      if (json[pos] !== 0x5c) return -1;
      pos += 1;
    } else if (byte < 0x20 || byte > 0x7e) return -1;
    if (json[pos] !== byte) return -1;
    pos += 1;
  }
  return pos;
}

function indexOf(bytes: Uint8Array, needle: Uint8Array, from: number): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(needle, from);
}

function bytesAt(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  if (at + expected.length > bytes.length) return false;
  for (let i = 0; i < expected.length; i += 1) if (bytes[at + i] !== expected[i]) return false;
  return true;
}
