// `shuaka params init DIR`: a complete, commented starter parameter set, ready to sign.

import { readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { mkdirParents } from '../../../hal/src/fs/mkdir_parents.js';
import {
  DENY_KEY_FILE_NAME,
  denyKeyLoadOrCreate,
  type DenyKey,
} from '../app/deny_list/deny_key.js';
import { denyListBuild } from '../app/deny_list/deny_list_build.js';
import { capkParse } from '../app/params/emv_capk.js';
import { ID_PATTERN } from '../app/params/field_patterns.js';
import {
  FILE_AIDS, FILE_CAPK, FILE_CAPK_REVOCATION, FILE_DENY_LIST, FILE_FARES, FILE_TERMINAL,
} from '../app/params/params_files.js';
import { DEFAULT_FARES } from '../app/params/params_store.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, cliParse, type CliIo } from './cli_args.js';
import { UNIONPAY_CAPK_TLV_HEX } from './params_init_capk.js';

export const PARAMS_INIT_USAGE = `  shuaka params init [--terminal-id ID] [--line-id ID]
                     [--deny-key FILE] DIR
      Write a complete starter set into DIR (new or empty): terminal.json, fares.json,
      aids.json, capk.txt (the public UnionPay CA keys, with their check values),
      capk_revocation.json (none) and deny_list.bin (empty, bound to the fleet's deny key
      FILE: default deny.key beside DIR, created (mode 600) when missing). Every file explains
      its fields ("$comment" in the JSON files, "#" lines in capk.txt; docs/params.md). Edit,
      then sign.`;

/** Runs `shuaka params init ...`; returns the exit code. Never overwrites a file. */
export async function paramsInitCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['terminal-id', 'line-id', 'deny-key'], io);
  const dir = args?.positionals[0];
  if (args === null || dir === undefined || args.positionals.length !== 1) {
    io.err(`Usage:\n${PARAMS_INIT_USAGE}`);
    return EXIT_USAGE;
  }
  const terminalId = args.values['terminal-id'] ?? 'BUS00001';
  const lineId = args.values['line-id'] ?? 'LINE1';
  // terminal.json's own pattern (params_files.ts), so that init never writes a set that
  // signing then refuses, and both say the same words.
  for (const [flag, id] of [['--terminal-id', terminalId], ['--line-id', lineId]] as const) {
    if (!ID_PATTERN.re.test(id)) {
      io.err(`shuaka params init: ${flag} must be ${ID_PATTERN.says}, got ${JSON.stringify(id)}`);
      return EXIT_USAGE;
    }
  }
  const keyPath = args.values['deny-key'] ?? join(dirname(dir), DENY_KEY_FILE_NAME);
  try {
    await mkdirParents(dir);
    const present = await readdir(dir);
    if (present.length !== 0) {
      io.err(`shuaka params init: ${dir} is not empty (${present.join(', ')}); nothing written`);
      return EXIT_FAILED;
    }
    const denyKey = await denyKeyLoadOrCreate(keyPath);
    if (!denyKey.ok) {
      io.err(`shuaka params init: deny key ${denyKey.detail}; nothing written`);
      return EXIT_FAILED;
    }
    for (const [name, bytes] of paramsStarterFiles(terminalId, lineId, denyKey.value)) {
      await writeFile(join(dir, name), bytes, { flag: 'wx' });
    }
  } catch (error) {
    io.err(`shuaka params init: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILED;
  }
  io.out(`wrote a starter parameter set in ${dir} (deny key ${keyPath}: give the same file `
    + `to the depot and to every validator); edit it, then:\n${paramsNextSteps(dir)}`
    + ` --deny-key ${keyPath}`);
  return EXIT_OK;
}

/** The exact commands from a starter set to a running validator. */
export function paramsNextSteps(dir: string, pubPath = 'params.pub.pem'): string {
  const prefix = pubPath.endsWith('.pub.pem') ? pubPath.slice(0, -'.pub.pem'.length) : 'params';
  return [
    `  shuaka params keygen --out ${prefix}            # once: keep ${prefix}.key.pem offline`,
    `  shuaka params sign --key ${prefix}.key.pem ${dir}`,
    `  shuaka params verify --pub ${prefix}.pub.pem ${dir}`,
    `  shuaka run --port pn532_uart:/dev/ttyUSB0 --params ${dir} --params-pub ${prefix}.pub.pem`,
  ].join('\n');
}

/** What `shuaka run` says when its parameter set or public key is missing. */
export function paramsHowTo(paramsDir: string, pubPath: string): string {
  return `a validator needs a signed parameter set; make one with:\n`
    + `  shuaka params init ${paramsDir}\n${paramsNextSteps(paramsDir, pubPath)}\n`
    + 'Every file and field: shuaka params --help and docs/params.md.';
}

/** The six files of the starter set, by name. */
export function paramsStarterFiles(
  terminalId: string,
  lineId: string,
  denyKey: DenyKey,
): Map<string, Uint8Array> {
  const json = (value: unknown): Uint8Array =>
    new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const denyList = denyListBuild('', FILE_DENY_LIST, denyKey);
  if (!denyList.ok) throw new Error(`empty deny list: ${denyList.error.message}`);
  return new Map<string, Uint8Array>([
    [FILE_TERMINAL, json(terminalStarter(terminalId, lineId))],
    [FILE_FARES, json(faresStarter())],
    [FILE_AIDS, json(aidsStarter())],
    [FILE_CAPK, new TextEncoder().encode(capkStarter())],
    [FILE_CAPK_REVOCATION, json(revocationStarter())],
    [FILE_DENY_LIST, denyList.value.image],
  ]);
}

function terminalStarter(terminalId: string, lineId: string): unknown {
  return {
    $comment: [
      `terminalId: this validator (${ID_PATTERN.says}); its last 8 letters/digits`,
      'are the IFD serial 9F1E unless shuaka run --ifd-serial says otherwise. lineId: the',
      'route, of the same letters.',
      'limits (optional, minor units, fen): DF19 contactless offline floor limit (above it no',
      'offline approval), DF20 contactless transaction limit and DF21 CVM limit (amounts at',
      'or above them are refused: a validator has no PIN pad). Set them to your acquirer\'s.',
    ],
    terminalId,
    lineId,
    limits: {
      contactlessFloorLimitMinor: 10_000,
      contactlessTransactionLimitMinor: 100_000,
      cvmLimitMinor: 100_000,
    },
  };
}

function faresStarter(): unknown {
  return {
    $comment: [
      'Amounts in minor units (fen). currencyCode: ISO 4217 numeric (156 = CNY, 5F2A/9F1A).',
      'flatFareMinor: the fare of every card not in a category. categories: fares by PAN',
      'prefix (low/high: equally long digit strings, e.g. a social-security card BIN).',
      'transfer: discount on a second ride within windowSec. duplicateTapWindowSec: the same',
      'card again within it is refused. tornWindowSec: how long a torn tap may be recovered.',
    ],
    ...DEFAULT_FARES,
  };
}

function aidsStarter(): unknown {
  return {
    $comment: [
      'Applications the validator selects, in priority order (1..16). partialMatch: the',
      'card\'s AID may be longer (UnionPay debit 01, credit 02, quasi-credit 03 all start',
      'A0000003330101). label: printable ASCII, for logs.',
    ],
    aids: [{ aidHex: 'A0000003330101', partialMatch: true, label: 'UnionPay' }],
  };
}

function revocationStarter(): unknown {
  return {
    $comment: [
      'Revoked issuer certificates (EMV Book 2, 5.3): ridHex (5 bytes), caIndexHex (1 byte),',
      'certificateSerialHex (3 bytes), as the acquirer publishes them. Up to 64; none here.',
    ],
    revoked: [],
  };
}

function capkStarter(): string {
  const lines = [
    '# CA public keys: one UnionPay TLV parameter line per key (9F06 RID, 9F22 index, DF05',
    '# expiry, DF06 hash 01, DF07 RSA 01, DF02 modulus, DF04 exponent, DF03 check value =',
    '# SHA-1 of RID||index||modulus||exponent, verified when the set is signed and loaded).',
    '# Up to 32 keys; "#" lines and blank lines are ignored.',
    '# Source: the public UnionPay keys a terminal SDK loads (github dayonaart/topwiseclient,',
    '# CapkImpl.kt); whether an index is live or test is not stated there: take your',
    '# acquirer\'s list. To tap the emulator\'s cards add its TEST keys:',
    '#   shuaka emu --print-capk >> capk.txt      (never on a bus in service)',
  ];
  for (const tlvHex of UNIONPAY_CAPK_TLV_HEX) {
    const key = capkParse(tlvHex, FILE_CAPK, 'starter');
    const index = key.index.toString(16).toUpperCase().padStart(2, '0');
    lines.push(`# ${key.ridHex} index ${index}: RSA ${key.modulusHex.length * 4} bits, exponent`
      + ` ${key.exponentHex}, expires ${key.expiryYyyymmdd}, check value ${key.checkValueHex}`);
    lines.push(tlvHex);
  }
  return `${lines.join('\n')}\n`;
}
