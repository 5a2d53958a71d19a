// Finds cardholder data where it must not be: full PANs and track-2 images in stored bytes and
// log lines (PCI DSS requirement 3: no track data after authorisation, PAN unreadable at rest,
// no full PAN in logs).

/** Needles for every PAN of the population: ASCII digits and packed BCD. */
export class PanFinder {
  private readonly ascii: { pan: string; bytes: Buffer }[];
  private readonly bcd: { pan: string; bytes: Buffer }[];
  private readonly asciiHex: { pan: string; bytes: Buffer }[];
  /** Longest needle, for the overlap of incremental scans. */
  readonly needleBytesMax: number;

  constructor(pans: Iterable<string>) {
    const unique = [...new Set(pans)];
    this.ascii = unique.map((pan) => ({ pan, bytes: Buffer.from(pan, 'latin1') }));
    // A PAN in a binary TLV (5A, 57): BCD, an odd length padded with F (EMV Book 3, 4.3).
    this.bcd = unique.map((pan) => {
      const even = pan.length % 2 === 0 ? pan : `${pan}F`;
      return { pan, bytes: Buffer.from(even, 'hex') };
    });
    // A PAN's ASCII as hex text (what a 'sealed' field holds when the sealing does not encrypt).
    this.asciiHex = unique.map((pan) => {
      const hex = Buffer.from(pan, 'latin1').toString('hex').toUpperCase();
      return { pan, bytes: Buffer.from(hex, 'latin1') };
    });
    this.needleBytesMax = Math.max(0, ...unique.map((p) => 2 * p.length));
  }

  /** The first full PAN found in `bytes`, with how it was written, or null. */
  findInBytes(bytes: Uint8Array): string | null {
    const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    for (const needle of this.ascii) {
      const at = haystack.indexOf(needle.bytes);
      if (at >= 0) return `PAN ${mask(needle.pan)} in clear (digits) at byte ${at}`;
    }
    for (const needle of this.bcd) {
      const at = haystack.indexOf(needle.bytes);
      if (at >= 0) return `PAN ${mask(needle.pan)} in clear (BCD) at byte ${at}`;
    }
    for (const needle of this.asciiHex) {
      const at = haystack.indexOf(needle.bytes);
      if (at >= 0) return `PAN ${mask(needle.pan)} in clear (ASCII as hex) at byte ${at}`;
    }
    const track2 = track2At(haystack.toString('latin1'));
    if (track2 !== null) return `track-2 equivalent data at byte ${track2}`;
    return null;
  }

  /** The first full PAN or track-2 image in a text (a log line), or null. */
  findInText(text: string): string | null {
    for (const needle of this.ascii) {
      if (text.includes(needle.pan)) return `PAN ${mask(needle.pan)} in clear`;
    }
    if (track2At(text) !== null) return 'track-2 equivalent data';
    return null;
  }
}

/**
 * Track 2 written as text: PAN, a field separator ('D' in the hex of tag 57, '=' on a
 * magnetic stripe), YYMM expiry and service code (ISO/IEC 7813). The PAN starts a token (after
 * a quote, a space, '=', the start) or follows a tag 57 header in TLV hex: inside a hex field
 * (a cryptogram, IAD, a sealed value) 12 digits, a D and 7 digits turn up by chance in a few
 * hundred records. Any population PAN is caught by the PAN needles wherever it is.
 */
const TRACK2_TEXT =
  /(?:^|[^0-9A-Za-z]|57[0-9A-F]{2})([0-9]{12,19})[D=][0-9]{2}([0-9]{2})[0-9]{3}/gi;

/** Offset of the first track 2 in `text` whose PAN passes Luhn and month is 01-12, or null. */
function track2At(text: string): number | null {
  for (const match of text.matchAll(TRACK2_TEXT)) {
    const month = Number(match[2]);
    if (month >= 1 && month <= 12 && luhnValid(match[1] ?? '')) return match.index;
  }
  return null;
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
