// The acquirer-and-issuer host: answers ISO 8583 requests against the issuer's accounts.

import type { Iso8583Message, Iso8583Value } from '../../../depot/src/acquirer/iso8583_codec.js';
import { Prng } from '../prng.js';
import { accountKey, type IssuerAccount, type IssuerMovement } from './issuer_accounts.js';
import { issuerCheckCryptogram } from './issuer_cryptogram.js';
import { issuerTlvParse } from './issuer_tlv.js';

/** Response codes (field 39) the host answers. See depot/src/acquirer/README.md. */
export const RC_00_APPROVED = '00';
export const RC_05_DO_NOT_HONOUR = '05';
export const RC_12_INVALID_TRANSACTION = '12';
export const RC_14_NO_SUCH_CARD = '14';
export const RC_25_ORIGINAL_NOT_FOUND = '25';
export const RC_30_FORMAT_ERROR = '30';
export const RC_51_INSUFFICIENT_FUNDS = '51';
export const RC_54_EXPIRED_CARD = '54';
export const RC_62_RESTRICTED_CARD = '62';
export const RC_94_DUPLICATE = '94';

/** An approved charge a reversal may undo. */
interface Charge {
  readonly account: IssuerAccount;
  readonly kind: 'authorisation' | 'clearing' | 'recovery';
  /** What a reversal may still give back (a partial reversal names its amount in field 4). */
  remainingMinor: number;
}

/**
 * The host's state: accounts, answers by (MTI, terminal, STAN, transmission time) so a
 * retransmission gets the first answer and is never applied twice while a new message that
 * reuses a wrapped STAN is decided afresh; charges for reversals, TCs cleared by PAN+PSN+ATC.
 */
export class IssuerHost {
  private readonly answers = new Map<string, Iso8583Message>();
  private readonly charges = new Map<string, Charge>();
  private readonly clearedAtcs = new Set<string>();
  private readonly moves: IssuerMovement[] = [];
  private readonly prng: Prng;
  private rrnNext = 1;
  /** Requests answered, retransmissions included. */
  requestCount = 0;

  constructor(readonly accounts: Map<string, IssuerAccount>, seed: number) {
    this.prng = new Prng(seed).fork('issuer-host');
  }

  /** The ledger so far, oldest first. */
  movements(): readonly IssuerMovement[] {
    return this.moves;
  }

  /** Money paid into an account (a rider tops up to clear a debt). Throws on an unknown card. */
  topUp(pan: string, psn: number, amountMinor: number): void {
    const account = this.accounts.get(accountKey(pan, psn));
    if (account === undefined) throw new Error(`no account ${pan.slice(-4)}/${psn}`);
    account.balanceMinor += amountMinor;
    this.moves.push({ pan, psn, amountMinor, kind: 'top-up', terminalId: '', stan: '' });
  }

  /**
   * The answer to `request`: 0110, 0210, 0230 or 0410 with field 39 (see RC_*); a request MTI
   * this host does not serve gets its response MTI with `12`. Never throws on message content.
   */
  answer(request: Iso8583Message): Iso8583Message {
    this.requestCount += 1;
    const text = (n: number): string => {
      const value = request.fields.get(n);
      return typeof value === 'string' ? value : '';
    };
    const key = messageKey(request.mti, text(41), text(11), text(7));
    const cached = this.answers.get(key);
    if (cached !== undefined) return cached;
    const code = this.decide(request, key, text);
    const response = this.response(request, code);
    this.answers.set(key, response);
    return response;
  }

  private decide(request: Iso8583Message, key: string, text: (n: number) => string): string {
    switch (request.mti) {
      case '0100':
        return this.charge(request, key, text, 'authorisation');
      case '0200':
        return this.charge(request, key, text, 'recovery');
      case '0220':
        return this.clearing(request, key, text);
      case '0400':
        return this.reversal(text);
      default:
        return RC_12_INVALID_TRANSACTION;
    }
  }

  private charge(
    request: Iso8583Message,
    key: string,
    text: (n: number) => string,
    kind: 'authorisation' | 'recovery',
  ): string {
    const checked = this.checkCard(request, text, 'ARQC');
    if (typeof checked === 'string') return checked;
    const { account, amountMinor, tlv } = checked;
    if (account.status === 'blocked') return RC_62_RESTRICTED_CARD;
    const tapDate = Buffer.from(tlv.get(0x9a) ?? new Uint8Array(0)).toString('hex');
    if (tapDate.length === 6 && tapDate > account.expiryYymmdd) return RC_54_EXPIRED_CARD;
    if (account.balanceMinor < amountMinor) return RC_51_INSUFFICIENT_FUNDS;
    account.balanceMinor -= amountMinor;
    this.record(account, -amountMinor, kind, text);
    this.charges.set(key, { account, kind, remainingMinor: amountMinor });
    return RC_00_APPROVED;
  }

  private clearing(request: Iso8583Message, key: string, text: (n: number) => string): string {
    const checked = this.checkCard(request, text, 'TC');
    if (typeof checked === 'string') return checked;
    const { account, amountMinor, tlv } = checked;
    // The EC purse paid at the tap: a valid TC is honoured whatever the account's state now.
    const atc = Buffer.from(tlv.get(0x9f36) ?? new Uint8Array(0)).toString('hex');
    const atcKey = `${accountKey(account.pan, account.psn)}/${atc}`;
    if (this.clearedAtcs.has(atcKey)) return RC_94_DUPLICATE;
    this.clearedAtcs.add(atcKey);
    this.record(account, -amountMinor, 'clearing', text);
    this.charges.set(key, { account, kind: 'clearing', remainingMinor: amountMinor });
    return RC_00_APPROVED;
  }

  private reversal(text: (n: number) => string): string {
    // Field 90: original MTI n4, original STAN n6, its field 7 n10, then institution ids.
    const original = text(90);
    if (original.length !== 42) return RC_30_FORMAT_ERROR;
    const charge = this.charges.get(messageKey(original.slice(0, 4), text(41),
      original.slice(4, 10), original.slice(10, 20)));
    if (charge === undefined) return RC_25_ORIGINAL_NOT_FOUND;
    const asked = Number(text(4) || charge.remainingMinor);
    const amountMinor = Math.min(asked, charge.remainingMinor);
    if (amountMinor === 0) return RC_00_APPROVED;
    charge.remainingMinor -= amountMinor;
    if (charge.kind !== 'clearing') charge.account.balanceMinor += amountMinor;
    this.record(charge.account, amountMinor, 'reversal', text);
    return RC_00_APPROVED;
  }

  private checkCard(
    request: Iso8583Message,
    text: (n: number) => string,
    type: 'ARQC' | 'TC',
  ): { account: IssuerAccount; amountMinor: number; tlv: Map<number, Uint8Array> } | string {
    const pan = text(2);
    const amount = text(4);
    const icc = request.fields.get(55);
    if (pan === '' || amount === '' || text(11) === '' || !(icc instanceof Uint8Array)) {
      return RC_30_FORMAT_ERROR;
    }
    const psn = Number(text(23) || '0');
    const account = this.accountOf(pan, psn);
    if (account === undefined) return RC_14_NO_SUCH_CARD;
    const tlv = issuerTlvParse(icc);
    if (tlv === null) return RC_30_FORMAT_ERROR;
    const panInCard = tlv.get(0x5a);
    if (panInCard !== undefined
      && Buffer.from(panInCard).toString('hex').replace(/f+$/i, '') !== pan) {
      return RC_05_DO_NOT_HONOUR;
    }
    if (issuerCheckCryptogram(account, tlv, type) !== 'ok') return RC_05_DO_NOT_HONOUR;
    return { account, amountMinor: Number(amount), tlv };
  }

  /**
   * PAN + PSN, else the PAN's only account: a card that sent no 5F34 reaches the depot as PSN
   * 0, and an issuer identifies a single-application card by its PAN alone.
   */
  private accountOf(pan: string, psn: number): IssuerAccount | undefined {
    const exact = this.accounts.get(accountKey(pan, psn));
    if (exact !== undefined || psn !== 0) return exact;
    const matches = [...this.accounts.values()].filter((a) => a.pan === pan);
    return matches.length === 1 ? matches[0] : undefined;
  }

  private record(
    account: IssuerAccount,
    amountMinor: number,
    kind: IssuerMovement['kind'],
    text: (n: number) => string,
  ): void {
    this.moves.push({
      pan: account.pan, psn: account.psn, amountMinor, kind, terminalId: text(41), stan: text(11),
    });
  }

  private response(request: Iso8583Message, code: string): Iso8583Message {
    const fields = new Map<number, Iso8583Value>();
    for (const n of [2, 3, 4, 7, 11, 12, 13, 41, 42, 49]) {
      const value = request.fields.get(n);
      if (value !== undefined) fields.set(n, value);
    }
    fields.set(37, String(this.rrnNext).padStart(12, '0'));
    this.rrnNext += 1;
    const approval = String(this.prng.below(1_000_000)).padStart(6, '0');
    if (code === RC_00_APPROVED) fields.set(38, approval);
    fields.set(39, code);
    const mti = /^0[1-4][02]0$/.test(request.mti)
      ? `${request.mti.slice(0, 2)}${Number(request.mti[2]) + 1}0`
      : '0810';
    return { mti, fields };
  }
}

/** What names one message: MTI, terminal (41), STAN (11) and transmission time (7). */
function messageKey(mti: string, terminalId: string, stan: string, sent: string): string {
  return `${mti}/${terminalId}/${stan}/${sent}`;
}
