// AFL layout from the record list, and the static data to be authenticated (EMV Book 3, 10.3).

import { berTlv, concatBytes } from '../pki/emv_bytes.js';
import type { RecordProfile } from './card_profile.js';
import { TAG_70_RECORD, TAG_82_AIP, TAG_9F4A_SDA_TAG_LIST } from './emv_card_tags.js';

/** One AFL entry: SFI, first and last record, number of leading records used for ODA. */
export interface AflEntry {
  readonly sfi: number;
  readonly first: number;
  readonly last: number;
  readonly odaCount: number;
}

/** The AFL as entries and as the 94 value, plus the key of the record that commits. */
export interface AflLayout {
  readonly entries: readonly AflEntry[];
  /** Tag 94 value: 4 bytes per entry. */
  readonly bytes: Uint8Array;
  /** recordKey of the last record of the last entry, or null when there are no records. */
  readonly lastRecordKey: string | null;
}

/** Map key of a record. */
export function recordKey(sfi: number, recordNumber: number): string {
  return `${sfi}.${recordNumber}`;
}

/**
 * Groups records, in profile order, into AFL entries: a record extends the current entry when
 * it has the same SFI and the next number, and (because the ODA records of an entry must come
 * first) when it is not an ODA record following a non-ODA one.
 */
export function buildAfl(records: readonly RecordProfile[]): AflLayout {
  const entries: { sfi: number; first: number; last: number; odaCount: number }[] = [];
  for (const r of records) {
    const current = entries[entries.length - 1];
    const extends_ =
      current !== undefined &&
      current.sfi === r.sfi &&
      current.last + 1 === r.number &&
      (!r.oda || current.odaCount === current.last - current.first + 1);
    if (current !== undefined && extends_) {
      current.last = r.number;
      if (r.oda) current.odaCount += 1;
    } else {
      entries.push({ sfi: r.sfi, first: r.number, last: r.number, odaCount: r.oda ? 1 : 0 });
    }
  }
  const bytes = new Uint8Array(entries.length * 4);
  entries.forEach((e, i) => bytes.set([e.sfi << 3, e.first, e.last, e.odaCount], i * 4));
  const lastEntry = entries[entries.length - 1];
  const lastRecordKey = lastEntry === undefined ? null : recordKey(lastEntry.sfi, lastEntry.last);
  return { entries, bytes, lastRecordKey };
}

/** Anything with the bytes of a personalised static record. */
interface RecordBytes {
  readonly staticBytes: Uint8Array | null;
}

/**
 * The static data to be authenticated: for each ODA record in AFL order, the value of its 70
 * template (SFI 1-10) or the whole record (SFI 11-30), then the values of the tags listed in
 * 9F4A (only 82, the AIP, is allowed). Records that are not personalised yet are skipped, which
 * only happens for non-ODA records. See EMV 4.4 Book 3, 10.3 and domain.md 1.6.
 */
export function staticDataToAuthenticate(
  afl: AflLayout,
  records: ReadonlyMap<string, RecordBytes>,
  data: ReadonlyMap<number, Uint8Array>,
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of afl.entries) {
    for (let n = e.first; n < e.first + e.odaCount; n += 1) {
      const bytes = records.get(recordKey(e.sfi, n))?.staticBytes;
      if (bytes === null || bytes === undefined) continue;
      parts.push(e.sfi <= 10 ? templateValue(bytes) : bytes);
    }
  }
  const tagList = data.get(TAG_9F4A_SDA_TAG_LIST);
  if (tagList !== undefined && tagList.length === 1 && tagList[0] === TAG_82_AIP) {
    const aip = data.get(TAG_82_AIP);
    if (aip !== undefined) parts.push(aip);
  }
  return concatBytes(...parts);
}

/** The value of a 70 template (strips tag and BER length). */
function templateValue(record: Uint8Array): Uint8Array {
  const lengthByte = record[1] ?? 0;
  const header = lengthByte === 0x81 ? 3 : lengthByte === 0x82 ? 4 : 2;
  return record.subarray(header);
}

/** A `70` record from TLVs (used for records filled per transaction). */
export function recordTemplate(tlvs: readonly Uint8Array[]): Uint8Array {
  return berTlv(TAG_70_RECORD, concatBytes(...tlvs));
}
