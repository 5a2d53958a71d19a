// RecoveringDisplay in simulated time: a DWIN display whose link stops taking bytes and never
// closes (SerialLinkSim.freeze), then one whose device is missing for a while. Every show ends
// by writeStallMs, the loss is logged once, reopen tries follow the backoff, and the last
// screen reaches the DWIN emulator once the display is back. An idle display is sent its
// screen again: a rebooted one shows it, a silent dead one is found by that write.

import { describe, expect, it } from 'vitest';

import { DwinDisplay, DWIN_LAYOUT_DEFAULT } from '../../hal/src/display/dwin_display.js';
import type { DisplayScreen } from '../../hal/src/ports/display_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../../hal/src/ports/hal_status.js';
import type { SerialLink } from '../../hal/src/ports/serial_link.js';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import { DwinDisplaySim } from '../../host-sim/src/display_sim/dwin_display_sim.js';
import { runOnClock } from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import {
  createSerialLinkPairSim,
  type SerialLinkPairSim,
} from '../../host-sim/src/serial_link_sim.js';
import type { LogEvent } from '../src/app/validator/validator_ports.js';
import { RecoveringDisplay, type DisplayLinkControl } from '../src/boards/display_recovery.js';
import { reopenDelayMs, type ReopenBackoff } from '../src/app/validator/reader_recovery.js';

const BACKOFF: ReopenBackoff = { firstMs: 500, maxMs: 4000, jitterRatio: 0, stopCheckMs: 100 };
const STALL_MS = 500;
const IDLE: DisplayScreen = { kind: 'idle', fareMinor: 200, lineName: 'L101' };

/** A reopenable display link over simulated lines: `plugged` decides whether a reopen works. */
class SimDisplayLink implements DisplayLinkControl {
  line: SerialLinkPairSim;
  plugged = true;
  reopens = 0;

  constructor(
    private readonly clock: ClockSim,
    private readonly attach: (device: SerialLink) => void,
  ) {
    this.line = this.fresh();
  }

  lost(): string | null {
    return null;
  }

  onLost(): void {
    return undefined;
  }

  write(bytes: Uint8Array): Promise<HalResult<void>> {
    return this.line.host.write(bytes);
  }

  async reopen(): Promise<HalResult<void>> {
    if (!this.plugged) return halErr(HalStatus.READER_IO, 'ENOENT: no such file');
    this.line = this.fresh();
    this.reopens += 1;
    return halOk(undefined);
  }

  async close(): Promise<HalResult<void>> {
    return this.line.host.close();
  }

  private fresh(): SerialLinkPairSim {
    const line = createSerialLinkPairSim(this.clock, {
      baudRate: 115200,
      pace: true,
      chunkBytes: 64,
      hostToDeviceFaults: undefined,
      deviceToHostFaults: undefined,
    });
    this.attach(line.device);
    return line;
  }
}

describe('RecoveringDisplay on ClockSim', () => {
  it('stalledWrite_endsTimeoutAtWriteStall_reopensOnBackoff_lastScreenShownAgain', async () => {
    const clock = new ClockSim(0);
    let sim = new DwinDisplaySim();
    const link = new SimDisplayLink(clock, (device) => sim.attach(device));
    const events: LogEvent[] = [];
    const errs: string[] = [];
    const display = new RecoveringDisplay(
      link,
      () => new DwinDisplay(link, { layout: DWIN_LAYOUT_DEFAULT, crc: false }),
      { clock, log: { log: (e) => events.push(e) }, err: (l) => errs.push(l), random01: () => 0.5 },
      { path: 'sim:dwin', writeStallMs: STALL_MS, backoff: BACKOFF },
    );
    expect((await runOnClock(clock, display.show(IDLE))).ok).toBe(true);
    expect(sim.snapshot().pageName).toBe('idle');

    link.line.host.freeze();
    link.plugged = false;
    const t0 = clock.nowMs();
    const stalled = await runOnClock(clock, display.show({ kind: 'outOfService' }));
    expect(stalled.ok ? 'ok' : stalled.error).toBe(HalStatus.TIMEOUT);
    expect(clock.nowMs() - t0).toBe(STALL_MS);
    expect(events.filter((e) => e['event'] === 'display-lost')).toHaveLength(1);
    expect(errs[0]).toMatch(/display on sim:dwin lost \(write stalled for 500 ms\); taps go on/);

    // While lost, a show costs no time and reports the loss.
    const t1 = clock.nowMs();
    const gone = await display.show(IDLE)
      .then((r) => ({ r, atMs: clock.nowMs() }));
    expect(gone.r.ok ? 'ok' : gone.r.error).toBe(HalStatus.READER_IO);
    expect(gone.atMs).toBe(t1);

    // Two failed reopen tries at 500 and 500 + 1000 ms, then the display is plugged back.
    await runOnClock(clock, clock.sleepMs(reopenDelayMs(0, BACKOFF, () => 0.5) + 1));
    await runOnClock(clock, clock.sleepMs(reopenDelayMs(1, BACKOFF, () => 0.5)));
    const failed = events.filter((e) => e['event'] === 'display-reopen');
    expect(failed.map((e) => e['try'])).toEqual([1, 2]);
    sim = new DwinDisplaySim();
    link.plugged = true;
    await runOnClock(clock, clock.sleepMs(reopenDelayMs(2, BACKOFF, () => 0.5)));
    const back = events.find((e) => e['event'] === 'display-back');
    expect(back).toMatchObject({ tries: 3, downMs: 500 + 1000 + 2000 });
    expect(display.lost()).toBeNull();
    await runOnClock(clock, clock.sleepMs(50));
    // The last screen asked for while the display was gone is the one on the new display.
    expect(sim.snapshot().pageName).toBe('idle');
    await runOnClock(clock, display.close());
  });

  it('idleRefresh_givesARebootedDisplayItsScreen_andFindsADeviceGoneWithoutAHangUp',
    async () => {
      const clock = new ClockSim(0);
      const REFRESH_MS = 5000;
      let sim = new DwinDisplaySim();
      const link = new SimDisplayLink(clock, (device) => sim.attach(device));
      const events: LogEvent[] = [];
      const display = new RecoveringDisplay(
        link,
        () => new DwinDisplay(link, { layout: DWIN_LAYOUT_DEFAULT, crc: false }),
        { clock, log: { log: (e) => events.push(e) }, err: () => undefined, random01: () => 0.5 },
        { path: 'sim:dwin', writeStallMs: STALL_MS, backoff: BACKOFF, refreshMs: REFRESH_MS },
      );
      expect((await runOnClock(clock, display.show(IDLE))).ok).toBe(true);
      // The display reboots on its own (a power glitch): a blank emulator on the same line.
      sim = new DwinDisplaySim();
      sim.attach(link.line.device);
      await runOnClock(clock, clock.sleepMs(REFRESH_MS - 200));
      expect(sim.snapshot().pageName).not.toBe('idle');
      await runOnClock(clock, clock.sleepMs(400));
      expect(sim.snapshot().pageName).toBe('idle');
      // The line stops taking bytes and nothing reports it: the next refresh finds it.
      link.line.host.freeze();
      link.plugged = false;
      await runOnClock(clock, clock.sleepMs(REFRESH_MS + STALL_MS + 200));
      const lost = events.filter((e) => e['event'] === 'display-lost');
      expect(lost).toHaveLength(1);
      expect(lost[0]?.['detail']).toBe(`write stalled for ${STALL_MS} ms`);
      link.plugged = true;
      await runOnClock(clock, display.close());
    });
});
