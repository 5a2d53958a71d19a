#!/usr/bin/env node
// The `shuaka` command: runs the compiled CLI from dist/. It never builds: an installed package
// ships dist/ and build/ (kernel.wasm), and a source checkout builds with `npm run build`.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, readFileSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'firmware', 'src', 'cli', 'shuaka_cli.js');
const kernelPath = join(root, 'build', 'kernel.wasm');
/**
 * A reader that stops early (`shuaka journal export | head`) closes the pipe: the command ends
 * as one killed by SIGPIPE would (128 + 13), without a stack trace. Any other failure of stdout
 * or stderr (a full disk, a file-size limit) is said once on stderr (when stderr still works),
 * later output to that stream is dropped, and the command's exit code becomes 1 if it was 0;
 * `io.outFlush` tells a command whose product is its stdout (journal export) before it
 * reports success. A stack trace, after the command had said it was done, was all there was.
 */
const EXIT_PIPE = 141;
const EXIT_FAILED = 1;
const failures = new Map();
/**
 * `shuaka run` is a validator: its log's reader going away (a log collector restarted, `run |
 * head`) must not end it in the middle of a tap (a rider debited, no answer on the screen, the
 * final record not written). Its log is then said lost once on stderr and dropped; the
 * validator goes on, and its exit code is what it would have been.
 */
const keepServing = process.argv[2] === 'run';
/** Streams on a terminal that hung up (EIO): their output has nowhere to go; no failure. */
const hungUp = new Set();
function outputFailed(stream, error) {
  if (error?.code === 'EPIPE' && !keepServing) process.exit(EXIT_PIPE);
  if (failures.has(stream)) return;
  failures.set(stream, error);
  if (error?.code === 'EIO' && stream.isTTY) {
    hungUp.add(stream);
    return;
  }
  const name = stream === process.stdout ? 'stdout' : 'stderr';
  if (keepServing && !failures.has(process.stderr)) {
    try {
      process.stderr.write(`shuaka run: cannot write the log to ${name} `
        + `(${error?.message ?? error}); the log is dropped from here\n`);
    } catch {
      // stderr failed too: the journal is the record; nothing else is left to tell.
    }
  } else if (!failures.has(process.stderr)) {
    try {
      process.stderr.write(`shuaka: cannot write to ${name}: ${error?.message ?? error}\n`);
    } catch {
      // stderr failed too: the exit code is all that is left.
    }
  }
}
function writeLine(stream, text) {
  if (failures.has(stream)) return;
  try {
    stream.write(`${text}\n`);
  } catch (error) {
    outputFailed(stream, error);
  }
}
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => outputFailed(stream, error));
}
/**
 * A terminal that hung up (an ssh session closed: SIGHUP, then every write fails EIO) made
 * node abort at its exit (SIGABRT, a native stack trace: it restores the terminal's settings
 * with tcsetattr and asserts it succeeded). The standard streams on such a terminal are
 * closed first: node skips what is closed. Only a hung-up one: any other terminal gets its
 * settings back as usual.
 */
const TERMINAL_FDS = [0, 1, 2].filter((fd) => isatty(fd));
function closeHungUpTerminals() {
  for (const fd of TERMINAL_FDS) {
    try {
      writeSync(fd, Buffer.alloc(0));
    } catch (error) {
      if (error?.code !== 'EIO') continue;
      try {
        closeSync(fd);
      } catch {
        // Already closed: nothing to restore.
      }
    }
  }
}

process.on('exit', (code) => {
  const failed = [...failures.keys()].some((stream) => !hungUp.has(stream));
  if (code === 0 && failed && !keepServing) process.exitCode = EXIT_FAILED;
  closeHungUpTerminals();
});
const io = {
  out: (text) => writeLine(process.stdout, text),
  err: (text) => writeLine(process.stderr, text),
  outFlush: () => new Promise((resolve) => {
    const failed = () => failures.get(process.stdout)?.message ?? null;
    if (failures.has(process.stdout)) {
      resolve(failed());
      return;
    }
    process.stdout.write('', (error) => {
      if (error) outputFailed(process.stdout, error);
      resolve(failed());
    });
  }),
  // A reader slower than the command (a pipe to a slow link) holds it here, not in its heap:
  // `journal export` to such a pipe ran out of memory (exit 134) with a line cut in half.
  outDrain: () => new Promise((resolve) => {
    const stdout = process.stdout;
    if (failures.has(stdout) || !stdout.writableNeedDrain) {
      resolve();
      return;
    }
    const done = () => {
      stdout.off('drain', done);
      stdout.off('error', done);
      stdout.off('close', done);
      resolve();
    };
    stdout.on('drain', done);
    stdout.on('error', done);
    stdout.on('close', done);
  }),
};

/** Exit code of a package whose compiled code or kernel is missing (as `run` refusing to start). */
const EXIT_BROKEN = 1;
const EXIT_USAGE = 2;

// A source checkout has the AssemblyScript sources; an installed package does not.
const checkout = existsSync(join(root, 'assembly', 'src'));
for (const [path, what] of [[entry, 'dist/ (the compiled CLI)'], [kernelPath, 'build/kernel.wasm']]) {
  if (existsSync(path)) continue;
  io.err(checkout
    ? `shuaka: ${what} is missing in this source checkout: run \`npm run build\` first`
    : `shuaka: ${what} is missing from this package (${root}): reinstall it`);
  process.exit(EXIT_BROKEN);
}

const load = (path) => import(new URL(`file://${join(root, 'dist', path)}`).href);
const benchEntry = join(root, 'dist', 'bench', 'bench_cli.js');

// This file is the composition root of the desktop tools: `sim` lives in host-sim and `bench`
// in bench/, which the firmware's own command table may not import. Their summaries join the
// firmware's table in `shuaka --help`.
const ROOT_COMMANDS = {
  sim: 'the simulated bus line: emulated PN532, virtual cards, the production firmware',
  swarm: 'the whole validator in simulated time under seeded faults, invariants per tap',
  'acquirer-sim': 'a simulated acquirer host (ISO 8583) for the depot',
  depot: 'the back office: terminals, ingest of journals, parameter and deny list publication',
  emu: 'the PN532 emulator (and DWIN display emulator) on a pty, cards on/off from stdin',
  ...(existsSync(benchEntry)
    ? { bench: 'the benchmark suites with JSON and HTML reports' }
    : {}),
};

/** `shuaka --version`: the package version and the SHA-256 of the kernel it runs. */
function printVersion() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const kernelSha256 = createHash('sha256').update(readFileSync(kernelPath)).digest('hex');
  io.out(`shuaka ${pkg.version}`);
  io.out(`kernel sha256 ${kernelSha256} (build/kernel.wasm)`);
}

async function runSim(rest) {
  const { runSimCommand } = await load('host-sim/src/sim/sim_cli.js');
  const { socatAvailable } = await load('host-sim/src/pn532_sim/pty/socat_pty_pair.js');
  // The pty mode needs the native serial driver (firmware/src/boards) and the emulator
  // (host-sim): only this composition root may join the two. Loaded on first use only.
  const ptyRunner = socatAvailable()
    ? async (options, onTap) => {
        const { runBusOnPty, BUS_PTY_DEFAULT } = await load('host-sim/src/sim/bus_run_pty.js');
        const { openPn532OnSerial } = await load('firmware/src/boards/pty_reader.js');
        return runBusOnPty(options, onTap, openPn532OnSerial, BUS_PTY_DEFAULT);
      }
    : null;
  // The fleet's real depot: the board's HTTPS transport with each bus's identity.
  const openDepot = async (url, identityDir) => {
    const { DepotHttps, depotIdentityRead } = await load('firmware/src/boards/depot_https.js');
    const identity = await depotIdentityRead(identityDir);
    if (!identity.ok) throw new Error(`depot identity ${identityDir}: ${identity.detail}`);
    return new DepotHttps({ url, identity: identity.value, timeoutMs: 30_000 });
  };
  // Progress on stderr when it is a terminal; tap and summary lines erase it first, so they
  // never run into it (host-sim/src/sim/sim_terminal.ts).
  const { terminalIo } = await load('host-sim/src/sim/sim_terminal.js');
  const terminal = terminalIo(process.stdout, process.stderr,
    process.stderr.isTTY ? process.stderr : null);
  // Ctrl-C: the run stops after the tap under way, prints a partial summary and removes what
  // it made (socat, temporary directories); a second Ctrl-C exits at once.
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  // The web face and the fleet stop on Ctrl-C their own way.
  const ownSigint = rest.includes('--web')
    || rest.some((arg) => arg === '--fleet' || arg.startsWith('--fleet='));
  if (!ownSigint) process.on('SIGINT', onSigint);
  try {
    return await runSimCommand(rest, terminal, ptyRunner, openDepot, interrupt.signal);
  } finally {
    terminal.endStatus();
    process.off('SIGINT', onSigint);
  }
}

async function runRootCommand(command, rest) {
  switch (command) {
    case 'sim':
      return runSim(rest);
    case 'swarm': {
      const { runSwarmCommand } = await load('host-sim/src/swarm/swarm_cli.js');
      return runSwarmCommand(rest, io);
    }
    case 'acquirer-sim': {
      const { runAcquirerSimCommand } = await load('host-sim/src/acquirer_sim/acquirer_sim_cli.js');
      return runAcquirerSimCommand(rest, io);
    }
    case 'depot': {
      // The back office: firmware's command table never imports depot/.
      const { runDepotCommand } = await load('depot/src/cli/depot_cli.js');
      return runDepotCommand(rest, io);
    }
    case 'emu': {
      const { runEmuCommand } = await load('host-sim/src/emu/emu_cli.js');
      return runEmuCommand(rest, io, process.stdin);
    }
    case 'bench': {
      if (!existsSync(benchEntry)) {
        io.err('shuaka bench: the benchmarks are not in this package; run them from a source'
          + ' checkout (`npm run bench`)');
        return EXIT_USAGE;
      }
      const { runBenchCommand } = await load('bench/bench_cli.js');
      return runBenchCommand(rest, io);
    }
    default:
      return null;
  }
}

/**
 * V8 heap options of `journal verify` and `journal export` (see runJournalBounded), unless
 * SHUAKA_JOURNAL_NODE_OPTIONS gives others (a space-separated list; empty: none).
 */
const JOURNAL_BOUNDED_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=12',
  '--single-threaded', '--no-node-snapshot',
  // Node.js 20 and 22 leave V8's Maglev off: without TurboFan they would run the command on
  // Sparkplug alone (stop 47, verify at 10^5: 0.8 -> 3.7 s CPU on both), so they keep it.
  ...(Number(process.versions.node.split('.')[0]) >= 24 ? ['--no-turbofan'] : [])];
/** Set in the process runJournalBounded starts, so that it runs the command itself. */
const JOURNAL_BOUNDED_ENV = 'SHUAKA_JOURNAL_BOUNDED';

/**
 * `journal verify` and `journal export` read a journal of any size in bounded memory (issue
 * 11: <= 64 MB RSS). Their objects die young, but V8 sizes its heap for speed: semi-spaces
 * of up to 16 MiB and an old space that fills with garbage before it is collected. Those
 * sizes are fixed when the process starts, so the command runs in a second node process
 * started with JOURNAL_BOUNDED_FLAGS (and one malloc arena). On Node.js 24 most of the peak
 * is the runtime's own: the pages of the node binary a process touches (35 MB for a bare
 * one). So the process also runs without TurboFan on Node.js 24 and later (its code, ~4.5 MB
 * of the binary, and its compile zones; Maglev stays: ~1.5x the CPU of the same code, where
 * Sparkplug alone is ~4.5x), without V8's helper threads, and boots without node's start-up
 * snapshot (~4 MB fewer pages touched).
 * The live heap so started is ~8.5 MB at the bench's 10^6 records, which hold 1,000 open taps
 * (a validator keeps at most OPEN_TAPS_MAX, 256; each adds to it); 10 MiB ran out there, exit
 * 134. Stop 47, 10^6 records, these options alone: verify 74 -> 61 MB, export 77 -> 64 MB,
 * salvage 75 -> 62 MB.
 * Resolves with the exit code.
 */
function runJournalBounded(args) {
  const flags = nodeOptions('shuaka journal', 'SHUAKA_JOURNAL_NODE_OPTIONS', JOURNAL_BOUNDED_FLAGS);
  if (flags === null) return Promise.resolve(EXIT_USAGE);
  // glibc gives each thread that allocates (libuv's file I/O pool, OpenSSL's contexts) an
  // arena of its own; one arena keeps export ~5 MB lower. The caller's setting wins.
  const env = { MALLOC_ARENA_MAX: '1', ...process.env, [JOURNAL_BOUNDED_ENV]: '1' };
  return runInNode('shuaka journal', 'the bounded-memory process', flags, env, args);
}

/**
 * V8 options of `shuaka swarm` (see runSwarmSingleThreaded), unless SHUAKA_SWARM_NODE_OPTIONS
 * gives others (a space-separated list; empty: none).
 */
const SWARM_FLAGS = ['--single-threaded-gc', '--max-semi-space-size=64'];
/** Set in the process runSwarmSingleThreaded starts, so that it runs the swarm itself. */
const SWARM_CHILD_ENV = 'SHUAKA_SWARM_CHILD';

/**
 * The swarm is one thread of simulation, its speed counted per CPU second of one core (issue
 * 11): V8's parallel and concurrent collector threads only time-slice with it on one core and
 * cost CPU of their own to coordinate on more (stop 42, `--seed 1 --seeds 10 --taps 3000` on
 * one core: about 5 % more taps per CPU second with the collection on the main thread). Its
 * objects die young (a tap's frames, records, promises): semi-spaces of up to 64 MiB instead
 * of 16 scavenge a quarter as often for the same survivors (stop 43: about 5 % more taps per
 * CPU second, peak RSS 186 -> 302 MB on seeds 1-10 x 3000). V8 reads --single-threaded-gc only
 * as it starts (set later, it aborts the process), so the swarm runs in a second node process
 * started with them. Resolves with the exit code.
 */
function runSwarmSingleThreaded(args) {
  const flags = nodeOptions('shuaka swarm', 'SHUAKA_SWARM_NODE_OPTIONS', SWARM_FLAGS);
  if (flags === null) return Promise.resolve(EXIT_USAGE);
  const env = { ...process.env, [SWARM_CHILD_ENV]: '1' };
  return runInNode('shuaka swarm', 'the swarm process', flags, env, args);
}

/** Node options that run something else than the script (or nothing): never the command. */
const NODE_OPTIONS_NOT_RUNNING = new Set(['--version', '--help', '--check', '--eval', '--print',
  '--interactive', '--test', '--run', '--v8-options', '--completion-bash']);

/**
 * The options of the second process: `defaults`, or those `envName` lists (space-separated;
 * empty: none). Each must be a runtime option, `--name` or `--name=value`: a word would be run
 * as the script and `--check` or `--version` would end the process at once with 0, a command
 * that did nothing passing for one that succeeded. Null, said on stderr, for any other.
 */
function nodeOptions(label, envName, defaults) {
  const custom = process.env[envName];
  if (custom === undefined) return defaults;
  const flags = custom.split(' ').filter(Boolean);
  const bad = flags.find((flag) => !/^--[A-Za-z0-9][A-Za-z0-9_-]*(=.*)?$/.test(flag)
    || NODE_OPTIONS_NOT_RUNNING.has(flag.split('=')[0]));
  if (bad === undefined) return flags;
  io.err(`${label}: ${envName} may list node and V8 runtime options only (--name or `
    + `--name=value), not '${bad}'`);
  return null;
}

/**
 * Runs this command (`args`) in a second node process started with the V8 options `flags`
 * (fixed when a process starts) and `env`; this one loads nothing else and passes the exit
 * code (or signal, as 128 + n) through. `label` begins its messages, `what` names the process.
 * Resolves with the exit code.
 */
async function runInNode(label, what, flags, env, args) {
  const { spawn } = await import('node:child_process');
  const { constants } = await import('node:os');
  const child = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), ...args], {
    stdio: 'inherit',
    env,
  });
  // The terminal's Ctrl-C reaches both processes; the child decides, this one waits for it.
  // A SIGTERM or SIGHUP sent to this process alone (a service manager) is passed on.
  const ignore = () => undefined;
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      io.err(`${label}: cannot start ${what} ${process.execPath} ${flags.join(' ')}: `
        + `${error.message}`);
      resolve(EXIT_BROKEN);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      process.off('SIGHUP', forward);
      // 9 is node's own "invalid argument" (neither command has an exit code 9).
      if (code === 9) io.err(`${label}: node refused the options ${flags.join(' ')}`);
      resolve(code ?? 128 + (constants.signals[signal] ?? 0));
    });
  });
}

const [command, ...rest] = process.argv.slice(2);
const journalBounded = command === 'journal' && (rest[0] === 'verify' || rest[0] === 'export')
  && process.env[JOURNAL_BOUNDED_ENV] !== '1';
if ((command === '--version' || command === '-V' || command === 'version') && rest.length > 0) {
  // '--version --bogus' printed the version and exited 0.
  io.err(`shuaka ${command}: takes no arguments, got '${rest[0]}'\nusage: shuaka --version`);
  process.exitCode = EXIT_USAGE;
} else if (command === '--version' || command === '-V' || command === 'version') {
  printVersion();
} else if (journalBounded) {
  process.exitCode = await runJournalBounded(process.argv.slice(2));
} else if (command === 'swarm' && process.env[SWARM_CHILD_ENV] !== '1') {
  process.exitCode = await runSwarmSingleThreaded(process.argv.slice(2));
} else {
  const code = await runRootCommand(command, rest);
  if (code !== null) {
    process.exitCode = code;
  } else {
    const { runCli } = await load('firmware/src/cli/shuaka_cli.js');
    process.exitCode = await runCli(process.argv.slice(2), io, ROOT_COMMANDS);
  }
}
