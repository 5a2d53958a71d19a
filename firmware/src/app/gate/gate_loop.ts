// The gate's reader loop: poll, process a card through GateApp, wait for it to leave.

import { HalStatus } from '../../../../hal/src/ports/hal_status.js';
import type { ReaderPort } from '../../../../hal/src/ports/reader_port.js';
import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import type { ValidatorConfig } from '../validator/validator_ports.js';
import type { GateApp, GateTapReport } from './gate_app.js';

/** One gate lane's loop; `turn` once per poll, as the bus Validator's loop. */
export class GateLoop {
  private awaitingRemoval = false;
  /** The visitor was told about several cards (多卡), which are still there. */
  private severalInField = false;

  constructor(
    private readonly app: GateApp,
    private readonly reader: ReaderPort,
    private readonly clock: ClockPort,
    private readonly config: ValidatorConfig,
  ) {}

  /**
   * Polls once. A card is processed to the end of its party's passages; several cards are
   * refused as on the bus (多卡, told once: the next polls wait for the field to change, then
   * a card left alone is a tap); no card gives the lane its idle checks. Returns the tap's
   * report (one for several cards), or null.
   */
  async turn(): Promise<GateTapReport | null> {
    if (this.awaitingRemoval) {
      const removed = await this.reader.waitForRemoval({
        timeoutMs: this.config.removalIntervalMs,
        intervalMs: this.config.removalIntervalMs,
      });
      if (removed.ok || removed.error === HalStatus.NOT_SUPPORTED) {
        this.awaitingRemoval = false;
        await this.app.cardRemoved();
      }
      await this.app.idle();
      return null;
    }
    const polled = await this.reader.poll({
      technologies: ['ISO14443A', 'ISO14443B'],
      timeoutMs: this.config.pollTimeoutMs,
    });
    if (polled.ok && this.severalInField) {
      if (polled.value.kind === 'several') {
        // The lane's own checks go on (tailgating over the arms, a stuck sensor, the free
        // exit): a wallet left on the reader silenced the tailgating alarm.
        await this.app.idle();
        await this.clock.sleepMs(this.config.removalIntervalMs);
        return null;
      }
      this.severalInField = false;
      await this.app.cardRemoved();
    }
    if (polled.ok && polled.value.kind === 'several') {
      this.severalInField = true;
      return this.app.severalCards(polled.value.count);
    }
    if (!polled.ok || polled.value.kind !== 'one') {
      await this.app.idle();
      await this.clock.sleepMs(this.config.pollIntervalMs);
      return null;
    }
    const report = await this.app.tap(polled.value.card);
    this.awaitingRemoval = true;
    return report;
  }
}
