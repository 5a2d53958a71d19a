// Parameters down: fetch the newest signed set at each contact, install it power-safe, and
// hand it to the running validator at the next safe point (between taps).

import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { mkdirParents } from '../../../../hal/src/fs/mkdir_parents.js';

import { FILE_DENY_LIST, FILE_MANIFEST, PARAMS_FILES } from '../params/params_files.js';
import { paramsActiveDir, paramsInstall } from '../params/params_install.js';
import { trustParts, type ParamSet, type ParamsTrust } from '../params/params_store.js';
import type { LogPort } from '../validator/validator_ports.js';
import type { DepotError, DepotParams, DepotPort, DepotResult } from './depot_port.js';
import { denyDeltaChainApply } from './upload_deny_delta.js';
import { uploadDetailSafe } from './upload_backoff.js';

/** A refused set as POST /v1/status reports it. */
export interface ParamsRefusal {
  readonly version: number;
  readonly reason: string;
}

/** What the uploader needs of parameters down (a board or the simulator provides it). */
export interface UploadParamsPort {
  /** The version installed (active, or installed and waiting for the switch). */
  installedVersion(): number;
  /** The last refused set, or null once a newer set was installed. */
  refused(): ParamsRefusal | null;
  /** GET /v1/params and install. Errors: the depot call's; a refusal is not an error. */
  check(depot: DepotPort): Promise<
    { readonly ok: true } | { readonly ok: false; readonly error: DepotError; detail: string }>;
  /** Switches the validator to an installed set, if one waits. Called between taps. */
  activatePending(): Promise<void>;
}

/** Where sets live on the board, and how the running validator takes a new one. */
export interface ParamsDownloadOptions {
  /** The installed root (A/B slots) the validator booted from. */
  readonly root: string;
  /** Scratch directory for a downloaded set before installation (emptied each time). */
  readonly stagingDir: string;
  /** Where the version floor lives (the journal directory). */
  readonly stateDir: string;
  /** The validator's trust: signing key and fleet deny key (a set made with another refused). */
  readonly publicKey: ParamsTrust;
  readonly current: ParamSet;
  /** Makes `set` the running validator's (reloads the kernel's parameters). */
  readonly activate: (set: ParamSet) => Promise<void>;
  readonly log: LogPort;
}

/** The board's parameters-down: files on disk through `paramsInstall`. */
export class ParamsDownload implements UploadParamsPort {
  private installed: number;
  private pending: ParamSet | null = null;
  private refusal: ParamsRefusal | null = null;
  /** Digest of the refused offer: the very same bytes are not installed again. */
  private refusedDigest: string | null = null;

  constructor(private readonly options: ParamsDownloadOptions) {
    this.installed = options.current.version;
  }

  installedVersion(): number {
    return this.installed;
  }

  refused(): ParamsRefusal | null {
    return this.refusal;
  }

  async check(depot: DepotPort): ReturnType<UploadParamsPort['check']> {
    const offered = await depot.getParams(this.installed);
    if (!offered.ok) {
      const detail = uploadDetailSafe(offered.detail);
      this.options.log.log({ event: 'params-fetch-failed', error: offered.error, detail });
      return { ok: false, error: offered.error, detail };
    }
    const resolved = offered.value === null ? null
      : await this.withDenyList(depot, offered.value);
    if (resolved === null) return { ok: true };
    if (!resolved.ok) {
      const detail = uploadDetailSafe(resolved.detail);
      this.options.log.log({ event: 'params-fetch-failed', error: resolved.error, detail });
      return { ok: false, error: resolved.error, detail };
    }
    const offer = resolved.value;
    if (offer === null) return { ok: true };
    // A set refused for its content stays refused; a copy damaged on the way differs.
    const digest = offerDigest(offer);
    if (digest === this.refusedDigest) return { ok: true };
    let outcome: string | null;
    try {
      outcome = await this.install(offer);
    } catch (error) {
      // A write failed (disk full, I/O): not the set's fault; the active set is unchanged
      // (paramsInstall switches by rename last), so the next contact simply tries again.
      const detail = uploadDetailSafe(error instanceof Error ? error.message : String(error));
      this.options.log.log({ event: 'params-install-failed', version: offer.version, detail });
      return { ok: true };
    }
    if (outcome === null) {
      this.refusal = null;
      this.refusedDigest = null;
      this.installed = this.pending?.version ?? this.installed;
      this.options.log.log({ event: 'params-installed', version: this.installed });
    } else {
      this.refusal = { version: offer.version, reason: uploadDetailSafe(outcome) };
      this.refusedDigest = digest;
      this.options.log.log({ event: 'params-refused', version: offer.version, reason: outcome });
    }
    return { ok: true };
  }

  async activatePending(): Promise<void> {
    const set = this.pending;
    if (set === null) return;
    this.pending = null;
    await this.options.activate(set);
    this.options.log.log({ event: 'params-active', version: set.version });
  }

  /**
   * `offer` with its deny list whole: rebuilt from the installed list and the offer's signed
   * deltas, or, when they do not apply (another base, a bad signature, a lost installed
   * list), the full set fetched again with `full`. Null when the depot has nothing newer
   * any more. Errors: the depot call's.
   */
  private async withDenyList(depot: DepotPort, offer: DepotParams):
    Promise<DepotResult<DepotParams | null>> {
    const deltas = offer.denyDeltas;
    if (deltas === null) return { ok: true, value: offer };
    let reason: string;
    if (offer.files.has(FILE_DENY_LIST)) {
      reason = 'deny list sent whole and as deltas';
    } else {
      const { publicKey } = trustParts(this.options.publicKey);
      try {
        const base = await readFile(join(await paramsActiveDir(this.options.root),
          FILE_DENY_LIST));
        const rebuilt = denyDeltaChainApply(base, this.installed, deltas, offer.version,
          publicKey);
        if (rebuilt.ok) {
          const files = new Map(offer.files).set(FILE_DENY_LIST, rebuilt.image);
          return { ok: true, value: { version: offer.version, files, denyDeltas: null } };
        }
        reason = `${rebuilt.refusal}: ${rebuilt.reason}`;
      } catch (error) {
        reason = `installed deny list unreadable: ${error instanceof Error ? error.message
          : String(error)}`;
      }
    }
    // The deltas cannot make the offered list: take the whole set instead (never stuck).
    this.options.log.log({ event: 'params-delta-refused', version: offer.version,
      reason: uploadDetailSafe(reason) });
    return depot.getParams(this.installed, true);
  }

  /** Stages and installs `offer`; null when installed, else the refusal's reason. */
  private async install(offer: DepotParams): Promise<string | null> {
    const staging = this.options.stagingDir;
    await rm(staging, { recursive: true, force: true });
    await mkdirParents(staging);
    const expected = [...PARAMS_FILES, FILE_MANIFEST];
    for (const [name, bytes] of offer.files) {
      if (!expected.includes(name)) return `invalid: file ${JSON.stringify(name)} not in a set`;
      await writeFile(join(staging, name), bytes);
    }
    if (offer.denyDeltas !== null) return 'invalid: deny list sent as deltas for a full set';
    const result = await paramsInstall(staging, this.options.root, this.options.publicKey,
      this.options.stateDir);
    if (!result.ok) return `${result.kind}: ${result.message}`;
    if (result.slot !== null) this.pending = result.set;
    return null;
  }
}

/**
 * `set` as this terminal runs it. A depot publishes one set for its whole fleet, and its
 * terminal file names one terminal; a validator keeps its own id (its certificate's, and the
 * id in every record it writes, which the depot checks: a foreign one is terminal-mismatch).
 */
export function paramsOwnTerminal(set: ParamSet, terminalId: string): ParamSet {
  return set.terminal.terminalId === terminalId ? set
    : { ...set, terminal: { ...set.terminal, terminalId } };
}

/** SHA-256 over an offer's version, files (by name) and delta. */
function offerDigest(offer: DepotParams): string {
  const hash = createHash('sha256').update(`v${offer.version}\n`);
  for (const name of [...offer.files.keys()].sort()) {
    hash.update(`${name}\n`).update(offer.files.get(name) ?? new Uint8Array());
  }
  for (const delta of offer.denyDeltas ?? []) hash.update(delta);
  return hash.digest('hex');
}
