// Terminal rules on the collected card data: PAN consistency, expiry/effective dates, balance.

import { STATUS_OK } from '../abi/status';
import { bytesCopy } from '../util/bytes';
import {
  TLV_END,
  tlvDecodeOne,
  tlvTag,
  tlvConstructed,
  tlvValueStart,
  tlvValueLength,
  tlvNext,
} from '../iso8825/ber_tlv';
import {
  TAG_57_TRACK2,
  TAG_5A_PAN,
  TAG_5F24_EXPIRY_DATE,
  TAG_5F25_EFFECTIVE_DATE,
  TAG_9A_DATE,
  TAG_9F79_EC_BALANCE,
} from '../emv/emv_tags';
import { ctx } from './qpboc_context';
import {
  bcdValid,
  dateKey,
  dateKeyOf,
  dateValid,
  panEqual,
  track2Parse,
  track2ExpiryYear,
  track2ExpiryMonth,
} from './qpboc_checks';
import { REASON_EXPIRED, REASON_NOT_YET_EFFECTIVE, REASON_CARD_DATA_INVALID } from './qpboc_reason';

const scratchPan = memory.data(10, 4);

/** True unless a 5A from the records disagrees with the PAN of track 2 (domain.md 2.5). */
export function checksPanConsistent(): bool {
  const pan = ctx.card.find(TAG_5A_PAN);
  if (pan < 0) return true;
  const length = ctx.card.valueLength(pan);
  if (length > 10) return false;
  return panEqual(ctx.card.valuePtr(pan), length, ctx.pan, ctx.panLength);
}

/**
 * Expiry (5F24, else the track 2 YYMM, valid through its month) and effective date (5F25)
 * against the transaction date 9A. Returns 0 when both pass, REASON_EXPIRED,
 * REASON_NOT_YET_EFFECTIVE, or REASON_CARD_DATA_INVALID for a malformed date.
 */
export function checksDates(): u8 {
  const dateIndex = ctx.terminal.find(TAG_9A_DATE);
  assert(dateIndex >= 0, 'transaction date set at begin');
  const today = dateKeyOf(ctx.terminal.valuePtr(dateIndex));
  const expiry = ctx.card.find(TAG_5F24_EXPIRY_DATE);
  if (expiry >= 0) {
    const p = ctx.card.valuePtr(expiry);
    if (ctx.card.valueLength(expiry) != 3 || !dateValid(p)) return REASON_CARD_DATA_INVALID;
    if (dateKeyOf(p) < today) return REASON_EXPIRED;
  } else {
    const track2 = ctx.card.find(TAG_57_TRACK2);
    assert(track2 >= 0, 'track 2 checked at GPO');
    const parsed = track2Parse(ctx.card.valuePtr(track2), ctx.card.valueLength(track2), scratchPan);
    if (parsed < 0) return REASON_CARD_DATA_INVALID;
    // Day 99 sorts after any real day: the card is valid through the end of its month.
    if (dateKey(track2ExpiryYear, track2ExpiryMonth, 99) < today) return REASON_EXPIRED;
  }
  const effective = ctx.card.find(TAG_5F25_EFFECTIVE_DATE);
  if (effective >= 0) {
    const p = ctx.card.valuePtr(effective);
    if (ctx.card.valueLength(effective) != 3 || !dateValid(p)) return REASON_CARD_DATA_INVALID;
    if (today < dateKeyOf(p)) return REASON_NOT_YET_EFFECTIVE;
  }
  return 0;
}

/** Takes an n12 balance (9F5D or 9F79 value) when it is 6 valid BCD bytes. */
export function checksBalance(value: usize, length: u32): void {
  if (length != 6 || !bcdValid(value, 6)) return;
  bytesCopy(ctx.balance, value, 6);
  ctx.balanceValid = true;
}

/** Takes the GET DATA 9F79 answer when it is exactly one 9F79 object. */
export function checksGetDataBalance(data: usize, length: u32): void {
  if (tlvDecodeOne(data, 0, length) != STATUS_OK) return;
  if (tlvTag != TAG_9F79_EC_BALANCE || tlvConstructed) return;
  const start = tlvValueStart;
  const size = tlvValueLength;
  if (tlvDecodeOne(data, tlvNext, length) != TLV_END) return;
  checksBalance(data + <usize>start, size);
}
