// JT/T 978 compound purchase through the built kernel: the golden APDU sequence rebuilt here
// from domain.md 7 byte layouts, MAC1 / MAC2 / TAC recomputed by an independent node:crypto
// implementation (single DES as EDE with K = K1 = K2, CBC-MAC ISO 9797-1 algorithm 1, padding
// method 2; PBOC key diversification), and the selection step's AID routing and priorities.

import { createCipheriv, createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import { JTT978_REASONS, type Jtt978Outcome } from '../host/jtt978_session.js';
import { configureQpboc, UNIONPAY_AIDS } from '../host/qpboc_session.js';
import { tunionCard, TUNION_PROFILES } from '../../host-sim/src/cards/tunion_population.js';
import { TUNION_AID, type TunionCard } from '../../host-sim/src/cards/tunion_card.js';
import { TEST_ISSUER_ID } from '../../host-sim/src/psam/psam_profile.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import {
  configureRig,
  hex,
  PSAM_PROFILE,
  RigPsam,
  record001a,
  record001e,
  tap,
} from './support/jtt978_rig.js';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
});

// Independent crypto (node:crypto only): DES, CBC-MAC, diversification, session key.
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
function ede(key16: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv('des-ede-ecb', key16, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}
const des = (key8: Uint8Array, block: Uint8Array): Uint8Array =>
  ede(Uint8Array.of(...key8, ...key8), block);
function cbcMac(key8: Uint8Array, data: Uint8Array): string {
  const padded = new Uint8Array(Math.floor(data.length / 8) * 8 + 8);
  padded.set(data);
  padded[data.length] = 0x80;
  let chain: Uint8Array = new Uint8Array(8);
  for (let at = 0; at < padded.length; at += 8) {
    chain = des(
      key8,
      chain.map((b, i) => b ^ (padded[at + i] ?? 0)),
    );
  }
  return hex(chain.subarray(0, 4));
}
const diversify = (k: Uint8Array, d: Uint8Array): Uint8Array =>
  Uint8Array.of(
    ...ede(k, d),
    ...ede(
      k,
      d.map((b) => b ^ 0xff),
    ),
  );
const root = (label: string): Uint8Array =>
  new Uint8Array(createHash('sha256').update(`shuaka TEST key ${label}`).digest().subarray(0, 16));
function cardKey(label: string, serial20: string): Uint8Array {
  return diversify(diversify(root(label), TEST_ISSUER_ID), bytes(serial20).subarray(2));
}

/** Every C-APDU of the tap, hex, by device. */
function sent(result: Awaited<ReturnType<typeof tap>>['result']): string[] {
  return result.transcript.map((e) => `${e.device} ${hex(e.capdu)}`);
}

function jtt(result: Awaited<ReturnType<typeof tap>>['result']): Jtt978Outcome {
  if (result.app !== 'jtt978') throw new Error(`not a JT/T 978 outcome: ${result.app}`);
  return result.outcome;
}

describe('JT/T 978 compound purchase', () => {
  it('sends the domain.md 7.4 sequence byte for byte, with MACs and TAC that verify', async () => {
    configureRig(kernel);
    const card = tunionCard(7, 'tunion-interop-shenzhen');
    const psam = new RigPsam(TEST_ISSUER_ID);
    const serialBefore = psam.inner.nextTerminalSerial();
    const { result, greys } = await tap(kernel, card, psam, {});
    const outcome = jtt(result);
    expect(outcome.kind).toBe('approved');
    const r = outcome.record;
    if (r === null) throw new Error('no record');
    const sn = TUNION_PROFILES['tunion-interop-shenzhen'].applicationSerial;
    const amount = '000000C8';
    const dateTime = '20261203102030';
    const a1a = hex(record001a(2, 200));
    const a1e = hex(record001e(200));
    const serial = serialBefore.toString(16).padStart(8, '0').toUpperCase();
    const init = `${hex(TEST_ISSUER_ID)}`;
    // MAC1 over amount ‖ type ‖ terminal ‖ date-time under SESPK = 3DES(DPK, random ‖ ATC ‖
    // serial low 2); MAC2 over the amount; TAC under DTK_L XOR DTK_R with the serial.
    const dpk = cardKey('purchase-root', sn);
    const session = ede(dpk, bytes(`${r.cardRandom}0010${serial.slice(4)}`));
    const terminal = hex(PSAM_PROFILE.terminalNumber);
    const mac1 = cbcMac(session, bytes(`${amount}09${terminal}${dateTime}`));
    const mac2 = cbcMac(session, bytes(amount));
    const dtk = cardKey('tac-root', sn);
    const tacKey = dtk.subarray(0, 8).map((b, i) => b ^ (dtk[8 + i] ?? 0));
    const tac = cbcMac(tacKey, bytes(`${amount}09${terminal}${serial}${dateTime}`));
    expect([r.mac1, r.mac2, r.tac]).toEqual([mac1, mac2, tac]);
    expect(sent(result)).toEqual([
      'card 00A404000E325041592E5359532E444446303100',
      'card 00A4040007A000000333010100',
      'card 00A4040008A000000632010105',
      'card 00B095001E',
      'card 00B097000B',
      'card 805C000204',
      'card 00B202D400',
      `card 805003020B01${amount}${terminal}0F`,
      `psam 8070000024${r.cardRandom}0010${amount}09${dateTime}0100${sn.slice(4)}${init}08`,
      'psam 00C0000008',
      `card 80DC02D080${a1a}`,
      `card 80DC00F030${a1e}`,
      `card 805401000F${serial}${dateTime}${mac1}08`,
      `psam 8072000004${mac2}`,
    ]);
    expect(outcome.balanceMinor).toBe(4800);
    expect(card.balanceMinor()).toBe(4800);
    expect(card.atc()).toBe(0x11);
    expect(hex(card.record(0x1a, 2) ?? new Uint8Array(0))).toBe(a1a);
    expect(hex(card.record(0x1e, 1) ?? new Uint8Array(0))).toBe(a1e);
    // The 0018 log entry: ATC, overdraft, amount, type 09, terminal, date-time (23 bytes).
    expect(hex(card.log()[0] ?? new Uint8Array(0))).toBe(
      `0011000000${amount}09${terminal}${dateTime}`,
    );
    expect(r.mac2Verified).toBe(true);
    // The grey record handed over before DEBIT is the final record before DEBIT's answer.
    expect(greys).toHaveLength(1);
    const grey = greys[0] ?? new Uint8Array(0);
    expect(grey[2]).toBe(1);
    expect(hex(grey.subarray(3, 63))).toBe(hex((outcome.recordBytes ?? grey).subarray(3, 63)));
    expect(kernel.faultCount()).toBe(0);
  });

  it('hands the host files 0015/0017, the balance and the 001A record at the decision', async () => {
    configureRig(kernel);
    const card = tunionCard(8, 'tunion-interop-beijing');
    const psam = new RigPsam(TEST_ISSUER_ID);
    await tap(kernel, card, psam, {});
    const seen: unknown[] = [];
    await tap(kernel, card, psam, {
      decide: (data) => {
        seen.push({ ...data, file0015: hex(data.file0015), file0017: hex(data.file0017) });
        return { kind: 'refused' };
      },
    });
    expect(seen).toEqual([
      expect.objectContaining({
        aid: 'A000000632010105',
        issuerId: '01011000FFFFFFFF',
        applicationType: 2,
        applicationSerial: '10000000000000000042',
        startDate: '20240101',
        expiryDate: '20991231',
        province: '1100',
        city: '1100',
        interop: true,
        balanceMinor: 12_145,
        recordSfi: 0x1a,
        record: record001a(2, 200),
      }),
    ]);
  });

  it('reads 0019 for a local card and runs a simple purchase (06) without cache updates', async () => {
    configureRig(kernel);
    const card = tunionCard(9, 'tunion-local-only');
    const psam = new RigPsam(TEST_ISSUER_ID);
    const { result } = await tap(kernel, card, psam, {
      decide: (data) => {
        expect([data.recordSfi, data.interop, data.record.length]).toEqual([0x19, false, 0]);
        return { kind: 'purchase', amountMinor: 100, type: 'simple', updates: [] };
      },
    });
    expect(sent(result)).toContain('card 00B202CC00');
    expect(sent(result).some((c) => c.startsWith('card 805001020B'))).toBe(true);
    expect(jtt(result).kind).toBe('approved');
    expect(jtt(result).record?.transactionType).toBe(6);
    expect(card.balanceMinor()).toBe(4900);
  });

  it('routes by AID: a terminal priority (DF8124) puts T-Union before UnionPay', async () => {
    configureRig(kernel);
    const tunion = { aid: TUNION_AID, partialMatch: false };
    const entries = [...UNIONPAY_AIDS, tunion];
    // Encoded by hand: E1 {4F, DF8120, DF8124 priority}; T-Union 1, UnionPay 2.
    const e1 = (aid: Uint8Array, partial: number, priority: number): string => {
      const body = `4F${aid.length.toString(16).padStart(2, '0')}${hex(aid)}DF812001${partial
        .toString(16)
        .padStart(2, '0')}DF812401${priority.toString(16).padStart(2, '0')}`;
      return `E1${(body.length / 2).toString(16).padStart(2, '0')}${body}`;
    };
    const config = bytes(
      `9F1A0201565F2A020156${e1(entries[0]?.aid ?? TUNION_AID, 1, 2)}${e1(TUNION_AID, 0, 1)}`,
    );
    expect(kernel.step(0x50, 0, config)).toBe(0);
    const card = coBadged(tunionCard(10, 'tunion-interop-shanghai'));
    const psam = new RigPsam(TEST_ISSUER_ID);
    const { result } = await tap(kernel, card, psam, {});
    // The card's own priorities (87) name UnionPay first; the parameters win.
    expect(sent(result).slice(0, 2)).toEqual([
      'card 00A404000E325041592E5359532E444446303100',
      'card 00A4040008A000000632010105',
    ]);
    expect(jtt(result).kind).toBe('approved');
    configureQpboc(kernel, { countryCode: '0156', currencyCode: '0156', aids: entries });
    const second = await tap(kernel, card, psam, {});
    expect(sent(second.result).slice(1, 3)).toEqual([
      'card 00A4040008A00000033301010100',
      'card 00A4040008A000000632010105',
    ]);
    expect(jtt(second.result).kind).toBe('approved');
  });

  it('keeps the host mirror of the reason codes in step with the kernel', () => {
    const text = readFileSync(
      join(REPO_ROOT, 'assembly', 'src', 'jtt978', 'jtt978_reason.ts'),
      'utf8',
    );
    const codes = [...text.matchAll(/export const JREASON_\w+: u8 = (\d+);/g)].map((m) =>
      Number(m[1]),
    );
    const mirrored = Object.keys(JTT978_REASONS)
      .map(Number)
      .filter((c) => c !== 0);
    expect(codes.sort((a, b) => a - b)).toEqual(mirrored.sort((a, b) => a - b));
  });
});

/** A card whose PPSE lists UnionPay (87 = 1) and T-Union (87 = 2); the UnionPay ADF refuses. */
function coBadged(inner: TunionCard): TunionCard {
  const entry = (aid: string, priority: number): string =>
    `61${(aid.length / 2 + 5).toString(16).padStart(2, '0')}4F${(aid.length / 2)
      .toString(16)
      .padStart(2, '0')}${aid}87010${priority}`;
  const dir = `${entry('A000000333010101', 1)}${entry('A000000632010105', 2)}`;
  const bf0c = `BF0C${(dir.length / 2).toString(16).padStart(2, '0')}${dir}`;
  const a5 = `A5${(bf0c.length / 2).toString(16).padStart(2, '0')}${bf0c}`;
  const name = '325041592E5359532E4444463031';
  const body = `840E${name}${a5}`;
  const fci = bytes(`6F${(body.length / 2).toString(16).padStart(2, '0')}${body}9000`);
  const wrapper: TunionCard = {
    label: inner.label,
    profile: inner.profile,
    identity: () => inner.identity(),
    powerOn: () => inner.powerOn(),
    lastProcessingMs: () => inner.lastProcessingMs(),
    balanceMinor: () => inner.balanceMinor(),
    atc: () => inner.atc(),
    blocked: () => inner.blocked(),
    record: (sfi, n) => inner.record(sfi, n),
    log: () => inner.log(),
    debits: () => inner.debits(),
    keys: () => inner.keys(),
    topUp: () => inner.topUp(),
    loadedMinor: () => inner.loadedMinor(),
    transceive(capdu: Uint8Array): Uint8Array | null {
      const text = hex(capdu);
      if (text.startsWith('00A404000E')) return fci;
      if (text.startsWith('00A4040008A000000333')) return Uint8Array.of(0x6a, 0x82);
      return inner.transceive(capdu);
    },
  };
  return wrapper;
}
