// The issuer's accounts behind the virtual cards: keys, balance, status, expiry, movements.

import type { CardProfile } from '../cards/card_profile.js';
import { Prng } from '../prng.js';

/** Why an account may not be charged, besides its balance. */
export type IssuerAccountStatus = 'active' | 'blocked';

/** One card application's account at its issuer. */
export interface IssuerAccount {
  readonly pan: string;
  readonly psn: number;
  /** MK_AC, 16 bytes: the key the card's AC session keys derive from (domain.md Appendix A). */
  readonly mkAc: Uint8Array;
  readonly cvn: number;
  /** YYMMDD, as 5F24 says. */
  readonly expiryYymmdd: string;
  status: IssuerAccountStatus;
  balanceMinor: number;
}

/** A signed change of an account's balance, in order (the issuer's ledger). */
export interface IssuerMovement {
  readonly pan: string;
  readonly psn: number;
  /** Negative for a charge, positive for a reversal or a top-up. */
  readonly amountMinor: number;
  readonly kind: 'authorisation' | 'clearing' | 'recovery' | 'reversal' | 'top-up';
  readonly terminalId: string;
  readonly stan: string;
}

/** Key of an account: PAN and PSN, as cards and the deny list name them. */
export function accountKey(pan: string, psn: number): string {
  return `${pan}/${psn}`;
}

/**
 * Accounts for every application of `cards` (population name and profile), balances drawn
 * from `seed` (50.00-500.00 CNY).
 * The population's special cards keep their meaning: `expired` is past its date (54),
 * `deny-listed` is blocked (62), `ec-insufficient` has no money at the bank either (51).
 */
export function issuerAccountsOf(
  cards: Iterable<readonly [string, CardProfile]>,
  seed: number,
): Map<string, IssuerAccount> {
  const prng = new Prng(seed).fork('issuer-accounts');
  const accounts = new Map<string, IssuerAccount>();
  for (const [name, profile] of cards) {
    for (const app of profile.applications) {
      const balanceMinor = name === 'ec-insufficient' ? 0 : prng.between(5000, 50000);
      accounts.set(accountKey(app.pan, app.psn), {
        pan: app.pan,
        psn: app.psn,
        mkAc: Uint8Array.from(Buffer.from(app.mkAcHex, 'hex')),
        cvn: app.iad.cvn,
        expiryYymmdd: app.expiryYymmdd,
        status: name === 'deny-listed' ? 'blocked' : 'active',
        balanceMinor,
      });
    }
  }
  return accounts;
}
