// Kernel records (torn snapshot, clearing TLV) turned into journal entries that hold no track
// data, no cardholder name and no clear PAN (PCI DSS v4.0 req. 3.3-3.5), and back.

import {
  decodeTlv,
  findTlv,
  panDigitsOf,
  tlvEncode,
  type TlvObject,
} from '../../../../assembly/host/qpboc_session.js';
import {
  CARD_TAGS_NOT_STORED,
  TAG_DF8104_STATIC_DATA,
  TAG_DF8170_SEALED_CARD_OBJECT,
  TORN_RECORD_TAGS_NOT_STORED,
  tlvHexTagsFind,
  type CardKey,
  type ClearingRecord,
  type RecoveryContext,
} from '../journal/journal_records.js';
import type { PanVault } from '../journal/pan_vault.js';
import { hexUpper } from '../../../../assembly/host/hex_upper.js';

/** A card as the tap knows it in memory (clear PAN: never written anywhere as it is). */
export interface CardIdentity {
  readonly pan: string;
  readonly psn: number;
  readonly uidHex: string;
}

const TAG_57_TRACK2 = 0x57;
const TAG_E2_CARD_DATA = 0xe2;
const TAG_DF8102_TORN_MODE = 0xdf8102;

const hexOf = (bytes: Uint8Array | null): string => (bytes === null ? '' : hexUpper(bytes));

/** Decodes BER-TLV from the kernel, or null when it is malformed (never throws). */
export function tlvObjectsOf(bytes: Uint8Array): TlvObject[] | null {
  try {
    return decodeTlv(bytes);
  } catch {
    return null;
  }
}

/** The PAN of a record: 5A, else the digits of track 2 (57) before the separator. */
export function panOf(objects: readonly TlvObject[]): string {
  const pan = findTlv(objects, 0x5a);
  if (pan !== null) return panDigitsOf(pan);
  const track2 = hexOf(findTlv(objects, 0x57));
  const separator = track2.indexOf('D');
  return separator < 0 ? '' : track2.slice(0, separator);
}

/** Card of a record: PAN, PSN (5F34 byte, 0 when absent) and the UID of this tap. */
export function cardIdentityOf(objects: readonly TlvObject[], uidHex: string): CardIdentity {
  return { pan: panOf(objects), psn: findTlv(objects, 0x5f34)?.[0] ?? 0, uidHex };
}

/** The journal's card key of a record (token, sealed and masked PAN); null without a PAN. */
export function cardKeyOf(
  objects: readonly TlvObject[],
  uidHex: string,
  vault: PanVault,
): CardKey | null {
  const card = cardIdentityOf(objects, uidHex);
  return vault.cardKey(card.pan, card.psn, card.uidHex);
}

/**
 * Where a buffer holds the card's PAN: byte ranges [start, end) in its ArrayBuffer (the
 * coordinates of the views decodeTlv hands out), found once per record with native searches
 * instead of once per object (an object of a tap's records is looked at only where a range
 * falls inside its value). The PAN is searched as ASCII digits and as BCD from either nibble
 * (what the hex of the bytes spells as the digits: the swarm's PAN finder reads it that way).
 */
type PanRanges = readonly (readonly [number, number])[];

function panRangesIn(source: Uint8Array, pan: string): PanRanges {
  if (pan.length < 2) return [];
  const bytes = Buffer.from(source.buffer, source.byteOffset, source.length);
  const ranges: [number, number][] = [];
  const add = (at: number, length: number): void => {
    ranges.push([source.byteOffset + at, source.byteOffset + at + length]);
  };
  for (const at of indexesOf(bytes, Buffer.from(pan, 'latin1'))) add(at, pan.length);
  // From a high nibble: whole digit pairs, then an odd last digit in the next high nibble.
  const pairs = Math.floor(pan.length / 2);
  const last = pan.length % 2 === 1 ? Number(pan[pan.length - 1]) : null;
  for (const at of indexesOf(bytes, Buffer.from(pan.slice(0, 2 * pairs), 'hex'))) {
    if (last === null) add(at, pairs);
    else if (((bytes[at + pairs] ?? 0xff) >> 4) === last) add(at, pairs + 1);
  }
  // From a low nibble: the first digit ends the byte before the pairs of the others.
  const first = Number(pan[0]);
  const restPairs = Math.floor((pan.length - 1) / 2);
  const restLast = (pan.length - 1) % 2 === 1 ? Number(pan[pan.length - 1]) : null;
  for (const at of indexesOf(bytes, Buffer.from(pan.slice(1, 1 + 2 * restPairs), 'hex'))) {
    if (at === 0 || ((bytes[at - 1] ?? 0) & 0x0f) !== first) continue;
    if (restLast === null) add(at - 1, restPairs + 1);
    else if (((bytes[at + restPairs] ?? 0xff) >> 4) === restLast) add(at - 1, restPairs + 2);
  }
  return ranges;
}

/** Every offset of `needle` in `bytes` (overlapping ones too); none of an empty needle. */
function indexesOf(bytes: Buffer, needle: Buffer): number[] {
  const found: number[] = [];
  if (needle.length === 0) return found;
  // Bounded: each search starts one byte after the last match.
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    found.push(at);
  }
  return found;
}

/** True when one of `ranges` lies inside `value` (a view of the same buffer). */
function holdsPan(value: Uint8Array, ranges: PanRanges): boolean {
  const start = value.byteOffset;
  const end = start + value.length;
  for (const [from, to] of ranges) if (from >= start && to <= end) return true;
  return false;
}

/**
 * BER-TLV of `objects` without the `refused` tags at any depth (E1/E2 of a torn record), and
 * with no object whose value holds the card's PAN in clear: the refused tags are where EMV
 * puts card data, and a PAN under any other tag is either dropped (`seal` null: ICC data) or
 * kept sealed in a DF8170 object (`seal`: a torn record, whose objects the kernel needs back,
 * tlvUnsealed). An SM2 ICC certificate (9F46) holds the PAN in clear, and a damaged byte can
 * put it anywhere: swarm seed 20139 with --taps 500, line noise past the PN532 checksum turned
 * a record's 5A into 1A, and its PAN reached the journal in clear.
 */
function tlvWithout(
  objects: readonly TlvObject[],
  refused: readonly number[],
  pan: PanRanges,
  seal: ((tlv: Uint8Array) => Uint8Array) | null,
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const object of objects) {
    if (refused.includes(object.tag)) continue;
    if (object.children !== null) {
      parts.push(tlvEncode(object.tag, tlvWithout(object.children, refused, pan, seal)));
    } else if (!holdsPan(object.value, pan)) {
      parts.push(tlvEncode(object.tag, object.value));
    } else if (seal !== null) {
      const sealed = seal(tlvEncode(object.tag, object.value));
      parts.push(tlvEncode(TAG_DF8170_SEALED_CARD_OBJECT, sealed));
    }
  }
  return bytesJoined(parts);
}

/**
 * BER-TLV of `objects` with each DF8170 object opened back into the object it sealed, at any
 * depth; null when one does not open under `vault` (another key, changed bytes) or does not
 * hold one object.
 */
function tlvUnsealed(objects: readonly TlvObject[], vault: PanVault): Uint8Array | null {
  const parts: Uint8Array[] = [];
  for (const object of objects) {
    if (object.tag === TAG_DF8170_SEALED_CARD_OBJECT) {
      const opened = vault.open(hexOf(object.value));
      if (!opened.ok || tlvObjectsOf(opened.value)?.length !== 1) return null;
      parts.push(opened.value);
    } else if (object.children !== null) {
      const inner = tlvUnsealed(object.children, vault);
      if (inner === null) return null;
      parts.push(tlvEncode(object.tag, inner));
    } else {
      parts.push(tlvEncode(object.tag, object.value));
    }
  }
  return bytesJoined(parts);
}

/**
 * A stored recovery as a new record may carry it again (the torn record of a tap that went on
 * from it). One an earlier build wrote may hold a tag CARD_TAGS_NOT_STORED gained since (9F0B,
 * 9F61, 9F62), which an append now refuses, and that torn record would not be written: those
 * objects are dropped. It may also hold the PAN in clear (an SM2 certificate, before stop 48):
 * such an object is sealed, as recoveryOf seals it now. A recovery with neither comes back as
 * it is; so does one whose torn record or sealed PAN does not read (the append says why).
 */
export function recoveryRestored(recovery: RecoveryContext, vault: PanVault): RecoveryContext {
  const bytes = Uint8Array.from(Buffer.from(recovery.tornRecordHex, 'hex'));
  const pan = vault.openPan(recovery.card.panSealed);
  const ranges = pan.ok ? panRangesIn(bytes, pan.value) : [];
  const refused = tlvHexTagsFind(recovery.tornRecordHex, TORN_RECORD_TAGS_NOT_STORED);
  if (refused === null && ranges.length === 0) return recovery;
  const objects = tlvObjectsOf(bytes);
  if (objects === null) return recovery;
  const seal = (tlv: Uint8Array): Uint8Array => Buffer.from(vault.seal(tlv), 'hex');
  const tornRecordHex = hexOf(tlvWithout(objects, TORN_RECORD_TAGS_NOT_STORED, ranges, seal));
  return { ...recovery, tornRecordHex };
}

/**
 * `parts` end to end in one new Uint8Array: what Uint8Array.from(Buffer.concat(parts)) gives,
 * without the Buffer in between nor Uint8Array.from's walk of it byte by byte (a torn record
 * is joined once per level of its tree at every tap).
 */
function bytesJoined(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function bcdNumber(bytes: Uint8Array | null): number {
  const text = hexOf(bytes);
  return /^[0-9]+$/.test(text) ? Number(text) : 0;
}

function u16(bytes: Uint8Array | null): number {
  return bytes === null || bytes.length < 2 ? 0 : ((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0);
}

/**
 * RecoveryContext (journal, domain.md 4.4) from the kernel's torn record or torn snapshot:
 * the fields a reconciler reads, the torn record without track data, name and clear PAN, and
 * the ODA static data sealed. Null when the record lacks the mandatory parts (82, 94, 9F26,
 * 9F37, 9A, a PAN and a track 2 expiry).
 */
export function recoveryOf(
  tornRecord: Uint8Array,
  uidHex: string,
  vault: PanVault,
): RecoveryContext | null {
  const objects = tlvObjectsOf(tornRecord);
  if (objects === null) return null;
  const get = (tag: number): Uint8Array | null => findTlv(objects, tag);
  const afl = get(0x94);
  const aip = get(0x82);
  const cryptogram = get(0x9f26);
  const un = get(0x9f37);
  const date = get(0x9a);
  const progress = get(0xdf8103);
  const expiry = /D([0-9]{2}(?:0[1-9]|1[0-2]))/.exec(hexOf(get(TAG_57_TRACK2)))?.[1];
  const card = cardKeyOf(objects, uidHex, vault);
  if (afl === null || aip === null || cryptogram === null || un === null || date === null) {
    return null;
  }
  if (card === null || expiry === undefined) return null;
  const staticData = get(TAG_DF8104_STATIC_DATA) ?? new Uint8Array(0);
  return {
    card,
    aidHex: hexOf(get(0x84) ?? get(0x4f)),
    atc: u16(get(0x9f36)),
    amountAuthorisedMinor: bcdNumber(get(0x9f02)),
    currencyCode: bcdNumber(get(0x5f2a)),
    transactionDate: hexOf(date),
    transactionTime: hexOf(get(0x9f21)) || '000000',
    unpredictableNumberHex: hexOf(un),
    aipHex: hexOf(aip),
    aflHex: hexOf(afl),
    recordsReadCount: progress?.[0] ?? 0,
    cryptogramHex: hexOf(cryptogram),
    iadHex: hexOf(get(0x9f10)),
    ctqHex: hexOf(get(0x9f6c)),
    sdadHex: get(0x9f4b) === null ? null : hexOf(get(0x9f4b)),
    // DF8102 is 0 on the e-cash path (auto mode too, qpboc_torn.ts); 1 (ODA) or 2 (auto, not
    // the e-cash path: ODA or the full flow) leave the purse alone: only an ARQC charges.
    mode: (get(TAG_DF8102_TORN_MODE)?.[0] ?? 0) === 0 ? 'ec' : 'oda',
    track2ExpiryYymm: expiry,
    tornRecordHex: hexOf(tlvWithout(objects, TORN_RECORD_TAGS_NOT_STORED,
      panRangesIn(tornRecord, panOf(objects)), (tlv) => Buffer.from(vault.seal(tlv), 'hex'))),
    staticDataSealedHex: staticData.length === 0 ? '' : vault.seal(staticData),
  };
}

/**
 * The kernel's torn record of a RecoveryContext, for OP_TXN_RECOVER: the stored record plus
 * the static data unsealed and a track 2 of PAN, separator and expiry (the kernel reads the
 * PAN and the expiry from it: assembly qpboc_gpo.ts gpoMandatory, qpboc_rules.ts). Null when
 * the sealed parts do not open under `vault` (another key, changed bytes).
 */
export function tornRecordOf(recovery: RecoveryContext, vault: PanVault): Uint8Array | null {
  const pan = vault.openPan(recovery.card.panSealed);
  if (!pan.ok) return null;
  let staticData: Uint8Array = new Uint8Array(0);
  if (recovery.staticDataSealedHex !== '') {
    const opened = vault.open(recovery.staticDataSealedHex);
    if (!opened.ok) return null;
    staticData = opened.value;
  }
  const objects = tlvObjectsOf(Uint8Array.from(Buffer.from(recovery.tornRecordHex, 'hex')));
  if (objects === null) return null;
  const digits = `${pan.value}D${recovery.track2ExpiryYymm}`;
  const track2 = Buffer.from(digits.length % 2 === 0 ? digits : `${digits}F`, 'hex');
  const parts: Uint8Array[] = [];
  for (const object of objects) {
    if (object.tag === TAG_E2_CARD_DATA && object.children !== null) {
      const cardData = tlvUnsealed(object.children, vault);
      if (cardData === null) return null;
      parts.push(tlvEncode(TAG_E2_CARD_DATA, bytesJoined([cardData, tlvEncode(0x57, track2)])));
    } else {
      const opened = tlvUnsealed([object], vault);
      if (opened === null) return null;
      parts.push(opened);
    }
  }
  parts.push(tlvEncode(TAG_DF8104_STATIC_DATA, staticData));
  return Uint8Array.from(Buffer.concat(parts));
}

/** Facts of the tap the clearing record needs beside the card's ICC data. */
export interface ClearingContext {
  readonly uidHex: string;
  readonly fareRule: string;
  readonly cryptogramType: 'TC' | 'ARQC';
  readonly terminalId: string;
  readonly lineId: string;
  readonly paramsVersion: number;
}

/**
 * ClearingRecord from the kernel's clearing TLV (ISO 8583 field 55 content). The PAN goes to
 * the card key (sealed; field 2 of the upload), and track 2, track 1, the cardholder name and
 * 5A are dropped from the ICC data: field 55 does not need them (PCI DSS v4.0 req. 3.3.1).
 */
export function clearingOf(
  tlv: Uint8Array,
  context: ClearingContext,
  vault: PanVault,
): ClearingRecord | null {
  const objects = tlvObjectsOf(tlv);
  if (objects === null) return null;
  const get = (tag: number): Uint8Array | null => findTlv(objects, tag);
  const card = cardKeyOf(objects, context.uidHex, vault);
  if (card === null || get(0x9f26) === null) return null;
  return {
    card,
    aidHex: hexOf(get(0x84) ?? get(0x4f)),
    atc: u16(get(0x9f36)),
    amountMinor: bcdNumber(get(0x9f02)),
    currencyCode: bcdNumber(get(0x5f2a)),
    fareRule: context.fareRule,
    cryptogramType: context.cryptogramType,
    iccDataHex: hexOf(tlvWithout(objects, CARD_TAGS_NOT_STORED, panRangesIn(tlv, panOf(objects)),
      null)),
    transactionDate: hexOf(get(0x9a)),
    transactionTime: hexOf(get(0x9f21)) || '000000',
    terminalId: context.terminalId,
    lineId: context.lineId,
    paramsVersion: context.paramsVersion,
  };
}
