// Our Modbus RTU turnstile driver against an independent slave (Debian's pymodbus) on a pty.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { HalStatus } from '../src/ports/hal_status.js';
import { ModbusTurnstile } from '../src/turnstile/modbus_turnstile.js';
import {
  startSocatPtyPair,
  type SocatPtyPair,
} from '../../host-sim/src/pn532_sim/pty/socat_pty_pair.js';
import { modbusPeerReady, startPymodbusSlave, type PymodbusSlave } from './support/modbus_peer.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(unitId: number): Promise<{ pair: SocatPtyPair; slave: PymodbusSlave }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-modbus-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const pair = await startSocatPtyPair({ dir, startTimeoutMs: 5000, graceMs: 500 });
  cleanups.push(() => pair.close());
  const slave = await startPymodbusSlave(pair.devicePath, unitId);
  cleanups.push(() => slave.stop());
  return { pair, slave };
}

async function driver(pair: SocatPtyPair, unitId: number): Promise<ModbusTurnstile> {
  const opened = await ModbusTurnstile.open({
    path: pair.hostPath, baudRate: 9600, unitId, timeoutMs: 500,
  });
  if (!opened.ok) throw new Error(opened.detail);
  cleanups.push(() => opened.value.shutdown());
  return opened.value;
}

describe('ModbusTurnstile against pymodbus', () => {
  it('open_close_alarm_setTheSlavesCoils', async () => {
    if (!modbusPeerReady('modbus turnstile vs pymodbus')) return;
    const { pair, slave } = await rig(3);
    const gate = await driver(pair, 3);
    expect(await gate.open('entry')).toEqual({ ok: true, value: undefined });
    expect(await slave.coils()).toEqual([1, 0, 0]);
    expect((await gate.open('exit')).ok).toBe(true);
    expect((await gate.alarm(true)).ok).toBe(true);
    expect(await slave.coils()).toEqual([1, 1, 1]);
    expect((await gate.close()).ok).toBe(true);
    expect(await slave.coils()).toEqual([0, 0, 1]);
    expect((await gate.alarm(false)).ok).toBe(true);
    expect(await slave.coils()).toEqual([0, 0, 0]);
  });

  it('readSensor_readsPassCountRegisterAndBlockedInput', async () => {
    if (!modbusPeerReady('modbus turnstile vs pymodbus')) return;
    const { pair, slave } = await rig(1);
    const gate = await driver(pair, 1);
    expect(await gate.readSensor()).toEqual({ ok: true, value: { passCount: 0, blocked: false } });
    slave.setInputRegister(0, 65535);
    slave.setDiscreteInput(0, 1);
    await slave.coils(); // a round trip: the commands above are applied in order before it
    expect(await gate.readSensor()).toEqual({
      ok: true, value: { passCount: 65535, blocked: true },
    });
  });

  it('controllerNotAnswering_wrongUnitId_givesTimeout_thenRightUnitWorks', async () => {
    if (!modbusPeerReady('modbus turnstile vs pymodbus')) return;
    const { pair } = await rig(1);
    const gate = await driver(pair, 9);
    const silent = await gate.readSensor();
    expect(silent.ok).toBe(false);
    if (!silent.ok) expect(silent.error).toBe(HalStatus.TIMEOUT);
    await gate.shutdown();
    const right = await driver(pair, 1);
    expect((await right.readSensor()).ok).toBe(true);
  });

  it('adapterUnpluggedWhilePolling_staysReaderIo_reopenAfterReplugServes', async () => {
    if (!modbusPeerReady('modbus turnstile vs pymodbus')) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-modbus-'));
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    const first = await startSocatPtyPair({ dir, startTimeoutMs: 5000, graceMs: 500 });
    const firstSlave = await startPymodbusSlave(first.devicePath, 1);
    const gate = await driver(first, 1);
    expect((await gate.readSensor()).ok).toBe(true);
    // The adapter goes while the gate polls: the port fails under requests in flight.
    const statuses: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const read = await gate.readSensor();
        statuses.push(read.ok ? 'ok' : read.error);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await firstSlave.stop();
    await first.close();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    polling = false;
    await poller;
    // Whatever the first failures were, the port stays lost: READER_IO until reopen().
    expect(statuses.slice(-3)).toEqual(Array(3).fill(HalStatus.READER_IO));
    // Plugged back at the same path: the open port is dead until reopen().
    const again = await startSocatPtyPair({ dir, startTimeoutMs: 5000, graceMs: 500 });
    cleanups.push(() => again.close());
    const slave = await startPymodbusSlave(again.devicePath, 1);
    cleanups.push(() => slave.stop());
    expect((await gate.reopen()).ok).toBe(true);
    expect((await gate.open('entry')).ok).toBe(true);
    expect(await slave.coils()).toEqual([1, 0, 0]);
  });

  it('missingDevice_givesReaderIo', async () => {
    const opened = await ModbusTurnstile.open({
      path: path.join(os.tmpdir(), 'shuaka-no-such-tty'), baudRate: 9600, unitId: 1,
      timeoutMs: 200,
    });
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.error).toBe(HalStatus.READER_IO);
  });
});
