// The shipped artefact: `npm pack`, installed with --omit=dev into an empty directory, run as a
// vendor would run it (the installed bin, then npx from the tarball).
//
// Truths: the tarball's own file list (tar), the repository's package.json and build/
// kernel.wasm hashed by node:crypto, and the CLI's exit codes and output.
//
// Install scripts are skipped (--ignore-scripts): better-sqlite3 (the depot's database) has no
// prebuilt binary reachable here and compiles SQLite for minutes; the validator's own native
// module (serialport) ships its prebuilt binaries inside the package and is loaded below.

import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../../assembly/test/support/codec_vectors.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import { childOf, type Child } from './package_install_child.js';

const NPM_TIMEOUT_MS = 240_000;
const PKG = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
/** Every command `shuaka --help` must list (issue 16; bench stays in the source checkout). */
const COMMANDS = [
  'sim', 'swarm', 'run', 'replay', 'inspect', 'params', 'journal', 'depot', 'acquirer-sim', 'emu',
];

const VECTORS = join(REPO_ROOT, '..', 'shared', 'vectors', 'unionpay_capk.json');
let dir = '';
let tarball = '';
let shuaka = '';

/** npm with its own quiet flags; throws with npm's output on failure. */
function npm(args: readonly string[], cwd: string): string {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    timeout: NPM_TIMEOUT_MS,
    env: { ...process.env, npm_config_ignore_scripts: 'true', npm_config_update_notifier: 'false' },
  });
}

/** Runs the installed `shuaka` (a real process) in `cwd`. */
function run(args: readonly string[], cwd = dir): SpawnSyncReturns<string> {
  return spawnSync(shuaka, [...args], { cwd, encoding: 'utf8', timeout: 60_000 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-pack-'));
  // prepack (the build) already ran for this test run: the tests use the same dist/ and build/.
  const packed = JSON.parse(
    npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], REPO_ROOT),
  ) as { filename: string }[];
  tarball = join(dir, packed[0]?.filename ?? '');
  const app = join(dir, 'app');
  mkdirSync(app);
  npm(['install', '--omit=dev', '--prefer-offline', tarball], app);
  shuaka = join(app, 'node_modules', '.bin', 'shuaka');
}, NPM_TIMEOUT_MS * 2);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('pack_tarball_holdsTheBuiltKernelAndDist_noTestsNoSources', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '');
    for (const needed of [
      'package/bin/shuaka.js',
      'package/build/kernel.wasm',
      'package/build/component/kernel.js',
      'package/dist/firmware/src/cli/shuaka_cli.js',
      'package/dist/assembly/host/kernel_loader.js',
      'package/dist/assembly/host/kernel_loader.d.ts',
      'package/dist/host-sim/src/emu/emu_cli.js',
      'package/package.json',
    ]) {
      expect(files).toContain(needed);
    }
    for (const file of files) {
      expect(file).not.toMatch(/\.test\.|\/test\/|^package\/assembly\/src\/|\.ts$(?<!\.d\.ts)/);
      expect(file).not.toMatch(/^package\/dist\/bench\//);
    }
  });

  it('install_omitDev_hasNoDevDependencies_andLoadsTheSerialBinding', () => {
    const modules = join(dir, 'app', 'node_modules');
    for (const dev of ['typescript', 'assemblyscript', 'vitest', '@bytecodealliance/jco']) {
      expect(existsSync(join(modules, dev)), dev).toBe(false);
    }
    const probe = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "await import('serialport'); console.log('serialport ok')"],
      { cwd: join(dir, 'app'), encoding: 'utf8' },
    );
    expect(probe.stdout + probe.stderr).toContain('serialport ok');
  });

  it('embedding_importShuaka_runsTheKernel_againstNodeCrypto', () => {
    // The package's exports as an embedder uses them: the loader finds build/kernel.wasm
    // inside the installed package, whatever the working directory.
    const script = [
      "const { loadKernel } = await import('shuaka');",
      "const { KernelOp } = await import('shuaka/abi');",
      'const kernel = await loadKernel();',
      "const status = kernel.step(KernelOp.OP_SHA1, 0, new TextEncoder().encode('abc'));",
      "console.log(status, Buffer.from(kernel.output()).toString('hex'));",
    ].join('\n');
    const probe = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: join(dir, 'app'),
      encoding: 'utf8',
    });
    const sha1 = createHash('sha1').update('abc').digest('hex');
    expect(probe.stdout, probe.stderr).toBe(`0 ${sha1}\n`);
    for (const types of ['kernel_loader.d.ts', 'qpboc_session.d.ts', 'abi.gen.d.ts']) {
      const path = join(dir, 'app', 'node_modules', 'shuaka', 'dist', 'assembly', 'host', types);
      expect(existsSync(path), types).toBe(true);
    }
  });

  it('installedBin_help_listsEveryCommand', () => {
    const help = run(['--help']);
    expect(help.status, help.stderr).toBe(0);
    const listed = help.stdout
      .split('\n')
      .map((line) => /^ {2}([a-z-]+) /.exec(line)?.[1])
      .filter((name) => name !== undefined);
    for (const name of COMMANDS) expect(listed).toContain(name);
    expect(listed).not.toContain('bench');
  });

  it('installedBin_version_printsPackageVersionAndKernelSha256', () => {
    const version = run(['--version']);
    expect(version.status, version.stderr).toBe(0);
    const kernel = readFileSync(join(REPO_ROOT, 'build', 'kernel.wasm'));
    const sha256 = createHash('sha256').update(kernel).digest('hex');
    expect(version.stdout).toBe(
      `shuaka ${PKG.version}\nkernel sha256 ${sha256} (build/kernel.wasm)\n`,
    );
  });

  it('installedBin_bench_isNotInThePackage_saysWhereItIs', () => {
    const bench = run(['bench']);
    expect(bench.status).toBe(2);
    expect(bench.stderr).toContain('npm run bench');
  });

  it('npx_fromTheTarball_help', () => {
    const npx = spawnSync('npx', ['--yes', `--package=${tarball}`, 'shuaka', '--help'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: NPM_TIMEOUT_MS,
      env: { ...process.env, npm_config_ignore_scripts: 'true', npm_config_prefer_offline: 'true' },
    });
    expect(npx.status, npx.stderr).toBe(0);
    for (const name of COMMANDS) expect(npx.stdout).toContain(`  ${name} `);
  }, NPM_TIMEOUT_MS);
});

describe('bring-up from the installed package', () => {
  it('paramsInit_sign_verify_startsFromTheStarterSet_withTheVectorsCaKeys', () => {
    const work = join(dir, 'bringup');
    mkdirSync(work);
    const init = run(['params', 'init', 'params'], work);
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toContain('shuaka params sign --key params.key.pem params');
    expect(run(['params', 'init', 'params'], work).status, 'never overwrites').toBe(1);
    // The starter CA keys against the UnionPay key vectors (read at run time): same moduli
    // and the check values the vectors computed independently.
    const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
      keys: { index: string; modulus: string; sha1_over_rid_index_modulus_exponent: string }[];
    };
    const capk = readFileSync(join(work, 'params', 'capk.txt'), 'utf8');
    const lines = capk.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toHaveLength(4);
    for (const index of ['08', '09', '0A', '0B']) {
      const key = vectors.keys.find((k) => k.index.toUpperCase() === index);
      expect(key, index).toBeDefined();
      const line = lines.find((l) => l.includes(key?.modulus.toUpperCase() ?? '?'));
      expect(line, index).toBeDefined();
      expect(line).toContain(`DF0314${key?.sha1_over_rid_index_modulus_exponent.toUpperCase()}`);
    }
    expect(run(['params', 'keygen', '--out', 'params'], work).status).toBe(0);
    const sign = run(['params', 'sign', '--key', 'params.key.pem', 'params'], work);
    expect(sign.status, sign.stderr).toBe(0);
    const verify = run(['params', 'verify', '--pub', 'params.pub.pem', 'params'], work);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toContain('CA keys: A000000333/08 A000000333/09 A000000333/0A');
    expect(verify.stdout).toContain('deny list: 0 tokens');
    // The fleet's deny key made beside the set (mode 600); the empty list is bound to it.
    expect(statSync(join(work, 'deny.key')).mode & 0o777).toBe(0o600);
    const bound = run(['params', 'verify', '--pub', 'params.pub.pem', '--deny-key', 'deny.key',
      'params'], work);
    expect(bound.status, bound.stderr).toBe(0);
    expect(bound.stdout).toContain('(matches --deny-key)');
    const noParams = run(['run', '--port', 'pn532_uart:/dev/null', '--params', 'none'], work);
    expect(noParams.status).toBe(1);
    expect(noParams.stderr).toContain('shuaka params init none');
  });

  it('run_againstEmu_onAPty_completesATap', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run against shuaka emu')) return;
    const work = join(dir, 'bringup');
    const capk = run(['emu', '--print-capk']);
    expect(capk.status, capk.stderr).toBe(0);
    appendFileSync(join(work, 'params', 'capk.txt'), capk.stdout);
    expect(run(['params', 'sign', '--key', 'params.key.pem', 'params'], work).status).toBe(0);
    const emu = childOf(spawn(shuaka, ['emu', '--dir', join(work, 'emu')], { cwd: work }));
    let runner: Child | null = null;
    try {
      const ready = await emu.line(/^pn532 (\S+) \(libnfc: (pn532_uart:\S+)\)$/);
      runner = childOf(spawn(shuaka, [
        'run', '--port', ready[2] ?? '', '--params', 'params', '--params-pub', 'params.pub.pem',
        '--journal', 'journal', '--deny-key', 'deny.key', '--max-taps', '2',
        '--sysfs-root', 'no-sys',
      ], { cwd: work }));
      await runner.line(/"event":"start"/);
      // An RSA card, then an SM2 (国密) one: --print-capk gave the set both CA keys.
      const pans: string[] = [];
      for (const card of ['unionpay-debit-ec', 'sm-ec']) {
        emu.write(`on ${card}`);
        // line() finds the first match seen or to come: a tap of a card not seen before.
        const others = pans.map((p) => `(?!${p.replaceAll('*', '\\*')}")`).join('');
        const tapLine = (await runner.line(new RegExp(`"event":"tap".*"pan":"${others}`))).input;
        const tap = JSON.parse(tapLine) as Record<string, unknown>;
        pans.push(String(tap['pan']));
        expect(tap['result'], card).toBe('approved');
        expect(tap['amountMinor'], card).toBe(200);
        // The validator waits for the card to leave before it counts the tap done.
        emu.write('off');
      }
      expect(await runner.exit()).toBe(0);
      emu.write('quit');
      expect(await emu.exit()).toBe(0);
    } finally {
      runner?.kill();
      emu.kill();
    }
  }, 120_000);
});
