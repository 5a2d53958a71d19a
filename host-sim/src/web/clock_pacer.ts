// Drives a simulated clock at wall-clock pace, so a person can watch and touch a simulated board.

import type { ClockSim } from '../clock_sim.js';

/** Pace of a paced clock; every field explicit. */
export interface ClockPacerOptions {
  /** Simulated ms per real ms (1 = real time). */
  readonly speed: number;
  /** Real ms between two advances (one frame of the page is about 16 ms). */
  readonly tickMs: number;
  /**
   * Most simulated ms one advance may cover: after the process stalled (a debugger, a
   * suspended laptop) the board skips ahead in bounded steps instead of one huge one.
   */
  readonly advanceMsMax: number;
}

export const CLOCK_PACER_DEFAULT: ClockPacerOptions = { speed: 1, tickMs: 16, advanceMsMax: 1_000 };

/**
 * Advances `clock` every `tickMs` of real time by the real time that passed (times `speed`),
 * then calls `onTick` (the web face sends what changed). The simulation itself stays on
 * ClockSim: every driver, card and timeout sees the same simulated time as in `shuaka sim`.
 */
export class ClockPacer {
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly clock: ClockSim,
    private readonly options: ClockPacerOptions,
    private readonly onTick: () => void,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops after the advance under way; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let lastRealMs = performance.now();
    while (this.running) {
      await new Promise((resolve) => setTimeout(resolve, this.options.tickMs));
      const realMs = performance.now();
      const dueMs = Math.min((realMs - lastRealMs) * this.options.speed,
        this.options.advanceMsMax);
      lastRealMs = realMs;
      if (dueMs > 0) await this.clock.advance(dueMs);
      this.onTick();
    }
  }
}
