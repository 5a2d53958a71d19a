// The PSAM port over PC/SC: a contact slot of a PC/SC reader (a validator board's SAM slot or a
// desktop reader), T=0 answers made whole, a pulled card or a vanished reader reported as such.

import { clockTimer } from '../ports/clock_port.js';
import type { ClockPort } from '../ports/clock_port.js';
import { HalStatus, halErr, halOk } from '../ports/hal_status.js';
import type { HalResult } from '../ports/hal_status.js';
import type {
  PsamPort,
  PsamPowerOptions,
  PsamSlotState,
  PsamTransmitOptions,
} from '../ports/psam_port.js';
import { pcscErrorStatus } from './pcsc_binding.js';
import type { PcscCardReader } from './pcsc_binding.js';
import type { PcscReaders } from './pcsc_readers.js';
import { CAPDU_BYTES_MAX, RAPDU_BYTES_MAX, transmitT0Complete } from './iso7816_t0_response.js';

/** Options of a PC/SC PSAM; every field explicit. */
export interface PcscPsamOptions {
  /** The reader's name, or a prefix of it ("Shuaka PSAM" matches "Shuaka PSAM 00 00"). */
  readonly readerName: string;
  readonly readers: PcscReaders;
  readonly clock: ClockPort;
  /** 'exclusive' on a validator (nobody else talks to our PSAM); 'shared' for diagnostics. */
  readonly shareMode: 'exclusive' | 'shared';
}

interface Session {
  readonly reader: PcscCardReader;
  readonly protocol: number;
  readonly atr: Uint8Array;
}

/** A PSAM in a PC/SC reader slot. See PsamPort for the errors of each method. */
export class PcscPsam implements PsamPort {
  private readonly options: PcscPsamOptions;
  private session: Session | null = null;
  private busy = false;

  constructor(options: PcscPsamOptions) {
    this.options = options;
    options.readers.onChange(() => {
      const session = this.session;
      if (session !== null && options.readers.find(session.reader.name) !== session.reader) {
        this.session = null; // the reader went away; its handle is dead
      }
    });
  }

  slotState(): PsamSlotState {
    const status = this.options.readers.status(this.options.readerName);
    if (status === null) return { kind: 'reader-absent', detail: this.absentDetail() };
    if (this.session !== null) return { kind: 'powered', atr: this.session.atr };
    const reader = this.options.readers.find(this.options.readerName);
    const present = reader !== null && (status.state & reader.SCARD_STATE_PRESENT) !== 0;
    return present ? { kind: 'present', atr: status.atr } : { kind: 'empty' };
  }

  async powerOn(options: PsamPowerOptions): Promise<HalResult<Uint8Array>> {
    if (this.busy) return halErr(HalStatus.BUSY, 'PSAM operation pending');
    this.busy = true;
    try {
      await this.unpower();
      const reader = this.options.readers.find(this.options.readerName);
      if (reader === null) return halErr(HalStatus.READER_IO, this.absentDetail());
      const status = this.options.readers.status(reader.name);
      if (status === null || (status.state & reader.SCARD_STATE_PRESENT) === 0) {
        return halErr(HalStatus.CARD_GONE, `no card in ${reader.name}`);
      }
      const connected = await this.withTimeout(options.timeoutMs, this.connect(reader));
      if (!connected.ok) return connected;
      const atr = this.options.readers.status(reader.name)?.atr ?? status.atr;
      this.session = { reader, protocol: connected.value, atr };
      return halOk(atr);
    } finally {
      this.busy = false;
    }
  }

  async transmit(capdu: Uint8Array, options: PsamTransmitOptions): Promise<HalResult<Uint8Array>> {
    if (capdu.length < 4 || capdu.length > CAPDU_BYTES_MAX) {
      return halErr(HalStatus.SIZE, `C-APDU of ${capdu.length} bytes`);
    }
    if (this.busy) return halErr(HalStatus.BUSY, 'PSAM operation pending');
    const session = this.session;
    if (session === null) return halErr(HalStatus.CARD_GONE, 'PSAM not powered');
    this.busy = true;
    try {
      const send = (apdu: Uint8Array): Promise<HalResult<Uint8Array>> => this.raw(session, apdu);
      const result = await this.withTimeout(options.timeoutMs, transmitT0Complete(send, capdu));
      if (!result.ok && result.error !== HalStatus.PROTOCOL && result.error !== HalStatus.SIZE) {
        await this.unpower(); // card gone, reader gone or timed out: power on again
      }
      return result;
    } finally {
      this.busy = false;
    }
  }

  async powerOff(): Promise<HalResult<void>> {
    await this.unpower();
    return halOk(undefined);
  }

  private absentDetail(): string {
    const names = this.options.readers.names();
    const listed = names.length === 0 ? 'no readers' : `readers: ${names.join(', ')}`;
    return `PC/SC reader "${this.options.readerName}" absent (${listed})`;
  }

  private connect(reader: PcscCardReader): Promise<HalResult<number>> {
    const share =
      this.options.shareMode === 'exclusive'
        ? reader.SCARD_SHARE_EXCLUSIVE
        : reader.SCARD_SHARE_SHARED;
    const protocol = reader.SCARD_PROTOCOL_T0 | reader.SCARD_PROTOCOL_T1;
    return new Promise((resolve) => {
      reader.connect({ share_mode: share, protocol }, (err, chosen) => {
        if (err !== null && err !== undefined) {
          resolve(halErr(pcscErrorStatus(err), err.message));
        } else if (!Number.isInteger(chosen)) {
          resolve(halErr(HalStatus.PROTOCOL, 'PC/SC chose no protocol'));
        } else {
          resolve(halOk(chosen));
        }
      });
    });
  }

  private raw(session: Session, apdu: Uint8Array): Promise<HalResult<Uint8Array>> {
    return new Promise((resolve) => {
      session.reader.transmit(Buffer.from(apdu), RAPDU_BYTES_MAX, session.protocol, (err, data) => {
        if (err !== null && err !== undefined) {
          resolve(halErr(pcscErrorStatus(err), err.message));
        } else if (data.length === 0) {
          // No byte at all: the card is mute or was torn away inside the exchange (vpcd
          // reports a vanished card this way); a short but non-empty answer is PROTOCOL.
          resolve(halErr(HalStatus.CARD_GONE, 'card answered nothing'));
        } else {
          resolve(halOk(new Uint8Array(data)));
        }
      });
    });
  }

  private async withTimeout<T>(
    timeoutMs: number,
    work: Promise<HalResult<T>>,
  ): Promise<HalResult<T>> {
    const timer = clockTimer(this.options.clock, timeoutMs);
    const timedOut = timer.done.then(() =>
      halErr<T>(HalStatus.TIMEOUT, `no answer in ${timeoutMs} ms`),
    );
    try {
      return await Promise.race([work, timedOut]);
    } finally {
      timer.cancel();
    }
  }

  /** Drops the session and the binding's handle (which stays "connected" after a lost card). */
  private unpower(): Promise<void> {
    const reader = this.session?.reader ?? this.options.readers.find(this.options.readerName);
    this.session = null;
    if (reader === null || !reader.connected) return Promise.resolve();
    return new Promise((resolve) => {
      reader.disconnect(reader.SCARD_UNPOWER_CARD, () => {
        reader.connected = false; // a failed disconnect of a lost card leaves nothing to keep
        resolve();
      });
    });
  }
}
