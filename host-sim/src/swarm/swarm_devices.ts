// Device twins the swarm composes around the stock simulator parts (no edits to them):
// a reader link that can be unplugged, a wall clock that can jump, line noise that comes and
// goes, a rider-facing indicator kept in memory, and the PSAM's slot with its faults.

import type { ClockAlarm, ClockPort, ClockTimer } from '../../../hal/src/ports/clock_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../../../hal/src/ports/hal_status.js';
import type { IndicatorPort, IndicatorSignal } from '../../../hal/src/ports/indicator_port.js';
import type { ReaderPort } from '../../../hal/src/ports/reader_port.js';
import type { SerialLink, SerialReceiver } from '../../../hal/src/ports/serial_link.js';
import type { Prng } from '../prng.js';
import type { PsamEmulator } from '../psam/psam_emulator.js';
import type { PsamExchangeFault, PsamSlotFaults } from '../psam/psam_port_sim.js';
import type { SerialLineFaults } from '../serial_link_sim.js';
import type { ClockSim } from '../clock_sim.js';

/**
 * The reader's USB serial adapter as the board's reopenable link sees it (the twin of
 * hal/src/serial/reopenable_serial_link.ts over a simulated tty). Unplugging hangs up the open
 * device: the loss listener is told at once (the driver's `linkLost`, as the kernel's hang-up
 * on a tty), and every operation fails with READER_IO (ENODEV) until `reopen` succeeds, which
 * it does only once the adapter is back (a new tty, at the PN532's power-on 115200 baud).
 * Plugging back alone brings nothing back: the board must reopen.
 */
export class PlugLink implements SerialLink {
  private plugged = true;
  private lostDetail: string | null = null;
  private lostListener: ((detail: string) => void) | undefined;
  private receiver: SerialReceiver | undefined;

  constructor(
    private readonly inner: SerialLink,
    private readonly powerOnBaud: number,
  ) {
    this.path = inner.path;
    inner.setReceiver((bytes) => {
      if (this.lostDetail === null) this.receiver?.(bytes);
    });
  }

  readonly path: string;

  isPlugged(): boolean {
    return this.plugged;
  }

  /** Why the open device is gone, or null while it works. */
  lost(): string | null {
    return this.lostDetail;
  }

  /** Installs the one loss listener (the reader driver's `linkLost`). */
  onLost(listener: ((detail: string) => void) | undefined): void {
    this.lostListener = listener;
  }

  unplug(): void {
    this.plugged = false;
    if (this.lostDetail !== null) return;
    this.lostDetail = 'serial device hung up (USB unplugged)';
    this.lostListener?.(this.lostDetail);
  }

  plugIn(): void {
    this.plugged = true;
  }

  /** Opens the device again. Errors: READER_IO (not plugged in), as the inner link's. */
  async reopen(): Promise<HalResult<void>> {
    if (!this.plugged) return halErr(HalStatus.READER_IO, 'no such device (still unplugged)');
    const speed = await this.inner.setBaudRate(this.powerOnBaud);
    if (!speed.ok) return speed;
    this.lostDetail = null;
    return halOk(undefined);
  }

  baudRate(): number {
    return this.inner.baudRate();
  }

  setReceiver(receiver: SerialReceiver | undefined): void {
    this.receiver = receiver;
  }

  write(bytes: Uint8Array): Promise<HalResult<void>> {
    if (this.lostDetail !== null) return Promise.resolve(gone());
    return this.inner.write(bytes);
  }

  discardInput(): Promise<HalResult<void>> {
    if (this.lostDetail !== null) return Promise.resolve(gone());
    return this.inner.discardInput();
  }

  setBaudRate(baudRate: number): Promise<HalResult<void>> {
    if (this.lostDetail !== null) return Promise.resolve(gone());
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

  sleepCancelable(durationMs: number): ClockTimer {
    return this.sim.sleepCancelable(durationMs);
  }

  alarm(onFire: () => void): ClockAlarm {
    return this.sim.alarm(onFire);
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

/**
 * The reader as the validator sees it, counting the operations under way: `busy` is false
 * only between two of them (the validator sleeping between polls, or doing other work).
 */
export function busyTrackedReader(inner: ReaderPort): { reader: ReaderPort; busy: () => boolean } {
  let running = 0;
  // Made once, not per operation: they depend on nothing but the count.
  const settled = <T>(result: T): T => {
    running -= 1;
    return result;
  };
  const failed = (error: unknown): never => {
    running -= 1;
    throw error;
  };
  const track = <T>(operation: Promise<T>): Promise<T> => {
    running += 1;
    // then, not finally: the same count with two promises fewer per reader operation.
    return operation.then(settled, failed);
  };
  const reader: ReaderPort = {
    poll: (options) => track(inner.poll(options)),
    transceive: (capdu, options) => track(inner.transceive(capdu, options)),
    release: () => track(inner.release()),
    isCardPresent: () => track(inner.isCardPresent()),
    waitForRemoval: (options) => track(inner.waitForRemoval(options)),
    cancel: () => inner.cancel(),
  };
  return { reader, busy: () => running > 0 };
}

/**
 * The PSAM's slot as every board finds it (the PSAM outlives the boards, as a card does):
 * the PSAM pulled out for a while and put back, and the fault of one exchange, armed for the
 * tap under way (psam_port_sim.ts says how each fails). Each board's PsamPortSim asks it.
 * A pulled PSAM is back at a time of the board's clock, not by a sleeper: a quiet gap's frozen
 * skip (ClockSim.skipFrozen) moves the time past it as it moves every deadline, and nothing
 * looks at the slot while the validator idles.
 */
export class PsamSlotTwin implements PsamSlotFaults {
  private out: { clock: ClockPort; untilMs: number } | null = null;
  /** How long the next board finds the slot empty from its boot (0: the PSAM is in). */
  private outAtBootMs = 0;
  private armed: { ins: number; fault: PsamExchangeFault; outMs: number; clock: ClockPort }
    | null = null;

  /** `fired`: told at each fault that happens (a pull, an exchange that fails). */
  constructor(
    private readonly psam: PsamEmulator,
    private readonly fired: () => void,
  ) {}

  inserted(): boolean {
    const out = this.out;
    if (out !== null && out.clock.nowMs() >= out.untilMs) this.out = null;
    return this.out === null;
  }

  /**
   * The next exchange of command `ins` (CLA 80) fails with `fault`, then a 'card-gone' leaves
   * the slot empty for `outMs` of `clock`. Until `disarm`: a tap that never gets there (a bank
   * card, a refusal, a card pulled before) spends nothing.
   */
  arm(ins: number, fault: PsamExchangeFault, outMs: number, clock: ClockPort): void {
    this.armed = { ins, fault, outMs, clock };
  }

  disarm(): void {
    this.armed = null;
  }

  exchange(capdu: Uint8Array): PsamExchangeFault | null {
    const armed = this.armed;
    if (armed === null || capdu[0] !== 0x80 || capdu[1] !== armed.ins) return null;
    this.armed = null;
    this.fired();
    if (armed.fault.kind === 'card-gone' && armed.outMs > 0) {
      this.takeOut(armed.clock, armed.outMs);
    }
    return armed.fault;
  }

  /** Pulls the PSAM out (unpowered) until `forMs` of `clock` from now. */
  pull(clock: ClockPort, forMs: number): void {
    if (this.inserted()) this.fired();
    this.takeOut(clock, forMs);
  }

  /** Back in its slot now, unpowered until the firmware powers it on. */
  putBack(): void {
    this.out = null;
    this.outAtBootMs = 0;
  }

  /**
   * The next board boots with the slot empty, for `forMs` of its own clock (a technician's
   * PSAM out across the reboot, a dead PSAM replaced later): its start must not wait on it.
   */
  outAtNextBoot(forMs: number): void {
    this.outAtBootMs = forMs;
  }

  /**
   * At a board's boot, before its PSAM is opened: true when the slot starts empty. Once per
   * drawn boot: a watchdog's next attempt finds the PSAM in (an out timed by a clock that
   * stopped with a failed boot would never end).
   */
  bootOn(clock: ClockPort): boolean {
    const forMs = this.outAtBootMs;
    this.outAtBootMs = 0;
    if (forMs <= 0) {
      this.out = null;
      return false;
    }
    this.pull(clock, forMs);
    return true;
  }

  private takeOut(clock: ClockPort, forMs: number): void {
    this.out = { clock, untilMs: clock.nowMs() + forMs };
    this.psam.powerOff();
  }
}
