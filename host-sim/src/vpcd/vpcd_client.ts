// A virtual card for vsmartcard's vpcd: we connect to the TCP port the vpcd driver listens on
// inside pcscd and answer its frames, so PC/SC clients see our emulated card in a reader.
//
// The protocol (read from vsmartcard's virtualsmartcard/src/vpcd/vpcd.c, facts only): every
// message in both directions is a 2-byte big-endian length and that many bytes. A 1-byte message
// from vpcd is a control: 00 power off, 01 power on, 02 reset (no answer to any of the three),
// 04 "send the ATR" (answered by the ATR). Any longer message is a command APDU, answered by
// the response APDU. vpcd asks for the ATR every time pcscd polls for card presence, so a
// connected client is a card in the reader and a closed connection is the card pulled out.

import { Socket, createConnection } from 'node:net';

/** Control bytes of vpcd (vpcd.c `VPCD_CTRL_*`). */
export const VPCD_CTRL_00_OFF = 0x00;
export const VPCD_CTRL_01_ON = 0x01;
export const VPCD_CTRL_02_RESET = 0x02;
export const VPCD_CTRL_04_ATR = 0x04;
/** Default vpcd port (vpcd.h `VPCDPORT`, 0x8C7B). */
export const VPCD_DEFAULT_PORT = 35963;

/** The card behind the connection. `transmit` returning null drops the connection unanswered
 * (the card torn away in the middle of a command). */
export interface VpcdCard {
  atr(): Uint8Array;
  powerOn(): void;
  powerOff(): void;
  reset(): void;
  transmit(apdu: Uint8Array): Uint8Array | null;
}

/** Counters of what vpcd asked. */
export interface VpcdClientStats {
  readonly atrRequests: number;
  readonly powerOns: number;
  readonly powerOffs: number;
  readonly resets: number;
  readonly apdus: number;
}

/** Response APDU sent when the card threw instead of answering: SW 6F00, no precise diagnosis. */
const SW_6F00 = Uint8Array.of(0x6f, 0x00);

function frame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(payload.length + 2);
  out.writeUInt16BE(payload.length, 0);
  out.set(payload, 2);
  return out;
}

/**
 * One connection from a virtual card to vpcd. `connect` resolves once TCP is up (pcscd sees the
 * card at its next presence poll); `disconnect` closes it (the card removed). `closed` resolves
 * when the connection ends for any reason, with the socket error if there was one.
 */
export class VpcdClient {
  private readonly card: VpcdCard;
  private socket: Socket | null = null;
  private pending = Buffer.alloc(0);
  private counters = { atrRequests: 0, powerOns: 0, powerOffs: 0, resets: 0, apdus: 0 };
  private closedResolve: ((error: Error | null) => void) | null = null;
  /** Resolves when the current connection ends. */
  closed: Promise<Error | null> = Promise.resolve(null);

  constructor(card: VpcdCard) {
    this.card = card;
  }

  /**
   * Connects to vpcd at `host`:`port`. Rejects with the socket error (ECONNREFUSED when no
   * pcscd with vpcd listens there). Throws Error when already connected.
   */
  connect(host: string, port: number): Promise<void> {
    if (this.socket !== null) throw new Error('vpcd client already connected');
    this.pending = Buffer.alloc(0);
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port });
      let lastError: Error | null = null;
      this.closed = new Promise((r) => {
        this.closedResolve = r;
      });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        this.socket = socket;
        resolve();
      });
      socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
      socket.on('error', (error) => {
        lastError = error;
        if (this.socket === null) reject(error);
      });
      socket.on('close', () => {
        if (this.socket === socket) this.socket = null;
        this.closedResolve?.(lastError);
      });
    });
  }

  /** True while connected. */
  isConnected(): boolean {
    return this.socket !== null;
  }

  /** Closes the connection (pcscd then reports the card removed); resolves when closed. */
  async disconnect(): Promise<void> {
    const socket = this.socket;
    if (socket === null) return;
    socket.destroy();
    await this.closed;
  }

  stats(): VpcdClientStats {
    return { ...this.counters };
  }

  private onData(socket: Socket, chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 2 && !socket.destroyed) {
      const length = this.pending.readUInt16BE(0);
      if (this.pending.length < 2 + length) return;
      const payload = new Uint8Array(this.pending.subarray(2, 2 + length));
      this.pending = this.pending.subarray(2 + length);
      const answer = this.handle(payload);
      if (answer === 'drop') {
        socket.destroy();
        return;
      }
      if (answer !== null) socket.write(frame(answer));
    }
  }

  /** The answer to one vpcd message: bytes, null (controls without answer) or 'drop'. */
  private handle(payload: Uint8Array): Uint8Array | null | 'drop' {
    if (payload.length !== 1) return this.handleApdu(payload);
    switch (payload[0]) {
      case VPCD_CTRL_00_OFF:
        this.counters.powerOffs += 1;
        this.card.powerOff();
        return null;
      case VPCD_CTRL_01_ON:
        this.counters.powerOns += 1;
        this.card.powerOn();
        return null;
      case VPCD_CTRL_02_RESET:
        this.counters.resets += 1;
        this.card.reset();
        return null;
      case VPCD_CTRL_04_ATR:
        this.counters.atrRequests += 1;
        return this.card.atr();
      default:
        // A 1-byte APDU is not a valid command (ISO 7816-4 needs 4 header bytes): 6700.
        return Uint8Array.of(0x67, 0x00);
    }
  }

  private handleApdu(apdu: Uint8Array): Uint8Array | 'drop' {
    this.counters.apdus += 1;
    try {
      return this.card.transmit(apdu) ?? 'drop';
    } catch {
      return SW_6F00;
    }
  }
}
