#!/usr/bin/env node
// The `shuaka` command: rebuilds when sources changed, then runs the compiled CLI from dist/.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'firmware', 'src', 'cli', 'shuaka_cli.js');

/** Newest modification time of the TypeScript sources the CLI is compiled from. */
function newestSourceMs(dir) {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    if (item.name === 'node_modules' || item.name.startsWith('.')) continue;
    const path = join(dir, item.name);
    if (item.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else if (item.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sources = ['assembly', 'hal', 'firmware', 'host-sim', 'bench', 'depot'].map((d) => join(root, d));
const stale =
  !existsSync(entry) || Math.max(...sources.map(newestSourceMs)) > statSync(entry).mtimeMs;
if (stale) {
  // The build writes nothing to stdout that a caller parses (JSON output stays clean).
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
}
const load = (path) => import(new URL(`file://${join(root, 'dist', path)}`).href);
const io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};
const [command, ...rest] = process.argv.slice(2);
// This file is the composition root of the desktop tools: `sim` lives in host-sim and `bench`
// in bench/, which the firmware's own command table may not import.
if (command === 'sim') {
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
  const status = process.stderr.isTTY ? (text) => process.stderr.write(`\r${text}`) : undefined;
  process.exitCode = await runSimCommand(
    rest,
    status === undefined ? io : { ...io, status },
    ptyRunner,
    openDepot,
  );
  if (status !== undefined) process.stderr.write('\n');
} else if (command === 'swarm') {
  const { runSwarmCommand } = await load('host-sim/src/swarm/swarm_cli.js');
  process.exitCode = await runSwarmCommand(rest, io);
} else if (command === 'acquirer-sim') {
  const { runAcquirerSimCommand } = await load('host-sim/src/acquirer_sim/acquirer_sim_cli.js');
  process.exitCode = await runAcquirerSimCommand(rest, io);
} else if (command === 'depot') {
  // The back office: firmware's command table never imports depot/.
  const { runDepotCommand } = await load('depot/src/cli/depot_cli.js');
  process.exitCode = await runDepotCommand(rest, io);
} else if (command === 'bench') {
  const { runBenchCommand } = await load('bench/bench_cli.js');
  process.exitCode = await runBenchCommand(rest, io);
} else {
  const { runCli } = await load('firmware/src/cli/shuaka_cli.js');
  process.exitCode = await runCli(process.argv.slice(2));
}
