// The reader data port over PC/SC for ACR122U-class contactless readers: card presence from
// PC/SC status changes, APDUs through SCardTransmit, the UID from the PC/SC GET DATA command.
//
// PC/SC hides ISO 14443-3: the reader does anticollision itself and presents one card with an
// ATR built per PC/SC Part 3, 3.1.3.2.3 (ISO 14443-4: `3B 8n 80 01` ‖ historical bytes of the
// ATS (type A) or ATQB application data (type B) ‖ TCK). ATQA and SAK are not reported, so a
// type A card is given ATQA 0000 and SAK 20 (ISO-DEP, which the Part 3 ATR implies), and `ats`
// holds only the ATS's historical bytes (TL, T0 and the interface bytes are not reported).

import { clockTimer } from '../ports/clock_port.js';
import type { ClockPort } from '../ports/clock_port.js';
import { HalStatus, halErr, halOk } from '../ports/hal_status.js';
import type { HalResult } from '../ports/hal_status.js';
import type {
  DetectedCard,
  PollOptions,
  PollResult,
  ReaderPort,
  RemovalOptions,
  TransceiveOptions,
} from '../ports/reader_port.js';
import { pcscErrorStatus } from './pcsc_binding.js';
import type { PcscCardReader } from './pcsc_binding.js';
import type { PcscReaders } from './pcsc_readers.js';
import { RAPDU_BYTES_MAX } from './iso7816_t0_response.js';

/** PC/SC Part 3, 3.2.2.1.3: GET DATA, P1 00 = UID of the card in the field. */
export const PCSC_GET_UID = Uint8Array.of(0xff, 0xca, 0x00, 0x00, 0x00);

/** Options of a PC/SC contactless reader; every field explicit. */
export interface PcscReaderOptions {
  /** Reader name or a prefix of it. */
  readonly readerName: string;
  readonly readers: PcscReaders;
  readonly clock: ClockPort;
  /** How often a poll or a removal wait looks at the PC/SC status, ms. */
  readonly statusIntervalMs: number;
}

interface Session {
  readonly reader: PcscCardReader;
  readonly protocol: number;
  readonly atr: Uint8Array;
  readonly uid: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The historical bytes of a PC/SC Part 3 contactless ATR (`3B 8n 80 01` ‖ n bytes ‖ TCK). */
export function pcscAtrHistoricalBytes(atr: Uint8Array): Uint8Array | null {
  const t0 = atr[1] ?? 0;
  const n = t0 & 0x0f;
  if (atr[0] !== 0x3b || (t0 & 0xf0) !== 0x80 || atr[2] !== 0x80 || atr[3] !== 0x01) return null;
  if (atr.length !== 4 + n + 1) return null;
  return atr.slice(4, 4 + n);
}

/**
 * A contactless card in a PC/SC reader as a ReaderPort. `poll` never reports 'several' (PC/SC
 * readers resolve collisions themselves and present one card). See ReaderPort for the errors;
 * READER_IO also covers the reader absent from PC/SC.
 */
export class PcscReader implements ReaderPort {
  private readonly options: PcscReaderOptions;
  private session: Session | null = null;
  private last: { atr: Uint8Array; uid: Uint8Array } | null = null;
  private busy = false;
  private cancelled = false;

  constructor(options: PcscReaderOptions) {
    this.options = options;
  }

  async poll(options: PollOptions): Promise<HalResult<PollResult>> {
    return this.exclusive(async () => {
      await this.disconnect(this.session?.reader.SCARD_LEAVE_CARD ?? 0);
      this.last = null;
      const deadline = this.options.clock.nowMs() + options.timeoutMs;
      for (;;) {
        const present = this.present();
        if (!present.ok) return present;
        if (present.value !== null) break;
        if (this.options.clock.nowMs() >= deadline) return halOk<PollResult>({ kind: 'none' });
        const stop = await this.pause();
        if (stop !== null) return stop;
      }
      return this.activate(options.timeoutMs);
    });
  }

  async transceive(capdu: Uint8Array, options: TransceiveOptions): Promise<HalResult<Uint8Array>> {
    return this.exclusive(async () => {
      const session = this.session;
      if (session === null) return halErr(HalStatus.NOT_SUPPORTED, 'no card activated');
      const result = await this.timed(options.timeoutMs, this.raw(session, capdu));
      if (!result.ok && result.error !== HalStatus.PROTOCOL) await this.disconnect(0);
      return result;
    });
  }

  async release(): Promise<HalResult<void>> {
    return this.exclusive(async () => {
      await this.disconnect(this.session?.reader.SCARD_LEAVE_CARD ?? 0);
      return halOk(undefined);
    });
  }

  async isCardPresent(): Promise<HalResult<boolean>> {
    return this.exclusive(() => Promise.resolve(this.samePresent()));
  }

  async waitForRemoval(options: RemovalOptions): Promise<HalResult<void>> {
    return this.exclusive(async () => {
      const deadline = this.options.clock.nowMs() + options.timeoutMs;
      for (;;) {
        const same = this.samePresent();
        if (!same.ok) return same;
        if (!same.value) return halOk(undefined);
        if (this.options.clock.nowMs() >= deadline)
          return halErr(HalStatus.TIMEOUT, 'card still there');
        await this.options.clock.sleepMs(options.intervalMs);
        if (this.cancelled) return halErr(HalStatus.CANCELLED, 'cancelled');
      }
    });
  }

  cancel(): void {
    if (this.busy) this.cancelled = true;
  }

  private async exclusive<T>(work: () => Promise<HalResult<T>>): Promise<HalResult<T>> {
    if (this.busy) return halErr(HalStatus.BUSY, 'reader operation pending');
    this.busy = true;
    this.cancelled = false;
    try {
      return await work();
    } finally {
      this.busy = false;
      this.cancelled = false;
    }
  }

  private async pause(): Promise<HalResult<PollResult> | null> {
    await this.options.clock.sleepMs(this.options.statusIntervalMs);
    return this.cancelled ? halErr(HalStatus.CANCELLED, 'cancelled') : null;
  }

  /** The reader and its ATR when a card is present; null value when the field is empty. */
  private present(): HalResult<{ reader: PcscCardReader; atr: Uint8Array } | null> {
    const reader = this.options.readers.find(this.options.readerName);
    const status = this.options.readers.status(this.options.readerName);
    if (reader === null || status === null) {
      return halErr(HalStatus.READER_IO, `PC/SC reader "${this.options.readerName}" absent`);
    }
    const present = (status.state & reader.SCARD_STATE_PRESENT) !== 0;
    const mute = (status.state & reader.SCARD_STATE_MUTE) !== 0;
    return halOk(present && !mute ? { reader, atr: status.atr } : null);
  }

  /** True while the last activated card (same ATR) is in the field. */
  private samePresent(): HalResult<boolean> {
    const last = this.last;
    if (last === null) return halErr(HalStatus.NOT_SUPPORTED, 'no card since the last poll');
    const present = this.present();
    if (!present.ok) return present;
    return halOk(present.value !== null && sameBytes(present.value.atr, last.atr));
  }

  private async activate(timeoutMs: number): Promise<HalResult<PollResult>> {
    const reader = this.options.readers.find(this.options.readerName);
    if (reader === null) return halErr(HalStatus.READER_IO, 'reader vanished');
    const connected = await this.timed(timeoutMs, this.connect(reader));
    if (!connected.ok)
      return connected.error === HalStatus.CARD_GONE ? halOk({ kind: 'none' }) : connected;
    const atr = this.options.readers.status(reader.name)?.atr ?? new Uint8Array(0);
    const probe: Session = { reader, protocol: connected.value, atr, uid: new Uint8Array(0) };
    const uidAnswer = await this.timed(timeoutMs, this.raw(probe, PCSC_GET_UID));
    if (!uidAnswer.ok)
      return uidAnswer.error === HalStatus.CARD_GONE ? halOk({ kind: 'none' }) : uidAnswer;
    const u = uidAnswer.value;
    const uid =
      u.length >= 2 && u[u.length - 2] === 0x90 ? u.slice(0, u.length - 2) : new Uint8Array(0);
    this.session = { ...probe, uid };
    this.last = { atr, uid };
    return halOk({ kind: 'one', card: detectedCard(atr, uid) });
  }

  private connect(reader: PcscCardReader): Promise<HalResult<number>> {
    return new Promise((resolve) => {
      const options = { share_mode: reader.SCARD_SHARE_SHARED, protocol: reader.SCARD_PROTOCOL_T1 };
      reader.connect(options, (err, protocol) => {
        if (err !== null && err !== undefined) resolve(halErr(pcscErrorStatus(err), err.message));
        else if (!Number.isInteger(protocol)) resolve(halErr(HalStatus.PROTOCOL, 'no protocol'));
        else resolve(halOk(protocol));
      });
    });
  }

  private raw(session: Session, capdu: Uint8Array): Promise<HalResult<Uint8Array>> {
    return new Promise((resolve) => {
      session.reader.transmit(
        Buffer.from(capdu),
        RAPDU_BYTES_MAX,
        session.protocol,
        (err, data) => {
          if (err !== null && err !== undefined) resolve(halErr(pcscErrorStatus(err), err.message));
          else if (data.length === 0) resolve(halErr(HalStatus.CARD_GONE, 'card answered nothing'));
          else if (data.length < 2) resolve(halErr(HalStatus.PROTOCOL, 'answer shorter than SW'));
          else resolve(halOk(new Uint8Array(data)));
        },
      );
    });
  }

  private async timed<T>(timeoutMs: number, work: Promise<HalResult<T>>): Promise<HalResult<T>> {
    const timer = clockTimer(this.options.clock, timeoutMs);
    const late = timer.done.then(() =>
      halErr<T>(HalStatus.TIMEOUT, `no answer in ${timeoutMs} ms`),
    );
    try {
      return await Promise.race([work, late]);
    } finally {
      timer.cancel();
    }
  }

  private disconnect(disposition: number): Promise<void> {
    const reader = this.session?.reader ?? null;
    this.session = null;
    if (reader === null || !reader.connected) return Promise.resolve();
    return new Promise((resolve) => {
      reader.disconnect(disposition, () => {
        reader.connected = false;
        resolve();
      });
    });
  }
}

/** What PC/SC tells of the card, in the port's terms (see the file comment for the gaps). */
function detectedCard(atr: Uint8Array, uid: Uint8Array): DetectedCard {
  const historical = pcscAtrHistoricalBytes(atr) ?? new Uint8Array(0);
  return {
    technology: 'ISO14443A',
    uid,
    atqa: new Uint8Array(2),
    sak: 0x20,
    ats: historical,
    isoDep: true,
  };
}
