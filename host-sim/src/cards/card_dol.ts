// Card-side DOL handling: parse the card's own PDOL and split the terminal's GPO data by it.

import { TAG_83_COMMAND_TEMPLATE } from './emv_card_tags.js';

/** One DOL entry: tag number and the length the card asks for. */
export interface DolEntry {
  readonly tag: number;
  readonly length: number;
}

/** Maximum entries in a DOL; a personalisation bound, not a spec limit. */
export const DOL_ENTRIES_MAX = 32;

/**
 * Parses a DOL (tag, one-byte length pairs; tags per the BER multi-byte rule).
 * Throws RangeError on a truncated DOL, a tag over three bytes or more than DOL_ENTRIES_MAX
 * entries (a personalisation error, never card input at run time).
 */
export function parseDol(dol: Uint8Array): readonly DolEntry[] {
  const entries: DolEntry[] = [];
  let i = 0;
  while (i < dol.length) {
    if (entries.length >= DOL_ENTRIES_MAX) throw new RangeError('DOL too long');
    let tag = dol[i] ?? 0;
    i += 1;
    if ((tag & 0x1f) === 0x1f) {
      let more = true;
      while (more) {
        const b = dol[i];
        if (b === undefined || tag > 0xffff) throw new RangeError('DOL tag truncated or too long');
        tag = (tag << 8) | b;
        more = (b & 0x80) !== 0;
        i += 1;
      }
    }
    const length = dol[i];
    if (length === undefined || length >= 0x80) throw new RangeError('DOL length missing or long');
    entries.push({ tag, length });
    i += 1;
  }
  return entries;
}

/** Sum of the lengths a DOL asks for (the length of the data the terminal must send). */
export function dolDataLength(entries: readonly DolEntry[]): number {
  let total = 0;
  for (const e of entries) total += e.length;
  return total;
}

/**
 * The value of tag 83 in GPO command data (`83 L data`, BER length), or null when the data
 * is not exactly one tag-83 TLV (the card answers 6A80 then).
 */
export function gpoCommandTemplate(data: Uint8Array): Uint8Array | null {
  if (data[0] !== TAG_83_COMMAND_TEMPLATE || data.length < 2) return null;
  let length = data[1] ?? 0;
  let offset = 2;
  if (length === 0x81) {
    length = data[2] ?? -1;
    offset = 3;
  } else if (length > 0x80) {
    return null;
  }
  if (offset + length !== data.length) return null;
  return data.slice(offset);
}

/** Splits DOL-related data into a tag -> value map (values exactly as the terminal sent them). */
export function splitDolData(
  entries: readonly DolEntry[],
  data: Uint8Array,
): ReadonlyMap<number, Uint8Array> {
  const values = new Map<number, Uint8Array>();
  let offset = 0;
  for (const e of entries) {
    values.set(e.tag, data.slice(offset, offset + e.length));
    offset += e.length;
  }
  return values;
}
