// `shuaka run --board gate` as a real process whose gate controller restarts: its passage
// counter (input register 0) begins again at 0. The truths are outside the child: the
// emulated controller's counter, and the ledger file read back with our parser, as the gate
// reads it at its next start and as `depot report --gate-ledger` reads it.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterEach, beforeEach, expect, it } from 'vitest';

import { population } from '../../../host-sim/src/cards/card_population.js';
import { testPki } from '../../../host-sim/src/pki/test_pki.js';
import { externalToolsReady } from '../../../host-sim/src/pn532_sim/pty/external_tools.js';
import { gateLedgerParse } from '../../src/app/gate/gate_ledger.js';
import {
  gateTodayClearOfMidnight,
  modbusSpec,
  spawnShuaka,
  startControllerPty,
  startReaderPty,
  walkWhenOpen,
  writeGateParams,
} from './gate_run_child.js';

let dir = '';
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-gate-restart-'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

const GATE_JSON = {
  siteId: 'XIHU-N', dayCapacity: 100, slotEntryGraceMin: 0, walkIns: true,
  slots: [{ id: 'day', start: '00:00', end: '24:00', capacity: 100 }], tickets: [],
};

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The gate as a process on the emulated reader and controller (unit 3), stopped at the end. */
async function startGate(): Promise<{
  reader: Awaited<ReturnType<typeof startReaderPty>>;
  ctl: Awaited<ReturnType<typeof startControllerPty>>;
  child: ReturnType<typeof spawnShuaka>;
}> {
  const reader = await startReaderPty(dir);
  cleanups.push(() => reader.close());
  const ctl = await startControllerPty(dir, 3);
  cleanups.push(() => ctl.close());
  const child = spawnShuaka(['run', '--board', 'gate', '--port', reader.hostPath,
    ...await writeGateParams(dir, GATE_JSON), '--mode', 'ec', '--sysfs-root',
    join(dir, 'no-sys'), '--journal', join(dir, 'journal'), '--turnstile',
    modbusSpec(ctl.hostPath, 3)]);
  cleanups.push(async () => {
    child.proc.kill('SIGKILL');
    await child.exited;
  });
  return { reader, ctl, child };
}

it('controllerRestarts_counterBackToZero_isNoTailgating_andTheLedgerStillReads', async () => {
  if (!externalToolsReady(['socat'], 'gate controller restart process test')) return;
  const day = await gateTodayClearOfMidnight(40_000);
  const { reader, ctl, child } = await startGate();
  expect((await child.next('start'))?.['outOfService']).toBeNull();
  // A walk-in pays and walks: the controller's counter reads 1.
  const card = population(14, { pki: testPki() }).card('unionpay-debit-ec');
  const tapped = child.next('gate-tap');
  const walking = walkWhenOpen(ctl.controller, 1, 15_000);
  reader.sim.placeCard(card);
  expect(await Promise.all([tapped, walking])).toMatchObject([{ passed: 1 }, 1]);
  reader.sim.removeCard(card);
  // The controller restarts: its counter is 0 again. The gate polls it while idle.
  ctl.controller.passCount = 0;
  await pause(2_000);
  // The twin: someone jumps the locked arms after the restart, and is counted as one.
  ctl.controller.walk('entry', true);
  await pause(2_000);
  const stopped = child.next('stopped');
  child.proc.kill('SIGTERM');
  expect(await stopped).not.toBeNull();
  const bytes = readFileSync(join(dir, 'journal', `gate-${day}.log`));
  const parsed = gateLedgerParse(new Uint8Array(bytes), 'ledger');
  expect(parsed.ok ? '' : parsed.error).toBe('');
  if (!parsed.ok) return;
  const tailgates = parsed.value.records.filter((r) => r.kind === 'tailgate');
  expect(tailgates.map((r) => ('count' in r ? r.count : null))).toEqual([1]);
  expect(parsed.value.records.filter((r) => r.kind === 'entry')).toHaveLength(1);
}, 90_000);

it('controllerSilent_isLoggedOnceAsAnError_notAtEveryPoll_andItsReturnIsLogged', async () => {
  if (!externalToolsReady(['socat'], 'gate controller restart process test')) return;
  const { ctl, child } = await startGate();
  expect((await child.next('start'))?.['outOfService']).toBeNull();
  // The controller goes silent (its RS-485 side unplugged): the idle check polls on.
  ctl.slave.faults.silent = true;
  const first = await child.next('gate-out-of-service');
  expect(first).toMatchObject({ level: 'error', reason: expect.stringMatching(/^lane fault/) });
  await pause(4_000);
  const outOfService = child.lines.filter((l) => l['event'] === 'gate-out-of-service');
  expect(outOfService).toHaveLength(1);
  // It answers again: the lane serves, and the log says so (as reader-back does for a reader).
  ctl.slave.faults.silent = false;
  const back = await child.next('gate-back');
  expect(back).toMatchObject({ level: 'info', after: first?.['reason'] });
}, 90_000);

it('controllerAdapterUnpluggedThenPluggedBack_laneServesAgain_locked', async () => {
  if (!externalToolsReady(['socat'], 'gate controller restart process test')) return;
  const { ctl, child } = await startGate();
  expect((await child.next('start'))?.['outOfService']).toBeNull();
  // The USB RS-485 adapter is pulled: its device node goes away (the port closes under us).
  const losing = child.next('gate-out-of-service');
  await ctl.close();
  const lost = await losing;
  // A request in flight times out or fails on the vanished port; the process must live on.
  expect(lost).toMatchObject({ reason: expect.stringMatching(/^lane fault: (TIMEOUT|READER_IO)/) });
  // Plugged back in: the same device path, a controller that answers.
  const coming = child.next('gate-back');
  const again = await startControllerPty(dir, 3, dirname(ctl.hostPath));
  cleanups.push(() => again.close());
  const back = await coming;
  expect(back).toMatchObject({ after: expect.stringMatching(/^lane fault/) });
  expect(again.controller.coils).toEqual([false, false, false]);
  expect(again.controller.walk('entry', false)).toBe('locked');
}, 90_000);
