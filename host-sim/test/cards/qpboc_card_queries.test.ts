// The query methods find an application by its AID's hex in any spelling: lower case (the
// checkers' own, found by its text), upper case and spaced (decoded), the same state.

import { describe, expect, it } from 'vitest';
import { POPULATION_NAMES, population } from '../../src/cards/card_population.js';

describe('qpboc card queries', () => {
  it('aidHex_anySpelling_findsTheSameApplication_unknownThrows', () => {
    const cards = population(7);
    for (const name of POPULATION_NAMES) {
      const card = cards.card(name);
      for (const app of card.profile.applications) {
        const lower = app.aidHex.toLowerCase();
        const spaced = lower.toUpperCase().replace(/(..)/g, '$1 ');
        expect(card.atc(spaced), `${name} ${lower}`).toBe(card.atc(lower));
        expect(card.balanceMinor(spaced)).toBe(card.balanceMinor(lower));
        expect(card.cumulativeOfflineMinor(spaced)).toBe(card.cumulativeOfflineMinor(lower));
        expect(card.pendingDebit(spaced)).toBe(card.pendingDebit(lower));
      }
      const wrong = 'f0' + (card.profile.applications[0]?.aidHex ?? '').slice(2);
      expect(() => card.atc(wrong), name).toThrow(RangeError);
      expect(() => card.atc(wrong.toUpperCase())).toThrow(RangeError);
    }
  });
});
