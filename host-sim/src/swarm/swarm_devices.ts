// Device twins the swarm composes around the stock simulator parts (no edits to them):
// a reader link that can be unplugged, a wall clock that can jump, line noise that comes and
// goes, and a rider-facing indicator kept in memory.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../../../hal/src/ports/hal_status.js';
import type { IndicatorPort, IndicatorSignal } from '../../../hal/src/ports/indicator_port.js';
import type { SerialLink, SerialReceiver } from '../../../hal/src/ports/serial_link.js';
import type { Prng } from '../prng.js';
import type { SerialLineFaults } from '../serial_link_sim.js';
import type { ClockSim } from '../clock_sim.js';

/**
 * The host end of the reader's USB serial adapter. Unplugged, every write fails with
 * READER_IO (the kernel's ENODEV) and nothing arrives; plugged back, bytes flow again (the
 * PN532 behind it lost power: the caller power-cycles the emulator).
 */
export class PlugLink implements SerialLink {
  private plugged = true;
  private receiver: SerialReceiver | undefined;

  constructor(private readonly inner: SerialLink) {
    this.path = inner.path;
    inner.setReceiver((bytes) => {
      if (this.plugged) this.receiver?.(bytes);
    });
  }

  readonly path: string;

  isPlugged(): boolean {
    return this.plugged;
  }

  unplug(): void {
    this.plugged = false;
  }

  plugIn(): void {
    this.plugged = true;
  }

  baudRate(): number {
    return this.inner.baudRate();
  }

  setReceiver(receiver: SerialReceiver | undefined): void {
    this.receiver = receiver;
  }

  write(bytes: Uint8Array): Promise<HalResult<void>> {
    if (!this.plugged) return Promise.resolve(gone());
    return this.inner.write(bytes);
  }

  discardInput(): Promise<HalResult<void>> {
    if (!this.plugged) return Promise.resolve(gone());
    return this.inner.discardInput();
  }

  setBaudRate(baudRate: number): Promise<HalResult<void>> {
    if (!this.plugged) return Promise.resolve(gone());
    return this.inner.setBaudRate(baudRate);
  }

  close(): Promise<HalResult<void>> {
    return this.inner.close();
  }
}

function gone(): HalResult<void> {
  return halErr(HalStatus.READER_IO, 'serial device is gone (unplugged)');
}

/**
 * The board's clock: monotonic time from the ClockSim, wall time from it plus an offset that
 * `jumpWallMs` moves (an RTC set by hand, NTP stepping, a flat RTC battery after a reboot).
 */
export class JumpClock implements ClockPort {
  private offsetMs = 0;

  constructor(readonly sim: ClockSim) {}

  nowMs(): number {
    return this.sim.nowMs();
  }

  wallMs(): number {
    return this.sim.wallMs() + this.offsetMs;
  }

  sleepMs(durationMs: number): Promise<void> {
    return this.sim.sleepMs(durationMs);
  }

  jumpWallMs(deltaMs: number): void {
    this.offsetMs += deltaMs;
  }
}

/** Line faults whose ratios the swarm turns up and down between taps. */
export interface NoiseControl extends SerialLineFaults {
  lossRatio: number;
  corruptRatio: number;
}

export function noiseControl(prng: Prng): NoiseControl {
  return { prng, lossRatio: 0, corruptRatio: 0 };
}

/** An indicator that records the last signal and plays it instantly (no sysfs tree). */
export function memoryIndicator(): IndicatorPort & { last(): IndicatorSignal | null } {
  let last: IndicatorSignal | null = null;
  const ok = (): Promise<HalResult<void>> => Promise.resolve(halOk(undefined));
  return {
    signal: (signal) => {
      last = signal;
      return ok();
    },
    whenDone: ok,
    last: () => last,
  };
}
