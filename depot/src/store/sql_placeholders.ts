// PostgreSQL's numbered placeholders (`$1`) rewritten for SQLite's positional `?`, so the
// depot's SQL is written once for both engines.

/** A statement in SQLite form: `?` placeholders and the order the parameters bind in. */
export interface PositionalSql {
  readonly sql: string;
  /** For each `?` in order, the 0-based index of the `$n` parameter it stands for. */
  readonly order: readonly number[];
}

/**
 * Rewrites `$n` to `?` outside quoted strings and identifiers ('...', "..."); a `$n` may be
 * repeated or out of order. Throws RangeError on `$0`.
 */
export function positionalSql(sql: string): PositionalSql {
  let out = '';
  const order: number[] = [];
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i += 1) {
    const ch = sql.charAt(i);
    if (quote !== null) {
      out += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
      continue;
    }
    const digits = ch === '$' ? /^\d+/.exec(sql.slice(i + 1)) : null;
    if (digits === null) {
      out += ch;
      continue;
    }
    const index = Number(digits[0]) - 1;
    if (index < 0) throw new RangeError('placeholder $0 in depot SQL');
    order.push(index);
    out += '?';
    i += digits[0].length;
  }
  return { sql: out, order };
}
