// The emulated gate controller as a Modbus RTU slave on a serial link (a pty end in tests).

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { SerialLink } from '../../../hal/src/ports/serial_link.js';
import {
  EXCEPTION_01_ILLEGAL_FUNCTION,
  RTU_ADU_BYTES_MAX,
  rtuCrcValid,
  rtuFrame,
  rtuRequestBytes,
} from './modbus_rtu_frame.js';
import type { TurnstileControllerSim } from './turnstile_controller_sim.js';

/** Faults the emulator can inject (the master's error paths). */
export interface TurnstileSlaveFaults {
  /** Answer nothing: a controller without power or on another address. */
  silent: boolean;
  /** Flip a bit of each answer's CRC: noise on the RS-485 pair. */
  corruptCrc: boolean;
}

/** Options of the slave; every field explicit. */
export interface TurnstileModbusSlaveOptions {
  readonly unitId: number;
  /**
   * A gap longer than this between bytes ends a frame (3.5 character times, at least 1.75 ms
   * above 19,200 baud; Modbus over Serial Line 2.5.1.1). Bytes buffered before it are dropped.
   */
  readonly interFrameSilenceMs: number;
  readonly clock: ClockPort;
}

/** Counts of what the slave saw, for tests and the bench. */
export interface TurnstileSlaveStats {
  requests: number;
  answered: number;
  crcErrors: number;
  otherUnit: number;
}

/** A Modbus RTU slave serving `controller` on `link`. */
export class TurnstileModbusSlave {
  readonly faults: TurnstileSlaveFaults = { silent: false, corruptCrc: false };
  readonly stats: TurnstileSlaveStats = { requests: 0, answered: 0, crcErrors: 0, otherUnit: 0 };
  private buffered = new Uint8Array(0);
  private lastByteMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly link: SerialLink,
    private readonly controller: TurnstileControllerSim,
    private readonly options: TurnstileModbusSlaveOptions,
  ) {
    link.setReceiver((bytes) => this.receive(bytes));
  }

  /** Stops serving (the link stays open; its owner closes it). */
  detach(): void {
    this.link.setReceiver(undefined);
  }

  private receive(bytes: Uint8Array): void {
    const nowMs = this.options.clock.nowMs();
    const silenceMs = nowMs - this.lastByteMs;
    if (silenceMs > this.options.interFrameSilenceMs) this.buffered = new Uint8Array(0);
    this.lastByteMs = nowMs;
    const joined = new Uint8Array(this.buffered.length + bytes.length);
    joined.set(this.buffered);
    joined.set(bytes, this.buffered.length);
    this.buffered = joined.length > RTU_ADU_BYTES_MAX ? new Uint8Array(0) : joined;
    this.drain();
  }

  /** Serves every complete request buffered; keeps a partial one. */
  private drain(): void {
    for (let frames = 0; frames < RTU_ADU_BYTES_MAX; frames += 1) {
      const need = rtuRequestBytes(this.buffered);
      if (need === null) return;
      if (need === 'unknown') {
        // Length unknown: the whole buffer is the frame once its CRC checks.
        if (!rtuCrcValid(this.buffered)) return;
        this.serve(this.buffered, true);
        this.buffered = new Uint8Array(0);
        return;
      }
      if (this.buffered.length < need) return;
      const adu = this.buffered.slice(0, need);
      if (!rtuCrcValid(adu)) {
        // 2.5.1.2: a frame with a bad CRC is discarded; resynchronise on the next silence.
        this.stats.crcErrors += 1;
        this.buffered = new Uint8Array(0);
        return;
      }
      this.buffered = this.buffered.slice(need);
      this.serve(adu, false);
    }
  }

  private serve(adu: Uint8Array, unknownFunction: boolean): void {
    this.stats.requests += 1;
    const unit = adu[0] ?? 0;
    const broadcast = unit === 0;
    if (unit !== this.options.unitId && !broadcast) {
      this.stats.otherUnit += 1;
      return;
    }
    const pdu = adu.subarray(1, adu.length - 2);
    const answer = unknownFunction
      ? Uint8Array.of(((pdu[0] ?? 0) | 0x80) & 0xff, EXCEPTION_01_ILLEGAL_FUNCTION)
      : this.controller.answer(pdu);
    // 2.1: a broadcast request is executed and never answered.
    if (broadcast || this.faults.silent) return;
    const frame = rtuFrame(this.options.unitId, answer);
    if (this.faults.corruptCrc) frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0x01;
    this.stats.answered += 1;
    void this.link.write(frame);
  }
}
