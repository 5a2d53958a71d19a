// The depot's TCP client to the acquirer: framed ISO 8583, answers matched by MTI + STAN,
// timeouts, reconnect with backoff, and the same bytes (same STAN) on every retry.

import { connect, type Socket } from 'node:net';

import { iso8583Decode, iso8583Encode, type Iso8583Message } from './iso8583_codec.js';
import { Iso8583Error } from './iso8583_error.js';
import { Iso8583FrameReader, iso8583Frame } from './iso8583_frame.js';
import { CUPS_SPEC } from './iso8583_spec.js';

/** Timing of the link; every value in ms except `attemptsMax`. */
export interface AcquirerLinkOptions {
  readonly host: string;
  readonly port: number;
  /** Wait for one answer before the request counts as unanswered. */
  readonly answerTimeoutMs: number;
  /** Wait for a TCP connection. */
  readonly connectTimeoutMs: number;
  /** Sends of one request (first + retries) before `request` rejects. */
  readonly attemptsMax: number;
  /** Backoff before retry n is min(backoffBaseMs * 2^(n-1), backoffMaxMs). */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export const ACQUIRER_LINK_DEFAULTS: Omit<AcquirerLinkOptions, 'host' | 'port'> = {
  answerTimeoutMs: 5_000,
  connectTimeoutMs: 3_000,
  attemptsMax: 4,
  backoffBaseMs: 100,
  backoffMaxMs: 5_000,
};

/** The acquirer did not answer a request after every attempt; `attempts` were made. */
export class AcquirerLinkError extends Error {
  constructor(readonly stan: string, readonly attempts: number, readonly lastCause: string) {
    super(`acquirer link: STAN ${stan} unanswered after ${attempts} attempts (${lastCause})`);
    this.name = 'AcquirerLinkError';
  }
}

interface Waiter {
  resolve(message: Iso8583Message): void;
  fail(cause: string): void;
}

/**
 * One connection at a time, opened on demand and again after any failure. Several requests
 * may be outstanding; an answer is matched to its request by response MTI and field 11.
 * A connection that sends a malformed frame is dropped (its requests are retried).
 */
export class AcquirerLink {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly waiters = new Map<string, Waiter>();
  /** Connections opened (the first, and every reconnect). */
  connects = 0;
  /** Requests sent again after a timeout or a dropped connection. */
  retries = 0;

  constructor(private readonly options: AcquirerLinkOptions) {}

  /**
   * Sends `message` (which must carry field 11) until its answer comes. Rejects with
   * AcquirerLinkError when every attempt failed (refused, reset, timed out, malformed answer).
   */
  async request(message: Iso8583Message): Promise<Iso8583Message> {
    const stan = String(message.fields.get(11) ?? '');
    const key = `${responseMti(message.mti)}/${stan}`;
    const bytes = iso8583Frame(iso8583Encode(message, CUPS_SPEC));
    let cause = 'not sent';
    for (let attempt = 1; attempt <= this.options.attemptsMax; attempt += 1) {
      if (attempt > 1) {
        this.retries += 1;
        await sleep(Math.min(this.options.backoffBaseMs * 2 ** (attempt - 2),
          this.options.backoffMaxMs));
      }
      try {
        return await this.attempt(key, bytes);
      } catch (error) {
        cause = error instanceof Error ? error.message : String(error);
      }
    }
    throw new AcquirerLinkError(stan, this.options.attemptsMax, cause);
  }

  /** Closes the connection; outstanding requests fail their current attempt. */
  close(): void {
    this.drop('link closed');
  }

  private async attempt(key: string, bytes: Uint8Array): Promise<Iso8583Message> {
    const socket = await this.connected();
    return new Promise<Iso8583Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`no answer in ${this.options.answerTimeoutMs} ms`));
      }, this.options.answerTimeoutMs);
      this.waiters.set(key, {
        resolve: (answer) => { clearTimeout(timer); resolve(answer); },
        fail: (cause) => { clearTimeout(timer); reject(new Error(cause)); },
      });
      socket.write(bytes);
    });
  }

  private connected(): Promise<Socket> {
    if (this.socket !== null) return Promise.resolve(this.socket);
    this.connecting ??= this.open().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private open(): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect(this.options.port, this.options.host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect timeout ${this.options.connectTimeoutMs} ms`));
      }, this.options.connectTimeoutMs);
      socket.once('error', (error) => { clearTimeout(timer); reject(error); });
      socket.once('connect', () => {
        clearTimeout(timer);
        this.connects += 1;
        this.socket = socket;
        this.listen(socket);
        resolve(socket);
      });
    });
  }

  private listen(socket: Socket): void {
    const reader = new Iso8583FrameReader();
    socket.on('error', () => undefined);
    socket.on('close', () => { if (this.socket === socket) this.drop('connection closed'); });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const bytes of reader.push(chunk)) {
          const answer = iso8583Decode(bytes, CUPS_SPEC);
          const key = `${answer.mti}/${String(answer.fields.get(11) ?? '')}`;
          const waiter = this.waiters.get(key);
          this.waiters.delete(key);
          waiter?.resolve(answer);
        }
      } catch (error) {
        if (!(error instanceof Iso8583Error)) throw error;
        this.drop(`malformed answer: ${error.message}`);
      }
    });
  }

  private drop(cause: string): void {
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
    const waiting = [...this.waiters.values()];
    this.waiters.clear();
    for (const waiter of waiting) waiter.fail(cause);
  }
}

/** 0100 → 0110, 0220 → 0230, 0400 → 0410 (ISO 8583:1987 message function + 1). */
export function responseMti(mti: string): string {
  return `${mti.slice(0, 2)}${Number(mti[2] ?? '0') + 1}${mti.slice(3)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
