// Finds cardholder data where it must not be: full PANs and track-2 images in stored bytes and
// log lines (PCI DSS requirement 3: no track data after authorisation, PAN unreadable at rest,
// no full PAN in logs).

/** How a needle writes its PAN, in the order the finder reports them. */
const NEEDLE_FORMS = ['digits', 'BCD', 'ASCII as hex'] as const;

interface Needle {
  readonly pan: string;
  readonly form: (typeof NEEDLE_FORMS)[number];
  readonly bytes: Uint8Array;
  /** Rank in the report order (every digits needle, then BCD, then ASCII as hex). */
  readonly rank: number;
}

/**
 * Needles for every PAN of the population: ASCII digits, packed BCD and ASCII as hex. One
 * pass over the bytes looks each offset's first bytes up in a table (instead of one search
 * per needle, 3 needles per PAN); the answer is the one the needles would give searched one
 * by one, in order (the first needle found, at its first offset).
 */
export class PanFinder {
  private readonly needles: readonly Needle[];
  private readonly ascii: readonly string[];
  /**
   * Digits of the shortest PAN when every PAN is all digits (a text without so many digits in
   * a row holds none of them), else 0: every text is searched.
   */
  private readonly asciiDigitsMin: number;
  /** Bytes of the shortest needle: the lookup key is that many first bytes. */
  private readonly keyBytes: number;
  private readonly byKey = new Map<number, Needle[]>();
  /** 1 at (first byte << 8 | second byte) of every needle: most offsets stop here. */
  private readonly starts = new Uint8Array(1 << 16);
  /**
   * Bytes every needle has at least (at most 32), or 0 when some needle has fewer than 4: an
   * offset is looked at through the window of so many bytes from it.
   */
  private readonly window: number;
  /**
   * By the last two bytes of an offset's window (first << 8 | second): how far the next offset
   * where a needle can start is, at least. A needle starting at most window - 2 bytes before
   * the window's end holds the two bytes at its position j (1 <= j < window) ending there, and
   * starts window - 1 - j bytes on or more; one starting before does not reach them.
   */
  private readonly shift = new Uint8Array(1 << 16);
  /** Longest needle, for the overlap of incremental scans. */
  readonly needleBytesMax: number;

  constructor(pans: Iterable<string>) {
    const unique = [...new Set(pans)];
    this.ascii = unique;
    this.asciiDigitsMin = unique.every((pan) => /^[0-9]+$/.test(pan))
      ? Math.min(...unique.map((pan) => pan.length))
      : 0;
    const forms: readonly ((pan: string) => Uint8Array)[] = [
      (pan) => Buffer.from(pan, 'latin1'),
      // A PAN in a binary TLV (5A, 57): BCD, an odd length padded with F (EMV Book 3, 4.3).
      (pan) => Buffer.from(pan.length % 2 === 0 ? pan : `${pan}F`, 'hex'),
      // A PAN's ASCII as hex text (what a 'sealed' field holds when sealing does not encrypt).
      (pan) => Buffer.from(Buffer.from(pan, 'latin1').toString('hex').toUpperCase(), 'latin1'),
    ];
    const needles: Needle[] = [];
    NEEDLE_FORMS.forEach((form, f) => {
      for (const pan of unique) {
        const bytes = forms[f]?.(pan) ?? new Uint8Array(0);
        if (bytes.length > 0) needles.push({ pan, form, bytes, rank: needles.length });
      }
    });
    this.needles = needles;
    // A PAN has at least 12 digits (ISO/IEC 7812-1): every needle has at least 6 bytes.
    this.keyBytes = Math.max(2, Math.min(6, ...needles.map((n) => n.bytes.length)));
    for (const needle of needles) {
      this.starts[((needle.bytes[0] ?? 0) << 8) | (needle.bytes[1] ?? 0)] = 1;
      const key = keyAt(needle.bytes, 0, this.keyBytes);
      const list = this.byKey.get(key);
      if (list === undefined) this.byKey.set(key, [needle]);
      else list.push(needle);
    }
    this.needleBytesMax = Math.max(0, ...unique.map((p) => 2 * p.length));
    const shortest = Math.min(32, ...needles.map((n) => n.bytes.length));
    this.window = shortest >= 4 ? shortest : 0;
    this.shift.fill(Math.max(0, this.window - 1));
    for (const needle of needles) {
      for (let j = 1; j < this.window; j += 1) {
        const pair = ((needle.bytes[j - 1] ?? 0) << 8) | (needle.bytes[j] ?? 0);
        this.shift[pair] = Math.min(this.shift[pair] ?? 0, this.window - 1 - j);
      }
    }
  }

  /** The first full PAN found in `bytes`, with how it was written, or null. */
  findInBytes(bytes: Uint8Array): string | null {
    const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const found = this.needles.length === 0 ? null : this.firstNeedle(haystack);
    if (found !== null) {
      return `PAN ${mask(found.needle.pan)} in clear (${found.needle.form}) at byte ${found.at}`;
    }
    if (!track2Possible(haystack)) return null;
    const track2 = track2At(haystack.toString('latin1'));
    if (track2 !== null) return `track-2 equivalent data at byte ${track2}`;
    return null;
  }

  /** The first full PAN or track-2 image in a text (a log line), or null. */
  findInText(text: string): string | null {
    // Most log lines hold no digit run as long as a PAN and no track-2 shape: one pass over
    // the characters answers for them, instead of a search per PAN and the track-2 pattern.
    if (textHasNoCardData(text, this.asciiDigitsMin)) return null;
    for (const pan of this.ascii) {
      if (text.includes(pan)) return `PAN ${mask(pan)} in clear`;
    }
    if (track2At(text) !== null) return 'track-2 equivalent data';
    return null;
  }

  /**
   * findInText of the event's JSON text (what a log line holds). An event of flat fields whose
   * every key, text and number passes textHasNoCardData as it would inside that JSON holds no
   * card data, and its text is not made (eventHasNoCardData says why the answer is the same).
   */
  findInEvent(event: unknown): string | null {
    if (eventHasNoCardData(event, this.asciiDigitsMin)) return null;
    return this.findInText(JSON.stringify(event));
  }

  /**
   * The lowest-ranked needle in `bytes` and its first offset, or null. Every offset where a
   * needle starts is looked at (the shift never goes past one), in order.
   */
  private firstNeedle(bytes: Uint8Array): { needle: Needle; at: number } | null {
    let best: { needle: Needle; at: number } | null = null;
    const keyBytes = this.keyBytes;
    const starts = this.starts;
    const window = this.window;
    const shift = this.shift;
    // Bounded: at least one step per byte; the table is looked into only where a needle's
    // first two bytes are.
    for (let at = 0; at + keyBytes <= bytes.length; at += 1) {
      if (window !== 0) {
        if (at + window > bytes.length) break;
        const skip = shift[((bytes[at + window - 2] ?? 0) << 8) | (bytes[at + window - 1] ?? 0)]
          ?? 0;
        if (skip !== 0) {
          at += skip - 1;
          continue;
        }
      }
      if (starts[((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0)] === 0) continue;
      const candidates = this.byKey.get(keyAt(bytes, at, keyBytes));
      if (candidates === undefined) continue;
      for (const needle of candidates) {
        if (best !== null && needle.rank >= best.needle.rank) continue;
        if (at + needle.bytes.length <= bytes.length && startsWith(bytes, at, needle.bytes)) {
          best = { needle, at };
        }
      }
    }
    return best;
  }
}

/** The first `count` (at most 6) bytes at `at` as one number (a table key). */
function keyAt(bytes: Uint8Array, at: number, count: number): number {
  let key = 0;
  for (let i = 0; i < count; i += 1) key = key * 256 + (bytes[at + i] ?? 0);
  return key;
}

function startsWith(bytes: Uint8Array, at: number, needle: Uint8Array): boolean {
  for (let i = 0; i < needle.length; i += 1) if (bytes[at + i] !== needle[i]) return false;
  return true;
}

/**
 * Digits a track 2 has after its field separator at least: YYMM and the 3-digit service code
 * (TRACK2_TOKEN and TAG57_HEX both ask for them).
 */
const TRACK2_DIGITS_AFTER = 7;

/** True when the `TRACK2_DIGITS_AFTER` codes after `at` are ASCII digits. */
function digitsAfter(codeAt: (i: number) => number, length: number, at: number): boolean {
  if (at + TRACK2_DIGITS_AFTER >= length) return false;
  for (let i = at + 1; i <= at + TRACK2_DIGITS_AFTER; i += 1) {
    const code = codeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/**
 * False when `bytes` hold no 12 ASCII digits followed by a field separator (D, d or =) and 7
 * digits: then neither TRACK2_TOKEN nor TAG57_HEX can match and the text need not be made.
 * Looks at every 12th byte while they are no digits: a run of 12 digits holds one of them
 * (the next byte looked at is never more than 12 past a non-digit), then at that whole run.
 */
function track2Possible(bytes: Uint8Array): boolean {
  const length = bytes.length;
  const codeAt = (i: number): number => bytes[i] ?? 0;
  let probe = 11;
  while (probe + TRACK2_DIGITS_AFTER + 1 < length) {
    if (!isDigit(codeAt(probe))) {
      probe += 12;
      continue;
    }
    let start = probe;
    while (start > 0 && isDigit(codeAt(start - 1))) start -= 1;
    let end = probe + 1;
    while (end < length && isDigit(codeAt(end))) end += 1;
    const separator = codeAt(end);
    if (end - start >= 12 && (separator === 0x44 || separator === 0x64 || separator === 0x3d)
      && digitsAfter(codeAt, length, end)) return true;
    probe = end + 12;
  }
  return false;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * True when `text` can hold neither a PAN of `digitsMin` digits or more (0: any text may) nor
 * a track 2 (TRACK2_TOKEN, TAG57_HEX): it has no run of `digitsMin` ASCII digits, and no run
 * of 12 followed by a field separator (D, d or =) and 7 digits, as track2Possible asks of
 * bytes.
 */
function textHasNoCardData(text: string, digitsMin: number): boolean {
  return digitsMin !== 0 && textScan(text, digitsMin, false);
}

/**
 * textHasNoCardData of `text` (`digitsMin` > 0); with `plain`, also false when a character of
 * it is one JSON writes as a \u escape (a control character, a surrogate).
 */
function textScan(text: string, digitsMin: number, plain: boolean): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0x30 && code <= 0x39) {
      digits += 1;
      if (digits >= digitsMin) return false;
      continue;
    }
    if (plain && (code < 0x20 || (code >= 0xd800 && code <= 0xdfff))) return false;
    if (digits >= 12 && (code === 0x44 || code === 0x64 || code === 0x3d)
      && digitsAfter((at) => text.charCodeAt(at), text.length, i)) return false;
    digits = 0;
  }
  return true;
}

/**
 * True only when textHasNoCardData(JSON.stringify(event), digitsMin) is true, without making
 * the text: in JSON text a run of digits, and the characters after it that the test reads
 * (a separator, digits), lie within one token (the quotes, colons, commas and braces between
 * tokens are neither digits nor separators), so the text has no card data when no token has.
 * A key or a text token is the text itself with a backslash before each quote and backslash
 * (neither a digit nor a separator) once no character of it is written as a \u escape
 * (control characters, lone surrogates: those are left to the JSON text); a finite number's
 * token is String(n) (a safe integer of fewer digits than 12 and `digitsMin` has no run to
 * look at), another is null; true, false and null hold no digit, and an absent value writes
 * nothing. Anything else (a nested value, toJSON, a bigint) goes the JSON way: false.
 */
function eventHasNoCardData(event: unknown, digitsMin: number): boolean {
  if (digitsMin === 0 || typeof event !== 'object' || event === null || Array.isArray(event)
    || 'toJSON' in event) return false;
  const fields = event as Readonly<Record<string, unknown>>;
  const shortMax = 10 ** (Math.min(12, digitsMin) - 1);
  for (const key of Object.keys(fields)) {
    if (!textScan(key, digitsMin, true)) return false;
    const value = fields[key];
    switch (typeof value) {
      case 'string':
        if (!textScan(value, digitsMin, true)) return false;
        break;
      case 'number':
        if (Number.isSafeInteger(value) && Math.abs(value) < shortMax) break;
        if (!textScan(String(value), digitsMin, false)) return false;
        break;
      case 'boolean':
      case 'undefined':
        break;
      default:
        if (value !== null) return false;
    }
  }
  return true;
}

/**
 * Track 2 written as text: PAN, a field separator ('D' in the hex of tag 57, '=' on a
 * magnetic stripe), YYMM expiry, service code and discretionary digits (ISO/IEC 7813), F pads
 * to a whole byte or a field's width. It is a token of its own (between quotes, spaces, sentinels,
 * the ends): random hex (a cryptogram, a sealed PAN, a MAC) starts with 12 digits, a D and 7
 * digits once in about 10^7 fields, but then goes on with A-F, which a track 2 never holds.
 * Groups: the PAN, the month.
 */
const TRACK2_TOKEN =
  /(?:^|[^0-9A-Za-z])([0-9]{12,19})[D=][0-9]{2}([0-9]{2})[0-9]{3,}F*(?![0-9A-Za-z])/gi;

/**
 * Tag 57 inside TLV hex (an ICC data field): its header, then a track 2 equivalent. Counted
 * only when the length byte covers the whole track (tag57ValueAt): "57" before 12 digits and
 * a D also turns up in T-Union records and MACs. Groups: the length byte, the PAN, the month.
 */
const TAG57_HEX = /57([0-9A-F]{2})([0-9]{12,19})D[0-9]{2}([0-9]{2})[0-9]{3}/gi;

/**
 * Tag 57's value as EMV Book 3 (Annex A) writes it: at most 19 bytes, every nibble a digit but
 * the one field separator D, the last an F pad when the digits are odd.
 */
const TAG57_VALUE = /^[0-9]{12,19}D[0-9]{7,}F?$/i;

/** Offset of the first track 2 in `text` whose PAN passes Luhn and month is 01-12, or null. */
function track2At(text: string): number | null {
  let first: number | null = null;
  for (const match of text.matchAll(TRACK2_TOKEN)) {
    if (plausible(match[1], match[2])) {
      first = match.index;
      break;
    }
  }
  // Stepped one character at a time: a "57" that is no header must not hide one inside it.
  const tag57 = new RegExp(TAG57_HEX);
  for (let match = tag57.exec(text); match !== null; match = tag57.exec(text)) {
    if (first !== null && match.index >= first) break;
    if (plausible(match[2], match[3]) && tag57ValueAt(text, match.index + 4, match[1] ?? '')
      && hexAligned(text, match.index)) {
      return match.index;
    }
    tag57.lastIndex = match.index + 1;
  }
  return first;
}

/**
 * A card PAN (its first digit, the major industry identifier, is 1-9: ISO/IEC 7812-1 gives 0
 * to no card issuer) that passes Luhn, and an expiry month 01-12. Zero-padded numbers (a
 * T-Union record's terminal number 000000000123, then its serial 000002D8: swarm seed 109
 * with --taps 5000, read after a chance "5710" as a whole tag 57) are no PAN.
 */
function plausible(pan: string | undefined, month: string | undefined): boolean {
  const mm = Number(month);
  return mm >= 1 && mm <= 12 && pan !== undefined && pan[0] !== '0' && luhnValid(pan);
}

/**
 * True when `at` is an even number of characters into its run of hex digits: a tag of TLV
 * written as hex starts on a byte, two characters to a byte from the start of the field. A
 * "57" between the nibbles of two bytes is none (swarm seed 78 with --taps 20000: a T-Union
 * kernel record's bytes C6 25 70 F4, then the terminal number and date, read from the 5 of 25
 * as "57 0F" and 15 bytes of a Luhn-valid 19-digit PAN, D, and digits).
 */
function hexAligned(text: string, at: number): boolean {
  let start = at;
  while (start > 0 && HEX_DIGIT.test(text[start - 1] ?? '')) start -= 1;
  return (at - start) % 2 === 0;
}

const HEX_DIGIT = /^[0-9A-Fa-f]$/;

/** True when the `lengthHex` bytes of hex at `at` are a whole track 2 equivalent (TAG57_VALUE). */
function tag57ValueAt(text: string, at: number, lengthHex: string): boolean {
  const bytes = Number.parseInt(lengthHex, 16);
  if (bytes > 19 || at + 2 * bytes > text.length) return false;
  return TAG57_VALUE.test(text.slice(at, at + 2 * bytes));
}

/** ISO/IEC 7812-1 Annex B check digit. */
function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 0x30;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** First 6 and last 4 digits: what may be shown (PCI DSS 3.4). */
function mask(pan: string): string {
  return pan.length <= 10 ? '*'.repeat(pan.length) : `${pan.slice(0, 6)}…${pan.slice(-4)}`;
}
