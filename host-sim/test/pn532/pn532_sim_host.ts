// A raw byte-level host for emulator tests: write frames, read back what the emulator sent.

import { ClockSim } from '../../src/clock_sim.js';
import { Pn532Sim, type Pn532SimOptions } from '../../src/pn532_sim/pn532_sim.js';
import { runOnClock } from '../../src/pn532_sim/pn532_sim_rig.js';
import { createSerialLinkPairSim, type SerialLinkPairSim } from '../../src/serial_link_sim.js';

export interface RawHost {
  readonly clock: ClockSim;
  readonly line: SerialLinkPairSim;
  readonly sim: Pn532Sim;
  /** Sends `bytes`, lets `settleMs` of simulated time pass, returns what came back (hex). */
  exchange(bytes: Uint8Array, settleMs?: number): Promise<string[]>;
  /** Arrival times of the chunks the last exchange returned. */
  lastArrivalsMs(): number[];
}

export function rawHost(options: Pn532SimOptions, baudRate = 115200): RawHost {
  const clock = new ClockSim(0);
  const line = createSerialLinkPairSim(clock, {
    baudRate,
    pace: true,
    chunkBytes: 4096,
    hostToDeviceFaults: undefined,
    deviceToHostFaults: undefined,
  });
  const sim = new Pn532Sim(line.device, clock, options);
  let received: { atMs: number; bytes: Uint8Array }[] = [];
  line.host.setReceiver((bytes) => received.push({ atMs: clock.nowMs(), bytes }));
  return {
    clock,
    line,
    sim,
    exchange: async (bytes, settleMs = 200) => {
      received = [];
      await runOnClock(clock, line.host.write(bytes));
      await clock.advance(settleMs);
      return received.map((r) => hex(r.bytes));
    },
    lastArrivalsMs: () => received.map((r) => r.atMs),
  };
}

export function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}
