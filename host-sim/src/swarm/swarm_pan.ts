// Finds cardholder data where it must not be: full PANs and track-2 images in stored bytes and
// log lines (PCI DSS requirement 3: no track data after authorisation, PAN unreadable at rest,
// no full PAN in logs).

/** Needles for every PAN of the population: ASCII digits and packed BCD. */
export class PanFinder {
  private readonly ascii: { pan: string; bytes: Buffer }[];
  private readonly bcd: { pan: string; bytes: Buffer }[];
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
    this.needleBytesMax = Math.max(0, ...unique.map((p) => p.length));
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
    const track2 = TRACK2_TEXT.exec(haystack.toString('latin1'));
    if (track2 !== null) return `track-2 equivalent data at byte ${track2.index}`;
    return null;
  }

  /** The first full PAN or track-2 image in a text (a log line), or null. */
  findInText(text: string): string | null {
    for (const needle of this.ascii) {
      if (text.includes(needle.pan)) return `PAN ${mask(needle.pan)} in clear`;
    }
    const track2 = TRACK2_TEXT.exec(text);
    if (track2 !== null) return 'track-2 equivalent data';
    return null;
  }
}

/**
 * Track 2 written as text: PAN, a field separator ('D' in the hex of tag 57, '=' on a
 * magnetic stripe), YYMM expiry and service code (ISO/IEC 7813).
 */
const TRACK2_TEXT = /[0-9]{12,19}[D=][0-9]{7}/i;

/** First 6 and last 4 digits: what may be shown (PCI DSS 3.4). */
function mask(pan: string): string {
  return pan.length <= 10 ? '*'.repeat(pan.length) : `${pan.slice(0, 6)}…${pan.slice(-4)}`;
}
