// The riders of a simulated bus run: who taps which card, when, and how they hold it.

import { population, type PopulationName } from '../cards/card_population.js';
import type { QpbocCard } from '../cards/qpboc_card.js';
import { CARD_MIXES, type CardMix, type PopulationKind } from '../cards/card_mix.js';
import type { Prng } from '../prng.js';
import type { TestPki } from '../pki/test_pki.js';

/** One card in a rider's pocket (the same object for every tap: it keeps its ledger). */
export interface RiderCard {
  readonly name: PopulationName;
  readonly card: QpbocCard;
}

/** One tap: which card, after how long, and how the rider behaves. */
export interface RiderTap {
  readonly rider: number;
  readonly card: RiderCard;
  /** Idle time before the card comes into the field. */
  readonly gapMs: number;
  /** Time the rider keeps the card there after the validator answered. */
  readonly holdMs: number;
  /** A nervous rider pulls the card after this many card commands (a torn tap), or null. */
  readonly pullAfterCommands: number | null;
}

function drawName(prng: Prng, mix: CardMix): PopulationName {
  const total = mix.reduce((sum, [, w]) => sum + w, 0);
  let pick = prng.below(total);
  for (const [name, weight] of mix) {
    if (pick < weight) return name;
    pick -= weight;
  }
  return 'unionpay-debit-ec';
}

/** The wallets of the run: `groups` populations (distinct PANs), every kind in each. */
export interface RiderPool {
  readonly cards: readonly RiderCard[];
  readonly denyList: readonly { readonly pan: string; readonly psn: number }[];
  /** Leading 6 digits of the social-security cards (the concession fare's range). */
  readonly concessionBins: readonly string[];
  /** Which cards board and how often (CARD_MIXES). */
  readonly mix: CardMix;
}

export function riderPool(
  seed: number,
  groups: number,
  pki: TestPki,
  kind: PopulationKind = 'default',
): RiderPool {
  const mix = CARD_MIXES[kind];
  const cards: RiderCard[] = [];
  const denyList: { pan: string; psn: number }[] = [];
  const bins = new Set<string>();
  for (let g = 0; g < groups; g += 1) {
    const pop = population((seed * 131 + g) >>> 0, { pki });
    denyList.push(...pop.denyList);
    for (const [name] of mix) {
      const card = pop.card(name);
      cards.push({ name, card });
      if (name === 'social-security' || name === 'social-security-stock') {
        const pan = pop.profiles[name].applications[0]?.pan;
        if (pan !== undefined) bins.add(pan.slice(0, 6));
      }
    }
  }
  return { cards, denyList, concessionBins: [...bins], mix };
}

/** Draws `count` taps: arrivals in boarding bursts, some repeats, some nervous riders. */
export function drawRiderTaps(
  prng: Prng,
  pool: RiderPool,
  count: number,
  tornChance: number,
): RiderTap[] {
  const taps: RiderTap[] = [];
  for (let rider = 0; rider < count; rider += 1) {
    const name = drawName(prng, pool.mix);
    const ofKind = pool.cards.filter((c) => c.name === name);
    const card = ofKind[prng.below(ofKind.length)] ?? pool.cards[0];
    if (card === undefined) throw new Error('empty rider pool');
    const burst = prng.chance(0.7);
    taps.push({
      rider,
      card,
      gapMs: burst ? prng.between(400, 1500) : prng.between(3000, 20000),
      holdMs: prng.between(150, 700),
      pullAfterCommands: prng.chance(tornChance) ? prng.between(2, 12) : null,
    });
    if (taps[taps.length - 1]?.pullAfterCommands !== null) {
      // The nervous rider taps again a moment later, as the screen asks (请重刷).
      taps.push({
        rider,
        card,
        gapMs: prng.between(600, 2500),
        holdMs: prng.between(200, 600),
        pullAfterCommands: null,
      });
    }
  }
  return taps;
}
