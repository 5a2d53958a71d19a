// A TurnstilePort over the emulated controller, in process and on simulated time (the sim's
// and the tests' lane; the Modbus path is covered on a pty by the driver tests).

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../../../hal/src/ports/hal_status.js';
import type {
  TurnstileDirection,
  TurnstilePort,
  TurnstileSensor,
} from '../../../hal/src/ports/turnstile_port.js';
import type { TurnstileControllerSim } from './turnstile_controller_sim.js';

/** Faults of the simulated link to the controller. */
export interface TurnstileSimPortFaults {
  /** The controller does not answer: each call costs `timeoutMs` and fails with TIMEOUT. */
  silent: boolean;
  /**
   * The next this many unlocks (`open`) reach the controller and are carried out, but their
   * answers are lost on the line: each costs `timeoutMs` and fails with TIMEOUT.
   */
  openAnswersLost: number;
}

/** Options; every field explicit. */
export interface TurnstileSimPortOptions {
  readonly clock: ClockPort;
  /** What one request costs on the wire (9600 baud: about 20 ms round trip). */
  readonly requestMs: number;
  /** The driver's answer deadline (TIMEOUT after it). */
  readonly timeoutMs: number;
}

/** The controller as a port; `opens` counts unlocks for checks. */
export class TurnstileSimPort implements TurnstilePort {
  readonly faults: TurnstileSimPortFaults = { silent: false, openAnswersLost: 0 };
  opens = 0;

  constructor(
    readonly controller: TurnstileControllerSim,
    private readonly options: TurnstileSimPortOptions,
  ) {}

  open(direction: TurnstileDirection): Promise<HalResult<void>> {
    const lost = this.faults.openAnswersLost > 0 && !this.faults.silent;
    if (lost) this.faults.openAnswersLost -= 1;
    return this.request(() => {
      this.opens += 1;
      this.controller.coils[direction === 'entry' ? 0 : 1] = true;
    }, lost);
  }

  close(): Promise<HalResult<void>> {
    return this.request(() => {
      this.controller.coils[0] = false;
      this.controller.coils[1] = false;
    });
  }

  alarm(on: boolean): Promise<HalResult<void>> {
    return this.request(() => {
      this.controller.coils[2] = on;
    });
  }

  readSensor(): Promise<HalResult<TurnstileSensor>> {
    return this.request(() => ({
      passCount: this.controller.passCount,
      blocked: this.controller.blocked,
    }));
  }

  async reopen(): Promise<HalResult<void>> {
    return halOk(undefined);
  }

  async shutdown(): Promise<void> {
    return undefined;
  }

  /** One request; `answerLost`: carried out, then its answer is lost (TIMEOUT). */
  private async request<T>(apply: () => T, answerLost = false): Promise<HalResult<T>> {
    if (this.faults.silent) {
      await this.options.clock.sleepMs(this.options.timeoutMs);
      return halErr(HalStatus.TIMEOUT, 'modbus: Timed out');
    }
    if (answerLost) {
      await this.options.clock.sleepMs(this.options.requestMs / 2);
      apply();
      await this.options.clock.sleepMs(this.options.timeoutMs - this.options.requestMs / 2);
      return halErr(HalStatus.TIMEOUT, 'modbus: Timed out');
    }
    await this.options.clock.sleepMs(this.options.requestMs);
    return halOk(apply());
  }
}
