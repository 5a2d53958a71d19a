// `npm run bench`: every benchmark suite in one process; `--only NAME` runs one suite.

import { runCodecBench } from './codec_bench.js';
import { runOdaBench } from './oda_bench.js';
import { runPn532Bench } from './pn532_frame_bench.js';
import { runQpbocBench } from './qpboc_bench.js';

const SUITES: Record<string, () => Promise<void>> = {
  codec: runCodecBench,
  oda: runOdaBench,
  pn532: runPn532Bench,
  qpboc: runQpbocBench,
};

async function main(): Promise<void> {
  const onlyIndex = process.argv.indexOf('--only');
  const only = onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined;
  if (only !== undefined && !(only in SUITES)) {
    console.error(`unknown suite ${only}; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  console.log(
    `shuaka benchmarks on node ${process.version} (${process.arch}); ` +
      'absolute times drift between runs: compare the ratios',
  );
  for (const [name, run] of Object.entries(SUITES)) {
    if (only !== undefined && name !== only) continue;
    await run();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
