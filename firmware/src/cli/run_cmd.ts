// `shuaka run`: the bus validator on real hardware (PN532 on a serial port), until stopped.

import { BoardStop, runBusValidator, type BusValidatorOptions } from '../boards/bus_validator.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, cliInt, cliParse, type CliIo } from './cli_args.js';

export const RUN_USAGE = `Usage:
  shuaka run --port DEV [--baud N] [--params DIR] [--params-pub PUB.pem] [--journal DIR]
             [--data-key FILE] [--mode ec|oda] [--display-port DEV] [--sysfs-root DIR]
             [--max-taps N]
      Run the bus validator: PN532 (HSU) on serial port DEV, started at 115200 baud and then
      switched to N (115200, 230400, 460800 or 921600; default 921600).
      --params DIR        signed parameter set (default ./params), verified with
      --params-pub FILE   its Ed25519 public key (default ./params.pub.pem); a missing,
                          unsigned or tampered set is refused and the validator does not start
      --journal DIR       the journal (default ./journal), created if missing
      --data-key FILE     terminal data key sealing the journal's PANs (default
                          DIR/data.key); created (mode 600) at the first start on an
                          empty journal, refused if missing for a journal with records
      --mode M            ec (offline electronic cash, default) or oda (UnionPay ODA transit)
      --display-port DEV  DWIN display on its own serial port (115200); without it every
                          screen is logged as a JSON line
      --sysfs-root DIR    where pwmchip0/pwm0 and the green:status/red:status LEDs live
                          (default /sys); missing devices are logged, not fatal
      --max-taps N        stop after N taps (default: run until SIGINT/SIGTERM)
  Logs one JSON object per line on stdout (PANs masked). SIGINT or SIGTERM stops after the
  current tap; a second one also cancels the reader's pending operation.
Crash tests only: SHUAKA_CRASH_AT=before:K|after:K kills the process (SIGKILL) at the K-th
journal write, to prove start-up recovery; never set it on a bus.
Exit codes: 0 stopped, 1 refused to start or lost the reader, 2 bad usage.`;

const FLAGS = [
  'port',
  'baud',
  'params',
  'params-pub',
  'journal',
  'data-key',
  'mode',
  'display-port',
  'sysfs-root',
  'max-taps',
];

/** Host-link speeds a PN532 HSU offers that Linux UARTs hit exactly (pn532.md §6). */
export const RUN_BAUD_RATES: readonly number[] = [115200, 230400, 460800, 921600];

/** Largest --max-taps: a day of a busy route many times over. */
const TAPS_MAX = 10_000_000;

/**
 * Runs `shuaka run ...`; returns the exit code. Installs SIGINT/SIGTERM handlers for the
 * duration of the run and removes them after. Never throws on bad input or dead devices.
 */
export async function runRunCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 1 && ['help', '--help', '-h'].includes(argv[0] ?? '')) {
    io.out(RUN_USAGE);
    return EXIT_OK;
  }
  const options = runParse(argv, io);
  if (options === null) return EXIT_USAGE;
  const stop = new BoardStop();
  const onSignal = (): void => stop.request();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const exit = await runBusValidator(options, { log: io.out, err: io.err }, stop);
    return exit.code === 0 ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    // A programmer error (assertion) inside the app: report it; a supervisor (systemd)
    // restarts the unit, and the journal's recovery takes care of a tap in flight.
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.err(`shuaka run: crashed: ${text}`);
    return EXIT_FAILED;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The flags as board options, or null after printing what is wrong and the usage. */
function runParse(argv: readonly string[], io: CliIo): BusValidatorOptions | null {
  const args = cliParse(argv, FLAGS);
  if (args === null) return usage(io, 'unknown flag, missing value or repeated flag');
  if (args.positionals.length !== 0) return usage(io, `unexpected '${args.positionals[0]}'`);
  const v = args.values;
  const port = v['port'];
  if (port === undefined || port === '') return usage(io, '--port is required');
  const baudRate = cliInt(v['baud'] ?? '921600', 1, 10_000_000);
  if (baudRate === null || !RUN_BAUD_RATES.includes(baudRate)) {
    return usage(io, `--baud must be one of ${RUN_BAUD_RATES.join(', ')}`);
  }
  const mode = v['mode'] ?? 'ec';
  if (mode !== 'ec' && mode !== 'oda') return usage(io, `--mode must be ec or oda, got '${mode}'`);
  const tapsText = v['max-taps'];
  const tapsMax = tapsText === undefined ? null : cliInt(tapsText, 1, TAPS_MAX);
  if (tapsText !== undefined && tapsMax === null) {
    return usage(io, `--max-taps must be an integer in 1..${TAPS_MAX}`);
  }
  const paths = ['params', 'params-pub', 'journal', 'data-key', 'display-port', 'sysfs-root'];
  for (const name of paths) {
    if (v[name] === '') return usage(io, `--${name} must not be empty`);
  }
  return {
    readerPath: port,
    baudRate,
    paramsDir: v['params'] ?? 'params',
    paramsPubPath: v['params-pub'] ?? 'params.pub.pem',
    journalDir: v['journal'] ?? 'journal',
    dataKeyPath: v['data-key'] ?? null,
    mode,
    displayPath: v['display-port'] ?? null,
    sysfsRoot: v['sysfs-root'] ?? '/sys',
    tapsMax,
  };
}

function usage(io: CliIo, problem: string): null {
  io.err(`shuaka run: ${problem}\n${RUN_USAGE}`);
  return null;
}
