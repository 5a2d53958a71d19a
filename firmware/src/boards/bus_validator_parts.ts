// Boot steps of the bus validator board: parameters, reader, display, indicator, journal.
//
// Each step either returns what it opened plus how to close it, or a sentence for the
// operator. Nothing here writes to the data partition except the journal step, which runs
// last, so a refused start leaves the journal directory exactly as it was.

import { randomBytes, randomInt, type KeyObject } from 'node:crypto';
import { manifestPublicKeyParse } from '../app/params/params_manifest.js';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';

import { NODE_SYSFS_FILES } from '../../../hal/src/buzzer/sysfs_files.js';
import { PEM_BYTES_MAX, readFileBounded } from '../../../hal/src/fs/read_bounded.js';
import {
  openSysfsIndicatorPartly,
  SYSFS_INDICATOR_BUS_VALIDATOR,
} from '../../../hal/src/buzzer/sysfs_indicator.js';
import { DwinDisplay, DWIN_LAYOUT_DEFAULT } from '../../../hal/src/display/dwin_display.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { DisplayPort } from '../../../hal/src/ports/display_port.js';
import { halOk, type HalResult } from '../../../hal/src/ports/hal_status.js';
import type { IndicatorPort } from '../../../hal/src/ports/indicator_port.js';
import type { StoragePort } from '../../../hal/src/ports/storage_port.js';
import type { ReaderInfo, ReaderRfConfig } from '../../../hal/src/ports/reader_control_port.js';
import { NodeSerialLink } from '../../../hal/src/serial/node_serial_link.js';
import { ReopenableSerialLink } from '../../../hal/src/serial/reopenable_serial_link.js';
import { dirLockAcquire } from '../../../hal/src/storage/dir_lock.js';
import {
  FileStorage,
  fileStorageCrashPointParse,
  type FileStorageCrashPoint,
} from '../../../hal/src/storage/file_storage.js';
import {
  Journal,
  JOURNAL_FILE_NAME,
  JOURNAL_RESERVE_BYTES_DEFAULT,
} from '../app/journal/journal.js';
import { PanVault } from '../app/journal/pan_vault.js';
import { dataKeyDefaultPath, dataKeyProvision } from '../app/journal/pan_vault_file.js';
import { paramsFloorWrite } from '../app/params/params_floor.js';
import {
  PARAMS_OWN_TERMINAL_FILE, paramsOwnTerminalRead, paramsOwnTerminalWrite,
} from '../app/params/params_own_terminal.js';
import { paramsOwnTerminal } from '../app/upload/upload_params.js';
import { type DenyKey, denyKeyDefaultPath, denyKeyLoad } from '../app/deny_list/deny_key.js';
import { paramsBootLoad, type ParamsFallback } from '../app/params/params_boot.js';
import type { ParamSet } from '../app/params/params_store.js';
import type { LogPort } from '../app/validator/validator_ports.js';
import { ConsoleDisplay } from './console_display.js';
import { RecoveringDisplay } from './display_recovery.js';
import { openPn532OnSerial, type Pn532OnSerial } from './pty_reader.js';
import { READER_REOPEN_BACKOFF } from '../app/validator/reader_recovery.js';

/** A boot step's result: the opened part, or the operator-facing reason it failed. */
export type BootResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Something the board opened, and how to let it go (never throws). */
export interface Opened<T> {
  readonly part: T;
  readonly close: () => Promise<void>;
}

/**
 * RF behaviour of the bus reader: two activation rounds per technology keep a poll short,
 * no RF retries inside an exchange (the kernel and the torn-tap logic decide what a lost
 * answer means), and 51.2 ms per card frame, the PN532 step above the ISO 14443-4 FWT of
 * ordinary cards; WTX extends it per exchange.
 */
export const BUS_VALIDATOR_RF: ReaderRfConfig = {
  activationAttempts: 2,
  exchangeRetries: 0,
  cardAnswerTimeoutMs: 51.2,
};

/**
 * Upper bound of the journal file. At about 1 KB per tap and 2,000 taps a day this is
 * months of records even if uploads stop; the validator goes out of service before the bound.
 */
export const BUS_VALIDATOR_JOURNAL_BYTES_MAX = 256 << 20;

/** The DWIN panel's power-on speed (its project config can change it; ours does not). */
const DWIN_BAUD = 115200;

/**
 * Loads and verifies the signed parameter set (a plain set or an installed A/B root); refuses
 * anything not signed by `pubPath`, and any set older than the version floor kept in
 * `stateDir` (the journal directory: the data partition, not the parameter one). The fleet
 * deny key (`denyKeyPath`, else stateDir/deny.key) must load (0600, 32 bytes) and be the one
 * the set's deny list was made with; the set's list is bound to it.
 */
export async function bootParams(
  dir: string,
  pubPath: string,
  stateDir: string,
  denyKeyPath: string | null = null,
): Promise<BootResult<BootParams>> {
  // The fleet deny key first: a set is checked against it (its list must be made with it).
  const denyPath = denyKeyPath ?? denyKeyDefaultPath(stateDir);
  const deny = await denyKeyLoad(denyPath);
  if (!deny.ok) return fail(`deny key ${deny.error}: ${deny.detail}`);
  const denyKey = deny.value;
  let pem: string;
  try {
    pem = (await readFileBounded(pubPath, PEM_BYTES_MAX)).toString('utf8');
  } catch (error) {
    return fail(`cannot load the parameter public key ${pubPath}: ${describe(error)}`);
  }
  const parsed = manifestPublicKeyParse(pem);
  if (!parsed.ok) return fail(`parameter public key ${pubPath}: ${parsed.detail}`);
  const key: KeyObject = parsed.key;
  try {
    if (!(await stat(dir)).isDirectory()) return fail(`parameters ${dir}: not a directory`);
  } catch (error) {
    // A board must not invent parameters: a missing directory is refused.
    return fail(`parameters ${dir}: ${describe(error)}`);
  }
  const trust = { publicKey: key, denyKey };
  const loaded = await paramsBootLoad(dir, trust, stateDir).catch((error: unknown) => ({
    ok: false as const, kind: 'invalid' as const, message: describe(error),
  }));
  if (!loaded.ok) {
    const kind = loaded.kind === 'invalid' ? '' : `${loaded.kind}: `;
    return fail(`parameters ${dir} refused: ${kind}${loaded.message}`);
  }
  const own = await paramsOwnTerminalRead(stateDir).catch((error: unknown) => ({
    kind: 'corrupt' as const, detail: describe(error),
  }));
  if (own.kind === 'corrupt') {
    return fail(`own terminal id ${join(stateDir, PARAMS_OWN_TERMINAL_FILE)} is unreadable `
      + `(${own.detail}); restore it, or remove it knowingly (docs/params.md: the version floor)`);
  }
  // A fleet-wide set from the depot names another terminal: this one keeps its own id.
  const set = own.kind === 'ok' ? paramsOwnTerminal(loaded.set, own.terminalId) : loaded.set;
  const raise = loaded.floorRaise;
  const raiseFloor = async (): Promise<string | null> => {
    try {
      if (own.kind === 'absent') await paramsOwnTerminalWrite(stateDir, set.terminal.terminalId);
      if (raise !== null) await paramsFloorWrite(stateDir, raise);
      return null;
    } catch (error) {
      return `cannot record parameter version ${raise?.version ?? set.version} in ${stateDir}: `
        + describe(error);
    }
  };
  const value = { set, raiseFloor, fallback: loaded.fallback, denyKey };
  return { ok: true, value };
}

/** The loaded set, and the floor write to make once the start has succeeded. */
export interface BootParams {
  readonly set: ParamSet;
  /** Raises the version floor (power-safe); returns the operator's sentence on failure. */
  readonly raiseFloor: () => Promise<string | null>;
  /** Set when the active A/B slot was unusable and the other slot was loaded. */
  readonly fallback: ParamsFallback | null;
  /** The fleet deny key the set's list was checked against (downloads are checked too). */
  readonly denyKey: DenyKey;
}

/** Opens the PN532's serial port and starts the chip at `baudRate`. */
export async function bootReader(
  path: string,
  baudRate: number,
  clock: ClockPort,
): Promise<BootResult<Opened<Pn532OnSerial> & { readonly info: ReaderInfo }>> {
  const opened = await openPn532OnSerial(path, clock);
  if (!opened.ok) {
    return fail(`cannot open serial port ${path}: ${opened.error}: ${opened.detail}`);
  }
  const pn532 = opened.value;
  const started = await pn532.reader.start({ baudRate, rf: BUS_VALIDATOR_RF });
  if (!started.ok) {
    await pn532.close();
    return fail(`no PN532 answers on ${path}: ${started.error}: ${started.detail}`);
  }
  const close = async (): Promise<void> => {
    await pn532.reader.shutdown();
    await pn532.close();
  };
  return { ok: true, value: { part: pn532, close, info: started.value } };
}

/**
 * A show that has not left within this time means the display's device is gone without a
 * word, ms: a screen is under 100 bytes, about 8 ms at 115200 baud.
 */
export const DISPLAY_WRITE_STALL_MS = 500;

/**
 * An idle DWIN display is sent its screen again this often (display_recovery.ts): a display
 * that rebooted shows the screen again, and a device gone silently is found within this time.
 */
export const DISPLAY_REFRESH_MS = 5_000;

/**
 * A DWIN display on `path`, or the console display when the board has none. The serial device
 * must open at start (a missing display port refuses the start); once running, a lost display
 * is reported and reopened with backoff while taps go on (display_recovery.ts).
 */
export async function bootDisplay(
  path: string | null,
  log: LogPort,
  clock: ClockPort,
  err: (line: string) => void,
): Promise<BootResult<Opened<DisplayPort>>> {
  if (path === null) {
    return { ok: true, value: { part: new ConsoleDisplay(log), close: async () => undefined } };
  }
  const open = (): ReturnType<typeof NodeSerialLink.open> =>
    NodeSerialLink.open({ path, baudRate: DWIN_BAUD, lock: true, record: false });
  const opened = await open();
  if (!opened.ok) {
    return fail(`cannot open serial port ${path} (display): ${opened.error}: ${opened.detail}`);
  }
  const link = new ReopenableSerialLink(path, opened.value, open);
  const display = new RecoveringDisplay(
    link,
    () => new DwinDisplay(link, { layout: DWIN_LAYOUT_DEFAULT, crc: false }),
    // Jitter only spreads retries; it needs no secrecy.
    { clock, log, err, random01: () => randomInt(0, 1 << 30) / (1 << 30) },
    { path, writeStallMs: DISPLAY_WRITE_STALL_MS, backoff: READER_REOPEN_BACKOFF,
      refreshMs: DISPLAY_REFRESH_MS },
  );
  return { ok: true, value: { part: display, close: () => display.close() } };
}

/**
 * The buzzer on pwmchip0/pwm0 and the green and red status LEDs under `sysfsRoot`. A board
 * without them (a bench PC, a container) still validates: taps must not stop because a beeper
 * is missing. Each missing device is logged (indicator-missing, with its name); the devices
 * that are there play (LEDs without a buzzer); with none at all the signals are logged.
 */
export function bootIndicator(sysfsRoot: string, clock: ClockPort, log: LogPort): IndicatorPort {
  const { player, missing, opened } = openSysfsIndicatorPartly({
    sysfsRoot,
    files: NODE_SYSFS_FILES,
    clock,
    ...SYSFS_INDICATOR_BUS_VALIDATOR,
  });
  for (const { device, error, detail } of missing) {
    log.log({ event: 'indicator-missing', device, error, detail, sysfsRoot });
  }
  if (opened > 0) return player;
  return {
    signal: (signal) => {
      log.log({ event: 'signal', signal });
      return Promise.resolve(halOk(undefined));
    },
    whenDone: (): Promise<HalResult<void>> => Promise.resolve(halOk(undefined)),
  };
}

/**
 * TEST HOOK: the environment variable of the real-process crash test
 * (firmware/test/run_sigkill.test.ts). `before:K` or `after:K` makes the journal's storage
 * SIGKILL the validator at its K-th mutating call (append, replace, sync, truncate). Unset in
 * production; a set but malformed value refuses the start.
 */
export const CRASH_AT_ENV = 'SHUAKA_CRASH_AT';

/** The crash-test hook requested in `env`: null when unset, 'bad' when unreadable. */
export function crashPointFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): FileStorageCrashPoint | null | 'bad' {
  const text = env[CRASH_AT_ENV];
  if (text === undefined || text === '') return null;
  return fileStorageCrashPointParse(text) ?? 'bad';
}

/**
 * A wall clock this far behind the journal's newest record is wrong, not a correction (NTP
 * steps are seconds; a time zone is hours).
 */
export const CLOCK_BEHIND_WARN_MS = 24 * 3600 * 1000;

/**
 * Says so when the wall clock is more than CLOCK_BEHIND_WARN_MS behind the journal's newest
 * record: a board whose real-time clock lost its battery starts at its epoch, and every card
 * is then declined (not yet effective) with nothing else in the log to say why.
 */
export function clockBehindCheck(newestWallMs: number, clock: ClockPort, log: LogPort): void {
  const wallMs = clock.wallMs();
  if (newestWallMs - wallMs <= CLOCK_BEHIND_WARN_MS) return;
  log.log({
    event: 'clock-behind',
    wallTime: new Date(wallMs).toISOString(),
    newestRecordTime: new Date(newestWallMs).toISOString(),
    detail: 'the wall clock is behind the journal\'s newest record: set it (NTP, the RTC '
      + 'battery); cards are refused as not yet effective and records are misdated meanwhile',
  });
}

/** Opens (creating if needed) the journal in `dir`; recovery cuts a torn tail. */
export async function bootJournal(
  dir: string,
  clock: ClockPort,
  log: LogPort,
): Promise<BootResult<Opened<Journal> & { readonly storage: StoragePort }>> {
  const crashAt = crashPointFromEnv(process.env);
  if (crashAt === 'bad') {
    return fail(`${CRASH_AT_ENV}='${process.env[CRASH_AT_ENV]}': expected before:K or after:K`);
  }
  // Loud, so that a validator left with the hook on is obvious in its log.
  if (crashAt !== null) {
    log.log({ event: 'crash-test-hook', when: crashAt.when, write: crashAt.write });
  }
  const storage = await FileStorage.open(dir, { quotaBytes: null, crashAt });
  if (!storage.ok) return fail(`journal ${dir}: ${storage.detail}`);
  // One writer per journal: `shuaka journal ack` waits for the validator to stop.
  const lock = await dirLockAcquire(dir);
  if (!lock.ok) {
    await storage.value.close();
    return fail(`journal ${dir}: ${lock.detail}`);
  }
  const opened = await Journal.open(storage.value, {
    fileName: JOURNAL_FILE_NAME,
    clock,
    reserveBytes: JOURNAL_RESERVE_BYTES_DEFAULT,
    sizeBytesMax: BUS_VALIDATOR_JOURNAL_BYTES_MAX,
  });
  if (!opened.ok) {
    await storage.value.close();
    await lock.value.release();
    return fail(`journal ${dir}: ${opened.error}: ${opened.detail}`);
  }
  const { journal, recovery } = opened.value;
  log.log({
    event: 'journal-open',
    dir,
    records: recovery.recordCount,
    tornTailBytes: recovery.tornTail?.bytes ?? 0,
    uncertain: recovery.uncertain.length,
  });
  clockBehindCheck(journal.summary().newestWallMs, clock, log);
  const close = async (): Promise<void> => {
    await storage.value.close();
    await lock.value.release();
  };
  return { ok: true, value: { part: journal, close, storage: storage.value } };
}

/**
 * The terminal data key that seals the journal's PANs: `path`, else DIR/data.key. Created
 * (0600, from the OS CSPRNG) on a validator's first start, when the journal holds no card
 * data yet (new, or started by `journal init`); refused when missing for a journal with
 * records, readable by others, or of a bad size.
 */
export async function bootDataKey(
  path: string | null,
  journalDir: string,
  journal: Journal,
): Promise<BootResult<PanVault>> {
  const keyPath = path ?? dataKeyDefaultPath(journalDir);
  const random = (length: number): Uint8Array => new Uint8Array(randomBytes(length));
  // Not `lastSeq === 0`: a journal `shuaka journal init` started after N has no card yet.
  const key = await dataKeyProvision(keyPath, !journal.holdsCardData(), random);
  if (!key.ok) return fail(`data key ${key.error}: ${key.detail}`);
  const vault = PanVault.fromKey(key.value, random);
  // Another terminal's key, or a backup of the wrong one: the journal's card data would be
  // sealed under two keys, and no key would then export it whole.
  const sample = journal.sealedPanSample();
  if (sample !== null && !vault.sealedKeyIdMatches(sample)) {
    return fail(`data key ${keyPath} (key id ${vault.keyIdHex}) is not the key this journal's `
      + `card data is sealed under (key id ${sample.slice(2, 10).toUpperCase()}): another `
      + 'terminal\'s key, or a restore of the wrong file? Nothing was written.');
  }
  return { ok: true, value: vault };
}

function fail<T>(message: string): BootResult<T> {
  return { ok: false, message };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
