// The uncertain taps of a journal state, by seq and by card.
//
// Every final settles the uncertain taps of its card transaction (JournalState's
// settleTransaction), so a state that holds n open taps looked at all n at each final: the
// bench's journal of 10^6 records, whose taps left open grow to 1,000, made `journal export`
// walk about 2.5 * 10^8 map entries (at 10^5, about half of the bytes it allocated). An index
// by PAN token makes that one lookup of the few taps of one card.

const NO_SEQS: readonly number[] = Object.freeze([]);

/** What the index needs of a slot: its record's PAN token. */
interface TokenSlot {
  readonly held: { readonly panToken: string };
}

/**
 * A Map of seq -> slot, in insertion order as any Map, that also knows the seqs of each PAN
 * token's slots (`seqsOfToken`). Built empty: entries come only through `set`.
 */
export class UncertainTaps<S extends TokenSlot> extends Map<number, S> {
  /** Seqs by PAN token, each list in insertion order; a token without slots has none. */
  private readonly byToken = new Map<string, number[]>();

  override set(seq: number, slot: S): this {
    const old = super.get(seq);
    if (old !== undefined) this.unindex(seq, old.held.panToken);
    super.set(seq, slot);
    const seqs = this.byToken.get(slot.held.panToken);
    if (seqs === undefined) this.byToken.set(slot.held.panToken, [seq]);
    else seqs.push(seq);
    return this;
  }

  override delete(seq: number): boolean {
    const slot = super.get(seq);
    if (slot === undefined) return false;
    super.delete(seq);
    this.unindex(seq, slot.held.panToken);
    return true;
  }

  override clear(): void {
    super.clear();
    this.byToken.clear();
  }

  /** The seqs of the slots whose record has `panToken` (a copy: the caller may delete). */
  seqsOfToken(panToken: string): readonly number[] {
    // Most finals find no open tap of their card: nothing allocated for them.
    return this.byToken.get(panToken)?.slice() ?? NO_SEQS;
  }

  private unindex(seq: number, panToken: string): void {
    const seqs = this.byToken.get(panToken);
    if (seqs === undefined) return;
    const at = seqs.indexOf(seq);
    if (at >= 0) seqs.splice(at, 1);
    if (seqs.length === 0) this.byToken.delete(panToken);
  }
}
