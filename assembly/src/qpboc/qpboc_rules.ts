// Terminal rules on the collected card data: PAN consistency, expiry/effective dates, balance.

import { STATUS_OK, ERR_CARD_IAD_LAYOUT, ERR_CARD_CID_MISMATCH } from '../status/status';
import { bytesCopy } from '../util/bytes';
import { tlvValueStart, tlvValueLength } from '../iso8825/ber_tlv';
import {
  TAG_57_TRACK2,
  TAG_5A_PAN,
  TAG_5F24_EXPIRY_DATE,
  TAG_5F25_EFFECTIVE_DATE,
  TAG_9A_DATE,
  TAG_9F79_EC_BALANCE,
  TAG_9F10_IAD,
  TAG_9F02_AMOUNT,
  TAG_9F6C_CTQ,
} from '../emv/emv_tags';
import { ctx } from './qpboc_context';
import { selectSingle } from './qpboc_select';
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
import {
  REASON_EXPIRED,
  REASON_NOT_YET_EFFECTIVE,
  REASON_CARD_DATA_INVALID,
  REASON_ECASH_BALANCE_INVALID,
} from './qpboc_reason';
import { configEcashLimitPtr } from './qpboc_config';
import { tvrSet, TVR2_EXPIRED, TVR2_NOT_EFFECTIVE } from './qpboc_tvr';

/** IAD type byte values (domain.md 2.4). */
const IAD_TYPE_EC_BALANCE: u8 = 0x01;
const IAD_TYPE_CTTA: u8 = 0x02;
const IAD_TYPE_EC_CTTA: u8 = 0x03;
const IAD_TYPE_CTTA_CTTAL: u8 = 0x04;
const IAD_TYPE_OFFLINE_AMOUNT: u8 = 0x05;
import { TAG_9F27_CID } from './qpboc_outcome';

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
    // The full flow may carry neither 5F24 nor 57: no expiry is missing ICC data.
    if (track2 < 0) return REASON_CARD_DATA_INVALID;
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

/** As checksDates, with the expired / not-yet-effective TVR bits set (Book 3 10.4.3). */
export function checksDatesTvr(): u8 {
  const reason = checksDates();
  if (reason == REASON_EXPIRED) tvrSet(1, TVR2_EXPIRED);
  if (reason == REASON_NOT_YET_EFFECTIVE) tvrSet(1, TVR2_NOT_EFFECTIVE);
  return reason;
}

/** IAD type byte (domain.md 2.4: byte 10 of a long IAD), 0 for a short IAD or none. */
export function iadType(): u8 {
  const iad = ctx.card.find(TAG_9F10_IAD);
  if (iad < 0 || ctx.card.valueLength(iad) < 15) return 0;
  return load<u8>(ctx.card.valuePtr(iad) + 9);
}

/** True when the IAD type says 9F5D is an offline spending allowance, not a purse balance. */
function iadAllowance(): bool {
  const type = iadType();
  return type == IAD_TYPE_CTTA || type == IAD_TYPE_CTTA_CTTAL || type == IAD_TYPE_OFFLINE_AMOUNT;
}

/**
 * Takes 9F5D (or a GET DATA 9F79 value): an allowance (IAD type 02/04/05) is kept as such; a
 * balance must be 6 BCD bytes within the e-cash limit. Returns 0 or REASON_ECASH_BALANCE_INVALID
 * (the balance is not kept, never shown).
 */
export function checksBalance(value: usize, length: u32): u8 {
  const invalid = checksBalanceInvalid(value, length);
  if (invalid != 0) return invalid;
  bytesCopy(ctx.balance, value, 6);
  if (iadAllowance()) ctx.allowance = true;
  else ctx.balanceValid = true;
  return 0;
}

/** The checks of checksBalance without keeping anything (a staged, uncommitted 9F5D). */
export function checksBalanceInvalid(value: usize, length: u32): u8 {
  if (length != 6 || !bcdValid(value, 6)) return REASON_ECASH_BALANCE_INVALID;
  if (iadAllowance()) return 0;
  return bcdCompare(value, configEcashLimitPtr(), 6) > 0 ? REASON_ECASH_BALANCE_INVALID : 0;
}

/** -1, 0 or 1 as BCD `a` is below, equal to or above `b` (same length). */
export function bcdCompare(a: usize, b: usize, length: u32): i32 {
  for (let i: u32 = 0; i < length; i++) {
    const x = load<u8>(a + <usize>i);
    const y = load<u8>(b + <usize>i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * True when the card showed a purse too small for the fare: the auto-mode probe, else an IAD
 * of type 01/03 whose 5-byte balance (n10) is below the amount 9F02 (n12).
 */
export function checksEcashShort(): bool {
  const amount = ctx.terminal.valuePtr(ctx.terminal.find(TAG_9F02_AMOUNT));
  if (ctx.probeValid) return bcdCompare(ctx.probeBalance, amount, 6) < 0;
  const type = iadType();
  if (type != IAD_TYPE_EC_BALANCE && type != IAD_TYPE_EC_CTTA) return false;
  const value = ctx.card.valuePtr(ctx.card.find(TAG_9F10_IAD)) + 10;
  if (!bcdValid(value, 5)) return false;
  if (load<u8>(amount) != 0) return true;
  return bcdCompare(value, amount + 1, 5) < 0;
}

/** CTQ (9F6C) byte 2 bit 8, consumer-device CVM performed: a phone or wearable (domain.md 2.2). */
export function checksMobileDevice(): bool {
  const ctq = ctx.card.find(TAG_9F6C_CTQ);
  if (ctq < 0 || ctx.card.valueLength(ctq) != 2) return false;
  return (load<u8>(ctx.card.valuePtr(ctq) + 1) & 0x80) != 0;
}

/**
 * The PBOC IAD layout (domain.md 2.4): 07 DKI CVN 03 CVR(3) algorithm, then nothing or
 * length, that many bytes. And a 9F27 the card sends anyway must carry the CVR's AC type.
 * Returns STATUS_OK, ERR_CARD_IAD_LAYOUT or ERR_CARD_CID_MISMATCH.
 */
export function checksIad(): i32 {
  const iad = ctx.card.find(TAG_9F10_IAD);
  if (iad < 0) return STATUS_OK;
  const p = ctx.card.valuePtr(iad);
  const length = ctx.card.valueLength(iad);
  if (length < 8 || load<u8>(p) != 0x07 || load<u8>(p + 3) != 0x03) return ERR_CARD_IAD_LAYOUT;
  if (length > 8 && <u32>load<u8>(p + 8) != length - 9) return ERR_CARD_IAD_LAYOUT;
  const cid = ctx.card.find(TAG_9F27_CID);
  if (cid < 0) return STATUS_OK;
  if (ctx.card.valueLength(cid) != 1) return ERR_CARD_CID_MISMATCH;
  // 9F27 bits 8-7 (00 AAC, 01 TC, 10 ARQC) against CVR byte 1 bits 6-5 (same coding).
  const fromCid = (load<u8>(ctx.card.valuePtr(cid)) >> 6) & 3;
  const fromCvr = (load<u8>(p + 4) >> 4) & 3;
  return fromCid == fromCvr ? STATUS_OK : ERR_CARD_CID_MISMATCH;
}

/**
 * The value of a GET DATA 9F79 answer when it is exactly one 9F79 object of 6 BCD bytes within
 * the e-cash limit, else 0 (EMV data objects, domain.md 1.7, 2.6).
 */
export function checksGetDataValue(data: usize, length: u32): usize {
  if (selectSingle(data, length, TAG_9F79_EC_BALANCE, false) != STATUS_OK) return 0;
  const value = data + <usize>tlvValueStart;
  if (tlvValueLength != 6 || !bcdValid(value, 6)) return 0;
  if (bcdCompare(value, configEcashLimitPtr(), 6) > 0) return 0;
  return value;
}

/** Takes the GET DATA 9F79 answer after the debit: a valid balance is kept, else nothing. */
export function checksGetDataBalance(data: usize, length: u32): void {
  const value = checksGetDataValue(data, length);
  if (value == 0) return;
  bytesCopy(ctx.balance, value, 6);
  ctx.balanceValid = true;
}
