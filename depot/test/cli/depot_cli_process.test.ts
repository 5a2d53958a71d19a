// `shuaka depot` as a real process: init, terminal add/list/revoke, serve over mutual TLS with
// the certificates it issued, graceful SIGTERM, and the documented exit codes.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { denyKeyLoad } from '../../../firmware/src/app/deny_list/deny_key.js';
import { depotIdentityRead } from '../../../firmware/src/boards/depot_https.js';
import { TERMINAL_ID_PATTERN } from '../../src/ingest/terminal_registry.js';
import { ID_PATTERN } from '../../../firmware/src/app/params/field_patterns.js';
import { call, clearingBatch } from '../ingest/ingest_fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const temp = mkdtempSync(join(tmpdir(), 'shuaka-depot-cli-'));
const dir = join(temp, 'depot');
const db = join(temp, 'depot.sqlite');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(temp, { recursive: true, force: true });
});

function shuaka(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [BIN, 'depot', ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `serve`; resolves with the child and its port once it printed "listening". */
function serve(...args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn('node', [BIN, 'depot', 'serve', ...args], { cwd: ROOT });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening https:\/\/[^:]+:(\d+)/.exec(out);
      if (m !== null) resolve({ child, port: Number(m[1]) });
    });
    child.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
    child.on('exit', (code) => reject(new Error(`serve exited ${String(code)}: ${err}`)));
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}

describe('shuaka depot (process)', () => {
  it('init_thenTerminalAdd_issuesCertificates_andRefusesDuplicates', async () => {
    expect(shuaka('init', '--dir', dir).status).toBe(0);
    for (const f of ['ca.pem', 'ca.key', 'server.pem', 'server.key', 'data.key', 'deny.key'])
      expect(existsSync(join(dir, f))).toBe(true);
    const denyKeyBytes = readFileSync(join(dir, 'deny.key'));
    expect(denyKeyBytes).toHaveLength(32);
    expect(statSync(join(dir, 'deny.key')).mode & 0o777).toBe(0o600);
    expect((await denyKeyLoad(join(dir, 'deny.key'))).ok).toBe(true);
    expect(shuaka('init', '--dir', dir)).toMatchObject({ status: 1 });
    expect(readFileSync(join(dir, 'deny.key'))).toEqual(denyKeyBytes);
    expect(shuaka('terminal', 'add', '--db', db, '--id', 'SIM00001', '--route', 'R12',
      '--dir', dir, '--out', join(temp, 'term')).status).toBe(0);
    // --out is a whole identity for `run --depot-identity` (the fleet CA copied beside the
    // key and certificate: it held those two only, and run refused it naming another file).
    expect(readFileSync(join(temp, 'term', 'ca.pem')))
      .toEqual(readFileSync(join(dir, 'ca.pem')));
    expect((await depotIdentityRead(join(temp, 'term'))).ok).toBe(true);
    const noCa = join(temp, 'term-no-ca');
    mkdirSync(noCa);
    for (const f of ['SIM00001.key', 'SIM00001.pem']) {
      copyFileSync(join(temp, 'term', f), join(noCa, f));
    }
    const missing = await depotIdentityRead(noCa);
    expect(missing.ok === false && missing.detail).toMatch(/ca\.pem is missing beside SIM00001\.key/);
    const again = shuaka('terminal', 'add', '--db', db, '--id', 'SIM00001', '--cert',
      join(temp, 'term', 'SIM00001.pem'));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already registered/);
    const list = shuaka('terminal', 'list', '--db', db);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout.trim())).toMatchObject({ terminalId: 'SIM00001',
      routeId: 'R12', status: 'active' });
    expect(shuaka('terminal', 'revoke', '--db', db, '--id', 'NOPE').status).toBe(1);
    expect(shuaka('terminal', 'frob').status).toBe(2);
  });

  it('initAndTerminalAdd_withRelativePaths_workFromTheOperatorsDirectory', () => {
    // An operator in their own directory: `--dir depot`, not an absolute path.
    const here = (...args: string[]) => spawnSync('node', [BIN, 'depot', ...args],
      { encoding: 'utf8', cwd: temp });
    const init = here('init', '--dir', 'rel-depot');
    expect(init.status, init.stderr).toBe(0);
    expect(existsSync(join(temp, 'rel-depot', 'ca.key'))).toBe(true);
    const added = here('terminal', 'add', '--db', 'rel.db', '--id', 'REL00001', '--dir',
      'rel-depot', '--out', 'rel-ids');
    expect(added.status, added.stderr).toBe(0);
    expect(existsSync(join(temp, 'rel-ids', 'REL00001.pem'))).toBe(true);
  });

  it('terminalAdd_refusesABadId_inTheWordsOfTheRegistrysPattern', () => {
    // The certificate issued above: the id is checked before it is looked up.
    const cert = join(temp, 'term', 'SIM00001.pem');
    // Also what the depot once took: ids no validator's terminal.json can hold.
    for (const id of ['BUS 001', 'B'.repeat(65), 'BUS\u00e9', 'B'.repeat(33), 'BUS#1']) {
      expect(ID_PATTERN.re.test(id), id).toBe(false);
      const refused = shuaka('terminal', 'add', '--db', db, `--id=${id}`, '--cert', cert);
      expect(refused.status, refused.stderr).toBe(1);
      expect(refused.stderr.trim()).toBe('shuaka depot terminal add: terminal id must be '
        + `${TERMINAL_ID_PATTERN.says}, got ${JSON.stringify(id)}`);
    }
    // Issuing a certificate (--dir) says the same.
    const issued = shuaka('terminal', 'add', '--db', db, '--id=BUS#2', '--dir', dir, '--out',
      join(temp, 'term-bad'));
    expect(issued.status, issued.stderr).toBe(1);
    expect(issued.stderr).toContain(`terminal id must be ${TERMINAL_ID_PATTERN.says}`);
    const list = shuaka('terminal', 'list', '--db', db);
    expect(list.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('terminalAdd_refusesACertificateNoTerminalCanConnectWith_expiredNotYetValidOrACas', () => {
    // Certificates with chosen dates: `openssl ca` is the command that sets them.
    const work = join(temp, 'dated');
    mkdirSync(work);
    writeFileSync(join(work, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\n'
      + 'new_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\n'
      + 'commonName=supplied\n');
    writeFileSync(join(work, 'index.txt'), '');
    writeFileSync(join(work, 'serial'), '01\n');
    const dated = (name: string, start: string, end: string): string => {
      const openssl = (...args: string[]) => {
        const r = spawnSync('openssl', args, { cwd: work, encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
      };
      openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', `${name}.key`,
        '-in', `${name}.csr`, '-startdate', start, '-enddate', end, '-out', `${name}.pem`);
      return join(work, `${name}.pem`);
    };
    const before = shuaka('terminal', 'list', '--db', db).stdout;
    const cases = [
      [dated('old', '20200101000000Z', '20210101000000Z'),
        'the certificate expired on Jan  1 00:00:00 2021 GMT'],
      [dated('early', '20990101000000Z', '21000101000000Z'),
        'the certificate is not valid before Jan  1 00:00:00 2099 GMT'],
      [join(dir, 'ca.pem'), 'a CA certificate, not a terminal\'s'],
      // The depot's own server certificate (serverAuth only): registered, it never connected.
      [join(dir, 'server.pem'),
        'not a client certificate (its extended key usage lacks clientAuth)'],
    ] as const;
    for (const [cert, why] of cases) {
      const refused = shuaka('terminal', 'add', '--db', db, '--id', 'OLD00001', '--cert', cert);
      expect(refused.status, refused.stderr).toBe(1);
      expect(refused.stderr.trim()).toBe(`shuaka depot terminal add: ${why}`);
    }
    expect(shuaka('terminal', 'list', '--db', db).stdout).toBe(before);
    // Within its dates, the same kind of certificate is taken.
    const current = dated('now', '20200101000000Z', '20991231000000Z');
    // With the fleet CA named, one it did not issue is refused (old code: registered, then
    // every handshake refused).
    const foreign = shuaka('terminal', 'add', '--db', db, '--id', 'NOW00001', '--cert', current,
      '--ca', join(dir, 'ca.pem'));
    expect(foreign.status, foreign.stderr).toBe(1);
    expect(foreign.stderr).toMatch(/not issued by the fleet CA \(issuer: CN=now\)/);
    expect(shuaka('terminal', 'add', '--db', db, '--id', 'NOW00001', '--dir', dir, '--ca',
      join(dir, 'ca.pem')).status).toBe(2);
    const added = shuaka('terminal', 'add', '--db', db, '--id', 'NOW00001', '--cert', current);
    expect(added.status, added.stderr).toBe(0);
    // A client certificate the fleet CA issued (openssl, as a vendor's tooling would).
    writeFileSync(join(work, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const args of [['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-keyout', 'fleet.key', '-out', 'fleet.csr', '-subj', '/CN=FLT00001'],
    ['x509', '-req', '-in', 'fleet.csr', '-CA', join(dir, 'ca.pem'), '-CAkey',
      join(dir, 'ca.key'), '-CAcreateserial', '-days', '30', '-extfile', 'client.ext', '-out',
      'fleet.pem']]) {
      const r = spawnSync('openssl', args, { cwd: work, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    const fleetIssued = shuaka('terminal', 'add', '--db', db, '--id', 'FLT00001', '--cert',
      join(work, 'fleet.pem'), '--ca', join(dir, 'ca.pem'));
    expect(fleetIssued.status, fleetIssued.stderr).toBe(0);
  });

  it('init_keepsTheFleetDenyKeyAlreadyThere_andRefusesAnOpenOne', () => {
    const kept = join(temp, 'kept');
    mkdirSync(kept);
    const fleetKey = Buffer.alloc(32, 0x5a);
    writeFileSync(join(kept, 'deny.key'), fleetKey, { mode: 0o600 });
    expect(shuaka('init', '--dir', kept).status).toBe(0);
    expect(readFileSync(join(kept, 'deny.key'))).toEqual(fleetKey);
    const open = join(temp, 'open');
    mkdirSync(open);
    writeFileSync(join(open, 'deny.key'), fleetKey, { mode: 0o644 });
    const refused = shuaka('init', '--dir', open);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/deny key too-open: .*mode 644/);
    expect(existsSync(join(open, 'ca.pem'))).toBe(false);
  });

  it('serve_acceptsTheIssuedTerminal_refusesABusyPort_andStopsOnSigterm', async () => {
    const { child, port } = await serve('--dir', dir, '--db', db, '--port', '0', '--host',
      '127.0.0.1');
    const client = { key: readFileSync(join(temp, 'term', 'SIM00001.key')),
      cert: readFileSync(join(temp, 'term', 'SIM00001.pem')) };
    const ca = readFileSync(join(dir, 'ca.pem'));
    const answer = await call(port, ca, client, 'POST', '/v1/batches',
      JSON.stringify(clearingBatch('SIM00001', 1, 5)));
    expect(answer).toMatchObject({ status: 200, json: { stored: 5 } });
    const busy = shuaka('serve', '--dir', dir, '--db', db, '--port', String(port), '--host',
      '127.0.0.1');
    expect(busy.status).toBe(11);
    expect(busy.stderr).toMatch(/port in use/);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
    // SIGHUP (the session that started it closing) stops it as gracefully (it died, 129).
    const again = await serve('--dir', dir, '--db', db, '--port', '0', '--host', '127.0.0.1');
    again.child.kill('SIGHUP');
    expect(await exitOf(again.child)).toBe(0);
    const report = shuaka('report', '--db', db);
    expect(report.status).toBe(0);
    expect(report.stdout).toMatch(/^day,route_id,terminal_id/);
    expect(report.stdout).toContain('2026-12-02,R12,SIM00001,156,5,1000,');
  });

  it('serve_refusesADamagedSqliteFile_exit10_beforeServing', () => {
    // The served database (5 taps stored above) with its taps table's root page damaged: the
    // file opens and migrates (the schema page is intact), only quick_check reads the page.
    const damaged = join(temp, 'damaged.sqlite');
    copyFileSync(db, damaged);
    const probe = new Database(damaged, { readonly: true });
    const pageSize = Number(probe.pragma('page_size', { simple: true }));
    const root = Number(probe.prepare(
      "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'taps'").pluck().get());
    probe.close();
    expect(root).toBeGreaterThan(1);
    const bytes = readFileSync(damaged);
    bytes.fill(0xff, (root - 1) * pageSize, (root - 1) * pageSize + 8);
    writeFileSync(damaged, bytes);
    const r = shuaka('serve', '--dir', dir, '--db', damaged, '--port', '0', '--host',
      '127.0.0.1');
    expect(r.status, r.stderr).toBe(10);
    expect(r.stderr).toMatch(/database .*damaged\.sqlite is damaged \(SQLite quick_check: .+\)/);
    expect(r.stdout).not.toMatch(/listening/);
    // The intact file still serves (the check passes on a sound database).
    const sound = shuaka('report', '--db', db);
    expect(sound.status).toBe(0);
  });

  it('badFlagsDatabaseOrKeys_exitWithTheDocumentedCodes', () => {
    expect(shuaka('serve', '--dir', dir, '--db', db, '--port', '70000').status).toBe(2);
    expect(shuaka('serve', '--dir', dir, '--db', join(temp, 'no', 'x.sqlite')).status).toBe(10);
    const pg = shuaka('serve', '--dir', dir, '--db', 'postgres://u:secret@127.0.0.1:1/x');
    expect(pg.status).toBe(10);
    expect(pg.stderr).not.toContain('secret');
    expect(shuaka('serve', '--dir', join(temp, 'empty'), '--db', db).status).toBe(12);
    // Key material that does not go together: exit 12 with the files named, before listening
    // (another depot's key crashed it with a stack trace; a damaged ca.pem served and refused
    // every terminal). The other depot is made by the same init.
    const other = join(temp, 'other-depot');
    expect(shuaka('init', '--dir', other).status).toBe(0);
    for (const [file, from, why] of [
      ['server.key', join(other, 'server.key'), /server\.key and .*server\.pem are not a key/],
      ['ca.pem', join(other, 'ca.pem'), /server\.pem was not issued by .*ca\.pem/],
      ['ca.pem', null, /ca\.pem is not a certificate/],
    ] as const) {
      const mixed = join(temp, `mixed-${file}-${from === null ? 'junk' : 'other'}`);
      cpSync(dir, mixed, { recursive: true });
      if (from === null) writeFileSync(join(mixed, file), 'not a certificate\n');
      else copyFileSync(from, join(mixed, file));
      const r = shuaka('serve', '--dir', mixed, '--db', db, '--port', '0', '--host', '127.0.0.1');
      expect(r.status, r.stderr).toBe(12);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(shuaka('report', '--db', join(temp, 'missing.sqlite')).status).toBe(10);
    expect(shuaka('report', '--db', db, '--day', '2026-02-30').status).toBe(2);
    expect(shuaka('report', '--db', db, '--format', 'pdf').status).toBe(2);
    expect(shuaka('nonsense').status).toBe(2);
  });

  it('devZeroNamedAsAKeyCertOrKeyFile_isRefusedAtItsBound', () => {
    // Read with readFileSync: /dev/zero grew without end. (A pipe is still read to its end.)
    const cases: readonly (readonly [readonly string[], number])[] = [
      [['terminal', 'add', '--db', db, '--id', 'ODD1', '--cert', '/dev/zero'], 1],
      [['report', '--db', db, '--tac-keys', '/dev/zero'], 1],
      [['publish', '--db', db, '--dir', dir, '--base', dir, '--key', '/dev/zero'], 12],
    ];
    for (const [args, code] of cases) {
      const started = Date.now();
      const run = shuaka(...args);
      expect(run.status, args.join(' ')).toBe(code);
      expect(run.stderr, args.join(' ')).toMatch(/EFBIG: larger than [0-9]+ bytes/);
      expect(Date.now() - started, args.join(' ')).toBeLessThan(20_000);
    }
  });

  it('usageErrors_nameWhatIsWrong_beforeTheUsage', () => {
    const cases: [string[], string][] = [
      [['serve', '--dir', dir, '--db', db, '--port', '70000'],
        "shuaka depot serve: --port must be an integer in 0..65535, got '70000'"],
      [['serve', '--db', db], 'shuaka depot serve: --dir DIR is required'],
      [['report', '--db', db, '--format', 'pdf'],
        "shuaka depot report: --format must be csv, html or text, got 'pdf'"],
      [['report', '--db', db, 'extra'], "shuaka depot report: unexpected argument 'extra'"],
      [['tap', 'void', '--db', db, '--id', 'abc'],
        "shuaka depot tap: --id must be a tap id (an integer from 1), got 'abc'"],
      [['tap', 'frob'], "shuaka depot tap: unknown command 'frob' (void)"],
      [['debt'], 'shuaka depot debt: a command is required (list, repay)'],
      [['debt', 'repay', '--db', db, '--pan-token', 'zz'],
        'shuaka depot debt: --pan-token must be 64 lower-case hex digits'],
      [['ingest', '--db', db, '--dir', dir, 'file'], 'shuaka depot ingest: --terminal is required'],
      [['ingest', '--db', db, '--dir', dir, '--terminal', 'T1'],
        'shuaka depot ingest: FILE missing'],
      [['publish', '--db', db, '--dir', dir], 'shuaka depot publish: --base is required'],
      [['init'], 'shuaka depot init: --dir is required'],
      [['terminal', 'frob'], "shuaka depot terminal: unknown command 'frob' (add, revoke, list)"],
      [['terminal', 'add', '--db', db, '--id', 'A1'], 'shuaka depot terminal add: give one of '
        + '--cert FILE (a certificate made elsewhere) or --dir DIR (issue one)'],
      [['terminal', 'revoke', '--db', db], 'shuaka depot terminal revoke: --id is required'],
      [['settle', '--db', db], 'shuaka depot settle: --dir is required'],
      [['settle', '--db', db, '--dir', dir, '--acquirer', 'nope'],
        "shuaka depot settle: --acquirer must be HOST:PORT, got 'nope'"],
      [['settle', '--db', db, '--dir', dir, '--acquirer', 'h:1', '--loop', '0'],
        "shuaka depot settle: --loop must be an integer in 1..86400, got '0'"],
    ];
    for (const [argv, why] of cases) {
      const run = shuaka(...argv);
      expect(run.status, argv.join(' ')).toBe(2);
      expect(run.stderr.split('\n')[0], argv.join(' ')).toBe(why);
    }
    // Help is the answer, not an error: `terminal --help` said "unknown command '--help'".
    for (const command of ['init', 'serve', 'terminal', 'ingest', 'report', 'settle', 'debt',
      'tap', 'publish']) {
      for (const help of ['--help', '-h']) {
        const run = shuaka(command, help);
        expect(run.status, `${command} ${help}`).toBe(0);
        expect(run.stdout, `${command} ${help}`).toMatch(/^usage/);
        // No "shuaka depot terminal: why" line before the usage.
        expect(run.stdout + run.stderr, `${command} ${help}`).not.toMatch(/^shuaka depot /m);
      }
    }
    const sim = spawnSync('node', [BIN, 'acquirer-sim', '--mix', 'nope'],
      { encoding: 'utf8', cwd: ROOT });
    expect(sim.status).toBe(2);
    expect(sim.stderr.split('\n')[0]).toBe(
      "shuaka acquirer-sim: --mix must be one of default, realistic, sm, got 'nope'");
  });
});
