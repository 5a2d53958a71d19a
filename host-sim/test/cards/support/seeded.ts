// Test-only helper: every randomised test names its seed, and a failure prints it.

/** Runs `body(seed)` and, on failure, rethrows with the seed in the message. */
export function withSeed<T>(seed: number, body: (seed: number) => T): T {
  try {
    return body(seed);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const wrapped = new Error(`[seed=${seed}] ${message}`);
    if (err instanceof Error && err.stack !== undefined) {
      wrapped.stack = `[seed=${seed}] ${err.stack}`;
    }
    throw wrapped;
  }
}

/** Seeds a test file uses: fixed ones plus SHUAKA_SEED from the environment when given. */
export function testSeeds(fixed: readonly number[]): number[] {
  const extra = process.env['SHUAKA_SEED'];
  return extra === undefined ? [...fixed] : [...fixed, Number.parseInt(extra, 10)];
}
