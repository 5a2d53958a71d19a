// `node bin/shuaka.js run --psam pcsc:NAME` as a real process: the PSAM emulator in one slot of
// a private pcscd (vpcd), a virtual T-Union card in the other (the contactless reader); the
// validator opens the PSAM at start, reads its terminal number, and a T-Union tap is approved
// and journalled with a TAC the depot's verifier accepts. An unknown PSAM reader and a bad flag
// each stop the start with their exit code and sentence; an empty PSAM slot does not: the
// validator starts without it and opens it at a T-Union tap once it is put in.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jtt978TacVerify } from '../../../depot/src/tunion/jtt978_tac.js';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import { DEFAULT_FARES } from '../../../firmware/src/app/params/params_store.js';
import type { FareLine } from '../../../firmware/src/app/fare/fare_table.js';
import { writeSignedDefaultParams } from '../../../firmware/test/params_fixture.js';
import { tunionCardOfGroup } from '../../src/cards/tunion_population.js';
import { issuerMasterFromRoot } from '../../src/psam/pboc_epurse_crypto.js';
import { PsamEmulator } from '../../src/psam/psam_emulator.js';
import {
  TEST_ISSUER_ID, testMasterKey, testPsamProfile, type PsamProfile,
} from '../../src/psam/psam_profile.js';
import { SIM_TUNION_AID, simTransitTable } from '../../src/sim/sim_tunion.js';
import { pcscStackMissing } from '../../src/vpcd/pcsc_stack_ready.js';
import { startPrivatePcscd, type PrivatePcscd } from '../../src/vpcd/pcscd_private.js';
import { VpcdClient, type VpcdCard } from '../../src/vpcd/vpcd_client.js';
import { VpcdContactlessCard } from '../../src/vpcd/vpcd_contactless_card.js';

const MISSING = pcscStackMissing(['scriptor'], 'shuaka run --psam pcsc: tests');
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = Number(process.env['SHUAKA_SEED'] ?? 41);
const WAIT_MS = 30_000;

/** The PSAM emulator as a contact card behind vpcd. */
class PsamCard implements VpcdCard {
  constructor(readonly psam: PsamEmulator) {}
  atr = () => this.psam.atr();
  powerOn = () => void this.psam.powerOn();
  powerOff = () => this.psam.powerOff();
  reset = () => void this.psam.reset();
  transmit = (apdu: Uint8Array) => this.psam.transmit(apdu);
}

/** Line L101 flat at 1.50 yuan: a bus with no stop source can take T-Union cards on it. */
const FLAT_L101: readonly FareLine[] = [
  { kind: 'flat', lineId: 'L101', lineCode: 101, fareMinor: 150 },
];

/** A signed set naming the T-Union ADF, with the transit `lines` (by default FLAT_L101). */
function writeParams(parent: string, lines: readonly FareLine[] = FLAT_L101): Promise<string[]> {
  const transit = { cityCodeHex: '4403', institutionHex: '0000000000004403',
    operatorCodeHex: '0101', lines };
  return writeSignedDefaultParams(parent, { fares: { ...DEFAULT_FARES, transit },
    extraAids: [SIM_TUNION_AID] });
}

interface Run {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[];
  readonly err: string[];
  readonly exit: Promise<number | null>;
}

function run(args: readonly string[], env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd: ROOT, env });
  const events: Record<string, unknown>[] = [];
  const err: string[] = [];
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line !== '') events.push(JSON.parse(line) as never);
  });
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, events, err, exit };
}

async function until(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Waits until pcscd reports a card in `reader`: pcsc-tools' scriptor connects to it (exit 0).
 * pcscd notices a vpcd card at its next presence poll, so a PSAM connected just after another
 * was pulled may not be seen yet when the validator starts.
 */
async function untilCardSeen(reader: string, env: NodeJS.ProcessEnv): Promise<void> {
  await until(`a card in ${reader}`, () => spawnSync('scriptor', ['-r', reader],
    { env, input: 'exit\n', encoding: 'utf8', timeout: 5_000 }).status === 0);
}

describe('shuaka run --psam, flags', () => {
  it('badPsamFlag_exit2', () => {
    for (const value of ['usb:x', 'pcsc:']) {
      const r = spawnSync(process.execPath, [BIN, 'run', '--port', '/dev/null', '--psam', value],
        { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, value).toBe(2);
      expect(r.stderr).toContain(`--psam must be pcsc:NAME, got '${value}'`);
    }
  });
});

/** A private pcscd for one describe block, its temporary directory and the runs it started. */
function pcscWorld(): {
  pcscd: () => PrivatePcscd; env: () => NodeJS.ProcessEnv; dir: () => string;
  running: ChildProcess[]; flags: (name: string, lines?: readonly FareLine[]) => Promise<string[]>;
} {
  let pcscd: PrivatePcscd | undefined;
  let dir = '';
  let env: NodeJS.ProcessEnv = {};
  const running: ChildProcess[] = [];
  beforeAll(async () => {
    spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
    pcscd = await startPrivatePcscd('Shuaka vpcd');
    env = { ...process.env, PCSCLITE_CSOCK_NAME: pcscd.socketPath };
    dir = mkdtempSync(join(tmpdir(), 'shuaka-run-psam-'));
  }, 60_000);
  afterAll(async () => {
    for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
    await pcscd?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });
  const started = (): PrivatePcscd => {
    if (pcscd === undefined) throw new Error('pcscd not started');
    return pcscd;
  };
  return {
    pcscd: started, env: () => env, dir: () => dir, running,
    flags: async (name, lines) => [
      '--reader', `pcsc:${started().readerNames[0]}`, '--journal', join(dir, name),
      '--sysfs-root', join(dir, 'no-sys'), ...(await writeParams(dir, lines)),
    ],
  };
}

type PcscWorld = ReturnType<typeof pcscWorld>;

/**
 * One T-Union tap through `shuaka run --psam --max-taps 1`: the PSAM of `profile` in slot 1
 * (seen by pcscd first), card `index` of the Shenzhen group tapped once `atStart` has checked
 * the start's events; the run must exit 0. Returns the tap's event and the journal read back.
 */
async function psamTap(world: PcscWorld, profile: PsamProfile, journal: string, index: number,
  atStart: (r: Run) => void, line: { lines?: readonly FareLine[]; args?: string[] } = {}) {
  const pcscd = world.pcscd();
  const env = world.env();
  const psam = new VpcdClient(new PsamCard(new PsamEmulator(profile)));
  await psam.connect('127.0.0.1', pcscd.port + 1);
  await untilCardSeen(pcscd.readerNames[1], env);
  const card = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', index);
  const before = card.balanceMinor();
  const args = [...(await world.flags(journal, line.lines)), '--psam',
    `pcsc:${pcscd.readerNames[1]}`, '--max-taps', '1', ...(line.args ?? [])];
  const r = run(args, env);
  world.running.push(r.child);
  const contactless = new VpcdClient(new VpcdContactlessCard(card));
  try {
    await until('start', () => r.events.some((e) => e['event'] === 'start'));
    atStart(r);
    await contactless.connect('127.0.0.1', pcscd.port);
    await until('tap', () => r.events.some((e) => e['event'] === 'tap'));
  } finally {
    await contactless.disconnect();
    await psam.disconnect();
  }
  expect(await r.exit, r.err.join('')).toBe(0);
  const tap = r.events.find((e) => e['event'] === 'tap') ?? {};
  const dir = join(world.dir(), journal);
  const files = new Map(readdirSync(dir)
    .map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))] as const));
  const records = journalScanFiles(files, JOURNAL_FILE_NAME, true).records;
  return { tap, card, before, records };
}

describe.skipIf(MISSING !== null)('shuaka run --psam pcsc:NAME over pcscd + vpcd', () => {
  const world = pcscWorld();
  const { running, flags } = world;
  let pcscd: PrivatePcscd;
  let env: NodeJS.ProcessEnv = {};
  beforeAll(() => {
    pcscd = world.pcscd();
    env = world.env();
  });

  it('tunionTap_approvedWithThePsamsTerminalNumber_finalTacValid', async () => {
    const t = await psamTap(world, testPsamProfile(), 'journal-ok', 0, (r) => {
      const opened = r.events.find((e) => e['event'] === 'psam');
      // The log sink masks digit runs as it masks PANs; the journal below has it in clear.
      expect([opened?.['terminalNumber'], opened?.['keyIndex']]).toEqual(['000000**0123', 1]);
    });
    expect([t.tap['result'], t.tap['amountMinor'], t.tap['fareRule']], JSON.stringify(t.tap))
      .toEqual(['approved', 150, 'tunion-flat']);
    expect(t.card.balanceMinor()).toBe(t.before - 150);
    const kinds = t.records.map((x) => x.entry.kind);
    expect(kinds).toEqual(['tunion_grey', 'tunion_final']);
    const final = t.records[1]?.entry;
    if (final?.kind !== 'tunion_final') throw new Error('no final');
    expect(final.purchase.terminalNumberHex).toBe('000000000123');
    const master = issuerMasterFromRoot(testMasterKey('tac-root'), TEST_ISSUER_ID);
    expect(jtt978TacVerify({
      issuerIdHex: final.card.issuerIdHex, applicationSerialHex: final.card.serialDigits,
      amountMinor: final.purchase.amountMinor, transactionType: final.purchase.transactionType,
      terminalNumberHex: final.purchase.terminalNumberHex,
      terminalSerial: final.purchase.terminalSerial,
      dateTimeDigits: final.purchase.dateTimeDigits, tacHex: final.tacHex,
    }, () => master)).toBe('valid');
  }, 90_000);

  it('emptyPsamSlot_startsAnyway_logsPsamDownWithTheStepAndTheCause', async () => {
    const r = run([...(await flags('journal-empty')), '--psam',
      `pcsc:${pcscd.readerNames[1]}`], env);
    running.push(r.child);
    await until('start', () => r.events.some((e) => e['event'] === 'start'));
    const down = r.events.filter((e) => e['event'] === 'psam-down');
    expect(down.map((e) => e['detail']))
      .toEqual([expect.stringMatching(/^PSAM power-on failed: CARD_GONE: no card in .*\(reader "/)]);
    // Serving, but degraded (T-Union cards refused): a warning a fleet can alert on.
    expect(down.map((e) => e['level'])).toEqual(['warning']);
    expect(r.events.find((e) => e['event'] === 'start')?.['outOfService']).toBeNull();
    expect(r.child.exitCode).toBeNull();
    r.child.kill('SIGTERM');
    expect(await r.exit, r.err.join('')).toBe(0);
  }, 60_000);

  it('unknownPsamReader_exit3_listsTheReaders', async () => {
    const r = run([...(await flags('journal-none')), '--psam', 'pcsc:No Such PSAM'], env);
    running.push(r.child);
    expect(await r.exit).toBe(3);
    expect(r.err.join('')).toMatch(/PSAM: PC\/SC reader "No Such PSAM" not found \(readers: /);
  }, 60_000);
});

// Its own pcscd: vpcd may not take a second PSAM in a slot a first one just left.
describe.skipIf(MISSING !== null)('shuaka run --psam with a PSAM past its end date', () => {
  const world = pcscWorld();

  it('expiredPsam_startsLogsIt_refusesTunionTaps_journalsNothing', async () => {
    const profile = testPsamProfile({ endDate: Uint8Array.of(0x20, 0x24, 0x01, 0x01) });
    const t = await psamTap(world, profile, 'journal', 1, (r) => {
      const opened = r.events.find((e) => e['event'] === 'psam');
      expect([opened?.['validFrom'], opened?.['validTo']]).toEqual(['20240101', '20240101']);
      const unusable = r.events.find((e) => e['event'] === 'tunion-psam-unusable');
      expect(unusable?.['reason']).toBe('psam-expired');
    });
    expect([t.tap['result'], t.tap['reason']], JSON.stringify(t.tap))
      .toEqual(['notAccepted', 'tunion-psam-expired']);
    expect(t.card.balanceMinor()).toBe(t.before);
    expect(t.records).toEqual([]);
  }, 90_000);
});

/** Starts one tap of `card` (a new contactless connection) and waits for its tap event. */
async function tapOnce(r: Run, pcscd: PrivatePcscd, card: VpcdCard, taps: number) {
  const contactless = new VpcdClient(card);
  await contactless.connect('127.0.0.1', pcscd.port);
  try {
    await until(`tap ${taps}`, () => r.events.filter((e) => e['event'] === 'tap').length >= taps);
  } finally {
    await contactless.disconnect();
  }
  return r.events.filter((e) => e['event'] === 'tap')[taps - 1] ?? {};
}

// Its own pcscd: the PSAM slot must never have held a card before this run puts one in.
describe.skipIf(MISSING !== null)('shuaka run --psam started with the PSAM slot empty', () => {
  const world = pcscWorld();

  it('tunionTaps_refusedWhileOut_servedOnceThePsamIsPutIn', async () => {
    const pcscd = world.pcscd();
    const env = world.env();
    const args = [...(await world.flags('journal')), '--psam', `pcsc:${pcscd.readerNames[1]}`,
      '--max-taps', '2'];
    const r = run(args, env);
    world.running.push(r.child);
    const card = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', 2);
    const before = card.balanceMinor();
    const psam = new VpcdClient(new PsamCard(new PsamEmulator(testPsamProfile())));
    try {
      await until('start', () => r.events.some((e) => e['event'] === 'start'));
      expect(r.events.filter((e) => e['event'] === 'psam-down')).toHaveLength(1);
      const out = await tapOnce(r, pcscd, new VpcdContactlessCard(card), 1);
      expect([out['result'], out['reason']], JSON.stringify(out))
        .toEqual(['notAccepted', 'tunion-psam-unavailable']);
      const triedAtMs = Date.now();
      await psam.connect('127.0.0.1', pcscd.port + 1);
      await untilCardSeen(pcscd.readerNames[1], env);
      // The validator tries a PSAM at most every 5 s (TUNION_PSAM_REOPEN_MS).
      await new Promise((done) => setTimeout(done, Math.max(0, triedAtMs + 5_500 - Date.now())));
      const back = await tapOnce(r, pcscd, new VpcdContactlessCard(card), 2);
      expect([back['result'], back['amountMinor'], back['fareRule']], JSON.stringify(back))
        .toEqual(['approved', 150, 'tunion-flat']);
    } finally {
      await psam.disconnect();
    }
    expect(await r.exit, r.err.join('')).toBe(0);
    const events = r.events.map((e) => e['event']);
    expect(events.filter((e) => e === 'psam-down' || e === 'psam-back'))
      .toEqual(['psam-down', 'psam-down', 'psam-back']);
    expect(card.balanceMinor()).toBe(before - 150);
    const dir = join(world.dir(), 'journal');
    const files = new Map(readdirSync(dir)
      .map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))] as const));
    const entries = journalScanFiles(files, JOURNAL_FILE_NAME, true).records.map((x) => x.entry);
    expect(entries.map((e) => e.kind)).toEqual(['tunion_grey', 'tunion_final']);
    const final = entries[1];
    if (final?.kind !== 'tunion_final') throw new Error('no final');
    expect(final.purchase.terminalNumberHex).toBe('000000000123');
  }, 120_000);
});

// A world of its own: a PSAM connected just after another one left is not always seen in time.
describe.skipIf(MISSING !== null)('shuaka run --stop-file over pcscd + vpcd', () => {
  const world = pcscWorld();

  it('stopFile_onASegmentLine_theTapBoardsAtTheStopTheFileSays', async () => {
    const stopFile = join(world.dir(), 'stop');
    writeFileSync(stopFile, '5 1 B1234\n');
    const segment = simTransitTable('L101').lines.filter((l) => l.lineId === 'L101');
    const t = await psamTap(world, testPsamProfile(), 'journal-stop', 2, () => undefined,
      { lines: segment, args: ['--stop-file', stopFile] });
    expect([t.tap['result'], t.tap['fareRule']], JSON.stringify(t.tap))
      .toEqual(['approved', 'tunion-boarding']);
    const final = t.records.find((x) => x.entry.kind === 'tunion_final')?.entry;
    if (final?.kind !== 'tunion_final') throw new Error('no final');
    expect([final.ride.tap, final.ride.boardingStop]).toEqual(['boarding', 5]);
  }, 90_000);
});
