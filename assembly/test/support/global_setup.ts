// Vitest global setup: make sure the kernel build is current before any test loads it.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './codec_vectors.js';

export default function setup(): void {
  // A developer editing the kernel while running other suites can keep the last good build.
  if (process.env['SHUAKA_SKIP_KERNEL_BUILD'] === '1' && process.env['CI'] !== 'true') return;
  execFileSync(process.execPath, [join(REPO_ROOT, 'assembly', 'tools', 'build_kernel.mjs')], {
    stdio: 'inherit',
  });
}
