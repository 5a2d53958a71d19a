// The card mixes: names and weights are sound, the realistic mix is mostly cards without EC and
// phones, and every genuine card of it offers the validator a way to authenticate it.

import { describe, expect, it } from 'vitest';
import {
  CARD_MIXES, POPULATION_KINDS, parsePopulationKind, type MixCardName,
} from '../../src/cards/card_mix.js';
import { POPULATION_NAMES, population } from '../../src/cards/card_population.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import { SM_CARD_NAMES } from '../../src/cards/sm_population.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { verifySsad } from './support/emv_verifier.js';
import {
  P1_ARQC,
  P1_CDA,
  cdolData,
  fullFlowValues,
  generateAcApdu,
  parseGenAc,
  recoverKeys,
  startFullFlow,
} from './support/full_flow_terminal.js';
import {
  DEFAULT_TAP,
  acType,
  runTap,
  send,
  tapValue,
  terminalOda,
} from './support/test_terminal.js';
import { findTag, parseTlv } from './support/tlv_walk.js';

/** Cards a correct validator refuses (or that test the refusal screens). */
const NOT_GENUINE: ReadonlySet<MixCardName> = new Set<MixCardName>([
  'expired',
  'deny-listed',
  'clone',
  'revoked-issuer',
  'no-fdda',
  'ec-insufficient',
]);

function isPopulationName(name: MixCardName): name is PopulationName {
  return (POPULATION_NAMES as readonly string[]).includes(name);
}

function share(kind: 'default' | 'realistic', pick: (name: PopulationName) => boolean): number {
  const mix = CARD_MIXES[kind];
  const total = mix.reduce((s, [, w]) => s + w, 0);
  const picked = mix.filter(([n]) => isPopulationName(n) && pick(n));
  return picked.reduce((s, [, w]) => s + w, 0) / total;
}

describe('card mixes', () => {
  it('everyMixNamesKnownCardsOnce_withPositiveWeights', () => {
    for (const kind of POPULATION_KINDS) {
      const names = CARD_MIXES[kind].map(([n]) => n);
      expect(new Set(names).size).toBe(names.length);
      for (const [name, weight] of CARD_MIXES[kind]) {
        expect([...POPULATION_NAMES, ...SM_CARD_NAMES]).toContain(name);
        expect(Number.isInteger(weight) && weight > 0).toBe(true);
      }
    }
  });

  it('parsePopulationKind_knownKinds_andAClearErrorOtherwise', () => {
    expect(parsePopulationKind('realistic')).toBe('realistic');
    expect(parsePopulationKind('default')).toBe('default');
    expect(() => parsePopulationKind('Realistic')).toThrow(/expected default, realistic, sm/);
  });

  it('realistic_mostlyCardsWithoutEcAndPhones_fewEcOnly', () => {
    const profiles = population(1).profiles;
    const up = (n: PopulationName) =>
      profiles[n].applications.find((a) => a.aidHex.startsWith('a000000333'));
    const noEc = share('realistic', (n) => up(n)?.ec === null);
    const phones = share(
      'realistic',
      (n) => profiles[n].rf.kind === 'A' && profiles[n].rf.uid.mode === 'random-per-tap',
    );
    const ecOnly = share('realistic', (n) => up(n)?.aidHex === 'a000000333010106');
    expect(noEc).toBeGreaterThan(0.7);
    expect(phones).toBeGreaterThan(0.15);
    expect(ecOnly).toBeLessThan(0.02);
    // The default mix stays the EC-heavy one the bus-run tests were built on.
    expect(share('default', (n) => up(n)?.ec === null)).toBeLessThan(0.3);
  });

  it('riderPool_realistic_holdsEveryKindOfTheMixPerGroup', () => {
    const pool = riderPool(5, 2, population(5).pki, 'realistic');
    expect(pool.cards).toHaveLength(2 * CARD_MIXES.realistic.length);
    expect(pool.mix).toBe(CARD_MIXES.realistic);
    expect(riderPool(5, 1, population(5).pki).mix).toBe(CARD_MIXES.default);
    expect(pool.smCapkTlvHex).toBeNull();
  });

  it('riderPool_sm_holdsTheSmCardsOfEveryGroup_chainedToOneSmCaKey', () => {
    const pool = riderPool(5, 2, population(5).pki, 'sm');
    const sm = pool.cards.filter((c) => (SM_CARD_NAMES as readonly string[]).includes(c.name));
    expect(sm.map((c) => c.name).sort()).toEqual([...SM_CARD_NAMES, ...SM_CARD_NAMES].sort());
    // Distinct cards (PANs), one SM CA key for the run (one index on a validator).
    expect(new Set(sm.map((c) => c.card.profile.applications[0]?.pan)).size).toBe(6);
    expect(pool.smCapkTlvHex).toMatch(/^[0-9A-F]+$/i);
  });
});

/**
 * How a validator in auto mode can take `name` (domain.md 6): an EC TC with fDDA, online ODA
 * (DF61 + TTQ "ODA for online") with fDDA, or the full flow's ODA step then an ARQC.
 */
function wayToPay(name: PopulationName, seed: number): string {
  const pop = population(seed);
  const card = pop.card(name);
  card.powerOn();
  const aid =
    card.profile.applications.find((a) => a.aidHex.startsWith('a000000333'))?.aidHex ?? '';
  const ec = runTap(card, aid, { ...DEFAULT_TAP, ttqHex: '28000080' });
  if (acType(ec) === 'TC' && terminalOda(ec, pop.pki.caKeys, aid).ok) return 'ec';
  card.powerOn();
  const select = parseTlv(send(card, `00A4040008${aid}00`).data);
  const df61 = findTag(select, 0xdf61)?.value[0] ?? 0;
  if ((df61 & 0x40) !== 0) {
    const oda = runTap(card, aid, { ...DEFAULT_TAP, ttqHex: '21800080' });
    const ok = acType(oda) === 'ARQC' && terminalOda(oda, pop.pki.caKeys, aid).ok;
    return ok ? 'online-oda' : 'online-oda failed';
  }
  const start = startFullFlow(card, aid);
  const keys = recoverKeys(start, pop.pki.caKeys, aid);
  if (typeof keys === 'string') return `full flow: ${keys}`;
  const ssad = tapValue(start.tap, 0x93);
  const sda =
    ssad !== undefined && typeof verifySsad(keys.issuer, ssad, keys.staticData) !== 'string';
  const genAc = send(
    card,
    generateAcApdu(P1_ARQC | P1_CDA, cdolData(start, 0x8c, fullFlowValues(start.tap.input))),
  );
  const cid = genAc.sw === 0x9000 ? parseGenAc(genAc).cid : -1;
  return (sda || keys.icc !== null) && cid === 0x80 ? 'full-flow' : 'full flow refused';
}

describe('every genuine card of the realistic mix offers a way to pay', () => {
  for (const [name] of CARD_MIXES.realistic) {
    if (NOT_GENUINE.has(name) || !isPopulationName(name)) continue;
    it(`${name}_hasAWayToPay`, () => {
      expect(wayToPay(name, 3)).toMatch(/^(ec|online-oda|full-flow)$/);
    });
  }
});
