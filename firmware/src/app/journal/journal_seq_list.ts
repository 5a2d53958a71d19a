// Compact ascending list of record seqs (the final records), kept as arithmetic runs.

/** Numbers per run: first seq, step between seqs, count, seqs held before the run. */
const RUN_FIELDS = 4;

/**
 * Seqs appended in ascending order, kept as runs of equally spaced seqs (first, step, count):
 * a validator's finals alternate with their pendings (seq 2, 4, 6, ...), so 10^6 finals are
 * a few thousand runs instead of 4 MB (a Uint32Array of every seq) or a Set's ~30 bytes per
 * entry: `journal verify` and `export` hold every unacknowledged final of the journal. Lookups
 * are binary searches over the runs.
 */
export class SeqList {
  /** RUN_FIELDS numbers per run; grown by doubling (runs are few). */
  private runs = new Float64Array(RUN_FIELDS * 16);
  private runCount = 0;
  private lengthValue = 0;

  get length(): number {
    return this.lengthValue;
  }

  /** Appends `seq`, which must exceed every seq already held. */
  push(seq: number): void {
    const last = this.runCount - 1;
    if (last >= 0) {
      const at = last * RUN_FIELDS;
      const first = this.runs[at] ?? 0;
      const step = this.runs[at + 1] ?? 0;
      const count = this.runs[at + 2] ?? 0;
      const lastSeq = first + step * (count - 1);
      if (seq <= lastSeq) throw new RangeError(`seq ${seq} after ${lastSeq}`);
      if (count === 1 || seq - lastSeq === step) {
        this.runs[at + 1] = seq - lastSeq;
        this.runs[at + 2] = count + 1;
        this.lengthValue += 1;
        return;
      }
    } else if (seq <= 0) {
      throw new RangeError(`seq ${seq} after 0`);
    }
    if ((this.runCount + 1) * RUN_FIELDS > this.runs.length) {
      const grown = new Float64Array(this.runs.length * 2);
      grown.set(this.runs);
      this.runs = grown;
    }
    const at = this.runCount * RUN_FIELDS;
    this.runs[at] = seq;
    this.runs[at + 1] = 0;
    this.runs[at + 2] = 1;
    this.runs[at + 3] = this.lengthValue;
    this.runCount += 1;
    this.lengthValue += 1;
  }

  /** A list of the same seqs that either may grow or shrink without the other changing. */
  copy(): SeqList {
    const copy = new SeqList();
    copy.runs = this.runs.slice(0, Math.max(16, this.runCount) * RUN_FIELDS);
    copy.runCount = this.runCount;
    copy.lengthValue = this.lengthValue;
    return copy;
  }

  /** Index of `seq`, or -1. */
  indexOf(seq: number): number {
    const run = this.runAtOrBelow(seq);
    if (run < 0) return -1;
    const at = run * RUN_FIELDS;
    const offset = seq - (this.runs[at] ?? 0);
    const step = this.runs[at + 1] ?? 0;
    const k = step === 0 ? (offset === 0 ? 0 : -1) : offset % step === 0 ? offset / step : -1;
    if (k < 0 || k >= (this.runs[at + 2] ?? 0)) return -1;
    return (this.runs[at + 3] ?? 0) + k;
  }

  /** Number of seqs greater than `seq`. */
  countAbove(seq: number): number {
    const run = this.runAtOrBelow(seq);
    if (run < 0) return this.lengthValue;
    const at = run * RUN_FIELDS;
    const step = this.runs[at + 1] ?? 0;
    const count = this.runs[at + 2] ?? 0;
    const first = this.runs[at] ?? 0;
    const upTo = step === 0 ? 1 : Math.min(count, Math.floor((seq - first) / step) + 1);
    return this.lengthValue - ((this.runs[at + 3] ?? 0) + upTo);
  }

  /** The seqs (with their index) for which `keep(seq, index)` holds, oldest first. */
  *filtered(keep: (seq: number, index: number) => boolean): Generator<number, void, undefined> {
    for (const [seq, index] of this.entries()) if (keep(seq, index)) yield seq;
  }

  /** The seqs as a plain array, oldest first. */
  toArray(): number[] {
    return [...this.filtered(() => true)];
  }

  /** Keeps only the seqs for which `keep(seq, index)` holds (order kept). */
  retain(keep: (seq: number, index: number) => boolean): void {
    const kept = new SeqList();
    for (const seq of this.filtered(keep)) kept.push(seq);
    this.runs = kept.runs;
    this.runCount = kept.runCount;
    this.lengthValue = kept.lengthValue;
  }

  /**
   * Drops the first `count` seqs (every one when it is larger): what `retain` does with a
   * predicate that keeps a suffix, in one step per run instead of one per seq.
   */
  dropFirst(count: number): void {
    if (count <= 0) return;
    if (count >= this.lengthValue) {
      this.runCount = 0;
      this.lengthValue = 0;
      return;
    }
    let run = 0;
    let left = count;
    // Bounded: one step per run dropped whole; a run is left since count < length.
    while (left >= (this.runs[run * RUN_FIELDS + 2] ?? 0)) {
      left -= this.runs[run * RUN_FIELDS + 2] ?? 0;
      run += 1;
    }
    const at = run * RUN_FIELDS;
    if (left > 0) {
      const step = this.runs[at + 1] ?? 0;
      const remaining = (this.runs[at + 2] ?? 0) - left;
      this.runs[at] = (this.runs[at] ?? 0) + step * left;
      this.runs[at + 2] = remaining;
      if (remaining === 1) this.runs[at + 1] = 0;
    }
    const runCount = this.runCount - run;
    // Shrunk as a list rebuilt by `retain` would be: no more than twice the runs it holds.
    const capacity = Math.max(16, 2 * runCount) * RUN_FIELDS;
    const runs = capacity < this.runs.length ? new Float64Array(capacity) : this.runs;
    runs.set(this.runs.subarray(at, this.runCount * RUN_FIELDS));
    let before = 0;
    for (let r = 0; r < runCount; r += 1) {
      runs[r * RUN_FIELDS + 3] = before;
      before += runs[r * RUN_FIELDS + 2] ?? 0;
    }
    this.runs = runs;
    this.runCount = runCount;
    this.lengthValue -= count;
  }

  /** Every seq with its index, oldest first. */
  private *entries(): Generator<[number, number], void, undefined> {
    // Bounded: one step per seq held.
    for (let run = 0; run < this.runCount; run += 1) {
      const at = run * RUN_FIELDS;
      const first = this.runs[at] ?? 0;
      const step = this.runs[at + 1] ?? 0;
      const count = this.runs[at + 2] ?? 0;
      const before = this.runs[at + 3] ?? 0;
      for (let k = 0; k < count; k += 1) yield [first + step * k, before + k];
    }
  }

  /** The last run whose first seq is at most `seq`, or -1. */
  private runAtOrBelow(seq: number): number {
    let low = 0;
    let high = this.runCount;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.runs[mid * RUN_FIELDS] ?? 0) > seq) high = mid;
      else low = mid + 1;
    }
    return low - 1;
  }
}
