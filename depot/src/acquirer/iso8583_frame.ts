// TCP framing of ISO 8583 messages: a 2-byte big-endian length header before each message.

import { Iso8583Error } from './iso8583_error.js';

/** Largest message a 2-byte header can announce. */
export const ISO8583_FRAME_BYTES_MAX = 0xffff;

/** `message` behind its 2-byte length header. Throws Iso8583Error `bad-length` (empty, > 65535). */
export function iso8583Frame(message: Uint8Array): Uint8Array {
  if (message.length === 0 || message.length > ISO8583_FRAME_BYTES_MAX) {
    throw new Iso8583Error('bad-length', 0, 0, `message of ${message.length} bytes`);
  }
  const out = new Uint8Array(message.length + 2);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}

/**
 * Reassembles messages from TCP chunks (which split and join frames at will). `push` returns
 * the whole messages now complete; a partial frame waits for more bytes. A zero length header
 * throws Iso8583Error `bad-length` (the stream is out of step: the caller drops the connection).
 */
export class Iso8583FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): Uint8Array[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const messages: Uint8Array[] = [];
    while (this.buffered.length >= 2) {
      const length = this.buffered.readUInt16BE(0);
      if (length === 0) throw new Iso8583Error('bad-length', 0, 0, 'zero-length frame');
      if (this.buffered.length < 2 + length) break;
      messages.push(Uint8Array.from(this.buffered.subarray(2, 2 + length)));
      this.buffered = this.buffered.subarray(2 + length);
    }
    return messages;
  }

  /** Bytes of an unfinished frame (non-zero when a connection closed mid-message). */
  pendingBytes(): number {
    return this.buffered.length;
  }
}
