// Reader control port: bring the reader up, set its RF behaviour and host-link speed, shut down.

import type { HalResult } from './hal_status.js';

/** RF behaviour the board chooses; every field explicit. */
export interface ReaderRfConfig {
  /**
   * Activation attempts per technology inside one poll (ISO 14443-3 REQ/WUP rounds), 1..254.
   * Finite on purpose: an endless activation loop can only be stopped by an abort.
   */
  readonly activationAttempts: number;
  /** Extra attempts of a card exchange the reader makes on an RF timeout, 0..254. */
  readonly exchangeRetries: number;
  /** Card-answer timeout per RF frame in milliseconds (rounded up to the chip's steps). */
  readonly cardAnswerTimeoutMs: number;
}

/** Options of `start`; every field explicit. */
export interface ReaderStartOptions {
  /** Host-link speed to switch to after start-up (e.g. 921600); 115200 keeps the default. */
  readonly baudRate: number;
  readonly rf: ReaderRfConfig;
}

/** What the reader said about itself at start-up. */
export interface ReaderInfo {
  /** "PN532 v1.6" style name. */
  readonly name: string;
  readonly firmwareVersion: number;
  readonly firmwareRevision: number;
  readonly supportsTypeA: boolean;
  readonly supportsTypeB: boolean;
  /** Host-link speed in use after start-up. */
  readonly baudRate: number;
}

/**
 * The control half of a contactless reader, held by the board (composition root) only.
 * Calls fail with BUSY while a data-port operation is pending.
 */
export interface ReaderControlPort {
  /**
   * Wakes the reader, checks its identity, configures it and switches the host link to
   * `options.baudRate`. Safe to call again after `shutdown`.
   * Errors: TIMEOUT, TRANSMISSION, PROTOCOL (unexpected identity or answer), READER_IO
   * (no answer at all), BUSY, NOT_SUPPORTED (baud rate not offered).
   */
  start(options: ReaderStartOptions): Promise<HalResult<ReaderInfo>>;

  /** Applies RF retries and timeouts. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY. */
  configure(rf: ReaderRfConfig): Promise<HalResult<void>>;

  /**
   * Switches the RF field on or off (off releases every card).
   * Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY.
   */
  setRfField(on: boolean): Promise<HalResult<void>>;

  /**
   * Changes the host-link speed on both ends.
   * Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY, NOT_SUPPORTED (rate not offered).
   */
  setBaudRate(baudRate: number): Promise<HalResult<void>>;

  /**
   * Releases cards, switches RF off, returns the link to its power-on speed and puts the reader
   * to sleep (wake on host-link activity). Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO,
   * BUSY.
   */
  shutdown(): Promise<HalResult<void>>;
}
