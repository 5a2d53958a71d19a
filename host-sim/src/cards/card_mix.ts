// How often each population card boards the bus: the classic mix and a realistic one.

import type { PopulationName } from './card_population.js';
import type { SmCardName } from './sm_population.js';

/**
 * Named card mixes. 'default' is the classic EC-heavy mix the bus-run tests were built on;
 * 'sm' is 'realistic' with national-cryptography (SM2) cards among them.
 */
export const POPULATION_KINDS = ['default', 'realistic', 'sm'] as const;

export type PopulationKind = (typeof POPULATION_KINDS)[number];

/** A card a mix can name: a population card or an SM card (sm_population.ts). */
export type MixCardName = PopulationName | SmCardName;

/** One mix: card names with relative weights. */
export type CardMix = ReadonlyArray<readonly [MixCardName, number]>;

const REALISTIC: CardMix = [
  ['stock-debit-dda', 20],
  ['stock-credit-cda', 12],
  ['stock-debit-sda', 3],
  ['oda-online-no-ec', 8],
  ['oda-capable-credit', 6],
  ['phone-wallet', 12],
  ['phone-se-stock', 6],
  ['social-security-stock', 5],
  ['social-security', 2],
  ['cobadge-visa-unionpay-stock', 3],
  ['offline-limit-credit', 3],
  ['unionpay-debit-ec', 4],
  ['unionpay-credit-ec', 2],
  ['ec-debit-at-gpo', 2],
  ['ec-insufficient', 2],
  ['ec-only', 1],
  ['new-card', 1],
  ['expired', 2],
  ['deny-listed', 2],
  ['clone', 1],
  ['no-fdda', 1],
  ['slow-wtx', 1],
  ['revoked-issuer', 1],
];

/**
 * 'default': mostly EC cards (today's simulator population).
 * 'realistic': most riders carry ordinary debit/credit cards without a usable EC purse (stock
 * cards answering the full flow, ODA-capable cards) or phones, few EC cards and fewer EC-only
 * ones (domain.md 4.1: "many modern cards are ARQC-only for transit", 6.1), plus the failure
 * cases in the proportions of the default mix. Weights are a modelling choice, not a survey.
 */
export const CARD_MIXES: Readonly<Record<PopulationKind, CardMix>> = {
  default: [
    ['unionpay-debit-ec', 30],
    ['unionpay-credit-ec', 12],
    ['unionpay-quasi-credit-ec', 6],
    ['phone-wallet', 12],
    ['social-security', 8],
    ['ec-insufficient', 3],
    ['new-card', 3],
    ['oda-online-no-ec', 3],
    ['cobadge-visa-unionpay', 4],
    ['expired', 2],
    ['deny-listed', 2],
    ['clone', 2],
    ['no-fdda', 2],
    ['slow-wtx', 3],
    ['revoked-issuer', 1],
  ],
  realistic: REALISTIC,
  // SM cards as a bank's newer issues would be (weights a modelling choice, as above).
  sm: [...REALISTIC, ['sm-ec', 4], ['sm-oda-online', 6], ['rsa-and-sm-ec', 4]],
};

/** The kind named `text`. Throws RangeError naming the known kinds otherwise. */
export function parsePopulationKind(text: string): PopulationKind {
  const kind = POPULATION_KINDS.find((k) => k === text);
  if (kind === undefined) {
    throw new RangeError(`population kind "${text}": expected ${POPULATION_KINDS.join(', ')}`);
  }
  return kind;
}
