// Reader data port: find one contactless card, exchange APDUs with it, release it, see it leave.

import type { HalResult } from './hal_status.js';

/** RF technologies the validator accepts (ISO/IEC 14443 at 106 kbit/s). */
export type CardTechnology = 'ISO14443A' | 'ISO14443B';

/** A type A card as the reader activated it. Byte arrays are copies the caller may keep. */
export interface DetectedCardTypeA {
  readonly technology: 'ISO14443A';
  /** NFCID1 without cascade tags: 4, 7 or 10 bytes. */
  readonly uid: Uint8Array;
  /** ATQA (SENS_RES), 2 bytes, most significant byte first as the PN532 reports it. */
  readonly atqa: Uint8Array;
  /** SAK (SEL_RES). */
  readonly sak: number;
  /** ATS including its TL byte; empty when the card is not ISO 14443-4. */
  readonly ats: Uint8Array;
  /** True when SAK bit 0x20 says ISO 14443-4 and APDUs can be exchanged. */
  readonly isoDep: boolean;
}

/** A type B card as the reader activated it. */
export interface DetectedCardTypeB {
  readonly technology: 'ISO14443B';
  /** ATQB: 0x50, PUPI (4), application data (4), protocol info (3). */
  readonly atqb: Uint8Array;
  /** PUPI, the 4-byte pseudo-unique identifier (a copy of atqb[1..4]). */
  readonly pupi: Uint8Array;
  /** ATTRIB response (MBLI/CID byte first); may be empty. */
  readonly attribRes: Uint8Array;
  /** Type B cards the reader activates are always ISO 14443-4. */
  readonly isoDep: true;
}

export type DetectedCard = DetectedCardTypeA | DetectedCardTypeB;

/**
 * What one poll found. "Several" is a normal outcome, not an error: the validator shows
 * "多卡" (more than one card) and takes no payment, so the driver has already let them go.
 */
export type PollResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'one'; readonly card: DetectedCard }
  | { readonly kind: 'several'; readonly count: number };

/** Options of one poll; every field is explicit (no hidden defaults at call sites). */
export interface PollOptions {
  /** Technologies to try, in this order; the first that finds a card ends the poll. */
  readonly technologies: readonly CardTechnology[];
  /** Upper bound on the whole poll, in milliseconds of the injected clock. */
  readonly timeoutMs: number;
}

/** Options of one APDU exchange. */
export interface TransceiveOptions {
  /** Upper bound for the card's answer (all chained parts), milliseconds of the injected clock. */
  readonly timeoutMs: number;
}

/** Options of a removal wait. */
export interface RemovalOptions {
  /** Give up after this long (then TIMEOUT), milliseconds of the injected clock. */
  readonly timeoutMs: number;
  /** Pause between two presence checks, milliseconds. */
  readonly intervalMs: number;
}

/**
 * The data half of a contactless reader (Tock rule 9: control and data are separate ports).
 * The application holds only this port. At most one operation runs at a time: a call made
 * while another is pending fails with BUSY, except `cancel`.
 */
export interface ReaderPort {
  /**
   * Looks for cards in the field and activates exactly one (ISO 14443-3 plus RATS/ATTRIB).
   * Several cards are refused with `{kind: 'several'}` and released.
   * Errors: TIMEOUT (the reader never answered the poll), TRANSMISSION (checksum errors that
   * retries did not cure), PROTOCOL (malformed reader answer, status byte, error frame),
   * READER_IO (no ACK, link failure), BUSY, CANCELLED, NOT_SUPPORTED (technology not offered
   * by the reader firmware).
   */
  poll(options: PollOptions): Promise<HalResult<PollResult>>;

  /**
   * Sends one C-APDU to the activated card and returns its complete R-APDU (data + SW1 SW2),
   * chaining on the host link in both directions as needed.
   * Errors: TIMEOUT, TRANSMISSION, PROTOCOL, CARD_GONE (card left or RF link broke),
   * READER_IO, BUSY, CANCELLED, SIZE (C-APDU or R-APDU beyond the driver's bound),
   * NOT_SUPPORTED (no ISO 14443-4 card is activated).
   */
  transceive(capdu: Uint8Array, options: TransceiveOptions): Promise<HalResult<Uint8Array>>;

  /**
   * Deselects and forgets the activated card (if any). The card stays in the field.
   * Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY, CANCELLED.
   */
  release(): Promise<HalResult<void>>;

  /**
   * Checks once whether the last activated card is still in the field.
   * Value true = still there. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY,
   * CANCELLED, NOT_SUPPORTED (no card was activated since the last poll).
   */
  isCardPresent(): Promise<HalResult<boolean>>;

  /**
   * Resolves when the last activated card has left the field (WaitForRemoval). Works whether
   * or not the card was released. Left means: the field is empty, or holds a different card;
   * a random-ID card (4-byte UID starting 08, phones) counts as the same one while any
   * random-ID card is in the field, since its UID may change at each activation.
   * Errors: TIMEOUT (still present at the deadline), TRANSMISSION, PROTOCOL, READER_IO, BUSY,
   * CANCELLED, NOT_SUPPORTED (no card since the last poll).
   */
  waitForRemoval(options: RemovalOptions): Promise<HalResult<void>>;

  /**
   * Aborts the pending operation, which then resolves with CANCELLED. No effect when idle.
   * Never fails.
   */
  cancel(): void;
}
