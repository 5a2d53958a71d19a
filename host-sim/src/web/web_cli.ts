// `shuaka sim --web`: the validator's face in a browser, with virtual cards to tap, live.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cliFlagsChecked } from '../../../firmware/src/cli/cli_args.js';
import { parsePopulationKind } from '../cards/card_mix.js';
import { testPki } from '../pki/test_pki.js';
import { BUS_RUN_DEFAULT, type BusRunOptions, type TapLine } from '../sim/bus_run.js';
import { riderPool } from '../sim/bus_riders.js';
import { Prng } from '../prng.js';
import { DepotSim } from '../sim/depot_sim.js';
import { fleetTerminalId, fleetUploader } from '../sim/fleet_run.js';
import { CLOCK_PACER_DEFAULT } from './clock_pacer.js';
import { DepotSwitch } from './depot_switch.js';
import { createWebBusBoard } from './web_bus_board.js';
import { WebBusDevice } from './web_bus_device.js';
import { createWebGateDevice } from './web_gate_device.js';
import type { WebDevice } from './web_device.js';
import { startWebServer, WebListenError, type WebServer } from './web_server.js';

export const WEB_USAGE = `Usage: shuaka sim --web [--port P] [--host H] [--fleet N] [--seed N]
                  [--mode auto|ec|oda] [--population realistic|default|sm] [--speed X] [--quiet]
  Serves the validator's face on http://H:P/: the screen drawn from the DWIN frames the
  firmware sends (decoded by the display emulator), the status LEDs and the beep (Web Audio,
  from the buzzer's PWM writes), fare, balance, journal and upload backlog. Tap a card of the
  population (click), hold it on the reader (drag it there), take it away, or pull it early.
  Runs until Ctrl-C.
  --port P      TCP port (default 8532; 0 = any free port, printed)
  --host H      address to bind (default 127.0.0.1: only this machine sees the page); the
                page answers to IP addresses, localhost and H only (no DNS rebinding)
  --fleet N     N validators side by side (1..8, default 1), terminal ids SIM00001..
  --seed N      seed of the cards and boards (default 1)
  --speed X     simulated time per real time, 0.1..10 (default 1)
  --quiet       do not print the taps on the terminal
  --board gate  a scenic-area gate lane instead of buses (GATE0001: tap a ticket holder or a
                walk-in, walk through when the lane opens, jump it, stand in its sensor)`;

/** What `--web` runs with; every field explicit. */
export interface WebOptions {
  readonly host: string;
  readonly port: number;
  readonly fleet: number;
  readonly speed: number;
  readonly quiet: boolean;
  readonly run: BusRunOptions;
  /** The device kind on the page: buses (`fleet` of them) or one gate lane. */
  readonly board: 'bus' | 'gate';
}

export const WEB_PORT_DEFAULT = 8532;
const FLEET_MAX = 8;

function intFlag(text: string | undefined, fallback: number, range: [number, number],
  name: string): number {
  if (text === undefined) return fallback;
  const [min, max] = range;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new RangeError(`--${name} must be an integer in ${min}..${max}, got '${text}'`);
  }
  return Number(text);
}

const WEB_FLAGS = {
  web: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' },
  fleet: { type: 'string' }, seed: { type: 'string' }, mode: { type: 'string' },
  population: { type: 'string' }, speed: { type: 'string' }, quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }, board: { type: 'string' },
} as const;

/** Parses `sim --web ...`; 'help', an error sentence, or the options. */
export function parseWebOptions(argv: string[]): WebOptions | 'help' | string {
  try {
    const { values: v } = parseArgs({
      args: cliFlagsChecked(argv, WEB_FLAGS), strict: true, allowPositionals: false,
      options: WEB_FLAGS,
    });
    if (v.help === true) return 'help';
    const board = v.board ?? 'bus';
    if (board !== 'bus' && board !== 'gate') {
      throw new RangeError(`--board must be bus or gate, got '${board}'`);
    }
    // A decimal number only: Number() also takes "0x5", "1e0" and " 2 ".
    const speed = v.speed === undefined ? 1
      : /^[0-9]{1,2}(?:\.[0-9]{1,3})?$/.test(v.speed) ? Number(v.speed) : NaN;
    if (!(speed >= 0.1 && speed <= 10)) {
      throw new RangeError(`--speed must be a decimal number in 0.1..10, got '${v.speed ?? ''}'`);
    }
    const mode = v.mode ?? BUS_RUN_DEFAULT.mode;
    if (mode !== 'ec' && mode !== 'oda' && mode !== 'auto')
      throw new RangeError(`--mode must be auto, ec or oda, got '${mode}'`);
    const populationKind = v.population === undefined
      ? (BUS_RUN_DEFAULT.populationKind ?? 'realistic')
      : parsePopulationKind(v.population);
    return {
      host: v.host ?? '127.0.0.1',
      port: intFlag(v.port, WEB_PORT_DEFAULT, [0, 65_535], 'port'),
      fleet: intFlag(v.fleet, 1, [1, FLEET_MAX], 'fleet'),
      speed,
      quiet: v.quiet === true,
      board,
      run: {
        ...BUS_RUN_DEFAULT,
        seed: intFlag(v.seed, BUS_RUN_DEFAULT.seed, [0, 0xffff_ffff], 'seed'),
        mode,
        populationKind,
        cardGroups: 1,
      },
    };
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The page's folder: host-sim/web, found upward from this module (source or dist/). */
export function webAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    const candidate = join(dir, 'host-sim', 'web');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('the web page (host-sim/web/index.html) is missing from this package');
}

/**
 * Builds the devices (one bus per `fleet`, sharing one card population) and serves them.
 * Throws when a board cannot start or the port cannot be bound; nothing is left running then.
 */
export async function startWebFace(options: WebOptions, onTap: (id: string, line: TapLine)
  => void): Promise<WebServer> {
  const { run } = options;
  const pool = riderPool(run.seed, run.cardGroups, testPki(), run.populationKind);
  const pace = { ...CLOCK_PACER_DEFAULT, speed: options.speed };
  const devices: WebDevice[] = [];
  // One depot twin for the page's fleet; each bus reaches it on a link the page can cut.
  const depot = new DepotSim();
  try {
    if (options.board === 'gate') devices.push(await createWebGateDevice(run.seed, pace));
    for (let bus = 0; options.board === 'bus' && bus < options.fleet; bus += 1) {
      const terminalId = fleetTerminalId(bus);
      const parts = await createWebBusBoard({ ...run, seed: run.seed + bus, terminalId }, pool);
      const link = new DepotSwitch(depot);
      const jitter = new Prng(run.seed + bus).fork('upload-jitter');
      const uploader = fleetUploader(parts.board, link, terminalId, jitter, null);
      devices.push(new WebBusDevice(parts, pool, { uploader, link, depot }, pace,
        (line) => onTap(terminalId, line)));
    }
    return await startWebServer({
      host: options.host, port: options.port, assetsDir: webAssetsDir(), devices,
    });
  } catch (error) {
    await Promise.all(devices.map((d) => d.stop()));
    throw error;
  }
}

/** Resolves at the first SIGINT or SIGTERM (Ctrl-C in the terminal, a service manager). */
export function untilInterrupted(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * `shuaka sim --web`: 0 after Ctrl-C, 2 on bad usage or a port that cannot be bound (the
 * message says why), 3 when a board cannot start. `until` resolves when the page should stop.
 */
export async function runWebCommand(
  argv: string[],
  io: { out(text: string): void; err(text: string): void },
  until: () => Promise<string> = untilInterrupted,
  formatTap: (line: TapLine) => string = (line) => JSON.stringify(line.report),
): Promise<number> {
  const parsed = parseWebOptions(argv);
  if (parsed === 'help') {
    io.out(WEB_USAGE);
    return 0;
  }
  if (typeof parsed === 'string') {
    io.err(`shuaka sim --web: ${parsed}\n${WEB_USAGE}`);
    return 2;
  }
  const stopped = until();
  let server: WebServer;
  try {
    server = await startWebFace(parsed, (id, line) => {
      if (!parsed.quiet) io.out(`${id} ${formatTap(line)}`);
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`shuaka sim --web: ${message}`);
    return error instanceof WebListenError ? 2 : 3;
  }
  io.out(`shuaka sim --web: ${server.url} (${parsed.fleet} validator` +
    `${parsed.fleet === 1 ? '' : 's'}, seed ${parsed.run.seed}; Ctrl-C stops)`);
  const signal = await stopped;
  await server.close();
  io.out(`shuaka sim --web: stopped (${signal})`);
  return 0;
}
