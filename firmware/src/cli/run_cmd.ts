// `shuaka run`: the bus validator on real hardware (PN532 on a serial port), until stopped.

import { existsSync } from 'node:fs';

import {
  BoardStop,
  runBusValidator,
  type BusValidatorOptions,
} from '../boards/bus_validator.js';
import type { BusDepotOptions } from '../boards/bus_uploader.js';
import {
  EXIT_DISPLAY,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_READER,
  EXIT_STORAGE,
  EXIT_TURNSTILE,
  EXIT_USAGE,
  cliHelpAsked,
  cliInt,
  cliParse,
  type CliIo,
} from './cli_args.js';
import { runGateBoard, type GateExitKind } from '../boards/gate_board.js';
import { portSpecParse } from './libnfc_connstring.js';
import { RUN_GATE_FLAGS, RUN_GATE_USAGE, runGateParse } from './run_gate_flags.js';
import { paramsHowTo } from './params_init.js';

export const RUN_USAGE = `Usage:
  shuaka run --port DEV|pn532_uart:DEV[:BAUD] [--baud N] [--params DIR]
  shuaka run --reader pcsc:NAME [--params DIR] ...
             [--params-pub PUB.pem] [--journal DIR]
             [--journal-min-free-mb N] [--data-key FILE] [--deny-key FILE]
             [--mode auto|ec|oda] [--psam pcsc:NAME] [--stop-file FILE]
             [--display-port DEV] [--sysfs-root DIR] [--max-taps N] [--ifd-serial SERIAL]
             [--depot URL --depot-identity DIR [--depot-interval-s N]]
      Run the bus validator: PN532 (HSU) on serial port DEV, started at 115200 baud and then
      switched to N (115200, 230400, 460800 or 921600; default 921600). DEV may be given
      as a libnfc connection string, pn532_uart:DEV[:BAUD] (BAUD as --baud).
      --reader pcsc:NAME  a PC/SC contactless reader (ACR122U class) instead of the PN532:
                          NAME is the reader's PC/SC name or its start ("ACS ACR122U");
                          needs pcscd and the npm package @pokusew/pcsclite; a reader that
                          leaves PC/SC is waited for and taken again when listed
      --params DIR        signed parameter set (default ./params), verified with
      --params-pub FILE   its Ed25519 public key (default ./params.pub.pem); a missing,
                          unsigned or tampered set is refused and the validator does not start
                          (DIR may be an A/B root written by \`shuaka params install\`)
                          whose active slot, if corrupt or incomplete, gives way to the
                          other slot when that one is valid and not below the floor
                          (logged as params-fallback); neither usable: exit 1
      --journal DIR       the journal (default ./journal), created if missing; at start a
                          probe file is written and fsynced there and statfs measured: a
                          read-only, full or too small directory, or a journal file
                          (segment, gate ledger day) it may not write, refuses the start;
                          it also keeps params_version_floor.json: a set older than one
                          already run is refused (exit 1, "refused (rollback)")
      --journal-min-free-mb N  free space the journal's file system must have (default 64)
      --data-key FILE     terminal data key sealing the journal's PANs (default
                          DIR/data.key); created (mode 600) at the first start on an
                          empty journal, refused if missing for a journal with records
                          or if the journal's PANs are sealed under another key (exit 1)
      --deny-key FILE     the fleet deny key (32 bytes, mode 600; default DIR/deny.key),
                          provisioned like the parameter key; the set's deny list must be
                          made with it, else the set is refused (exit 1)
      --mode M            auto (default: e-cash when the purse pays, else UnionPay ODA or the
                          full PBOC flow, authorised later), ec (e-cash only) or oda (ODA only);
                          on a gate, how it sells: every card is read for its ticket
      --psam pcsc:NAME    the PSAM of T-Union (JT/T 978) cards in PC/SC reader NAME (a SAM
                          slot, or a contact reader; NAME or its start): powered, selected
                          and its terminal number read at start (logged as psam). PC/SC
                          missing or the reader not listed within 3 s stops the start
                          (exit 3); an empty slot or a PSAM that refuses does not: it is
                          logged (psam-down), bank cards are served, T-Union cards refused
                          (请使用其他卡 07-76) and the PSAM tried again at a T-Union card, at
                          most every 5 s; once it opens (psam-back) that card and the next
                          are served. Without --psam T-Union cards are refused (不支持此卡)
      --stop-file FILE    the bus's position for T-Union tap-in/tap-out fares, one line
                          'STOP [DIRECTION [VEHICLE]]' (stop 1..255; direction 0 up, 1 down;
                          vehicle up to 8 ASCII characters) kept by the stop announcer or
                          onboard unit (write it by rename), read at each T-Union tap.
                          Missing or not such a line: the stop is unknown, segment lines ask
                          for another card (请使用其他卡 07-77), logged once per cause
                          (stop-source-unreadable) and when it reads again (stop-source-back)
      --display-port DEV  DWIN display on its own serial port (115200); without it every
                          screen is logged as a JSON line
      --sysfs-root DIR    where pwmchip0/pwm0 and the green:status/red:status LEDs live
                          (default /sys); missing devices are logged, not fatal
      --max-taps N        stop after N taps (default: run until SIGINT/SIGTERM/SIGHUP)
      --depot URL         upload the journal to this depot (https://host:port), between
                          taps, and take new parameter sets from it; the journal is
                          acknowledged only for what the depot stored
      --depot-identity DIR  the terminal's TLS identity: terminal.key.pem, terminal.crt.pem
                          and the fleet CA ca.crt.pem (required with --depot)
      --depot-interval-s N  seconds between two contacts (default 60; failures back off
                          from 2 s doubling to 15 min, with jitter)
      --ifd-serial SERIAL the device's IFD serial number (9F1E, an 8: exactly 8 letters or
                          digits), sent to the card and in every record's field 55 (default:
                          the last 8 letters and digits of the parameter set's terminal ID)
  Logs one JSON object per line on stdout (PANs masked). SIGINT, SIGTERM or SIGHUP stops after
  the current tap ('stopped' names the signal); a second one also cancels the reader's pending
  operation. A reader lost while running (USB unplugged) is logged (reader-lost), shown out of
  service and reopened with backoff (0.5 s doubling to 10 s) until it answers again; it never
  ends the run.
Crash tests only: SHUAKA_CRASH_AT=before:K|after:K kills the process (SIGKILL) at the K-th
journal write, to prove start-up recovery; never set it on a bus.
Exit codes:
  0  stopped (SIGINT/SIGTERM/SIGHUP, or --max-taps reached)
  1  refused to start: parameter set refused, journal unreadable or held by another running
     validator (its journal.lock), data key missing or open to others, kernel, crash hook; or
     crashed
  2  bad usage
  3  reader: serial port cannot be opened, or no PN532 answers at start; PC/SC reader not
     listed or PC/SC not installed; the --psam reader not listed (an empty PSAM slot or a
     PSAM refusing SELECT or READ BINARY is no exit: the validator starts without it)
  4  storage: journal directory read-only, full, below --journal-min-free-mb, not a directory,
     or a journal file in it not writable
  5  display: the display's serial port cannot be opened
  6  turnstile (--board gate): its device cannot be opened, or the controller does not answer
     the lock at start
  The log (stdout) lost while running (its reader gone, the terminal hung up) is no exit: it
  is said once on stderr and dropped, and the validator goes on (the journal is the record).
${RUN_GATE_USAGE}`;

const FLAGS = [
  'port',
  'reader',
  'baud',
  'params',
  'params-pub',
  'journal',
  'journal-min-free-mb',
  'data-key',
  'deny-key',
  'mode',
  'display-port',
  'sysfs-root',
  'max-taps',
  'depot',
  'depot-identity',
  'depot-interval-s',
  'ifd-serial',
  'psam',
  'stop-file',
  ...RUN_GATE_FLAGS,
];

/** Default --depot-interval-s, and its bounds (a second to a day). */
const DEPOT_INTERVAL_S_DEFAULT = 60;
const DEPOT_INTERVAL_S_MAX = 86_400;

/** Host-link speeds a PN532 HSU offers that Linux UARTs hit exactly (pn532.md §6). */
export const RUN_BAUD_RATES: readonly number[] = [115200, 230400, 460800, 921600];

/** Largest --max-taps: a day of a busy route many times over. */
const TAPS_MAX = 10_000_000;

/** Default --journal-min-free-mb: a few months of taps at ~1 KB each, 2,000 a day. */
export const RUN_JOURNAL_MIN_FREE_MB_DEFAULT = 64;
/** Largest --journal-min-free-mb (1 PiB: any real disk is below it, for tests of the check). */
const JOURNAL_MIN_FREE_MB_MAX = 2 ** 30;

/** The process exit code of each way a run ends (the table in RUN_USAGE and README). */
export const RUN_EXIT_CODES: Readonly<Record<GateExitKind, number>> = {
  turnstile: EXIT_TURNSTILE,
  stopped: EXIT_OK,
  refused: EXIT_FAILED,
  reader: EXIT_READER,
  storage: EXIT_STORAGE,
  display: EXIT_DISPLAY,
};

/** Signals that stop the run after the current tap (a second one cancels the reader). */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `shuaka run ...`; returns the exit code. Installs STOP_SIGNALS handlers for the
 * duration of the run and removes them after. Never throws on bad input or dead devices.
 */
export async function runRunCommand(argv: string[], io: CliIo): Promise<number> {
  // --help anywhere ('run --board gate --help' printed nothing and exited 2).
  if (cliHelpAsked(argv) || (argv.length === 1 && argv[0] === 'help')) {
    io.out(RUN_USAGE);
    return EXIT_OK;
  }
  const options = runParse(argv, io);
  if (options === null) return EXIT_USAGE;
  const gate = runGateParse(cliParse(argv, FLAGS, io)?.values ?? {}, options, io, RUN_USAGE);
  if (gate === false) return EXIT_USAGE;
  const missing = [options.paramsDir, options.paramsPubPath].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    io.err(`shuaka run: refused: ${missing.join(' and ')} missing; `
      + paramsHowTo(options.paramsDir, options.paramsPubPath));
    return EXIT_FAILED;
  }
  const stop = new BoardStop();
  // SIGHUP too: a technician's ssh session that closes ended the run at once (exit 129, no
  // 'stopped' line), mid-tap if a card was in the field.
  const onSignal = (signal: NodeJS.Signals): void => stop.request(`signal ${signal}`);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    const boardIo = { log: io.out, err: io.err };
    if (gate !== null) return RUN_EXIT_CODES[(await runGateBoard(gate, boardIo, stop)).code];
    const exit = await runBusValidator(options, boardIo, stop);
    return RUN_EXIT_CODES[exit.code];
  } catch (error) {
    // A programmer error (assertion) inside the app: report it; a supervisor (systemd)
    // restarts the unit, and the journal's recovery takes care of a tap in flight.
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(`shuaka run: crashed: ${text}`);
    return EXIT_FAILED;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}

/** The flags as board options, or null after printing what is wrong and the usage. */
function runParse(argv: readonly string[], io: CliIo): BusValidatorOptions | null {
  // A bad flag (unknown, or missing its value) is named before the usage, as other problems.
  const args = cliParse(argv, FLAGS, { err: (problem) => usage(io, problem) });
  if (args === null) return null;
  if (args.positionals.length !== 0) return usage(io, `unexpected '${args.positionals[0]}'`);
  const v = args.values;
  const device = runParseReader(v, io);
  if (device === null) return null;
  const mode = v['mode'] ?? 'auto';
  if (mode !== 'ec' && mode !== 'oda' && mode !== 'auto') {
    return usage(io, `--mode must be auto, ec or oda, got '${mode}'`);
  }
  const tapsText = v['max-taps'];
  const tapsMax = tapsText === undefined ? null : cliInt(tapsText, 1, TAPS_MAX);
  if (tapsText !== undefined && tapsMax === null) {
    return usage(io, `--max-taps must be an integer in 1..${TAPS_MAX}`);
  }
  const minFreeText = v['journal-min-free-mb'];
  const minFreeMb =
    minFreeText === undefined
      ? RUN_JOURNAL_MIN_FREE_MB_DEFAULT
      : cliInt(minFreeText, 0, JOURNAL_MIN_FREE_MB_MAX);
  if (minFreeMb === null) {
    return usage(io, `--journal-min-free-mb must be an integer in 0..${JOURNAL_MIN_FREE_MB_MAX}`);
  }
  const ifdSerial = v['ifd-serial'] ?? null;
  // 9F1E is an 8 (EMV 4.4 Book 3, Annex A): exactly 8 alphanumeric characters.
  if (ifdSerial !== null && !/^[A-Za-z0-9]{8}$/.test(ifdSerial)) {
    return usage(io, `--ifd-serial must be exactly 8 letters or digits, got '${ifdSerial}'`);
  }
  const paths = [
    'params', 'params-pub', 'journal', 'data-key', 'deny-key', 'display-port', 'sysfs-root',
    'stop-file',
  ];
  for (const name of paths) {
    if (v[name] === '') return usage(io, `--${name} must not be empty`);
  }
  const depot = runParseDepot(v, io);
  if (depot === false) return null;
  const psamText = v['psam'];
  const psamReaderName = psamText?.startsWith('pcsc:') === true ? psamText.slice(5) : null;
  if (psamText !== undefined && (psamReaderName === null || psamReaderName === '')) {
    return usage(io, `--psam must be pcsc:NAME, got '${psamText}'`);
  }
  return {
    ...device,
    psamReaderName,
    stopFilePath: v['stop-file'] ?? null,
    paramsDir: v['params'] ?? 'params',
    paramsPubPath: v['params-pub'] ?? 'params.pub.pem',
    journalDir: v['journal'] ?? 'journal',
    journalMinFreeBytes: minFreeMb * 2 ** 20,
    dataKeyPath: v['data-key'] ?? null,
    denyKeyPath: v['deny-key'] ?? null,
    mode,
    displayPath: v['display-port'] ?? null,
    sysfsRoot: v['sysfs-root'] ?? '/sys',
    tapsMax,
    depot,
    ifdSerial,
  };
}

/** --port (a PN532) or --reader pcsc:NAME, as board options; null after printing the usage. */
function runParseReader(
  v: Readonly<Record<string, string | undefined>>,
  io: CliIo,
): { readerPath: string; baudRate: number; pcscReaderName: string | null } | null {
  const readerText = v['reader'];
  if (readerText !== undefined) {
    if (v['port'] !== undefined) return usage(io, '--reader and --port exclude each other');
    if (v['baud'] !== undefined) return usage(io, '--baud is for the PN532 (--port)');
    const name = readerText.startsWith('pcsc:') ? readerText.slice('pcsc:'.length) : '';
    if (name === '') return usage(io, `--reader must be pcsc:NAME, got '${readerText}'`);
    return { readerPath: readerText, baudRate: 115200, pcscReaderName: name };
  }
  const portText = v['port'];
  if (portText === undefined || portText === '') return usage(io, '--port is required');
  const port = portSpecParse(portText);
  if ('error' in port) return usage(io, port.error);
  if (port.baudRate !== null && v['baud'] !== undefined && Number(v['baud']) !== port.baudRate) {
    return usage(io, `--port names ${port.baudRate} baud and --baud ${v['baud']}`);
  }
  const baudRate = cliInt(v['baud'] ?? String(port.baudRate ?? 921600), 1, 10_000_000);
  if (baudRate === null || !RUN_BAUD_RATES.includes(baudRate)) {
    return usage(io, `--baud must be one of ${RUN_BAUD_RATES.join(', ')}`);
  }
  return { readerPath: port.path, baudRate, pcscReaderName: null };
}

/** The --depot flags: options, null without --depot, or false after printing the usage. */
function runParseDepot(
  v: Readonly<Record<string, string | undefined>>,
  io: CliIo,
): BusDepotOptions | null | false {
  const urlText = v['depot'];
  const identityDir = v['depot-identity'];
  const intervalText = v['depot-interval-s'];
  if (urlText === undefined) {
    if (identityDir !== undefined || intervalText !== undefined) {
      return usage(io, '--depot-identity and --depot-interval-s need --depot') ?? false;
    }
    return null;
  }
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    return usage(io, `--depot '${urlText}' is not a URL`) ?? false;
  }
  if (url.protocol !== 'https:') return usage(io, '--depot must be an https:// URL') ?? false;
  if (identityDir === undefined || identityDir === '') {
    return usage(io, '--depot needs --depot-identity DIR') ?? false;
  }
  const intervalS = intervalText === undefined ? DEPOT_INTERVAL_S_DEFAULT
    : cliInt(intervalText, 1, DEPOT_INTERVAL_S_MAX);
  if (intervalS === null) {
    return usage(io, `--depot-interval-s must be an integer in 1..${DEPOT_INTERVAL_S_MAX}`)
      ?? false;
  }
  return { url, identityDir, contactIntervalMs: intervalS * 1000 };
}

function usage(io: CliIo, problem: string): null {
  io.err(`shuaka run: ${problem}\n${RUN_USAGE}`);
  return null;
}
