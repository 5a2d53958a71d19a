// PN532 host-link frame codec (HSU/I2C/SPI framing): pure, no I/O, shared by driver and emulator.
//
// See NXP UM0701-02 §6.2.1. Normal frame: 00 00 FF LEN LCS TFI PD0..PDn DCS 00. Extended
// frame: 00 00 FF FF FF LENM LENL LCS TFI PD0..PDn DCS 00. ACK 00 00 FF 00 FF 00, NACK
// 00 00 FF FF 00 00, error (syntax) frame 00 00 FF 01 FF 7F 81 00.

/** TFI of frames from the host controller to the PN532. */
export const PN532_TFI_D4_HOST_TO_PN532 = 0xd4;
/** TFI of frames from the PN532 to the host controller. */
export const PN532_TFI_D5_PN532_TO_HOST = 0xd5;
/** The single data byte of the PN532's application-level error frame. */
export const PN532_ERROR_FRAME_7F = 0x7f;

export const PN532_ACK_FRAME: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0x00, 0xff, 0x00);
export const PN532_NACK_FRAME: Uint8Array = Uint8Array.of(0x00, 0x00, 0xff, 0xff, 0x00, 0x00);
export const PN532_ERROR_FRAME: Uint8Array = Uint8Array.of(
  0x00,
  0x00,
  0xff,
  0x01,
  0xff,
  PN532_ERROR_FRAME_7F,
  0x81,
  0x00,
);

/** Largest LEN (TFI + PD bytes) a normal frame can carry. */
export const PN532_NORMAL_LEN_MAX = 255;
/**
 * Largest LEN we build or accept: the PN532's 265-byte frame buffer (AN10449; nfcpy's
 * host_command_frame_max_size). A peer that claims more is treated as line noise.
 */
export const PN532_FRAME_LEN_MAX = 265;
/** Bytes a frame adds around TFI + PD: preamble, start code, LEN, LCS, DCS, postamble. */
export const PN532_NORMAL_OVERHEAD_BYTES = 7;
/** Extended frames add the FF FF marker and a second length byte. */
export const PN532_EXTENDED_OVERHEAD_BYTES = 10;
/** Bound of the decoder's receive buffer: two maximal frames plus slack. */
export const PN532_DECODER_CAPACITY_BYTES = 2048;

/** Something complete the decoder found in the byte stream. */
export type Pn532FrameEvent =
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }
  /** The error (syntax) frame, payload 7F. */
  | { readonly kind: 'error' }
  /**
   * An information frame with good checksums. `body` is PD0..PDn (command code first), a copy
   * that is the receiver's, possibly a view into a shared buffer (as encodePn532Frame's).
   */
  | {
      readonly kind: 'frame';
      readonly tfi: number;
      readonly body: Uint8Array;
      readonly extended: boolean;
    }
  /** A complete information frame whose data checksum (DCS) or postamble is wrong. */
  | { readonly kind: 'bad-checksum'; readonly lengthBytes: number };

/** One step of `decodePn532Frame`. */
export type Pn532DecodeStep =
  | { readonly kind: 'need-more' }
  /** Drop `count` bytes (noise before a start code, or a start code with a bad LCS). */
  | { readonly kind: 'skip'; readonly count: number }
  | { readonly kind: 'event'; readonly event: Pn532FrameEvent; readonly consumed: number };

/** Total bytes on the wire for a frame carrying `bodyBytes` of PD (command code + params). */
export function pn532FrameLengthBytes(bodyBytes: number): number {
  const len = bodyBytes + 1;
  return len > PN532_NORMAL_LEN_MAX
    ? len + PN532_EXTENDED_OVERHEAD_BYTES
    : len + PN532_NORMAL_OVERHEAD_BYTES;
}

/**
 * Builds an information frame, normal when TFI + body fit in 255 bytes, extended otherwise.
 * Throws RangeError (a programmer error) for an empty body, a body beyond
 * PN532_FRAME_LEN_MAX - 1 bytes, or a TFI outside 0..255. The frame is the caller's, but may
 * be a view into a shared buffer (mind byteOffset when reading its `buffer`).
 */
export function encodePn532Frame(tfi: number, body: Uint8Array): Uint8Array {
  return encodePn532FrameParts(tfi, NO_BYTES, body);
}

const NO_BYTES: readonly number[] = [];

/**
 * Frames and decoded bodies are carved from a shared slab (see frameBytes), not allocated one
 * by one. V8 gives a typed array of more than 64 bytes a backing store of its own, about ten
 * times the cost of a view, and keeps a shorter one on its heap, where the first `subarray`
 * or `buffer` of it (the driver takes the answer after its response code as a subarray)
 * moves it off the heap at about the same cost. A view into a slab costs neither.
 * One slab holds dozens of maximal frames (PN532_FRAME_LEN_MAX + extended overhead).
 */
const FRAME_SLAB_BYTES = 16 * 1024;
let frameSlab = new ArrayBuffer(FRAME_SLAB_BYTES);
let frameSlabUsed = 0;

/**
 * A zeroed array of `length` bytes that belongs to its caller alone, as `new Uint8Array`
 * gives, but a view into a shared buffer (as Node's pooled Buffers are): a nonzero
 * byteOffset, and a `buffer` larger than the array. Slab space is never reused; a slab is
 * collected once no array carved from it is left.
 */
function frameBytes(length: number): Uint8Array {
  if (frameSlabUsed + length > FRAME_SLAB_BYTES) {
    frameSlab = new ArrayBuffer(FRAME_SLAB_BYTES);
    frameSlabUsed = 0;
  }
  const out = new Uint8Array(frameSlab, frameSlabUsed, length);
  frameSlabUsed += length;
  return out;
}

/**
 * `encodePn532Frame(tfi, head followed by body)`, without building that body first (a
 * command code and its parameters, a response code and a card's answer): one array, one
 * copy. Throws as `encodePn532Frame`.
 */
export function encodePn532FrameParts(
  tfi: number,
  head: ArrayLike<number>,
  body: ArrayLike<number>,
): Uint8Array {
  return encodeFrameOf(tfi, NO_CODE, head, body);
}

/**
 * `encodePn532FrameParts(tfi, [code, ...head], body)` without that array: a command frame
 * from its code, parameters and data, as the driver sends every command. Throws as
 * `encodePn532Frame`.
 */
export function encodePn532FrameCode(
  tfi: number,
  code: number,
  head: ArrayLike<number>,
  body: ArrayLike<number>,
): Uint8Array {
  return encodeFrameOf(tfi, code, head, body);
}

/** encodeFrameOf without a code byte before `head`. */
const NO_CODE = undefined;

/** The frame of `code` (unless NO_CODE), `head` and `body`, in one array. */
function encodeFrameOf(
  tfi: number,
  code: number | undefined,
  head: ArrayLike<number>,
  body: ArrayLike<number>,
): Uint8Array {
  const codeBytes = code === NO_CODE ? 0 : 1;
  const bodyBytes = codeBytes + head.length + body.length;
  const len = bodyBytes + 1;
  if (bodyBytes === 0 || len > PN532_FRAME_LEN_MAX) throw new RangeError(`body ${bodyBytes}`);
  if (!Number.isInteger(tfi) || tfi < 0 || tfi > 0xff) throw new RangeError(`tfi ${tfi}`);
  const extended = len > PN532_NORMAL_LEN_MAX;
  const header = extended ? 8 : 5;
  const out = frameBytes(pn532FrameLengthBytes(bodyBytes));
  out[0] = 0x00;
  out[1] = 0x00;
  out[2] = 0xff;
  if (extended) {
    out[3] = 0xff;
    out[4] = 0xff;
    out[5] = len >> 8;
    out[6] = len & 0xff;
    out[7] = (0x100 - ((out[5] + out[6]) & 0xff)) & 0xff;
  } else {
    out[3] = len;
    out[4] = (0x100 - len) & 0xff;
  }
  out[header] = tfi;
  if (code !== NO_CODE) out[header + 1] = code;
  const headAt = header + 1 + codeBytes;
  // Byte by byte: `set` from a plain array (a command's parameters, an answer's head) is a
  // builtin call costing more than the loop over these few bytes.
  for (let k = 0; k < head.length; k += 1) out[headAt + k] = head[k] ?? 0;
  // Nothing to copy for most commands (no data): no call at all.
  if (body.length > 0) out.set(body, headAt + head.length);
  let sum = 0;
  // Indexed: the iterator protocol over Buffers and Uint8Arrays alike stays slow (megamorphic).
  for (let k = header; k < header + len; k += 1) sum += out[k] ?? 0;
  out[header + len] = (0x100 - (sum & 0xff)) & 0xff;
  out[header + len + 1] = 0x00;
  return out;
}

// The steps that carry nothing of their own, made once (read-only: nobody may change them).
const NEED_MORE: Pn532DecodeStep = Object.freeze({ kind: 'need-more' });
const ACK_STEP: Pn532DecodeStep = Object.freeze({
  kind: 'event',
  event: Object.freeze({ kind: 'ack' }),
  consumed: 4,
});
const NACK_STEP: Pn532DecodeStep = Object.freeze({
  kind: 'event',
  event: Object.freeze({ kind: 'nack' }),
  consumed: 4,
});

/**
 * Looks at `buf[start..end)` for the next frame. Searches for the `00 FF` start code (the
 * leading 00 preamble is optional on the wire), so noise and lost bytes before a frame are
 * skipped rather than fatal.
 *
 * The postamble is awaited and must be 00. That is the only defence the framing has against a
 * lost 00 data byte: the data shifts left by one, the postamble slides into the DCS position,
 * and the checksum still adds up. With the postamble required, such a frame instead stalls
 * (the sender is silent after a frame) or meets a non-zero byte; either way it is reported as
 * damaged and the receiver can NACK it rather than act on shifted bytes.
 */
export function decodePn532Frame(buf: Uint8Array, start: number, end: number): Pn532DecodeStep {
  let i = start;
  while (i + 1 < end && !(buf[i] === 0x00 && buf[i + 1] === 0xff)) i += 1;
  if (i > start) return { kind: 'skip', count: i - start };
  if (end - i < 4) return NEED_MORE;
  const b2 = buf[i + 2] ?? 0;
  const b3 = buf[i + 3] ?? 0;
  if (b2 === 0x00 && b3 === 0xff) return ACK_STEP;
  if (b2 === 0xff && b3 === 0x00) return NACK_STEP;
  let len: number;
  let dataAt: number;
  if (b2 === 0xff && b3 === 0xff) {
    if (end - i < 7) return NEED_MORE;
    const lenm = buf[i + 4] ?? 0;
    const lenl = buf[i + 5] ?? 0;
    if (((lenm + lenl + (buf[i + 6] ?? 0)) & 0xff) !== 0) return { kind: 'skip', count: 2 };
    len = (lenm << 8) | lenl;
    dataAt = i + 7;
  } else {
    if (((b2 + b3) & 0xff) !== 0) return { kind: 'skip', count: 2 };
    len = b2;
    dataAt = i + 4;
  }
  if (len === 0 || len > PN532_FRAME_LEN_MAX) return { kind: 'skip', count: 2 };
  if (end - dataAt < len + 2) return NEED_MORE;
  let sum = 0;
  for (let k = 0; k <= len; k += 1) sum += buf[dataAt + k] ?? 0;
  const postambleOk = buf[dataAt + len + 1] === 0x00;
  // A bad postamble is not consumed: it may be the first byte of whatever follows.
  const consumed = dataAt + len + (postambleOk ? 2 : 1) - start;
  if ((sum & 0xff) !== 0 || !postambleOk) {
    return { kind: 'event', event: { kind: 'bad-checksum', lengthBytes: consumed }, consumed };
  }
  const tfi = buf[dataAt] ?? 0;
  if (len === 1 && tfi === PN532_ERROR_FRAME_7F) {
    return { kind: 'event', event: { kind: 'error' }, consumed };
  }
  const body = frameBytes(len - 1);
  body.set(buf.subarray(dataAt + 1, dataAt + len));
  return {
    kind: 'event',
    event: { kind: 'frame', tfi, body, extended: dataAt - i === 7 },
    consumed,
  };
}

/**
 * A bounded streaming decoder: push bytes as they arrive, pull events. When the buffer would
 * overflow (a peer streaming noise), the oldest bytes are dropped and counted as noise.
 */
export class Pn532FrameDecoder {
  private readonly buf = new Uint8Array(PN532_DECODER_CAPACITY_BYTES);
  private start = 0;
  private end = 0;
  /** Bytes skipped as noise since construction (diagnostics). */
  noiseBytes = 0;

  /** Appends received bytes. Never fails; overflow drops the oldest bytes. */
  push(bytes: Uint8Array): void {
    let src = bytes;
    if (src.length > this.buf.length) {
      this.noiseBytes += src.length - this.buf.length;
      src = src.subarray(src.length - this.buf.length);
    }
    if (this.end + src.length > this.buf.length) this.compact();
    const overflow = this.end + src.length - this.buf.length;
    if (overflow > 0) {
      this.start += overflow;
      this.noiseBytes += overflow;
      this.compact();
    }
    this.buf.set(src, this.end);
    this.end += src.length;
  }

  /** The next complete event, or undefined when more bytes are needed. */
  next(): Pn532FrameEvent | undefined {
    for (;;) {
      const step = decodePn532Frame(this.buf, this.start, this.end);
      switch (step.kind) {
        case 'need-more':
          return undefined;
        case 'skip':
          this.skipNoise(step.count);
          break;
        case 'event':
          this.start += step.consumed;
          if (this.start === this.end) this.clear();
          return step.event;
        default:
          return assertNever(step);
      }
    }
  }

  /** Bytes buffered but not yet decoded. */
  pendingBytes(): number {
    return this.end - this.start;
  }

  /**
   * True when, after `next()` returned undefined, a start code has been seen and the rest of
   * its frame is awaited (a lone trailing preamble or postamble byte does not count).
   */
  midFrame(): boolean {
    return this.end - this.start >= 2;
  }

  /**
   * True when, after `next()` returned undefined, an information frame is half received whose
   * length header is valid and whose first two data bytes, already here, are `tfi` and `code`:
   * a real answer began, not a damaged ACK or noise that happens to look like a header.
   */
  frameInProgress(tfi: number, code: number): boolean {
    const b = this.buf;
    const at = this.start;
    if (this.end - at < 4) return false;
    const b2 = b[at + 2] ?? 0;
    const b3 = b[at + 3] ?? 0;
    const extended = b2 === 0xff && b3 === 0xff;
    if (!extended && (b2 === 0 || ((b2 + b3) & 0xff) !== 0)) return false;
    const dataAt = at + (extended ? 7 : 4);
    if (this.end < dataAt + 2) return false;
    return b[dataAt] === tfi && b[dataAt + 1] === code;
  }

  /** Forgets everything buffered (libnfc flushes input before each command). */
  clear(): void {
    this.start = 0;
    this.end = 0;
  }

  private skipNoise(count: number): void {
    // Preamble/postamble zeros between frames are normal, not noise worth counting.
    for (let k = 0; k < count; k += 1) {
      if (this.buf[this.start + k] !== 0x00) this.noiseBytes += 1;
    }
    this.start += count;
  }

  private compact(): void {
    this.buf.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
