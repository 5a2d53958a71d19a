// A virtual JT/T 978 (T-Union, 交通联合) card: e-purse with compound purchase, written from
// domain.md 7 alone, sharing no code with the kernel, so that card and kernel check each other.
//
// Keys are derived per card from the issuer master keys with the PSAM's diversification
// (host-sim/src/psam/pboc_epurse_crypto.ts): DPK (purchase) from the `purchase-root` master the
// TEST PSAM holds, DTK (TAC) from `tac-root`, DAMK (application maintenance: APPLICATION
// BLOCK) from `maintenance-root`. The card keeps balance, offline serial (ATC), the 001A/0019/
// 001E records and the 0018 log across presentations; a purchase commits only at DEBIT.

import {
  cardKeyFromIssuerMaster,
  computeMac1,
  computeMac2,
  computeTac,
  issuerMasterFromRoot,
  iso9797Mac3,
  purchaseSessionKey,
  u32Bytes,
} from '../psam/pboc_epurse_crypto.js';
import { testMasterKey, TEST_ISSUER_ID } from '../psam/psam_profile.js';
import type { Prng } from '../prng.js';
import type { CardIdentity, VirtualCard } from './card_model.js';

/** The T-Union ADF (domain.md 7.1). */
export const TUNION_AID = Uint8Array.of(0xa0, 0x00, 0x00, 0x06, 0x32, 0x01, 0x01, 0x05);

/** A T-Union card's personalisation (plain data). */
export interface TunionProfile {
  readonly label: string;
  /** 0015: issuer id (8 bytes); default the TEST issuer of the TEST PSAM. */
  readonly issuerId?: Uint8Array;
  /** 0015: application serial, 20 decimal digits (10 bytes BCD). */
  readonly applicationSerial: string;
  /** 0015: YYYYMMDD. */
  readonly startDate: string;
  readonly expiryDate: string;
  /** 0017: province and city codes, 4 hex digits each (e.g. '5800', '5840'). */
  readonly province: string;
  readonly city: string;
  /** 0017 interop type: 0001 (interop) or 0000 (local only). */
  readonly interop: boolean;
  readonly cardCategory: number;
  readonly balanceMinor: number;
  readonly atc: number;
  /** The purchase key index the card has (INITIALIZE P1 key index must name it). */
  readonly keyIndex: number;
  readonly keyVersion: number;
  /** The application was blocked (SELECT answers 6283). */
  readonly blocked?: boolean;
}

/** What a T-Union card shows to tests. */
export interface TunionCard extends VirtualCard {
  readonly profile: TunionProfile;
  balanceMinor(): number;
  atc(): number;
  blocked(): boolean;
  /** Record `n` of SFI `sfi` (001A/0019 records by number; 001E newest first), or null. */
  record(sfi: number, n: number): Uint8Array | null;
  /** The 0018 log, newest first (23 bytes each). */
  log(): readonly Uint8Array[];
  /** Every debit the card committed: amount, terminal serial, TAC. */
  debits(): readonly { readonly amountMinor: number; readonly atc: number; readonly tac: string }[];
  /**
   * The holder loads the card at a service desk (圈存): the balance goes back up to the
   * personalised one. A load is the issuer's online transaction, not modelled by commands:
   * it changes no offline serial and no record; `loadedMinor` counts what was loaded.
   */
  topUp(): void;
  /** Money loaded by `topUp` so far (balance = personalised + loaded - debited). */
  loadedMinor(): number;
  /** The card's derived keys (tests compute MACs with them independently). */
  keys(): { readonly dpk: Uint8Array; readonly dtk: Uint8Array; readonly damk: Uint8Array };
}

const SW = {
  ok: 0x9000,
  blockedApp: 0x6283,
  wrongLength: 0x6700,
  conditions: 0x6985,
  /** PBOC e-purse: secure-messaging data object (the MAC) wrong. */
  smDataWrong: 0x6988,
  notFound: 0x6a82,
  recordNotFound: 0x6a83,
  p1p2: 0x6a86,
  ins: 0x6d00,
  cla: 0x6e00,
  mac1: 0x9302,
  insufficient: 0x9401,
  keyNotFound: 0x9403,
} as const;

/** The card keys of a profile under the TEST masters (see the file header). */
export function tunionKeys(profile: TunionProfile): {
  dpk: Uint8Array;
  dtk: Uint8Array;
  damk: Uint8Array;
} {
  const issuer = profile.issuerId ?? TEST_ISSUER_ID;
  const serial = Uint8Array.from(Buffer.from(profile.applicationSerial, 'hex'));
  const derive = (label: string): Uint8Array =>
    cardKeyFromIssuerMaster(issuerMasterFromRoot(testMasterKey(label), issuer), serial);
  return {
    dpk: derive('purchase-root'),
    dtk: derive('tac-root'),
    damk: derive('maintenance-root'),
  };
}

/** Builds a T-Union card; `prng` draws the card's pseudo-random numbers. */
export function createTunionCard(profile: TunionProfile, prng: Prng): TunionCard {
  return new TunionCardImpl(profile, prng);
}

interface Purchase {
  readonly amount: number;
  readonly type: number;
  readonly random: Uint8Array;
  readonly atc: number;
  readonly terminal: Uint8Array;
  readonly updates: { sfi: number; n: number; data: Uint8Array }[];
}

/** `data` ‖ SW1 SW2 in one new array (a copy: the card's own arrays never leave it). */
function answer(sw: number, data: Uint8Array = NO_DATA): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data);
  out[data.length] = sw >> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}

/** No data (zero bytes: nothing can change it, so one serves every answer). */
const NO_DATA = new Uint8Array(0);

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** `hex`'s pattern by byte count (a few sizes: made once each, not at every call). */
const HEX_PATTERNS = new Map<number, RegExp>();

function hex(text: string, bytes: number): Uint8Array {
  let pattern = HEX_PATTERNS.get(bytes);
  if (pattern === undefined) {
    pattern = new RegExp(`^[0-9A-Fa-f]{${bytes * 2}}$`);
    HEX_PATTERNS.set(bytes, pattern);
  }
  if (!pattern.test(text)) throw new RangeError(text);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

class TunionCardImpl implements TunionCard {
  readonly label: string;
  private balance: number;
  private counter: number;
  private isBlocked: boolean;
  private selected = false;
  private purchase: Purchase | null = null;
  private challenge: Uint8Array | null = null;
  private readonly records = new Map<string, Uint8Array>();
  private readonly cyclic001e: Uint8Array[] = [];
  private readonly log0018: Uint8Array[] = [];
  private readonly committed: { amountMinor: number; atc: number; tac: string }[] = [];
  private lastProof: { atc: number; type: number; mac2: Uint8Array; tac: Uint8Array } | null = null;
  private readonly cardKeys: { dpk: Uint8Array; dtk: Uint8Array; damk: Uint8Array };
  private loaded = 0;
  /**
   * Fixed for the card's life (its serial's last 4 bytes as UID): made once, as the PN532
   * emulator asks every card in the field for it at every poll. Nobody changes its arrays.
   */
  private readonly identityFixed: CardIdentity;
  /**
   * Files 0015 and 0017 once made (at the first SELECT or READ BINARY: a profile field that
   * is not hex throws there, as before): functions of the readonly profile; read, never changed.
   */
  private file0015Made: Uint8Array | null = null;
  private file0017Made: Uint8Array | null = null;
  /** The SELECT answer's FCI once made (from 0015 and the AID: read, never changed). */
  private fciMade: Uint8Array | null = null;

  constructor(
    readonly profile: TunionProfile,
    private readonly prng: Prng,
  ) {
    this.label = profile.label;
    this.balance = profile.balanceMinor;
    this.counter = profile.atc;
    this.isBlocked = profile.blocked === true;
    this.cardKeys = tunionKeys(profile);
    hex(profile.applicationSerial, 10);
    this.identityFixed = {
      kind: 'A',
      uid: Uint8Array.from(Buffer.from(profile.applicationSerial.slice(-8), 'hex')),
      atqa: Uint8Array.of(0x00, 0x04),
      sak: 0x20,
      ats: Uint8Array.of(5, 0x78, 0x80, 0x40, 0x02),
    };
  }

  identity(): CardIdentity {
    return this.identityFixed;
  }

  powerOn(): void {
    this.selected = false;
    this.purchase = null;
    this.challenge = null;
  }

  lastProcessingMs(): number {
    return 5;
  }

  balanceMinor(): number {
    return this.balance;
  }

  atc(): number {
    return this.counter;
  }

  blocked(): boolean {
    return this.isBlocked;
  }

  record(sfi: number, n: number): Uint8Array | null {
    if (sfi === 0x1e) return this.cyclic001e[n - 1] ?? null;
    return this.records.get(`${sfi}:${n}`) ?? null;
  }

  log(): readonly Uint8Array[] {
    return this.log0018;
  }

  debits(): readonly { amountMinor: number; atc: number; tac: string }[] {
    return this.committed;
  }

  keys(): { dpk: Uint8Array; dtk: Uint8Array; damk: Uint8Array } {
    return this.cardKeys;
  }

  topUp(): void {
    const amount = Math.max(0, this.profile.balanceMinor - this.balance);
    this.balance += amount;
    this.loaded += amount;
  }

  loadedMinor(): number {
    return this.loaded;
  }

  transceive(capdu: Uint8Array): Uint8Array | null {
    if (capdu.length < 4) return answer(SW.wrongLength);
    const cla = capdu[0] ?? 0;
    const ins = capdu[1] ?? 0;
    const lc = capdu.length > 5 ? (capdu[4] ?? 0) : 0;
    const data = capdu.length > 5 ? capdu.subarray(5, 5 + lc) : new Uint8Array(0);
    if (capdu.length > 5 && capdu.length !== 5 + lc && capdu.length !== 6 + lc) {
      return answer(SW.wrongLength);
    }
    if (ins === 0xa4 && cla === 0x00) return this.select(capdu, data);
    if (!this.selected) return answer(SW.conditions);
    // CLA and INS as one number (no string made per command).
    switch ((cla << 8) | ins) {
      case 0x00b0:
        return this.readBinary(capdu);
      case 0x00b2:
        return this.readRecord(capdu);
      case 0x805c:
        return answer(SW.ok, u32Bytes(this.balance));
      case 0x8050:
        return this.initialize(capdu, data);
      case 0x80dc:
        return this.updateCache(capdu, data);
      case 0x8054:
        return this.debit(data);
      case 0x805a:
        return this.proof(capdu, data);
      case 0x0084:
        return this.getChallenge();
      case 0x841e:
        return this.applicationBlock(capdu, data);
      default:
        return answer(cla === 0x00 || cla === 0x80 || cla === 0x84 ? SW.ins : SW.cla);
    }
  }

  private select(capdu: Uint8Array, data: Uint8Array): Uint8Array {
    this.purchase = null;
    if ((capdu[2] ?? 0) !== 0x04 || !equal(data, TUNION_AID)) {
      this.selected = false;
      return answer(SW.notFound);
    }
    if (this.isBlocked) {
      this.selected = false;
      return answer(SW.blockedApp);
    }
    this.selected = true;
    this.fciMade ??= this.fciMake();
    return answer(SW.ok, this.fciMade);
  }

  /** The SELECT answer's FCI: AID and 0015, both fixed for the card's life. */
  private fciMake(): Uint8Array {
    const f15 = this.file0015();
    const a5 = Uint8Array.of(0x9f, 0x08, 0x01, 0x02, 0x9f, 0x0c, 0x1e, ...f15);
    const body = Uint8Array.of(0x84, TUNION_AID.length, ...TUNION_AID, 0xa5, a5.length, ...a5);
    return Uint8Array.of(0x6f, body.length, ...body);
  }

  /** 0015 (30 bytes): issuer id, app type 02, version 01, serial, start, expiry, 0000. */
  private file0015(): Uint8Array {
    this.file0015Made ??= this.file0015Make();
    return this.file0015Made;
  }

  private file0015Make(): Uint8Array {
    const p = this.profile;
    return Uint8Array.of(
      ...(p.issuerId ?? TEST_ISSUER_ID),
      0x02,
      0x01,
      ...hex(p.applicationSerial, 10),
      ...hex(p.startDate, 4),
      ...hex(p.expiryDate, 4),
      0x00,
      0x00,
    );
  }

  /** 0017 (60 bytes): 00000156, province, city, interop type, category, reserved. */
  private file0017(): Uint8Array {
    this.file0017Made ??= this.file0017Make();
    return this.file0017Made;
  }

  private file0017Make(): Uint8Array {
    const p = this.profile;
    const out = new Uint8Array(60);
    out.set([0x00, 0x00, 0x01, 0x56], 0);
    out.set(hex(p.province, 2), 4);
    out.set(hex(p.city, 2), 6);
    out.set([0x00, p.interop ? 0x01 : 0x00, p.cardCategory & 0xff], 8);
    return out;
  }

  private readBinary(capdu: Uint8Array): Uint8Array {
    const p1 = capdu[2] ?? 0;
    const le = capdu.length === 5 ? capdu[4] || 256 : 256;
    const file = p1 === 0x95 ? this.file0015() : p1 === 0x97 ? this.file0017() : null;
    if (file === null) return answer(SW.notFound);
    if ((capdu[3] ?? 0) >= file.length) return answer(SW.p1p2);
    return answer(SW.ok, file.subarray(capdu[3] ?? 0, Math.min(file.length, (capdu[3] ?? 0) + le)));
  }

  private readRecord(capdu: Uint8Array): Uint8Array {
    const [n, p2] = [capdu[2] ?? 0, capdu[3] ?? 0];
    if ((p2 & 0x07) !== 0x04) return answer(SW.p1p2);
    const sfi = p2 >> 3;
    if (sfi === 0x18) {
      const entry = this.log0018[n - 1];
      return entry === undefined ? answer(SW.recordNotFound) : answer(SW.ok, entry);
    }
    const found = this.record(sfi, n);
    return found === null ? answer(SW.recordNotFound) : answer(SW.ok, found);
  }

  /** INITIALIZE FOR PURCHASE `80 50 03|01 02 0B`: key index ‖ amount ‖ terminal number. */
  private initialize(capdu: Uint8Array, data: Uint8Array): Uint8Array {
    this.purchase = null;
    const p1 = capdu[2] ?? 0;
    if ((p1 !== 0x01 && p1 !== 0x03) || capdu[3] !== 0x02) return answer(SW.p1p2);
    if (data.length !== 11) return answer(SW.wrongLength);
    if (data[0] !== this.profile.keyIndex) return answer(SW.keyNotFound);
    const amount = Buffer.from(data).readUInt32BE(1);
    if (amount > this.balance) return answer(SW.insufficient);
    const random = this.prng.bytes(4);
    this.purchase = {
      amount,
      type: p1 === 0x03 ? 0x09 : 0x06,
      random,
      atc: this.counter,
      terminal: data.slice(5, 11),
      updates: [],
    };
    const out = Uint8Array.of(
      ...u32Bytes(this.balance),
      this.counter >> 8,
      this.counter & 0xff,
      0x00,
      0x00,
      0x00,
      this.profile.keyVersion,
      0x00,
      ...random,
    );
    return answer(SW.ok, out);
  }

  /** UPDATE CAPP DATA CACHE `80 DC rec (SFI << 3)`: kept until DEBIT commits it. */
  private updateCache(capdu: Uint8Array, data: Uint8Array): Uint8Array {
    if (this.purchase === null || this.purchase.type !== 0x09) return answer(SW.conditions);
    const [n, p2] = [capdu[2] ?? 0, capdu[3] ?? 0];
    const sfi = p2 >> 3;
    const sizes: Readonly<Record<number, number | undefined>> = { 0x1a: 128, 0x1e: 48 };
    const size = sizes[sfi];
    if (sfi !== 0x19 && size === undefined) return answer(SW.notFound);
    if (size !== undefined && data.length !== size) return answer(SW.wrongLength);
    this.purchase.updates.push({ sfi, n, data: data.slice() });
    return answer(SW.ok);
  }

  /** DEBIT FOR PURCHASE `80 54 01 00 0F`: serial ‖ date-time ‖ MAC1 → TAC ‖ MAC2. */
  private debit(data: Uint8Array): Uint8Array {
    const purchase = this.purchase;
    this.purchase = null;
    if (purchase === null) return answer(SW.conditions);
    if (data.length !== 15) return answer(SW.wrongLength);
    const terminalSerial = Buffer.from(data).readUInt32BE(0);
    const dateTime = data.slice(4, 11);
    const session = purchaseSessionKey(this.cardKeys.dpk, {
      cardRandom: purchase.random,
      offlineSerial: purchase.atc,
      terminalSerial,
    });
    const terminalData = {
      amountMinor: purchase.amount,
      transactionType: purchase.type,
      terminalNumber: purchase.terminal,
      dateTime,
    };
    if (!equal(computeMac1(session, terminalData), data.subarray(11, 15))) return answer(SW.mac1);
    const tac = computeTac(this.cardKeys.dtk, terminalData, terminalSerial);
    const mac2 = computeMac2(session, purchase.amount);
    this.commit(purchase, dateTime, tac, mac2);
    return answer(SW.ok, Uint8Array.of(...tac, ...mac2));
  }

  private commit(p: Purchase, dateTime: Uint8Array, tac: Uint8Array, mac2: Uint8Array): void {
    this.balance -= p.amount;
    this.counter = (this.counter + 1) & 0xffff;
    for (const u of p.updates) {
      if (u.sfi === 0x1e) this.cyclic001e.unshift(u.data);
      else this.records.set(`${u.sfi}:${u.n}`, u.data);
    }
    this.cyclic001e.splice(10);
    const entry = Uint8Array.of(
      this.counter >> 8,
      this.counter & 0xff,
      0,
      0,
      0,
      ...u32Bytes(p.amount),
      p.type,
      ...p.terminal,
      ...dateTime,
    );
    this.log0018.unshift(entry);
    this.log0018.splice(10);
    this.lastProof = { atc: this.counter, type: p.type, mac2, tac };
    this.committed.push({
      amountMinor: p.amount,
      atc: this.counter,
      tac: Buffer.from(tac).toString('hex').toUpperCase(),
    });
  }

  /** GET TRANSACTION PROOF `80 5A 00 type 02` ‖ serial → MAC2 ‖ TAC; 6985 when none. */
  private proof(capdu: Uint8Array, data: Uint8Array): Uint8Array {
    if (data.length !== 2) return answer(SW.wrongLength);
    const serial = ((data[0] ?? 0) << 8) | (data[1] ?? 0);
    const proof = this.lastProof;
    if (proof === null || proof.atc !== serial || proof.type !== capdu[3]) {
      return answer(SW.conditions);
    }
    return answer(SW.ok, Uint8Array.of(...proof.mac2, ...proof.tac));
  }

  private getChallenge(): Uint8Array {
    this.challenge = this.prng.bytes(4);
    return answer(SW.ok, this.challenge);
  }

  /**
   * APPLICATION BLOCK `84 1E 00 P2 04` ‖ MAC (P2 00 temporary, 01 permanent; both block here):
   * retail MAC under DAMK over the header, IV = challenge ‖ 00000000. 9000 (blocked: SELECT
   * answers 6283 from now on), 6985 (no GET CHALLENGE just before), 6A86, 6700, 6988 (MAC wrong).
   */
  private applicationBlock(capdu: Uint8Array, data: Uint8Array): Uint8Array {
    const challenge = this.challenge;
    this.challenge = null;
    if (challenge === null) return answer(SW.conditions);
    if (capdu[2] !== 0x00 || (capdu[3] ?? 0) > 0x01) return answer(SW.p1p2);
    if (data.length !== 4) return answer(SW.wrongLength);
    const iv = Uint8Array.of(...challenge, 0, 0, 0, 0);
    const header = Uint8Array.of(0x84, 0x1e, 0x00, capdu[3] ?? 0, 0x04);
    const mac = iso9797Mac3(this.cardKeys.damk, header, iv).subarray(0, 4);
    if (!equal(mac, data)) return answer(SW.smDataWrong);
    this.isBlocked = true;
    this.selected = false;
    return answer(SW.ok);
  }
}
