// PSAM port: the terminal's secure access module, an ISO 7816 contact card in a reader slot.

import type { HalResult } from './hal_status.js';

/** Options of a power-on. */
export interface PsamPowerOptions {
  /** Upper bound for the card's ATR, milliseconds of the injected clock. */
  readonly timeoutMs: number;
}

/** Options of one APDU exchange. */
export interface PsamTransmitOptions {
  /** Upper bound for the complete answer (GET RESPONSE rounds included), milliseconds. */
  readonly timeoutMs: number;
}

/** What the port knows of its slot, for the board's health display and logs. */
export type PsamSlotState =
  | { readonly kind: 'reader-absent'; readonly detail: string }
  | { readonly kind: 'empty' }
  | { readonly kind: 'present'; readonly atr: Uint8Array }
  | { readonly kind: 'powered'; readonly atr: Uint8Array };

/**
 * The PSAM data port (ISO/IEC 7816-3 contact card). The transaction flow powers the PSAM once,
 * then sends it APDUs (SELECT, READ BINARY 0016, INIT SAM FOR PURCHASE, CREDIT SAM FOR
 * PURCHASE: domain.md 7.2, 7.4). One operation at a time: a call while another is pending
 * fails with BUSY.
 */
export interface PsamPort {
  /**
   * Cold-resets the PSAM and returns its ATR (ISO/IEC 7816-3, 6.2).
   * Errors: READER_IO (reader absent or gone, PC/SC service down), CARD_GONE (slot empty),
   * TIMEOUT (no ATR in time), PROTOCOL (the reader refused the card's protocol), BUSY.
   */
  powerOn(options: PsamPowerOptions): Promise<HalResult<Uint8Array>>;

  /**
   * Sends one C-APDU and returns the complete R-APDU (data ‖ SW1 SW2). Under T=0 the driver
   * fetches 61xx data with GET RESPONSE and repeats a 6Cxx command with Le = xx
   * (ISO/IEC 7816-3, 10.3.3; ISO/IEC 7816-4, 5.3.4), so callers see one answer.
   * Errors: CARD_GONE (card pulled, or not powered since it was), READER_IO (reader gone),
   * TIMEOUT, PROTOCOL (answer shorter than SW1 SW2, a GET RESPONSE chain that does not end),
   * SIZE (C-APDU over 261 bytes or answer over 65538), BUSY.
   */
  transmit(capdu: Uint8Array, options: PsamTransmitOptions): Promise<HalResult<Uint8Array>>;

  /**
   * Deactivates the contacts. Never fails: an absent reader or card is already unpowered.
   */
  powerOff(): Promise<HalResult<void>>;

  /** The slot as last seen (no I/O). */
  slotState(): PsamSlotState;
}
