// Pn532Reader through serialport's native binding on a real socat pty, emulator on the far end.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { PN532_SIM_DEFAULT_OPTIONS } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import { startPn532SimOnPty } from '../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { WallClock } from '../../host-sim/src/pn532_sim/pty/wall_clock.js';
import { PN532_READER_DEFAULT_OPTIONS, Pn532Reader } from '../src/pn532/pn532_reader.js';
import { NodeSerialLink } from '../src/serial/node_serial_link.js';
import { definePn532ReaderScenarios } from './pn532_reader_suite.js';

describe('Pn532Reader over a socat pty (NodeSerialLink)', () => {
  definePn532ReaderScenarios(
    async (sim) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-pn532-'));
      const clock = new WallClock();
      const emulator = await startPn532SimOnPty({
        dir,
        clock,
        pace: false,
        // Real time: skip the modelled RF/card waits, keep every protocol behaviour.
        sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0, ...sim },
      });
      const opened = await NodeSerialLink.open({
        path: emulator.hostPath,
        baudRate: 115200,
        lock: true,
        record: true,
      });
      if (!opened.ok) {
        await emulator.close();
        throw new Error(`open ${emulator.hostPath}: ${opened.detail}`);
      }
      const link = opened.value;
      const reader = new Pn532Reader(link, clock, PN532_READER_DEFAULT_OPTIONS);
      return {
        reader,
        sim: emulator.sim,
        clock,
        hostBytes: () =>
          Uint8Array.from(
            link.transcript().flatMap((e) => (e.direction === 'tx' ? Array.from(e.bytes) : [])),
          ),
        run: (p) => p,
        close: async () => {
          await link.close();
          await emulator.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    () => externalToolsReady(['socat'], 'Pn532Reader over a socat pty'),
  );
});
