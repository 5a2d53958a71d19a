// A serial link that survives its device: reports the device's loss and opens the path again.
//
// A USB-serial adapter that is unplugged takes its tty with it; plugged back, the same path
// (a udev symlink, or a socat `link=` in tests) names a new device. The PN532 driver and the
// application keep this one object across any number of such losses; the board reopens it.

import { HalStatus, halErr, halOk, type HalResult } from '../ports/hal_status.js';
import type { SerialLink, SerialReceiver } from '../ports/serial_link.js';

/** Called once per loss with why the device went away. */
export type SerialLossListener = (detail: string) => void;

/** A SerialLink that notices when its device disappears (read error, hang-up). */
export interface LossAwareSerialLink extends SerialLink {
  /** Installs the one loss listener, replacing any earlier one. Never fails. */
  onLost(listener: SerialLossListener | undefined): void;
}

/**
 * Opens the device anew. Errors: READER_IO (missing device, permissions), BUSY (locked by
 * another user), NOT_SUPPORTED (speed refused).
 */
export type SerialLinkOpener = () => Promise<HalResult<LossAwareSerialLink>>;

/**
 * Forwards to the currently open device. While the device is lost every operation fails with
 * READER_IO ("device gone") at once, so no caller waits on a dead line; `reopen` opens the
 * path again and re-installs the receiver. Pure: all I/O happens in the inner links.
 */
export class ReopenableSerialLink implements LossAwareSerialLink {
  private receiver: SerialReceiver | undefined;
  private lostListener: SerialLossListener | undefined;
  private lostDetail: string | null = null;
  private closed = false;
  private lastBaud: number;
  private reopens = 0;

  constructor(
    readonly path: string,
    private current: LossAwareSerialLink,
    private readonly opener: SerialLinkOpener,
  ) {
    this.lastBaud = current.baudRate();
    this.attach(current);
  }

  /** Why the device is gone, or null while it is there. Never fails. */
  lost(): string | null {
    return this.lostDetail;
  }

  /** Successful reopens so far. Never fails. */
  reopenCount(): number {
    return this.reopens;
  }

  onLost(listener: SerialLossListener | undefined): void {
    this.lostListener = listener;
  }

  baudRate(): number {
    return this.lostDetail === null ? this.current.baudRate() : this.lastBaud;
  }

  setReceiver(receiver: SerialReceiver | undefined): void {
    this.receiver = receiver;
    this.current.setReceiver(receiver);
  }

  /** Errors: READER_IO (the device is gone or the write failed), CANCELLED (closed). */
  write(bytes: Uint8Array): Promise<HalResult<void>> {
    const gone = this.gone();
    return gone ?? this.current.write(bytes);
  }

  /** Errors: READER_IO (the device is gone), CANCELLED (closed). */
  discardInput(): Promise<HalResult<void>> {
    const gone = this.gone();
    return gone ?? this.current.discardInput();
  }

  /** Errors: NOT_SUPPORTED, READER_IO (the device is gone), CANCELLED (closed). */
  async setBaudRate(baudRate: number): Promise<HalResult<void>> {
    const gone = this.gone();
    if (gone !== null) return gone;
    const r = await this.current.setBaudRate(baudRate);
    if (r.ok) this.lastBaud = baudRate;
    return r;
  }

  /**
   * Lets go of the lost device and opens the path again (at the opener's speed, the chip's
   * power-on speed). Safe to call while the device is still there: it is then replaced.
   * Errors: those of the opener (READER_IO while the device is still missing, BUSY,
   * NOT_SUPPORTED); CANCELLED after `close`.
   */
  async reopen(): Promise<HalResult<void>> {
    if (this.closed) return halErr(HalStatus.CANCELLED, 'link closed');
    const old = this.current;
    old.onLost(undefined);
    old.setReceiver(undefined);
    // Closing a vanished device can fail; there is nothing left to release then.
    await old.close();
    if (this.lostDetail === null) this.lostDetail = 'closed for reopening';
    const opened = await this.opener();
    if (!opened.ok) return opened;
    if (this.closed) {
      await opened.value.close();
      return halErr(HalStatus.CANCELLED, 'link closed');
    }
    this.current = opened.value;
    this.lastBaud = opened.value.baudRate();
    this.lostDetail = null;
    this.reopens += 1;
    this.attach(opened.value);
    return halOk(undefined);
  }

  /** Closes the current device; later calls fail with CANCELLED. Errors: READER_IO. */
  close(): Promise<HalResult<void>> {
    this.closed = true;
    this.current.onLost(undefined);
    return this.current.close();
  }

  private attach(link: LossAwareSerialLink): void {
    link.setReceiver(this.receiver);
    link.onLost((detail) => {
      if (link !== this.current || this.lostDetail !== null || this.closed) return;
      this.lostDetail = detail;
      this.lostListener?.(detail);
    });
  }

  private gone(): Promise<HalResult<void>> | null {
    if (this.closed) return Promise.resolve(halErr(HalStatus.CANCELLED, 'link closed'));
    if (this.lostDetail === null) return null;
    const detail = `${this.path}: device gone: ${this.lostDetail}`;
    return Promise.resolve(halErr(HalStatus.READER_IO, detail));
  }
}
