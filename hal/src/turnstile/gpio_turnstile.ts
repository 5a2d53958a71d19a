// Turnstile on Linux GPIO character-device lines through libgpiod's tools (Debian `gpiod`).
//
// No native addon: the relays are driven by one `gpioset --mode=signal` process that holds the
// output lines at their values until it is signalled (libgpiod v1 releases a line when its
// holder exits, after which its level is undefined, so a holder must stay), and the pass
// sensor is watched by one `gpiomon` process whose event lines we parse. The sensor is a light
// barrier (or the arm's index switch): level active = someone is in it; every active ->
// inactive edge is one completed passage. `activeLow` (-l) lets a normally-closed sensor read
// the same way. See the kernel's GPIO character device ABI (Documentation/userspace-api/gpio)
// and libgpiod 1.6's gpioset/gpiomon/gpioget usage text.

import { spawn, type ChildProcess } from 'node:child_process';

import { clockTimer, type ClockPort } from '../ports/clock_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../ports/hal_status.js';
import {
  TURNSTILE_PASS_COUNT_MODULUS,
  type TurnstileDirection,
  type TurnstilePort,
  type TurnstileSensor,
} from '../ports/turnstile_port.js';
import {
  gpiogetArgs,
  gpiomonArgs,
  gpiomonEventParse,
  gpiosetArgs,
  type GpioTurnstileLines,
} from './gpio_commands.js';

/** Options of the GPIO driver; every field explicit. */
export interface GpioTurnstileOptions {
  /** Chip name, number or path (`gpiochip0`, `0`, `/dev/gpiochip0`). */
  readonly chip: string;
  readonly lines: GpioTurnstileLines;
  /** The sensor line is active low (a normally-closed contact). */
  readonly sensorActiveLow: boolean;
  /** How long a new gpioset must stay alive before its lines count as set, ms. */
  readonly settleMs: number;
  readonly clock: ClockPort;
}

interface Outputs {
  entry: boolean;
  exit: boolean;
  alarm: boolean;
}

/** Turnstile on GPIO lines. Open with `GpioTurnstile.open`. */
export class GpioTurnstile implements TurnstilePort {
  private outputs: Outputs = { entry: false, exit: false, alarm: false };
  private holder: ChildProcess | null = null;
  private monitor: ChildProcess | null = null;
  private monitorError: string | null = null;
  private passCount = 0;
  private blocked = false;
  private pending = false;
  private partial = '';

  private constructor(private readonly options: GpioTurnstileOptions) {}

  /**
   * Reads the sensor's level (gpioget), starts its monitor (gpiomon) and locks the lane.
   * Errors: READER_IO (no such chip or line, permission, tools missing) with the tool's words.
   */
  static async open(options: GpioTurnstileOptions): Promise<HalResult<GpioTurnstile>> {
    const gate = new GpioTurnstile(options);
    const started = await gate.start();
    if (!started.ok) {
      await gate.shutdown();
      return halErr(started.error, started.detail);
    }
    return halOk(gate);
  }

  open(direction: TurnstileDirection): Promise<HalResult<void>> {
    const next = { ...this.outputs, [direction]: true };
    return this.exclusive(() => this.apply(next));
  }

  close(): Promise<HalResult<void>> {
    return this.exclusive(() => this.apply({ ...this.outputs, entry: false, exit: false }));
  }

  alarm(on: boolean): Promise<HalResult<void>> {
    return this.exclusive(() => this.apply({ ...this.outputs, alarm: on }));
  }

  async readSensor(): Promise<HalResult<TurnstileSensor>> {
    if (this.monitorError !== null) return halErr(HalStatus.READER_IO, this.monitorError);
    return halOk({ passCount: this.passCount, blocked: this.blocked });
  }

  async reopen(): Promise<HalResult<void>> {
    await this.shutdown();
    this.monitorError = null;
    return this.start();
  }

  async shutdown(): Promise<void> {
    await stopChild(this.monitor);
    await stopChild(this.holder);
    this.monitor = null;
    this.holder = null;
  }

  private async start(): Promise<HalResult<void>> {
    const { chip, lines, sensorActiveLow } = this.options;
    const level = await runTool('gpioget', gpiogetArgs(chip, lines.sensor, sensorActiveLow));
    if (!level.ok) return halErr(level.error, level.detail);
    this.blocked = level.value.trim() === '1';
    const locked = await this.apply({ entry: false, exit: false, alarm: false });
    if (!locked.ok) return locked;
    this.startMonitor();
    // gpiomon fails at once on a missing line; give it the settle time to say so.
    await clockTimer(this.options.clock, this.options.settleMs).done;
    return this.monitorError === null ? halOk(undefined) : halErr(HalStatus.READER_IO,
      this.monitorError);
  }

  private startMonitor(): void {
    const { chip, lines, sensorActiveLow } = this.options;
    const child = spawn('gpiomon', gpiomonArgs(chip, lines.sensor, sensorActiveLow), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout?.on('data', (b: Buffer) => this.monitorData(b.toString()));
    child.on('error', (err) => (this.monitorError = `gpiomon: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.monitor !== child) return;
      this.monitorError = `gpiomon exited (${code ?? signal}): ${stderr.trim()}`;
    });
    this.monitor = child;
  }

  private monitorData(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      const event = gpiomonEventParse(line);
      if (event === null || event.offset !== this.options.lines.sensor) continue;
      if (event.edge === 'falling' && this.blocked) {
        this.passCount = (this.passCount + 1) % TURNSTILE_PASS_COUNT_MODULUS;
      }
      this.blocked = event.edge === 'rising';
    }
  }

  /** Replaces the holder with one holding `next`; the old one is stopped first. */
  private async apply(next: Outputs): Promise<HalResult<void>> {
    await stopChild(this.holder);
    this.holder = null;
    const args = gpiosetArgs(this.options.chip, this.options.lines, next);
    const child = spawn('gpioset', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const failed = new Promise<string>((resolve) => {
      child.once('error', (err) => resolve(`gpioset: ${err.message}`));
      child.once('exit', (code, signal) => resolve(`gpioset exited (${code ?? signal}): `
        + stderr.trim()));
    });
    const timer = clockTimer(this.options.clock, this.options.settleMs);
    const early = await Promise.race([failed, timer.done.then(() => null)]);
    timer.cancel();
    if (early !== null) return halErr(HalStatus.READER_IO, early);
    this.holder = child;
    this.outputs = next;
    return halOk(undefined);
  }

  private async exclusive(run: () => Promise<HalResult<void>>): Promise<HalResult<void>> {
    if (this.pending) return halErr(HalStatus.BUSY, 'another GPIO change is pending');
    this.pending = true;
    try {
      return await run();
    } finally {
      this.pending = false;
    }
  }
}

/** Runs a tool to its end; its stdout, or READER_IO with its stderr. */
function runTool(tool: string, args: readonly string[]): Promise<HalResult<string>> {
  return new Promise((resolve) => {
    const child = spawn(tool, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', (e) => resolve(halErr(HalStatus.READER_IO, `${tool}: ${e.message}`)));
    child.once('exit', (code) => {
      resolve(code === 0 ? halOk(out) : halErr(HalStatus.READER_IO, err.trim()));
    });
  });
}

function stopChild(child: ChildProcess | null): Promise<void> {
  return new Promise((resolve) => {
    if (child === null || child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
