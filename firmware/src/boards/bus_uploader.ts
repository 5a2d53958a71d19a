// The board's uploader: the HTTPS depot with the terminal's identity, parameters down into the
// A/B root the validator booted from, and the uploader task beside the tap loop.

import { createPublicKey, randomInt } from 'node:crypto';
import { join } from 'node:path';

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { StoragePort } from '../../../hal/src/ports/storage_port.js';
import type { DenyKey } from '../app/deny_list/deny_key.js';
import { JOURNAL_FILE_NAME, type Journal } from '../app/journal/journal.js';
import type { PanVault } from '../app/journal/pan_vault.js';
import type { ParamSet } from '../app/params/params_store.js';
import { ParamsDownload, paramsOwnTerminal } from '../app/upload/upload_params.js';
import { Uploader, UPLOADER_CONFIG_DEFAULT } from '../app/upload/uploader.js';
import type { Validator } from '../app/validator/validator.js';
import type { LogPort } from '../app/validator/validator_ports.js';
import { DepotHttps, depotIdentityRead } from './depot_https.js';
import { UploadPassWorker, UploadTapGate } from './upload_pass_worker.js';
import { PEM_BYTES_MAX, readFileBounded } from '../../../hal/src/fs/read_bounded.js';

/** `--depot URL --depot-identity DIR [--depot-interval-s N]`. */
export interface BusDepotOptions {
  readonly url: URL;
  readonly identityDir: string;
  readonly contactIntervalMs: number;
}

/** Whole-request bound of a depot call: a 1 MiB batch on a slow mobile link, with margin. */
export const DEPOT_TIMEOUT_MS = 30_000;

/**
 * How often the upload worker's gate follows the validator's state while a pass runs: a tap
 * is hundreds of milliseconds of card exchange before its journal commit, so the upload has
 * stepped aside long before the fsync that makes the tap durable.
 */
export const UPLOAD_TAP_POLL_MS = 5;

/**
 * Niceness of the upload worker thread: below the tap loop (0), so that the tap's own thread
 * wins the CPU whenever both want it, but not the bottom (19), so that other system work at
 * the default priority cannot starve a backlog for long.
 */
export const UPLOAD_WORKER_NICENESS = 10;

/** What the board needs to run and to stop the uploader. */
export interface BusUploader {
  readonly uploader: Uploader;
  /** Starts the contact loop; resolves once `stopRequested` and the call in flight ended. */
  run(stopRequested: () => boolean): Promise<void>;
  /** Drops the depot's connections and ends a pass in flight (its records wait). */
  close(): void;
}

/** The running validator's parameter set, switched between taps. */
export interface ParamsHolder {
  set: ParamSet;
}

export interface BusUploaderParts {
  readonly journal: Journal;
  readonly storage: StoragePort;
  /** The application beside the uploader (the bus Validator, or the gate's adapter). */
  readonly validator: Pick<Validator, 'start' | 'state'>;
  readonly params: ParamsHolder;
  readonly paramsDir: string;
  readonly paramsPubPath: string;
  readonly journalDir: string;
  readonly panVault: PanVault;
  readonly dataKeyPath: string;
  /** The fleet deny key: a downloaded set's deny list must be made with it. */
  readonly denyKey: DenyKey;
  readonly clock: ClockPort;
  readonly log: LogPort;
}

/** Builds the uploader; a refusal (unreadable identity or key) is a sentence for the operator. */
export async function bootUploader(
  options: BusDepotOptions,
  parts: BusUploaderParts,
): Promise<{ ok: true; value: BusUploader } | { ok: false; message: string }> {
  const identity = await depotIdentityRead(options.identityDir);
  if (!identity.ok) {
    return { ok: false, message: `depot identity ${options.identityDir}: ${identity.detail}` };
  }
  const publicKey = createPublicKey(
    (await readFileBounded(parts.paramsPubPath, PEM_BYTES_MAX)).toString('utf8'));
  const depot = new DepotHttps({ url: options.url, identity: identity.value,
    timeoutMs: DEPOT_TIMEOUT_MS });
  const params = new ParamsDownload({
    root: parts.paramsDir,
    stagingDir: join(parts.journalDir, 'params_download'),
    stateDir: parts.journalDir,
    publicKey: { publicKey, denyKey: parts.denyKey },
    current: parts.params.set,
    activate: async (set) => {
      parts.params.set = paramsOwnTerminal(set, parts.params.set.terminal.terminalId);
      await parts.validator.start();
    },
    log: parts.log,
  });
  const tapInProgress = (): boolean => parts.validator.state() === 'Processing';
  const pass = new UploadPassWorker({
    dir: parts.journalDir, fileName: JOURNAL_FILE_NAME, dataKeyPath: parts.dataKeyPath,
    terminalId: parts.params.set.terminal.terminalId, depotUrl: options.url,
    identity: identity.value, timeoutMs: DEPOT_TIMEOUT_MS, niceness: UPLOAD_WORKER_NICENESS,
    gate: new UploadTapGate(), tapInProgress, tapPollMs: UPLOAD_TAP_POLL_MS,
  });
  const uploader = new Uploader(
    {
      depot, storage: parts.storage, journalFileName: JOURNAL_FILE_NAME, journal: parts.journal,
      panVault: parts.panVault, clock: parts.clock,
      // Jitter only spreads retries across a fleet; it needs independence, not secrecy.
      random01: () => randomInt(0, 1 << 30) / (1 << 30),
      log: parts.log,
      tapInProgress,
      params,
      passRunner: pass.run,
    },
    { ...UPLOADER_CONFIG_DEFAULT, terminalId: parts.params.set.terminal.terminalId,
      contactIntervalMs: options.contactIntervalMs },
  );
  parts.log.log({ event: 'depot', url: options.url.origin,
    terminalId: parts.params.set.terminal.terminalId });
  return { ok: true, value: {
    uploader,
    run: (stopRequested) => uploader.run(stopRequested),
    close: () => {
      pass.stop();
      depot.close();
    },
  } };
}
