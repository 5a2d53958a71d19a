// `shuaka run --board gate` as a real process: the PN532 emulator on one socat pty, the
// gate-controller emulator (Modbus RTU slave) on another. The truths are outside the child:
// the controller's pass counter and released coils, the cards' own debit ledgers, and the
// ledger file read back with our parser; the failing twins are refusals that never release
// the lane, and starts refused with their documented exit codes.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { population } from '../../../host-sim/src/cards/card_population.js';
import type { QpbocCard } from '../../../host-sim/src/cards/qpboc_card.js';
import { testPki } from '../../../host-sim/src/pki/test_pki.js';
import { externalToolsReady } from '../../../host-sim/src/pn532_sim/pty/external_tools.js';
import type { Pn532SimOnPty } from '../../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { gateLedgerParse, type GateRecord } from '../../src/app/gate/gate_ledger.js';
import {
  BIN,
  ROOT,
  gateTodayClearOfMidnight,
  modbusSpec,
  spawnShuaka,
  startControllerPty,
  startReaderPty,
  testCardToken,
  walkWhenOpen,
  writeGateParams,
  type ControllerPty,
  type GateChild,
} from './gate_run_child.js';

const TOOLS = 'shuaka run --board gate process test';
let dir = '';
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(() => {
  if (!externalToolsReady(['socat'], TOOLS)) return;
  const warm = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(warm.status, warm.stderr).toBe(0);
}, 180_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-gate-run-'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** Longest a test below may take from its start to its last tap: no local midnight in it. */
const ONE_DAY_SPAN_MS = 40_000;

function panOf(card: QpbocCard): string {
  const pan = card.profile.applications[0]?.pan;
  if (pan === undefined) throw new Error('card without an application');
  return pan;
}

/** gate.json: one all-day slot, walk-ins, and the given tickets. */
function gateJson(tickets: readonly object[]): object {
  return {
    siteId: 'XIHU-N', dayCapacity: 100, slotEntryGraceMin: 0, walkIns: true,
    slots: [{ id: 'day', start: '00:00', end: '24:00', capacity: 100 }],
    tickets,
  };
}

interface Lane {
  readonly reader: Pn532SimOnPty;
  readonly lane: ControllerPty;
  readonly flags: string[];
}

async function lane(paramsFlags: readonly string[]): Promise<Lane> {
  const reader = await startReaderPty(dir);
  cleanups.push(() => reader.close());
  const ctl = await startControllerPty(dir, 3);
  cleanups.push(() => ctl.close());
  const flags = ['run', '--board', 'gate', '--port', reader.hostPath, ...paramsFlags,
    '--mode', 'ec', '--sysfs-root', join(dir, 'no-sys'), '--journal', join(dir, 'journal'),
    '--turnstile', modbusSpec(ctl.hostPath, 3)];
  return { reader, lane: ctl, flags };
}

function started(flags: readonly string[]): Promise<GateChild> {
  const child = spawnShuaka(flags);
  cleanups.push(async () => {
    child.proc.kill('SIGKILL');
    await child.exited;
  });
  return child.next('start').then((line) => {
    expect(line, `no start: ${child.stderr.join('')}`).not.toBeNull();
    expect(line?.['outOfService']).toBeNull();
    return child;
  });
}

/** A card held until the gate logged the tap; `persons` walk when the lane opens. */
async function tapAndWalk(
  l: Lane,
  child: GateChild,
  card: QpbocCard,
  persons: number,
): Promise<{ tap: Record<string, unknown> | null; walked: number }> {
  const logged = child.next('gate-tap');
  const walking = walkWhenOpen(l.lane.controller, persons, persons === 0 ? 1_500 : 15_000);
  l.reader.sim.placeCard(card);
  const [tap, walked] = await Promise.all([logged, walking]);
  l.reader.sim.removeCard(card);
  // The visitor steps away: the gate sees the field empty before the next card comes.
  await new Promise((resolve) => setTimeout(resolve, 600));
  return { tap, walked };
}

function ledger(day: string): GateRecord[] {
  const bytes = readFileSync(join(dir, 'journal', `gate-${day}.log`));
  const parsed = gateLedgerParse(new Uint8Array(bytes), 'ledger');
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value.records;
}

async function stop(child: GateChild): Promise<number | null> {
  const stopped = child.next('stopped');
  child.proc.kill('SIGTERM');
  expect(await stopped).not.toBeNull();
  return (await child.exited).code;
}

describe('shuaka run --board gate (real process, emulated reader and controller)', () => {
  it('walkIn_paysAtTheGate_walksThrough_thenPassbackKeepsTheLaneLocked', async () => {
    if (!externalToolsReady(['socat'], TOOLS)) return;
    // Both taps on one local day: the gate's passback is of the day (its ledger file).
    const day = await gateTodayClearOfMidnight(ONE_DAY_SPAN_MS);
    const l = await lane(await writeGateParams(dir, gateJson([])));
    const child = await started(l.flags);
    const card = population(14, { pki: testPki() }).card('unionpay-debit-ec');
    const first = await tapAndWalk(l, child, card, 1);
    expect(first.tap).toMatchObject({ decision: 'pay', result: 'approved', passed: 1 });
    expect(first.walked).toBe(1);
    // The card's own ledger: debited once, at the fares.json price (DEFAULT_FARES 200).
    expect(card.ledger().map((e) => e.amountMinor)).toEqual([200]);
    expect(l.lane.controller.passCount).toBe(1);
    // The failing twin: the same card again is passback; the lane is never released.
    const again = await tapAndWalk(l, child, card, 0);
    expect(again.tap).toMatchObject({ decision: 'refuse', reason: 'passback', passed: 0 });
    expect(again.walked).toBe(0);
    expect(card.ledger()).toHaveLength(1);
    // A card refused before any decision (expired): its gate-tap line says why (it said
    // reason null, as for a journal full: the operator saw 暂停服务 and no cause).
    const expired = await tapAndWalk(l, child,
      population(14, { pki: testPki() }).card('expired'), 0);
    expect(expired.tap).toMatchObject({ decision: null, result: 'declined', reason: 'expired',
      passed: 0 });
    expect(await stop(child)).toBe(0);
    const token = testCardToken(panOf(card));
    expect(ledger(day).map((r) => [r.kind, 'cardToken' in r ? r.cardToken : null])).toEqual([
      ['sale', token], ['paid', token], ['entry', token], ['refused', token],
    ]);
    // The arms were left locked at the stop.
    expect(l.lane.controller.coils[0]).toBe(false);
  }, 90_000);

  it('ticketForTwo_admitsTheParty_oneByOne_withoutCharging', async () => {
    if (!externalToolsReady(['socat'], TOOLS)) return;
    const day = await gateTodayClearOfMidnight(ONE_DAY_SPAN_MS);
    const card = population(15, { pki: testPki() }).card('unionpay-credit-ec');
    const ticket = {
      ticketId: 'T-0001', cardToken: testCardToken(panOf(card)), date: day, slotId: 'day',
      persons: 2, reentry: false,
    };
    const l = await lane(await writeGateParams(dir, gateJson([ticket])));
    const child = await started(l.flags);
    const party = await tapAndWalk(l, child, card, 2);
    expect(party.tap).toMatchObject({ decision: 'ticket', passed: 2, tailgaters: 0 });
    expect(party.walked).toBe(2);
    expect(card.ledger()).toEqual([]);
    expect(l.lane.controller.passCount).toBe(2);
    expect(await stop(child)).toBe(0);
    expect(ledger(day).map((r) => r.kind)).toEqual(['entry', 'entry']);
  }, 90_000);
});

describe('shuaka run --board gate refuses to start, with its exit code', () => {
  async function exitOf(flags: readonly string[]): Promise<{ code: number | null; err: string }> {
    const child = spawnShuaka(flags);
    const ended = await child.exited;
    return { code: ended.code, err: child.stderr.join('') };
  }

  it('badFlags_exit2_namingTheProblem', async () => {
    if (!externalToolsReady(['socat'], TOOLS)) return;
    const base = ['run', '--port', '/dev/null'];
    const cases: [string[], RegExp][] = [
      [['--board', 'gate'], /needs --turnstile/],
      [['--board', 'tram', '--turnstile', 'x'], /--board must be bus or gate/],
      [['--turnstile', modbusSpec('/dev/ttyS9', 1)], /--turnstile needs --board gate/],
      [['--board', 'gate', '--turnstile', 'modbus:/dev/ttyS9?unit=0&baud=9600&timeoutMs=300'],
        /unit must be an integer in 1..247/],
      [['--board', 'gate', '--turnstile', `${modbusSpec('/dev/ttyS9', 1)}&parity=E`],
        /--turnstile: turnstile spec: unknown key 'parity'/],
      [['--board', 'gate', '--turnstile', modbusSpec('/dev/ttyS9', 1), '--lane', 'both'],
        /--lane must be entry or exit/],
      [['--board', 'gate', '--turnstile', modbusSpec('/dev/ttyS9', 1),
        '--exit-turnstile', modbusSpec('/dev/ttyS9', 2)], /name the same device/],
      // The gate board opens no PSAM: T-Union cards would be refused while the operator
      // believes them served. And the reader's serial port is not the controller's bus.
      [['--board', 'gate', '--turnstile', modbusSpec('/dev/ttyS9', 1), '--psam', 'pcsc:SAM'],
        /--psam is not served by --board gate/],
      [['--board', 'gate', '--turnstile', modbusSpec('/dev/null', 1)],
        /--port and --turnstile name the same device/],
      [['--board', 'gate', '--turnstile', modbusSpec('/dev/ttyS9', 1),
        '--exit-turnstile', modbusSpec('/dev/null', 2)],
        /--port and --exit-turnstile name the same device/],
    ];
    for (const [flags, problem] of cases) {
      const r = await exitOf([...base, ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.err, flags.join(' ')).toMatch(problem);
    }
  }, 60_000);

  it('missingDevices_silentController_exit6_6_3_6_thenStarts', async () => {
    if (!externalToolsReady(['socat'], TOOLS)) return;
    const l = await lane(await writeGateParams(dir, gateJson([])));
    const noDevice = l.flags.map((f) => (f.startsWith('modbus:')
      ? modbusSpec(join(dir, 'no-such-tty'), 3) : f));
    const missing = await exitOf(noDevice);
    expect(missing.code, missing.err).toBe(6);
    expect(missing.err).toMatch(/turnstile modbus:.*no-such-tty/);
    // A GPIO chip that is not there, and a reader port that is not there (exit 3).
    const noChip = l.flags.map((f) => (f.startsWith('modbus:')
      ? 'gpio:/dev/no-such-gpiochip?entry=1&exit=2&alarm=3&sensor=4&activeLow=0' : f));
    const chip = await exitOf(noChip);
    expect(chip.code, chip.err).toBe(6);
    expect(chip.err).toMatch(/turnstile gpio:\/dev\/no-such-gpiochip/);
    const noReader = l.flags.map((f) => (f === l.reader.hostPath ? join(dir, 'no-tty') : f));
    const reader = await exitOf(noReader);
    expect(reader.code, reader.err).toBe(3);
    // The controller on the line but silent (no power, wrong address): the lock times out.
    l.lane.slave.faults.silent = true;
    const silent = await exitOf(l.flags);
    expect(silent.code, silent.err).toBe(6);
    expect(silent.err).toMatch(/gate out of service: turnstile: TIMEOUT/);
    // Its twin: the controller answers again and the same flags start (then stop).
    l.lane.slave.faults.silent = false;
    const child = await started(l.flags);
    expect(await stop(child)).toBe(0);
  }, 90_000);

  it('busParameterSet_withoutGateJson_exit1', async () => {
    if (!externalToolsReady(['socat'], TOOLS)) return;
    const l = await lane(await writeGateParams(dir, null));
    const r = await exitOf(l.flags);
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/no gate\.json/);
  }, 60_000);
});
