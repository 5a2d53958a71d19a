// Our gate-controller emulator (Modbus RTU slave on a pty) against an independent master,
// Debian's mbpoll; and our Modbus driver against the emulator's injected faults.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { HalStatus } from '../../../hal/src/ports/hal_status.js';
import { ModbusTurnstile } from '../../../hal/src/turnstile/modbus_turnstile.js';
import { externalToolsReady } from '../../src/pn532_sim/pty/external_tools.js';
import { PtySerialLink } from '../../src/pn532_sim/pty/pty_serial_link.js';
import { startSocatPtyPair } from '../../src/pn532_sim/pty/socat_pty_pair.js';
import { WallClock } from '../../src/pn532_sim/pty/wall_clock.js';
import { TurnstileControllerSim } from '../../src/turnstile_sim/turnstile_controller_sim.js';
import { TurnstileModbusSlave } from '../../src/turnstile_sim/turnstile_modbus_slave.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Rig {
  readonly hostPath: string;
  readonly controller: TurnstileControllerSim;
  readonly slave: TurnstileModbusSlave;
}

async function rig(unitId: number): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-gate-sim-'));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const pair = await startSocatPtyPair({ dir, startTimeoutMs: 5000, graceMs: 500 });
  cleanups.push(() => pair.close());
  const clock = new WallClock();
  const link = await PtySerialLink.open({
    path: pair.devicePath, baudRate: 9600, pace: false, clock,
  });
  if (!link.ok) throw new Error(link.detail);
  cleanups.push(() => link.value.close());
  const controller = new TurnstileControllerSim();
  const slave = new TurnstileModbusSlave(link.value, controller, {
    unitId, interFrameSilenceMs: 50, clock,
  });
  return { hostPath: pair.hostPath, controller, slave };
}

/** Runs mbpoll once (-1) and returns exit code and stdout. */
function mbpoll(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('mbpoll', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** The "[ref]: value" lines of mbpoll's output. */
function mbpollValues(out: string): Record<number, number> {
  const values: Record<number, number> = {};
  for (const m of out.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)) values[Number(m[1])] = Number(m[2]);
  return values;
}

const RTU = ['-m', 'rtu', '-b', '9600', '-P', 'none', '-o', '0.5'];

describe('turnstile emulator against mbpoll', () => {
  it('mbpoll_readsCoilsInputAndCounter_asTheControllerHoldsThem', async () => {
    if (!externalToolsReady(['socat', 'mbpoll'], 'turnstile sim vs mbpoll')) return;
    const r = await rig(1);
    r.controller.coils[0] = true;
    r.controller.blocked = true;
    r.controller.passCount = 4321;
    const coils = await mbpoll([...RTU, '-a', '1', '-t', '0', '-r', '1', '-c', '3', '-1',
      r.hostPath]);
    expect(coils.code, coils.out).toBe(0);
    expect(mbpollValues(coils.out)).toEqual({ 1: 1, 2: 0, 3: 0 });
    const input = await mbpoll([...RTU, '-a', '1', '-t', '1', '-r', '1', '-c', '1', '-1',
      r.hostPath]);
    expect(mbpollValues(input.out)).toEqual({ 1: 1 });
    const counter = await mbpoll([...RTU, '-a', '1', '-t', '3', '-r', '1', '-c', '1', '-1',
      r.hostPath]);
    expect(mbpollValues(counter.out)).toEqual({ 1: 4321 });
  });

  it('mbpoll_writesCoilsAndRegister_theControllerTakesThem', async () => {
    if (!externalToolsReady(['socat', 'mbpoll'], 'turnstile sim vs mbpoll')) return;
    const r = await rig(7);
    const write = await mbpoll([...RTU, '-a', '7', '-t', '0', '-r', '2', r.hostPath, '1', '1']);
    expect(write.code, write.out).toBe(0);
    expect(r.controller.coils).toEqual([false, true, true]);
    const reg = await mbpoll([...RTU, '-a', '7', '-t', '4', '-r', '1', r.hostPath, '55']);
    expect(reg.code, reg.out).toBe(0);
    expect(r.controller.holding[0]).toBe(55);
  });

  it('mbpoll_illegalAddress_getsExceptionAnswer', async () => {
    if (!externalToolsReady(['socat', 'mbpoll'], 'turnstile sim vs mbpoll')) return;
    const r = await rig(1);
    const bad = await mbpoll([...RTU, '-a', '1', '-t', '0', '-r', '9', '-c', '1', '-1',
      r.hostPath]);
    expect(bad.out).toMatch(/Illegal data address/i);
    expect(r.slave.stats.answered).toBe(1);
  });

  it('mbpoll_otherUnit_getsNoAnswer', async () => {
    if (!externalToolsReady(['socat', 'mbpoll'], 'turnstile sim vs mbpoll')) return;
    const r = await rig(1);
    const other = await mbpoll([...RTU, '-a', '2', '-t', '0', '-r', '1', '-c', '1', '-1',
      r.hostPath]);
    expect(other.out).toMatch(/timed out/i);
    expect(r.slave.stats.otherUnit).toBeGreaterThan(0);
    expect(r.slave.stats.answered).toBe(0);
  });
});

describe('ModbusTurnstile against the emulator faults', () => {
  async function driverOn(r: Rig, unitId: number): Promise<ModbusTurnstile> {
    const opened = await ModbusTurnstile.open({
      path: r.hostPath, baudRate: 9600, unitId, timeoutMs: 300,
    });
    if (!opened.ok) throw new Error(opened.detail);
    cleanups.push(() => opened.value.shutdown());
    return opened.value;
  }

  it('corruptCrc_givesTransmission_andCleanAnswerAfterwards', async () => {
    if (!externalToolsReady(['socat'], 'turnstile driver vs emulator')) return;
    const r = await rig(1);
    const gate = await driverOn(r, 1);
    r.slave.faults.corruptCrc = true;
    const bad = await gate.open('entry');
    expect(bad.ok ? 'ok' : bad.error).toBe(HalStatus.TRANSMISSION);
    r.slave.faults.corruptCrc = false;
    expect((await gate.open('entry')).ok).toBe(true);
    expect(r.controller.coils[0]).toBe(true);
  });

  it('silentController_givesTimeout_thenServesAgain', async () => {
    if (!externalToolsReady(['socat'], 'turnstile driver vs emulator')) return;
    const r = await rig(1);
    const gate = await driverOn(r, 1);
    r.slave.faults.silent = true;
    const silent = await gate.readSensor();
    expect(silent.ok ? 'ok' : silent.error).toBe(HalStatus.TIMEOUT);
    r.slave.faults.silent = false;
    r.controller.passCount = 2;
    expect(await gate.readSensor()).toEqual({ ok: true, value: { passCount: 2, blocked: false } });
  });

  it('reopen_afterDeviceRecreated_works', async () => {
    if (!externalToolsReady(['socat'], 'turnstile driver vs emulator')) return;
    const r = await rig(1);
    const gate = await driverOn(r, 1);
    expect((await gate.reopen()).ok).toBe(true);
    expect((await gate.close()).ok).toBe(true);
  });
});
