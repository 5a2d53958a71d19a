// The board's uploader: the HTTPS depot with the terminal's identity, parameters down into the
// A/B root the validator booted from, and the uploader task beside the tap loop.

import { createPublicKey, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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
import { uploadReadPassInWorker } from './upload_read_worker.js';

/** `--depot URL --depot-identity DIR [--depot-interval-s N]`. */
export interface BusDepotOptions {
  readonly url: URL;
  readonly identityDir: string;
  readonly contactIntervalMs: number;
}

/** Whole-request bound of a depot call: a 1 MiB batch on a slow mobile link, with margin. */
export const DEPOT_TIMEOUT_MS = 30_000;

/** What the board needs to run and to stop the uploader. */
export interface BusUploader {
  readonly uploader: Uploader;
  /** Starts the contact loop; resolves once `stopRequested` and the call in flight ended. */
  run(stopRequested: () => boolean): Promise<void>;
  /** Drops the depot's connections (a call in flight fails at once). */
  close(): void;
}

/** The running validator's parameter set, switched between taps. */
export interface ParamsHolder {
  set: ParamSet;
}

export interface BusUploaderParts {
  readonly journal: Journal;
  readonly storage: StoragePort;
  readonly validator: Validator;
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
  const publicKey = createPublicKey(await readFile(parts.paramsPubPath, 'utf8'));
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
  const uploader = new Uploader(
    {
      depot, storage: parts.storage, journalFileName: JOURNAL_FILE_NAME, journal: parts.journal,
      panVault: parts.panVault, clock: parts.clock,
      // Jitter only spreads retries across a fleet; it needs independence, not secrecy.
      random01: () => randomInt(0, 1 << 30) / (1 << 30),
      log: parts.log,
      tapInProgress: () => parts.validator.state() === 'Processing',
      params,
      readPass: uploadReadPassInWorker(parts.journalDir, JOURNAL_FILE_NAME, parts.dataKeyPath),
    },
    { ...UPLOADER_CONFIG_DEFAULT, terminalId: parts.params.set.terminal.terminalId,
      contactIntervalMs: options.contactIntervalMs },
  );
  parts.log.log({ event: 'depot', url: options.url.origin,
    terminalId: parts.params.set.terminal.terminalId });
  return { ok: true, value: {
    uploader,
    run: (stopRequested) => uploader.run(stopRequested),
    close: () => depot.close(),
  } };
}
