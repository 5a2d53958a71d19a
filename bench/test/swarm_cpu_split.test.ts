// The swarm's CPU split on work whose owner is known: a busy loop in production code (the
// journal's CRC-32) is production, one in a simulation twin (the PSAM twin's 3DES) is
// simulation.
// Sampled by V8's own profiler, so the truth is where the time was really spent.

import { describe, expect, it } from 'vitest';

import { crc32Ieee } from '../../firmware/src/app/journal/crc32_ieee.js';
import { des3EncryptBlock } from '../../host-sim/src/psam/pboc_epurse_crypto.js';
import { swarmCpuSplit } from '../swarm_cpu_split.js';

/** Spins `step` for `ms` of wall time (yielding once, so the profiler's session runs). */
async function spin(ms: number, step: () => void): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  const end = performance.now() + ms;
  while (performance.now() < end) for (let i = 0; i < 100; i += 1) step();
}

describe('swarmCpuSplit', () => {
  it('counts a loop in the firmware as production', async () => {
    const bytes = new Uint8Array(4096).fill(0x5a);
    let sink = 0;
    const split = await swarmCpuSplit(() => spin(300, () => {
      sink ^= crc32Ieee(bytes);
    }));
    expect(sink).not.toBeNaN();
    expect(split.production).toBeGreaterThan(0.6);
    expect(split.simulation).toBeLessThan(0.2);
  });

  it('counts a loop in a simulation twin as simulation', async () => {
    const key = new Uint8Array(16).fill(0x11);
    const block = new Uint8Array(8).fill(0x22);
    let sink = 0;
    const split = await swarmCpuSplit(() => spin(300, () => {
      sink += des3EncryptBlock(key, block)[0] ?? 0;
    }));
    expect(sink).toBeGreaterThan(0);
    expect(split.simulation).toBeGreaterThan(0.6);
    expect(split.production).toBeLessThan(0.2);
  });
});
