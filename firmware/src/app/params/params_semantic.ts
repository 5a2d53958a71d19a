// Checks across the fields of a parameter set that each parse on their own but together would
// charge wrongly or refuse every rider: a discount above a fare, overlapping fare ranges,
// fares the terminal's contactless limits would never let through.

import { fareTableCheck } from '../fare/fare_table.js';
import { FieldError } from './json_fields.js';
import type { FareParams, TerminalLimits } from './params_files.js';

const FILE_FARES = 'fares.json';
const FILE_TERMINAL = 'terminal.json';

/**
 * Throws FieldError at the first inconsistency:
 * - transfer.discountMinor above the flat fare or any category fare (a transfer discount
 *   never exceeds the fare it reduces; fare_policy would clamp it to a free ride silently);
 * - two fare categories with the same name, or PAN ranges that overlap (within or across
 *   categories: which fare applies would depend on the order of the file);
 * - with terminal limits: a fare at or above the contactless transaction limit (DF20: the
 *   kernel would refuse every tap), a fare at or above the CVM limit (DF21: a bus cannot take
 *   a PIN), a floor limit (DF19) above the transaction limit.
 * - the `transit` fare table's own contradictions (`fareTableCheck`).
 * See domain.md §6 for DF19/DF20/DF21.
 */
export function paramsSemanticCheck(fares: FareParams, limits: TerminalLimits | null): void {
  const fareList: [string, number][] = [
    ['flatFareMinor', fares.flatFareMinor],
    ...fares.categories.map(
      (c, i): [string, number] => [`categories[${i}].fareMinor`, c.fareMinor],
    ),
  ];
  for (const [field, fare] of fareList) {
    if (fares.transfer.discountMinor > fare) {
      throw new FieldError(FILE_FARES, 'transfer.discountMinor',
        `${fares.transfer.discountMinor} exceeds the fare ${field} = ${fare}`);
    }
  }
  rangesCheck(fares);
  if (fares.transit !== undefined) fareTableCheck(fares.transit, fares.transfer.discountMinor);
  if (limits !== null) limitsCheck(limits, fareList);
}

function rangesCheck(fares: FareParams): void {
  const names = new Set<string>();
  const seen: { field: string; low: string; high: string }[] = [];
  fares.categories.forEach((category, i) => {
    if (names.has(category.name)) {
      throw new FieldError(FILE_FARES, `categories[${i}].name`, `${category.name} is used twice`);
    }
    names.add(category.name);
    category.panRanges.forEach((range, j) => {
      const field = `categories[${i}].panRanges[${j}]`;
      for (const other of seen) {
        if (prefixRangesOverlap(range.low, range.high, other.low, other.high)) {
          throw new FieldError(FILE_FARES, field, `overlaps ${other.field}`);
        }
      }
      seen.push({ field, low: range.low, high: range.high });
    });
  });
}

/**
 * Two prefix ranges overlap when some PAN matches both: compare on the shorter prefix length
 * (a PAN in 621799..621799 also starts with 62..62).
 */
function prefixRangesOverlap(aLow: string, aHigh: string, bLow: string, bHigh: string): boolean {
  const n = Math.min(aLow.length, bLow.length);
  const [al, ah, bl, bh] = [aLow, aHigh, bLow, bHigh].map((s) => s.slice(0, n));
  return (al ?? '') <= (bh ?? '') && (bl ?? '') <= (ah ?? '');
}

function limitsCheck(limits: TerminalLimits, fareList: readonly [string, number][]): void {
  const at = (name: string): string => `limits.${name}`;
  if (limits.contactlessFloorLimitMinor > limits.contactlessTransactionLimitMinor) {
    throw new FieldError(FILE_TERMINAL, at('contactlessFloorLimitMinor'),
      'above the contactless transaction limit');
  }
  for (const [field, fare] of fareList) {
    if (fare >= limits.contactlessTransactionLimitMinor) {
      throw new FieldError(FILE_TERMINAL, at('contactlessTransactionLimitMinor'),
        `${limits.contactlessTransactionLimitMinor} does not exceed fares.json ${field} = ${fare}`
        + ' (every such tap would be refused)');
    }
    if (fare >= limits.cvmLimitMinor) {
      throw new FieldError(FILE_TERMINAL, at('cvmLimitMinor'),
        `${limits.cvmLimitMinor} does not exceed fares.json ${field} = ${fare}`
        + ' (a validator cannot take a PIN or signature)');
    }
  }
}
