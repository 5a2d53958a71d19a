// The kernel against host-sim's virtual cards: cards sign fDDA with their own keys, keep a
// ledger of committed debits, and refuse nothing the kernel does not deserve.
//
// With QPBOC_VECTORS_UPDATE=1 this file also rewrites assembly/vectors/qpboc_sim.vec.json from
// the live runs (golden transcripts plus malformed twins), after checking each expectation.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  decodeTlv,
  findTlv,
  runQpbocTransaction,
  tlvEncode,
  type QpbocMode,
  type QpbocOutcome,
  type TlvObject,
} from '../host/qpboc_session.js';
import { population, type PopulationName } from '../../host-sim/src/cards/card_population.js';
import {
  denyListDecider,
  detailName,
  parseTrace,
  prepareKernel,
  replayTrace,
  type Trace,
} from '../../firmware/src/cli/qpboc_trace.js';
import {
  LiveCardIo,
  VECTORS_DIR,
  gpoAtcBitsFlipped,
  exchangesJson,
  fromHex,
  simTerminalJson,
  toHex,
} from './qpboc_support.js';

const SEED = 20250601;
const UPDATE = process.env['QPBOC_VECTORS_UPDATE'] === '1';
const pop = population(SEED);
const terminal = simTerminalJson(pop);
const INPUTS = {
  amount: '000000000200',
  date: '250601',
  time: '101010',
  unpredictableNumber: '0A1B2C3D',
};
const generated: Array<Record<string, unknown>> = [];
let kernel: Kernel;

beforeAll(async () => {
  kernel = await loadKernel();
});

function traceOf(mode: QpbocMode, exchanges: Array<Record<string, unknown>> = []): Trace {
  return parseTrace(JSON.stringify({ terminal, inputs: { ...INPUTS, mode }, exchanges }));
}

/** What the line does to an answer on its way (identity: nothing). */
type Line = (capdu: Uint8Array, rapdu: Uint8Array) => Uint8Array;

async function live(name: PopulationName, mode: QpbocMode, line: Line = (_c, r) => r) {
  const card = pop.card(name);
  card.powerOn();
  const trace = traceOf(mode);
  prepareKernel(kernel, trace);
  const io = new LiveCardIo({
    transceive: (c) => {
      const r = card.transceive(c);
      return r === null ? null : line(c, r);
    },
    powerOff: () => card.powerOff(),
  });
  const outcome = await runQpbocTransaction(
    kernel,
    {
      transceive: (c) => io.transceive(c),
      decide: denyListDecider(trace.denyList),
    },
    trace.input,
  );
  return { card, outcome, io };
}

function record(id: string, ref: string, mode: QpbocMode, outcome: QpbocOutcome): void {
  generated.push({
    id,
    ref: `${ref} (host-sim population seed ${SEED})`,
    inputs: { ...INPUTS, mode },
    terminal,
    exchanges: exchangesJson(outcome.transcript),
    expect: {
      status: outcome.statusName,
      reason: outcome.reason,
      ...(outcome.detail === 0 ? {} : { detail: detailName(outcome.detail) }),
      recordKind: outcome.recordKind,
      balanceMinor: outcome.balanceMinor,
      decisions: outcome.decisions.length,
    },
  });
}

function lastRecordCommand(outcome: QpbocOutcome): string | null {
  // The AFL of the card, flattened; the last entry's READ RECORD is the commit command.
  const gpo = outcome.transcript.find((e) => e.capdu[1] === 0xa8)?.rapdu;
  if (gpo === undefined || gpo === null) return null;
  const afl = findTlv(decodeTlv(gpo.subarray(0, gpo.length - 2)), 0x94);
  if (afl === null) return null;
  const entry = afl.subarray(afl.length - 4);
  return toHex(Uint8Array.of(0x00, 0xb2, entry[2] ?? 0, (entry[0] ?? 0) | 4, 0x00));
}

describe('qPBOC kernel against host-sim cards (EC mode)', () => {
  const approvals: PopulationName[] = [
    'unionpay-debit-ec',
    'unionpay-credit-ec',
    'unionpay-quasi-credit-ec',
    'new-card',
    'cobadge-visa-unionpay',
    'social-security',
    'slow-wtx',
  ];
  for (const name of approvals) {
    it(`${name}: approved offline, debited once, balance and clearing data agree`, async () => {
      const { card, outcome } = await live(name, 'ec');
      expect(outcome.kind).toBe('approved');
      expect(outcome.odaPerformed && outcome.odaPassed).toBe(true);
      const ledger = card.ledger();
      expect(ledger.length).toBe(1);
      expect(ledger[0]?.amountMinor).toBe(200);
      expect(outcome.balanceMinor).toBe(card.balanceMinor());
      const clearing = decodeTlv(outcome.clearingRecord ?? new Uint8Array(0));
      expect(toHex(findTlv(clearing, 0x9f26) ?? new Uint8Array(0))).toBe(
        ledger[0]?.cryptogramHex.toUpperCase(),
      );
      expect(findTlv(clearing, 0x9f27)?.[0]).toBe(0x40);
      expect(toHex(findTlv(clearing, 0x9f37) ?? new Uint8Array(0))).toBe(
        INPUTS.unpredictableNumber,
      );
      const atc = findTlv(clearing, 0x9f36) ?? new Uint8Array(2);
      expect(((atc[0] ?? 0) << 8) | (atc[1] ?? 0)).toBe(ledger[0]?.atc);
      expect(outcome.decisions.length).toBe(1);
      const identity = outcome.decisions[0];
      const app = card.profile.applications.find((a) => a.aidHex.toUpperCase() === identity?.aid);
      expect(identity?.pan).toBe(app?.pan);
      expect(identity?.panSequence).toBe(app?.psn.toString().padStart(2, '0'));
      expect(identity?.expiry).toBe(app?.expiryYymmdd);
      expect(identity?.atc).toBe(ledger[0]?.atc);
      expect(identity?.acType).toBe('TC');
      record(`sim_${name}_ec`, 'domain.md 2.5, 3.4, 4.1', 'ec', outcome);
    });
  }

  it('deny-listed: declined at the decision point, last READ RECORD never sent', async () => {
    const { card, outcome } = await live('deny-listed', 'ec');
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('deny-list');
    expect(outcome.commitSent).toBe(false);
    const last = lastRecordCommand(outcome);
    expect(last).not.toBeNull();
    expect(outcome.transcript.map((e) => toHex(e.capdu))).not.toContain(last);
    expect(card.ledger().length).toBe(0);
    expect(card.pendingDebit()).not.toBeNull();
    expect(outcome.decisions[0]?.pan).toBe(pop.denyList[0]?.pan);
    record('sim_deny_listed_ec', 'brief issue 3 item 4: deny at the decision point', 'ec', outcome);
  });

  // The certificates are checked before the commit (a revoked issuer costs no debit). The SDAD
  // hash needs 9F69 from the last record, but the SDAD travels in the GPO answer: a clone's
  // signature fails the checks that need no hash (framing, IDN = ATC) before the commit.
  const declines: Array<[PopulationName, string, string | null, boolean]> = [
    ['expired', 'expired', null, false],
    ['revoked-issuer', 'oda-failed', 'ERR_ODA_ISSUER_CERT_REVOKED', false],
    ['ec-insufficient', 'insufficient-ecash', null, false],
    ['no-fdda', 'oda-not-supported', null, false],
    ['clone', 'oda-failed', 'ERR_ODA_SDAD_TRAILER', false],
  ];
  for (const [name, reason, detail, afterCommit] of declines) {
    const when = afterCommit
      ? 'after the commit, ICC data kept'
      : 'before the commit, nothing debited';
    it(`${name}: declined (${reason}) ${when}`, async () => {
      const { card, outcome } = await live(name, 'ec');
      expect(outcome.kind).toBe('declined');
      expect(outcome.reason).toBe(reason);
      if (detail !== null) expect(detailName(outcome.detail)).toBe(detail);
      expect(outcome.commitSent).toBe(afterCommit);
      expect(card.ledger().length).toBe(afterCommit ? 1 : 0);
      expect(outcome.recordKind).toBe(afterCommit ? 'committed-decline' : 'none');
      record(`sim_${name}_ec`, 'domain.md 2.5, 3, 10.5-10.8', 'ec', outcome);
    });
  }

  it('ATC damaged on the line, fDDA failed after the commit: record keeps the signed ATC',
    async () => {
    // The GPO's ATC damaged past the frame checksum (gpoAtcBitsFlipped). slow-wtx signs its
    // SDAD in a record, read after the card committed the debit.
    const before = pop.card('slow-wtx').ledger().length;
    const { card, outcome } = await live('slow-wtx', 'ec', gpoAtcBitsFlipped);
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('oda-failed');
    expect(detailName(outcome.detail)).toBe('ERR_ODA_SDAD_IDN_MISMATCH');
    expect(outcome.commitSent).toBe(true);
    expect(outcome.recordKind).toBe('committed-decline');
    // The truth: the ATC of the debit in the card's own ledger (what its TC was computed over).
    expect(card.ledger().length).toBe(before + 1);
    const debitAtc = card.ledger().at(-1)?.atc ?? -1;
    const atc = findTlv(decodeTlv(outcome.clearingRecord ?? new Uint8Array(0)), 0x9f36);
    const want = debitAtc.toString(16).padStart(4, '0').toUpperCase();
    expect(toHex(atc ?? new Uint8Array(0))).toBe(want);
  });

  it('AFL damaged on the line, one record too many: the committed debit keeps its record',
    async () => {
    // The GPO answer's AFL lists one record past the card's own last (a PN532 frame's 8-bit
    // checksum misses two bit flips that cancel: swarm seed 128, --taps 5000). The card
    // commits on its last record, then answers the extra one 6A83.
    const damage: Line = (c, r) => {
      if (c[0] !== 0x80 || c[1] !== 0xa8) return r;
      const afl = findTlv(decodeTlv(r.subarray(0, r.length - 2)), 0x94);
      if (afl === null || afl.length % 4 !== 0) throw new Error('no AFL in the GPO answer');
      const out = Uint8Array.from(r);
      const at = Buffer.from(out).indexOf(Buffer.from(afl));
      const lastRecord = at + afl.length - 2;
      out[lastRecord] = (out[lastRecord] ?? 0) + 1;
      return out;
    };
    const before = pop.card('unionpay-debit-ec').ledger().length;
    const { card, outcome } = await live('unionpay-debit-ec', 'ec', damage);
    // The truth: the card's ledger took the debit.
    expect(card.ledger().length).toBe(before + 1);
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('card-data-inconsistent');
    expect(outcome.commitSent).toBe(true);
    expect(outcome.recordKind).toBe('committed-decline');
    const atc = findTlv(decodeTlv(outcome.clearingRecord ?? new Uint8Array(0)), 0x9f36);
    const debitAtc = card.ledger().at(-1)?.atc ?? -1;
    expect(toHex(atc ?? new Uint8Array(0))).toBe(debitAtc.toString(16).padStart(4, '0')
      .toUpperCase());
  });

  it('oda-online-no-ec in EC mode: the card asks for online (AAC without EC)', async () => {
    const { outcome } = await live('oda-online-no-ec', 'ec');
    expect(outcome.kind).toBe('declined');
  });
});

describe('qPBOC kernel against host-sim cards (ODA transit mode)', () => {
  for (const name of ['oda-online-no-ec', 'phone-wallet'] as const) {
    it(`${name}: ARQC + good fDDA = admitted pending authorisation, no EC debit`, async () => {
      const { card, outcome } = await live(name, 'oda');
      expect(outcome.kind).toBe('admitted');
      expect(outcome.acType).toBe('ARQC');
      expect(outcome.odaPassed).toBe(true);
      expect(card.ledger().length).toBe(0);
      const clearing = decodeTlv(outcome.clearingRecord ?? new Uint8Array(0));
      expect(findTlv(clearing, 0x9f27)?.[0]).toBe(0x80);
      const ttq = findTlv(clearing, 0x9f66) ?? new Uint8Array(0);
      expect(toHex(ttq)).toBe('21800080');
      record(`sim_${name}_oda`, 'domain.md 6.2', 'oda', outcome);
    });
  }
});

describe('mode auto: a purse short of the fare and no other way to pay', () => {
  // An EC-only card (no full flow, no DF61) with 0.50 left: GET DATA 9F79 shows the purse short,
  // the full-flow GPO (TTQ 40800000) is refused with 6985. The rider must read 余额不足.
  it('ec-only-short: declined insufficient-ecash (was no-accepted-app), nothing debited', async () => {
    const { card, outcome } = await live('ec-only-short', 'auto');
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('insufficient-ecash');
    expect(outcome.detail).toBe(0x6985);
    const commands = outcome.transcript.map((e) => toHex(e.capdu));
    expect(commands).toContain('80CA9F7900');
    const gpo = outcome.transcript.find((e) => e.capdu[1] === 0xa8);
    expect(toHex(gpo?.capdu.subarray(7, 11) ?? new Uint8Array(0))).toBe('40800000');
    expect(toHex(gpo?.rapdu ?? new Uint8Array(0))).toBe('6985');
    expect(card.ledger().length).toBe(0);
    expect(card.balanceMinor()).toBe(50);
    record('sim_ec-only-short_auto', 'README mode auto; domain.md 2.6, 6.2', 'auto', outcome);
  });

  it('failing twin: the same card whose 9F79 probe is refused (6A88) is not accepted', async () => {
    const good = (await live('ec-only-short', 'auto')).outcome;
    const exchanges = good.transcript.map((e) =>
      toHex(e.capdu) === '80CA9F7900' ? { capdu: e.capdu, rapdu: fromHex('6A88') } : e,
    );
    const trace = traceOf('auto', exchangesJson(exchanges));
    prepareKernel(kernel, trace);
    const { outcome, unusedExchanges } = await replayTrace(kernel, trace, 'exact');
    expect(unusedExchanges).toBe(0);
    // Without a balance the kernel knows of no purse: the kind of card is not accepted here.
    expect(outcome.kind).toBe('not-accepted');
    expect(outcome.reason).toBe('no-accepted-app');
    record('twin_sim_ec-only-short_auto_probe_refused', 'README mode auto', 'auto', outcome);
  });

  it('failing twin: a full purse on the same kind of card pays offline (ec-only)', async () => {
    const { outcome } = await live('ec-only', 'auto');
    expect(outcome.kind).toBe('approved');
    expect(outcome.reason).toBe('offline-approved');
  });
});

// ---- Malformed twins of a live transcript ------------------------------------------------

interface Twin {
  readonly id: string;
  readonly ref: string;
  /** The exchange whose answer is mutated: an index, or a finder over the good transcript. */
  readonly at: number | ((outcome: QpbocOutcome) => number);
  readonly mutate: (data: Uint8Array) => Uint8Array;
  readonly status: string;
  readonly reason?: string;
}

/** Index of the first exchange whose answer carries `tag`. */
function exchangeWith(outcome: QpbocOutcome, tag: number): number {
  return outcome.transcript.findIndex((e) => {
    if (e.rapdu === null || e.rapdu.length < 2) return false;
    try {
      return findTlv(decodeTlv(e.rapdu.subarray(0, e.rapdu.length - 2)), tag) !== null;
    } catch {
      return false;
    }
  });
}

function reencode(objects: readonly TlvObject[]): Uint8Array {
  return Buffer.concat(
    objects.map((o) => tlvEncode(o.tag, o.children === null ? o.value : reencode(o.children))),
  );
}

/** Rewrites the children of the single template in `data` with `edit`. */
function editTemplate(edit: (children: TlvObject[]) => TlvObject[], tag?: number) {
  return (data: Uint8Array): Uint8Array => {
    const [top] = decodeTlv(data);
    if (top === undefined || top.children === null) throw new Error('not a template');
    return tlvEncode(tag ?? top.tag, reencode(edit([...top.children])));
  };
}

const TWINS: Twin[] = [
  {
    id: 'twin_sim_gpo_bad_afl',
    ref: 'EMV 4.4 Book 3 10.2',
    at: 2,
    status: 'ERR_CARD_AFL_INVALID',
    mutate: editTemplate((c) =>
      c.map((o) => (o.tag === 0x94 ? { ...o, value: Uint8Array.of(0x08, 0x03, 0x01, 0x00) } : o)),
    ),
  },
  {
    id: 'twin_sim_gpo_missing_9F36',
    ref: 'domain.md 1.5',
    at: 2,
    status: 'ERR_CARD_MANDATORY_MISSING',
    mutate: editTemplate((c) => c.filter((o) => o.tag !== 0x9f36)),
  },
  {
    id: 'twin_sim_gpo_sdad_bit_flip',
    ref: 'domain.md 3.4',
    at: 2,
    status: 'STATUS_DECLINED',
    reason: 'oda-failed',
    mutate: editTemplate((c) =>
      c.map((o) => {
        if (o.tag !== 0x9f4b) return o;
        const value = o.value.slice();
        value[10] = (value[10] ?? 0) ^ 0x01;
        return { ...o, value };
      }),
    ),
  },
  {
    id: 'twin_sim_record_not_70',
    ref: 'EMV 4.4 Book 3 10.2',
    at: 3,
    status: 'ERR_CARD_RECORD_TEMPLATE',
    mutate: editTemplate((c) => c, 0x77),
  },
  {
    id: 'twin_sim_record_duplicate_tag',
    ref: 'EMV 4.4 Book 3 10.2',
    at: 3,
    status: 'ERR_TLV_DUPLICATE',
    mutate: editTemplate((c) => [
      ...c,
      c[0] ?? { tag: 0x5a, value: new Uint8Array(1), children: null },
    ]),
  },
  {
    id: 'twin_sim_record_trailing_bytes',
    ref: 'EMV 4.4 Book 3 10.2',
    at: 3,
    status: 'ERR_CARD_TRAILING_DATA',
    mutate: (d) => Buffer.concat([d, Uint8Array.of(0x5f, 0x20, 0x00)]),
  },
  {
    id: 'twin_sim_record_length_plus_one',
    ref: 'EMV 4.4 Book 3 10.2',
    at: 3,
    status: 'ERR_TLV_LENGTH_OVERFLOW',
    mutate: (d) => {
      const out = d.slice();
      // 70 81 xx or 70 xx: bump the last length byte.
      const at = out[1] === 0x81 ? 2 : 1;
      out[at] = (out[at] ?? 0) + 1;
      return out;
    },
  },
  {
    id: 'twin_sim_sda_tag_list_not_82',
    ref: 'EMV 4.4 Book 3 10.3 (9F4A may only list 82)',
    at: (o) => exchangeWith(o, 0x9f4a),
    status: 'STATUS_DECLINED',
    reason: 'oda-failed',
    mutate: editTemplate((c) =>
      c.map((o) => (o.tag === 0x9f4a ? { ...o, value: Uint8Array.of(0x9f, 0x37) } : o)),
    ),
  },
  {
    id: 'twin_sim_last_record_malformed',
    ref: 'after the commit: a declined outcome with the ICC data',
    at: (o) => o.transcript.findIndex((e) => toHex(e.capdu) === lastRecordCommand(o)),
    status: 'STATUS_DECLINED',
    reason: 'card-data-invalid',
    mutate: (d) => Buffer.concat([d, Uint8Array.of(0x01)]),
  },
];

describe('malformed twins of a live EC transcript', () => {
  let good: QpbocOutcome;
  beforeAll(async () => {
    good = (await live('unionpay-debit-ec', 'ec')).outcome;
  });
  for (const twin of TWINS) {
    it(`${twin.id}: ${twin.status}`, async () => {
      const exchanges = good.transcript.map((e) => ({ c: e.capdu, r: e.rapdu }));
      const index = typeof twin.at === 'number' ? twin.at : twin.at(good);
      const target = exchanges[index];
      if (target === undefined || target.r === null) throw new Error(`no exchange ${index}`);
      const sw = target.r.subarray(target.r.length - 2);
      exchanges[index] = {
        c: target.c,
        r: Buffer.concat([twin.mutate(target.r.subarray(0, target.r.length - 2)), sw]),
      };
      const trace = traceOf(
        'ec',
        exchangesJson(exchanges.map((e) => ({ capdu: e.c, rapdu: e.r }))),
      );
      prepareKernel(kernel, trace);
      const { outcome } = await replayTrace(kernel, trace, 'exact');
      expect(outcome.statusName).toBe(twin.status);
      if (twin.reason !== undefined) expect(outcome.reason).toBe(twin.reason);
      expect(kernel.faultCount()).toBe(0);
      if (twin.id === 'twin_sim_last_record_malformed') {
        expect(outcome.commitSent).toBe(true);
        expect(outcome.recordKind).toBe('committed-decline');
      }
      record(twin.id, twin.ref, 'ec', outcome);
    });
  }
});

describe('EC balance by GET DATA 9F79 when the card sends no 9F5D', () => {
  // The debit card's answers without 9F5D in GPO (9F5D is not signed: the SDAD still verifies).
  async function withoutBalanceTag(tail: { r: Uint8Array | null } | null) {
    const good = (await live('unionpay-debit-ec', 'ec')).outcome;
    const exchanges = good.transcript.map((e) => ({ capdu: e.capdu, rapdu: e.rapdu }));
    const gpo = exchanges.findIndex((e) => e.capdu[1] === 0xa8);
    const answer = exchanges[gpo]?.rapdu;
    if (answer === undefined || answer === null) throw new Error('no GPO answer');
    const data = editTemplate((c) => c.filter((o) => o.tag !== 0x9f5d))(
      answer.subarray(0, answer.length - 2),
    );
    exchanges[gpo] = {
      capdu: exchanges[gpo]?.capdu ?? new Uint8Array(0),
      rapdu: Buffer.concat([data, Uint8Array.of(0x90, 0x00)]),
    };
    if (tail !== null) exchanges.push({ capdu: fromHex('80CA9F7900'), rapdu: tail.r });
    const trace = traceOf('ec', exchangesJson(exchanges));
    prepareKernel(kernel, trace);
    return replayTrace(kernel, trace, 'exact');
  }
  it('balance from GET DATA 9F79 after the commit', async () => {
    const { outcome, unusedExchanges } = await withoutBalanceTag({
      r: fromHex('9F79060000000495009000'),
    });
    expect(unusedExchanges).toBe(0);
    expect(outcome.kind).toBe('approved');
    expect(outcome.balanceMinor).toBe(49500);
    expect(findTlv(decodeTlv(outcome.clearingRecord ?? new Uint8Array(0)), 0x9f79)).not.toBeNull();
    record('sim_balance_by_get_data', 'domain.md 1.7, 4.1 step 4', 'ec', outcome);
  });
  it('GET DATA refused: approved without a balance', async () => {
    const { outcome } = await withoutBalanceTag({ r: fromHex('6A88') });
    expect(outcome.kind).toBe('approved');
    expect(outcome.balanceMinor).toBeNull();
    record('sim_balance_get_data_refused', 'domain.md 1.7', 'ec', outcome);
  });
  it('card gone during GET DATA: the debit is complete, approved without a balance', async () => {
    const { outcome } = await withoutBalanceTag({ r: null });
    expect(outcome.kind).toBe('approved');
    expect(outcome.balanceMinor).toBeNull();
    expect(outcome.linkLostCause).toBeNull();
    record(
      'sim_balance_link_lost',
      'domain.md 4.2 (after the last record: complete normally)',
      'ec',
      outcome,
    );
  });
});

describe('golden file', () => {
  it(UPDATE ? 'rewrites qpboc_sim.vec.json' : 'kernel state is clean after the live runs', () => {
    const status = kernel.step(KernelOp.OP_TXN_ABORT, 0, new Uint8Array(0));
    expect(kernelStatusName(status)).toBe('STATUS_OK');
    expect(generated.length).toBeGreaterThanOrEqual(20);
    if (UPDATE) {
      const doc = {
        about:
          'Golden qPBOC transcripts recorded from host-sim virtual cards (population seed ' +
          `${SEED}; cards sign fDDA with their own test keys) and malformed twins. Regenerate ` +
          'with QPBOC_VECTORS_UPDATE=1 npx vitest run assembly/test/qpboc_e2e.test.ts.',
        vectors: generated,
      };
      writeFileSync(join(VECTORS_DIR, 'qpboc_sim.vec.json'), `${JSON.stringify(doc, null, 1)}\n`);
    }
  });
});
