// `shuaka run` in-process against the PN532 emulator on a socat pty, with virtual cards.
//
// The cards' own ledgers are the independent truth: every debit a card committed must be in
// the journal with the card's PAN and ATC, and no full PAN may appear in any output line.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { decodeTlv, findTlv } from '../../assembly/host/qpboc_session.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { population, type PopulationName } from '../../host-sim/src/cards/card_population.js';
import type { QpbocCard } from '../../host-sim/src/cards/qpboc_card.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import {
  startPn532SimOnPty,
  type Pn532SimOnPty,
} from '../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { WallClock } from '../../host-sim/src/pn532_sim/pty/wall_clock.js';
import { JOURNAL_FILE_NAME } from '../src/app/journal/journal.js';
import { maskPan } from '../src/app/journal/journal_records.js';
import { PanVault } from '../src/app/journal/pan_vault.js';
import { DATA_KEY_FILE_NAME } from '../src/app/journal/pan_vault_file.js';
import { journalScan } from '../src/app/journal/journal_scan.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { BoardStop, runBusValidator } from '../src/boards/bus_validator.js';
import { logScrubPans } from '../src/boards/json_log.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { runRunCommand } from '../src/cli/run_cmd.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const SEED = 2026;
const CARDS: readonly PopulationName[] = [
  'unionpay-debit-ec',
  'unionpay-credit-ec',
  'unionpay-quasi-credit-ec',
];

let dir = '';
let emulator: Pn532SimOnPty | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-run-'));
});

afterEach(async () => {
  await emulator?.close();
  emulator = null;
  rmSync(dir, { recursive: true, force: true });
});

/** A signed default parameter set and its public key on disk; returns the CLI flags. */
async function writeParams(denyList: readonly { pan: string; psn: number }[]): Promise<string[]> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubPath = join(dir, 'params.pub.pem');
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  await writeParamsSigned(join(dir, 'params'), privateKey, denyList);
  return ['--params', join(dir, 'params'), '--params-pub', pubPath,
    '--deny-key', writeTestDenyKey(dir)];
}

async function writeParamsSigned(
  paramsDir: string,
  signingKey: KeyObject,
  denyList: readonly { pan: string; psn: number }[],
): Promise<void> {
  const storage = await FileStorage.open(paramsDir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version: 1,
    terminal: { terminalId: 'BUS00042', lineId: 'L101' },
    fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    denyList,
    caRevocations: [],
    signingKey,
    denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
}

async function startEmulator(frames: string[] = []): Promise<Pn532SimOnPty> {
  emulator = await startPn532SimOnPty({
    dir,
    clock: new WallClock(),
    pace: false,
    // Real time: skip the modelled RF and card waits; every protocol behaviour stays.
    sim: {
      ...PN532_SIM_DEFAULT_OPTIONS,
      waitModelledTime: false,
      commandDelayMs: 0,
      log: (line) => frames.push(line),
    },
  });
  return emulator;
}

/** Captures output; `nextEvent` resolves at the next JSON log line with that event name. */
function captureIo(): {
  io: { out: (line: string) => void; err: (line: string) => void };
  out: string[];
  err: string[];
  nextEvent: (name: string) => Promise<Record<string, unknown>>;
} {
  const out: string[] = [];
  const err: string[] = [];
  let waiter: { name: string; resolve: (e: Record<string, unknown>) => void } | null = null;
  const io = {
    out: (line: string) => {
      out.push(line);
      const event = JSON.parse(line) as Record<string, unknown>;
      if (waiter !== null && event['event'] === waiter.name) {
        const { resolve } = waiter;
        waiter = null;
        resolve(event);
      }
    },
    err: (line: string) => err.push(line),
  };
  const nextEvent = (name: string): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      waiter = { name, resolve };
    });
  return { io, out, err, nextEvent };
}

function panOf(card: QpbocCard): string {
  const pan = card.profile.applications[0]?.pan;
  if (pan === undefined) throw new Error('card without an application');
  return pan;
}

/** Taps each card in turn: in the field until the validator logs the tap, then away. */
async function tapAll(
  sim: Pn532SimOnPty['sim'],
  cards: readonly QpbocCard[],
  nextEvent: (name: string) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>[]> {
  const taps: Record<string, unknown>[] = [];
  for (const card of cards) {
    const tapped = nextEvent('tap');
    sim.placeCard(card);
    taps.push(await tapped);
    sim.removeCard(card);
  }
  return taps;
}

describe('shuaka run on a socat pty', () => {
  it('run_threeTaps_journaledWithTheCardsAtcs_logsAreJsonWithMaskedPans', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run on a pty')) return;
    const pop = population(SEED, { pki: testPki() });
    const paramsFlags = await writeParams(pop.denyList);
    const pty = await startEmulator();
    const cards = CARDS.map((name) => pop.card(name));
    const journalDir = join(dir, 'journal');
    const { io, out, err, nextEvent } = captureIo();
    const started = nextEvent('start');
    const running = runRunCommand(
      [
        ...['--port', pty.hostPath, '--journal', journalDir, '--max-taps', '3'],
        ...['--sysfs-root', join(dir, 'no-sys'), ...paramsFlags],
      ],
      io,
    );
    await Promise.race([started, running]);
    const taps = await tapAll(pty.sim, cards, nextEvent);
    expect(await running, err.join('\n')).toBe(0);

    expect(taps.map((t) => t['result'])).toEqual(['approved', 'approved', 'approved']);
    expect(taps.map((t) => t['pan'])).toEqual(cards.map((c) => maskPan(panOf(c))));
    const events = out.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const event of events) {
      expect(typeof event['ts']).toBe('string');
      expect(typeof event['event']).toBe('string');
    }
    const names = new Set(events.map((e) => e['event']));
    for (const name of ['reader', 'journal-open', 'start', 'screen', 'tap', 'stopped']) {
      expect(names).toContain(name);
    }
    const text = [...out, ...err].join('\n');
    for (const card of cards) expect(text).not.toContain(panOf(card));

    // The journal against the cards' ledgers: one clearing record per committed debit.
    const verify: string[] = [];
    const verifyIo = { out: (l: string) => verify.push(l), err: (l: string) => verify.push(l) };
    expect(await runJournalCommand(['verify', '--journal', journalDir], verifyIo)).toBe(0);
    const bytes = new Uint8Array(readFileSync(join(journalDir, JOURNAL_FILE_NAME)));
    const finals = journalScan(bytes, JOURNAL_FILE_NAME, true)
      .records.flatMap((r) => (r.entry.kind === 'final' ? [r.entry.clearing] : []))
      .map((c) => `${openedPan(journalDir, c.card.panSealed)}/${c.atc}/${c.amountMinor}`);
    const debits = cards.flatMap((card) =>
      card.ledger().map((e) => `${panOf(card)}/${e.atc}/${e.amountMinor}`),
    );
    expect(debits).toHaveLength(3);
    expect(finals).toEqual(debits);
  });

  it.each([
    ['SN7Q2X01', 'SN7Q2X01'],
    // Without the flag, 9F1E comes from the terminal ID (BUS00042) as in the simulator.
    [null, 'BUS00042'],
  ])('run_ifdSerial_%s_reachesField55OfTheJournalRecord', async (flag, expected) => {
    if (!externalToolsReady(['socat'], 'shuaka run on a pty')) return;
    const pop = population(SEED, { pki: testPki() });
    const paramsFlags = await writeParams(pop.denyList);
    const pty = await startEmulator();
    const journalDir = join(dir, 'journal');
    const { io, err, nextEvent } = captureIo();
    const started = nextEvent('start');
    const running = runRunCommand(
      [
        ...['--port', pty.hostPath, '--journal', journalDir, '--max-taps', '1'],
        ...['--sysfs-root', join(dir, 'no-sys'), ...paramsFlags],
        ...(flag === null ? [] : ['--ifd-serial', flag]),
      ],
      io,
    );
    await Promise.race([started, running]);
    const [tap] = await tapAll(pty.sim, [pop.card('unionpay-debit-ec')], nextEvent);
    expect(await running, err.join('\n')).toBe(0);
    expect(tap?.['result']).toBe('approved');
    const bytes = new Uint8Array(readFileSync(join(journalDir, JOURNAL_FILE_NAME)));
    const finals = journalScan(bytes, JOURNAL_FILE_NAME, true).records.flatMap((r) =>
      r.entry.kind === 'final' ? [r.entry.clearing.iccDataHex] : [],
    );
    expect(finals).toHaveLength(1);
    const field55 = decodeTlv(Buffer.from(finals[0] ?? '', 'hex'));
    const serial = findTlv(field55, 0x9f1e);
    expect(serial === null ? null : Buffer.from(serial).toString('ascii')).toBe(expected);
    expect(field55.filter((o) => o.tag === 0x9f1e)).toHaveLength(1);
  });

  it('run_whenStopRequested_finishesWithoutATapAndReleasesTheReader', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run on a pty')) return;
    const pop = population(SEED, { pki: testPki() });
    const paramsFlags = await writeParams(pop.denyList);
    const frames: string[] = [];
    const pty = await startEmulator(frames);
    const { io, nextEvent } = captureIo();
    const started = nextEvent('start');
    const stop = new BoardStop();
    const running = runBusValidator(
      {
        readerPath: pty.hostPath,
        baudRate: 921600,
        paramsDir: paramsFlags[1] ?? '',
        paramsPubPath: paramsFlags[3] ?? '',
        journalDir: join(dir, 'journal'),
        journalMinFreeBytes: 0,
        dataKeyPath: null,
        denyKeyPath: paramsFlags[5] ?? null,
        mode: 'ec',
        displayPath: null,
        sysfsRoot: join(dir, 'no-sys'),
        tapsMax: null,
        ifdSerial: null,
      },
      { log: io.out, err: io.err },
      stop,
    );
    await started;
    const stopped = nextEvent('stopped');
    stop.request();
    expect(await running).toEqual({ code: 'stopped', taps: 0 });
    expect((await stopped)['reason']).toBe('stop requested');
    // The reader was put to sleep: PowerDown (D4 16) with WakeUpEnable F0 (the host links).
    const powerDown = frames.findIndex((line) => /^H>P .*d4 16 f0/.test(line));
    expect(powerDown, frames.slice(-6).join('\n')).toBeGreaterThan(0);
    // The serial port is closed: the pty's host end can be opened again by a new reader.
    const again = captureIo();
    const restarted = again.nextEvent('reader');
    const stop2 = new BoardStop();
    const second = runBusValidator(
      {
        readerPath: pty.hostPath,
        baudRate: 921600,
        paramsDir: paramsFlags[1] ?? '',
        paramsPubPath: paramsFlags[3] ?? '',
        journalDir: join(dir, 'journal'),
        journalMinFreeBytes: 0,
        dataKeyPath: null,
        denyKeyPath: paramsFlags[5] ?? null,
        mode: 'ec',
        displayPath: null,
        sysfsRoot: join(dir, 'no-sys'),
        tapsMax: null,
        ifdSerial: null,
      },
      { log: again.io.out, err: again.io.err },
      stop2,
    );
    await Promise.race([restarted, second]);
    stop2.request();
    expect(await second, again.err.join('\n')).toEqual({ code: 'stopped', taps: 0 });
  });

  it('run_withATamperedParameterSet_refusesToStartAndWritesNothing', async () => {
    const paramsFlags = await writeParams([]);
    const faresPath = join(dir, 'params', 'fares.json');
    writeFileSync(faresPath, readFileSync(faresPath, 'utf8').replace('200', '1'));
    const journalDir = join(dir, 'journal');
    const { io, out, err } = captureIo();
    const code = await runRunCommand(
      ['--port', join(dir, 'no-such-tty'), '--journal', journalDir, ...paramsFlags],
      io,
    );
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/parameters .* refused: .*fares\.json/);
    expect(out).toEqual([]);
    expect(existsSync(journalDir)).toBe(false);
  });

  it('run_withAMissingSerialPort_exits3CannotOpenSerialPort', async () => {
    const paramsFlags = await writeParams([]);
    const journalDir = join(dir, 'journal');
    const { io, err } = captureIo();
    const port = join(dir, 'no-such-tty');
    const code = await runRunCommand(['--port', port, '--journal', journalDir, ...paramsFlags], io);
    expect(code).toBe(3);
    expect(err.join('\n')).toContain(`cannot open serial port ${port}`);
    expect(existsSync(journalDir)).toBe(false);
  });

  it.each([
    [[]],
    [['--port']],
    [['--port', '/dev/null', '--baud', '12345']],
    [['--port', '/dev/null', '--mode', 'emv']],
    [['--port', '/dev/null', '--max-taps', '0']],
    [['--port', '/dev/null', '--frobnicate', '1']],
    [['--port', '/dev/null', 'extra']],
    [['--port', '/dev/null', '--journal', '']],
    [['--port', '/dev/null', '--journal-min-free-mb', '-1']],
    [['--port', '/dev/null', '--journal-min-free-mb', '1.5']],
    [['--port', '/dev/null', '--ifd-serial', 'SN12345']],
    [['--port', '/dev/null', '--ifd-serial', 'SN1234567']],
    [['--port', '/dev/null', '--ifd-serial', 'SN-12345']],
    [['--port', '/dev/null', '--ifd-serial', '']],
  ])('run_withBadFlags_exits2WithUsage %j', async (argv) => {
    const { io, err } = captureIo();
    expect(await runRunCommand(argv, io)).toBe(2);
    expect(err.join('\n')).toContain('Usage:');
  });
});

describe('JSON log PAN scrubbing', () => {
  it('logScrubPans_masksEveryPanLengthDigitRun_leavesShorterRunsAlone', () => {
    // Independent truth: first six and last four digits kept, the rest starred.
    const pan16 = '6217991234567890';
    const pan19 = '6217991234567890123';
    expect(logScrubPans(`card ${pan16} gone`)).toBe('card 621799******7890 gone');
    expect(logScrubPans(pan19)).toBe('621799*********0123');
    expect(logScrubPans('seq 12345678901, 20261122')).toBe('seq 12345678901, 20261122');
    expect(logScrubPans('621799******7890')).toBe('621799******7890');
  });
});

/** A sealed PAN of the journal in `journalDir`, opened with the data key the validator made. */
function openedPan(journalDir: string, sealed: string): string {
  const key = new Uint8Array(readFileSync(join(journalDir, DATA_KEY_FILE_NAME)));
  const opened = PanVault.fromKey(key, () => new Uint8Array(0)).openPan(sealed);
  return opened.ok ? opened.value : `unopenable: ${opened.error}`;
}
