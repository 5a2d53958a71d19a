// Compact ascending list of record seqs (the final records), 4 bytes per seq.

/**
 * Seqs appended in ascending order, kept in a growable Uint32Array so that a journal of 10^7
 * records costs 40 MB at most instead of a Set's ~30 bytes per entry. Lookups are binary
 * searches.
 */
export class SeqList {
  private seqs = new Uint32Array(64);
  private lengthValue = 0;

  get length(): number {
    return this.lengthValue;
  }

  /** Appends `seq`, which must exceed every seq already held. */
  push(seq: number): void {
    const last = this.lengthValue === 0 ? 0 : (this.seqs[this.lengthValue - 1] ?? 0);
    if (seq <= last) throw new RangeError(`seq ${seq} after ${last}`);
    if (this.lengthValue === this.seqs.length) {
      const grown = new Uint32Array(this.seqs.length * 2);
      grown.set(this.seqs);
      this.seqs = grown;
    }
    this.seqs[this.lengthValue] = seq;
    this.lengthValue += 1;
  }

  /** Index of `seq`, or -1. */
  indexOf(seq: number): number {
    const at = this.firstAbove(seq - 1);
    return at < this.lengthValue && this.seqs[at] === seq ? at : -1;
  }

  /** Number of seqs greater than `seq`. */
  countAbove(seq: number): number {
    return this.lengthValue - this.firstAbove(seq);
  }

  /** The seqs (with their index) for which `keep(seq, index)` holds, oldest first. */
  *filtered(keep: (seq: number, index: number) => boolean): Generator<number, void, undefined> {
    for (let i = 0; i < this.lengthValue; i += 1) {
      const seq = this.seqs[i] ?? 0;
      if (keep(seq, i)) yield seq;
    }
  }

  /** The seqs as a plain array, oldest first. */
  toArray(): number[] {
    return Array.from(this.seqs.subarray(0, this.lengthValue));
  }

  /** Keeps only the seqs for which `keep(seq, index)` holds (order kept). */
  retain(keep: (seq: number, index: number) => boolean): void {
    let out = 0;
    for (let i = 0; i < this.lengthValue; i += 1) {
      const seq = this.seqs[i] ?? 0;
      if (keep(seq, i)) {
        this.seqs[out] = seq;
        out += 1;
      }
    }
    this.lengthValue = out;
  }

  /** Index of the first seq greater than `seq` (length when none). */
  private firstAbove(seq: number): number {
    let low = 0;
    let high = this.lengthValue;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.seqs[mid] ?? 0) > seq) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}
