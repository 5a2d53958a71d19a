// The riders of a simulated bus run: who taps which card, when, and how they hold it.

import { population } from '../cards/card_population.js';
import type { QpbocCard } from '../cards/qpboc_card.js';
import type { TunionCard } from '../cards/tunion_card.js';
import {
  TUNION_NAMES, TUNION_POOL_NAMES, tunionCardOfGroup, type TunionName,
} from '../cards/tunion_population.js';
import {
  CARD_MIXES, type CardMix, type MixCardName, type PopulationKind,
} from '../cards/card_mix.js';
import { SM_CARD_NAMES, smPopulation, smTestPki, type SmCardName } from '../cards/sm_population.js';
import type { Prng } from '../prng.js';
import type { TestPki } from '../pki/test_pki.js';

/** One card in a rider's pocket (the same object for every tap: it keeps its ledger). */
export interface RiderCard {
  readonly name: MixCardName;
  readonly card: QpbocCard;
}

/** A T-Union (JT/T 978) card in a rider's pocket: it taps in and taps out. */
export interface TunionRiderCard {
  readonly name: TunionName;
  readonly card: TunionCard;
}

/** Any card a rider taps. */
export type AnyRiderCard = RiderCard | TunionRiderCard;

/** True for a T-Union rider's card. */
export function isTunionRider(card: AnyRiderCard): card is TunionRiderCard {
  return (TUNION_NAMES as readonly string[]).includes(card.name);
}

/** One tap: which card, after how long, and how the rider behaves. */
export interface RiderTap {
  readonly rider: number;
  readonly card: AnyRiderCard;
  /** The bus's stop when this tap happens (1 .. the line's stops; the stop source's value). */
  readonly stop: number;
  /** Idle time before the card comes into the field. */
  readonly gapMs: number;
  /** Time the rider keeps the card there after the validator answered. */
  readonly holdMs: number;
  /** A nervous rider pulls the card after this many card commands (a torn tap), or null. */
  readonly pullAfterCommands: number | null;
}

function drawName(prng: Prng, mix: CardMix): MixCardName {
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
  /** T-Union cards (every TUNION_POOL_NAMES card in each group); empty unless asked for. */
  readonly tunion: readonly TunionRiderCard[];
  /**
   * Good T-Union cards whose numbers the run's deny list names (one a group, when asked for):
   * the validator blocks each at its first tap and journals the block. Not in `tunion`.
   */
  readonly tunionDenied: readonly TunionRiderCard[];
  /** The SM CA key the SM cards chain to (TLV hex, for the parameter set); null: no SM card. */
  readonly smCapkTlvHex: string | null;
}

function isSmName(name: MixCardName): name is SmCardName {
  return (SM_CARD_NAMES as readonly string[]).includes(name);
}

export function riderPool(
  seed: number,
  groups: number,
  pki: TestPki,
  kind: PopulationKind = 'default',
  withTunion = false,
  withTunionDenied = false,
): RiderPool {
  const mix = CARD_MIXES[kind];
  const cards: RiderCard[] = [];
  const denyList: { pan: string; psn: number }[] = [];
  const bins = new Set<string>();
  const tunion: TunionRiderCard[] = [];
  const tunionDenied: TunionRiderCard[] = [];
  const withSm = mix.some(([name]) => isSmName(name));
  const smPki = withSm ? smTestPki(seed) : null;
  for (let g = 0; g < groups; g += 1) {
    const groupSeed = (seed * 131 + g) >>> 0;
    // The line of `npm start` also carries the national transit cards (issue 12).
    if (withTunion) {
      for (const name of TUNION_POOL_NAMES) {
        tunion.push({ name, card: tunionCardOfGroup(groupSeed, name, g) });
      }
    }
    if (withTunion && withTunionDenied) {
      const name = 'tunion-deny-listed';
      tunionDenied.push({ name, card: tunionCardOfGroup(groupSeed, name, g) });
    }
    const pop = population((seed * 131 + g) >>> 0, { pki });
    const sm = smPki === null ? null : smPopulation(pop, smPki);
    denyList.push(...pop.denyList);
    for (const [name] of mix) {
      const card = isSmName(name) ? (sm as NonNullable<typeof sm>).card(name) : pop.card(name);
      cards.push({ name, card });
      if (name === 'social-security' || name === 'social-security-stock') {
        const pan = pop.profiles[name].applications[0]?.pan;
        if (pan !== undefined) bins.add(pan.slice(0, 6));
      }
    }
  }
  return { cards, denyList, concessionBins: [...bins], mix, tunion, tunionDenied,
    smCapkTlvHex: smPki?.capkTlvHex ?? null };
}

/** Share of riders who carry a T-Union card, when the pool has them. */
export const TUNION_RIDER_SHARE = 0.2;
/** Share of T-Union riders who never tap out (the next boarding charges the marked amount). */
const TUNION_NO_TAP_OUT_CHANCE = 0.1;
/** Riders per deny-listed T-Union card boarding (the pool holds one a group). */
const DENIED_RIDERS_PER = 10;
/** Stops of the simulated line (sim_tunion.ts SIM_LINE_STOPS). */
const LINE_STOPS = 12;

/** One rider's taps: one, or two when the rider pulled the card too early and taps again. */
type TapUnit = Omit<RiderTap, 'stop'>[];

function riderUnit(
  prng: Prng,
  rider: number,
  card: AnyRiderCard,
  tornChance: number,
): TapUnit {
  const burst = prng.chance(0.7);
  const first = {
    rider,
    card,
    gapMs: burst ? prng.between(400, 1500) : prng.between(3000, 20000),
    holdMs: prng.between(150, 700),
    pullAfterCommands: prng.chance(tornChance) ? prng.between(2, 12) : null,
  };
  if (first.pullAfterCommands === null) return [first];
  // The nervous rider taps again a moment later, as the screen asks (请重刷).
  const again = {
    rider,
    card,
    gapMs: prng.between(600, 2500),
    holdMs: prng.between(200, 600),
    pullAfterCommands: null,
  };
  return [first, again];
}

/**
 * Draws `count` taps: arrivals in boarding bursts, some repeats, some nervous riders. With
 * T-Union cards in the pool, a share of extra riders (distinct cards) tap in at one stop and
 * out a few stops later (some never tap out); the bus moves from stop 1 to the last stop over
 * the run, and each tap carries the stop it happens at.
 */
export function drawRiderTaps(
  prng: Prng,
  pool: RiderPool,
  count: number,
  tornChance: number,
): RiderTap[] {
  const units: TapUnit[] = [];
  for (let rider = 0; rider < count; rider += 1) {
    const name = drawName(prng, pool.mix);
    const ofKind = pool.cards.filter((c) => c.name === name);
    const card = ofKind[prng.below(ofKind.length)] ?? pool.cards[0];
    if (card === undefined) throw new Error('empty rider pool');
    units.push(riderUnit(prng, rider, card, tornChance));
  }
  if (pool.tunion.length > 0) tunionUnitsInsert(prng.fork('tunion-riders'), pool, units, count,
    tornChance);
  const last = Math.max(1, units.length - 1);
  return units.flatMap((unit, index) => {
    const stop = 1 + Math.floor(((LINE_STOPS - 1) * index) / last);
    return unit.map((tap) => ({ ...tap, stop }));
  });
}

/** Inserts the T-Union riders' boarding and alighting taps among `units` (in place). */
function tunionUnitsInsert(
  prng: Prng,
  pool: RiderPool,
  units: TapUnit[],
  count: number,
  tornChance: number,
): void {
  const cards = [...pool.tunion];
  for (let i = cards.length - 1; i > 0; i -= 1) {
    const j = prng.below(i + 1);
    const swap = cards[i];
    cards[i] = cards[j] as TunionRiderCard;
    cards[j] = swap as TunionRiderCard;
  }
  const riders = Math.min(cards.length, Math.round(count * TUNION_RIDER_SHARE));
  // Units between a boarding and its alighting: enough for the bus to reach another stop.
  const spacing = Math.ceil((units.length + 2 * riders) / (LINE_STOPS - 1)) + 1;
  for (let r = 0; r < riders; r += 1) {
    const card = cards[r];
    if (card === undefined) break;
    const rider = count + r;
    const boardAt = prng.below(Math.max(1, units.length - spacing));
    units.splice(boardAt, 0, riderUnit(prng, rider, card, tornChance));
    if (prng.chance(TUNION_NO_TAP_OUT_CHANCE)) continue;
    const alightAt = boardAt + spacing + prng.below(spacing);
    if (alightAt > units.length) continue;
    units.splice(alightAt, 0, riderUnit(prng, rider, card, tornChance));
  }
  // Deny-listed cards board too (drawn after the others, whose draws stay as they were): the
  // validator blocks each at its first tap; tapping out later, the card reads as blocked. One
  // for every DENIED_RIDERS_PER riders (at least one): a short run is not mostly blocked cards.
  const denied = pool.tunionDenied.slice(0, Math.ceil(count / DENIED_RIDERS_PER));
  denied.forEach((card, k) => {
    const rider = count + riders + k;
    const boardAt = prng.below(Math.max(1, units.length - spacing));
    units.splice(boardAt, 0, riderUnit(prng, rider, card, tornChance));
    units.splice(Math.min(units.length, boardAt + spacing), 0, riderUnit(prng, rider, card, 0));
  });
}
