// The DWIN display emulator on its own socat pty pair, for `shuaka emu --display`.

import { mkdirSync } from 'node:fs';

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { DwinDisplaySim } from '../display_sim/dwin_display_sim.js';
import { PtySerialLink } from '../pn532_sim/pty/pty_serial_link.js';
import { startSocatPtyPair } from '../pn532_sim/pty/socat_pty_pair.js';

/** The display listening on a pty. */
export interface DisplayOnPty {
  /** Path the validator opens (`--display-port`). */
  readonly hostPath: string;
  readonly display: DwinDisplaySim;
  /** Resolves when its socat has exited (see SocatPtyPair.exited). */
  readonly exited: Promise<void>;
  /** Stops watching, closes the device end and stops socat. Never throws. */
  close(): Promise<void>;
}

/** How often the shown screen is compared with the last one printed, ms. */
const SCREEN_POLL_MS = 50;
/** A DWIN T5L UART's speed in the reference project (hal/README.md). */
const DISPLAY_BAUD = 115200;

/**
 * Starts socat in `dir`, attaches a DwinDisplaySim to the device end and calls `onScreen`
 * with the rendered screen (one line) each time it changes. Throws when socat cannot start or
 * the device end cannot be opened (socat is stopped first).
 */
export async function startDisplayOnPty(
  dir: string,
  clock: ClockPort,
  onScreen: (screen: string) => void,
): Promise<DisplayOnPty> {
  mkdirSync(dir, { recursive: true });
  const socat = await startSocatPtyPair({ dir, startTimeoutMs: 5000, graceMs: 1000 });
  const opened = await PtySerialLink.open({
    path: socat.devicePath,
    baudRate: DISPLAY_BAUD,
    pace: false,
    clock,
  });
  if (!opened.ok) {
    await socat.close();
    throw new Error(`cannot open ${socat.devicePath}: ${opened.detail}`);
  }
  const link = opened.value;
  const display = new DwinDisplaySim();
  display.attach(link);
  let shown = '';
  // The emulator has no change callback: a screen is a page switch plus several text writes,
  // so polling prints it once it settled instead of once per frame.
  const timer = setInterval(() => {
    const screen = display.render().replace(/\n\s*/g, ' | ');
    if (screen === shown) return;
    shown = screen;
    onScreen(screen);
  }, SCREEN_POLL_MS);
  return {
    hostPath: socat.hostPath,
    display,
    exited: socat.exited,
    close: async () => {
      clearInterval(timer);
      link.setReceiver(undefined);
      await link.close();
      await socat.close();
    },
  };
}
