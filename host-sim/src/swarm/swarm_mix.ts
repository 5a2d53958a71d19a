// Swarm testing: each seed draws its own mix of faults and their intensities.
//
// A run with every fault at once tends to hide the bugs one fault finds alone (a power cut
// every tap never lets a torn tap reach its re-tap). Like the VOPR's swarm mode, each seed
// switches a random subset of the allowed faults on and draws how often each one fires.

import type { Prng } from '../prng.js';
import type { SwarmFault } from './swarm_options.js';

/** Per-tap probabilities of each fault (0 = off for this seed). */
export interface SwarmMix {
  readonly powerCutPerTap: number;
  readonly cardPullPerTap: number;
  /** Chance a noise burst starts at a tap, and its byte loss/flip ratio while it lasts. */
  readonly noiseBurstPerTap: number;
  readonly noiseRatio: number;
  readonly pn532FaultPerTap: number;
  readonly unplugPerTap: number;
  readonly diskFullPerTap: number;
  readonly clockJumpPerTap: number;
  readonly paramsUpdatePerTap: number;
  /** Share of parameter updates that bring an older signed set, and a corrupt one. */
  readonly paramsRollbackShare: number;
  readonly paramsCorruptShare: number;
  /** Riders who tap again at once after a bad tap (as the screen asks). */
  readonly reTapChance: number;
  /** Idle gap before a tap, ms (short: the swarm is about events, not waiting). */
  readonly gapMsMax: number;
  /** Chance a depot call fails, and that a stored batch's answer is lost. */
  readonly depotFailChance: number;
  readonly depotLostAnswerChance: number;
  /** Chance a boot meets a depot outage (every call fails for a while: a backlog builds). */
  readonly depotOutagePerBoot: number;
  /** Records per upload batch: small ones make a pass of many batches, acked as it goes. */
  readonly uploadBatchRecords: number;
  /** The uploader's pause between good contacts, ms of the board's (unskipped) time. */
  readonly depotContactMs: number;
  /** The journal's segment size: small ones are written, checkpointed and reclaimed often. */
  readonly segmentBytes: number;
  /**
   * Share of taps made with a T-Union (JT/T 978) card instead of a bank card: a rider, not a
   * fault, so the quiet tail keeps it (swarm_session.ts).
   */
  readonly tunionShare: number;
  /**
   * Share of the T-Union taps made with a card on the parameter set's deny list (the rider's
   * card is blocked at its first tap, refused afterwards); a rider like tunionShare. Zero for
   * half the seeds, which run as they did before deny-listed riders came.
   */
  readonly tunionDeniedShare: number;
  /**
   * Chance a tap comes with a PSAM fault (swarm_events.ts, drawPsamFault): at one of the
   * tap's two PSAM purchase commands, or the PSAM pulled out for a while.
   */
  readonly psamFaultPerTap: number;
  /** Share of PSAM faults that pull the PSAM out before the card (the rest fail an exchange). */
  readonly psamPulledShare: number;
  /** Share of the failed exchanges at CREDIT SAM FOR PURCHASE (the card has debited). */
  readonly psamCreditShare: number;
}

/** Shares of T-Union taps a seed draws from, in hundredths: 5 % to 40 %, uniform. */
export const SWARM_TUNION_SHARE_PERCENT = { low: 5, high: 40 } as const;

/** Batch sizes a seed draws from (the contract's 500, and passes of many small batches). */
export const SWARM_UPLOAD_BATCH_RECORDS = [4, 32, 500] as const;

/** Segment sizes a seed draws from (the journal's own floor is two maximal frames). */
export const SWARM_SEGMENT_BYTES = [16 << 10, 32 << 10, 64 << 10] as const;

/** The mix with every fault off (the quiet tail of a run, and a clean baseline). */
export const SWARM_MIX_QUIET: SwarmMix = {
  powerCutPerTap: 0,
  cardPullPerTap: 0,
  noiseBurstPerTap: 0,
  noiseRatio: 0,
  pn532FaultPerTap: 0,
  unplugPerTap: 0,
  diskFullPerTap: 0,
  clockJumpPerTap: 0,
  paramsUpdatePerTap: 0,
  paramsRollbackShare: 0,
  paramsCorruptShare: 0,
  reTapChance: 0.9,
  gapMsMax: 600,
  depotFailChance: 0,
  depotLostAnswerChance: 0,
  depotOutagePerBoot: 0,
  uploadBatchRecords: 500,
  depotContactMs: 5_000,
  segmentBytes: 64 << 10,
  tunionShare: 0,
  tunionDeniedShare: 0,
  psamFaultPerTap: 0,
  psamPulledShare: 0,
  psamCreditShare: 0,
};

/** A rate drawn on a log scale between `low` and `high`: some seeds rarely, some very often. */
function logRate(prng: Prng, low: number, high: number): number {
  return low * Math.pow(high / low, prng.below(1001) / 1000);
}

/** Draws the seed's mix over `allowed` faults: each on with probability 2/3, then its rate. */
export function drawSwarmMix(prng: Prng, allowed: readonly SwarmFault[]): SwarmMix {
  const on = (fault: SwarmFault): boolean => allowed.includes(fault) && prng.chance(2 / 3);
  const rate = (low: number, high: number): number => logRate(prng, low, high);
  const pick = (fault: SwarmFault, low: number, high: number): number =>
    on(fault) ? rate(low, high) : 0;
  return {
    powerCutPerTap: pick('power-cut', 0.005, 0.15),
    cardPullPerTap: pick('card-pull', 0.02, 0.4),
    noiseBurstPerTap: pick('line-noise', 0.01, 0.1),
    noiseRatio: rate(0.0005, 0.01),
    pn532FaultPerTap: pick('pn532', 0.01, 0.2),
    unplugPerTap: pick('unplug', 0.002, 0.03),
    diskFullPerTap: pick('disk-full', 0.002, 0.03),
    clockJumpPerTap: pick('clock-jump', 0.005, 0.05),
    paramsUpdatePerTap: pick('params', 0.005, 0.04),
    paramsRollbackShare: prng.below(101) / 200,
    paramsCorruptShare: prng.below(101) / 200,
    reTapChance: 0.5 + prng.below(51) / 100,
    gapMsMax: prng.chance(0.5) ? 300 : 3000,
    ...drawDepotMix(prng, on('depot')),
    // Drawn last, so a seed's faults are those it drew before T-Union riders came.
    tunionShare: drawTunionShare(prng),
    // After the share, so a seed draws what it drew before PSAM faults came.
    ...drawPsamMix(prng, on('psam')),
    // After the PSAM's, so a seed draws what it drew before deny-listed riders came.
    tunionDeniedShare: prng.chance(1 / 2) ? (2 + prng.below(9)) / 100 : 0,
  };
}

/** The quiet tail's mix: no fault, the seed's riders. */
export function swarmMixQuiet(mix: SwarmMix): SwarmMix {
  return { ...SWARM_MIX_QUIET, tunionShare: mix.tunionShare,
    tunionDeniedShare: mix.tunionDeniedShare };
}

/**
 * The PSAM's faults: how often, how many of them pull it out (0 to a half), how many of the
 * failed exchanges fail after the card's DEBIT (a quarter to three quarters).
 */
function drawPsamMix(prng: Prng, on: boolean)
  : Pick<SwarmMix, 'psamFaultPerTap' | 'psamPulledShare' | 'psamCreditShare'> {
  if (!on) return { psamFaultPerTap: 0, psamPulledShare: 0, psamCreditShare: 0 };
  return {
    psamFaultPerTap: logRate(prng, 0.02, 0.3),
    psamPulledShare: prng.below(51) / 100,
    psamCreditShare: (25 + prng.below(51)) / 100,
  };
}

/** The seed's share of T-Union taps (SWARM_TUNION_SHARE_PERCENT). */
function drawTunionShare(prng: Prng): number {
  const { low, high } = SWARM_TUNION_SHARE_PERCENT;
  return (low + prng.below(high - low + 1)) / 100;
}

/** The depot link's faults (drawn last, so the other faults of a seed stay as they were). */
function drawDepotMix(
  prng: Prng,
  faulty: boolean,
): Pick<
  SwarmMix,
  | 'depotFailChance'
  | 'depotLostAnswerChance'
  | 'depotOutagePerBoot'
  | 'uploadBatchRecords'
  | 'depotContactMs'
  | 'segmentBytes'
> {
  const rate = (low: number, high: number): number => logRate(prng, low, high);
  return {
    depotFailChance: faulty ? rate(0.02, 0.5) : 0,
    depotLostAnswerChance: faulty ? rate(0.02, 0.3) : 0,
    depotContactMs: Math.round(rate(10_000, 60_000)),
    segmentBytes: SWARM_SEGMENT_BYTES[prng.below(SWARM_SEGMENT_BYTES.length)] ?? 64 << 10,
    depotOutagePerBoot: faulty ? prng.below(101) / 100 : 0,
    uploadBatchRecords:
      SWARM_UPLOAD_BATCH_RECORDS[prng.below(SWARM_UPLOAD_BATCH_RECORDS.length)] ?? 500,
  };
}

/** One line for the report: which faults this seed drew, and how hard. */
export function describeMix(mix: SwarmMix): string {
  const parts: string[] = [];
  const add = (name: string, perTap: number): void => {
    if (perTap > 0) parts.push(`${name} ${(perTap * 100).toFixed(1)}%`);
  };
  add('power-cut', mix.powerCutPerTap);
  add('card-pull', mix.cardPullPerTap);
  if (mix.noiseBurstPerTap > 0) {
    parts.push(`line-noise ${(mix.noiseBurstPerTap * 100).toFixed(1)}% at ${mix.noiseRatio}`);
  }
  add('pn532', mix.pn532FaultPerTap);
  add('unplug', mix.unplugPerTap);
  add('disk-full', mix.diskFullPerTap);
  add('clock-jump', mix.clockJumpPerTap);
  add('params', mix.paramsUpdatePerTap);
  add('depot-fail', mix.depotFailChance);
  add('depot-lost-answer', mix.depotLostAnswerChance);
  if (mix.depotOutagePerBoot > 0) parts.push(`depot-outage ${mix.depotOutagePerBoot} a boot`);
  if (mix.psamFaultPerTap > 0) {
    const pulled = Math.round(mix.psamPulledShare * 100);
    const credit = Math.round(mix.psamCreditShare * 100);
    parts.push(`psam ${(mix.psamFaultPerTap * 100).toFixed(1)}% (${pulled}% pulled, `
      + `${credit}% of the others after DEBIT)`);
  }
  const faults = parts.length === 0 ? 'no faults' : parts.join(', ');
  const denied = mix.tunionDeniedShare > 0
    ? ` (${Math.round(mix.tunionDeniedShare * 100)}% of them deny-listed)` : '';
  return `${faults}; T-Union taps ${Math.round(mix.tunionShare * 100)}%${denied}`;
}
