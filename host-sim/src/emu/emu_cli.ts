// `shuaka emu`: the PN532 emulator (and the DWIN display emulator) stand-alone on ptys, with
// the simulator's virtual cards put on and off the field by commands read from stdin.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

import { mkdirParentsSync } from '../../../hal/src/fs/mkdir_parents.js';

import { cliFlagsChecked } from '../../../firmware/src/cli/cli_args.js';

import { POPULATION_NAMES, population, type PopulationName } from '../cards/card_population.js';
import type { QpbocCard } from '../cards/qpboc_card.js';
import {
  SM_CARD_NAMES, smPopulation, smTestPki, type SmCardName, type SmTestPki,
} from '../cards/sm_population.js';
import { TEST_PKI_SEED } from '../pki/test_pki_spec.js';
import { testPki } from '../pki/test_pki.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../pn532_sim/pn532_sim.js';
import { socatAvailable } from '../pn532_sim/pty/socat_pty_pair.js';
import { startPn532SimOnPty, type Pn532SimOnPty } from '../pn532_sim/pty/pn532_sim_pty.js';
import { WallClock } from '../pn532_sim/pty/wall_clock.js';
import { emuCapkText } from './emu_capk.js';
import { startDisplayOnPty, type DisplayOnPty } from './emu_display.js';

/** Where the command prints: `out` for results and events, `err` for diagnostics. */
export interface EmuIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const EMU_USAGE = `Usage:
  shuaka emu [--dir DIR] [--seed N] [--display] [--verbose]
      Start the PN532 emulator on a pseudo-terminal (socat) and print its path; a host opens
      it as a PN532 on a UART: \`shuaka run --port pn532_uart:PATH\`, or libnfc with
      LIBNFC_DEVICE=pn532_uart:PATH. --display also starts the DWIN display emulator on a
      second pty (\`shuaka run --display-port PATH\`) and prints each screen it shows.
      --dir DIR   where the pty links are made (default: a new temporary directory)
      --seed N    the card population's seed (default 2026)
      --verbose   print every PN532 frame
    Commands on stdin, one per line:
      on NAME     put the virtual card NAME on the reader (\`cards\` lists the names)
      off         take every card off the reader
      cards       list the card names
      quit        stop (so do end of input, SIGINT, SIGTERM and SIGHUP)
  shuaka emu --print-capk
      Print the emulator's TEST CA public keys as capk.txt lines: append them to a parameter
      set (\`shuaka emu --print-capk >> DIR/capk.txt\`) so that its cards pass offline data
      authentication. Never put them on a bus in service.
Exit codes: 0 stopped, 1 socat missing, the ptys cannot be made, or socat ended while
running (the pty gone), 2 bad usage.`;

const SEED_DEFAULT = 2026;
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

interface EmuOptions {
  readonly dir: string | null;
  readonly seed: number;
  readonly display: boolean;
  readonly verbose: boolean;
}

/** Signals that stop the emulator cleanly (socat stopped, its links removed). */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `shuaka emu ...` until `quit`, end of `input`, SIGINT, SIGTERM or SIGHUP (its terminal
 * closing: socat and the pty links were left behind); returns the exit code.
 * Never throws: socat missing or a pty that cannot be opened is reported (exit 1).
 */
export async function runEmuCommand(argv: string[], io: EmuIo, input: Readable): Promise<number> {
  if (argv.length === 1 && ['help', '--help', '-h'].includes(argv[0] ?? '')) {
    io.out(EMU_USAGE);
    return EXIT_OK;
  }
  if (argv.length === 1 && argv[0] === '--print-capk') {
    io.out(emuCapkText(testPki().caKeys, emuSmPki().capkTlvHex));
    return EXIT_OK;
  }
  if (argv.includes('--print-capk')) {
    // It was called an unknown flag beside any other.
    io.err(`shuaka emu: --print-capk takes no other flag\n${EMU_USAGE}`);
    return EXIT_USAGE;
  }
  const options = emuParse(argv);
  if (typeof options === 'string') {
    io.err(`shuaka emu: ${options}\n${EMU_USAGE}`);
    return EXIT_USAGE;
  }
  if (!socatAvailable()) {
    io.err('shuaka emu: socat is missing (Debian: apt-get install socat)');
    return EXIT_FAILED;
  }
  const ownDir = options.dir === null;
  // Absolute, so the printed paths work from any working directory.
  const dir = resolve(options.dir ?? mkdtempSync(join(tmpdir(), 'shuaka-emu-')));
  try {
    mkdirParentsSync(dir);
    return await emuServe(dir, options, io, input);
  } catch (error) {
    io.err(`shuaka emu: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILED;
  } finally {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  }
}

const EMU_FLAGS = {
  dir: { type: 'string' },
  seed: { type: 'string' },
  display: { type: 'boolean' },
  verbose: { type: 'boolean' },
} as const;

/** The options, or the sentence that names what is wrong (an unknown or repeated flag...). */
function emuParse(argv: readonly string[]): EmuOptions | string {
  try {
    const { values: v } = parseArgs({
      args: cliFlagsChecked(argv, EMU_FLAGS), options: EMU_FLAGS, strict: true,
      allowPositionals: false,
    });
    if (v.dir === '') throw new RangeError('--dir needs a directory, got nothing');
    if (v.seed !== undefined && !/^[0-9]{1,9}$/.test(v.seed)) {
      throw new RangeError(`--seed must be an integer in 0..999999999, got '${v.seed}'`);
    }
    return { dir: v.dir ?? null, seed: v.seed === undefined ? SEED_DEFAULT : Number(v.seed),
      display: v.display === true, verbose: v.verbose === true };
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function emuServe(
  dir: string,
  options: EmuOptions,
  io: EmuIo,
  input: Readable,
): Promise<number> {
  const clock = new WallClock();
  const reader = await startPn532SimOnPty({
    dir,
    clock,
    pace: false,
    // Real time: no modelled RF waits; every protocol behaviour stays.
    sim: {
      ...PN532_SIM_DEFAULT_OPTIONS,
      waitModelledTime: false,
      commandDelayMs: 0,
      ...(options.verbose ? { log: (line: string) => io.out(`pn532 ${line}`) } : {}),
    },
  });
  let display: DisplayOnPty | null = null;
  try {
    if (options.display) {
      display = await startDisplayOnPty(join(dir, 'display'), clock, (screen) =>
        io.out(`display ${screen}`));
    }
    // The cards (their test PKI takes a moment) before 'ready': a stop signal that came
    // between the line and the handlers killed the process and left socat running.
    const cards = emuCards(options.seed);
    io.out(`pn532 ${reader.hostPath} (libnfc: pn532_uart:${reader.hostPath})`);
    if (display !== null) io.out(`display ${display.hostPath}`);
    const ready = (): void => io.out('ready: on NAME | off | cards | quit');
    // socat ended on its own (killed, crashed): the pty is gone, no host can reach the
    // emulator any more. It ran on, silent, while the validator retried the reader forever.
    const lost = Promise.race([
      reader.socat.exited.then(() => `pn532 ${reader.hostPath}`),
      ...(display === null ? [] : [display.exited.then(() => `display ${display?.hostPath}`)]),
    ]);
    const end = await emuCommands(reader, cards, io, input, ready, lost);
    if (end === 'stopped') return EXIT_OK;
    io.err(`shuaka emu: socat of ${end} exited; the pty is gone: stopping`);
    return EXIT_FAILED;
  } finally {
    await display?.close();
    await reader.close();
  }
}

/** Reads commands until quit, end of input or a signal. */
async function emuCommands(
  reader: Pn532SimOnPty,
  cards: EmuCards,
  io: EmuIo,
  input: Readable,
  ready: () => void,
  lost: Promise<string>,
): Promise<'stopped' | string> {
  const lines = createInterface({ input, terminal: false });
  const placed: QpbocCard[] = [];
  // One card per name for the whole session: a card's ATC and balance go on between taps.
  const wallet = new Map<EmuCardName, QpbocCard>();
  let end: 'stopped' | string = 'stopped';
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      for (const signal of STOP_SIGNALS) process.off(signal, stop);
      lines.close();
      // A pipe on stdin that the caller keeps open would keep the process alive after quit.
      input.destroy();
      resolve();
    };
    void lost.then((what) => {
      end = what;
      stop();
    });
    for (const signal of STOP_SIGNALS) process.on(signal, stop);
    ready();
    lines.on('close', stop);
    lines.on('line', (line) => {
      const [command, name, extra] = line.trim().split(/\s+/);
      if (command === 'quit') stop();
      else if (command === 'cards' && name === undefined) io.out(EMU_CARD_NAMES.join(' '));
      else if (command === 'off' && name === undefined) {
        for (const card of placed.splice(0)) reader.sim.removeCard(card);
        io.out('off');
      } else if (command === 'on' && isCardName(name) && extra === undefined) {
        const card = wallet.get(name) ?? cards.card(name);
        wallet.set(name, card);
        if (!placed.includes(card)) placed.push(card);
        reader.sim.placeCard(card);
        io.out(`on ${name}`);
      } else if (command === 'on' && name !== undefined && extra === undefined) {
        io.err(`emu: unknown card '${name}' ('cards' lists them)`);
      } else if (command !== undefined && command !== '') {
        io.err(`emu: unknown command '${line.trim()}' (on NAME | off | cards | quit)`);
      }
    });
  });
  await stopped;
  return end;
}

/** The population's cards and the SM ones (their SM CA key is in `--print-capk`). */
const EMU_CARD_NAMES: readonly EmuCardName[] = [...POPULATION_NAMES, ...SM_CARD_NAMES];
type EmuCardName = PopulationName | SmCardName;

/** The cards of `seed`, by name. */
interface EmuCards {
  card(name: EmuCardName): QpbocCard;
}

function emuCards(seed: number): EmuCards {
  const cards = population(seed, { pki: testPki() });
  const sm = smPopulation(cards, emuSmPki());
  return {
    card: (name) => (isSmName(name) ? sm.card(name) : cards.card(name)),
  };
}

/**
 * The SM test PKI of every emulator run, whatever --seed: `--print-capk` has no seed, and its
 * key must be the one the cards of any seed chain to (as the RSA test PKI is).
 */
function emuSmPki(): SmTestPki {
  return smTestPki(TEST_PKI_SEED);
}

function isSmName(name: EmuCardName): name is SmCardName {
  return (SM_CARD_NAMES as readonly string[]).includes(name);
}

function isCardName(name: string | undefined): name is EmuCardName {
  return EMU_CARD_NAMES.some((n) => n === name);
}
