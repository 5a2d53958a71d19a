// `shuaka depot report --out FILE` as a real process: an --out that names what the report
// reads (the SQLite database, a link to it, the --tac-keys file, a day file of the gate
// ledger) is refused with exit 2 and leaves that file byte for byte as it was; the database
// still opens afterwards. An --out elsewhere is written as before.

import { spawnSync } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openDepotDb } from '../../src/store/open_depot_db.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');

function depot(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync('node', [BIN, 'depot', ...args], { encoding: 'utf8', cwd: ROOT });
}

describe('shuaka depot report --out (process)', () => {
  let temp = '';
  let db = '';
  let keys = '';
  let ledger = '';
  let day = '';

  beforeAll(async () => {
    temp = mkdtempSync(join(tmpdir(), 'shuaka-report-out-'));
    db = join(temp, 'depot.sqlite');
    await (await openDepotDb(db, Date.UTC(2026, 11, 1))).close();
    keys = join(temp, 'tac-keys.json');
    writeFileSync(keys, JSON.stringify({ '0000000000000000': '00'.repeat(16) }));
    ledger = join(temp, 'ledger');
    mkdirSync(ledger);
    day = join(ledger, 'gate-2026-12-01.log');
    writeFileSync(day, 'not a report\n');
    symlinkSync(db, join(temp, 'link.sqlite'));
  });

  afterAll(() => rmSync(temp, { recursive: true, force: true }));

  const refused = (target: string, extra: readonly string[], reason: string): void => {
    const before = readFileSync(target);
    const r = depot('report', ...extra, '--out', target.replace(temp, join(temp, '.')));
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('not written');
    expect(r.stderr).toContain(reason);
    expect(readFileSync(target).equals(before)).toBe(true);
  };

  it('refuses the database itself, by any spelling or link, and the database still opens', () => {
    refused(db, ['--db', db], 'is the depot database');
    const viaLink = depot('report', '--db', db, '--out', join(temp, 'link.sqlite'));
    expect(viaLink.status).toBe(2);
    expect(viaLink.stderr).toContain('is the depot database');
    const list = depot('terminal', 'list', '--db', db);
    expect(list.status, list.stderr).toBe(0);
  });

  it('refuses a companion (-wal, -shm, -journal) that does not exist yet, also via a link', () => {
    for (const suffix of ['-wal', '-shm', '-journal']) {
      for (const out of [`${db}${suffix}`, join(temp, '.', `depot.sqlite${suffix}`),
        join(temp, `link.sqlite${suffix}`)]) {
        expect(existsSync(`${db}${suffix}`), `${db}${suffix} left by an earlier command`)
          .toBe(false);
        const r = depot('report', '--db', join(temp, 'link.sqlite'), '--out', out);
        expect(r.status, `${out}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain('is the depot database');
        expect(existsSync(out)).toBe(false);
      }
    }
  });

  it('refuses the --tac-keys file', () => {
    refused(keys, ['--db', db, '--format', 'text', '--section', 'tunion', '--tac-keys', keys],
      'is the --tac-keys file');
  });

  it('refuses a day file of the gate ledger it reads', () => {
    refused(day, ['--gate-ledger', ledger], 'is a day file of the gate ledger');
  });

  it('writes an --out elsewhere, also a new file beside the database', () => {
    const out = join(temp, 'settlement.csv');
    const r = depot('report', '--db', db, '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toMatch(/^day,route_id,terminal_id,/);
  });
});
