// Runs the PN532 emulator on a fresh socat pty pair: the host end is free for any client.

import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import { Pn532Sim, type Pn532SimOptions } from '../pn532_sim.js';
import { PtySerialLink } from './pty_serial_link.js';
import { startSocatPtyPair, type SocatPtyPair } from './socat_pty_pair.js';

/** The emulator listening on a pty, and how to reach and stop it. */
export interface Pn532SimOnPty {
  /** Path a client opens: `pn532_uart:<hostPath>` for libnfc, NodeSerialLink for our driver. */
  readonly hostPath: string;
  readonly sim: Pn532Sim;
  readonly socat: SocatPtyPair;
  /** Detaches the emulator, closes its end and stops socat. Never throws. */
  close(): Promise<void>;
}

/** Options; every field explicit. */
export interface Pn532SimOnPtyOptions {
  /** Scratch directory for the links. */
  readonly dir: string;
  /** Real-time clock (WallClock): socat and its clients run in real time. */
  readonly clock: ClockPort;
  readonly sim: Pn532SimOptions;
  /** Pace the emulator's writes at its configured baud rate, in real time. */
  readonly pace: boolean;
}

/**
 * Starts socat, opens the device end and attaches a Pn532Sim to it.
 * Throws when socat cannot start or the device end cannot be opened (socat is stopped first).
 */
export async function startPn532SimOnPty(options: Pn532SimOnPtyOptions): Promise<Pn532SimOnPty> {
  const socat = await startSocatPtyPair({ dir: options.dir, startTimeoutMs: 5000, graceMs: 1000 });
  const opened = await PtySerialLink.open({
    path: socat.devicePath,
    baudRate: 115200,
    pace: options.pace,
    clock: options.clock,
  });
  if (!opened.ok) {
    await socat.close();
    throw new Error(`cannot open ${socat.devicePath}: ${opened.detail}`);
  }
  const link = opened.value;
  const sim = new Pn532Sim(link, options.clock, options.sim);
  // `shuaka emu` and the pty bus run serve for hours: a timing record per exchange would grow
  // without bound, and nobody reads them on a pty.
  sim.keepTimings(false);
  return {
    hostPath: socat.hostPath,
    sim,
    socat,
    close: async () => {
      sim.detach();
      await link.close();
      await socat.close();
    },
  };
}
