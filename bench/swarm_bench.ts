// Swarm speed: simulated taps per CPU second of `shuaka swarm` (issue 11 asks for >= 2,000 on
// one core). Six seeds of 200 taps each under their own fault mixes, every fault on; CPU time
// (user + system) is the figure, since wall time on a shared machine measures the neighbours.

import { loadavg } from 'node:os';

import { describeMix } from '../host-sim/src/swarm/swarm_mix.js';
import { SWARM_CHECKS, SWARM_FAULTS } from '../host-sim/src/swarm/swarm_options.js';
import { runSwarm } from '../host-sim/src/swarm/swarm_run.js';
import { readerPathUsPerCommand } from './swarm_reader_path.js';

/** Seeds measured (the first one also warms the JIT, so it is run twice). */
export const SWARM_BENCH_SEEDS = [1, 2, 3, 4, 5, 6] as const;
export const SWARM_BENCH_TAPS = 200;

/** Prints one row per seed and the total. */
export async function runSwarmBench(): Promise<void> {
  const load = loadavg()[0] ?? 0;
  console.log(`\nswarm (${SWARM_BENCH_TAPS} taps per seed, all faults; load ${load.toFixed(1)})`);
  console.log('  seed   taps  reboots  simulated s   CPU s   taps/s CPU   faults');
  // 'no-pan' fails on main until PAN encryption lands; a violation would end a run early.
  const checks = SWARM_CHECKS.filter((c) => c !== 'no-pan');
  const options = (seed: number) => ({
    seed,
    taps: SWARM_BENCH_TAPS,
    faults: SWARM_FAULTS,
    checks,
    quietTaps: 4,
  });
  await runSwarm(options(SWARM_BENCH_SEEDS[0]));
  let taps = 0;
  let cpuMs = 0;
  for (const seed of SWARM_BENCH_SEEDS) {
    const r = await runSwarm(options(seed));
    taps += r.stats.taps;
    cpuMs += r.cpuMs;
    const rate = r.stats.taps / (r.cpuMs / 1000);
    const cells = [
      String(seed).padStart(4),
      String(r.stats.taps).padStart(6),
      String(r.stats.reboots).padStart(8),
      (r.stats.simulatedMs / 1000).toFixed(0).padStart(12),
      (r.cpuMs / 1000).toFixed(2).padStart(7),
      rate.toFixed(0).padStart(12),
    ];
    const stopped = r.violations.length > 0 ? ' (stopped at a violation)' : '';
    console.log(`  ${cells.join(' ')}   ${describeMix(r.mix)}${stopped}`);
  }
  const total = taps / (cpuMs / 1000);
  console.log(
    `  all  ${String(taps).padStart(6)} taps in ${(cpuMs / 1000).toFixed(2)} CPU s: ` +
      `${total.toFixed(0)} taps/s CPU (target 2000)`,
  );
  const perCommand = await readerPathUsPerCommand(1000);
  console.log(
    `  reader path (driver, line twin, PN532 emulator, a replayed card): ` +
      `${perCommand.toFixed(1)} µs CPU per command, ~29 commands a swarm tap`,
  );
}
