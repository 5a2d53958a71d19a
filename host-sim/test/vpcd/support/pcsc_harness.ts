// Test-only: a private pcscd, our PC/SC reader set on it, and waiting for PC/SC to notice.

import { PcscReaders } from '../../../../hal/src/pcsc/pcsc_readers.js';
import type { PcscReaderEvent } from '../../../../hal/src/pcsc/pcsc_readers.js';
import { WallClock } from '../../../src/pn532_sim/pty/wall_clock.js';
import { startPrivatePcscd } from '../../../src/vpcd/pcscd_private.js';
import type { PrivatePcscd } from '../../../src/vpcd/pcscd_private.js';

export interface PcscHarness {
  readonly pcscd: PrivatePcscd;
  readonly readers: PcscReaders;
  readonly events: PcscReaderEvent[];
  readonly clock: WallClock;
  stop(): Promise<void>;
}

/** Polls `condition` every 20 ms; throws Error with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts pcscd with a vpcd reader `name` and opens our reader set on it. */
export async function startPcscHarness(name: string): Promise<PcscHarness> {
  const pcscd = await startPrivatePcscd(name);
  // libpcsclite reads the socket path once, at the first context of the process.
  process.env['PCSCLITE_CSOCK_NAME'] = pcscd.socketPath;
  const clock = new WallClock();
  const events: PcscReaderEvent[] = [];
  const readers = await PcscReaders.open({
    clock,
    reopenBackoffMs: 100,
    reopenBackoffMaxMs: 1000,
    onEvent: (e) => events.push(e),
  });
  await waitFor('the vpcd reader', () => readers.find(pcscd.readerNames[0]) !== null);
  return {
    pcscd,
    readers,
    events,
    clock,
    stop: async () => {
      readers.close();
      await pcscd.stop();
    },
  };
}
