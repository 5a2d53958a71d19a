// `shuaka params`: key generation, signing and verification of parameter sets, deny lists.

import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';

import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import { denyListBuild } from '../app/deny_list/deny_list_build.js';
import { PARAMS_VERSION_MAX } from '../app/params/params_manifest.js';
import { paramsLoad, paramsSign } from '../app/params/params_store.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, cliInt, cliParse, type CliIo } from './cli_args.js';

export const PARAMS_USAGE = `Usage:
  shuaka params keygen --out PREFIX
      Write an Ed25519 key pair: PREFIX.key.pem (PKCS#8, private) and PREFIX.pub.pem (SPKI).
  shuaka params sign --key KEY.pem [--version N] DIR
      Validate every file of the set in DIR and write DIR/manifest.json, signed.
      N defaults to the previous manifest's version + 1 (1 for a new set).
  shuaka params verify --pub PUB.pem DIR
      Check the signature, the file hashes and every file's content (CA key check values,
      deny list); print the first error with its file and field.
  shuaka params denylist-build IN.txt OUT.bin
      Build a sorted binary deny list from "PAN,PSN" lines (PSN as two digits, "01").
Exit codes: 0 ok, 1 refused or failed, 2 bad usage.`;

/** Runs `shuaka params ...`; returns the exit code. Never throws on bad input or files. */
export async function runParamsCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'keygen':
      return paramsKeygen(rest, io);
    case 'sign':
      return paramsSignCommand(rest, io);
    case 'verify':
      return paramsVerifyCommand(rest, io);
    case 'denylist-build':
      return paramsDenylistBuild(rest, io);
    case 'help':
    case '--help':
    case '-h':
      io.out(PARAMS_USAGE);
      return EXIT_OK;
    default:
      return usage(io);
  }
}

async function paramsKeygen(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['out']);
  const prefix = args?.values['out'];
  if (args === null || prefix === undefined || prefix === '') return usage(io);
  if (args.positionals.length !== 0) return usage(io);
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
  const args = cliParse(argv, ['key', 'version']);
  const keyPath = args?.values['key'];
  const dir = args?.positionals[0];
  if (args === null || keyPath === undefined || dir === undefined) return usage(io);
  if (args.positionals.length !== 1) return usage(io);
  const versionText = args.values['version'];
  const version = versionText === undefined ? null : cliInt(versionText, 1, PARAMS_VERSION_MAX);
  if (versionText !== undefined && version === null) return usage(io);
  const key = await keyLoad(keyPath, 'private', io);
  const storage = key === null ? null : await storageOpen(dir, io);
  if (key === null || storage === null) return EXIT_FAILED;
  const signed = await paramsSign(storage, key, version);
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
  const args = cliParse(argv, ['pub']);
  const pubPath = args?.values['pub'];
  const dir = args?.positionals[0];
  if (args === null || pubPath === undefined || dir === undefined) return usage(io);
  if (args.positionals.length !== 1) return usage(io);
  const key = await keyLoad(pubPath, 'public', io);
  const storage = key === null ? null : await storageOpen(dir, io);
  if (key === null || storage === null) return EXIT_FAILED;
  const loaded = await paramsLoad(storage, key);
  await storage.close();
  if (!loaded.ok) {
    io.err(`REFUSED: ${loaded.error.message}`);
    return EXIT_FAILED;
  }
  const set = loaded.value;
  const keyName = (k: { ridHex: string; index: number }): string =>
    `${k.ridHex}/${k.index.toString(16).toUpperCase().padStart(2, '0')}`;
  io.out(`OK: version ${set.version}, terminal ${set.terminal.terminalId}`
    + `, line ${set.terminal.lineId}`);
  io.out(`  CA keys: ${set.caKeys.map(keyName).join(' ')}`);
  io.out(`  AIDs: ${set.aids.map((a) => a.aidHex).join(' ')}`);
  io.out(`  CA revocations: ${set.caRevocations.length}`);
  io.out(`  deny list: ${set.denyList.count} entries, sha256 ${set.denyList.sha256Hex}`);
  io.out(`  manifest sha256 ${set.manifestSha256Hex}`);
  return EXIT_OK;
}

async function paramsDenylistBuild(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, []);
  const [inPath, outPath] = args?.positionals ?? [];
  if (args === null || inPath === undefined || outPath === undefined) return usage(io);
  if (args.positionals.length !== 2) return usage(io);
  let text: Uint8Array;
  try {
    text = await readFile(inPath);
  } catch (error) {
    io.err(`cannot read ${inPath}: ${describe(error)}`);
    return EXIT_FAILED;
  }
  const built = denyListBuild(text, inPath);
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
  io.out(`wrote ${outPath}: ${count} entries (${duplicates} duplicates merged)`);
  return EXIT_OK;
}

async function keyLoad(
  path: string,
  kind: 'private' | 'public',
  io: CliIo,
): Promise<KeyObject | null> {
  try {
    const pem = await readFile(path, 'utf8');
    const key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
