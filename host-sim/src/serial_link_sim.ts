// In-memory twin of a UART line: two SerialLink ends, paced by the injected clock, with faults.

import type { ClockPort } from '../../hal/src/ports/clock_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../../hal/src/ports/hal_status.js';
import type { SerialLink, SerialReceiver } from '../../hal/src/ports/serial_link.js';
import type { Prng } from './prng.js';

/** Random line faults of one direction, drawn from the simulation's seeded PRNG. */
export interface SerialLineFaults {
  readonly prng: Prng;
  /** Probability that a byte vanishes. */
  readonly lossRatio: number;
  /** Probability that a byte arrives with one bit flipped. */
  readonly corruptRatio: number;
}

/** Options of a simulated line; every field explicit. */
export interface SerialLinkSimOptions {
  /** Initial speed of both ends, bit/s. */
  readonly baudRate: number;
  /** Spend 10 bit-times per byte on the clock (8N1); false delivers after a zero sleep. */
  readonly pace: boolean;
  /**
   * Delivery granularity in bytes: 1 delivers byte by byte (exercises parsers), larger values
   * deliver each write in pieces of this size, each after its own wire time.
   */
  readonly chunkBytes: number;
  readonly hostToDeviceFaults: SerialLineFaults | undefined;
  readonly deviceToHostFaults: SerialLineFaults | undefined;
}

export type SerialDirection = 'host-to-device' | 'device-to-host';

/** One write as its sender issued it, before faults. */
export interface SerialLinkSimRecord {
  readonly direction: SerialDirection;
  /** Clock time when the first bit left. */
  readonly atMs: number;
  readonly bytes: Uint8Array;
}

/** Wire-time accounting of one direction. */
export interface SerialLineStats {
  bytes: number;
  wireMs: number;
  lostBytes: number;
  corruptedBytes: number;
  garbledBytes: number;
}

/** The two ends of one simulated line, plus its transcript and accounting. */
export interface SerialLinkPairSim {
  /** End for the host controller (the driver). */
  readonly host: SerialLinkSim;
  /** End for the device (the PN532 emulator). */
  readonly device: SerialLinkSim;
  /** Every write on the line in issue order. */
  transcript(): readonly SerialLinkSimRecord[];
  /** Bytes written by one direction, concatenated. */
  sent(direction: SerialDirection): Uint8Array;
  stats(direction: SerialDirection): SerialLineStats;
  /** Forget transcript and accounting (not the line state). */
  resetRecords(): void;
  /**
   * Keep the transcript (the default) or not: a long simulation that checks outcomes, not
   * wire bytes (the swarm), turns it off so that no write is retained. Accounting goes on.
   */
  keepTranscript(keep: boolean): void;
}

/** Builds a line on `clock`. Throws RangeError for a non-positive baud or chunk size. */
export function createSerialLinkPairSim(
  clock: ClockPort,
  options: SerialLinkSimOptions,
): SerialLinkPairSim {
  if (!(options.baudRate > 0) || !(options.chunkBytes >= 1)) {
    throw new RangeError(`baud ${options.baudRate} chunk ${options.chunkBytes}`);
  }
  const records: SerialLinkSimRecord[] = [];
  const stats = { 'host-to-device': emptyStats(), 'device-to-host': emptyStats() };
  const host = new SerialLinkSim('sim:host', options.baudRate);
  const device = new SerialLinkSim('sim:device', options.baudRate);
  const shared: LineShared = { clock, options, records, stats, transcript: true };
  host.attach(new SimLine(shared, 'host-to-device', host, device, options.hostToDeviceFaults));
  device.attach(new SimLine(shared, 'device-to-host', device, host, options.deviceToHostFaults));
  return {
    host,
    device,
    transcript: () => records,
    sent: (direction) => concat(records.filter((r) => r.direction === direction)),
    stats: (direction) => stats[direction],
    resetRecords: () => {
      records.length = 0;
      Object.assign(stats['host-to-device'], emptyStats());
      Object.assign(stats['device-to-host'], emptyStats());
    },
    keepTranscript: (keep) => {
      shared.transcript = keep;
      if (!keep) records.length = 0;
    },
  };
}

interface LineShared {
  readonly clock: ClockPort;
  readonly options: SerialLinkSimOptions;
  readonly records: SerialLinkSimRecord[];
  readonly stats: Record<SerialDirection, SerialLineStats>;
  transcript: boolean;
}

/** One end of a simulated line. */
export class SerialLinkSim implements SerialLink {
  private receiver: SerialReceiver | undefined;
  private line: SimLine | undefined;
  private closed = false;
  private frozen = false;

  constructor(
    readonly path: string,
    private baud: number,
  ) {}

  /** Wires the outgoing line; called once by createSerialLinkPairSim. */
  attach(line: SimLine): void {
    this.line = line;
  }

  baudRate(): number {
    return this.baud;
  }

  setReceiver(receiver: SerialReceiver | undefined): void {
    this.receiver = receiver;
  }

  /**
   * Fault: the device is gone but nothing says so. From now on every write stays pending for
   * ever and incoming bytes are dropped, with no close or error: what serialport does with a
   * write issued while its binding closes under a vanished USB adapter or pty. Never fails.
   */
  freeze(): void {
    this.frozen = true;
  }

  /** Ends `freeze` (later writes work again; writes already pending stay pending). */
  thaw(): void {
    this.frozen = false;
  }

  /**
   * Errors: CANCELLED (closed). Resolves once the last byte reached the other end; never
   * while frozen.
   */
  async write(bytes: Uint8Array): Promise<HalResult<void>> {
    if (this.closed || this.line === undefined) return halErr(HalStatus.CANCELLED, 'link closed');
    if (this.frozen) return new Promise<never>(() => undefined);
    await this.line.transmit(bytes.slice());
    return halOk(undefined);
  }

  /** Nothing is ever buffered unread here: bytes go straight to the receiver. */
  async discardInput(): Promise<HalResult<void>> {
    if (this.closed) return halErr(HalStatus.CANCELLED, 'link closed');
    return halOk(undefined);
  }

  /** Errors: NOT_SUPPORTED (non-positive rate), CANCELLED (closed). */
  async setBaudRate(baudRate: number): Promise<HalResult<void>> {
    if (this.closed) return halErr(HalStatus.CANCELLED, 'link closed');
    if (!(baudRate > 0)) return halErr(HalStatus.NOT_SUPPORTED, `baud ${baudRate}`);
    this.baud = baudRate;
    return halOk(undefined);
  }

  async close(): Promise<HalResult<void>> {
    this.closed = true;
    this.receiver = undefined;
    return halOk(undefined);
  }

  /** Called by the peer's line with bytes that reached this end. */
  deliver(bytes: Uint8Array): void {
    if (this.closed || this.frozen || bytes.length === 0) return;
    this.receiver?.(bytes);
  }
}

/** One direction of the line: writes queue up and occupy the wire one after another. */
class SimLine {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly shared: LineShared,
    private readonly direction: SerialDirection,
    private readonly from: SerialLinkSim,
    private readonly to: SerialLinkSim,
    private readonly faults: SerialLineFaults | undefined,
  ) {}

  transmit(bytes: Uint8Array): Promise<void> {
    const job = this.tail.then(() => this.run(bytes));
    this.tail = job;
    return job;
  }

  private async run(bytes: Uint8Array): Promise<void> {
    const { clock, options, records } = this.shared;
    if (this.shared.transcript) {
      records.push({ direction: this.direction, atMs: clock.nowMs(), bytes });
    }
    const stats = this.shared.stats[this.direction];
    for (let at = 0; at < bytes.length; at += options.chunkBytes) {
      // `bytes` is the line's own copy (see write): a write that fits one chunk goes as is.
      const whole = at === 0 && bytes.length <= options.chunkBytes;
      const chunk = whole ? bytes : bytes.slice(at, at + options.chunkBytes);
      const senderBaud = this.from.baudRate();
      const wireMs = options.pace ? (chunk.length * 10_000) / senderBaud : 0;
      await clock.sleepMs(wireMs);
      stats.bytes += chunk.length;
      stats.wireMs += wireMs;
      let delivered = this.applyFaults(chunk, stats);
      if (this.to.baudRate() !== senderBaud) {
        // A receiver at another speed samples garbage, never the bytes that were sent.
        stats.garbledBytes += delivered.length;
        delivered = delivered.map((b) => ((b * 0x9d) ^ 0x5a) & 0xff);
      }
      this.to.deliver(delivered);
    }
  }

  private applyFaults(chunk: Uint8Array, stats: SerialLineStats): Uint8Array {
    const faults = this.faults;
    // A quiet line (ratios at 0, e.g. between the swarm's noise bursts) draws nothing.
    if (faults === undefined || (faults.lossRatio === 0 && faults.corruptRatio === 0)) return chunk;
    const out: number[] = [];
    for (const b of chunk) {
      if (faults.prng.chance(faults.lossRatio)) {
        stats.lostBytes += 1;
      } else if (faults.prng.chance(faults.corruptRatio)) {
        stats.corruptedBytes += 1;
        out.push(b ^ (1 << faults.prng.below(8)));
      } else {
        out.push(b);
      }
    }
    return Uint8Array.from(out);
  }
}

function emptyStats(): SerialLineStats {
  return { bytes: 0, wireMs: 0, lostBytes: 0, corruptedBytes: 0, garbledBytes: 0 };
}

function concat(records: readonly SerialLinkSimRecord[]): Uint8Array {
  const total = records.reduce((n, r) => n + r.bytes.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const r of records) {
    out.set(r.bytes, at);
    at += r.bytes.length;
  }
  return out;
}
