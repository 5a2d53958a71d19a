// Serial link port: a byte pipe to one UART device (PN532 HSU, serial displays), no framing.

import type { HalResult } from './hal_status.js';

/** Receives every chunk of bytes the link reads, in order, in whatever sizes they arrive. */
export type SerialReceiver = (bytes: Uint8Array) => void;

/**
 * One open full-duplex serial line, 8N1. Implemented by `NodeSerialLink` (a real UART or a pty
 * through serialport) and by `SerialLinkSim` (in memory, paced by the injected clock).
 *
 * The link does no framing and keeps no timers: drivers parse the byte stream and measure
 * their own timeouts with the injected ClockPort. Incoming bytes are pushed to the single
 * receiver as they arrive (serialport's data events); bytes that arrive while no receiver is
 * set are dropped, exactly like bytes arriving at a UART nobody reads.
 */
export interface SerialLink {
  /** Device path or a descriptive name ("/dev/ttyS1", "sim:pn532"). */
  readonly path: string;

  /** Current line speed in bit/s (8N1: 10 bit-times per byte). */
  baudRate(): number;

  /** Installs the receiver of incoming bytes, replacing any earlier one. Never fails. */
  setReceiver(receiver: SerialReceiver | undefined): void;

  /**
   * Queues `bytes` and resolves once they have left the transmitter (drain), so a caller can
   * change the baud rate right after without corrupting the tail.
   * Errors: READER_IO (the OS write failed or the line is gone), CANCELLED (link closed).
   */
  write(bytes: Uint8Array): Promise<HalResult<void>>;

  /**
   * Drops bytes the OS has received but nobody has read yet (tcflush TCIFLUSH), as libnfc does
   * before every command. Errors: READER_IO, CANCELLED (link closed).
   */
  discardInput(): Promise<HalResult<void>>;

  /**
   * Changes the line speed of this end only; the peer must switch by its own protocol.
   * Errors: NOT_SUPPORTED (rate refused by the UART), READER_IO, CANCELLED (link closed).
   */
  setBaudRate(baudRate: number): Promise<HalResult<void>>;

  /** Closes the line; later calls fail with CANCELLED. Errors: READER_IO. */
  close(): Promise<HalResult<void>>;
}
