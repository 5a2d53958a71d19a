// Our Modbus RTU turnstile driver against a controller whose answers have the right length and
// CRC but a wrong byte count: refused as PROTOCOL, never read past the data. The controller is
// a raw responder on the device end of a socat pty pair (frames built with the emulator's
// RTU helpers: the CRC is right, only the count is wrong).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';

import { HalStatus } from '../src/ports/hal_status.js';
import { ModbusTurnstile } from '../src/turnstile/modbus_turnstile.js';
import {
  startSocatPtyPair,
} from '../../host-sim/src/pn532_sim/pty/socat_pty_pair.js';
import { rtuFrame } from '../../host-sim/src/turnstile_sim/modbus_rtu_frame.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A controller on `devicePath` answering FC02 with `inputsCount` as its byte count (one data
 * byte always) and FC04 with `registersCount` (two data bytes always, pass count 7).
 */
async function controller(devicePath: string, inputsCount: number, registersCount: number) {
  const port = new SerialPort({ path: devicePath, baudRate: 9600 });
  await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
  cleanups.push(() => new Promise((resolve) => port.close(() => resolve())));
  let buffered = Buffer.alloc(0);
  port.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    // Every request the driver sends is 8 bytes (unit, FC, address, count, CRC).
    while (buffered.length >= 8) {
      const request = buffered.subarray(0, 8);
      buffered = buffered.subarray(8);
      const fc = request[1];
      const pdu = fc === 0x02 ? Uint8Array.of(0x02, inputsCount, 0x00)
        : fc === 0x04 ? Uint8Array.of(0x04, registersCount, 0x00, 0x07)
          : Uint8Array.from(request.subarray(1, 6));
      port.write(Buffer.from(rtuFrame(request[0] ?? 1, pdu)));
    }
  });
}

async function rig(inputsCount: number, registersCount: number): Promise<ModbusTurnstile> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-modbus-shape-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const pair = await startSocatPtyPair({ dir, startTimeoutMs: 5000, graceMs: 500 });
  cleanups.push(() => pair.close());
  await controller(pair.devicePath, inputsCount, registersCount);
  const opened = await ModbusTurnstile.open({
    path: pair.hostPath, baudRate: 9600, unitId: 1, timeoutMs: 500,
  });
  if (!opened.ok) throw new Error(opened.detail);
  cleanups.push(() => opened.value.shutdown());
  return opened.value;
}

describe('ModbusTurnstile against answers with a wrong byte count', () => {
  it('rightCounts_readTheSensor (the twin)', async () => {
    const gate = await rig(1, 2);
    expect(await gate.readSensor()).toEqual({ ok: true, value: { passCount: 7, blocked: false } });
  });

  it.each([
    ['FC04 counts 4 bytes for one register (its CRC read as a second)', 1, 4],
    ['FC04 counts 0 bytes', 1, 0],
    ['FC02 counts 2 bytes for one input', 2, 2],
    ['FC04 counts 64 bytes, past the end of the answer', 1, 64],
  ])('%s: PROTOCOL', async (_name, inputs, registers) => {
    const gate = await rig(inputs, registers);
    const read = await gate.readSensor();
    expect(read).toMatchObject({ ok: false, error: HalStatus.PROTOCOL });
    // Past the end, modbus-serial's own read fails first (an offset out of range).
    if (!read.ok) expect(read.detail).toMatch(registers === 64 ? /out of range/ : /byte count/);
  });
});
