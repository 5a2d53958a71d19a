// SerialLink over a pty with node:fs and node:tty: the emulator's end of a socat pair.
//
// host-sim may not use the native serial binding (hal/src/serial), and needs none: a pty
// slave is a tty, so tty.ReadStream reads it (libuv reopens it non-blocking) and fs.write
// writes it. Baud rates on a pty are fictitious (pn532.md §7.5 item 10); with `pace` on, writes
// take the wire time the configured rate implies, in real time.

import fs from 'node:fs';
import tty from 'node:tty';
import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../../../../hal/src/ports/hal_status.js';
import type { SerialLink, SerialReceiver } from '../../../../hal/src/ports/serial_link.js';

/** Options of the pty end; every field explicit. */
export interface PtySerialLinkOptions {
  readonly path: string;
  readonly baudRate: number;
  /** Spend 10 bit-times per written byte on `clock` before the bytes go out. */
  readonly pace: boolean;
  readonly clock: ClockPort;
}

/** One end of a pty pair as a SerialLink. Open with `PtySerialLink.open`. */
export class PtySerialLink implements SerialLink {
  private receiver: SerialReceiver | undefined;
  private closed = false;
  private baud: number;
  private tail: Promise<HalResult<void>> = Promise.resolve(halOk(undefined));

  private constructor(
    private readonly fd: number,
    private readonly stream: tty.ReadStream,
    private readonly options: PtySerialLinkOptions,
  ) {
    this.baud = options.baudRate;
    stream.on('data', (chunk: Buffer | string) => {
      if (typeof chunk === 'string') return;
      this.receiver?.(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length).slice());
    });
    stream.on('error', () => undefined);
  }

  /** Opens `options.path` read-write, raw. Errors: READER_IO (missing, not a tty). */
  static async open(options: PtySerialLinkOptions): Promise<HalResult<PtySerialLink>> {
    let fd: number;
    try {
      fd = fs.openSync(options.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    } catch (err) {
      return halErr(HalStatus.READER_IO, String(err));
    }
    if (!tty.isatty(fd)) {
      fs.closeSync(fd);
      return halErr(HalStatus.READER_IO, `${options.path} is not a tty`);
    }
    const stream = new tty.ReadStream(fd);
    stream.setRawMode(true);
    return halOk(new PtySerialLink(fd, stream, options));
  }

  get path(): string {
    return this.options.path;
  }

  baudRate(): number {
    return this.baud;
  }

  setReceiver(receiver: SerialReceiver | undefined): void {
    this.receiver = receiver;
  }

  /** Errors: READER_IO, CANCELLED (closed). Writes go out in call order. */
  write(bytes: Uint8Array): Promise<HalResult<void>> {
    const copy = bytes.slice();
    const job = this.tail.then(() => this.writeNow(copy));
    this.tail = job;
    return job;
  }

  /** Nothing waits unread here: the read stream hands every byte on at once. */
  async discardInput(): Promise<HalResult<void>> {
    return this.closed ? halErr(HalStatus.CANCELLED, 'link closed') : halOk(undefined);
  }

  /** Records the rate for pacing (a pty has no real line speed). Errors: CANCELLED. */
  async setBaudRate(baudRate: number): Promise<HalResult<void>> {
    if (this.closed) return halErr(HalStatus.CANCELLED, 'link closed');
    this.baud = baudRate;
    return halOk(undefined);
  }

  async close(): Promise<HalResult<void>> {
    if (this.closed) return halOk(undefined);
    this.closed = true;
    this.receiver = undefined;
    await this.tail;
    this.stream.destroy();
    try {
      fs.closeSync(this.fd);
    } catch (err) {
      return halErr(HalStatus.READER_IO, String(err));
    }
    return halOk(undefined);
  }

  private async writeNow(bytes: Uint8Array): Promise<HalResult<void>> {
    if (this.closed) return halErr(HalStatus.CANCELLED, 'link closed');
    if (this.options.pace) await this.options.clock.sleepMs((bytes.length * 10_000) / this.baud);
    return new Promise((resolve) => {
      fs.write(this.fd, bytes, 0, bytes.length, null, (err) => {
        resolve(err === null ? halOk(undefined) : halErr(HalStatus.READER_IO, err.message));
      });
    });
  }
}
