// Shared Pn532Reader scenarios against the emulator: run in memory (ClockSim) and on a real pty.

import { expect, it } from 'vitest';
import type { ClockPort } from '../src/ports/clock_port.js';
import { HalStatus, type HalResult } from '../src/ports/hal_status.js';
import type { ReaderStartOptions } from '../src/ports/reader_control_port.js';
import type { Pn532Reader } from '../src/pn532/pn532_reader.js';
import type { Pn532Sim, Pn532SimOptions } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  SCRIPTED_IDENTITY_B,
  hexBytes,
  longCapdu300,
  qpbocScriptedCard,
  toHex,
  type ScriptedCard,
} from '../../host-sim/src/pn532_sim/pn532_scripted_card.js';

/** One driver wired to one emulator, whatever carries the bytes between them. */
export interface ReaderRigHandle {
  readonly reader: Pn532Reader;
  readonly sim: Pn532Sim;
  readonly clock: ClockPort;
  /** Every byte the driver wrote so far (SerialLinkSim transcript / NodeSerialLink record). */
  hostBytes(): Uint8Array;
  /** Awaits an operation (the in-memory rig steps its ClockSim meanwhile). */
  run<T>(p: Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export type ReaderRigFactory = (sim: Partial<Pn532SimOptions>) => Promise<ReaderRigHandle>;

export const SUITE_START: ReaderStartOptions = {
  baudRate: 921600,
  rf: { activationAttempts: 2, exchangeRetries: 0, cardAnswerTimeoutMs: 51.2 },
};

const TAP = [
  QPBOC_CAPDU.selectPpse,
  QPBOC_CAPDU.selectAid,
  QPBOC_CAPDU.gpo,
  QPBOC_CAPDU.readRecord1,
  QPBOC_CAPDU.readRecord2,
  QPBOC_CAPDU.readRecord3,
  QPBOC_CAPDU.readRecord4,
];

type Scenario = (rig: ReaderRigHandle) => Promise<void>;

interface Entry {
  readonly name: string;
  readonly sim: Partial<Pn532SimOptions>;
  readonly body: Scenario;
}

function value<T>(r: HalResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error}: ${r.detail}`);
  return r.value;
}

/** Waits (bounded) until `done()` holds: on a pty the emulator sees bytes a little later. */
async function eventually(rig: ReaderRigHandle, done: () => boolean): Promise<void> {
  for (let k = 0; k < 100 && !done(); k += 1) await rig.run(rig.clock.sleepMs(5));
}

function errorOf<T>(r: HalResult<T>): HalStatus | 'ok' {
  return r.ok ? 'ok' : r.error;
}

/** Starts the reader and activates `card` (placed in the field first). */
async function startWith(rig: ReaderRigHandle, card: ScriptedCard | undefined): Promise<void> {
  if (card !== undefined) rig.sim.placeCard(card);
  const info = value(await rig.run(rig.reader.start(SUITE_START)));
  expect(info.baudRate).toBe(921600);
  if (card === undefined) return;
  const polled = value(
    await rig.run(rig.reader.poll({ technologies: ['ISO14443A', 'ISO14443B'], timeoutMs: 500 })),
  );
  expect(polled.kind).toBe('one');
}

async function apdu(
  rig: ReaderRigHandle,
  capduHex: string,
  timeoutMs = 1000,
): Promise<HalResult<Uint8Array>> {
  return rig.run(rig.reader.transceive(hexBytes(capduHex), { timeoutMs }));
}

async function expectAnswer(
  rig: ReaderRigHandle,
  card: ScriptedCard,
  capduHex: string,
): Promise<void> {
  expect(toHex(value(await apdu(rig, capduHex)))).toBe(toHex(card.answerTo(capduHex)));
}

const ENTRIES: Entry[] = [
  {
    name: 'start_wakesChecksFirmwareAndSwitchesTo921600',
    sim: {},
    body: async (rig) => {
      const info = value(await rig.run(rig.reader.start(SUITE_START)));
      expect(info).toMatchObject({ name: 'PN532 v1.6', supportsTypeB: true, baudRate: 921600 });
      await eventually(rig, () => rig.sim.stats.baudSwitches === 1);
      expect(rig.sim.stats.baudSwitches).toBe(1);
      expect(rig.sim.stats.bytesLostWaking).toBe(2);
      // Wire-exact on both transports: wake burst + SAMConfiguration first, our ACK last.
      const sent = toHex(rig.hostBytes());
      expect(sent.startsWith(`5555${'00'.repeat(14)}0000FF03FDD4140117000000FF02FED4022A00`)).toBe(
        true,
      );
      expect(sent.endsWith('0000FF03FDD4100715000000FF00FF00')).toBe(true);
    },
  },
  {
    name: 'qpbocTap_everyAnswerIsTheCards_andTheCardSawEveryCommand',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      for (const c of TAP) await expectAnswer(rig, card, c);
      expect(card.received.map((c) => toHex(c))).toEqual(TAP.map((c) => toHex(hexBytes(c))));
    },
  },
  {
    name: 'poll_reportsTheCardsIdentity',
    sim: {},
    body: async (rig) => {
      rig.sim.placeCard(qpbocScriptedCard('a', SCRIPTED_IDENTITY_A));
      value(await rig.run(rig.reader.start(SUITE_START)));
      const polled = value(
        await rig.run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 })),
      );
      expect(polled.kind === 'one' && polled.card).toMatchObject(
        SCRIPTED_IDENTITY_A.kind === 'A'
          ? {
              uid: SCRIPTED_IDENTITY_A.uid,
              atqa: SCRIPTED_IDENTITY_A.atqa,
              sak: 0x28,
              ats: SCRIPTED_IDENTITY_A.ats,
            }
          : {},
      );
    },
  },
  {
    name: 'longAnswers_258ByteExtendedFrame_and600ByteMiChain',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      await expectAnswer(rig, card, QPBOC_CAPDU.getData258);
      await expectAnswer(rig, card, QPBOC_CAPDU.getLong600);
    },
  },
  {
    name: 'miChunk64_258ByteAnswer_reassembledFromFiveParts',
    sim: { miChunkBytes: 64 },
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      await expectAnswer(rig, card, QPBOC_CAPDU.getData258);
      await expectAnswer(rig, card, QPBOC_CAPDU.gpo);
    },
  },
  {
    name: 'longCommand_300Bytes_chainedToTheCardWhole',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      const capdu = longCapdu300();
      const r = value(await rig.run(rig.reader.transceive(capdu, { timeoutMs: 1000 })));
      expect(toHex(r)).toBe('9000');
      expect(toHex(card.received.at(-1) ?? [])).toBe(toHex(capdu));
    },
  },
  {
    name: 'twoCards_refusedAsSeveral_oneLeft_thenAccepted',
    sim: {},
    body: async (rig) => {
      const a = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      const b = qpbocScriptedCard('a2', {
        kind: 'A',
        uid: Uint8Array.of(1, 2, 3, 4),
        atqa: Uint8Array.of(0x00, 0x04),
        sak: 0x20,
        ats: Uint8Array.of(0x05, 0x78, 0x80, 0x70, 0x02),
      });
      rig.sim.placeCard(b);
      await startWith(rig, undefined);
      rig.sim.placeCard(a);
      const poll = { technologies: ['ISO14443A'], timeoutMs: 500 } as const;
      expect(value(await rig.run(rig.reader.poll(poll)))).toEqual({ kind: 'several', count: 2 });
      rig.sim.removeCard(b);
      expect(value(await rig.run(rig.reader.poll(poll))).kind).toBe('one');
      await expectAnswer(rig, a, QPBOC_CAPDU.selectPpse);
    },
  },
  {
    name: 'typeB_pollAndApdu',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('b', SCRIPTED_IDENTITY_B);
      rig.sim.placeCard(card);
      value(await rig.run(rig.reader.start(SUITE_START)));
      const polled = value(
        await rig.run(
          rig.reader.poll({ technologies: ['ISO14443A', 'ISO14443B'], timeoutMs: 500 }),
        ),
      );
      expect(
        polled.kind === 'one' &&
          toHex(polled.card.technology === 'ISO14443B' ? polled.card.pupi : []),
      ).toBe('1A2B3C4D');
      await expectAnswer(rig, card, QPBOC_CAPDU.selectPpse);
    },
  },
  {
    name: 'noCard_none_thenACardArrives_one',
    sim: {},
    body: async (rig) => {
      await startWith(rig, undefined);
      const poll = { technologies: ['ISO14443A'], timeoutMs: 500 } as const;
      expect(value(await rig.run(rig.reader.poll(poll)))).toEqual({ kind: 'none' });
      rig.sim.placeCard(qpbocScriptedCard('a', SCRIPTED_IDENTITY_A));
      expect(value(await rig.run(rig.reader.poll(poll))).kind).toBe('one');
    },
  },
  {
    name: 'faults_lostBytesAndBadChecksum_recoveredByNack',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      rig.sim.injectFault({ kind: 'lose-response-bytes', offset: 12, count: 7, command: 0x40 });
      await expectAnswer(rig, card, QPBOC_CAPDU.readRecord1);
      rig.sim.injectFault({ kind: 'bad-checksum', times: 1, command: 0x40 });
      await expectAnswer(rig, card, QPBOC_CAPDU.readRecord2);
      expect(rig.reader.diagnostics().nacksSent).toBe(2);
      expect(rig.sim.stats.nacksReceived).toBe(2);
    },
  },
  {
    name: 'faults_missingAck_answerStillAccepted',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      rig.sim.injectFault({ kind: 'drop-ack', command: 0x40 });
      await expectAnswer(rig, card, QPBOC_CAPDU.selectPpse);
      expect(rig.reader.diagnostics().acksMissing).toBe(0);
    },
  },
  {
    name: 'faults_lostApduFrame_timesOutWithoutResend_lostConfigFrame_resent',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      rig.sim.injectFault({ kind: 'ignore-command', command: 0x40 });
      expect(errorOf(await apdu(rig, QPBOC_CAPDU.selectAid, 300))).toBe(HalStatus.TIMEOUT);
      expect(card.received.length).toBe(0);
      rig.sim.injectFault({ kind: 'ignore-command', command: 0x32 });
      value(await rig.run(rig.reader.configure(SUITE_START.rf)));
      expect(rig.reader.diagnostics().acksMissing).toBe(2);
      await expectAnswer(rig, card, QPBOC_CAPDU.selectAid);
    },
  },
  {
    name: 'faults_noiseBeforeAnswer_resynchronised',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      rig.sim.injectFault({
        kind: 'noise-before-response',
        bytes: hexBytes('FF5500FF0712'),
        command: 0x40,
      });
      await expectAnswer(rig, card, QPBOC_CAPDU.gpo);
    },
  },
  {
    name: 'faults_errorStatusAndErrorFrame_mapped_thenNextApduWorks',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      rig.sim.injectFault({ kind: 'error-status', status: 0x02, command: 0x40 });
      expect(errorOf(await apdu(rig, QPBOC_CAPDU.selectPpse))).toBe(HalStatus.TRANSMISSION);
      rig.sim.injectFault({ kind: 'error-frame', command: 0x40 });
      expect(errorOf(await apdu(rig, QPBOC_CAPDU.selectPpse))).toBe(HalStatus.PROTOCOL);
      await expectAnswer(rig, card, QPBOC_CAPDU.selectPpse);
    },
  },
  {
    name: 'faults_hungCommand_timesOutAndAborts_thenNextApduWorks',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      rig.sim.injectFault({ kind: 'no-response', command: 0x40 });
      expect(errorOf(await apdu(rig, QPBOC_CAPDU.selectPpse, 200))).toBe(HalStatus.TIMEOUT);
      await eventually(rig, () => rig.sim.stats.abortsReceived === 1);
      expect(rig.sim.stats.abortsReceived).toBe(1);
      await expectAnswer(rig, card, QPBOC_CAPDU.selectPpse);
    },
  },
  {
    name: 'faults_cardRemovedMidExchange_cardGone_tornCommandReachedTheCard',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      await expectAnswer(rig, card, QPBOC_CAPDU.selectPpse);
      rig.sim.injectFault({ kind: 'remove-card', when: 'after-card' });
      expect(errorOf(await apdu(rig, QPBOC_CAPDU.gpo))).toBe(HalStatus.CARD_GONE);
      expect(toHex(card.received.at(-1) ?? [])).toBe(toHex(hexBytes(QPBOC_CAPDU.gpo)));
      expect(value(await rig.run(rig.reader.isCardPresent()))).toBe(false);
      const poll = { technologies: ['ISO14443A'], timeoutMs: 500 } as const;
      expect(value(await rig.run(rig.reader.poll(poll)))).toEqual({ kind: 'none' });
    },
  },
  {
    name: 'removal_afterRelease_waitEndsWhenTheCardLeaves',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      value(await rig.run(rig.reader.release()));
      expect(value(await rig.run(rig.reader.isCardPresent()))).toBe(true);
      void rig.clock.sleepMs(150).then(() => rig.sim.removeCard(card));
      value(await rig.run(rig.reader.waitForRemoval({ timeoutMs: 2000, intervalMs: 20 })));
      expect(rig.sim.cardsInField()).toEqual([]);
    },
  },
  {
    name: 'cancel_pendingExchange_cancelled_thenReaderUsable',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      rig.sim.injectFault({ kind: 'no-response', command: 0x40 });
      const pending = rig.reader.transceive(hexBytes(QPBOC_CAPDU.selectPpse), { timeoutMs: 5000 });
      void rig.clock.sleepMs(50).then(() => rig.reader.cancel());
      expect(errorOf(await rig.run(pending))).toBe(HalStatus.CANCELLED);
      await expectAnswer(rig, card, QPBOC_CAPDU.selectPpse);
    },
  },
  {
    name: 'shutdown_powersDown_andStartWakesItAgain',
    sim: {},
    body: async (rig) => {
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      await startWith(rig, card);
      value(await rig.run(rig.reader.shutdown()));
      await eventually(rig, () => rig.sim.stats.baudSwitches === 2);
      expect(rig.sim.stats.baudSwitches).toBe(2);
      await startWith(rig, undefined);
      expect(rig.sim.stats.bytesLostWaking).toBe(4);
      expect(
        value(await rig.run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }))).kind,
      ).toBe('one');
      await expectAnswer(rig, card, QPBOC_CAPDU.selectPpse);
    },
  },
];

/**
 * Declares one `it` per scenario. `ready` runs first in each test and returns false when the
 * transport cannot run here (it warns, or throws under CI).
 */
export function definePn532ReaderScenarios(factory: ReaderRigFactory, ready: () => boolean): void {
  for (const entry of ENTRIES) {
    it(entry.name, async () => {
      if (!ready()) return;
      const rig = await factory(entry.sim);
      try {
        await entry.body(rig);
      } finally {
        await rig.close();
      }
    });
  }
}
