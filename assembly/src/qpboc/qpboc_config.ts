// Terminal configuration of the qPBOC kernel: AID table, country, currency, limits, extra data.
//
// Loaded from BER-TLV (OP_TXN_CONFIGURE), validated completely before it replaces the active
// configuration, so a bad download never leaves a half-configured terminal.

import { STATUS_OK, ERR_TXN_CONFIG_INVALID, ERR_TXN_CONFIG_NO_AID } from '../status/status';
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
import { TlvStore } from '../emv/tlv_store';
import { TAG_5F2A_CURRENCY_CODE, TAG_9F1A_COUNTRY_CODE } from '../emv/emv_tags';
import {
  entryAidStageReset,
  entryAidStagedCount,
  entryAidLoad,
  entryAidCommit,
  entryAidCount,
} from '../entry/entry_aids';
import { bcdValid } from './qpboc_checks';

/** Configuration tags (terminal-side, proprietary where EMV has none). */
export const TAG_E1_CONFIG_AID_ENTRY: u32 = 0xe1;
export const TAG_E2_CONFIG_TERMINAL_DATA: u32 = 0xe2;
/** UnionPay terminal limits (n12, domain.md 2.1): offline floor, transaction, CVM. */
export const TAG_DF19_FLOOR_LIMIT: u32 = 0xdf19;
export const TAG_DF20_CONTACTLESS_LIMIT: u32 = 0xdf20;
export const TAG_DF21_CVM_LIMIT: u32 = 0xdf21;
/** Default DDOL for DDA when the card has no 9F49 (EMV 4.4 Book 2, 6.5.1). */
export const TAG_DF8121_DEFAULT_DDOL: u32 = 0xdf8121;
/** E-cash balance limit (n12): a 9F5D/9F79 balance above it is refused (domain.md 2.6, 6.4). */
export const TAG_DF8122_ECASH_LIMIT: u32 = 0xdf8122;
/** Longest default DDOL kept. */
export const CONFIG_DDOL_BYTES_MAX: u32 = 32;

export const CONFIG_EXTRA_ENTRIES_MAX: u32 = 16;
export const CONFIG_EXTRA_BYTES_MAX: u32 = 256;

// Active configuration.
let configured: bool = false;
const country = memory.data(2, 4);
const currency = memory.data(2, 4);
/** DF20, DF19, DF21 (6 bytes each, LIMIT_* order); limitFlags bit i = slot i configured. */
const LIMIT_TRANSACTION: u32 = 0;
const LIMIT_FLOOR: u32 = 1;
const LIMIT_CVM: u32 = 2;
const LIMITS: u32 = 3;
const limits = memory.data(<i32>(LIMITS * 6), 4);
let limitFlags: u32 = 0;
/** PBOC e-cash purses hold at most 1000.00 CNY (domain.md 6.4). */
const ecashLimit = memory.data(6, 4);
const ECASH_LIMIT_DEFAULT = memory.data<u8>([0, 0, 0, 0x10, 0, 0]);
const ddol = memory.data(<i32>CONFIG_DDOL_BYTES_MAX, 4);
let ddolLength: u32 = 0;
const DDOL_DEFAULT = memory.data<u8>([0x9f, 0x37, 0x04]);
const stageEcashLimit = memory.data(6, 4);
const stageDdol = memory.data(<i32>CONFIG_DDOL_BYTES_MAX, 4);
let stageDdolLength: u32 = 0;
/** Extra terminal data objects offered to the PDOL (9F35, 9F33, 9F4E ...). */
export const configExtra = new TlvStore(CONFIG_EXTRA_ENTRIES_MAX, CONFIG_EXTRA_BYTES_MAX);

// Staging area: filled by configLoad, copied over the active one only when valid.
const stageCountry = memory.data(2, 4);
const stageCurrency = memory.data(2, 4);
const stageLimits = memory.data(<i32>(LIMITS * 6), 4);
let stageLimitFlags: u32 = 0;
let stageFlags: u32 = 0;
const stageExtra = new TlvStore(CONFIG_EXTRA_ENTRIES_MAX, CONFIG_EXTRA_BYTES_MAX);
const FLAG_COUNTRY: u32 = 1;
const FLAG_CURRENCY: u32 = 2;
const FLAG_ECASH_LIMIT: u32 = 8;
const FLAG_DDOL: u32 = 16;

/** True once a valid configuration was loaded. */
export function configReady(): bool {
  return configured;
}

export function configCountryPtr(): usize {
  return country;
}

export function configCurrencyPtr(): usize {
  return currency;
}

/** The e-cash balance limit (n12). */
export function configEcashLimitPtr(): usize {
  return ecashLimit;
}

/** The default DDOL (9F3704 unless configured). */
export function configDdolPtr(): usize {
  return ddol;
}

export function configDdolLength(): u32 {
  return ddolLength;
}

/** The contactless transaction limit DF20 (n12), or 0 when none is configured. */
export function configLimitPtr(): usize {
  return configLimitSlot(LIMIT_TRANSACTION);
}

/** The contactless offline floor limit DF19 (n12), or 0 when none is configured. */
export function configFloorLimitPtr(): usize {
  return configLimitSlot(LIMIT_FLOOR);
}

/** The CVM required limit DF21 (n12), or 0 when none is configured. */
export function configCvmLimitPtr(): usize {
  return configLimitSlot(LIMIT_CVM);
}

function configLimitSlot(slot: u32): usize {
  assert(slot < LIMITS, 'limit slot');
  return (limitFlags & (1 << slot)) != 0 ? limits + <usize>(slot * 6) : 0;
}

/** The LIMIT_* slot of a limit tag, or LIMITS for any other tag. */
function configLimitSlotOf(tag: u32): u32 {
  if (tag == TAG_DF20_CONTACTLESS_LIMIT) return LIMIT_TRANSACTION;
  if (tag == TAG_DF19_FLOOR_LIMIT) return LIMIT_FLOOR;
  return tag == TAG_DF21_CVM_LIMIT ? LIMIT_CVM : LIMITS;
}

/**
 * Loads a configuration from `base[0..length)`: 9F1A (2) and 5F2A (2) mandatory, the limits
 * DF19, DF20 and DF21 (n12) optional, one E1 AID entry per accepted AID (1..16, see
 * entry_aids.ts), E2 {extra terminal objects} optional. Returns STATUS_OK,
 * ERR_TXN_CONFIG_INVALID, ERR_TXN_CONFIG_NO_AID or a TLV error.
 */
export function configLoad(base: usize, length: u32): i32 {
  entryAidStageReset();
  stageFlags = 0;
  stageLimitFlags = 0;
  stageExtra.clear();
  let pos: u32 = 0;
  for (;;) {
    const status = tlvDecodeOne(base, pos, length);
    if (status == TLV_END) break;
    if (status != STATUS_OK) return status;
    const next = tlvNext;
    const item = configLoadItem(base, tlvTag, tlvValueStart, tlvValueLength, tlvConstructed);
    if (item != STATUS_OK) return item;
    pos = next;
  }
  if ((stageFlags & (FLAG_COUNTRY | FLAG_CURRENCY)) != (FLAG_COUNTRY | FLAG_CURRENCY)) {
    return ERR_TXN_CONFIG_INVALID;
  }
  if (entryAidStagedCount() == 0) return ERR_TXN_CONFIG_NO_AID;
  configCommit();
  assert(configured && entryAidCount() > 0, 'configuration committed');
  return STATUS_OK;
}

function configLoadItem(base: usize, tag: u32, start: u32, size: u32, constructed: bool): i32 {
  const value = base + <usize>start;
  if (tag == TAG_9F1A_COUNTRY_CODE || tag == TAG_5F2A_CURRENCY_CODE) {
    if (size != 2 || !bcdValid(value, 2)) return ERR_TXN_CONFIG_INVALID;
    const isCountry = tag == TAG_9F1A_COUNTRY_CODE;
    bytesCopy(isCountry ? stageCountry : stageCurrency, value, 2);
    stageFlags |= isCountry ? FLAG_COUNTRY : FLAG_CURRENCY;
    return STATUS_OK;
  }
  const slot = configLimitSlotOf(tag);
  if (slot < LIMITS) {
    if (size != 6 || !bcdValid(value, 6)) return ERR_TXN_CONFIG_INVALID;
    bytesCopy(stageLimits + <usize>(slot * 6), value, 6);
    stageLimitFlags |= 1 << slot;
    return STATUS_OK;
  }
  if (tag == TAG_DF8122_ECASH_LIMIT) {
    if (size != 6 || !bcdValid(value, 6)) return ERR_TXN_CONFIG_INVALID;
    bytesCopy(stageEcashLimit, value, 6);
    stageFlags |= FLAG_ECASH_LIMIT;
    return STATUS_OK;
  }
  if (tag == TAG_DF8121_DEFAULT_DDOL) {
    if (size < 3 || size > CONFIG_DDOL_BYTES_MAX) return ERR_TXN_CONFIG_INVALID;
    bytesCopy(stageDdol, value, size);
    stageDdolLength = size;
    stageFlags |= FLAG_DDOL;
    return STATUS_OK;
  }
  if (tag == TAG_E1_CONFIG_AID_ENTRY && constructed) {
    return entryAidLoad(base, start, start + size);
  }
  if (tag == TAG_E2_CONFIG_TERMINAL_DATA && constructed) {
    return configLoadExtra(base, start, start + size);
  }
  return ERR_TXN_CONFIG_INVALID;
}

function configLoadExtra(base: usize, start: u32, end: u32): i32 {
  let pos = start;
  while (pos < end) {
    const status = tlvDecodeOne(base, pos, end);
    if (status == TLV_END) break;
    if (status != STATUS_OK) return status;
    // The kernel owns every object it sets per transaction; the extras may not override them.
    if (tlvConstructed || configReservedTag(tlvTag)) return ERR_TXN_CONFIG_INVALID;
    const next = tlvNext;
    const put = stageExtra.put(tlvTag, base + <usize>tlvValueStart, tlvValueLength, false);
    if (put != STATUS_OK) return ERR_TXN_CONFIG_INVALID;
    pos = next;
  }
  return STATUS_OK;
}

/** Objects the kernel sets per transaction (see qpboc_gpo.ts). */
export function configReservedTag(tag: u32): bool {
  switch (tag) {
    case 0x9f66:
    case 0x9f02:
    case 0x9f03:
    case 0x9f1a:
    case 0x95:
    case 0x5f2a:
    case 0x9a:
    case 0x9c:
    case 0x9f21:
    case 0x9f37:
    case 0xdf60:
    case 0xdf69:
    case 0x9f7a:
    case 0x9f34:
    case 0x9f41:
    case 0x9b:
      return true;
    default:
      return false;
  }
}

function configCommit(): void {
  entryAidCommit();
  bytesCopy(country, stageCountry, 2);
  bytesCopy(currency, stageCurrency, 2);
  limitFlags = stageLimitFlags;
  bytesCopy(limits, stageLimits, LIMITS * 6);
  const ecash = (stageFlags & FLAG_ECASH_LIMIT) != 0;
  bytesCopy(ecashLimit, ecash ? stageEcashLimit : ECASH_LIMIT_DEFAULT, 6);
  const custom = (stageFlags & FLAG_DDOL) != 0;
  ddolLength = custom ? stageDdolLength : 3;
  bytesCopy(ddol, custom ? stageDdol : DDOL_DEFAULT, ddolLength);
  configExtra.clear();
  const count = <i32>stageExtra.size();
  for (let i: i32 = 0; i < count; i++) {
    const put = configExtra.put(
      stageExtra.tagAt(i),
      stageExtra.valuePtr(i),
      stageExtra.valueLength(i),
      false,
    );
    assert(put == STATUS_OK, 'extra terminal data fits its twin store');
  }
  configured = true;
}
