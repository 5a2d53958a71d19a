// Kernel records (torn snapshot, clearing TLV) turned into journal entries, and PAN masking.

import {
  decodeTlv,
  findTlv,
  panDigitsOf,
  type TlvObject,
} from '../../../../assembly/host/qpboc_session.js';
import type { CardKey, ClearingRecord, RecoveryContext } from '../journal/journal_records.js';

const hexOf = (bytes: Uint8Array | null): string =>
  bytes === null ? '' : Buffer.from(bytes).toString('hex').toUpperCase();

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

/** Card key of a record: PAN, PSN (5F34 byte, 0 when absent) and the UID of this tap. */
export function cardKeyOf(objects: readonly TlvObject[], uidHex: string): CardKey {
  return { pan: panOf(objects), psn: findTlv(objects, 0x5f34)?.[0] ?? 0, uidHex };
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
 * the fields a reconciler reads, plus the whole kernel record in iccDataHex, which is what a
 * GPO-less recovery hands back to the kernel. Null when the record lacks the mandatory parts.
 */
export function recoveryOf(tornRecord: Uint8Array, uidHex: string): RecoveryContext | null {
  const objects = tlvObjectsOf(tornRecord);
  if (objects === null) return null;
  const get = (tag: number): Uint8Array | null => findTlv(objects, tag);
  const afl = get(0x94);
  const aip = get(0x82);
  const cryptogram = get(0x9f26);
  const un = get(0x9f37);
  const date = get(0x9a);
  const progress = get(0xdf8103);
  if (afl === null || aip === null || cryptogram === null || un === null || date === null) {
    return null;
  }
  return {
    card: cardKeyOf(objects, uidHex),
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
    iccDataHex: hexOf(tornRecord),
  };
}

/** The kernel's torn record stored in a RecoveryContext (see recoveryOf). */
export function tornRecordOf(recovery: RecoveryContext): Uint8Array {
  return Uint8Array.from(Buffer.from(recovery.iccDataHex, 'hex'));
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

/** ClearingRecord from the kernel's clearing TLV (ISO 8583 field 55 content). */
export function clearingOf(tlv: Uint8Array, context: ClearingContext): ClearingRecord | null {
  const objects = tlvObjectsOf(tlv);
  if (objects === null) return null;
  const get = (tag: number): Uint8Array | null => findTlv(objects, tag);
  const card = cardKeyOf(objects, context.uidHex);
  if (card.pan === '' || get(0x9f26) === null) return null;
  return {
    card,
    aidHex: hexOf(get(0x84) ?? get(0x4f)),
    atc: u16(get(0x9f36)),
    amountMinor: bcdNumber(get(0x9f02)),
    currencyCode: bcdNumber(get(0x5f2a)),
    fareRule: context.fareRule,
    cryptogramType: context.cryptogramType,
    iccDataHex: hexOf(tlv),
    transactionDate: hexOf(get(0x9a)),
    transactionTime: hexOf(get(0x9f21)) || '000000',
    terminalId: context.terminalId,
    lineId: context.lineId,
    paramsVersion: context.paramsVersion,
  };
}
