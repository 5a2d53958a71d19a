// A PN532 on a serial device (UART, USB adapter or pty): a reopenable link plus Pn532Reader.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { halOk, type HalResult } from '../../../hal/src/ports/hal_status.js';
import { PN532_READER_DEFAULT_OPTIONS, Pn532Reader } from '../../../hal/src/pn532/pn532_reader.js';
import { NodeSerialLink } from '../../../hal/src/serial/node_serial_link.js';
import { ReopenableSerialLink } from '../../../hal/src/serial/reopenable_serial_link.js';

/** The opened reader and how to let go of its serial device. */
export interface Pn532OnSerial {
  /** Data and control ports of the reader; `start` it before use. */
  readonly reader: Pn532Reader;
  /**
   * The serial device. When it disappears (USB unplugged) the reader is told at once
   * (`linkLost`); `link.reopen()` then `reader.start(...)` bring it back.
   */
  readonly link: ReopenableSerialLink;
  /** Closes the serial device (call `reader.shutdown()` first). Never throws. */
  close(): Promise<HalResult<void>>;
}

/** Power-on speed of the PN532 HSU; every start-up begins here (pn532.md §6). */
export const PN532_HSU_POWER_ON_BAUD = 115200;

/**
 * Opens `path` at the PN532's power-on 115200 baud, locked against a second serialport user,
 * and puts a Pn532Reader with the default timing on it. Nothing is sent yet: the caller runs
 * `reader.start(...)`, which wakes the chip and switches to the working speed.
 * Errors: READER_IO (missing device, permissions, not a tty), BUSY (locked by another
 * process), NOT_SUPPORTED (115200 refused by the driver).
 */
export async function openPn532OnSerial(
  path: string,
  clock: ClockPort,
): Promise<HalResult<Pn532OnSerial>> {
  const open = (): ReturnType<typeof NodeSerialLink.open> =>
    NodeSerialLink.open({ path, baudRate: PN532_HSU_POWER_ON_BAUD, lock: true, record: false });
  const opened = await open();
  if (!opened.ok) return opened;
  const link = new ReopenableSerialLink(path, opened.value, open);
  const reader = new Pn532Reader(link, clock, PN532_READER_DEFAULT_OPTIONS);
  link.onLost((detail) => reader.linkLost(detail));
  return halOk({ reader, link, close: () => link.close() });
}
