// DWIN DGUS II display emulator: parses the serial frames a host sends and renders the screen.

import { halErr, halOk, HalStatus, type HalResult } from '../../../hal/src/ports/hal_status.js';
import type { SerialLink } from '../../../hal/src/ports/serial_link.js';

/*
 * Written from the DWIN documents, not from our driver, so it is an independent check of the
 * driver's bytes (DGUS v2.0 Specification 2.1-2.2 and 5.2.2; T5L DGUS II application guide):
 *   host -> display: 5A A5 LEN CMD ... [CRC_L CRC_H]   LEN counts CMD..end (CRC included)
 *   0x82 VP_H VP_L DATA...      write words at VP (big-endian words)    -> 5A A5 03 82 4F 4B
 *   0x83 VP_H VP_L N            read N words at VP      -> 5A A5 LEN 83 VP_H VP_L N DATA...
 *   VP 0x0084 = 5A 01 PIC_H PIC_L  switch page; the display clears the 5A when done
 *   text display variable: GBK bytes from VP, shown until the word 0xFFFF or Text_length
 * CRC (when the project enables it): CRC-16/MODBUS over CMD..DATA, low byte first.
 */

const HEADER_HIGH_5A = 0x5a;
const HEADER_LOW_A5 = 0xa5;
const CMD_82_WRITE = 0x82;
const CMD_83_READ = 0x83;
const VP_0084_PIC_SET = 0x0084;
const WORDS_IN_MEMORY = 0x10000;
const NO_BYTES = new Uint8Array(0);

/** One text display control (type 0x11) of the emulated project, always GBK-encoded. */
export interface DwinTextVariableSim {
  readonly name: string;
  readonly vp: number;
  /** Text_length in bytes. */
  readonly capacityBytes: number;
}

/** What the DGUS project on the emulated display's SD card defines. */
export interface DwinProjectSim {
  readonly crc: boolean;
  readonly pages: readonly { readonly id: number; readonly name: string }[];
  readonly textVariables: readonly DwinTextVariableSim[];
}

/**
 * The validator's reference project: a boot page, one page per screen kind and 5 text
 * controls of 64 bytes at 0x5000..
 */
export const DWIN_PROJECT_SIM_DEFAULT: DwinProjectSim = {
  crc: false,
  pages: [
    { id: 0, name: 'boot' },
    { id: 1, name: 'idle' },
    { id: 2, name: 'processing' },
    { id: 3, name: 'approved' },
    { id: 4, name: 'declined' },
    { id: 5, name: 'tryAgain' },
    { id: 6, name: 'denyList' },
    { id: 7, name: 'alreadyPaid' },
    { id: 8, name: 'outOfService' },
    { id: 9, name: 'multipleCards' },
    { id: 10, name: 'admitted' },
    { id: 11, name: 'gate' },
  ],
  textVariables: [
    { name: 'title', vp: 0x5000, capacityBytes: 64 },
    { name: 'amount', vp: 0x5020, capacityBytes: 64 },
    { name: 'balance', vp: 0x5040, capacityBytes: 64 },
    { name: 'message', vp: 0x5060, capacityBytes: 64 },
    { name: 'footer', vp: 0x5080, capacityBytes: 64 },
  ],
};

/** What the screen shows right now. */
export interface DwinScreenSnapshot {
  readonly pageId: number;
  /** The project's name for the page, or `page<N>` for a page the project lacks. */
  readonly pageName: string;
  /** Visible text per text control, trailing blanks removed (they are invisible). */
  readonly texts: Readonly<Record<string, string>>;
}

/** One frame the emulator accepted, for wire-level assertions. */
export interface DwinFrameSim {
  readonly cmd: number;
  readonly vp: number;
  readonly data: Uint8Array;
}

let gbkDecoderMade: TextDecoder | undefined;

/**
 * The GBK decoder every display shares, made at its first use: a decode without `stream`
 * keeps nothing between calls, and making one per display (one per simulated boot) cost
 * more than the swarm's few reads of the screen's text.
 */
function gbkDecoder(): TextDecoder {
  gbkDecoderMade ??= new TextDecoder('gbk', { fatal: true });
  return gbkDecoderMade;
}

/**
 * The emulated display. Its `write` matches the link the DWIN driver writes to, so the driver
 * runs unchanged against it; `attach` puts it behind a simulated UART instead. Malformed input
 * never throws: it is counted in `errors`, where a real display would silently ignore it.
 */
export class DwinDisplaySim {
  /** Word-addressed variable memory, stored as bytes (big-endian words). Zero at power-up. */
  private readonly memory = new Uint8Array(WORDS_IN_MEMORY * 2);
  /** Received bytes not yet parsed (an incomplete frame, a lone 5A). */
  private pending: Uint8Array = NO_BYTES;
  private output: number[] = [];
  /** Keep `frames`, and answers nobody drains (see keepRecords). */
  private recordsKept = true;
  private attached = false;
  private pageIdValue = 0;
  private faultNext: HalStatus | null = null;

  /** Every accepted frame, in order. */
  readonly frames: DwinFrameSim[] = [];
  /** Protocol violations seen (bad CRC, junk before a header, odd word data...). */
  readonly errors: string[] = [];
  /** Bytes received over the link, including junk. */
  bytesReceived = 0;

  constructor(readonly project: DwinProjectSim = DWIN_PROJECT_SIM_DEFAULT) {}

  /** Makes the next `write` fail with `status` without delivering its bytes. */
  injectWriteFault(status: HalStatus): void {
    this.faultNext = status;
  }

  /** Receives bytes from the host; frames may arrive split across writes or several per write. */
  write(bytes: Uint8Array): Promise<HalResult<void>> {
    if (this.faultNext !== null) {
      const status = this.faultNext;
      this.faultNext = null;
      return Promise.resolve(halErr(status, 'injected display link fault'));
    }
    this.receive(bytes);
    return Promise.resolve(halOk(undefined));
  }

  /**
   * Puts the emulator on the device end of a simulated UART (createSerialLinkPairSim): bytes
   * arriving there feed the parser, and the display's answers are written back to the host,
   * paced like any other bytes on that line.
   */
  attach(device: SerialLink): void {
    this.attached = true;
    device.setReceiver((bytes) => {
      this.receive(bytes);
      const answers = this.takeOutput();
      // Not awaited: a display answers while the host keeps sending, like a real UART peer.
      if (answers.length > 0) void device.write(answers);
    });
  }

  /**
   * Whether `frames` records every accepted frame and, when written directly (not `attach`ed),
   * the answers wait for `takeOutput` (default true). A run that never reads them (the swarm)
   * turns this off so that they do not grow for as long as the board runs; parsing, the
   * screen memory, the page and `errors` are the same either way.
   */
  keepRecords(keep: boolean): void {
    this.recordsKept = keep;
    if (!keep) {
      this.frames.length = 0;
      if (!this.attached) this.output = [];
    }
  }

  private receive(bytes: Uint8Array): void {
    this.bytesReceived += bytes.length;
    let buffer = bytes;
    if (this.pending.length > 0) {
      buffer = new Uint8Array(this.pending.length + bytes.length);
      buffer.set(this.pending);
      buffer.set(bytes, this.pending.length);
    }
    this.pending = this.parse(buffer);
  }

  /** Bytes the display sent back (the "OK" answers and read replies), draining them. */
  takeOutput(): Uint8Array {
    const out = Uint8Array.from(this.output);
    this.output = [];
    return out;
  }

  get pageId(): number {
    return this.pageIdValue;
  }

  /** Raw visible text of a control: GBK decoded up to the 0xFFFF end word or its capacity. */
  textAt(vp: number, capacityBytes: number): string {
    const bytes: number[] = [];
    for (let at = 0; at + 1 < capacityBytes; at += 2) {
      const high = this.memory[(vp * 2 + at) % this.memory.length] ?? 0;
      const low = this.memory[(vp * 2 + at + 1) % this.memory.length] ?? 0;
      if (high === 0xff && low === 0xff) break;
      // Fresh memory is zero; a real text control shows nothing for it, nor do we.
      if (high === 0x00 && low === 0x00) break;
      bytes.push(high, low);
    }
    try {
      return gbkDecoder().decode(Uint8Array.from(bytes));
    } catch {
      this.errors.push(`text at VP ${hex4(vp)} is not valid GBK`);
      return '\uFFFD';
    }
  }

  snapshot(): DwinScreenSnapshot {
    const texts: Record<string, string> = {};
    for (const variable of this.project.textVariables) {
      texts[variable.name] = this.textAt(variable.vp, variable.capacityBytes).trimEnd();
    }
    const page = this.project.pages.find((p) => p.id === this.pageIdValue);
    return { pageId: this.pageIdValue, pageName: page?.name ?? `page${this.pageIdValue}`, texts };
  }

  /** A printable picture of the screen for the simulator's tap printout. */
  render(): string {
    const shot = this.snapshot();
    const lines = [`[DWIN page ${shot.pageId} ${shot.pageName}]`];
    for (const variable of this.project.textVariables) {
      const text = shot.texts[variable.name] ?? '';
      if (text !== '') lines.push(`  ${variable.name.padEnd(8)}${text}`);
    }
    return lines.join('\n');
  }

  /**
   * Handles every whole frame in `buffer` (frames are handled from views into it: nothing
   * keeps one) and returns the bytes to keep for the next write, a copy.
   */
  private parse(buffer: Uint8Array): Uint8Array {
    let at = 0;
    for (;;) {
      const start = findHeader(buffer, at);
      if (start > at) {
        this.errors.push(`${start - at} junk byte(s) before a frame header`);
        at = start;
      }
      if (start < 0) {
        // Keep a lone trailing 0x5A: it may be the first half of the next header.
        const keep = at < buffer.length && buffer[buffer.length - 1] === HEADER_HIGH_5A ? 1 : 0;
        const junk = buffer.length - at - keep;
        if (junk > 0) this.errors.push(`${junk} junk byte(s) without a frame header`);
        return keep === 1 ? Uint8Array.of(HEADER_HIGH_5A) : NO_BYTES;
      }
      // Bounded: a header, LEN and at most 255 counted bytes (LEN is one byte).
      if (buffer.length - at < 3) return buffer.slice(at);
      const length = buffer[at + 2] ?? 0;
      if (buffer.length - at < 3 + length) return buffer.slice(at);
      const body = buffer.subarray(at + 3, at + 3 + length);
      at += 3 + length;
      this.handleBody(body);
    }
  }

  private handleBody(frameBody: Uint8Array): void {
    let body = frameBody;
    if (this.project.crc) {
      if (body.length < 3) {
        this.errors.push('frame too short for a CRC');
        return;
      }
      const payload = body.subarray(0, body.length - 2);
      const sent = (body[body.length - 2] ?? 0) | ((body[body.length - 1] ?? 0) << 8);
      if (crc16ModbusSim(payload) !== sent) {
        this.errors.push('CRC mismatch: frame dropped');
        return;
      }
      body = payload;
    }
    const cmd = body[0];
    if (body.length < 3) {
      this.errors.push('frame shorter than CMD + VP');
      return;
    }
    const vp = ((body[1] ?? 0) << 8) | (body[2] ?? 0);
    const data = body.subarray(3);
    if (cmd === CMD_82_WRITE) this.handleWrite(vp, data);
    else if (cmd === CMD_83_READ) this.handleRead(vp, data);
    else this.errors.push(`unsupported command 0x${(cmd ?? 0).toString(16)}`);
  }

  private handleWrite(vp: number, data: Uint8Array): void {
    if (data.length === 0 || data.length % 2 !== 0) {
      this.errors.push(`write to VP ${hex4(vp)}: ${data.length} bytes is not whole words`);
      return;
    }
    if (this.recordsKept) {
      this.frames.push({ cmd: CMD_82_WRITE, vp, data: Uint8Array.from(data) });
    }
    for (let i = 0; i < data.length; i++) {
      this.memory[(vp * 2 + i) % this.memory.length] = data[i] ?? 0;
    }
    this.checkTextOverrun(vp, data.length / 2);
    this.runPageSet();
    this.reply([CMD_82_WRITE, 0x4f, 0x4b]);
  }

  private handleRead(vp: number, data: Uint8Array): void {
    const words = data[0] ?? 0;
    if (data.length !== 1 || words === 0) {
      this.errors.push(`read at VP ${hex4(vp)}: bad length field`);
      return;
    }
    if (this.recordsKept) {
      this.frames.push({ cmd: CMD_83_READ, vp, data: Uint8Array.from(data) });
    }
    const answer = [CMD_83_READ, vp >> 8, vp & 0xff, words];
    for (let i = 0; i < words * 2; i++) {
      answer.push(this.memory[(vp * 2 + i) % this.memory.length] ?? 0);
    }
    this.reply(answer);
  }

  /** A write that starts inside a text control must not run past its Text_length. */
  private checkTextOverrun(vp: number, words: number): void {
    for (const variable of this.project.textVariables) {
      const endWord = variable.vp + variable.capacityBytes / 2;
      if (vp >= variable.vp && vp < endWord && vp + words > endWord) {
        this.errors.push(`write overruns text control ${variable.name}`);
      }
    }
  }

  /** The display's CPU acts on PIC_Set when its first byte is 0x5A, then clears that byte. */
  private runPageSet(): void {
    const at = VP_0084_PIC_SET * 2;
    if (this.memory[at] !== 0x5a) return;
    const mode = this.memory[at + 1];
    if (mode === 0x01) {
      this.pageIdValue = ((this.memory[at + 2] ?? 0) << 8) | (this.memory[at + 3] ?? 0);
    } else {
      this.errors.push(`PIC_Set mode 0x${(mode ?? 0).toString(16)} not emulated`);
    }
    this.memory[at] = 0x00;
  }

  private reply(body: number[]): void {
    // Nobody reads the answers of a display written directly with records off.
    if (!this.recordsKept && !this.attached) return;
    const withCrc = [...body];
    if (this.project.crc) {
      const crc = crc16ModbusSim(Uint8Array.from(body));
      withCrc.push(crc & 0xff, crc >> 8);
    }
    this.output.push(HEADER_HIGH_5A, HEADER_LOW_A5, withCrc.length, ...withCrc);
  }
}

/** Index of the first 5A A5 in `buffer` at or after `from`, or -1. */
function findHeader(buffer: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buffer.length; i++) {
    if (buffer[i] === HEADER_HIGH_5A && buffer[i + 1] === HEADER_LOW_A5) return i;
  }
  return -1;
}

/** CRC-16/MODBUS (poly 0x8005 reflected = 0xA001, init 0xFFFF), computed table-free. */
export function crc16ModbusSim(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function hex4(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}
