// The acquirer simulator over real TCP: genuine taps approved, forged ones and bad accounts
// declined, retransmissions answered once, reversals restore the money.
//
// The truth: clearing records of a real simulated bus run (the kernel against the virtual
// cards), and the cards' own ledgers of what they were asked to pay.

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  acquirerRequestMessage,
  type AcquirerRequest,
} from '../../../depot/src/acquirer/acquirer_messages.js';
import { iso8583Decode, iso8583Encode, type Iso8583Message } from
  '../../../depot/src/acquirer/iso8583_codec.js';
import { Iso8583FrameReader, iso8583Frame } from '../../../depot/src/acquirer/iso8583_frame.js';
import { CUPS_SPEC } from '../../../depot/src/acquirer/iso8583_spec.js';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import { clearingWithPan, type ClearClearing } from '../../../test_support/clear_clearing.js';
import { BUS_RUN_DEFAULT, runBus } from '../sim/bus_run.js';
import { accountKey, issuerAccountsOf, type IssuerAccount } from './issuer_accounts.js';
import { IssuerHost } from './issuer_host.js';
import { acquirerSimListen, type AcquirerSimServer } from './acquirer_sim_server.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 17);

/** A bare test client: one connection, requests answered in order. */
class TestLink {
  private readonly reader = new Iso8583FrameReader();
  private readonly waiting: ((message: Iso8583Message | null) => void)[] = [];
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const bytes of this.reader.push(chunk)) {
        this.waiting.shift()?.(iso8583Decode(bytes, CUPS_SPEC));
      }
    });
    socket.on('close', () => { for (const w of this.waiting.splice(0)) w(null); });
  }
  static async open(port: number): Promise<TestLink> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new TestLink(socket);
  }
  send(message: Iso8583Message): Promise<Iso8583Message | null> {
    return this.sendRaw(iso8583Encode(message, CUPS_SPEC));
  }
  sendRaw(bytes: Uint8Array): Promise<Iso8583Message | null> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(iso8583Frame(bytes));
    });
  }
  close(): void {
    this.socket.destroy();
  }
}

let clearings: ClearClearing[] = [];
let accounts: Map<string, IssuerAccount>;
let host: IssuerHost;
let server: AcquirerSimServer;
let link: TestLink;
let stan = 0;
/** Field 7 of every request unless a test says otherwise. */
const SENT_MS = Date.UTC(2026, 11, 2, 12, 0, 0);

function requestOf(record: ClearClearing, change: Partial<AcquirerRequest> = {}): Iso8583Message {
  stan += 1;
  return acquirerRequestMessage({
    kind: record.cryptogramType === 'ARQC' ? 'authorisation' : 'advice',
    pan: record.card.pan,
    psn: record.card.psn,
    amountMinor: record.amountMinor,
    stan: String(stan).padStart(6, '0'),
    terminalId: record.terminalId,
    iccData: Uint8Array.from(Buffer.from(record.iccDataHex, 'hex')),
    transmissionMs: SENT_MS,
    tapDate: record.transactionDate,
    tapTime: record.transactionTime,
    expiryYymm: null,
    batch: 1,
    ...change,
  });
}

/** The account of a tap: PAN + PSN, or the PAN's only account when the card sent no 5F34. */
function accountOf(record: ClearClearing): IssuerAccount | undefined {
  return accounts.get(accountKey(record.card.pan, record.card.psn))
    ?? [...accounts.values()].find((a) => a.pan === record.card.pan);
}

const codeOf = (answer: Iso8583Message | null): string => String(answer?.fields.get(39));

beforeAll(async () => {
  const run = await runBus({ ...BUS_RUN_DEFAULT, seed: SEED, riders: 24, tornChance: 0,
    cardGroups: 2 }, () => {});
  const scan = journalScanFiles(run.board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
  for (const record of scan.records) {
    if (record.entry.kind === 'final')
      clearings.push(clearingWithPan(record.entry.clearing, run.board.panVault, record.seq));
  }
  run.board.dispose();
  accounts = issuerAccountsOf(run.pool.cards.map((c) => [c.name, c.card.profile] as const), SEED);
  host = new IssuerHost(accounts, SEED);
  server = await acquirerSimListen(host, { seed: SEED });
  link = await TestLink.open(server.port);
}, 120_000);

afterAll(async () => {
  link.close();
  await server.close();
});

describe(`acquirer simulator on loopback TCP (seed ${SEED})`, () => {
  it('genuineTaps_areApprovedAndChargedOnce_evenWhenRetransmitted', async () => {
    const arqc = clearings.filter((c) => c.cryptogramType === 'ARQC');
    const tc = clearings.filter((c) => c.cryptogramType === 'TC');
    expect(arqc.length).toBeGreaterThan(0);
    expect(tc.length).toBeGreaterThan(0);
    for (const record of clearings) {
      const account = accountOf(record);
      expect(account).toBeDefined();
      const before = account?.balanceMinor ?? 0;
      const request = requestOf(record);
      const first = await link.send(request);
      expect(codeOf(first), `${record.cryptogramType} ${record.card.pan.slice(-4)}`).toBe('00');
      expect(first?.mti).toBe(record.cryptogramType === 'ARQC' ? '0110' : '0230');
      const again = await link.send(request);
      expect(again?.fields.get(37)).toBe(first?.fields.get(37));
      const charged = record.cryptogramType === 'ARQC' ? record.amountMinor : 0;
      expect(account?.balanceMinor).toBe(before - charged);
    }
  });

  it('forgedOrAlteredCryptogramData_isDeclined05', async () => {
    const record = clearings.find((c) => c.cryptogramType === 'ARQC');
    if (record === undefined) throw new Error('no ARQC tap');
    const icc = Buffer.from(record.iccDataHex, 'hex');
    const at = icc.indexOf(Buffer.from([0x9f, 0x26, 0x08]));
    const forged = Uint8Array.from(icc);
    forged[at + 3] = (forged[at + 3] ?? 0) ^ 0x01;
    expect(codeOf(await link.send(requestOf(record, { iccData: forged })))).toBe('05');
    const amountAt = icc.indexOf(Buffer.from([0x9f, 0x02, 0x06]));
    const altered = Uint8Array.from(icc);
    altered[amountAt + 8] = (altered[amountAt + 8] ?? 0) ^ 0x10;
    expect(codeOf(await link.send(requestOf(record, { iccData: altered })))).toBe('05');
  });

  it('accountStates_giveInsufficientBlockedExpiredAndUnknown', async () => {
    const record = clearings.find((c) => c.cryptogramType === 'ARQC');
    if (record === undefined) throw new Error('no ARQC tap');
    const account = accountOf(record);
    if (account === undefined) throw new Error('no account');
    const saved = { ...account };
    account.balanceMinor = record.amountMinor - 1;
    expect(codeOf(await link.send(requestOf(record)))).toBe('51');
    account.balanceMinor = saved.balanceMinor;
    account.status = 'blocked';
    expect(codeOf(await link.send(requestOf(record)))).toBe('62');
    account.status = 'active';
    Object.assign(account, { expiryYymmdd: '200101' });
    expect(codeOf(await link.send(requestOf(record)))).toBe('54');
    Object.assign(account, { expiryYymmdd: saved.expiryYymmdd });
    expect(codeOf(await link.send(requestOf(record, { pan: '6200000000000000003' })))).toBe('14');
  });

});

describe(`acquirer simulator reversals and bad frames (seed ${SEED})`, () => {
  it('reversal_restoresTheChargeOnce_andAnUnknownOriginalIs25', async () => {
    const record = clearings.find((c) => c.cryptogramType === 'ARQC');
    if (record === undefined) throw new Error('no ARQC tap');
    const account = accountOf(record);
    const before = account?.balanceMinor ?? 0;
    const auth = requestOf(record);
    expect(codeOf(await link.send(auth))).toBe('00');
    expect(account?.balanceMinor).toBe(before - record.amountMinor);
    const original = { mti: '0100', stan: String(auth.fields.get(11)), transmissionMs: SENT_MS };
    // The same MTI and STAN sent at another time is another message: not this one's original.
    const otherTime = { ...original, transmissionMs: SENT_MS + 1000 };
    expect(codeOf(await link.send(requestOf(record, { kind: 'reversal', original: otherTime }))))
      .toBe('25');
    expect(account?.balanceMinor).toBe(before - record.amountMinor);
    const reversal = requestOf(record, { kind: 'reversal', original });
    expect(codeOf(await link.send(reversal))).toBe('00');
    expect(codeOf(await link.send(requestOf(record, { kind: 'reversal', original }))))
      .toBe('00');
    expect(account?.balanceMinor).toBe(before);
    const unknown = { mti: '0100', stan: '999999', transmissionMs: SENT_MS };
    expect(codeOf(await link.send(requestOf(record, { kind: 'reversal', original: unknown }))))
      .toBe('25');
  });

  it('stanReusedAtAnotherTransmissionTime_isANewMessage_notTheOldAnswer', async () => {
    const record = clearings.find((c) => c.cryptogramType === 'ARQC');
    if (record === undefined) throw new Error('no ARQC tap');
    const account = accountOf(record);
    const before = account?.balanceMinor ?? 0;
    const first = await link.send(requestOf(record));
    const reused = requestOf(record, { stan: String(first?.fields.get(11)),
      transmissionMs: SENT_MS + 86_400_000 });
    const second = await link.send(reused);
    expect(codeOf(second)).toBe('00');
    expect(second?.fields.get(37)).not.toBe(first?.fields.get(37));
    expect(account?.balanceMinor).toBe(before - 2 * record.amountMinor);
  });

  it('sameTcPresentedUnderAnotherStan_isDuplicate94', async () => {
    const record = clearings.find((c) => c.cryptogramType === 'TC');
    if (record === undefined) throw new Error('no TC tap');
    expect(codeOf(await link.send(requestOf(record)))).toBe('94');
  });

  it('malformedFrame_closesThatConnectionOnly', async () => {
    const bad = await TestLink.open(server.port);
    expect(await bad.sendRaw(Uint8Array.from([0x01, 0x00, 0xff]))).toBeNull();
    expect(server.malformed()).toBe(1);
    const record = clearings[0];
    if (record === undefined) throw new Error('no tap');
    expect(await link.send(requestOf(record, { kind: 'reversal',
      original: { mti: '0100', stan: '999998', transmissionMs: SENT_MS } }))).not.toBeNull();
  });
});
