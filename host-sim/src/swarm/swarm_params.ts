// Parameter sets of a swarm run: signed versions, rollbacks (an older signed set) and corrupt
// sets pushed to the validator's parameter medium, activated at the next boot.

import type { KeyObject } from 'node:crypto';
import { FILE_FARES, FILE_MANIFEST } from '../../../firmware/src/app/params/params_files.js';
import {
  ParamStore,
  writeDefaultParams,
  type ParamSet,
} from '../../../firmware/src/app/params/params_store.js';
import type { Prng } from '../prng.js';
import type { SimBoardOptions } from '../sim/sim_board.js';
import { simSigningKey } from '../sim/sim_board_parts.js';
import { StorageSim } from '../storage_sim.js';

/** Files of one set, as pushed by the depot. */
export type ParamsImage = ReadonlyMap<string, Uint8Array>;

/** What a push put on the medium: a newer set, an older signed one, or a damaged one. */
export type ParamsPush = 'newer' | 'rollback' | 'corrupt';

/**
 * How a board activates its parameters at boot. The stock firmware has one way
 * (`ParamStore.activate` on the medium); a branch that keeps the highest version durably
 * replaces this function. Resolves to the active set, or to the refusal's message.
 */
export type ParamsBoot = (
  medium: StorageSim,
  publicKey: KeyObject,
) => Promise<{ ok: true; set: ParamSet; store: ParamStore } | { ok: false; reason: string }>;

/** Today's boot: whatever signed set is on the medium. */
export const paramsBootStock: ParamsBoot = async (medium, publicKey) => {
  const store = new ParamStore(publicKey);
  const activated = await store.activate(medium);
  if (!activated.ok) return { ok: false, reason: activated.error.message };
  return { ok: true, set: activated.value, store };
};

/** The run's parameter medium, signing key and the signed versions made so far. */
export class SwarmParams {
  readonly medium: StorageSim;
  readonly publicKey: KeyObject;
  private readonly privateKey: KeyObject;
  /** Good signed sets by version; a corrupt set burns its version number too. */
  private readonly good = new Map<number, ParamsImage>();
  private versionNext = 1;

  constructor(
    private readonly options: SimBoardOptions,
    private readonly prng: Prng,
  ) {
    const keys = simSigningKey(prng.fork('params-key'));
    this.publicKey = keys.publicKey;
    this.privateKey = keys.privateKey;
    this.medium = new StorageSim({
      totalBytes: 64 << 20,
      prng: prng.fork('params-medium'),
      tornModes: ['prefix'],
    });
  }

  /** Highest good version signed so far (0 before the first). */
  newestVersion(): number {
    return Math.max(0, ...this.good.keys());
  }

  /** Signs the next version, installs it, returns it. Throws if refused. */
  async pushNewer(): Promise<number> {
    const version = this.versionNext;
    this.versionNext += 1;
    const image = await this.sign(version);
    this.good.set(version, image);
    await install(this.medium, image);
    return version;
  }

  /** Installs an older good signed set (a stale depot push). Returns its version, or null. */
  async pushRollback(): Promise<number | null> {
    const older = [...this.good.keys()].filter((v) => v < this.newestVersion());
    const version = older[this.prng.below(Math.max(1, older.length))];
    const image = version === undefined ? undefined : this.good.get(version);
    if (version === undefined || image === undefined) return null;
    await install(this.medium, image);
    return version;
  }

  /**
   * Installs a set that must be refused: the next version with one byte of fares.json or of
   * the manifest's signature changed after signing. Returns the manifest bytes installed.
   */
  async pushCorrupt(): Promise<Uint8Array> {
    const version = this.versionNext;
    this.versionNext += 1;
    const image = new Map(await this.sign(version));
    const target = this.prng.chance(0.5) ? FILE_FARES : FILE_MANIFEST;
    const bytes = (image.get(target) ?? new Uint8Array(0)).slice();
    // A digit or a hex character of the signature, never the JSON syntax around it.
    const at = target === FILE_MANIFEST ? bytes.lastIndexOf(0x22) - 3 : bytes.indexOf(0x30);
    bytes[Math.max(0, at)] = (bytes[Math.max(0, at)] ?? 0) === 0x31 ? 0x32 : 0x31;
    image.set(target, bytes);
    await install(this.medium, image);
    return image.get(FILE_MANIFEST) ?? new Uint8Array(0);
  }

  private async sign(version: number): Promise<ParamsImage> {
    const scratch = new StorageSim({
      totalBytes: 64 << 20,
      prng: this.prng.fork(`params-v${version}`),
      tornModes: ['prefix'],
    });
    const written = await writeDefaultParams(scratch, {
      version,
      terminal: { terminalId: 'SIM00001', lineId: this.options.lineId },
      fares: this.options.fares,
      caKeysTlvHex: this.options.caKeysTlvHex,
      denyList: this.options.denyList,
      caRevocations: this.options.caRevocations,
      signingKey: this.privateKey,
    });
    if (!written.ok) throw new Error(`swarm parameters v${version}: ${written.error.message}`);
    const names = await scratch.list();
    if (!names.ok) throw new Error(`swarm parameters: ${names.detail}`);
    const image = new Map<string, Uint8Array>();
    for (const name of names.value) {
      const read = await scratch.read(name);
      if (!read.ok) throw new Error(`swarm parameters: ${read.detail}`);
      image.set(name, read.value);
    }
    return image;
  }
}

async function install(medium: StorageSim, image: ParamsImage): Promise<void> {
  for (const [name, bytes] of image) {
    const written = await medium.replace(name, bytes);
    if (!written.ok) throw new Error(`install ${name}: ${written.detail}`);
  }
}
