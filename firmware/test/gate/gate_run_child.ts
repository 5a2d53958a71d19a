// Test support: a real `shuaka run --board gate` child process on a socat pty with the PN532
// emulator, and the gate-controller emulator (Modbus RTU slave) on a second pty.

import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import { testPki } from '../../../host-sim/src/pki/test_pki.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../../../host-sim/src/pn532_sim/pn532_sim.js';
import {
  startPn532SimOnPty,
  type Pn532SimOnPty,
} from '../../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { PtySerialLink } from '../../../host-sim/src/pn532_sim/pty/pty_serial_link.js';
import { startSocatPtyPair } from '../../../host-sim/src/pn532_sim/pty/socat_pty_pair.js';
import { WallClock } from '../../../host-sim/src/pn532_sim/pty/wall_clock.js';
import {
  TurnstileControllerSim,
} from '../../../host-sim/src/turnstile_sim/turnstile_controller_sim.js';
import { TurnstileModbusSlave } from '../../../host-sim/src/turnstile_sim/turnstile_modbus_slave.js';
import { FILE_GATE } from '../../src/app/gate/gate_params.js';
import { DEFAULT_FARES, writeDefaultParams } from '../../src/app/params/params_store.js';
import { VALIDATOR_CONFIG_DEFAULT } from '../../src/app/validator/validator_ports.js';
import { localDateTime } from '../../src/app/validator/validator_time.js';
import { TEST_DENY_KEY, writeTestDenyKey } from '../deny_key_fixture.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'shuaka.js');
const CLI_DIST = join(ROOT, 'dist', 'firmware', 'src', 'cli', 'shuaka_cli.js');
/** Runs the built CLI as bin/shuaka.js does, minus its rebuild check (warmed in beforeAll). */
const CHILD_MAIN =
  'const { runCli } = await import(process.argv[1]);' +
  'process.exitCode = await runCli(process.argv.slice(2));';
const WAIT_GUARD_MS = 30_000;

export type LogLine = Record<string, unknown>;
export type ChildExit = { readonly code: number | null; readonly signal: NodeJS.Signals | null };

/** One child process and its JSON log. */
export interface GateChild {
  readonly proc: ChildProcess;
  readonly stderr: string[];
  readonly lines: LogLine[];
  readonly exited: Promise<ChildExit>;
  /** The next log line with this event (from now on), or null when the process ends first. */
  next(event: string): Promise<LogLine | null>;
}

/**
 * Starts `shuaka <argv>` as a child process: the built CLI directly, or `bin/shuaka.js`
 * (`viaBin`: needed when the child starts worker threads, which inherit `--input-type`).
 */
export function spawnShuaka(argv: readonly string[], viaBin = false): GateChild {
  const args = viaBin ? [BIN, ...argv]
    : ['--input-type=module', '-e', CHILD_MAIN, pathToFileURL(CLI_DIST).href, ...argv];
  const proc = spawn(process.execPath, args,
    { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  const lines: LogLine[] = [];
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (text: string) => stderr.push(text));
  const waiters: { event: string; resolve: (line: LogLine | null) => void }[] = [];
  let gone = false;
  if (proc.stdout === null) throw new Error('spawned without a stdout pipe');
  createInterface({ input: proc.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    const i = waiters.findIndex((w) => w.event === line['event']);
    if (i >= 0) waiters.splice(i, 1)[0]?.resolve(line);
  });
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('close', (code, signal) => {
      gone = true;
      for (const w of waiters.splice(0)) w.resolve(null);
      resolve({ code, signal });
    });
  });
  const next = (event: string): Promise<LogLine | null> => {
    if (gone) return Promise.resolve(null);
    const wanted = new Promise<LogLine | null>((resolve) => waiters.push({ event, resolve }));
    return guarded(wanted, () => `no '${event}' from shuaka run; stderr: ${stderr.join('')}; `
      + `last log lines: ${lines.slice(-12).map((l) => JSON.stringify(l)).join('\n')}`);
  };
  return { proc, stderr, lines, exited, next };
}

async function guarded<T>(promise: Promise<T>, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why())), WAIT_GUARD_MS);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

const LOCAL_DAY_MS = 86_400_000;

/**
 * Today's date (YYYY-MM-DD) as the child gate computes it — the real clock at its default
 * offset, UTC+8 — once no local midnight falls within `spanMs`: closer to midnight (16:00
 * UTC) this waits until just after it. A test whose ticket, passback and ledger file must all
 * be of one day then never straddles two, whatever the hour it runs (the child has no clock
 * to set: the product reads the system's).
 */
export async function gateTodayClearOfMidnight(spanMs: number): Promise<string> {
  const offsetMs = VALIDATOR_CONFIG_DEFAULT.utcOffsetMinutes * 60_000;
  const leftMs = LOCAL_DAY_MS - ((Date.now() + offsetMs) % LOCAL_DAY_MS);
  if (leftMs <= spanMs) await new Promise((resolve) => setTimeout(resolve, leftMs + 1_000));
  const { date } = localDateTime(Date.now(), VALIDATOR_CONFIG_DEFAULT.utcOffsetMinutes);
  return `20${date.slice(0, 2)}-${date.slice(2, 4)}-${date.slice(4, 6)}`;
}

/** The fleet card token of a PAN, computed here with the test deny key (node:crypto HMAC). */
export function testCardToken(pan: string): string {
  const token = TEST_DENY_KEY.token(pan, 0);
  if (token === null) throw new Error(`no token for ${pan}`);
  return Buffer.from(token).toString('hex').toUpperCase();
}

/**
 * A signed default set with `gate` as its gate.json (null: a bus set) in `dir`; returns the
 * run flags naming it and the deny key.
 */
export async function writeGateParams(dir: string, gate: unknown): Promise<string[]> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubPath = join(dir, 'params.pub.pem');
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  const paramsDir = join(dir, 'params');
  const storage = await FileStorage.open(paramsDir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  if (gate !== null) {
    const bytes = new TextEncoder().encode(`${JSON.stringify(gate, null, 2)}\n`);
    const put = await storage.value.replace(FILE_GATE, bytes);
    if (!put.ok) throw new Error(put.detail);
  }
  const written = await writeDefaultParams(storage.value, {
    version: 1, terminal: { terminalId: 'GATE0001', lineId: 'XIHU-N' }, fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex), denyList: [], caRevocations: [],
    signingKey: privateKey, denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return ['--params', paramsDir, '--params-pub', pubPath, '--deny-key', writeTestDenyKey(dir)];
}

/** The PN532 emulator on a socat pty. */
export async function startReaderPty(dir: string): Promise<Pn532SimOnPty> {
  return startPn532SimOnPty({
    dir: mkdtempSync(join(dir, 'pty-')), clock: new WallClock(), pace: false,
    sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0 },
  });
}

/** The gate-controller emulator as a Modbus RTU slave on the device end of a socat pty. */
export interface ControllerPty {
  readonly hostPath: string;
  readonly controller: TurnstileControllerSim;
  readonly slave: TurnstileModbusSlave;
  close(): Promise<void>;
}

/** `ptyDir`: where the pty links go (the same one again: an adapter plugged back in). */
export async function startControllerPty(
  dir: string,
  unitId: number,
  ptyDir = mkdtempSync(join(dir, 'mb-')),
): Promise<ControllerPty> {
  const pair = await startSocatPtyPair({ dir: ptyDir, startTimeoutMs: 5000, graceMs: 500 });
  const clock = new WallClock();
  const link = await PtySerialLink.open({ path: pair.devicePath, baudRate: 9600, pace: false,
    clock });
  if (!link.ok) {
    await pair.close();
    throw new Error(link.detail);
  }
  const controller = new TurnstileControllerSim();
  const slave = new TurnstileModbusSlave(link.value, controller,
    { unitId, interFrameSilenceMs: 50, clock });
  return {
    hostPath: pair.hostPath, controller, slave,
    close: async () => {
      slave.detach();
      await link.value.close();
      await pair.close();
    },
  };
}

/** The --turnstile spec of a controller pty. */
export function modbusSpec(path: string, unitId: number): string {
  return `modbus:${path}?unit=${unitId}&baud=9600&timeoutMs=300`;
}

/**
 * A visitor at the lane: walks through each time the entry side is released, `persons` times,
 * then stops; resolves with the passages made. Gives up after `giveUpMs`.
 */
export async function walkWhenOpen(
  controller: TurnstileControllerSim,
  persons: number,
  giveUpMs: number,
  direction: 'entry' | 'exit' = 'entry',
): Promise<number> {
  let passed = 0;
  const until = Date.now() + giveUpMs;
  while (passed < persons && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const open = direction === 'entry' ? controller.coils[0] : controller.coils[1];
    if (open && controller.walk(direction, false) === 'passed') {
      passed += 1;
      // The arms lock behind the person before the next one may go.
      const locked = Date.now() + 2_000;
      while ((direction === 'entry' ? controller.coils[0] : controller.coils[1])
        && Date.now() < locked) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }
  return passed;
}
