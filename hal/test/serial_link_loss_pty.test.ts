// A real pty whose other end vanishes (socat killed): serialport's native binding reports the
// loss, the driver's pending command ends at once, and the reopenable link opens the same path
// again once socat is back, after which the PN532 emulator answers a full start-up.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PN532_SIM_DEFAULT_OPTIONS } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import {
  startPn532SimOnPty,
  type Pn532SimOnPty,
} from '../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { WallClock } from '../../host-sim/src/pn532_sim/pty/wall_clock.js';
import { HalStatus } from '../src/ports/hal_status.js';
import { PN532_READER_DEFAULT_OPTIONS, Pn532Reader } from '../src/pn532/pn532_reader.js';
import { NodeSerialLink } from '../src/serial/node_serial_link.js';
import { ReopenableSerialLink } from '../src/serial/reopenable_serial_link.js';
import { SUITE_START } from './pn532_reader_suite.js';

const CONTEXT = 'serial link loss on a socat pty';
let dir = '';
const emulators = new Set<Pn532SimOnPty>();

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-loss-'));
});

afterEach(async () => {
  for (const e of emulators) await e.close();
  emulators.clear();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function emulator(): Promise<Pn532SimOnPty> {
  const e = await startPn532SimOnPty({
    dir,
    clock: new WallClock(),
    pace: false,
    sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0 },
  });
  emulators.add(e);
  return e;
}

async function pull(e: Pn532SimOnPty): Promise<void> {
  emulators.delete(e);
  await e.close();
}

describe('serial link loss on a real pty', () => {
  it('socatKilled_linkReportsLoss_pendingCommandEndsReaderIo_reopenAfterRestartWorks', async () => {
    if (!externalToolsReady(['socat'], CONTEXT)) return;
    const clock = new WallClock();
    const first = await emulator();
    const open = (): ReturnType<typeof NodeSerialLink.open> =>
      NodeSerialLink.open({ path: first.hostPath, baudRate: 115200, lock: true, record: false });
    const opened = await open();
    if (!opened.ok) throw new Error(opened.detail);
    const link = new ReopenableSerialLink(first.hostPath, opened.value, open);
    const reader = new Pn532Reader(link, clock, PN532_READER_DEFAULT_OPTIONS);
    const losses: string[] = [];
    let lostSignal: () => void = () => undefined;
    const lost = new Promise<void>((resolve) => {
      lostSignal = resolve;
    });
    link.onLost((detail) => {
      losses.push(detail);
      reader.linkLost(detail);
      lostSignal();
    });
    expect((await reader.start(SUITE_START)).ok).toBe(true);

    // A poll with no card waits up to 2 s; the plug is pulled while it waits. The poll ends
    // with READER_IO: by the loss, or (on a loaded machine) by the missing ACK just before it.
    // That the loss itself ends a pending command at once is shown in simulated time
    // (firmware/test/reader_recovery.test.ts); here the native binding's report is the point.
    const polling = reader.poll({ technologies: ['ISO14443A'], timeoutMs: 2000 });
    await pull(first);
    const polled = await polling;
    expect(polled.ok ? 'ok' : polled.error).toBe(HalStatus.READER_IO);
    let timer: NodeJS.Timeout | undefined;
    const reported = await Promise.race([
      lost.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), 5000);
      }),
    ]);
    clearTimeout(timer);
    expect(reported, 'serialport reported the vanished pty').toBe(true);
    expect(losses).toHaveLength(1);
    expect(link.lost()).not.toBeNull();
    const write = await link.write(Uint8Array.of(0x00));
    expect(write.ok ? 'ok' : write.error).toBe(HalStatus.READER_IO);
    const whileGone = await link.reopen();
    expect(whileGone.ok ? 'ok' : whileGone.error).toBe(HalStatus.READER_IO);

    const second = await emulator();
    expect(second.hostPath).toBe(first.hostPath);
    expect((await link.reopen()).ok).toBe(true);
    const restarted = await reader.start(SUITE_START);
    expect(restarted.ok, restarted.ok ? '' : restarted.detail).toBe(true);
    expect(link.reopenCount()).toBe(1);
    await reader.shutdown();
    await link.close();
  }, 30_000);

  it('writeWhileSerialportIsClosing_endsReaderIo_notPendingForEver (issue 11 stall)', async () => {
    if (!externalToolsReady(['socat'], CONTEXT)) return;
    const e = await emulator();
    const opened = await NodeSerialLink.open({
      path: e.hostPath,
      baudRate: 115200,
      lock: true,
      record: false,
    });
    if (!opened.ok) throw new Error(opened.detail);
    const link = opened.value;
    const losses: string[] = [];
    link.onLost((detail) => losses.push(detail));
    // What serialport itself does when a read fails on a vanished device (EIO): its
    // `_disconnected` starts closing the binding at once (fd gone, isOpen false) and emits
    // 'close' only after the fd is closed on the thread pool. A write issued in between was
    // parked by serialport until an 'open' that never came: the validator's stall. Calling the
    // same internal path makes that window certain instead of a matter of machine load.
    const stream = (link as unknown as { port: { _disconnected(error: Error): void } }).port;
    stream._disconnected(new Error('EIO: i/o error, read'));
    const inWindow = link.write(Uint8Array.of(0x00, 0x00, 0xff, 0x00, 0xff, 0x00));
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), 3000);
    });
    const written = await Promise.race([inWindow, hung]);
    clearTimeout(timer);
    expect(written === 'hung' ? 'hung' : written.ok ? 'ok' : written.error).toBe(
      HalStatus.READER_IO,
    );
    // The loss is still reported once, by the close event.
    for (let k = 0; k < 100 && losses.length === 0; k += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(losses).toEqual(['EIO: i/o error, read']);
    await link.close();
  }, 30_000);
});
