// `shuaka depot ... --db postgres://...` as a real process: when the database cannot be
// reached, the error names the URL but never a password, wherever the PostgreSQL driver
// would take one from (user info with `@` or `/` in it, `password=` or `sslpassword=`).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');

/** Port 1 on loopback: nothing listens, so the connection is refused at once. */
const CLOSED = '127.0.0.1:1';

const CASES: readonly { url: string; secret: string; shown: string }[] = [
  { url: `postgres://ops:Hunter2x@${CLOSED}/depot`, secret: 'Hunter2x',
    shown: `postgres://ops:***@${CLOSED}/depot` },
  { url: `postgres://ops:Hun@ter2x@${CLOSED}/depot`, secret: 'ter2x',
    shown: `postgres://ops:***@${CLOSED}/depot` },
  { url: `postgres://ops:Hun/ter2x@${CLOSED}/depot`, secret: 'ter2x',
    shown: `postgres://ops:***@${CLOSED}/depot` },
  { url: `postgres://ops@${CLOSED}/depot?password=Hunter2x&sslmode=disable`, secret: 'Hunter2x',
    shown: `postgres://ops@${CLOSED}/depot?password=***&sslmode=disable` },
  { url: `postgresql://ops@${CLOSED}/depot?sslmode=disable&sslpassword=Hunter2x`,
    secret: 'Hunter2x',
    shown: `postgresql://ops@${CLOSED}/depot?sslmode=disable&sslpassword=***` },
];

describe('shuaka depot --db postgres://... unreachable (process)', () => {
  it.each(CASES)('error names $shown, no password', ({ url, secret, shown }) => {
    const r = spawnSync('node', [BIN, 'depot', 'terminal', 'list', '--db', url],
      { encoding: 'utf8', cwd: ROOT });
    expect(r.status).toBe(10);
    expect(r.stderr).toContain(`database ${shown}:`);
    expect(r.stdout + r.stderr).not.toContain(secret);
  });
});
