// `shuaka sim --fleet N [--depot URL --depot-identities DIR]`: the fleet run, printed per bus.

import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { denyKeyLoad } from '../../../firmware/src/app/deny_list/deny_key.js';
import { cliFlagsChecked, cliShare } from '../../../firmware/src/cli/cli_args.js';
import type { DepotPort } from '../../../firmware/src/app/upload/depot_port.js';
import { fleetDenyKeyBytes, type FleetParamsOptions } from './fleet_params.js';
import {
  DepotSim, fleetCheckBus, fleetDispose, runFleet, type FleetBus, type FleetOptions,
} from './fleet_run.js';
import type { SimIo } from './sim_cli.js';
import { replayArgsOf, replayHintOf, type FlagValue } from './sim_replay.js';

export const FLEET_USAGE = `Usage: shuaka sim --fleet N [--seed N] [--riders N]
                  [--depot URL --depot-identities DIR [--params-key PUB.pem [--deny-key F]]]
                  [--fail P] [--lost P] [--quiet]
  Rides N buses (1..200) one after the other on the in-memory link, each the production
  validator with its uploader, against one depot: the in-memory depot twin, or with --depot
  a real depot (shuaka depot serve) over HTTPS, each bus with its own identity
  DIR/SIMnnnnn/{terminal.key.pem,terminal.crt.pem,ca.crt.pem}. Each bus's link has one
  outage of 2 to 10 minutes and random failures (--fail, default 0.1) and lost answers
  (--lost, default 0.05): the depot stored the batch, the bus never heard. Each share is a
  decimal from 0 to below 1.
  --riders N    riders per bus (default 20; 1..2000)
  --params-key  the depot's params public key: each bus fetches the newest published set at
                each contact, installs it (A/B slots in a temporary directory per bus) and
                switches to it between taps; without it buses only upload
  --deny-key F  the fleet's deny key the depot publishes with (depot DIR/deny.key, mode 600);
                default: the seed's simulated fleet key
Exit codes: 0 every bus uploaded everything exactly once; 1 a violation; 2 bad usage; 3 crash`;

/**
 * Opens the real depot for one terminal: HTTPS with the identity in `identityDir` (the board's
 * transport; bin/shuaka.js, the composition root, passes it in). Throws naming the problem.
 */
export type FleetDepotOpener = (
  url: URL,
  identityDir: string,
) => Promise<DepotPort & { close?: () => void }>;

interface FleetCli {
  seed: number;
  buses: number;
  riders: number;
  depotUrl: URL | null;
  identities: string | null;
  paramsKey: string | null;
  denyKeyPath: string | null;
  failChance: number;
  lostAnswerChance: number;
  quiet: boolean;
}

/**
 * Every flag of `shuaka sim --fleet`, one row each: parseArgs reads this table and the replay
 * hint is written from it (fleetFlagValues is exhaustive over it).
 */
export const FLEET_FLAGS = {
  fleet: { type: 'string' }, seed: { type: 'string' }, riders: { type: 'string' },
  depot: { type: 'string' }, 'depot-identities': { type: 'string' },
  fail: { type: 'string' }, lost: { type: 'string' }, quiet: { type: 'boolean' },
  'params-key': { type: 'string' },
  'deny-key': { type: 'string' },
  link: { type: 'string' },
} as const;

function fleetFlagValues(cli: FleetCli): Record<keyof typeof FLEET_FLAGS, FlagValue> {
  return {
    fleet: String(cli.buses), seed: String(cli.seed), riders: String(cli.riders),
    depot: cli.depotUrl?.href ?? null, 'depot-identities': cli.identities,
    fail: String(cli.failChance), lost: String(cli.lostAnswerChance), quiet: cli.quiet,
    'params-key': cli.paramsKey, 'deny-key': cli.denyKeyPath, link: 'memory',
  };
}

/** The `shuaka sim --fleet ...` command line that replays `cli`, every flag written out. */
export function fleetReplayHint(argv: string[]): string | null {
  const cli = parseFleet(argv);
  return typeof cli === 'string' ? null : replayHintOf(replayArgsOf(fleetFlagValues(cli)));
}

function parseFleet(argv: string[]): FleetCli | string {
  let v;
  try {
    v = parseArgs({ args: cliFlagsChecked(argv, FLEET_FLAGS), strict: true,
      allowPositionals: false, options: FLEET_FLAGS }).values;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const int = (text: string | undefined, fallback: number, max: number, name: string) => {
    if (text === undefined) return fallback;
    const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : -1;
    if (n < 1 || n > max) throw new RangeError(`--${name} must be an integer in 1..${max}`);
    return n;
  };
  // A share below 1: at 1 no contact would ever get through and nothing could upload.
  const share = (text: string | undefined, fallback: number, name: string): number => {
    const p = text === undefined ? fallback : cliShare(text, true);
    if (p === null) {
      throw new RangeError(`--${name} must be a decimal number from 0 to below 1, got '${
        text ?? ''}'`);
    }
    return p;
  };
  try {
    if (v.link !== undefined && v.link !== 'memory') {
      throw new RangeError('a fleet rides --link memory');
    }
    const url = v.depot === undefined ? null : new URL(v.depot);
    if (url !== null && url.protocol !== 'https:') throw new RangeError('--depot must be https://');
    if ((url === null) !== (v['depot-identities'] === undefined)) {
      throw new RangeError('--depot and --depot-identities go together');
    }
    if (url === null && v['params-key'] !== undefined) {
      throw new RangeError('--params-key needs --depot');
    }
    if (v['params-key'] === undefined && v['deny-key'] !== undefined) {
      throw new RangeError('--deny-key needs --params-key');
    }
    return {
      seed: v.seed === undefined ? 1 : int(v.seed, 1, 0xffff_ffff, 'seed'),
      buses: int(v.fleet, 1, 200, 'fleet'), riders: int(v.riders, 20, 2000, 'riders'),
      depotUrl: url, identities: v['depot-identities'] ?? null,
      paramsKey: v['params-key'] ?? null, denyKeyPath: v['deny-key'] ?? null,
      failChance: share(v.fail, 0.1, 'fail'), lostAnswerChance: share(v.lost, 0.05, 'lost'),
      quiet: v.quiet === true,
    };
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Runs `shuaka sim --fleet …`; returns the exit code. */
export async function runFleetCommand(
  argv: string[],
  io: SimIo,
  openDepot: FleetDepotOpener | null,
): Promise<number> {
  // `shuaka sim --help` points here ("see shuaka sim --fleet 1 --help").
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(FLEET_USAGE);
    return 0;
  }
  const cli = parseFleet(argv);
  if (typeof cli === 'string') {
    io.err(`shuaka sim: ${cli}\n${FLEET_USAGE}`);
    return 2;
  }
  if (cli.depotUrl !== null && openDepot === null) {
    io.err('shuaka sim: --depot needs the HTTPS transport (run through bin/shuaka.js)');
    return 2;
  }
  const twin = cli.depotUrl === null ? new DepotSim() : null;
  const depotFor = async (terminalId: string): Promise<DepotPort & { close?: () => void }> => {
    if (twin !== null) return twin;
    const url = cli.depotUrl ?? new URL('https://localhost');
    return (openDepot as FleetDepotOpener)(url, join(cli.identities ?? '', terminalId));
  };
  let params: FleetParamsOptions | null;
  try {
    params = await fleetParamsOpen(cli);
  } catch (error) {
    io.err(`shuaka sim: --params-key: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  try {
    return await rideAndReport(cli, io, depotFor, twin, params);
  } finally {
    if (params !== null) rmSync(params.dir, { recursive: true, force: true });
  }
}

/**
 * The public key, the fleet's deny key and a fresh temporary directory, or null without
 * --params-key. Throws naming the file.
 */
async function fleetParamsOpen(cli: FleetCli): Promise<FleetParamsOptions | null> {
  if (cli.paramsKey === null) return null;
  const publicKey = createPublicKey(readFileSync(cli.paramsKey));
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 public key');
  let denyKeyBytes = fleetDenyKeyBytes(cli.seed);
  if (cli.denyKeyPath !== null) {
    const loaded = await denyKeyLoad(cli.denyKeyPath);
    if (!loaded.ok) throw new Error(`--deny-key ${loaded.detail}`);
    denyKeyBytes = new Uint8Array(readFileSync(cli.denyKeyPath));
  }
  return { publicKey, denyKeyBytes, dir: mkdtempSync(join(tmpdir(), 'shuaka-fleet-params-')) };
}

async function rideAndReport(
  cli: FleetCli,
  io: SimIo,
  depotFor: FleetOptions['depotFor'],
  twin: DepotSim | null,
  params: FleetParamsOptions | null,
): Promise<number> {
  const where = cli.depotUrl?.origin ?? 'the in-memory depot twin';
  const replay = `replay: ${replayHintOf(replayArgsOf(fleetFlagValues(cli)))}`;
  io.out(`shuaka sim: fleet of ${cli.buses} buses, ${cli.riders} riders each, seed ${cli.seed},`
    + ` depot ${where}`);
  const code = await rideAndCheck(cli, io, depotFor, twin, params);
  io.out(replay);
  return code;
}

async function rideAndCheck(
  cli: FleetCli,
  io: SimIo,
  depotFor: FleetOptions['depotFor'],
  twin: DepotSim | null,
  params: FleetParamsOptions | null,
): Promise<number> {
  let buses: FleetBus[];
  try {
    buses = await runFleet({ seed: cli.seed, buses: cli.buses, ridersPerBus: cli.riders,
      depotFor, failChance: cli.failChance, lostAnswerChance: cli.lostAnswerChance, params },
    () => undefined, (bus) => { if (!cli.quiet) io.out(fleetBusLine(bus)); });
  } catch (error) {
    io.err(`shuaka sim: fleet crashed (seed ${cli.seed}): `
      + `${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 3;
  }
  try {
    return fleetReport(cli, io, buses, twin);
  } finally {
    // Each bus left a temporary sysfs tree behind (one shuaka-sim-sysfs-* a bus a run).
    fleetDispose(buses);
  }
}

function fleetReport(cli: FleetCli, io: SimIo, buses: FleetBus[], twin: DepotSim | null): number {
  const violations = buses.flatMap((bus) => fleetCheckBus(bus, twin));
  for (const line of fleetSummaryLines(buses)) io.out(line);
  if (violations.length > 0) {
    for (const v of violations) io.err(`VIOLATION: ${v}`);
    io.err(`shuaka sim: fleet correctness failure with seed ${cli.seed}`);
    return 1;
  }
  io.out(twin === null ? '  checks: every journal acknowledged, ride checks hold'
    : '  checks: the depot holds every journal\'s export exactly once, every journal '
      + 'acknowledged, ride checks hold');
  return 0;
}

/** One line per bus: taps, upload, faults, journal state. */
export function fleetBusLine(bus: FleetBus): string {
  const u = bus.upload;
  const outage = bus.outages.map(([a, b]) => `${(a / 60_000).toFixed(1)}-${(b / 60_000)
    .toFixed(1)} min`).join(', ');
  return `${bus.terminalId}: ${bus.run.taps.length} taps, ${bus.exportedLines} records to `
    + `upload; sent ${u.recordsSent} records in `
    + `${u.batchesSent} batches (${u.recordsStored} stored, ${u.duplicates} duplicates), `
    + `${u.contacts} contacts (${u.contactsFailed} failed, ${bus.faultsInjected} faults, `
    + `outage ${outage}); journal acked through ${bus.ackThroughSeq} of ${bus.lastSeq}, `
    + `backlog ${bus.backlogLines}${fleetParamsText(bus)}`;
}

function fleetParamsText(bus: FleetBus): string {
  const down = bus.paramsDown;
  if (down === null) return '';
  const refused = down.refused();
  return `; params v${bus.board.params.set.version}`
    + (refused === null ? '' : ` (refused v${refused.version}: ${refused.reason})`);
}

/** The fleet's totals (what `shuaka sim --fleet` ends with). */
export function fleetSummaryLines(buses: readonly FleetBus[]): string[] {
  const sum = (f: (b: FleetBus) => number): number => buses.reduce((s, b) => s + f(b), 0);
  return [
    `summary: ${buses.length} buses, ${sum((b) => b.run.taps.length)} taps`,
    `  upload: ${sum((b) => b.upload.recordsSent)} records sent in `
      + `${sum((b) => b.upload.batchesSent)} batches, ${sum((b) => b.upload.recordsStored)} `
      + `stored, ${sum((b) => b.upload.duplicates)} duplicates (replays after lost answers)`,
    `  links: ${sum((b) => b.faultsInjected)} faults injected, `
      + `${sum((b) => b.upload.contactsFailed)} failed contacts of `
      + `${sum((b) => b.upload.contacts)}`,
    `  backlog left: ${sum((b) => b.backlogLines)} records`,
  ];
}
