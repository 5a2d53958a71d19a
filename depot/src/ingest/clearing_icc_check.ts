// A clearing line must agree with its own ICC data (field 55): a flipped amount, ATC or PAN in
// the JSON is caught here. The PAN-bearing objects are then dropped: the acquirer sends the
// PAN in field 2 from the sealed copy (ISO 8583:1987, fields 2 and 55).

import type { ClearingRecord } from '../../../firmware/src/app/journal/journal_records.js';
import { BatchError } from './batch_error.js';
import { berTlvScan, tlvValue } from './ber_tlv_scan.js';

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

/** n-format BCD (EMV 4.4 Book 3, 4.3) as a number, or null when a nibble is not a digit. */
function bcdNumber(bytes: Uint8Array): number | null {
  const text = hex(bytes);
  return /^[0-9]+$/.test(text) ? Number(text) : null;
}

/**
 * Checks every field the ICC data also carries (5A, 5F34, 9F36, 9F02, 5F2A, 9A; each only
 * when present) and returns field 55 without 5A, 57, 5F20, 9F6B, as upper-case hex.
 * Throws BatchError(bad-batch) at `path` or at the disagreeing field's sibling path.
 */
export function clearingIccCheck(clearing: ClearingRecord, pan: string, path: string): string {
  const bytes = Buffer.from(clearing.iccDataHex, 'hex');
  const spans = berTlvScan(bytes);
  if (spans === null) throw new BatchError('bad-batch', path, 'not BER-TLV');
  const sibling = (field: string): string => path.replace(/iccDataHex$/, field);
  const get = (tag: number): Uint8Array | null => tlvValue(bytes, spans, tag);
  const pan5a = get(TAG_5A_PAN);
  if (pan5a !== null && hex(pan5a).replace(/F+$/, '') !== pan)
    throw new BatchError('bad-batch', sibling('pan'), 'does not match ICC data 5A');
  const psn = get(TAG_5F34_PSN);
  if (psn !== null && (psn.length !== 1 || psn[0] !== clearing.card.psn))
    throw new BatchError('bad-batch', sibling('psn'), 'does not match ICC data 5F34');
  const atc = get(TAG_9F36_ATC);
  if (atc !== null && (atc.length !== 2 || (atc[0] ?? 0) * 256 + (atc[1] ?? 0) !== clearing.atc))
    throw new BatchError('bad-batch', sibling('atc'), 'does not match ICC data 9F36');
  const amount = get(TAG_9F02_AMOUNT_AUTHORISED);
  if (amount !== null && bcdNumber(amount) !== clearing.amountMinor)
    throw new BatchError('bad-batch', sibling('amountMinor'), 'does not match ICC data 9F02');
  const currency = get(TAG_5F2A_CURRENCY_CODE);
  if (currency !== null && bcdNumber(currency) !== clearing.currencyCode)
    throw new BatchError('bad-batch', sibling('currencyCode'), 'does not match ICC data 5F2A');
  const date = get(TAG_9A_TRANSACTION_DATE);
  if (date !== null && hex(date) !== clearing.transactionDate)
    throw new BatchError('bad-batch', sibling('transactionDate'), 'does not match ICC data 9A');
  // Cut from the (upper-case) hex itself: byte offset i is hex offset 2i.
  return spans.filter((s) => !PAN_TAGS.has(s.tag))
    .map((s) => clearing.iccDataHex.slice(2 * s.start, 2 * s.end)).join('');
}
