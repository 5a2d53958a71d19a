// Builds the kernel: release + debug core modules (asc), the component (jco), its JS (transpile).
//
// Skips the work when the sources, the WIT and the config are unchanged since the last build
// (a content hash in build/.kernel_stamp), so `npm test` and the CLI can always call it.

import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const buildDir = join(root, 'build');
const witPath = join(root, 'assembly', 'wit', 'kernel.wit');
/** performance.md: the kernel binary is at most 64 KiB; a bigger one fails the build. */
const KERNEL_BYTES_MAX = 64 * 1024;

async function listSources(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listSources(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out.sort();
}

async function sourceHash() {
  const hash = createHash('sha256');
  const files = [
    ...(await listSources(join(root, 'assembly', 'src'))),
    witPath,
    join(root, 'asconfig.json'),
    join(root, 'assembly', 'tools', 'build_kernel.mjs'),
  ];
  for (const file of files) {
    hash.update(relative(root, file));
    hash.update(await readFile(file));
  }
  return hash.digest('hex');
}

async function compile(target) {
  const asc = (await import('assemblyscript/asc')).default;
  const { error, stderr } = await asc.main(['--config', 'asconfig.json', '--target', target], {
    stdout: process.stdout,
    stderr: process.stderr,
  });
  if (error) {
    process.stderr.write(stderr.toString());
    throw new Error(`asc ${target} failed: ${error.message}`);
  }
}

async function buildComponent() {
  const jco = await import('@bytecodealliance/jco');
  const core = await readFile(join(buildDir, 'kernel.wasm'));
  const witSource = await readFile(witPath, 'utf8');
  // The `jco embed --wit` CLI panics in 1.35 (toolchain.md): embed through the JS API instead.
  const embedded = await jco.componentEmbed({ binary: core, witSource, stringEncoding: 'utf8' });
  const component = await jco.componentNew(embedded, []);
  await writeFile(join(buildDir, 'kernel.component.wasm'), component);
  const { files } = await jco.transpile(component, {
    name: 'kernel',
    base64Cutoff: 0,
    instantiation: { tag: 'sync' },
  });
  const outDir = join(buildDir, 'component');
  await rm(outDir, { recursive: true, force: true });
  for (const [name, bytes] of Object.entries(files)) {
    const path = join(outDir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  }
}

async function main() {
  process.chdir(root);
  await mkdir(buildDir, { recursive: true });
  const stampPath = join(buildDir, '.kernel_stamp');
  const hash = await sourceHash();
  const previous = await readFile(stampPath, 'utf8').catch(() => '');
  if (previous === hash && !process.argv.includes('--force')) {
    console.log('kernel: up to date');
    return;
  }
  await compile('release');
  await compile('debug');
  await buildComponent();
  const size = (await readFile(join(buildDir, 'kernel.wasm'))).length;
  if (size > KERNEL_BYTES_MAX) {
    // No stamp: the next build tries again instead of trusting an oversized kernel.
    await rm(stampPath, { force: true });
    throw new Error(`kernel: build/kernel.wasm is ${size} bytes, over ${KERNEL_BYTES_MAX}`);
  }
  const free = KERNEL_BYTES_MAX - size;
  await writeFile(stampPath, hash);
  console.log(`kernel: built build/kernel.wasm (${size} bytes, ${free} free) and the component`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
