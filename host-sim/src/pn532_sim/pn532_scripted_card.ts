// A table-driven virtual card (Keyple's StubSmartCard): C-APDU -> R-APDU, for PN532 tests.

import type { CardIdentity, VirtualCard } from '../cards/card_model.js';

/** One scripted answer. */
export interface ScriptedCardEntry {
  /** C-APDU, hex (spaces allowed). */
  readonly capdu: string;
  /** R-APDU including SW1 SW2. */
  readonly rapdu: Uint8Array;
  /** Modelled card processing time, ms. */
  readonly processingMs: number;
}

/**
 * Answers C-APDUs from a table; unknown commands get 6D00 (INS not supported). Records what
 * it was sent so tests can check the bytes reached the card intact.
 */
export class ScriptedCard implements VirtualCard {
  private readonly table = new Map<string, ScriptedCardEntry>();
  private lastMs = 0;
  /** Number of activations (powerOn calls). */
  powerOnCount = 0;
  /** Every C-APDU received, oldest first. */
  readonly received: Uint8Array[] = [];
  /** When true the card stays silent (transceive returns null), like a card that was torn. */
  mute = false;

  constructor(
    readonly label: string,
    private readonly ident: CardIdentity,
    entries: readonly ScriptedCardEntry[],
  ) {
    for (const e of entries) this.table.set(normHex(e.capdu), e);
  }

  identity(): CardIdentity {
    return this.ident;
  }

  powerOn(): void {
    this.powerOnCount += 1;
  }

  transceive(capdu: Uint8Array): Uint8Array | null {
    this.received.push(capdu.slice());
    if (this.mute) {
      this.lastMs = 0;
      return null;
    }
    const entry = this.table.get(toHex(capdu));
    this.lastMs = entry?.processingMs ?? 1;
    return entry === undefined ? Uint8Array.of(0x6d, 0x00) : entry.rapdu.slice();
  }

  lastProcessingMs(): number {
    return this.lastMs;
  }

  /** The scripted answer to `capduHex` (for assertions). Throws when it is not scripted. */
  answerTo(capduHex: string): Uint8Array {
    const entry = this.table.get(normHex(capduHex));
    if (entry === undefined) throw new Error(`no scripted answer to ${capduHex}`);
    return entry.rapdu.slice();
  }
}

/** Bytes from hex with optional spaces. Throws on odd length or non-hex characters. */
export function hexBytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex ${hex}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Upper-case hex without spaces. */
export function toHex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
}

function normHex(hex: string): string {
  return toHex(hexBytes(hex));
}

/** BER-TLV with a one- or two-byte tag and a short or 81/82 length. */
function tlv(tagHex: string, value: ArrayLike<number>): Uint8Array {
  const tag = hexBytes(tagHex);
  const n = value.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.of(...tag, ...len, ...Array.from(value));
}

/** Deterministic filler so record sizes are realistic without random data. */
function filler(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) out[i] = (seed + i * 29) & 0xff;
  return out;
}

/** R-APDU = `body` padded with a proprietary tag to `totalBytes` (data + 9000). */
function sized(totalBytes: number, outerTag: string, inner: Uint8Array, seed: number): Uint8Array {
  const dataBytes = totalBytes - 2;
  // Find the filler length whose TLV encoding makes the outer template exactly dataBytes long.
  for (let pad = 0; pad <= dataBytes; pad += 1) {
    const value = Uint8Array.of(...inner, ...(pad > 0 ? tlv('DF7F', filler(pad, seed)) : []));
    const outer = tlv(outerTag, value);
    if (outer.length === dataBytes) return Uint8Array.of(...outer, 0x90, 0x00);
    if (outer.length > dataBytes) break;
  }
  throw new Error(`cannot size ${outerTag} to ${totalBytes}`);
}

/** The qPBOC-like APDUs of pn532.md §6's worked example, as hex C-APDUs. */
export const QPBOC_CAPDU = {
  selectPpse: '00A404000E325041592E5359532E444446303100',
  selectAid: '00A4040008A00000033301010100',
  gpo:
    '80A8000023832127000000000000000010000000000000015600000000000156' + '2611220012345678' + '00',
  readRecord1: '00B2010C00',
  readRecord2: '00B2020C00',
  readRecord3: '00B2011400',
  readRecord4: '00B2021400',
  /** GET DATA with an answer of 256 data bytes + SW: 258 bytes, an extended PN532 frame. */
  getData258: '80CADF0100',
  /** A proprietary command whose answer (600 bytes) needs chip-side MI chaining. */
  getLong600: '80CA9F7F00',
} as const;

/** An extended-length C-APDU of 300 data bytes (host-side MI chaining on the PN532 link). */
export function longCapdu300(): Uint8Array {
  return Uint8Array.of(0x80, 0xe2, 0x00, 0x00, 0x00, 0x01, 0x2c, ...filler(300, 7));
}

/** Identity of the type A card used across the PN532 tests (dual-interface bank card style). */
export const SCRIPTED_IDENTITY_A: CardIdentity = {
  kind: 'A',
  uid: Uint8Array.of(0x5a, 0x3c, 0x21, 0x9e),
  atqa: Uint8Array.of(0x00, 0x04),
  sak: 0x28,
  ats: Uint8Array.of(0x05, 0x78, 0x80, 0x70, 0x02),
};

/** Identity of the type B card (pn532.md §5's example). */
export const SCRIPTED_IDENTITY_B: CardIdentity = {
  kind: 'B',
  atqb: Uint8Array.of(0x50, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x00, 0x00, 0x00, 0x80, 0x71, 0x81),
  attribRes: Uint8Array.of(0x00),
};

/**
 * A qPBOC-shaped card: sizes from pn532.md §6 (PPSE 20/56, AID 14/59, GPO 41/225, four
 * READ RECORDs 5/250), plus a 258-byte answer, a 600-byte answer and a 300-byte command.
 * Processing times are the worked example's assumptions (SELECT 5 ms, GPO 80 ms, READ 5 ms).
 */
export function qpbocScriptedCard(label: string, identity: CardIdentity): ScriptedCard {
  const aid = hexBytes('A000000333010101');
  const directoryEntry = tlv('61', [...tlv('4F', aid), ...tlv('87', [0x01])]);
  const ppseFci = [
    ...tlv('84', hexBytes('325041592E5359532E4444463031')),
    ...tlv('A5', tlv('BF0C', directoryEntry)),
  ];
  const ppse = sized(56, '6F', Uint8Array.from(ppseFci), 1);
  const selectAid = sized(59, '6F', tlv('84', aid), 2);
  const gpoBody = [...tlv('82', hexBytes('7C00')), ...tlv('94', hexBytes('0801010010010200'))];
  const gpo = sized(225, '77', Uint8Array.from(gpoBody), 3);
  const pan = tlv('5A', hexBytes('6212345678901234'));
  const record = (n: number): Uint8Array => sized(250, '70', pan, 10 + n);
  const big258 = Uint8Array.of(...filler(256, 0x41), 0x90, 0x00);
  const long600 = Uint8Array.of(...filler(598, 0x13), 0x90, 0x00);
  const entries: ScriptedCardEntry[] = [
    { capdu: QPBOC_CAPDU.selectPpse, rapdu: ppse, processingMs: 5 },
    { capdu: QPBOC_CAPDU.selectAid, rapdu: selectAid, processingMs: 5 },
    { capdu: QPBOC_CAPDU.gpo, rapdu: gpo, processingMs: 80 },
    { capdu: QPBOC_CAPDU.readRecord1, rapdu: record(1), processingMs: 5 },
    { capdu: QPBOC_CAPDU.readRecord2, rapdu: record(2), processingMs: 5 },
    { capdu: QPBOC_CAPDU.readRecord3, rapdu: record(3), processingMs: 5 },
    { capdu: QPBOC_CAPDU.readRecord4, rapdu: record(4), processingMs: 5 },
    { capdu: QPBOC_CAPDU.getData258, rapdu: big258, processingMs: 5 },
    { capdu: QPBOC_CAPDU.getLong600, rapdu: long600, processingMs: 5 },
    { capdu: toHex(longCapdu300()), rapdu: Uint8Array.of(0x90, 0x00), processingMs: 5 },
  ];
  return new ScriptedCard(label, identity, entries);
}
