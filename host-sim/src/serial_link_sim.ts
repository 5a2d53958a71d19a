// In-memory twin of a UART line: two SerialLink ends, paced by the injected clock, with faults.

import { clockAlarm, type ClockAlarm, type ClockPort } from '../../hal/src/ports/clock_port.js';
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
  /**
   * Optional, false when absent: a write that starts while its direction's faults are quiet
   * (none, or both ratios 0) is delivered whole, in one chunk, when its last byte arrives,
   * whatever `chunkBytes` says (one clock wake per frame, for long simulations: the swarm);
   * a write that starts while noise is on is still delivered in chunks, byte faults and all.
   */
  readonly quietWholeWrites?: boolean;
  /**
   * Optional, false when absent: every sender on this line leaves an array it wrote unchanged
   * from then on (the PN532 driver writes frames built for the write, and constants), so
   * `write` keeps the caller's array, as `send` does, instead of a copy of it.
   */
  readonly writesUnchanged?: boolean;
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
      // After every swarm tap: no length store when nothing is kept, no new objects.
      if (records.length > 0) records.length = 0;
      zeroStats(stats['host-to-device']);
      zeroStats(stats['device-to-host']);
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

/** The result of every write that went through (frozen: nobody changes it). */
const WRITE_DONE: HalResult<void> = Object.freeze(halOk(undefined));
/** A flush here has nothing to drop: one settled promise serves every call. */
const DISCARD_DONE: Promise<HalResult<void>> = Promise.resolve(WRITE_DONE);

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
  write(bytes: Uint8Array): Promise<HalResult<void>> {
    if (this.closed || this.line === undefined) {
      return Promise.resolve(halErr(HalStatus.CANCELLED, 'link closed'));
    }
    if (this.frozen) return new Promise<never>(() => undefined);
    const line = this.line;
    const kept = line.writesUnchanged ? bytes : bytes.slice();
    return new Promise<HalResult<void>>((done) => line.transmit(kept, done));
  }

  /**
   * `write` for a sender that never awaits its writes (the PN532 emulator answering): the
   * same line, order and faults, with no promise, and no copy: the line keeps `bytes` itself,
   * so the sender must never change them afterwards (frames built for this write, constants).
   * A closed or frozen end drops the bytes, as the write it stands for would never end or
   * fail unheard. Never fails.
   */
  send(bytes: Uint8Array): void {
    if (this.closed || this.frozen || this.line === undefined) return;
    this.line.transmit(bytes, undefined);
  }

  /** Nothing is ever buffered unread here: bytes go straight to the receiver. */
  discardInput(): Promise<HalResult<void>> {
    if (this.closed) return Promise.resolve(halErr(HalStatus.CANCELLED, 'link closed'));
    return DISCARD_DONE;
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


/** A write on the wire or waiting for it. */
interface LineWrite {
  /** The line's own copy, or the sender's array when it never changes (SerialLinkSim.write). */
  readonly bytes: Uint8Array;
  /** Bytes of it already delivered. */
  at: number;
  /** Settles the sender's promise; undefined for `send`. */
  readonly done: ((result: HalResult<void>) => void) | undefined;
}

/**
 * One direction of the line: writes queue up and occupy the wire one after another, chunk by
 * chunk. One alarm on the clock marks the arrival of the chunk on the wire (no promise per
 * chunk); the next chunk starts once it is delivered, at the sender's speed of that moment.
 */
class SimLine {
  private readonly queue: LineWrite[] = [];
  private readonly arrival: ClockAlarm;
  /** The chunk on the wire: its size and the speed it was sent at. */
  private chunkBytes = 0;
  private chunkBaud = 0;
  private chunkWireMs = 0;
  /** See SerialLinkSimOptions.writesUnchanged. */
  readonly writesUnchanged: boolean;
  /** This direction's accounting (resetRecords zeroes it in place: the object stays). */
  private readonly stats: SerialLineStats;

  constructor(
    private readonly shared: LineShared,
    private readonly direction: SerialDirection,
    private readonly from: SerialLinkSim,
    private readonly to: SerialLinkSim,
    private readonly faults: SerialLineFaults | undefined,
  ) {
    this.arrival = clockAlarm(shared.clock, () => this.chunkArrived());
    this.writesUnchanged = shared.options.writesUnchanged === true;
    this.stats = shared.stats[direction];
  }

  /** Queues `bytes` (the line's own copy); `done` once the last byte reached the other end. */
  transmit(bytes: Uint8Array, done: ((result: HalResult<void>) => void) | undefined): void {
    this.queue.push({ bytes, at: 0, done });
    if (this.queue.length === 1) this.startChunk();
  }

  private quiet(): boolean {
    const faults = this.faults;
    return faults === undefined || (faults.lossRatio === 0 && faults.corruptRatio === 0);
  }

  /** Puts the next chunk of the queue's first write on the wire. */
  private startChunk(): void {
    const { clock, options, records } = this.shared;
    let write = this.queue[0];
    while (write !== undefined && write.at === 0) {
      if (this.shared.transcript) {
        records.push({ direction: this.direction, atMs: clock.nowMs(), bytes: write.bytes });
      }
      if (write.bytes.length > 0) break;
      // Nothing to send: done at once.
      this.queue.shift();
      write.done?.(WRITE_DONE);
      write = this.queue[0];
    }
    if (write === undefined) return;
    const left = write.bytes.length - write.at;
    const whole = options.quietWholeWrites === true && write.at === 0 && this.quiet();
    this.chunkBytes = whole ? left : Math.min(left, options.chunkBytes);
    this.chunkBaud = this.from.baudRate();
    this.chunkWireMs = options.pace ? (this.chunkBytes * 10_000) / this.chunkBaud : 0;
    this.arrival.set(this.chunkWireMs);
  }

  /** The chunk on the wire arrived: faults, delivery, then the next chunk or write. */
  private chunkArrived(): void {
    const write = this.queue[0];
    if (write === undefined) return;
    const stats = this.stats;
    const { bytes } = write;
    const end = write.at + this.chunkBytes;
    const whole = write.at === 0 && end === bytes.length;
    const chunk = whole ? bytes : bytes.subarray(write.at, end);
    write.at = end;
    stats.bytes += chunk.length;
    stats.wireMs += this.chunkWireMs;
    let delivered = this.applyFaults(chunk, stats);
    if (this.to.baudRate() !== this.chunkBaud) {
      // A receiver at another speed samples garbage, never the bytes that were sent.
      stats.garbledBytes += delivered.length;
      delivered = delivered.map((b) => ((b * 0x9d) ^ 0x5a) & 0xff);
    }
    this.to.deliver(delivered);
    if (write.at >= bytes.length) {
      this.queue.shift();
      write.done?.(WRITE_DONE);
    }
    this.startChunk();
  }

  private applyFaults(chunk: Uint8Array, stats: SerialLineStats): Uint8Array {
    const faults = this.faults;
    // A quiet line (ratios at 0, e.g. between the swarm's noise bursts) draws nothing.
    if (faults === undefined || (faults.lossRatio === 0 && faults.corruptRatio === 0)) return chunk;
    // Draws in the same order as byte by byte. Until the first fault the survivors are the
    // chunk itself: the copy that survivors are packed into is made at the first lost or
    // flipped byte (its head, the bytes before, is right as it is).
    let out: Uint8Array | undefined;
    let kept = 0;
    for (let k = 0; k < chunk.length; k += 1) {
      const b = chunk[k] ?? 0;
      if (faults.prng.chance(faults.lossRatio)) {
        stats.lostBytes += 1;
        out ??= chunk.slice();
      } else if (faults.prng.chance(faults.corruptRatio)) {
        stats.corruptedBytes += 1;
        out ??= chunk.slice();
        out[kept] = b ^ (1 << faults.prng.below(8));
        kept += 1;
      } else {
        if (out !== undefined) out[kept] = b;
        kept += 1;
      }
    }
    if (out === undefined) return chunk;
    return kept === out.length ? out : out.subarray(0, kept);
  }
}

/** Every count of a line at zero: the one list of the counts. */
const ZERO_STATS: Readonly<SerialLineStats> = {
  bytes: 0, wireMs: 0, lostBytes: 0, corruptedBytes: 0, garbledBytes: 0,
};

function emptyStats(): SerialLineStats {
  return { ...ZERO_STATS };
}

/** Sets every count of `stats` back to zero, in place. */
function zeroStats(stats: SerialLineStats): void {
  Object.assign(stats, ZERO_STATS);
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
