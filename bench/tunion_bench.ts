// The T-Union (JT/T 978) tap: real kernel, host session, fare and journal (FileStorage with
// fsync) timed for real; card, air, PSAM and PN532 UART modelled per exchange. Prints the
// phase budget beside the qPBOC base tap and our own share of the tap.
//
// Assumptions (no public figure; see bench/README.md): card processing of an e-purse card
// per command class below; the PSAM on an ISO 7816-3 contact interface at its default rate
// (Fi 372 / Di 1 at 3.57 MHz = 9600 bit/s, 12 etu per character with the guard time, so
// 1.25 ms per byte) with processing of 15 ms for INIT SAM FOR PURCHASE (two key
// diversifications, the session key and MAC1: 6-8 3DES blocks on a SAM coprocessor) and 5 ms
// for CREDIT SAM FOR PURCHASE and other commands; the PN532 on a 921600-baud UART (the e2e
// base scenario), 10 bytes of framing and a 6-byte ACK per command.

import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileStorage } from '../hal/src/storage/file_storage.js';
import { loadKernel } from '../assembly/host/kernel_loader.js';
import { configureJtt978, runCardTransaction } from '../assembly/host/jtt978_session.js';
import { configureQpboc, UNIONPAY_AIDS } from '../assembly/host/qpboc_session.js';
import { ClockSim } from '../host-sim/src/clock_sim.js';
import { TUNION_AID } from '../host-sim/src/cards/tunion_card.js';
import { tunionCard } from '../host-sim/src/cards/tunion_population.js';
import { iso14443ExchangeAirMs } from '../host-sim/src/pn532_sim/pn532_sim_rf_timing.js';
import { PsamEmulator } from '../host-sim/src/psam/psam_emulator.js';
import { PSAM_AID, testPsamProfile } from '../host-sim/src/psam/psam_profile.js';
import { Journal } from '../firmware/src/app/journal/journal.js';
import { paramsContentParse } from '../firmware/src/app/params/params_files.js';
import type { FareParams } from '../firmware/src/app/params/params_files.js';
import { paramsStarterFiles } from '../firmware/src/cli/params_init.js';
import { DenyKey } from '../firmware/src/app/deny_list/deny_key.js';
import type { DenyList } from '../firmware/src/app/deny_list/deny_list.js';
import { TunionTap } from '../firmware/src/app/validator/tunion_tap.js';

const TAPS = 200;
const PSAM_MS_PER_BYTE = 1.25;
const UART_BYTES_PER_MS = 92;
const PN532_FRAME_OVERHEAD_BYTES = 10 + 6;
/** Card processing per command (INS), ms: an e-purse card, assumptions (header). */
const CARD_MS: Readonly<Record<number, number>> = {
  0xa4: 8, 0xb0: 6, 0xb2: 6, 0x5c: 5, 0x50: 15, 0xdc: 10, 0x54: 25, 0x5a: 10,
};
const PSAM_PROCESSING_MS: Readonly<Record<number, number>> = { 0x70: 15, 0x72: 5 };

/** Medians of one phase set; ms. */
interface Phases {
  air: number;
  card: number;
  psam: number;
  uart: number;
  own: number;
  /** Of `own`: the two journal appends (grey, final), each with its fsync. */
  journal: number;
}

/** The bench's fares and its (empty) deny list bound to the key: each tap pays its lookup. */
function fares(): { fares: FareParams; denyList: DenyList } {
  const denyKey = DenyKey.fromBytes(new Uint8Array(32).fill(7));
  const files = paramsStarterFiles('BUS00001', 'B12', denyKey);
  const stops = Array.from({ length: 20 }, (_, i) => ({ stop: i + 1, distanceM: i * 700 }));
  const doc = {
    currencyCode: 156, flatFareMinor: 200, categories: [],
    transfer: { discountMinor: 100, windowSec: 5400 }, duplicateTapWindowSec: 60,
    tornWindowSec: 600,
    transit: {
      cityCodeHex: '4403', institutionHex: '0102030405060708', operatorCodeHex: '0001',
      lines: [{ kind: 'segment', lineId: 'B12', lineCode: 12, basis: 'stops', stops,
        bands: [{ upTo: 5, fareMinor: 200 }, { upTo: 19, fareMinor: 400 }],
        markedAmountMinor: 400, maxRideMin: 120 }],
    },
  };
  files.set('fares.json', new TextEncoder().encode(JSON.stringify(doc)));
  const content = paramsContentParse(files);
  const bound = content.denyList.bind(denyKey, 'deny_list.bin');
  if (!bound.ok) throw bound.error;
  return { fares: content.fares, denyList: bound.value };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Runs TAPS taps (boarding and alighting in turn) and returns each tap's phases. */
async function runTaps(dir: string): Promise<Phases[]> {
  const kernel = await loadKernel();
  const aids = [...UNIONPAY_AIDS, { aid: TUNION_AID, partialMatch: false }];
  configureQpboc(kernel, { countryCode: '0156', currencyCode: '0156', aids });
  const profile = testPsamProfile();
  configureJtt978(kernel, { terminalNumber: profile.terminalNumber, keyIndex: profile.keyIndex });
  const psam = new PsamEmulator(profile);
  psam.powerOn();
  psam.transmit(Uint8Array.of(0x00, 0xa4, 0x04, 0x00, PSAM_AID.length, ...PSAM_AID));
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const clock = new ClockSim(Date.UTC(2026, 11, 3));
  const opened = await Journal.open(storage.value, {
    fileName: 'journal.bin', clock, reserveBytes: 8192, sizeBytesMax: 1 << 24 });
  if (!opened.ok) throw new Error(opened.detail);
  const journal = opened.value.journal;
  const fareParams = fares();
  const out: Phases[] = [];
  let card = tunionCard(1, 'tunion-interop-shenzhen');
  for (let i = 0; i < TAPS; i += 1) {
    // A new card (50 yuan) every ten taps: five rides never empty it.
    if (i % 10 === 0) card = tunionCard(1 + i, 'tunion-interop-shenzhen');
    out.push(await oneTap(kernel, journal, fareParams, card, psam, i));
  }
  return out;
}

async function oneTap(
  kernel: Awaited<ReturnType<typeof loadKernel>>, journal: Journal,
  fareParams: ReturnType<typeof fares>,
  card: ReturnType<typeof tunionCard>, psam: PsamEmulator, i: number,
): Promise<Phases> {
  const phases: Phases = { air: 0, card: 0, psam: 0, uart: 0, own: 0, journal: 0 };
  let devicesMs = 0;
  card.powerOn();
  const nowWallMs = Date.UTC(2026, 11, 3, 0, 0, 0) + i * 20 * 60_000;
  const timed: Pick<Journal, 'append' | 'lastSeq'> = {
    append: async (entry) => {
      const t = performance.now();
      const written = await journal.append(entry);
      phases.journal += performance.now() - t;
      return written;
    },
    lastSeq: () => journal.lastSeq(),
  };
  const session = new TunionTap(timed, {
    fares: fareParams.fares, denyList: fareParams.denyList, terminalId: 'BUS00001',
    lineId: 'B12', paramsVersion: 1,
    terminalNumberHex: Buffer.from(testPsamProfile().terminalNumber).toString('hex'),
    stop: i % 2 === 0 ? 2 : 2 + (i % 17), vehicle: 'SU-E1234', direction: 0, nowWallMs,
    utcOffsetMinutes: 480, uidHex: '', psamCheck: async () => null,
  });
  const started = performance.now();
  const result = await runCardTransaction(kernel, {
    transceive: async (capdu) => {
      const t = performance.now();
      const rapdu = card.transceive(capdu);
      devicesMs += performance.now() - t;
      const answer = rapdu?.length ?? 0;
      phases.air += iso14443ExchangeAirMs({ type: 'A', bitRateKbps: 106,
        capduBytes: capdu.length, rapduBytes: answer, fscBytes: 256, fsdBytes: 64 });
      phases.card += CARD_MS[capdu[1] ?? 0] ?? 3;
      phases.uart += (capdu.length + answer + 2 * PN532_FRAME_OVERHEAD_BYTES) / UART_BYTES_PER_MS;
      return rapdu;
    },
    psamTransceive: async (capdu) => {
      const t = performance.now();
      const rapdu = psam.transmit(capdu);
      devicesMs += performance.now() - t;
      phases.psam += (capdu.length + rapdu.length + 1) * PSAM_MS_PER_BYTE
        + (PSAM_PROCESSING_MS[capdu[1] ?? 0] ?? 5);
      return rapdu;
    },
    decide: () => 'proceed',
    decideJtt978: (data) => session.decide(data),
    precommit: (grey) => session.precommit(grey),
  }, { mode: 'ec', amountMinor: 0, date: '261203', time: '080000',
    unpredictableNumber: Uint8Array.of(1, 2, 3, 4) });
  const finished = result.app === 'jtt978'
    ? await session.finish(result.outcome, result.transcript) : null;
  phases.own = performance.now() - started - devicesMs;
  if (finished?.outcome !== 'approved') throw new Error(`tap ${i}: ${finished?.reason}`);
  return phases;
}

/** Prints the T-Union tap's phase budget and our own share. */
export async function runTunionBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-tunion-bench-'));
  try {
    const taps = await runTaps(join(dir, 'journal'));
    const pick = (key: keyof Phases): number => median(taps.map((t) => t[key]));
    const phases: Phases = {
      air: pick('air'), card: pick('card'), psam: pick('psam'), uart: pick('uart'),
      own: pick('own'), journal: pick('journal'),
    };
    const total = phases.air + phases.card + phases.psam + phases.uart + phases.own;
    console.log(`\nT-Union tap (JT/T 978 compound purchase, ${TAPS} taps, medians in ms)`);
    console.log('  phase                      T-Union');
    for (const key of ['air', 'card', 'psam', 'uart', 'own'] as const) {
      console.log(`  ${key.padEnd(26)} ${phases[key].toFixed(1).padStart(7)}`);
    }
    console.log(`  ${'tap'.padEnd(26)} ${total.toFixed(1).padStart(7)}`);
    console.log(`  ${'of own: journal + fsync'.padEnd(26)} ${phases.journal.toFixed(1)
      .padStart(7)}`);
    const share = (phases.own / total) * 100;
    const cpuShare = ((phases.own - phases.journal) / total) * 100;
    console.log(`  own share of the tap ${share.toFixed(2)} % (<= 2 %: ${share <= 2 ? 'yes'
      : 'NO'}), without the two fsyncs ${cpuShare.toFixed(2)} %; load ${
      (loadavg()[0] ?? 0).toFixed(1)} on ${cpus().length} cores`);
    console.log('  (the qPBOC taps\' phases: the e2e suite, scenario base, same models)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
