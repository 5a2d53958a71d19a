// A display on a serial device that may vanish (its USB cable pulled, its UART dead): the
// validator reports it, keeps serving riders with the buzzer and LEDs, and reopens the display
// in the background with backoff, showing the current screen again once it is back.
//
// The display is not needed to take a fare (the indicator says approved or declined), so its
// loss must never stop or slow a tap: a show while it is gone fails at once, and a show that
// does not finish within `writeStallMs` (a device gone without a close event) ends with
// TIMEOUT and counts as a loss. An idle display is sent its screen again every `refreshMs`,
// so a display that rebooted shows it again and one gone without a word is found.

import { clockAlarm, type ClockAlarm, type ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { DisplayPort, DisplayScreen } from '../../../hal/src/ports/display_port.js';
import { HalStatus, halErr, type HalResult } from '../../../hal/src/ports/hal_status.js';
import type { LogPort } from '../app/validator/validator_ports.js';
import { reopenDelayMs, type ReopenBackoff } from '../app/validator/reader_recovery.js';

/** The display's serial device, as ReopenableSerialLink offers it. */
export interface DisplayLinkControl {
  /** Why the device is gone, or null while it is there. */
  lost(): string | null;
  /** Called once per loss the device itself reports (read error, hang-up). */
  onLost(listener: ((detail: string) => void) | undefined): void;
  /** Lets go of the device and opens its path again. Errors: READER_IO, BUSY, CANCELLED. */
  reopen(): Promise<HalResult<void>>;
  close(): Promise<HalResult<void>>;
}

/** What the recovering display needs; the board wires the real ones. */
export interface DisplayRecoveryPorts {
  readonly clock: ClockPort;
  readonly log: LogPort;
  /** A sentence for the operator (stderr on a board). */
  readonly err: (line: string) => void;
  /** Jitter source in [0, 1). */
  readonly random01: () => number;
}

export interface DisplayRecoveryOptions {
  /** Path named in reports. */
  readonly path: string;
  /** A show not finished this long after it began counts as a lost display, ms. */
  readonly writeStallMs: number;
  readonly backoff: ReopenBackoff;
  /**
   * An idle display is sent its screen again this often, ms (absent or 0: never): a display
   * that lost power keeps no screen, and a device gone without a hang-up the OS reports is
   * found by the write that fails or stalls. The idle validator writes nothing else.
   */
  readonly refreshMs?: number;
}

/**
 * DisplayPort over a display driver whose serial device may come and go. `driver()` makes a
 * fresh driver on the (reopened) link, so a write stuck on the dead device cannot hold up the
 * new one's queue.
 */
export class RecoveringDisplay implements DisplayPort {
  private display: DisplayPort;
  private lostDetail: string | null = null;
  private last: DisplayScreen | null = null;
  private reopening: Promise<void> | null = null;
  private closed = false;
  private reopens = 0;
  /** Shows still running. */
  private showing = 0;
  /** Armed `refreshMs` after each show: the idle refresh (null: none). */
  private readonly refresh: ClockAlarm | null;

  constructor(
    private readonly link: DisplayLinkControl,
    private readonly driver: () => DisplayPort,
    private readonly ports: DisplayRecoveryPorts,
    private readonly options: DisplayRecoveryOptions,
  ) {
    this.display = driver();
    link.onLost((detail) => this.declareLost(detail));
    this.refresh = (options.refreshMs ?? 0) > 0
      ? clockAlarm(ports.clock, () => this.refreshNow()) : null;
  }

  /** Why the display is out, or null while it works. Never fails. */
  lost(): string | null {
    return this.lostDetail;
  }

  /** Successful reopens so far. Never fails. */
  reopenCount(): number {
    return this.reopens;
  }

  /**
   * See DisplayPort.show. While the display is lost: READER_IO at once (the screen is kept and
   * shown when the display is back). Errors: those of the driver; READER_IO (display gone);
   * TIMEOUT (the write stalled past writeStallMs: the display is then taken as lost).
   */
  async show(screen: DisplayScreen): Promise<HalResult<void>> {
    this.last = screen;
    if (this.lostDetail !== null) {
      return halErr(HalStatus.READER_IO, `display ${this.options.path} gone: ${this.lostDetail}`);
    }
    if (!this.closed) this.refresh?.set(this.options.refreshMs ?? 0);
    this.showing += 1;
    let shown: HalResult<void> | null;
    try {
      shown = await this.bounded(this.display.show(screen));
    } finally {
      this.showing -= 1;
    }
    if (shown === null) {
      const detail = `write stalled for ${this.options.writeStallMs} ms`;
      this.declareLost(detail);
      return halErr(HalStatus.TIMEOUT, `display ${this.options.path}: ${detail}`);
    }
    // A write the device refused is a device gone, whether or not it hung up first.
    const gone = this.link.lost()
      ?? (!shown.ok && shown.error === HalStatus.READER_IO ? shown.detail : null);
    if (!shown.ok && gone !== null) this.declareLost(gone);
    return shown;
  }

  /** Stops reopening and refreshing, and closes the device. Never fails. */
  async close(): Promise<void> {
    this.closed = true;
    this.link.onLost(undefined);
    this.refresh?.clear();
    await this.reopening;
    await this.link.close();
  }

  /** Nothing was shown for `refreshMs`: the last screen again (which arms the next one). */
  private refreshNow(): void {
    if (this.closed || this.lostDetail !== null || this.last === null) return;
    if (this.showing > 0) this.refresh?.set(this.options.refreshMs ?? 0);
    else void this.show(this.last);
  }

  private async bounded(op: Promise<HalResult<void>>): Promise<HalResult<void> | null> {
    let result: HalResult<void> | null = null;
    const running = op.then((r) => {
      result = r;
    });
    const stall = this.ports.clock.sleepMs(this.options.writeStallMs);
    await Promise.race([running, stall.then(() => this.ports.clock.sleepMs(0))]);
    return result;
  }

  private declareLost(detail: string): void {
    if (this.lostDetail !== null || this.closed) return;
    this.lostDetail = detail;
    const path = this.options.path;
    this.ports.log.log({ event: 'display-lost', path, detail });
    this.ports.err(`shuaka run: display on ${path} lost (${detail}); taps go on, reopening`);
    this.reopening = this.reopenUntilBack();
  }

  /** Reopens with backoff until the display is back or the board closes it. */
  private async reopenUntilBack(): Promise<void> {
    const lostAtMs = this.ports.clock.nowMs();
    for (let tries = 0; ; tries += 1) {
      const delayMs = reopenDelayMs(tries, this.options.backoff, this.ports.random01);
      const endMs = this.ports.clock.nowMs() + delayMs;
      while (!this.closed && this.ports.clock.nowMs() < endMs) {
        const leftMs = endMs - this.ports.clock.nowMs();
        await this.ports.clock.sleepMs(Math.min(leftMs, this.options.backoff.stopCheckMs));
      }
      if (this.closed) return;
      const opened = await this.link.reopen();
      if (!opened.ok) {
        this.ports.log.log({
          event: 'display-reopen', ok: false, error: opened.error, detail: opened.detail,
          try: tries + 1,
        });
        continue;
      }
      this.display = this.driver();
      this.lostDetail = null;
      this.reopens += 1;
      const downMs = Math.round(this.ports.clock.nowMs() - lostAtMs);
      const path = this.options.path;
      this.ports.log.log({ event: 'display-back', path, tries: tries + 1, downMs });
      this.ports.err(`shuaka run: display on ${path} back after ${downMs} ms`);
      if (this.last !== null) await this.show(this.last);
      return;
    }
  }
}
