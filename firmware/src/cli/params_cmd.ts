// `shuaka params`: key generation, signing and verification of parameter sets, deny lists.

import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { PEM_BYTES_MAX, readFileBounded } from '../../../hal/src/fs/read_bounded.js';
import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import {
  DENY_KEY_BYTES, type DenyKey, denyKeyCreate, denyKeyDefaultPath, denyKeyLoad,
} from '../app/deny_list/deny_key.js';
import { denyListBuild } from '../app/deny_list/deny_list_build.js';
import { FieldError } from '../app/params/json_fields.js';
import { FILE_MANIFEST, PARAMS_FILE_BYTES_MAX } from '../app/params/params_files.js';
import {
  paramsFloorRead, paramsFloorRefusal, paramsFloorVerdict,
} from '../app/params/params_floor.js';
import {
  paramsActiveDir, paramsInstall, paramsLoadDir, type ParamsRefusalKind,
} from '../app/params/params_install.js';
import {
  PARAMS_VERSION_MAX, manifestParse, manifestPublicKeyParse,
} from '../app/params/params_manifest.js';
import { paramsSign, type ParamSet, type ParamsTrust } from '../app/params/params_store.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, cliArgsProblem, cliHelpAsked, cliInt, cliParse,
  type CliIo } from './cli_args.js';
import { PARAMS_INIT_USAGE, paramsInitCommand } from './params_init.js';

/**
 * The deny list's CSV, read whole: room for the list's largest image in PAN,PSN lines (20
 * characters a card and more). A device or a FIFO given as IN is refused, not read for ever.
 */
const DENY_CSV_BYTES_MAX = 1 << 30;

export const PARAMS_USAGE = `Usage:
${PARAMS_INIT_USAGE}
  shuaka params keygen --out PREFIX
      Write an Ed25519 key pair: PREFIX.key.pem (PKCS#8, private) and PREFIX.pub.pem (SPKI).
  shuaka params sign --key KEY.pem [--version N] [--previous PREV_DIR] DIR
      Validate every file of the set in DIR and write DIR/manifest.json, signed. Versions only
      go up: N must be above the version of DIR's old manifest and of PREV_DIR/manifest.json
      (the last set you published); N defaults to that version + 1 (1 for a first set).
  shuaka params verify --pub PUB.pem [--floor STATE_DIR] [--deny-key FILE] DIR
      Check the signature, the file hashes, every file's content (CA key check values, deny
      list) and the fares/limits consistency; print the first error with its file and field.
      DIR may be a set or an installed A/B root. With --floor, also refuse a set older than
      the version floor kept in STATE_DIR (a validator's journal directory). With
      --deny-key, also refuse a deny list made with another deny key (as a validator does).
      Prints counts and key ids, never a PAN (the list holds none).
  shuaka params install --pub PUB.pem --floor STATE_DIR [--deny-key FILE] SRC_DIR ROOT
      Install the signed set SRC_DIR (e.g. just downloaded) under ROOT power-safely: written
      to the inactive slot (ROOT/slot_a or slot_b), fsynced, verified, then switched by an
      atomic rename of ROOT/active; the floor in STATE_DIR is raised last. Run the validator
      with --params ROOT --journal STATE_DIR. The deny list must be made with the fleet deny
      key FILE (default STATE_DIR/deny.key, where \`shuaka run\` looks), as the validator checks.
  shuaka params denylist-build --deny-key FILE IN.csv OUT.bin
      Build the deny list (deny_list.bin) from "PAN,PSN" lines (PSN as two digits, "01"; a
      first line "pan,psn" is skipped) and "tunion:SERIAL" lines (a T-Union card: the 20
      digits of its application serial, file 0015): each card becomes its token, 12 bytes of
      HMAC-SHA-256(deny key, PAN || PSN) or of ("T" || SERIAL); OUT holds tokens and the
      key's id, no PAN. OUT naming the deny key or IN is refused (exit 2).
  shuaka params denykey-new OUT
      Create a new fleet deny key (32 random bytes, mode 600, never overwriting); give the
      same file to the depot (DIR/deny.key) and to every validator (--deny-key).
Exit codes: 0 ok, 1 refused or failed, 2 bad usage, 3 rollback refused (older than the
installed version, or that version with other content), 4 version floor file unreadable.`;

/** The set is older than the version floor (or that version with other content). */
export const EXIT_PARAMS_ROLLBACK = 3;
/** The version floor file exists but does not verify: restore it, never reset it silently. */
export const EXIT_PARAMS_FLOOR_CORRUPT = 4;

/** Runs `shuaka params ...`; returns the exit code. Never throws on bad input or files. */
export async function runParamsCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (cliHelpAsked(rest)) {
    io.out(PARAMS_USAGE);
    return EXIT_OK;
  }
  switch (command) {
    case 'init':
      return paramsInitCommand(rest, io);
    case 'keygen':
      return paramsKeygen(rest, io);
    case 'sign':
      return paramsSignCommand(rest, io);
    case 'verify':
      return paramsVerifyCommand(rest, io);
    case 'install':
      return paramsInstallCommand(rest, io);
    case 'denylist-build':
      return paramsDenylistBuild(rest, io);
    case 'denykey-new':
      return paramsDenyKeyNew(rest, io);
    case 'help':
    case '--help':
    case '-h':
      io.out(PARAMS_USAGE);
      return EXIT_OK;
    default:
      return usageBecause(io, command === undefined ? 'params: a command is required'
        : `params: unknown command '${command}'`);
  }
}

async function paramsKeygen(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['out'], io);
  const prefix = args?.values['out'];
  if (args === null) return usage(io);
  const wrong = cliArgsProblem(args, ['out'], []);
  if (wrong !== null || prefix === undefined) return usageBecause(io, `params keygen: ${wrong}`);
  const privatePath = `${prefix}.key.pem`;
  const publicPath = `${prefix}.pub.pem`;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  try {
    // 'wx' refuses to overwrite an existing key: losing a signing key strands every validator.
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(privatePath, privatePem, { flag: 'wx', mode: 0o600 });
    await writeFile(publicPath, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' });
  } catch (error) {
    io.err(`keygen failed: ${describe(error)}`);
    return EXIT_FAILED;
  }
  io.out(`wrote ${privatePath} and ${publicPath}`);
  return EXIT_OK;
}

async function paramsSignCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['key', 'version', 'previous'], io);
  const keyPath = args?.values['key'];
  const dir = args?.positionals[0];
  if (args === null) return usage(io);
  if (keyPath === undefined) return usageBecause(io, 'params sign: --key KEY.pem is required');
  if (dir === undefined || args.positionals.length !== 1) {
    return usageBecause(io, 'params sign: one DIR, the parameter set to sign');
  }
  const versionText = args.values['version'];
  const version = versionText === undefined ? null : cliInt(versionText, 1, PARAMS_VERSION_MAX);
  if (versionText !== undefined && version === null) {
    return usageBecause(io,
      `params sign: --version ${versionText}: a whole number from 1 to ${PARAMS_VERSION_MAX}`);
  }
  const previousDir = args.values['previous'];
  const previous = previousDir === undefined ? null : await previousVersion(previousDir, io);
  if (previous === undefined) return EXIT_FAILED;
  const key = await keyLoad(keyPath, 'private', io);
  const storage = key === null ? null : await storageOpen(dir, io);
  if (key === null || storage === null) return EXIT_FAILED;
  const signed = await paramsSign(storage, key, version, previous);
  await storage.close();
  if (!signed.ok) {
    io.err(`not signed: ${signed.error.message}`);
    return EXIT_FAILED;
  }
  const manifest = signed.value;
  io.out(`signed ${dir}/manifest.json: version ${manifest.version}`
    + `, ${manifest.files.length} files`);
  return EXIT_OK;
}

async function paramsVerifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['pub', 'floor', 'deny-key'], io);
  const pubPath = args?.values['pub'];
  const dir = args?.positionals[0];
  if (args === null) return usage(io);
  const wrong = cliArgsProblem(args, ['pub'], ['DIR']);
  if (wrong !== null || pubPath === undefined || dir === undefined) {
    return usageBecause(io, `params verify: ${wrong}`);
  }
  const key = await trustLoad(pubPath, args.values['deny-key'], io);
  if (key === null) return EXIT_FAILED;
  let set: ParamSet;
  try {
    set = await paramsLoadDir(await paramsActiveDir(dir), key);
  } catch (error) {
    io.err(`REFUSED: ${error instanceof FieldError ? error.message : describe(error)}`);
    return EXIT_FAILED;
  }
  const stateDir = args.values['floor'];
  if (stateDir !== undefined) {
    const code = await floorCheck(stateDir, set, io);
    if (code !== EXIT_OK) return code;
  }
  printSet(set, io);
  return EXIT_OK;
}

/** Compares `set` with the floor in `stateDir` (read only). */
async function floorCheck(stateDir: string, set: ParamSet, io: CliIo): Promise<number> {
  // A mistyped STATE_DIR would read as "no floor yet" and pass any version.
  if (!(await stat(stateDir).catch(() => null))?.isDirectory()) {
    io.err(`REFUSED: --floor ${stateDir} is not a directory (a validator's journal directory)`);
    return EXIT_FAILED;
  }
  const read = await paramsFloorRead(stateDir);
  if (read.kind === 'corrupt') {
    io.err(`REFUSED: version floor in ${stateDir} unreadable: ${read.detail}`);
    return EXIT_PARAMS_FLOOR_CORRUPT;
  }
  if (read.kind === 'absent') return EXIT_OK;
  const verdict = paramsFloorVerdict(read.floor, set.version, set.manifestSha256Hex);
  if (verdict === 'older' || verdict === 'conflict') {
    io.err(`REFUSED: ${paramsFloorRefusal(read.floor, set.version)}`);
    return EXIT_PARAMS_ROLLBACK;
  }
  return EXIT_OK;
}

function printSet(set: ParamSet, io: CliIo): void {
  const keyName = (k: { ridHex: string; index: number }): string =>
    `${k.ridHex}/${k.index.toString(16).toUpperCase().padStart(2, '0')}`;
  io.out(`OK: version ${set.version}, terminal ${set.terminal.terminalId}`
    + `, line ${set.terminal.lineId}`);
  io.out(`  CA keys: ${set.caKeys.map(keyName).join(' ')}`);
  io.out(`  AIDs: ${set.aids.map((a) => a.aidHex).join(' ')}`);
  io.out(`  CA revocations: ${set.caRevocations.length}`);
  const deny = set.denyList;
  io.out(`  deny list: ${deny.count} tokens, deny key ${deny.keyIdHex}`
    + `${deny.bound ? ' (matches --deny-key)' : ''}, sha256 ${deny.sha256Hex}`);
  io.out(`  manifest sha256 ${set.manifestSha256Hex}`);
}

async function paramsInstallCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['pub', 'floor', 'deny-key'], io);
  const pubPath = args?.values['pub'];
  const stateDir = args?.values['floor'];
  const [source, root] = args?.positionals ?? [];
  if (args === null) return usage(io);
  const wrong = cliArgsProblem(args, ['pub', 'floor'], ['SRC_DIR', 'ROOT']);
  if (wrong !== null || pubPath === undefined || stateDir === undefined || source === undefined
    || root === undefined) {
    return usageBecause(io, `params install: ${wrong}`);
  }
  // The validator checks the set's deny list against the fleet key (--deny-key, else
  // STATE_DIR/deny.key); an install that skipped it could switch to a set the next start
  // refuses, with the floor raised above the previous one: the bus out of service.
  const denyPath = args.values['deny-key'] ?? denyKeyDefaultPath(stateDir);
  if (args.values['deny-key'] === undefined && !(await stat(denyPath).catch(() => null))) {
    io.err(`deny key ${denyPath} missing: the validator checks the set against the fleet's`
      + ' deny key; put it there (shuaka run reads it by default) or pass --deny-key FILE');
    return EXIT_FAILED;
  }
  const key = await trustLoad(pubPath, denyPath, io);
  if (key === null) return EXIT_FAILED;
  try {
    const installed = await paramsInstall(source, root, key, stateDir);
    if (installed.ok) {
      const where = installed.slot === null ? 'already active' : `active in ${installed.slot}`;
      io.out(`installed version ${installed.set.version}: ${where}`);
      return EXIT_OK;
    }
    io.err(`REFUSED: ${installed.message}`);
    return refusalExit(installed.kind);
  } catch (error) {
    io.err(`install failed (the previous set stays active): ${describe(error)}`);
    return EXIT_FAILED;
  }
}

/** Exit code of a refusal kind. */
export function refusalExit(kind: ParamsRefusalKind): number {
  switch (kind) {
    case 'invalid':
      return EXIT_FAILED;
    case 'rollback':
      return EXIT_PARAMS_ROLLBACK;
    case 'floor-corrupt':
      return EXIT_PARAMS_FLOOR_CORRUPT;
  }
}

/** Version of PREV_DIR/manifest.json; undefined (after a message) when it cannot be read. */
async function previousVersion(dir: string, io: CliIo): Promise<number | undefined> {
  try {
    return manifestParse(await readFileBounded(join(dir, FILE_MANIFEST), PARAMS_FILE_BYTES_MAX))
      .version;
  } catch (error) {
    io.err(`--previous ${dir}: cannot read its manifest.json: `
      + `${error instanceof FieldError ? error.message : describe(error)}`);
    return undefined;
  }
}

async function paramsDenylistBuild(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['deny-key'], io);
  const [inPath, outPath] = args?.positionals ?? [];
  const keyPath = args?.values['deny-key'];
  if (args === null) return usage(io);
  const wrong = cliArgsProblem(args, ['deny-key'], ['IN.csv', 'OUT.bin']);
  if (wrong !== null || inPath === undefined || outPath === undefined || keyPath === undefined) {
    return usageBecause(io, `params denylist-build: ${wrong}`);
  }
  // OUT over the deny key lost the fleet's key (every validator and the depot hold it); OUT
  // over IN lost the list it was built from.
  const clash = await sameFileAmong(outPath, [[keyPath, 'the --deny-key file'],
    [inPath, 'IN.csv']]);
  if (clash !== null) {
    io.err(`not built: OUT.bin ${outPath} is ${clash}, which it would overwrite; write it `
      + 'elsewhere');
    return EXIT_USAGE;
  }
  const denyKey = await denyKeyRead(keyPath, io);
  if (denyKey === null) return EXIT_FAILED;
  let text: Uint8Array;
  try {
    text = await readFileBounded(inPath, DENY_CSV_BYTES_MAX);
  } catch (error) {
    io.err(`cannot read ${inPath}: ${describe(error)}`);
    return EXIT_FAILED;
  }
  const built = denyListBuild(text, inPath, denyKey);
  if (!built.ok) {
    io.err(`not built: ${built.error.message}`);
    return EXIT_FAILED;
  }
  try {
    await writeFile(outPath, built.value.image);
  } catch (error) {
    io.err(`cannot write ${outPath}: ${describe(error)}`);
    return EXIT_FAILED;
  }
  const { count, duplicates } = built.value;
  io.out(`wrote ${outPath}: ${count} tokens (${duplicates} duplicates merged), `
    + `deny key ${denyKey.idHex}`);
  return EXIT_OK;
}

/** What `path` is among `named` (the same file: one inode, by any name or link), or null. */
async function sameFileAmong(
  path: string,
  named: readonly (readonly [string, string])[],
): Promise<string | null> {
  const at = await stat(path).catch(() => null);
  if (at === null) return null;
  for (const [other, what] of named) {
    const there = await stat(other).catch(() => null);
    if (there !== null && there.dev === at.dev && there.ino === at.ino) return what;
  }
  return null;
}

async function paramsDenyKeyNew(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, [], io);
  const outPath = args?.positionals[0];
  if (args === null) return usage(io);
  const wrong = cliArgsProblem(args, [], ['FILE']);
  if (wrong !== null || outPath === undefined) {
    return usageBecause(io, `params denykey-new: ${wrong}`);
  }
  const created = await denyKeyCreate(outPath, new Uint8Array(randomBytes(DENY_KEY_BYTES)));
  if (!created.ok) {
    io.err(`deny key not created: ${created.detail}`);
    return EXIT_FAILED;
  }
  io.out(`wrote ${outPath} (mode 600): deny key ${created.value.idHex}`);
  return EXIT_OK;
}

/** The deny key at `path`, or null after a message (missing, too open, bad size...). */
async function denyKeyRead(path: string, io: CliIo): Promise<DenyKey | null> {
  const loaded = await denyKeyLoad(path);
  if (loaded.ok) return loaded.value;
  io.err(`deny key ${loaded.error}: ${loaded.detail}`);
  return null;
}

/** The public key, with the deny key when `denyKeyPath` is given; null after a message. */
async function trustLoad(
  pubPath: string,
  denyKeyPath: string | undefined,
  io: CliIo,
): Promise<ParamsTrust | null> {
  const publicKey = await keyLoad(pubPath, 'public', io);
  if (publicKey === null) return null;
  if (denyKeyPath === undefined) return publicKey;
  const denyKey = await denyKeyRead(denyKeyPath, io);
  return denyKey === null ? null : { publicKey, denyKey };
}

async function keyLoad(
  path: string,
  kind: 'private' | 'public',
  io: CliIo,
): Promise<KeyObject | null> {
  try {
    const pem = (await readFileBounded(path, PEM_BYTES_MAX)).toString('utf8');
    if (kind === 'public') {
      const parsed = manifestPublicKeyParse(pem);
      if (!parsed.ok) io.err(`${path}: ${parsed.detail}`);
      return parsed.ok ? parsed.key : null;
    }
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') {
      io.err(`${path}: not an Ed25519 key (${String(key.asymmetricKeyType)})`);
      return null;
    }
    return key;
  } catch (error) {
    io.err(`${path}: cannot load the ${kind} key: ${describe(error)}`);
    return null;
  }
}

/** Opens DIR as storage; it must exist (verify must not create what it checks). */
async function storageOpen(dir: string, io: CliIo): Promise<FileStorage | null> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch (error) {
    io.err(`${dir}: ${describe(error)}`);
    return null;
  }
  const opened = await FileStorage.open(dir, { quotaBytes: null });
  if (!opened.ok) {
    io.err(opened.detail);
    return null;
  }
  return opened.value;
}

function usage(io: CliIo): number {
  io.err(PARAMS_USAGE);
  return EXIT_USAGE;
}

/** Usage, after the line that says what was wrong (the usage text alone does not). */
function usageBecause(io: CliIo, why: string): number {
  io.err(why);
  return usage(io);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
