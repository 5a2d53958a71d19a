// APPLICATION BLOCK of a deny-listed T-Union card through the built kernel, the PSAM emulator
// (80 1A / 80 FA) and the virtual card: the APDUs rebuilt here from domain.md 7.6 and S:MZT
// CPUCARJTB.c `operat_Black`, the MAC recomputed by an independent node:crypto implementation
// (PBOC two-level diversification root → issuer → card serial, ISO 9797-1 MAC algorithm 3 of
// one block with IV = challenge ‖ 00000000), bad PSAM and card answers, and the next tap refused.

import { createCipheriv, createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import type { CardOutcome, Jtt978Outcome } from '../host/jtt978_session.js';
import { tunionCard } from '../../host-sim/src/cards/tunion_population.js';
import { TEST_ISSUER_ID, testPsamProfile } from '../../host-sim/src/psam/psam_profile.js';
import { configureRig, hex, RigPsam, tap, type RigFault } from './support/jtt978_rig.js';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
  configureRig(kernel);
});

// Independent crypto: node:crypto two-key 3DES only.
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
function ede(key16: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('des-ede-ecb', key16, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}
const diversify = (k: Uint8Array, d: Uint8Array): Uint8Array =>
  Uint8Array.of(
    ...ede(k, d),
    ...ede(
      k,
      d.map((b) => b ^ 0xff),
    ),
  );
const ROOT = new Uint8Array(
  createHash('sha256').update('shuaka TEST key maintenance-root').digest().subarray(0, 16),
);
/** Retail MAC of one block: with a single block the CBC part is empty, 3DES(K, IV ⊕ block). */
function blockMac(serial20: string, challenge: Uint8Array, p2: number): string {
  const damk = diversify(diversify(ROOT, TEST_ISSUER_ID), bytes(serial20).subarray(2));
  const block = Uint8Array.of(0x84, 0x1e, 0x00, p2, 0x04, 0x80, 0x00, 0x00);
  const iv = Uint8Array.of(...challenge, 0, 0, 0, 0);
  return hex(
    ede(
      damk,
      block.map((b, i) => b ^ (iv[i] ?? 0)),
    ).subarray(0, 4),
  );
}

const BEIJING_SERIAL = '10000000000000000042';
const DENY = { decide: () => ({ kind: 'deny-list' as const }) };

function jtt(result: CardOutcome): Jtt978Outcome {
  if (result.app !== 'jtt978') throw new Error(`not a JT/T 978 outcome: ${result.app}`);
  return result.outcome;
}
const summary = (o: Jtt978Outcome) => [o.kind, o.reason, o.blocked, o.detail];
const sw = (value: number) => (): Uint8Array => Uint8Array.of(value >> 8, value & 0xff);

/** Index of the card's GET CHALLENGE in the transcript (the block chain starts there). */
function challengeAt(result: CardOutcome): number {
  return result.transcript.findIndex((e) => e.device === 'card' && e.capdu[1] === 0x84);
}

async function deny(seed: number, faults: readonly RigFault[] = [], psam?: RigPsam) {
  const card = tunionCard(seed, 'tunion-interop-beijing');
  const { result } = await tap(kernel, card, psam ?? new RigPsam(TEST_ISSUER_ID), DENY, faults);
  return { card, result };
}

describe('APPLICATION BLOCK of a deny-listed T-Union card', () => {
  it('sends the MZT sequence byte for byte with a MAC that verifies; the card is blocked', async () => {
    const { card, result } = await deny(21);
    expect(summary(jtt(result))).toEqual(['declined', 'deny-list', true, 0x9000]);
    const at = challengeAt(result);
    const chain = result.transcript.slice(at);
    const challenge = chain[0]?.rapdu?.subarray(0, 4) ?? new Uint8Array(0);
    expect(hex(chain[0]?.rapdu ?? new Uint8Array(0)).slice(8)).toBe('9000');
    const serial8 = BEIJING_SERIAL.slice(4);
    const mac = blockMac(BEIJING_SERIAL, challenge, 0x00);
    expect(chain.map((e) => `${e.device} ${hex(e.capdu)}`)).toEqual([
      'card 0084000004',
      `psam 801A450210${serial8}${hex(TEST_ISSUER_ID)}`,
      `psam 80FA050010${hex(challenge)}00000000841E00000480000004`,
      'psam 00C0000004',
      `card 841E000004${mac}`,
    ]);
    expect(hex(chain[3]?.rapdu ?? new Uint8Array(0))).toBe(`${mac}9000`);
    expect(card.blocked()).toBe(true);
    expect(card.debits()).toHaveLength(0);
  });

  it('the blocked card is refused on the next tap at SELECT (6283), with no PSAM exchange', async () => {
    const { card } = await deny(22);
    const psam = new RigPsam(TEST_ISSUER_ID);
    const next = await tap(kernel, card, psam, {});
    expect([jtt(next.result).reason, jtt(next.result).detail]).toEqual(['card-blocked', 0x6283]);
    expect(next.result.transcript.filter((e) => e.device === 'psam')).toHaveLength(0);
    expect(card.debits()).toHaveLength(0);
  });

  it('a wrong MAC from the PSAM: the card answers 6988 and stays usable', async () => {
    const flip = (r: Uint8Array): Uint8Array => r.map((b, i) => (i === 0 ? b ^ 0x01 : b));
    // PSAM exchange 1 is 80 1A, 2 is 80 FA (61 04), 3 the GET RESPONSE carrying the MAC.
    const { card, result } = await deny(23, [{ device: 'psam', exchange: 3, replace: flip }]);
    expect(summary(jtt(result))).toEqual(['declined', 'deny-list', false, 0x6988]);
    expect(card.blocked()).toBe(false);
    const again = await tap(kernel, card, new RigPsam(TEST_ISSUER_ID), {});
    expect(jtt(again.result).kind).toBe('approved');
  });

  it('a PSAM without the maintenance key (9403) declines the card, unblocked', async () => {
    const psam = new RigPsam(TEST_ISSUER_ID, testPsamProfile({ maintenanceKeys: [] }));
    const { card, result } = await deny(24, [], psam);
    expect(summary(jtt(result))).toEqual(['declined', 'deny-list', false, 0x9403]);
    expect(card.blocked()).toBe(false);
    expect(result.transcript.at(-1)?.capdu.subarray(0, 2)).toEqual(Uint8Array.of(0x80, 0x1a));
  });

  // The last column: whether the card itself blocked (a replaced answer after it processed).
  const BAD: ReadonlyArray<readonly [string, RigFault, number, boolean]> = [
    ['GET CHALLENGE 6D00', { device: 'card', exchange: 0, replace: sw(0x6d00) }, 0x6d00, false],
    ['80 FA 6985', { device: 'psam', exchange: 2, replace: sw(0x6985) }, 0x6985, false],
    [
      'MAC of 2 bytes',
      { device: 'psam', exchange: 3, replace: () => bytes('AABB9000') },
      0x9000,
      false,
    ],
    [
      'APPLICATION BLOCK answer 6A86',
      { device: 'card', exchange: 1, replace: sw(0x6a86) },
      0x6a86,
      true,
    ],
  ];
  it.each(BAD)('%s: DECLINED deny-list, not reported blocked', async (_, f, detail, cardSide) => {
    // Card exchanges before the chain vary with the selection; count from GET CHALLENGE.
    const probe = await deny(25);
    const before = probe.result.transcript
      .slice(0, challengeAt(probe.result))
      .filter((e) => e.device === 'card').length;
    const fault = f.device === 'card' ? { ...f, exchange: before + 1 + f.exchange } : f;
    const { card, result } = await deny(26, [fault]);
    expect(summary(jtt(result))).toEqual(['declined', 'deny-list', false, detail]);
    expect(card.blocked()).toBe(cardSide);
  });

  it('the card leaves during the chain: DECLINED deny-list with the link cause, no block', async () => {
    const { card, result } = await deny(27, [{ device: 'psam', exchange: 1, cut: 'before' }]);
    const o = jtt(result);
    expect([o.kind, o.reason, o.blocked]).toEqual(['declined', 'deny-list', false]);
    expect(o.detail).toBeLessThan(0);
    expect(card.blocked()).toBe(false);
  });
});
