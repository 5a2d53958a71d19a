// `shuaka params` and `shuaka journal` command modules on real files in a temp directory.

import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac, createPrivateKey } from 'node:crypto';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { JOURNAL_FILE_NAME } from '../src/app/journal/journal.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { runParamsCommand } from '../src/cli/params_cmd.js';
import { panOf, scriptedEntries, writeJournalDir } from './journal_fixtures.js';
import { TEST_DENY_KEY, TEST_DENY_KEY_BYTES, writeTestDenyKey } from './deny_key_fixture.js';

let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-cli-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

async function run(command: 'params' | 'journal', argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (line: string) => out.push(line), err: (line: string) => err.push(line) };
  const runner = command === 'params' ? runParamsCommand : runJournalCommand;
  const code = await runner(argv, io);
  return { code, out, err };
}

function writeJournal(entries = scriptedEntries()): Promise<string> {
  return writeJournalDir(dir, 'journal', entries);
}

describe('shuaka params', () => {
  it('keygenSignVerify_roundTrip_andATamperedFileIsRefused', async () => {
    const prefix = join(dir, 'ops');
    expect((await run('params', ['keygen', '--out', prefix])).code).toBe(0);
    expect((await run('params', ['keygen', '--out', prefix])).code).toBe(1);
    const setDir = join(dir, 'set');
    await mkdir(setDir);
    const storage = await FileStorage.open(setDir, { quotaBytes: null });
    if (!storage.ok) throw new Error(storage.detail);
    const signingKey = createPrivateKey(await readFile(`${prefix}.key.pem`, 'utf8'));
    const written = await writeDefaultParams(storage.value, {
    caRevocations: [],
      version: 1,
      terminal: { terminalId: 'T9', lineId: 'L1' },
      fares: DEFAULT_FARES,
      caKeysTlvHex: [],
      denyList: [],
      signingKey,
      denyKey: TEST_DENY_KEY,
    });
    // No CA key at all is not a usable set.
    expect(written.ok ? '' : written.error.message).toMatch(/capk\.txt: no CA key/);
    await writeFile(join(setDir, 'capk.txt'), await capkFromVectors());
    const signed = await run('params', ['sign', '--key', `${prefix}.key.pem`, setDir]);
    expect(signed.code, signed.err.join('\n')).toBe(0);
    expect(signed.out[0]).toMatch(/version 1, 6 files/);
    const again = await run('params', ['sign', '--key', `${prefix}.key.pem`, setDir]);
    expect(again.out[0]).toMatch(/version 2/);
    const verified = await run('params', ['verify', '--pub', `${prefix}.pub.pem`, setDir]);
    expect(verified.code, verified.err.join('\n')).toBe(0);
    expect(verified.out.join('\n')).toMatch(/OK: version 2, terminal T9, line L1/);
    expect(verified.out.join('\n'))
      .toContain(`deny list: 0 tokens, deny key ${TEST_DENY_KEY.idHex}, sha256`);
    // The private signing key given as --pub: node derives its public half, and it verified;
    // such a key would then sit on every bus. Refused, and said why.
    const withPrivate = await run('params', ['verify', '--pub', `${prefix}.key.pem`, setDir]);
    expect(withPrivate.code).toBe(1);
    expect(withPrivate.err.join('\n')).toContain(`${prefix}.key.pem: a private key, not the `
      + 'public key: give PREFIX.pub.pem');
    // As a validator would: the set's deny key must be the one given.
    const denyKeyPath = writeTestDenyKey(dir);
    const same = await run('params', ['verify', '--pub', `${prefix}.pub.pem`, '--deny-key',
      denyKeyPath, setDir]);
    expect(same.out.join('\n')).toContain('(matches --deny-key)');
    const otherKey = join(dir, 'other.key');
    expect((await run('params', ['denykey-new', otherKey])).code).toBe(0);
    const other = await run('params', ['verify', '--pub', `${prefix}.pub.pem`, '--deny-key',
      otherKey, setDir]);
    expect(other.code).toBe(1);
    expect(other.err.join('\n')).toMatch(/REFUSED: deny_list\.bin: keyId: made with deny key/);
    await writeFile(join(setDir, 'terminal.json'), '{"terminalId":"T9","lineId":"L2"}');
    const refused = await run('params', ['verify', '--pub', `${prefix}.pub.pem`, setDir]);
    expect(refused.code).toBe(1);
    expect(refused.err.join('\n'))
      .toMatch(/REFUSED: terminal\.json: SHA-256 does not match the manifest/);
    await storage.value.close();
  });

  it('denylistBuild_writesTokensOnly_andBadLinesOrKeysFail', async () => {
    const pan = '6231000000000001';
    await writeFile(join(dir, 'in.csv'), `pan,psn\n${pan},01\n${pan},01\n`);
    const outBin = join(dir, 'out.bin');
    const keyPath = writeTestDenyKey(dir);
    const built = await run('params', ['denylist-build', '--deny-key', keyPath,
      join(dir, 'in.csv'), outBin]);
    expect(built.code, built.err.join('\n')).toBe(0);
    expect(built.out[0]).toMatch(/1 tokens \(1 duplicates merged\), deny key [0-9A-F]{16}/);
    const image = await readFile(outBin);
    expect(image.length).toBe(64 + 12);
    const token = createHmac('sha256', TEST_DENY_KEY_BYTES)
      .update(Buffer.concat([Buffer.from(pan), Buffer.from([0x01])])).digest().subarray(0, 12);
    expect(image.subarray(64).equals(token)).toBe(true);
    expect(image.includes(Buffer.from(pan))).toBe(false);
    expect(image.includes(Buffer.from(pan, 'hex'))).toBe(false);
    const noKey = await run('params', ['denylist-build', join(dir, 'in.csv'), outBin]);
    expect(noKey.code).toBe(2);
    const missing = await run('params', ['denylist-build', '--deny-key', join(dir, 'none.key'),
      join(dir, 'in.csv'), outBin]);
    expect(missing.code).toBe(1);
    expect(missing.err[0]).toMatch(/deny key missing: .*none\.key: no deny key/);
    await writeFile(join(dir, 'bad.txt'), '6231000000000001 01\n');
    const bad = await run('params', ['denylist-build', '--deny-key', keyPath,
      join(dir, 'bad.txt'), join(dir, 'out.bin')]);
    expect(bad.code).toBe(1);
    expect(bad.err[0]).toMatch(/line 1/);
    // OUT naming the deny key or IN (by any name) is refused; both stay as they were.
    const keyBefore = await readFile(keyPath);
    const inBefore = await readFile(join(dir, 'in.csv'));
    await symlink(join(dir, 'in.csv'), join(dir, 'in-link.csv'));
    for (const [out, what] of [[keyPath, 'the --deny-key file'],
      [join(dir, 'in.csv'), 'IN.csv'], [join(dir, 'in-link.csv'), 'IN.csv']] as const) {
      const over = await run('params', ['denylist-build', '--deny-key', keyPath,
        join(dir, 'in.csv'), out]);
      expect(over.code, out).toBe(2);
      expect(over.err[0]).toContain(`is ${what}, which it would overwrite`);
    }
    expect((await readFile(keyPath)).equals(keyBefore)).toBe(true);
    expect((await readFile(join(dir, 'in.csv'))).equals(inBefore)).toBe(true);
    const fresh = join(dir, 'fleet.key');
    const made = await run('params', ['denykey-new', fresh]);
    expect(made.code).toBe(0);
    expect((await stat(fresh)).mode & 0o777).toBe(0o600);
    expect((await readFile(fresh)).length).toBe(32);
    expect((await run('params', ['denykey-new', fresh])).code).toBe(1);
  });

  it('sign_badTerminalId_namesTheFieldAndSaysInWordsWhatIsExpected', async () => {
    const setDir = join(dir, 'set');
    const init = await run('params', ['init', setDir]);
    expect(init.code, init.err.join('\n')).toBe(0);
    expect((await run('params', ['keygen', '--out', join(dir, 'ops')])).code).toBe(0);
    const terminalFile = join(setDir, 'terminal.json');
    const terminal = JSON.parse(await readFile(terminalFile, 'utf8')) as Record<string, unknown>;
    await writeFile(terminalFile, JSON.stringify({ ...terminal, terminalId: 'BUS 001' }));
    const signed = await run('params', ['sign', '--key', join(dir, 'ops.key.pem'), setDir]);
    expect(signed.code).toBe(1);
    const message = signed.err.join('\n');
    expect(message).toContain('terminal.json: terminalId: expected 1 to 32 letters, digits');
    expect(message).toContain('got "BUS 001"');
    // An operator reads words, not the regular expression behind them.
    expect(message).not.toMatch(/\/\^|\$\/|\\x|\{1,/);
  });

  it('help_printsUsageAndExits0', async () => {
    for (const command of ['params', 'journal'] as const) {
      const result = await run(command, ['--help']);
      expect(result.code).toBe(0);
      expect(result.out.join('\n')).toMatch(/^Usage:/);
    }
  });

  it('badUsage_printsUsageAndExits2', async () => {
    const cases = [
      [], ['nope'], ['sign', 'dir'], ['verify', '--pub'], ['keygen', '--out', 'x', '--bogus', 'y'],
      ['sign', '--key', 'k', '--version', 'x', 'd'], ['denylist-build', 'one'],
    ];
    // What is wrong is named first, in our words; the usage follows.
    const named: Record<string, string> = {
      '': 'params: a command is required\nUsage:',
      'nope': "params: unknown command 'nope'\nUsage:",
      'denylist-build one': 'params denylist-build: --deny-key is required\nUsage:',
      'verify --pub': '--pub needs a value, got nothing\nUsage:',
      'keygen --out x --bogus y': "unknown flag '--bogus'\nUsage:",
      'sign dir': 'params sign: --key KEY.pem is required\nUsage:',
      'sign --key k --version x d':
        'params sign: --version x: a whole number from 1 to 4294967295\nUsage:',
    };
    for (const argv of cases) {
      const result = await run('params', argv);
      expect(result.code, argv.join(' ')).toBe(2);
      const why = named[argv.join(' ')];
      expect(why, argv.join(' ')).toBeDefined();
      expect(result.err.join('\n')).toMatch(new RegExp(`^${why ?? ''}`));
    }
  });

  it('argumentsMissingOrTooMany_areNamed_beforeTheUsage', async () => {
    const cases: [string[], string][] = [
      [['verify', 'dir'], 'params verify: --pub is required'],
      [['verify', '--pub', 'p'], 'params verify: DIR missing'],
      [['verify', '--pub', 'p', 'a', 'b'], "params verify: unexpected argument 'b'"],
      [['install', '--pub', 'p', 'src', 'root'], 'params install: --floor is required'],
      [['install', '--pub', 'p', '--floor', 'f', 'src'], 'params install: ROOT missing'],
      [['keygen'], 'params keygen: --out is required'],
      [['keygen', '--out', ''], "--out needs a value, got ''"],
      [['denylist-build', '--deny-key', 'k'], 'params denylist-build: IN.csv and OUT.bin missing'],
      [['denykey-new'], 'params denykey-new: FILE missing'],
    ];
    for (const [argv, why] of cases) {
      const result = await run('params', argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err[0], argv.join(' ')).toBe(why);
    }
    const asFlag = '(the journal directory is given as --journal DIR)';
    const journal: [string[], string][] = [
      [[], 'journal: a command is required'],
      [['frob'], "journal: unknown command 'frob'"],
      [['verify', 'dir'], `journal verify: unexpected argument 'dir' ${asFlag}`],
      [['export', 'dir'], `journal export: unexpected argument 'dir' ${asFlag}`],
      [['ack'], 'journal ack: --through SEQ is required'],
      [['ack', '--through', 'x'],
        "journal ack: --through must be an integer in 1..4294967295, got 'x'"],
    ];
    for (const [argv, why] of journal) {
      const result = await run('journal', argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err[0], argv.join(' ')).toBe(why);
    }
  });
});

describe('shuaka journal', () => {
  it('verifyExportAck_onAJournalWithATornTail', async () => {
    const journalDir = await writeJournal(scriptedEntries().slice(0, 10));
    // Three bytes of a record header: a power cut during an append.
    const tornBytes = new Uint8Array([0x53, 0x4a, 0x01]);
    await writeFile(join(journalDir, JOURNAL_FILE_NAME), tornBytes, { flag: 'a' });
    const verified = await run('journal', ['verify', '--journal', journalDir]);
    expect(verified.code).toBe(0);
    const text = verified.out.join('\n');
    expect(text).toMatch(/: OK/);
    expect(text).toMatch(/last seq 10, acknowledged through 0/);
    expect(text).toMatch(/torn tail: 3 bytes at offset \d+ of journal\.bin \(short\)/);
    expect(text).toMatch(/unacknowledged clearing records 2/);
    expect(text).not.toMatch(/6231000000000000/);
    const outFile = join(dir, 'upload.jsonl');
    const exported = await run('journal', ['export', '--journal', journalDir, '--out', outFile]);
    expect(exported.code).toBe(0);
    const lines = (await readFile(outFile, 'utf8')).trim().split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => `${String(l['type'])}:${String(l['seq'])}`))
      .toEqual(['clearing:2', 'torn:4', 'clearing:7', 'torn:9', 'reconciled:10']);
    expect(exported.err.join('\n')).toMatch(/ack --through 10/);
    // The clear PAN exists only in the upload, opened with the data key.
    expect(lines[0]?.['pan']).toBe(panOf(1));
    const noKey = ['export', '--journal', journalDir, '--data-key', join(dir, 'absent.key')];
    const refused = await run('journal', noKey);
    expect(refused.code).toBe(1);
    expect(refused.err.join('\n')).toMatch(/not exported: .*absent\.key: no data key/);
    const ack = ['ack', '--through', '10', '--journal', journalDir];
    expect((await run('journal', ack)).code).toBe(0);
    expect((await run('journal', ack)).code).toBe(1);
    const after = await run('journal', ['export', '--journal', journalDir]);
    expect(after.out).toEqual([]);
    const summary = await run('journal', ['verify', '--journal', journalDir]);
    expect(summary.out.join('\n')).toMatch(/last seq 11, acknowledged through 10/);
    expect(summary.out.join('\n')).toMatch(/torn tail: none/);
  });

  it('verify_failsWithExit3OnCorruption_andUsageIsExit2', async () => {
    const journalDir = await writeJournal(scriptedEntries().slice(0, 3));
    const path = join(journalDir, JOURNAL_FILE_NAME);
    const image = await readFile(path);
    image[30] = (image[30] ?? 0) ^ 0x10;
    await writeFile(path, image);
    const verified = await run('journal', ['verify', '--journal', journalDir]);
    expect(verified.code).toBe(3);
    expect(verified.err.join('\n')).toMatch(/CORRUPT: journal\.bin at byte 0 \(seq 1\)/);
    expect((await run('journal', ['export', '--journal', journalDir])).code).toBe(3);
    expect((await run('journal', ['verify', '--journal', join(dir, 'absent')])).code).toBe(1);
    const bad = [
      [], ['ack'], ['ack', '--through', 'x'], ['verify', 'extra'], ['export', '--bogus'],
    ];
    for (const argv of bad) {
      expect((await run('journal', argv)).code, argv.join(' ')).toBe(2);
    }
  });
});

async function capkFromVectors(): Promise<string> {
  const path = join(import.meta.dirname, '../../../shared/vectors/unionpay_capk.json');
  type Vectors = { keys: { index: string; source_tlv: string }[] };
  const json = JSON.parse(await readFile(path, 'utf8')) as Vectors;
  return json.keys.filter((key) => key.index !== '61').map((key) => key.source_tlv).join('\n');
}
