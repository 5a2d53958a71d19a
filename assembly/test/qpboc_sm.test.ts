// SM ODA through the whole qPBOC kernel: host-sim SM cards (SM-only and RSA-and-SM), DF69
// negotiation, SM certificates in the records, the SM fDDA SDAD, and the failing twins.

import { beforeAll, describe, expect, it } from 'vitest';
import { kernelStatusName } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  decodeTlv, findTlv, runQpbocTransaction, type QpbocMode,
} from '../host/qpboc_session.js';
import { population } from '../../host-sim/src/cards/card_population.js';
import { smPopulation, type SmCardName } from '../../host-sim/src/cards/sm_population.js';
import { denyListDecider, parseTrace, prepareKernel } from '../../firmware/src/cli/qpboc_trace.js';
import { LiveCardIo, gpoAtcBitsFlipped, simTerminalJson, toHex } from './qpboc_support.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 20261203);
const pop = population(SEED);
const sm = smPopulation(pop);
const INPUTS = { amount: '000000000200', date: '261203', time: '101010',
  unpredictableNumber: '0A1B2C3D' };

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
  console.log(`qpboc_sm seed ${SEED} (replay: SHUAKA_SEED=${SEED})`);
});

type Edit = (capdu: Uint8Array, rapdu: Uint8Array | null) => Uint8Array | null;

async function tap(name: SmCardName, mode: QpbocMode, withSmKey: boolean, edit?: Edit) {
  const card = sm.card(name);
  card.powerOn();
  const terminal = simTerminalJson(pop);
  const caKeys = terminal['caKeys'] as string[];
  const trace = parseTrace(JSON.stringify({
    terminal: { ...terminal, caKeys: withSmKey ? [...caKeys, sm.pki.capkTlvHex] : caKeys },
    inputs: { ...INPUTS, mode },
    exchanges: [],
  }));
  prepareKernel(kernel, trace);
  const io = new LiveCardIo({
    transceive: (c) => (edit === undefined ? card.transceive(c) : edit(c, card.transceive(c))),
    powerOff: () => card.powerOff(),
  });
  const outcome = await runQpbocTransaction(kernel,
    { transceive: (c) => io.transceive(c), decide: denyListDecider(trace.denyList) }, trace.input);
  const gpo = outcome.transcript.find((e) => e.capdu[1] === 0xa8)?.capdu;
  // DF69 is the last PDOL entry of PDOL_QPBOC_EXTENDED: the byte before Le.
  const df69 = gpo === undefined ? -1 : gpo[gpo.length - 2] ?? -1;
  const smCerts = outcome.transcript.some((e) => e.rapdu !== null && hasTag(e.rapdu, [0x90, 0x81]));
  return { card, outcome, df69, smCerts };
}

/** True when `bytes` holds the tag sequence `head` followed by an SM format-12 certificate. */
function hasTag(bytes: Uint8Array, head: number[]): boolean {
  for (let i = 0; i + 3 < bytes.length; i += 1) {
    if (bytes[i] === head[0] && bytes[i + 1] === head[1] && bytes[i + 3] === 0x12) return true;
  }
  return false;
}

const detail = (d: number): string => kernelStatusName(d);

describe('qPBOC kernel with SM cards', () => {
  it('smEcCard_withSmCaKey_offersDf69AndApprovesOnSmFdda', async () => {
    const { card, outcome, df69, smCerts } = await tap('sm-ec', 'ec', true);
    expect(df69).toBe(1);
    expect(smCerts).toBe(true);
    expect(outcome.statusName, detail(outcome.detail)).toBe('STATUS_APPROVED_OFFLINE');
    expect(outcome.odaPerformed && outcome.odaPassed).toBe(true);
    expect(card.ledger().length).toBe(1);
  });

  it('smOnlineOdaCard_isAdmittedOnSmFdda', async () => {
    const { outcome, df69 } = await tap('sm-oda-online', 'oda', true);
    expect(df69).toBe(1);
    expect(outcome.statusName, detail(outcome.detail)).toBe('STATUS_ADMITTED_PENDING_AUTH');
    expect(outcome.reason).toBe('oda-admitted');
    expect(outcome.odaPassed).toBe(true);
  });

  it('rsaAndSmCard_usesSmWithTheSmKey_andRsaWithout', async () => {
    const withSm = await tap('rsa-and-sm-ec', 'ec', true);
    expect(withSm.df69).toBe(1);
    expect(withSm.smCerts).toBe(true);
    expect(withSm.outcome.statusName, detail(withSm.outcome.detail)).toBe('STATUS_APPROVED_OFFLINE');
    const rsaOnly = await tap('rsa-and-sm-ec', 'ec', false);
    expect(rsaOnly.df69).toBe(0);
    expect(rsaOnly.smCerts).toBe(false);
    expect(rsaOnly.outcome.statusName, detail(rsaOnly.outcome.detail)).toBe(
      'STATUS_APPROVED_OFFLINE');
    expect(rsaOnly.outcome.odaPassed).toBe(true);
  });

  it('smOnlyCard_withoutSmCaKey_isDeclinedBeforeTheCommit', async () => {
    const { card, outcome, df69 } = await tap('sm-ec', 'ec', false);
    expect(df69).toBe(0);
    expect(outcome.statusName).toBe('STATUS_DECLINED');
    expect(outcome.reason).toBe('oda-failed');
    expect(detail(outcome.detail)).toBe('ERR_ODA_CA_KEY_UNKNOWN');
    expect(outcome.commitSent).toBe(false);
    expect(card.ledger().length).toBe(0);
  });

  it('smEcCard_withAForgedSdad_isDeclinedWithTheSignatureCheck', async () => {
    // Flip one bit of the SM signature inside 9F4B (in the GPO answer of this layout).
    const forge: Edit = (capdu, rapdu) => {
      if (rapdu === null || capdu[1] !== 0xa8) return rapdu;
      const out = Uint8Array.from(rapdu);
      for (let i = 0; i + 2 < out.length; i += 1) {
        if (out[i] === 0x9f && out[i + 1] === 0x4b && out[i + 3] === 0x15) {
          out[i + 40] = (out[i + 40] ?? 0) ^ 0x01;
          break;
        }
      }
      return out;
    };
    const { outcome } = await tap('sm-ec', 'ec', true, forge);
    expect(outcome.statusName).toBe('STATUS_DECLINED');
    expect(detail(outcome.detail)).toBe('ERR_ODA_SM_SDAD_SIGNATURE');
    // 9F69 comes with the last record (the commit), so the signature is checked after it: the
    // decline carries the ICC data for reconciliation, as for RSA (assembly/README.md step 7).
    expect(outcome.recordKind).toBe('committed-decline');
  });

  it('rsaAndSmEcCard_atcDamagedOnTheLine_theCommittedDeclineKeepsTheSignedAtc', async () => {
    // As the RSA case in qpboc_e2e.test.ts (gpoAtcBitsFlipped); the SM SDAD, checked after the
    // commit, signs the true ATC.
    const damage: Edit = (c, r) => (r === null ? r : gpoAtcBitsFlipped(c, r));
    const { card, outcome } = await tap('rsa-and-sm-ec', 'ec', true, damage);
    expect(detail(outcome.detail)).toBe('ERR_ODA_SDAD_IDN_MISMATCH');
    expect(outcome.recordKind).toBe('committed-decline');
    // The truth: the ATC of the debit in the card's own ledger.
    const want = (card.ledger().at(-1)?.atc ?? -1).toString(16).padStart(4, '0').toUpperCase();
    const atc = findTlv(decodeTlv(outcome.clearingRecord ?? new Uint8Array(0)), 0x9f36);
    expect(toHex(atc ?? new Uint8Array(0))).toBe(want);
  });
});
