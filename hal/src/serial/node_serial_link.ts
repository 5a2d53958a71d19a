// SerialLink over the serialport package: the only file that touches the native serial binding.

import fs from 'node:fs';
import { SerialPort } from 'serialport';
import { HalStatus, halErr, halOk, type HalResult } from '../ports/hal_status.js';
import type { SerialReceiver } from '../ports/serial_link.js';
import type { LossAwareSerialLink, SerialLossListener } from './reopenable_serial_link.js';

/** How to open the port; every field explicit. */
export interface NodeSerialLinkOptions {
  /** "/dev/ttyS1", "/dev/ttyUSB0", a /dev/pts/N or a socat symlink. */
  readonly path: string;
  readonly baudRate: number;
  /**
   * flock the device (serialport's default). libnfc does not lock, so locking only keeps a
   * second serialport user out (pn532.md §7.5 item 9).
   */
  readonly lock: boolean;
  /** Keep a transcript of every byte both ways (record mode for wire-exact tests). */
  readonly record: boolean;
}

/** One recorded chunk: what went out ('tx') or came in ('rx'), in order. */
export interface SerialTranscriptEntry {
  readonly direction: 'tx' | 'rx';
  readonly bytes: Uint8Array;
}

/**
 * A real UART (or pty) opened with serialport 13's native binding. Open with
 * `NodeSerialLink.open`; never call `SerialPort.list()` here: it needs udevadm.
 */
export class NodeSerialLink implements LossAwareSerialLink {
  private receiver: SerialReceiver | undefined;
  private closed = false;
  /** Set by our own close(): the close event that follows is not a loss. */
  private closing = false;
  private lostListener: SerialLossListener | undefined;
  private lostDetail: string | null = null;
  /**
   * Operations waiting on serialport. serialport parks a write or drain issued while its
   * binding is closing until an 'open' that never comes, and a write waiting for the fd to
   * become writable when the poller is destroyed: the close event ends them all here.
   */
  private readonly pending = new Set<(result: HalResult<void>) => void>();
  private readonly transcriptEntries: SerialTranscriptEntry[] = [];

  /** Speed recorded for a pty, where a line speed means nothing (see setBaudRate). */
  private nominalBaud: number;

  private constructor(
    private readonly port: SerialPort,
    private readonly options: NodeSerialLinkOptions,
    private readonly isPty: boolean,
  ) {
    this.nominalBaud = options.baudRate;
    port.on('data', (chunk: Buffer) => {
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length).slice();
      if (options.record) this.transcriptEntries.push({ direction: 'rx', bytes });
      this.receiver?.(bytes);
    });
    // Errors after open surface on the next write/flush; the listener keeps Node from
    // turning them into uncaught exceptions.
    port.on('error', () => undefined);
    // serialport closes the stream itself when a read fails (EIO once a USB adapter is
    // unplugged or a pty's other end is gone) and passes a DisconnectedError.
    port.on('close', (error: unknown) => {
      this.closed = true;
      const detail = error instanceof Error ? error.message : 'device closed';
      this.settlePending(halErr(HalStatus.READER_IO, `device gone: ${detail}`));
      if (this.closing) return;
      this.lostDetail = detail;
      this.lostListener?.(this.lostDetail);
    });
  }

  /**
   * Opens the device. Errors: READER_IO (missing device, permissions), BUSY (locked by another
   * serialport user), NOT_SUPPORTED (baud rate refused).
   */
  static open(options: NodeSerialLinkOptions): Promise<HalResult<NodeSerialLink>> {
    return new Promise((resolve) => {
      const port = new SerialPort({
        path: options.path,
        baudRate: options.baudRate,
        lock: options.lock,
        autoOpen: false,
      });
      port.open((err) => {
        if (err === null) {
          resolve(halOk(new NodeSerialLink(port, options, isPtyPath(options.path))));
          return;
        }
        const message = err.message;
        if (/lock/i.test(message)) resolve(halErr(HalStatus.BUSY, message));
        else if (/baud/i.test(message)) resolve(halErr(HalStatus.NOT_SUPPORTED, message));
        else resolve(halErr(HalStatus.READER_IO, message));
      });
    });
  }

  get path(): string {
    return this.options.path;
  }

  baudRate(): number {
    return this.isPty ? this.nominalBaud : this.port.baudRate;
  }

  setReceiver(receiver: SerialReceiver | undefined): void {
    this.receiver = receiver;
  }

  /** See LossAwareSerialLink.onLost: called when the device disappears under us. */
  onLost(listener: SerialLossListener | undefined): void {
    this.lostListener = listener;
  }

  /** Why the device went away (read error, hang-up), or null. Never fails. */
  lost(): string | null {
    return this.lostDetail;
  }

  /** Errors: READER_IO (write failed, device gone or going), CANCELLED (closed). */
  write(bytes: Uint8Array): Promise<HalResult<void>> {
    const refused = this.unusable();
    if (refused !== null) return Promise.resolve(refused);
    if (this.options.record) this.transcriptEntries.push({ direction: 'tx', bytes: bytes.slice() });
    return this.settled((done) => {
      this.port.write(Buffer.from(bytes), (err) => {
        if (err !== null && err !== undefined) {
          done(halErr(HalStatus.READER_IO, err.message));
          return;
        }
        // The binding may have started closing while the bytes went out (see `pending`).
        const gone = this.unusable();
        if (gone !== null) {
          done(gone);
          return;
        }
        this.port.drain((drainErr) => {
          const drained = drainErr === null;
          done(drained ? halOk(undefined) : halErr(HalStatus.READER_IO, drainErr.message));
        });
      });
    });
  }

  /**
   * Errors: READER_IO, CANCELLED (closed).
   *
   * serialport only offers flush() = tcflush(TCIOFLUSH). Our writes resolve after drain, so on
   * a UART the output half is empty and harmless; on a pty it would discard bytes the peer
   * has not read yet (an abort ACK), and input never waits there because the stream reads it
   * at once, so on a pty this does nothing.
   */
  discardInput(): Promise<HalResult<void>> {
    const refused = this.unusable();
    if (refused !== null) return Promise.resolve(refused);
    if (this.isPty) return Promise.resolve(halOk(undefined));
    return this.settled((done) => {
      this.port.flush((err) => {
        done(err === null ? halOk(undefined) : halErr(HalStatus.READER_IO, err.message));
      });
    });
  }

  /**
   * Errors: NOT_SUPPORTED, READER_IO (device gone or going), CANCELLED (closed).
   *
   * serialport's update() flushes both queues (tcflush TCIOFLUSH). On a UART that is harmless
   * once drain has returned, but on a pty "drained" only means handed to the master side, and
   * the flush throws away whatever socat has not read yet: the ACK that must precede the
   * switch. A pty has no line speed anyway, so there the rate is only recorded.
   */
  setBaudRate(baudRate: number): Promise<HalResult<void>> {
    const refused = this.unusable();
    if (refused !== null) return Promise.resolve(refused);
    if (this.isPty) {
      this.nominalBaud = baudRate;
      return Promise.resolve(halOk(undefined));
    }
    if (baudRate === this.port.baudRate) return Promise.resolve(halOk(undefined));
    return new Promise((resolve) => {
      this.port.update({ baudRate }, (err) => {
        if (err === null || err === undefined) resolve(halOk(undefined));
        else resolve(halErr(HalStatus.NOT_SUPPORTED, err.message));
      });
    });
  }

  /** Errors: READER_IO. Closing twice is fine. */
  close(): Promise<HalResult<void>> {
    if (this.closed || !this.port.isOpen) {
      this.closed = true;
      return Promise.resolve(halOk(undefined));
    }
    this.closed = true;
    this.closing = true;
    return new Promise((resolve) => {
      this.port.close((err) => {
        resolve(
          err === null || err === undefined
            ? halOk(undefined)
            : halErr(HalStatus.READER_IO, err.message),
        );
      });
    });
  }

  /**
   * Why no operation may start now, or null. serialport marks its binding closed (fd null)
   * at once when a read fails, and emits 'close' only after the fd is closed on the thread
   * pool, which on a busy machine takes a while: in between, `port.isOpen` is false and a
   * write would wait forever for a reopen. That window counts as the device going away.
   */
  private unusable(): HalResult<void> | null {
    if (this.lostDetail !== null) {
      return halErr(HalStatus.READER_IO, `device gone: ${this.lostDetail}`);
    }
    if (this.closed) return halErr(HalStatus.CANCELLED, 'link closed');
    if (!this.port.isOpen) return halErr(HalStatus.READER_IO, 'device gone: port closing');
    return null;
  }

  /** Runs `start`; its result, or READER_IO if the port closes first. Resolves once. */
  private settled(start: (done: (r: HalResult<void>) => void) => void): Promise<HalResult<void>> {
    return new Promise((resolve) => {
      let open = true;
      const done = (r: HalResult<void>): void => {
        if (!open) return;
        open = false;
        this.pending.delete(done);
        resolve(r);
      };
      this.pending.add(done);
      start(done);
    });
  }

  private settlePending(result: HalResult<void>): void {
    for (const done of [...this.pending]) done(result);
  }

  /** True when the device is a pseudo-terminal (socat pairs in tests and `shuaka sim`). */
  get pseudoTerminal(): boolean {
    return this.isPty;
  }

  /** Everything written and read so far (record mode), oldest first. */
  transcript(): readonly SerialTranscriptEntry[] {
    return this.transcriptEntries;
  }
}

function isPtyPath(path: string): boolean {
  try {
    return fs.realpathSync(path).startsWith('/dev/pts/');
  } catch {
    return false;
  }
}
