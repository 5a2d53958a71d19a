// A clearing line must agree with its own ICC data (field 55): a flipped amount, ATC or PAN in
// the JSON is caught here. The PAN-bearing objects are then dropped: the acquirer sends the
// PAN in field 2 from the sealed copy (ISO 8583:1987, fields 2 and 55).

import { BatchError } from './batch_error.js';
import { berTlvScan, tlvValue, type TlvSpan } from './ber_tlv_scan.js';

/** EMV 4.4 Book 3, Annex A tags read or stripped here. */
export const TAG_5A_PAN = 0x5a;
export const TAG_57_TRACK2 = 0x57;
export const TAG_5F20_CARDHOLDER_NAME = 0x5f20;
export const TAG_5F34_PSN = 0x5f34;
export const TAG_9F36_ATC = 0x9f36;
export const TAG_9F02_AMOUNT_AUTHORISED = 0x9f02;
export const TAG_5F2A_CURRENCY_CODE = 0x5f2a;
export const TAG_9A_TRANSACTION_DATE = 0x9a;
/** UnionPay's track 2 equivalent for contactless (carries the PAN). */
export const TAG_9F6B_TRACK2_DATA = 0x9f6b;

const PAN_TAGS = new Set([TAG_5A_PAN, TAG_57_TRACK2, TAG_5F20_CARDHOLDER_NAME,
  TAG_9F6B_TRACK2_DATA]);

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/**
 * n-format BCD (EMV 4.4 Book 3, 4.3) of a span's value as a number, or null when it is empty
 * or a nibble is not a digit. Beyond 2^53 the value is approximate, but then it is also above
 * every amount and currency a line may hold, so a comparison still fails as it should.
 */
function bcdNumber(bytes: Uint8Array, span: TlvSpan): number | null {
  if (span.end === span.valueStart) return null;
  let value = 0;
  for (let i = span.valueStart; i < span.end; i += 1) {
    const byte = bytes[i] ?? 0;
    const high = byte >> 4;
    const low = byte & 0x0f;
    if (high > 9 || low > 9) return null;
    value = value * 100 + high * 10 + low;
  }
  return value;
}

function spanOf(spans: readonly TlvSpan[], tag: number): TlvSpan | null {
  for (const span of spans) if (span.tag === tag) return span;
  return null;
}

/** The path of `field` beside iccDataHex at `path` (built only for a refusal). */
function sibling(path: string, field: string): string {
  return path.replace(/iccDataHex$/, field);
}

/** The fields of a clearing line that field 55 may also carry (psn as its byte). */
export interface ClearingIccFields {
  /** Upper-case hex. */
  readonly iccDataHex: string;
  readonly psn: number;
  readonly atc: number;
  readonly amountMinor: number;
  readonly currencyCode: number;
  readonly transactionDate: string;
}

/**
 * Checks every field the ICC data also carries (5A, 5F34, 9F36, 9F02, 5F2A, 9A; each only
 * when present) and returns field 55 without 5A, 57, 5F20, 9F6B, as upper-case hex.
 * `scanned` is field 55 already decoded by the caller (its spans null when not BER-TLV).
 * Throws BatchError(bad-batch) at `path` or at the disagreeing field's sibling path.
 */
export function clearingIccCheck(clearing: ClearingIccFields, pan: string, path: string,
  scanned?: { readonly bytes: Uint8Array; readonly spans: readonly TlvSpan[] | null }): string {
  const bytes = scanned?.bytes ?? Buffer.from(clearing.iccDataHex, 'hex');
  const spans = scanned === undefined ? berTlvScan(bytes) : scanned.spans;
  if (spans === null) throw new BatchError('bad-batch', path, 'not BER-TLV');
  const pan5a = tlvValue(bytes, spans, TAG_5A_PAN);
  if (pan5a !== null && hex(pan5a).replace(/F+$/, '') !== pan)
    throw new BatchError('bad-batch', sibling(path, 'pan'), 'does not match ICC data 5A');
  // The rest is read in place: no copies of the values (this runs for every clearing line).
  const psn = spanOf(spans, TAG_5F34_PSN);
  if (psn !== null && (psn.end - psn.valueStart !== 1 || bytes[psn.valueStart] !== clearing.psn))
    throw new BatchError('bad-batch', sibling(path, 'psn'), 'does not match ICC data 5F34');
  const atc = spanOf(spans, TAG_9F36_ATC);
  if (atc !== null && (atc.end - atc.valueStart !== 2
    || (bytes[atc.valueStart] ?? 0) * 256 + (bytes[atc.valueStart + 1] ?? 0) !== clearing.atc))
    throw new BatchError('bad-batch', sibling(path, 'atc'), 'does not match ICC data 9F36');
  const amount = spanOf(spans, TAG_9F02_AMOUNT_AUTHORISED);
  if (amount !== null && bcdNumber(bytes, amount) !== clearing.amountMinor)
    throw new BatchError('bad-batch', sibling(path, 'amountMinor'),
      'does not match ICC data 9F02');
  const currency = spanOf(spans, TAG_5F2A_CURRENCY_CODE);
  if (currency !== null && bcdNumber(bytes, currency) !== clearing.currencyCode)
    throw new BatchError('bad-batch', sibling(path, 'currencyCode'),
      'does not match ICC data 5F2A');
  const date = spanOf(spans, TAG_9A_TRANSACTION_DATE);
  if (date !== null && clearing.iccDataHex.slice(2 * date.valueStart, 2 * date.end)
    !== clearing.transactionDate)
    throw new BatchError('bad-batch', sibling(path, 'transactionDate'),
      'does not match ICC data 9A');
  return strippedHex(clearing.iccDataHex, spans);
}

/** Field 55 without PAN_TAGS, cut from the (upper-case) hex: byte offset i is hex offset 2i. */
function strippedHex(iccDataHex: string, spans: readonly TlvSpan[]): string {
  let kept = 0;
  for (const span of spans) if (!PAN_TAGS.has(span.tag)) kept += span.end - span.start;
  // Nothing to cut (no PAN tag, no padding between objects): the hex as it came.
  if (2 * kept === iccDataHex.length) return iccDataHex;
  let out = '';
  for (const span of spans)
    if (!PAN_TAGS.has(span.tag)) out += iccDataHex.slice(2 * span.start, 2 * span.end);
  return out;
}
