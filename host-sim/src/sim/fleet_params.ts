// Parameters down on a fleet bus: the board's own ParamsDownload (fetch at each contact, the
// power-safe A/B install of params_install.ts, switch between taps), its slots in a per-bus
// directory, and the base set a fleet's depot publishes from (`shuaka depot publish --base`).

import type { KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { writeDefaultParams } from '../../../firmware/src/app/params/params_store.js';
import {
  ParamsDownload, paramsOwnTerminal,
} from '../../../firmware/src/app/upload/upload_params.js';
import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import type { BusBoard } from './sim_board_parts.js';
import { busBoardOptions, busFares, simDenyKey } from './sim_board_parts.js';
import { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import { riderPool, type RiderPool } from './bus_riders.js';
import { BUS_RUN_DEFAULT, type BusRunOptions } from './bus_run.js';
import { testPki } from '../pki/test_pki.js';

/** Where a fleet's buses keep downloaded sets, and the key the depot signs them with. */
export interface FleetParamsOptions {
  /** Public half of the depot's params key (`shuaka depot publish --key`). */
  readonly publicKey: KeyObject;
  /** The fleet's deny key (32 bytes): the depot's (`depot publish --deny-key`), every bus's. */
  readonly denyKeyBytes: Uint8Array;
  /** Each bus gets DIR/<terminalId>/{root,staging,state} (root: the A/B slots). */
  readonly dir: string;
}

/** The simulated fleet deny key of a fleet `seed`: every bus of the fleet holds it. */
export function fleetDenyKeyBytes(seed: number): Uint8Array {
  return simDenyKey(seed);
}

/** Seed of bus `index` (0-based) of a fleet with `seed`: its riders, cards and board. */
export function fleetBusSeed(seed: number, index: number): number {
  return seed * 1000 + index + 1;
}

/** The options runBus gets for bus `index` of a fleet. */
export function fleetBusRunOptions(
  seed: number,
  index: number,
  riders: number,
  terminalId: string,
): BusRunOptions {
  // The fleet's buses carry bank cards only: their depot checks reconcile PANs (T-Union
  // riders are the single bus's, `npm start`).
  return { ...BUS_RUN_DEFAULT, seed: fleetBusSeed(seed, index), riders, terminalId,
    denyKeyBytes: fleetDenyKeyBytes(seed), tunionRiders: false };
}

/**
 * The board's parameters-down for one bus. A fleet-wide set names one terminal in its
 * terminal file; the bus keeps its own id (its certificate's, and the id every record it
 * writes must carry: the depot refuses a foreign one as terminal-mismatch).
 */
export function fleetParamsDownload(
  board: BusBoard,
  terminalId: string,
  options: FleetParamsOptions,
): ParamsDownload {
  const dir = join(options.dir, terminalId);
  mkdirSync(join(dir, 'state'), { recursive: true });
  return new ParamsDownload({
    root: join(dir, 'root'),
    stagingDir: join(dir, 'staging'),
    stateDir: join(dir, 'state'),
    publicKey: { publicKey: options.publicKey, denyKey: DenyKey.fromBytes(options.denyKeyBytes) },
    current: board.params.set,
    activate: async (set) => {
      board.params.set = paramsOwnTerminal(set, terminalId);
      await board.validator.start();
    },
    log: { log: (event) => board.logs.push(event) },
  });
}

/**
 * Every card of the fleet's pools (bus by bus, as runBus draws them): what the acquirer
 * simulator must hold accounts for.
 */
export function fleetPools(seed: number, buses: number): RiderPool[] {
  const pools: RiderPool[] = [];
  for (let index = 0; index < buses; index += 1) {
    const options = fleetBusRunOptions(seed, index, 1, '');
    pools.push(riderPool(options.seed, options.cardGroups, testPki(), options.populationKind));
  }
  return pools;
}

/**
 * Writes the base set of a fleet into `dir` (version 1, signed with `privateKey`): the buses'
 * CA keys and revocations, every pool's deny list and concession range, terminal `SIM00001`
 * (each bus keeps its own id). Throws naming the refused field.
 */
export async function fleetBaseParamsWrite(
  dir: string,
  seed: number,
  buses: number,
  privateKey: KeyObject,
): Promise<void> {
  const pools = fleetPools(seed, buses);
  const first = pools[0];
  if (first === undefined) throw new RangeError('a fleet has at least one bus');
  const merged: RiderPool = {
    ...first,
    denyList: pools.flatMap((p) => p.denyList),
    concessionBins: [...new Set(pools.flatMap((p) => p.concessionBins))],
  };
  const board = busBoardOptions(fleetBusRunOptions(seed, 0, 1, 'SIM00001'), merged);
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(`${dir}: ${storage.detail}`);
  try {
    const written = await writeDefaultParams(storage.value, {
      version: 1, terminal: { terminalId: 'SIM00001', lineId: board.lineId },
      fares: busFares(merged), caKeysTlvHex: board.caKeysTlvHex, denyList: merged.denyList,
      caRevocations: board.caRevocations, signingKey: privateKey,
      denyKey: DenyKey.fromBytes(fleetDenyKeyBytes(seed)),
    });
    if (!written.ok) throw new Error(`fleet base set: ${written.error.message}`);
  } finally {
    await storage.value.close();
  }
}
