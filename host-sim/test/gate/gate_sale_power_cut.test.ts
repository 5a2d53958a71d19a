// A power cut between a paid admission's final journal record and its `paid` ledger line, at
// every byte of that line: the start finds the final in the journal (the source of truth)
// and writes the `paid` line once, so the visitor's credit survives; the visitor taps again
// and walks through without a second debit (the card's own ledger is the truth). The twins:
// the whole line already durable adds nothing; a sale of a card never charged adds nothing.

import { describe, expect, it } from 'vitest';

import { GateApp } from '../../../firmware/src/app/gate/gate_app.js';
import { GATE_LANE_CONFIG_DEFAULT } from '../../../firmware/src/app/gate/gate_lane.js';
import {
  gateLedgerLine,
  gateLedgerParse,
  type GateRecord,
} from '../../../firmware/src/app/gate/gate_ledger.js';
import type { GateParams } from '../../../firmware/src/app/gate/gate_params.js';
import { VALIDATOR_CONFIG_DEFAULT } from '../../../firmware/src/app/validator/validator_ports.js';
import type { DetectedCard } from '../../../hal/src/ports/reader_port.js';
import { withFaults, type CardFault } from '../../src/cards/card_faults.js';
import { testPki } from '../../src/pki/test_pki.js';
import { Prng } from '../../src/prng.js';
import { riderPool, type RiderPool } from '../../src/sim/bus_riders.js';
import { busBoardOptions } from '../../src/sim/sim_board_parts.js';
import { createSimBoard, type SimBoard } from '../../src/sim/sim_board.js';
import { StorageSim } from '../../src/storage_sim.js';
import { TurnstileControllerSim } from '../../src/turnstile_sim/turnstile_controller_sim.js';
import { TurnstileSimPort } from '../../src/turnstile_sim/turnstile_sim_port.js';

const DAY = '2026-11-22';
const FILE = `gate-${DAY}.log`;
const CARD = 'unionpay-debit-ec';
const GATE: GateParams = {
  siteId: 'XIHU-N', dayCapacity: 100, slotEntryGraceMin: 0, walkIns: true,
  slots: [{ id: 'morning', startMinute: 480, endMinute: 720, capacity: 100 }], tickets: [],
};

interface Rig {
  readonly board: SimBoard;
  readonly pool: RiderPool;
  readonly port: TurnstileSimPort;
}

async function rigOpen(): Promise<Rig> {
  const pool = riderPool(4, 1, testPki(), 'default');
  const board = await createSimBoard(busBoardOptions({
    seed: 4, riders: 0, tornChance: 0, baudRate: 921_600, mode: 'auto', cardGroups: 1,
  }, pool));
  const port = new TurnstileSimPort(new TurnstileControllerSim(),
    { clock: board.clock, requestMs: 20, timeoutMs: 500 });
  return { board, pool, port };
}

/** A gate app on the rig's board (journal, kernel, reader) over `ledger`: a restart. */
async function appOn(r: Rig, ledger: StorageSim): Promise<GateApp> {
  const app = new GateApp({
    ...r.board.validatorPorts, turnstile: r.port, exitTurnstile: null, ledgerStorage: ledger,
    gateParams: () => GATE, cardToken: (pan) => pan.padStart(24, '0').slice(-24),
  }, { validator: VALIDATOR_CONFIG_DEFAULT, lane: GATE_LANE_CONFIG_DEFAULT, direction: 'entry' });
  const started = await r.board.rig.run(app.start());
  expect(started.ok, started.detail).toBe(true);
  return app;
}

/** The card taps and, when the lane opens, walks through; the card leaves after. */
async function tapAndWalk(
  r: Rig,
  app: GateApp,
  faults: readonly CardFault[] = [],
): Promise<ReturnType<GateApp['tap']>> {
  const entry = r.pool.cards.find((c) => c.name === CARD);
  if (entry === undefined) throw new Error(`no ${CARD}`);
  const presented = faults.length === 0 ? entry.card : withFaults(entry.card, { faults });
  r.board.rig.sim.placeCard(presented);
  const polled = await r.board.rig.run(r.board.validatorPorts.reader.poll({
    technologies: ['ISO14443A', 'ISO14443B'], timeoutMs: 200,
  }));
  if (!polled.ok || polled.value.kind !== 'one') throw new Error('card not found');
  const card: DetectedCard = polled.value.card;
  const walked = r.board.clock.sleepMs(1_500).then(() => r.port.controller.walk('entry', false));
  const report = await r.board.rig.run(Promise.all([app.tap(card), walked]).then(([x]) => x));
  r.board.rig.sim.removeCard(presented);
  return report;
}

function ledgerOf(bytes: Uint8Array): StorageSim {
  const storage = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(2), tornModes: ['prefix'] });
  void storage.append(FILE, bytes).then(() => storage.sync(FILE));
  return storage;
}

function records(storage: StorageSim): GateRecord[] {
  const parsed = gateLedgerParse(storage.durableFiles().get(FILE) ?? new Uint8Array(), FILE);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value.records;
}

function cardDebits(r: Rig): number {
  return r.pool.cards.find((c) => c.name === CARD)?.card.ledger().length ?? -1;
}

describe('gate sale: power cut between the final record and the paid line', () => {
  it('everyByteOfThePaidLine_theStartWritesItOnce_andTheCreditAdmitsWithoutADebit', async () => {
    const r = await rigOpen();
    const first = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(1), tornModes: ['prefix'] });
    const app = await appOn(r, first);
    const sold = await tapAndWalk(r, app);
    expect(sold.decision?.kind).toBe('pay');
    expect(cardDebits(r)).toBe(1);
    const kept = records(first);
    expect(kept.map((x) => x.kind)).toEqual(['sale', 'paid', 'entry']);
    const [sale, paid] = kept as [GateRecord, GateRecord];
    const saleBytes = gateLedgerLine(sale);
    const paidBytes = gateLedgerLine(paid);
    const token = paid.kind === 'paid' ? paid.cardToken : '';
    for (let cut = 0; cut <= paidBytes.length; cut += 1) {
      // The durable ledger at the cut: the sale line and `cut` bytes of the paid line.
      const bytes = new Uint8Array(saleBytes.length + cut);
      bytes.set(saleBytes, 0);
      bytes.set(paidBytes.subarray(0, cut), saleBytes.length);
      const ledger = ledgerOf(bytes);
      const restarted = await appOn(r, ledger);
      const after = records(ledger);
      expect(after, `cut ${cut}`).toEqual([sale, paid]);
      expect(restarted.counts()?.card(token).paidUnused, `cut ${cut}`).toBe(1);
      if (cut === 0 || cut === paidBytes.length >> 1 || cut === paidBytes.length) {
        // The visitor comes back: the credit opens the lane, the card is not debited again.
        const again = await tapAndWalk(r, restarted);
        expect(again.decision, `cut ${cut}`).toEqual({ kind: 'credit', persons: 1 });
        expect(again.lane?.passed).toBe(1);
        expect(cardDebits(r)).toBe(1);
        expect(records(ledger).map((x) => x.kind)).toEqual(['sale', 'paid', 'entry']);
      }
    }
    r.board.dispose();
  }, 120_000);

  it('debitTornAtItsCommit_recoveredAtTheReTap_answersTheSale_andAdmitsOnce', async () => {
    // The committing READ RECORD's answer lost (the card debited): the tap tears after its
    // sale line. The re-tap recovers the debit with no decision point: old code kept the
    // lane shut and wrote no paid line, and the next tap was a new sale, a second debit.
    let torn = 0;
    for (let command = 1; command <= 16; command += 1) {
      const r = await rigOpen();
      const ledger = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(1),
        tornModes: ['prefix'] });
      const app = await appOn(r, ledger);
      const first = await tapAndWalk(r, app, [{ kind: 'drop-response', command }]);
      const where = `answer ${command} lost`;
      if (first.tap.result !== 'tryAgain' || cardDebits(r) !== 1) {
        r.board.dispose();
        continue;
      }
      torn += 1;
      expect(records(ledger).map((x) => x.kind), where).toEqual(['sale']);
      const again = await tapAndWalk(r, app);
      expect(again.tap.recovered, where).toBe(true);
      expect(again.decision, where).toEqual({ kind: 'credit', persons: 1 });
      expect(again.lane?.passed, where).toBe(1);
      expect(cardDebits(r), where).toBe(1);
      expect(records(ledger).map((x) => x.kind), where).toEqual(['sale', 'paid', 'entry']);
      r.board.dispose();
    }
    expect(torn).toBeGreaterThan(0);
  }, 120_000);

  it('aTornLedgerTail_isCutAndLogged_soTheOperatorKnowsALineWasLost', async () => {
    // A power cut in the middle of the entry line: the gate cut it silently (found from the
    // outside: `truncate -s -30` on the day's ledger, restart, no word in the log).
    const r = await rigOpen();
    const first = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(1), tornModes: ['prefix'] });
    await tapAndWalk(r, await appOn(r, first));
    const whole = first.durableFiles().get(FILE) ?? new Uint8Array();
    const torn = whole.subarray(0, whole.length - 30);
    const ledger = ledgerOf(torn);
    await appOn(r, ledger);
    const lines = r.board.logs.filter((l) => l['event'] === 'gate-ledger-torn-tail');
    const cut = torn.length - torn.lastIndexOf(0x0a) - 1;
    expect(lines).toEqual([{ event: 'gate-ledger-torn-tail', date: DAY, bytes: cut }]);
    expect(records(ledger).map((x) => x.kind)).toEqual(['sale', 'paid']);
    r.board.dispose();
  }, 120_000);

  it('saleCutBeforeMidnight_answeredWhenTheNextDayCarriesItsCredits', async () => {
    const r = await rigOpen();
    const first = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(1), tornModes: ['prefix'] });
    await tapAndWalk(r, await appOn(r, first));
    const [sale, paid] = records(first) as [GateRecord, GateRecord];
    const token = paid.kind === 'paid' ? paid.cardToken : '';
    // Debited, then the power went before the paid line; the gate starts again tomorrow.
    const ledger = ledgerOf(gateLedgerLine(sale));
    await r.board.rig.run(r.board.clock.sleepMs(86_400_000));
    const restarted = await appOn(r, ledger);
    // Old code: only today's ledger was reconciled; yesterday's sale stayed unanswered and
    // the visitor, who had paid, was charged again.
    expect(records(ledger)).toEqual([sale, { ...paid, minute: sale.minute }]);
    expect(restarted.counts()?.card(token).paidUnused).toBe(1);
    const again = await tapAndWalk(r, restarted);
    expect(again.decision).toEqual({ kind: 'credit', persons: 1 });
    expect(again.lane?.passed).toBe(1);
    expect(cardDebits(r)).toBe(1);
    r.board.dispose();
  }, 60_000);

  it('saleOfACardNeverCharged_addsNoPaidLine', async () => {
    const r = await rigOpen();
    const first = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(1), tornModes: ['prefix'] });
    await tapAndWalk(r, await appOn(r, first));
    const [sale] = records(first) as [GateRecord];
    if (sale.kind !== 'sale') throw new Error('no sale line');
    // Another card's sale, cut before its commit: no final of that card in the journal.
    const otherToken = 'CD'.repeat(12);
    const other: GateRecord = { ...sale, panToken: 'AB'.repeat(16), cardToken: otherToken,
      lastSeq: r.board.validatorPorts.journal.summary().lastSeq };
    const ledger = ledgerOf(gateLedgerLine(other));
    const restarted = await appOn(r, ledger);
    expect(records(ledger)).toEqual([other]);
    expect(restarted.counts()?.card(otherToken).paidUnused).toBe(0);
    // And its twin: the charged card's own sale line, cut the same way, is answered.
    const own = ledgerOf(gateLedgerLine(sale));
    await appOn(r, own);
    expect(records(own).map((x) => x.kind)).toEqual(['sale', 'paid']);
    r.board.dispose();
  }, 60_000);
});
