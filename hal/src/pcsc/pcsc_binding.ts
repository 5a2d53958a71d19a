// The only file touching @pokusew/pcsclite (pcsc-lite's Node binding), loaded lazily because it
// is an optional native dependency: a board without PC/SC readers installs without it.

import type { HalStatus } from '../ports/hal_status.js';
import { HalStatus as Hs } from '../ports/hal_status.js';

/** A PC/SC reader as the binding presents it (the subset we use). */
export interface PcscCardReader {
  readonly name: string;
  readonly SCARD_SHARE_SHARED: number;
  readonly SCARD_SHARE_EXCLUSIVE: number;
  readonly SCARD_PROTOCOL_T0: number;
  readonly SCARD_PROTOCOL_T1: number;
  readonly SCARD_STATE_PRESENT: number;
  readonly SCARD_STATE_EMPTY: number;
  readonly SCARD_STATE_MUTE: number;
  readonly SCARD_LEAVE_CARD: number;
  readonly SCARD_UNPOWER_CARD: number;
  readonly SCARD_RESET_CARD: number;
  connected: boolean;
  on(type: 'error', listener: (error: Error) => void): this;
  on(type: 'end', listener: () => void): this;
  on(type: 'status', listener: (status: { state: number; atr?: Buffer }) => void): this;
  removeAllListeners(type?: string): this;
  connect(
    options: { share_mode?: number; protocol?: number },
    cb: (err: Error | null | undefined, protocol: number) => void,
  ): void;
  disconnect(disposition: number, cb: (err: Error | null | undefined) => void): void;
  transmit(
    data: Buffer,
    resLen: number,
    protocol: number,
    cb: (err: Error | null | undefined, response: Buffer) => void,
  ): void;
  close(): void;
}

/** A PC/SC context (SCardEstablishContext plus the binding's reader watch). */
export interface PcscContextHandle {
  on(type: 'error', listener: (error: Error) => void): this;
  on(type: 'reader', listener: (reader: PcscCardReader) => void): this;
  removeAllListeners(type?: string): this;
  close(): void;
}

/** Opens a context; the binding's default export. */
export type PcscFactory = () => PcscContextHandle;

/** The binding is not installed or its native part does not load. */
export class PcscUnavailableError extends Error {
  constructor(cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      'PC/SC is not available: install pcsc-lite (Debian: apt-get install pcscd ' +
        'libpcsclite-dev) and the optional npm package @pokusew/pcsclite ' +
        `(npm install @pokusew/pcsclite). Loading it failed: ${why}`,
    );
    this.name = 'PcscUnavailableError';
  }
}

let cached: PcscFactory | null = null;

/**
 * Loads @pokusew/pcsclite once. Throws PcscUnavailableError when the package or its native
 * module (or libpcsclite) is missing.
 */
export async function loadPcscFactory(): Promise<PcscFactory> {
  if (cached !== null) return cached;
  const name = '@pokusew/pcsclite';
  try {
    const module = (await import(name)) as { default: PcscFactory };
    cached = module.default;
    return cached;
  } catch (error) {
    throw new PcscUnavailableError(error);
  }
}

/** PC/SC return codes (pcsc-lite pcsclite.h) and what they mean for a HAL caller. */
const SCARD_CODES: ReadonlyMap<number, HalStatus> = new Map([
  [0x80100069, Hs.CARD_GONE], // SCARD_W_REMOVED_CARD
  [0x80100068, Hs.CARD_GONE], // SCARD_W_RESET_CARD: another reset, our session is gone
  [0x80100067, Hs.CARD_GONE], // SCARD_W_UNPOWERED_CARD
  [0x80100066, Hs.CARD_GONE], // SCARD_W_UNRESPONSIVE_CARD
  [0x8010000c, Hs.CARD_GONE], // SCARD_E_NO_SMARTCARD
  [0x8010000f, Hs.CARD_GONE], // SCARD_E_PROTO_MISMATCH: vpcd's answer to a lost card
  [0x80100065, Hs.PROTOCOL], // SCARD_W_UNSUPPORTED_CARD
  [0x8010000a, Hs.TIMEOUT], // SCARD_E_TIMEOUT
  [0x8010000b, Hs.BUSY], // SCARD_E_SHARING_VIOLATION
  [0x80100008, Hs.SIZE], // SCARD_E_INSUFFICIENT_BUFFER
  [0x80100009, Hs.READER_IO], // SCARD_E_UNKNOWN_READER
  [0x80100017, Hs.READER_IO], // SCARD_E_READER_UNAVAILABLE
  [0x80100013, Hs.READER_IO], // SCARD_F_COMM_ERROR (the daemon went away)
  [0x8010001d, Hs.READER_IO], // SCARD_E_NO_SERVICE
  [0x8010002e, Hs.READER_IO], // SCARD_E_NO_READERS_AVAILABLE
  // SCARD_E_NOT_TRANSACTED: the IFD handler could not reach the card (a gone reader shows as
  // UNKNOWN_READER, READER_UNAVAILABLE or a comm error instead).
  [0x80100016, Hs.CARD_GONE],
  [0x80100014, Hs.READER_IO], // SCARD_F_UNKNOWN_ERROR
]);

/**
 * The HalStatus of a binding error, read from the "(0x8010....)" code in its message;
 * READER_IO when there is no code (the binding's own "not connected" errors included).
 */
export function pcscErrorStatus(error: Error): HalStatus {
  const match = /\((0x[0-9a-fA-F]{8})\)/.exec(error.message);
  if (match?.[1] === undefined) return Hs.READER_IO;
  return SCARD_CODES.get(Number.parseInt(match[1], 16)) ?? Hs.READER_IO;
}

/**
 * Whether the PC/SC service answers SCardEstablishContext within `timeoutMs`, asked from a
 * child process. The binding establishes contexts synchronously on the calling thread, and a
 * daemon that accepts the socket but never answers (one shutting down or hung) would block
 * the event loop for minutes; a child can simply be killed. False on any failure.
 */
export async function probePcscService(timeoutMs: number): Promise<boolean> {
  const { spawn } = await import('node:child_process');
  const { createRequire } = await import('node:module');
  let modulePath: string;
  try {
    modulePath = createRequire(import.meta.url).resolve('@pokusew/pcsclite');
  } catch {
    return false;
  }
  const script =
    `try { require(${JSON.stringify(modulePath)})(); process.stdout.write('OK'); }` +
    ' catch (e) { process.stdout.write(String(e)); } process.exit(0);';
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out === 'OK');
    });
    child.on('error', () => resolve(false));
  });
}
