// A throwaway PostgreSQL cluster for tests and benches: initdb in a temp dir, its own port on
// loopback, its unix socket dir inside the temp dir, removed by stop(). PostgreSQL refuses to
// run as root, so under root (CI) the server runs as the `postgres` account (or `nobody`).

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** A running scratch cluster. */
export interface PostgresScratch {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  /** Stops the server, keeping its data (fast shutdown: connections are cut). */
  halt(): void;
  /** Starts it again on the same port and data. */
  resume(): void;
  /** Stops the server and deletes its directory. Safe to call twice. */
  stop(): void;
}

/** The folder holding initdb/pg_ctl, or null when PostgreSQL is not installed. */
export function postgresBinDir(): string | null {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates: string[] = [];
  if (fromConfig.status === 0) candidates.push(fromConfig.stdout.trim());
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(root, v, 'bin')));
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb'))) ?? null;
}

/**
 * True when the tests that need PostgreSQL must run: it is installed, or CI=true (then a
 * missing server is a failure from startPostgresScratch, never a skip).
 */
export function postgresRequired(): boolean {
  return postgresBinDir() !== null || process.env['CI'] === 'true';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The account the server runs as: ourselves, or under root `postgres` / `nobody`. */
function serverAccount(): { name: string; uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  for (const name of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (id.status === 0 && gid.status === 0)
      return { name, uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('running as root and no postgres or nobody account to run PostgreSQL as');
}

/**
 * Creates and starts a cluster. Throws (with initdb's or pg_ctl's output) when PostgreSQL is
 * missing or does not start. Tests run it with fsync=off; `durable` keeps PostgreSQL's
 * default (fsync on), for benchmarks whose figures must include the commit's flush.
 * `settings` are further server settings (`-c name=value`), e.g. a benchmark's memory.
 */
export async function startPostgresScratch(
  options: { durable?: boolean; settings?: Readonly<Record<string, string>> } = {},
): Promise<PostgresScratch> {
  const bin = postgresBinDir();
  if (bin === null)
    throw new Error('PostgreSQL is not installed (no initdb in pg_config --bindir or '
      + '/usr/lib/postgresql/*/bin); run .ci/setup');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-pg-'));
  const account = serverAccount();
  if (account !== null) {
    chownSync(dir, account.uid, account.gid);
    // The account must reach its dir through the temp root (mkdtemp makes it 0700).
    chmodSync(dir, 0o700);
  }
  const data = join(dir, 'data');
  const as = (tool: string, args: string[]): void => {
    const command = account === null ? [join(bin, tool), ...args]
      : ['runuser', '-u', account.name, '--', join(bin, tool), ...args];
    const [file, ...rest] = command as [string, ...string[]];
    execFileSync(file, rest, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  };
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`
    + (options.durable === true ? '' : ' -c fsync=off')
    + Object.entries(options.settings ?? {}).map(([name, value]) => ` -c ${name}=${value}`)
      .join('');
  const start = (): void => as('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'log'),
    '-o', serverOptions, 'start']);
  let running = false;
  try {
    as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    start();
    running = true;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const halt = (): void => {
    if (!running) return;
    as('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']);
    running = false;
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    halt,
    resume: () => {
      if (running) return;
      start();
      running = true;
    },
    stop: () => {
      if (!existsSync(dir)) return;
      try {
        halt();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A fresh database on `scratch` for one test (CREATE DATABASE), so tests sharing a cluster
 * do not see each other's rows. Resolves with its URL.
 */
export async function createScratchDatabase(
  scratch: PostgresScratch,
  name: string,
): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new RangeError(`bad database name ${name}`);
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  return `postgres://postgres@127.0.0.1:${scratch.port}/${name}`;
}

/** One database engine of the depot's, for a test: `target(label)` makes a fresh database. */
export interface DepotEngine {
  readonly name: 'sqlite' | 'postgres';
  /** A SQLite file path or a PostgreSQL URL of a database new to this label. */
  target(label: string): Promise<string>;
}

/** The engines a depot test runs on, and the one scratch server they share. */
export interface DepotEngines {
  /** SQLite (files in the test's directory), then PostgreSQL when `postgresRequired()`. */
  readonly list: readonly DepotEngine[];
  /** The file's scratch server, started on first use (also for tests of their own). */
  scratch(): Promise<PostgresScratch>;
  /** Stops the scratch server if one started. */
  stop(): void;
}

/** The depot's engines for a test file whose SQLite databases go in `sqliteDir`. */
export function depotEngines(sqliteDir: string): DepotEngines {
  let server: PostgresScratch | null = null;
  const scratch = async (): Promise<PostgresScratch> => {
    server ??= await startPostgresScratch();
    return server;
  };
  const sqlite: DepotEngine = {
    name: 'sqlite',
    target: (label) => Promise.resolve(join(sqliteDir, `${label}.sqlite`)),
  };
  const postgres: DepotEngine = {
    name: 'postgres',
    target: async (label) => createScratchDatabase(await scratch(), label),
  };
  return {
    list: postgresRequired() ? [sqlite, postgres] : [sqlite],
    scratch,
    stop: () => server?.stop(),
  };
}
