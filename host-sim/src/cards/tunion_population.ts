// Named virtual T-Union cards (JT/T 978): several cities, interop flag set and unset, low
// balances, a blocked card, an expired one, and a good card whose number a deny list names.
// Registered beside the qPBOC population: tests and the bus run build them by name from one
// seed.

import { Prng } from '../prng.js';
import { createTunionCard, type TunionCard, type TunionProfile } from './tunion_card.js';

export const TUNION_NAMES = [
  'tunion-interop-shenzhen',
  'tunion-interop-beijing',
  'tunion-interop-shanghai',
  'tunion-local-only',
  'tunion-low-balance',
  'tunion-blocked',
  'tunion-expired',
  'tunion-deny-listed',
] as const;

export type TunionName = (typeof TUNION_NAMES)[number];

/**
 * The cards of a rider pool's group (bus_riders.ts): all but the deny-listed card, which only
 * a run that puts its number on the parameter set's deny list rides (the swarm).
 */
export const TUNION_POOL_NAMES: readonly TunionName[] =
  TUNION_NAMES.filter((name) => name !== 'tunion-deny-listed');

const BASE = {
  startDate: '20240101',
  expiryDate: '20991231',
  province: '4400',
  city: '4403',
  interop: true,
  cardCategory: 0x01,
  balanceMinor: 5_000,
  atc: 0x0010,
  keyIndex: 0x01,
  keyVersion: 0x01,
} as const;

/** The profiles, one per name (application serials differ, so keys and UIDs differ). */
export const TUNION_PROFILES: Readonly<Record<TunionName, TunionProfile>> = {
  'tunion-interop-shenzhen': {
    ...BASE,
    label: 'tunion-interop-shenzhen',
    applicationSerial: '03105170070104791381',
  },
  'tunion-interop-beijing': {
    ...BASE,
    label: 'tunion-interop-beijing',
    applicationSerial: '10000000000000000042',
    province: '1100',
    city: '1100',
    balanceMinor: 12_345,
  },
  'tunion-interop-shanghai': {
    ...BASE,
    label: 'tunion-interop-shanghai',
    applicationSerial: '20000000000000000077',
    province: '3100',
    city: '3100',
  },
  'tunion-local-only': {
    ...BASE,
    label: 'tunion-local-only',
    applicationSerial: '03105170070104790001',
    interop: false,
  },
  'tunion-low-balance': {
    ...BASE,
    label: 'tunion-low-balance',
    applicationSerial: '03105170070104790002',
    balanceMinor: 150,
  },
  'tunion-blocked': {
    ...BASE,
    label: 'tunion-blocked',
    applicationSerial: '03105170070104790003',
    blocked: true,
  },
  'tunion-expired': {
    ...BASE,
    label: 'tunion-expired',
    applicationSerial: '03105170070104790004',
    expiryDate: '20231231',
    startDate: '20180101',
  },
  // A good card: only the deny list refuses it (and the validator blocks it).
  'tunion-deny-listed': {
    ...BASE,
    label: 'tunion-deny-listed',
    applicationSerial: '03105170070104790005',
  },
};

/** Builds the card `name`; its random numbers come from `seed` (forked per name). */
export function tunionCard(seed: number, name: TunionName): TunionCard {
  return createTunionCard(TUNION_PROFILES[name], new Prng(seed).fork(name));
}

/**
 * The card `name` of rider group `group` (0..99): the profile's application serial with the
 * group in digits 13-14, so every group holds its own card numbers, keys and UIDs (the UID is
 * the serial's last 8 digits). Random numbers from `seed`, forked per name and group.
 */
export function tunionCardOfGroup(seed: number, name: TunionName, group: number): TunionCard {
  if (!Number.isInteger(group) || group < 0 || group > 99) throw new RangeError(`group ${group}`);
  const profile = TUNION_PROFILES[name];
  const serial = profile.applicationSerial;
  const applicationSerial = `${serial.slice(0, 12)}${group.toString().padStart(2, '0')}${
    serial.slice(14)}`;
  return createTunionCard({ ...profile, applicationSerial },
    new Prng(seed).fork(`${name}/${group}`));
}
