// The refusal of a batch, with the field that caused it and a PAN-free reason.

/**
 * Why a batch is refused: `bad-batch` (400, `path` names the field, e.g. `records[3].atc`),
 * `terminal-mismatch` (403: a terminalId that is not the certificate's) or `seq-conflict`
 * (409: a seq the depot holds as another record, seq_conflict.ts). `reason` never holds a PAN:
 * digit and hex runs are cut out.
 */
export class BatchError extends Error {
  readonly reason: string;

  constructor(
    readonly code: 'bad-batch' | 'terminal-mismatch' | 'seq-conflict',
    readonly path: string,
    reason: string,
  ) {
    super(`${path === '' ? '' : `${path}: `}${redact(reason)}`);
    this.name = 'BatchError';
    this.reason = redact(reason);
  }
}

/**
 * Removes any run of 8+ digits or hex (a PAN, track data, ICC data) from a message, but for a
 * bound of a range the message states (`0..4294967295`): decimal, touching `..`, and shorter
 * than any PAN (12 digits), so that a line's value written like one is still blanked.
 */
export function redact(text: string): string {
  return text.replace(/[0-9A-Fa-f]{8,}/g, (run, at: number) => {
    const touches = text.slice(at - 2, at) === '..' || text.startsWith('..', at + run.length);
    return touches && /^[0-9]{8,11}$/.test(run) ? run : '[redacted]';
  });
}


/**
 * Throws BatchError (bad-batch) at `path.key` unless `line` has exactly `keys`: a missing one
 * first, then an unexpected one.
 */
export function batchKeysExact(line: Readonly<Record<string, unknown>>, keys: readonly string[],
  path: string): void {
  for (const key of keys)
    if (!Object.prototype.hasOwnProperty.call(line, key))
      throw new BatchError('bad-batch', `${path}.${key}`, 'missing');
  for (const key of Object.keys(line))
    if (!keys.includes(key))
      throw new BatchError('bad-batch', `${path}.${key}`, 'unexpected field');
}
