// Sees every buzzer PWM and LED brightness write as it reaches sysfs, with the time it happened.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { HalResult } from '../../../hal/src/ports/hal_status.js';
import type { SysfsFiles } from '../../../hal/src/buzzer/sysfs_files.js';

/*
 * The web face plays the beep a rider would hear. It takes it from the attribute writes the
 * production sysfs drivers make (Linux PWM sysfs ABI: `period` in ns, `enable` 0/1; LED class:
 * `brightness` 0 = off), not from the signal name the app asked for, so the page sounds what
 * the driver really drove: a wrong period or a missed `enable 0` would be heard.
 */

/** The outputs' state from one instant on: `toneHz` 0 = silent. */
export interface IndicatorEdge {
  /** ClockPort.nowMs() of the write that changed the state. */
  readonly atMs: number;
  readonly toneHz: number;
  readonly green: boolean;
  readonly red: boolean;
}

/** Which attributes are the buzzer and the LEDs, as paths below the sysfs root. */
export interface IndicatorWiring {
  /** e.g. `class/pwm/pwmchip0/pwm0`. */
  readonly pwmDir: string;
  /** e.g. `class/leds/green:status`. */
  readonly greenDir: string;
  readonly redDir: string;
}

/** Edges kept until taken; older ones are dropped first (a page that never reads them). */
export const INDICATOR_EDGES_MAX = 1_024;

const NS_PER_S = 1_000_000_000;

/**
 * A SysfsFiles that forwards every call to `inner` and, for each successful write that changes
 * what the buzzer or LEDs do, records an IndicatorEdge (writes at the same instant make one
 * edge: the state after the last of them). Reads and `exists` pass through.
 */
export class IndicatorRecorder implements SysfsFiles {
  private periodNs = 0;
  private enabled = false;
  private state: Omit<IndicatorEdge, 'atMs'> = { toneHz: 0, green: false, red: false };
  private edges: IndicatorEdge[] = [];

  constructor(
    private readonly inner: SysfsFiles,
    private readonly clock: ClockPort,
    private readonly wiring: IndicatorWiring,
  ) {}

  write(path: string, value: string): HalResult<void> {
    const written = this.inner.write(path, value);
    if (written.ok) this.observe(path, value.trim());
    return written;
  }

  read(path: string): HalResult<string> {
    return this.inner.read(path);
  }

  exists(path: string): boolean {
    return this.inner.exists(path);
  }

  /** The current state (what a rider sees and hears now). */
  now(): Omit<IndicatorEdge, 'atMs'> {
    return this.state;
  }

  /** The edges since the last call, oldest first. */
  take(): IndicatorEdge[] {
    const taken = this.edges;
    this.edges = [];
    return taken;
  }

  private observe(path: string, value: string): void {
    const { pwmDir, greenDir, redDir } = this.wiring;
    let { green, red } = this.state;
    if (path.endsWith(`/${pwmDir}/period`)) this.periodNs = Number.parseInt(value, 10) || 0;
    else if (path.endsWith(`/${pwmDir}/enable`)) this.enabled = value === '1';
    else if (path.endsWith(`/${greenDir}/brightness`)) green = value !== '0';
    else if (path.endsWith(`/${redDir}/brightness`)) red = value !== '0';
    else return;
    const toneHz = this.enabled && this.periodNs > 0 ? Math.round(NS_PER_S / this.periodNs) : 0;
    const next = { toneHz, green, red };
    if (next.toneHz === this.state.toneHz && next.green === this.state.green
      && next.red === this.state.red) return;
    this.state = next;
    const atMs = this.clock.nowMs();
    // One step of a pattern is several writes at one instant (tone, green, red): one edge.
    if (this.edges[this.edges.length - 1]?.atMs === atMs) this.edges.pop();
    this.edges.push({ atMs, ...next });
    if (this.edges.length > INDICATOR_EDGES_MAX) this.edges.shift();
  }
}
