// Parameter sets of a swarm run: signed versions, rollbacks (an older signed set) and corrupt
// sets, downloaded and installed through the firmware's own power-safe path (A/B slots, version
// floor; firmware/src/app/params/params_install.ts), activated at the next boot.
//
// The install path works on directories (rename and fsync are its atomicity); the run keeps
// its parameter root, floor and download area on a file system in memory (ParamsDiskSim), so
// a boot or an install waits on no thread pool and leaves nothing on the machine. Installs
// happen between taps, outside the simulated clock; a power cut during one is the hook
// throwing at a write point, which leaves the files as a real cut would (a torn half file, a
// slot without its pointer, a pointer without the raised floor).

import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { FILE_FARES, FILE_MANIFEST } from '../../../firmware/src/app/params/params_files.js';
import { ParamsChecked } from '../../../firmware/src/app/params/params_checked.js';
import {
  manifestBuild,
  manifestEncode,
  manifestSign,
} from '../../../firmware/src/app/params/params_manifest.js';
import {
  paramsFloorWrite,
  type WritePointHook,
} from '../../../firmware/src/app/params/params_floor.js';
import { paramsBootLoad } from '../../../firmware/src/app/params/params_boot.js';
import { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import {
  paramsActiveDir,
  paramsInstall,
  paramsLoadDir,
  type ParamsRefusalKind,
} from '../../../firmware/src/app/params/params_install.js';
import {
  writeDefaultParams,
  type ParamSet,
  type ParamsTrust,
} from '../../../firmware/src/app/params/params_store.js';
import type { Prng } from '../prng.js';
import type { SimBoardOptions } from '../sim/sim_board.js';
import { simDenyKey, simSigningKey } from '../sim/sim_board_parts.js';
import { SIM_TUNION_AID } from '../sim/sim_tunion.js';
import { ParamsDiskSim } from '../params_disk_sim.js';
import { StorageSim } from '../storage_sim.js';

/** Files of one set, as pushed by the depot. */
export type ParamsImage = ReadonlyMap<string, Uint8Array>;

/** What a push put on the medium: a newer set, an older signed one, or a damaged one. */
export type ParamsPush = 'newer' | 'rollback' | 'corrupt';

/** The run's parameter directories: installed root (slots), floor, download area. */
export interface SwarmParamsDirs {
  /** The file system they are on. */
  readonly disk: ParamsDiskSim;
  readonly root: string;
  readonly stateDir: string;
  readonly download: string;
}

/** How an install ended. */
export type SwarmInstall =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly kind: ParamsRefusalKind; readonly message: string };

/** The boot's active set, and the floor raise to make once the validator has started. */
export type SwarmParamsBooted =
  | { readonly ok: true; readonly set: ParamSet; readonly raiseFloor: () => Promise<void> }
  | { readonly ok: false; readonly reason: string };

/**
 * How the validator installs and boots its parameters. The stock path is the firmware's
 * (`SWARM_PARAMS_FLOOR`); a canary puts the old defect back (`SWARM_PARAMS_NO_FLOOR`).
 */
export interface SwarmParamsPath {
  /** Installs the set in `dirs.download`; `hook` runs at every durable write step. */
  install(dirs: SwarmParamsDirs, key: ParamsTrust, hook: WritePointHook): Promise<SwarmInstall>;
  boot(dirs: SwarmParamsDirs, key: ParamsTrust): Promise<SwarmParamsBooted>;
}

/** The firmware's path: A/B install under the version floor, floor-checked boot. */
export const SWARM_PARAMS_FLOOR: SwarmParamsPath = {
  install: async (dirs, key, hook) => {
    const { download, root, stateDir, disk } = dirs;
    const installed = await paramsInstall(download, root, key, stateDir, hook, disk);
    return installed.ok ? { ok: true, version: installed.set.version } : installed;
  },
  boot: async (dirs, key) => {
    const loaded = await paramsBootLoad(dirs.root, key, dirs.stateDir, dirs.disk);
    if (!loaded.ok) return { ok: false, reason: `${loaded.kind}: ${loaded.message}` };
    const raise = loaded.floorRaise;
    const raiseFloor = async (): Promise<void> => {
      if (raise !== null) await paramsFloorWrite(dirs.stateDir, raise, undefined, dirs.disk);
    };
    return { ok: true, set: loaded.set, raiseFloor };
  },
};

/**
 * The defect of issue 11 put back: any signed set is copied over the active one (no floor,
 * no A/B) and booted. An older signed set comes back.
 */
export const SWARM_PARAMS_NO_FLOOR: SwarmParamsPath = {
  install: async (dirs, key) => {
    try {
      const { disk } = dirs;
      const set = await paramsLoadDir(dirs.download, key, disk);
      await disk.removeTree(dirs.root);
      await disk.mkdirs(dirs.root);
      for (const name of await disk.list(dirs.download)) {
        disk.put(join(dirs.root, name), await disk.read(join(dirs.download, name)));
      }
      return { ok: true, version: set.version };
    } catch (error) {
      return { ok: false, kind: 'invalid', message: String(error) };
    }
  },
  boot: async (dirs, key) => {
    try {
      const set = await paramsLoadDir(await paramsActiveDir(dirs.root, dirs.disk), key, dirs.disk);
      return { ok: true, set, raiseFloor: async () => undefined };
    } catch (error) {
      return { ok: false, reason: String(error) };
    }
  },
};

/** Thrown by a write-point hook: the power went at that point of an install. */
export class SwarmParamsPowerCut extends Error {
  constructor(readonly point: string) {
    super(`power cut during the parameter install at ${point}`);
  }
}

/** The run's parameter directories, signing key and the signed versions made so far. */
export class SwarmParams {
  readonly publicKey: KeyObject;
  /** The validator's trust: the signing key and the fleet deny key (simDenyKey). */
  readonly trust: ParamsTrust;
  private readonly privateKey: KeyObject;
  /** Good signed sets by version; a corrupt set burns its version number too. */
  private readonly good = new Map<number, ParamsImage>();
  private versionNext = 1;
  /** Every set's content files and the order of a set's files, from the first signed set. */
  private content: {
    readonly names: readonly string[];
    readonly files: ReadonlyMap<string, Uint8Array>;
  } | null = null;

  /** The run's directories, on a file system of their own. */
  readonly dirs: SwarmParamsDirs = {
    disk: new ParamsDiskSim(),
    root: '/params',
    stateDir: '/state',
    download: '/download',
  };

  constructor(
    private readonly options: SimBoardOptions,
    private readonly prng: Prng,
    readonly path: SwarmParamsPath,
  ) {
    const keys = simSigningKey(prng.fork('params-key'));
    this.publicKey = keys.publicKey;
    const denyKey = DenyKey.fromBytes(simDenyKey(options.seed));
    // Every boot loads the active slot again, every install reads its slot back: the same
    // bytes, checked once (params_checked.ts says why a hit is exactly the full check).
    const checked = new ParamsChecked(keys.publicKey, denyKey);
    this.trust = { publicKey: keys.publicKey, denyKey, checked };
    this.privateKey = keys.privateKey;
  }

  /** Highest good version signed so far (0 before the first). */
  newestVersion(): number {
    return Math.max(0, ...this.good.keys());
  }

  /** Signs the next version and installs it (a cut may stop it: SwarmParamsPowerCut). */
  async pushNewer(hook: WritePointHook = () => undefined): Promise<SwarmInstall> {
    const version = this.versionNext;
    this.versionNext += 1;
    const image = await this.sign(version);
    this.good.set(version, image);
    return this.install(image, hook);
  }

  /**
   * Installs a good signed set older than `activeHighest` (the highest version a boot has
   * activated: the floor), a stale depot push; null when there is none.
   */
  async pushRollback(hook: WritePointHook, activeHighest: number): Promise<SwarmInstall | null> {
    const older = [...this.good.keys()].filter((v) => v < activeHighest);
    const version = older[this.prng.below(Math.max(1, older.length))];
    const image = version === undefined ? undefined : this.good.get(version);
    if (version === undefined || image === undefined) return null;
    return this.install(image, hook);
  }

  /**
   * Installs a set that must be refused: the next version with one byte of fares.json or of
   * the manifest's signature changed after signing. Returns the manifest bytes offered.
   */
  async pushCorrupt(
    hook: WritePointHook = () => undefined,
  ): Promise<{ manifest: Uint8Array; installed: SwarmInstall }> {
    const version = this.versionNext;
    this.versionNext += 1;
    const image = new Map(await this.sign(version));
    const target = this.prng.chance(0.5) ? FILE_FARES : FILE_MANIFEST;
    const bytes = (image.get(target) ?? new Uint8Array(0)).slice();
    // A digit or a hex character of the signature, never the JSON syntax around it.
    const at = target === FILE_MANIFEST ? bytes.lastIndexOf(0x22) - 3 : bytes.indexOf(0x30);
    bytes[Math.max(0, at)] = (bytes[Math.max(0, at)] ?? 0) === 0x31 ? 0x32 : 0x31;
    image.set(target, bytes);
    const installed = await this.install(image, hook);
    return { manifest: image.get(FILE_MANIFEST) ?? new Uint8Array(0), installed };
  }

  /** The boot's activation through the run's path. */
  boot(): Promise<SwarmParamsBooted> {
    return this.path.boot(this.dirs, this.trust);
  }

  private async install(image: ParamsImage, hook: WritePointHook): Promise<SwarmInstall> {
    // The download: a fresh directory holding exactly the pushed files (the depot's side; the
    // install that follows is the firmware's own).
    const { disk, download } = this.dirs;
    await disk.removeTree(download);
    await disk.mkdirs(download);
    for (const [name, bytes] of image) disk.put(join(download, name), bytes);
    return this.path.install(this.dirs, this.trust, hook);
  }

  /** The good signed set of `version`, as pushed (null: none such). */
  signedImage(version: number): ParamsImage | null {
    return this.good.get(version) ?? null;
  }

  /**
   * The set of `version` as `writeDefaultParams` signs it. Its content files are the same for
   * every version (they come from the run's options alone, and JSON.stringify, the deny list's
   * build and the writes are deterministic), so they are made once; a later version is its
   * own manifest over them, made as paramsSign makes it (manifestBuild, manifestSign: Ed25519
   * signs deterministically, RFC 8032 5.1.6; manifestEncode), in the same file order.
   */
  private async sign(version: number): Promise<ParamsImage> {
    const content = this.content;
    if (content === null) {
      const image = await swarmParamsSigned(this.options, this.privateKey, this.prng, version);
      this.content = {
        names: [...image.keys()],
        files: new Map([...image].filter(([name]) => name !== FILE_MANIFEST)),
      };
      return image;
    }
    const unsigned = manifestBuild(content.files, version);
    const manifest = manifestEncode(manifestSign(unsigned, this.privateKey));
    const image = new Map<string, Uint8Array>();
    for (const name of content.names) {
      const bytes = name === FILE_MANIFEST ? manifest : content.files.get(name);
      if (bytes === undefined) throw new Error(`swarm parameters: no ${name}`);
      image.set(name, bytes);
    }
    return image;
  }
}

/**
 * A complete set of `version` written and signed by the firmware's `writeDefaultParams` on a
 * scratch medium, and read back: the files and their order.
 */
export async function swarmParamsSigned(
  options: SimBoardOptions,
  privateKey: KeyObject,
  prng: Prng,
  version: number,
): Promise<ParamsImage> {
  const scratch = new StorageSim({
    totalBytes: 64 << 20,
    prng: prng.fork(`params-v${version}`),
    tornModes: ['prefix'],
  });
  const written = await writeDefaultParams(scratch, {
    version,
    terminal: { terminalId: 'SIM00001', lineId: options.lineId },
    fares: options.fares,
    caKeysTlvHex: options.caKeysTlvHex,
    denyList: options.denyList,
    caRevocations: options.caRevocations,
    signingKey: privateKey,
    denyKey: DenyKey.fromBytes(simDenyKey(options.seed)),
    // A board with a PSAM accepts T-Union cards: the set names their ADF (as `shuaka sim`).
    extraAids: (options.tunion ?? null) === null ? [] : [SIM_TUNION_AID],
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

/** A hook that cuts the power at the `cutAt`-th write point (1 = the first); null: never. */
export function paramsCutHook(cutAt: number | null): WritePointHook {
  let points = 0;
  return (point) => {
    points += 1;
    if (cutAt !== null && points === cutAt) throw new SwarmParamsPowerCut(point);
  };
}
