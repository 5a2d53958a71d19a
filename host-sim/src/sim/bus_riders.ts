// The riders of a simulated bus run: who taps which card, when, and how they hold it.

import { population, type PopulationName } from '../cards/card_population.js';
import type { QpbocCard } from '../cards/qpboc_card.js';
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

/**
 * How often each kind of card boards the bus (weights, per 100 riders): a line in a Chinese
 * city today, where most riders pay with a phone or an ordinary bank card without e-cash
 * (domain.md 4.1, 6.1), a minority still carry an e-cash card or a social-security card, and
 * a few cards must be refused (expired, deny-listed, counterfeit, revoked, no way to pay).
 */
export const CARD_MIX: ReadonlyArray<readonly [PopulationName, number]> = [
  ['phone-wallet', 18],
  ['phone-se-stock', 6],
  ['stock-debit-dda', 14],
  ['stock-credit-cda', 8],
  ['stock-debit-sda', 3],
  ['oda-capable-credit', 7],
  ['oda-online-no-ec', 3],
  ['unionpay-debit-ec', 8],
  ['unionpay-credit-ec', 3],
  ['unionpay-quasi-credit-ec', 2],
  ['social-security', 4],
  ['social-security-stock', 4],
  ['cobadge-visa-unionpay', 1],
  ['cobadge-visa-unionpay-stock', 2],
  ['offline-limit-credit', 3],
  ['ec-debit-at-gpo', 2],
  ['ec-only', 1],
  ['ec-insufficient', 2],
  ['new-card', 1],
  ['slow-wtx', 1],
  ['expired', 1],
  ['deny-listed', 1],
  ['clone', 1],
  ['revoked-issuer', 1],
  ['no-fdda', 1],
];

function drawName(prng: Prng): PopulationName {
  const total = CARD_MIX.reduce((sum, [, w]) => sum + w, 0);
  let pick = prng.below(total);
  for (const [name, weight] of CARD_MIX) {
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
}

export function riderPool(seed: number, groups: number, pki: TestPki): RiderPool {
  const cards: RiderCard[] = [];
  const denyList: { pan: string; psn: number }[] = [];
  const bins = new Set<string>();
  for (let g = 0; g < groups; g += 1) {
    const pop = population((seed * 131 + g) >>> 0, { pki });
    denyList.push(...pop.denyList);
    for (const [name] of CARD_MIX) {
      const card = pop.card(name);
      cards.push({ name, card });
      if (name === 'social-security') {
        const pan = pop.profiles[name].applications[0]?.pan;
        if (pan !== undefined) bins.add(pan.slice(0, 6));
      }
    }
  }
  return { cards, denyList, concessionBins: [...bins] };
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
    const name = drawName(prng);
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
