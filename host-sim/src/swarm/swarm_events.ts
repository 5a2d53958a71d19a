// What happens around one tap, drawn from the seed's plan stream and the seed's fault mix.

import type { CardFault } from '../cards/card_faults.js';
import type { Pn532SimFault } from '../pn532_sim/pn532_sim_faults.js';
import type { PsamExchangeFault } from '../psam/psam_port_sim.js';
import {
  INS_70_INIT_SAM_FOR_PURCHASE,
  INS_72_CREDIT_SAM_FOR_PURCHASE,
} from '../psam/psam_emulator.js';
import type { Prng } from '../prng.js';
import type { AnyRiderCard, RiderCard, RiderPool } from '../sim/bus_riders.js';
import type { TunionName } from '../cards/tunion_population.js';
import type { SwarmMix } from './swarm_mix.js';
import { SWARM_IDLE_KEEP_MS } from './swarm_ride.js';

/** One tap (event) of the run and the faults that come with it. */
export interface SwarmTapPlan {
  readonly card: AnyRiderCard;
  readonly gapMs: number;
  readonly holdMs: number;
  /** Of a quiet gap's idle polls, the last this many ms run for real (see SWARM_IDLE_KEEP_MS). */
  readonly idleKeepMs: number;
  /** The rider pulls the card at this step, or the card behaves; [] = no pull. */
  readonly pull: readonly CardFault[];
  /** Arm a power cut this many storage write points ahead, or null. */
  readonly powerCutAfterWrites: number | null;
  /** Start a line-noise burst lasting this many taps, or null. */
  readonly noiseBurstTaps: number | null;
  readonly pn532Fault: Pn532SimFault | null;
  /** Unplug the reader for this long (ms), or null. */
  readonly unplugMs: number | null;
  /** Fill the journal's medium (then free it after this many taps), or null. */
  readonly diskFullTaps: number | null;
  /** Step the wall clock by this much, or null. */
  readonly clockJumpMs: number | null;
  /** Push a parameter set and reboot before this tap, or null. */
  readonly paramsPush: 'newer' | 'rollback' | 'corrupt' | null;
  /** A PSAM fault at this tap, or null. */
  readonly psamFault: SwarmPsamFault | null;
}

/**
 * A PSAM fault: the PSAM pulled out of its slot for `outMs` before the card comes, or one
 * exchange of the tap's purchase failing (psam_port_sim.ts): INIT SAM FOR PURCHASE (INS 70,
 * before MAC1: nothing is debited yet) or CREDIT SAM FOR PURCHASE (INS 72: the card has
 * debited, the PSAM cannot check MAC2). A 'card-gone' exchange leaves the slot empty for
 * `outMs` (0: the contacts came back at once, the PSAM only lost power).
 */
export type SwarmPsamFault =
  | { readonly at: 'pulled'; readonly outMs: number }
  | { readonly at: 'exchange'; readonly ins: number; readonly fault: PsamExchangeFault;
    readonly outMs: number };

/**
 * Longest time the PSAM stays out. Shorter than a reboot (SWARM_REBOOT_MS, 20 s): a board that
 * starts after a power cut or a parameter push finds it back in its slot.
 */
export const SWARM_PSAM_OUT_MS_MAX = 15_000;

/** Error status words a PSAM answers to INIT SAM FOR PURCHASE (memory failure, conditions
 * not satisfied, no such key, no precise diagnosis). */
const PSAM_INIT_SW = [0x6581, 0x6985, 0x9403, 0x6f00] as const;
/** ... and to CREDIT SAM FOR PURCHASE (memory failure, conditions, MAC wrong, MAC invalid). */
const PSAM_CREDIT_SW = [0x6581, 0x6985, 0x6988, 0x9302] as const;

/** Longest time the reader stays unplugged. */
export const SWARM_UNPLUG_MS_MAX = 15_000;

/** Card kinds weighted as on a real line (a little more of the awkward ones). */
const CARD_WEIGHTS: ReadonlyArray<readonly [string, number]> = [
  ['unionpay-debit-ec', 24],
  ['unionpay-credit-ec', 10],
  ['unionpay-quasi-credit-ec', 5],
  ['phone-wallet', 10],
  ['social-security', 7],
  ['ec-insufficient', 3],
  ['new-card', 3],
  ['oda-online-no-ec', 3],
  ['cobadge-visa-unionpay', 4],
  ['expired', 2],
  ['deny-listed', 3],
  ['clone', 2],
  ['no-fdda', 2],
  ['slow-wtx', 2],
  ['revoked-issuer', 2],
];
const CARD_WEIGHT_TOTAL = CARD_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);

/**
 * T-Union kinds weighted likewise: mostly good interop cards, a local-only card (it keeps its
 * ride in 0019), a card too poor for a fare, and cards a validator must refuse.
 */
const TUNION_WEIGHTS: ReadonlyArray<readonly [TunionName, number]> = [
  ['tunion-interop-shenzhen', 30],
  ['tunion-interop-beijing', 15],
  ['tunion-interop-shanghai', 15],
  ['tunion-local-only', 15],
  ['tunion-low-balance', 5],
  ['tunion-blocked', 3],
  ['tunion-expired', 3],
];

/** The kind drawn from `weights` (the first kind when they sum to nothing). */
function drawKind<T extends string>(prng: Prng, weights: ReadonlyArray<readonly [T, number]>): T {
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  let pick = prng.below(Math.max(1, total));
  for (const [kind, weight] of weights) {
    if (pick < weight) return kind;
    pick -= weight;
  }
  const first = weights[0];
  if (first === undefined) throw new Error('no card kinds');
  return first[0];
}

/** A T-Union card of the pool, or null when the pool has none. */
function drawTunionCard(prng: Prng, pool: RiderPool): AnyRiderCard | null {
  const name = drawKind(prng, TUNION_WEIGHTS);
  const ofKind = pool.tunion.filter((c) => c.name === name);
  return ofKind[prng.below(Math.max(1, ofKind.length))] ?? pool.tunion[0] ?? null;
}

function drawCard(prng: Prng, pool: RiderPool): RiderCard {
  let pick = prng.below(CARD_WEIGHT_TOTAL);
  let name = 'unionpay-debit-ec';
  for (const [kind, weight] of CARD_WEIGHTS) {
    if (pick < weight) {
      name = kind;
      break;
    }
    pick -= weight;
  }
  const ofKind = pool.cards.filter((c) => c.name === name);
  const card = ofKind[prng.below(ofKind.length)] ?? pool.cards[0];
  if (card === undefined) throw new Error('empty rider pool');
  return card;
}

/** A card pulled at a random step: before or after command N, or after N bytes. */
function drawPull(prng: Prng): CardFault[] {
  const command = prng.between(1, 14);
  switch (prng.below(4)) {
    case 0:
      return [{ kind: 'remove-before-command', command }];
    case 1:
      return [{ kind: 'remove-after-command', command }];
    case 2:
      return [{ kind: 'remove-after-bytes', bytes: prng.between(8, 1400) }];
    default:
      return [{ kind: 'drop-response', command }];
  }
}

/** A one-shot PN532 fault (pn532_sim_faults.ts), on a card command or any command. */
function drawPn532Fault(prng: Prng): Pn532SimFault {
  const command = prng.chance(0.7) ? 0x40 : undefined;
  const on = command === undefined ? {} : { command };
  switch (prng.below(8)) {
    case 0:
      return { kind: 'ignore-command', ...on };
    case 1:
      return { kind: 'drop-ack', ...on };
    case 2:
      return { kind: 'no-response', ...on };
    case 3:
      return { kind: 'bad-checksum', times: prng.between(1, 3), ...on };
    case 4:
      return { kind: 'lose-response-bytes', offset: prng.below(12), count: prng.between(1, 4) };
    case 5:
      return { kind: 'noise-before-response', bytes: prng.bytes(prng.between(1, 6)), ...on };
    case 6:
      return { kind: 'error-frame', ...on };
    default:
      return { kind: 'error-status', status: prng.chance(0.5) ? 0x01 : 0x13, command: 0x40 };
  }
}

/**
 * A PSAM fault from its own stream (a fixed number of draws): pulled out before the card
 * (`mix.psamPulledShare` of them), else at CREDIT SAM FOR PURCHASE (`mix.psamCreditShare`)
 * or INIT SAM FOR PURCHASE; an exchange's card lost (half of those pulled for a while), mute
 * (its command run or not) or refused with an error status word, a third each.
 */
function drawPsamFault(prng: Prng, mix: SwarmMix): SwarmPsamFault {
  const pulled = prng.below(1000) < mix.psamPulledShare * 1000;
  const credit = prng.below(1000) < mix.psamCreditShare * 1000;
  const kind = prng.below(3);
  const outDraw = prng.between(200, SWARM_PSAM_OUT_MS_MAX);
  const pulledToo = prng.chance(0.5);
  const executed = prng.chance(0.5);
  const pick = prng.below(4);
  if (pulled) return { at: 'pulled', outMs: outDraw };
  const sw = (credit ? PSAM_CREDIT_SW : PSAM_INIT_SW)[pick] ?? 0x6f00;
  const fault: PsamExchangeFault = kind === 0 ? { kind: 'card-gone' }
    : kind === 1 ? { kind: 'mute', executed } : { kind: 'status', sw };
  const ins = credit ? INS_72_CREDIT_SAM_FOR_PURCHASE : INS_70_INIT_SAM_FOR_PURCHASE;
  const outMs = fault.kind === 'card-gone' && pulledToo ? outDraw : 0;
  return { at: 'exchange', ins, fault, outMs };
}

/** The streams of their own a tap plan draws from, beside the plan's (drawTapPlan). */
export interface SwarmTapStreams {
  readonly riders: Prng;
  readonly psam: Prng;
  readonly denied: Prng;
}

/** A deny-listed rider in place of the T-Union card drawn, `mix.tunionDeniedShare` of them. */
function drawDeniedInstead(denied: Prng, mix: SwarmMix, pool: RiderPool, tunion: AnyRiderCard)
  : AnyRiderCard {
  if (mix.tunionDeniedShare <= 0 || !denied.chance(mix.tunionDeniedShare)) return tunion;
  const listed = pool.tunion.filter((c) => c.name === 'tunion-deny-listed');
  return listed[denied.below(Math.max(1, listed.length))] ?? tunion;
}

/**
 * Draws the next tap from `prng` under `mix` (a fixed number of draws per tap per fault). The
 * rider of a T-Union tap (`mix.tunionShare`) is drawn from `streams.riders`, a stream of its
 * own, in place of the bank card `prng` drew: the plan stream's draws stay the same whatever
 * the share. A PSAM fault (`mix.psamFaultPerTap`) is drawn from `streams.psam`, and a
 * deny-listed rider in place of a T-Union one (`mix.tunionDeniedShare`) from `streams.denied`,
 * streams of their own likewise: a seed without them runs as it did before they came.
 */
export function drawTapPlan(
  prng: Prng,
  mix: SwarmMix,
  pool: RiderPool,
  streams: SwarmTapStreams,
): SwarmTapPlan {
  const { riders, psam, denied } = streams;
  const bank = drawCard(prng, pool);
  const drawn = riders.chance(mix.tunionShare) ? drawTunionCard(riders, pool) : null;
  const tunion = drawn === null ? null : drawDeniedInstead(denied, mix, pool, drawn);
  const card = tunion ?? bank;
  const gapMs = prng.between(150, mix.gapMsMax);
  const holdMs = prng.between(120, 700);
  const pull = prng.chance(mix.cardPullPerTap) ? drawPull(prng) : [];
  const cut = prng.chance(mix.powerCutPerTap) ? prng.between(1, 10) : null;
  const noise = prng.chance(mix.noiseBurstPerTap) ? prng.between(1, 6) : null;
  const pn532 = prng.chance(mix.pn532FaultPerTap) ? drawPn532Fault(prng) : null;
  const unplug = prng.chance(mix.unplugPerTap) ? prng.between(200, SWARM_UNPLUG_MS_MAX) : null;
  const disk = prng.chance(mix.diskFullPerTap) ? prng.between(1, 8) : null;
  const jumpDraw = prng.between(-3 * 86_400_000, 3 * 86_400_000);
  const jump = prng.chance(mix.clockJumpPerTap) ? jumpDraw : null;
  const pushDraw = prng.below(1000) / 1000;
  const push = !prng.chance(mix.paramsUpdatePerTap)
    ? null
    : pushDraw < mix.paramsRollbackShare
      ? 'rollback'
      : pushDraw < mix.paramsRollbackShare + mix.paramsCorruptShare
        ? 'corrupt'
        : 'newer';
  const psamFault = mix.psamFaultPerTap > 0 && psam.chance(mix.psamFaultPerTap)
    ? drawPsamFault(psam, mix) : null;
  return {
    card,
    gapMs,
    holdMs,
    pull,
    powerCutAfterWrites: cut,
    noiseBurstTaps: noise,
    pn532Fault: pn532,
    unplugMs: unplug,
    diskFullTaps: disk,
    clockJumpMs: jump,
    paramsPush: push,
    psamFault,
    idleKeepMs: prng.below(SWARM_IDLE_KEEP_MS),
  };
}
