// The card's own truth of every debit it committed, for double-charge and lost-debit checkers.

/** One committed debit. Amounts in minor units (fen). */
export interface LedgerEntry {
  /** 1-based commit order on this card. */
  readonly seq: number;
  readonly aidHex: string;
  /**
   * What was spent: the EC balance (money left the card), or the cumulative offline allowance
   * of a card without EC (an offline approval the issuer settles; balances are then the
   * available offline amount, CTTAL - CTTA).
   */
  readonly source: 'ec-balance' | 'offline-allowance';
  /** ATC of the transaction (= 9F36 in its GPO answer and the IDN in its SDAD). */
  readonly atc: number;
  readonly amountMinor: number;
  readonly balanceBeforeMinor: number;
  readonly balanceAfterMinor: number;
  /** 5F2A the terminal sent, 4 digits. */
  readonly currencyCode: string;
  /** 9A the terminal sent, YYMMDD. */
  readonly dateYymmdd: string;
  /** 9F21 when the PDOL asked for it, else the passed-in clock's wall time, else null. */
  readonly timeHhmmss: string | null;
  readonly unpredictableNumberHex: string;
  /** The TC the card returned for this debit (9F26, or inside the CDA signature). */
  readonly cryptogramHex: string;
  /** Presentation (powerOn count) during which the card committed. */
  readonly presentation: number;
  /** Committed by a READ RECORD with no GPO since the application was selected: the GPO-less
   *  re-read of a torn transaction (domain.md 4.4). A debit applied at GPO
   *  ('gpo-with-rollback') enters the ledger when that read confirms it. */
  readonly recovered: boolean;
  /** Injected clock's monotonic time at the commit, or null without a clock. */
  readonly committedAtMs: number | null;
}

/** Append-only list of committed debits. */
export class CardLedger {
  private readonly list: LedgerEntry[] = [];

  /** Appends an entry; `seq` is assigned here. */
  append(entry: Omit<LedgerEntry, 'seq'>): LedgerEntry {
    const full = { ...entry, seq: this.list.length + 1 };
    this.list.push(full);
    return full;
  }

  entries(): readonly LedgerEntry[] {
    return this.list.slice();
  }

  /** Sum of the committed amounts. */
  totalDebitedMinor(): number {
    let total = 0;
    for (const e of this.list) total += e.amountMinor;
    return total;
  }
}
