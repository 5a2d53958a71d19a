// `npm run bench`: every benchmark suite in one process; the options are `shuaka bench`'s.

import { runBenchCommand } from './bench_cli.js';

const io = {
  out: (text: string): void => {
    process.stdout.write(`${text}\n`);
  },
  err: (text: string): void => {
    process.stderr.write(`${text}\n`);
  },
};

runBenchCommand(process.argv.slice(2), io)
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exitCode = 1;
  });
