// Card personalisation profile (plain JSON data) and its semantic checks.

import { ICC_KEY_SPECS, ISSUER_SPECS } from '../pki/test_pki_spec.js';
import type { IccKeySlot, IssuerName } from '../pki/test_pki_spec.js';
import { fromHex } from '../pki/emv_bytes.js';
import { parseDol } from './card_dol.js';
import type { ProcessingModel } from './card_timing.js';
import {
  DYNAMIC_TAGS,
  TAG_9F46_ICC_CERT,
  TAG_9F66_TTQ,
  TERMINAL_TAG_LENGTHS,
  tagFromHex,
  tagToHex,
} from './emv_card_tags.js';

/** How the card presents its UID: fixed (plastic) or fresh per presentation (phone wallets). */
export type UidProfile =
  | { readonly mode: 'fixed'; readonly uidHex: string }
  | { readonly mode: 'random-per-tap'; readonly length: 4 | 7 };

/** ISO 14443-A RF personality. */
export interface RfProfileA {
  readonly kind: 'A';
  readonly uid: UidProfile;
  /** SAK; 0x20 = ISO 14443-4, 0x28 = dual-interface with MIFARE emulation. */
  readonly sak: number;
  /** ATS including TL. */
  readonly atsHex: string;
}

/** ISO 14443-B RF personality. */
export interface RfProfileB {
  readonly kind: 'B';
  /** PUPI, 4 bytes; null draws a fresh one per presentation. */
  readonly pupiHex: string | null;
  readonly applicationDataHex: string;
  readonly protocolInfoHex: string;
  readonly attribResHex: string;
}

export type RfProfile = RfProfileA | RfProfileB;

/** Electronic cash purse (amounts in minor units, fen). See domain.md 2.6. */
export interface EcProfile {
  /** 9F79 at personalisation. */
  readonly balanceMinor: number;
  /** 9F77. */
  readonly balanceLimitMinor: number;
  /** 9F78. */
  readonly singleLimitMinor: number;
  /** 9F6D. */
  readonly resetThresholdMinor: number;
  /**
   * When the balance moves (domain.md 4.3). 'last-record': the GPO stages the debit and the
   * READ RECORD of the last AFL record commits it. 'gpo-with-rollback': the GPO debits at once
   * and keeps a rollback copy; the last record confirms it, and the next GPO restores the copy
   * when the debit was never confirmed (as some applets do).
   */
  readonly debitAt: EcDebitPoint;
}

/** The two torn behaviours of EcProfile.debitAt. */
export type EcDebitPoint = 'last-record' | 'gpo-with-rollback';
export const EC_DEBIT_POINTS: readonly EcDebitPoint[] = ['last-record', 'gpo-with-rollback'];

/**
 * Cumulative offline limits of a card without an e-cash purse: offline approvals (TC) while
 * CTTA + amount <= CTTAL; 9F5D then carries the available offline spending amount
 * (CTTAL - CTTA), and the IAD type byte says so (domain.md 2.4, 2.6).
 */
export interface OfflineLimitsProfile {
  /** CTTAL (9F54), the cumulative total transaction amount limit. */
  readonly cumulativeLimitMinor: number;
  /** CTTA at personalisation (offline approvals since the last online transaction). */
  readonly cumulativeTotalMinor: number;
  /** IAD byte 10: 0x02 = CTTA in the IAD value, 0x05 = the available amount (9F5D). */
  readonly iadType: 0x02 | 0x05;
}

/**
 * The full contactless PBOC flow of a stock card (domain.md 6.2): GPO format 1 or 2 without a
 * cryptogram, READ RECORD, INTERNAL AUTHENTICATE (DDA), GENERATE AC (optionally CDA).
 * Its AFL lists the static records of `records` (the qPBOC list; the same ODA records, so one
 * ICC certificate serves both flows) followed by `extraRecords`.
 */
export interface FullFlowProfile {
  /** GPO answer: 1 = `80` AIP || AFL, 2 = `77` with 82 and 94 (no cryptogram). */
  readonly gpoFormat: 1 | 2;
  /** INTERNAL AUTHENTICATE and GENERATE AC answers without CDA: 1 = `80`, 2 = `77`. */
  readonly responseFormat: 1 | 2;
  /** 8C CDOL1. */
  readonly cdol1Hex: string;
  /** 8D CDOL2. */
  readonly cdol2Hex: string;
  /** 9F49 DDOL, or null when the card has none (the terminal uses its default DDOL). */
  readonly ddolHex: string | null;
  /** Data authentication code in the SSAD (93), 2 bytes. */
  readonly dacHex: string;
  /**
   * Card risk management for a TC request: 'never' = always ARQC (phones, online-only
   * products); 'limits' = TC within the cumulative offline limits, else ARQC.
   */
  readonly offline: 'never' | 'limits';
  /** Non-ODA records only the full flow lists (8C, 8D, 9F49, 93 ...), in AFL order. */
  readonly extraRecords: readonly RecordProfile[];
}

/** qPBOC transaction log: 9F4D (SFI, record count) and 9F4F (format DOL). */
export interface LogProfile {
  readonly sfi: number;
  readonly maxRecords: number;
  readonly formatHex: string;
}

/** Issuer application data layout. See domain.md 2.4. */
export interface IadProfile {
  /** 'long' = 0x13 bytes with EC balance and MAC; 'short' = 8 bytes. */
  readonly format: 'long' | 'short';
  /** Derivation key index. */
  readonly dki: number;
  /** Cryptogram version: 0x01 (PBOC 3DES) or 0x11 (CVN 17, short input). */
  readonly cvn: 0x01 | 0x11;
}

/** Offline data authentication material. */
export interface OdaProfile {
  readonly issuer: IssuerName;
  readonly iccKeySlot: IccKeySlot;
  /** ICC certificate serial, 3 bytes. */
  readonly iccCertSerialHex: string;
  /** The card supports fDDA version 01 (9F69) when the terminal asks with TTQ 4.b8. */
  readonly fddaV01: boolean;
  /** Null for a genuine card; a clone signs its SDAD with this key instead of iccKeySlot's. */
  readonly signingKeySlot: IccKeySlot | null;
}

/** One AFL record: SFI, number, ODA flag and the tags it holds, in order. */
export interface RecordProfile {
  readonly sfi: number;
  readonly number: number;
  readonly oda: boolean;
  /** Hex tags; values come from the app's data (PAN, certificates...) or extraTags. */
  readonly tags: readonly string[];
}

/** One payment application on the card. */
export interface AppProfile {
  readonly aidHex: string;
  /** Tag 50, ASCII. */
  readonly label: string;
  /** Tag 9F12 in the FCI, or null. */
  readonly preferredName: string | null;
  /** Tag 87, or null when the PPSE entry carries none. */
  readonly priority: number | null;
  /** Tag 9F2A in the PPSE entry, or null. */
  readonly kernelIdHex: string | null;
  readonly pdolHex: string;
  readonly pan: string;
  readonly psn: number;
  readonly expiryYymmdd: string;
  readonly effectiveYymmdd: string;
  readonly serviceCode: string;
  readonly cardholderName: string | null;
  /** ISO 3166 numeric, 4 digits ("0156"). */
  readonly countryCode: string;
  /** ISO 4217 numeric, 4 digits ("0156"); also 9F51. */
  readonly currencyCode: string;
  readonly aipHex: string;
  readonly records: readonly RecordProfile[];
  readonly ec: EcProfile | null;
  /** 9F68, 4 bytes. See domain.md 2.3 and CAP_* in qpboc_risk.ts. */
  readonly cardAdditionalProcessesHex: string;
  /** 9F6C, 2 bytes. */
  readonly ctqHex: string;
  /** DF61 in the contactless FCI (0x40 = online-ODA capable), or null when absent. */
  readonly df61: number | null;
  readonly iad: IadProfile;
  readonly log: LogProfile | null;
  readonly atcInitial: number;
  /** 9F13; 0 means the card was never online (a "new card"). */
  readonly lastOnlineAtc: number;
  /** The application cryptogram master key MK_AC, 16 bytes. */
  readonly mkAcHex: string;
  readonly oda: OdaProfile | null;
  /** The full contactless PBOC flow (TTQ 1.b7 without 1.b6), or null when unsupported. */
  readonly fullFlow: FullFlowProfile | null;
  /** Cumulative offline limits (cards without EC), or null. */
  readonly offlineLimits: OfflineLimitsProfile | null;
  /** Extra data objects (hex tag -> hex value) for records, FCI or GPO answers. */
  readonly extraTags: Readonly<Record<string, string>>;
  /** Tags from extraTags appended to every format 2 GPO answer (e.g. 9F63). */
  readonly gpoExtraTags: readonly string[];
}

/** A whole card. Applications are listed in PPSE order. */
export interface CardProfile {
  readonly label: string;
  readonly rf: RfProfile;
  readonly applications: readonly AppProfile[];
  readonly processing: ProcessingModel;
}

/** A profile that cannot be personalised; `issues` lists every problem found. */
export class CardProfileError extends Error {
  constructor(
    readonly label: string,
    readonly issues: readonly string[],
  ) {
    super(`card profile "${label}": ${issues.join('; ')}`);
    this.name = 'CardProfileError';
  }
}

/** AIP byte 1 bits. See EMV 4.4 Book 3, Annex C1. */
export const AIP_SDA_0X40 = 0x40;
export const AIP_DDA_0X20 = 0x20;
export const AIP_CDA_0X01 = 0x01;

/**
 * Checks the semantic rules personalisation relies on.
 * Throws CardProfileError listing every problem (hex formats, PDOL without 9F66, dynamic or
 * certificate tags in ODA records, duplicate records, DDA without ODA material...).
 */
export function validateCardProfile(profile: CardProfile): void {
  const issues: string[] = [];
  if (profile.applications.length === 0) issues.push('no application');
  profile.applications.forEach((app, i) => {
    for (const issue of appIssues(app)) issues.push(`applications[${i}]: ${issue}`);
  });
  if (issues.length > 0) throw new CardProfileError(profile.label, issues);
}

function appIssues(app: AppProfile): string[] {
  const issues: string[] = [];
  const hexChecks: readonly (readonly [string, string, number, number])[] = [
    ['aidHex', app.aidHex, 5, 16],
    ['aipHex', app.aipHex, 2, 2],
    ['ctqHex', app.ctqHex, 2, 2],
    ['cardAdditionalProcessesHex', app.cardAdditionalProcessesHex, 4, 4],
    ['mkAcHex', app.mkAcHex, 16, 16],
  ];
  for (const [name, value, min, max] of hexChecks) {
    const n = hexLength(value);
    if (n === null || n < min || n > max) issues.push(`${name} must be ${min}-${max} hex bytes`);
  }
  if (!/^[0-9]{12,19}$/.test(app.pan)) issues.push('pan must be 12-19 digits');
  if (!/^[0-9]{6}$/.test(app.expiryYymmdd)) issues.push('expiryYymmdd must be YYMMDD');
  if (!/^[0-9]{6}$/.test(app.effectiveYymmdd)) issues.push('effectiveYymmdd must be YYMMDD');
  if (!/^[0-9]{3}$/.test(app.serviceCode)) issues.push('serviceCode must be 3 digits');
  if (!/^[0-9]{4}$/.test(app.currencyCode) || !/^[0-9]{4}$/.test(app.countryCode)) {
    issues.push('currencyCode and countryCode must be 4 digits');
  }
  issues.push(...pdolIssues(app.pdolHex), ...recordIssues(app), ...odaIssues(app));
  issues.push(...fullFlowIssues(app), ...limitIssues(app));
  if (app.ec !== null && app.records.length === 0) {
    issues.push('an EC purse needs AFL records: the last one is the commit point');
  }
  if (!Number.isInteger(app.atcInitial) || app.atcInitial < 0 || app.atcInitial > 0xfffe) {
    issues.push('atcInitial must be 0..65534');
  }
  return issues;
}

function pdolIssues(pdolHex: string): string[] {
  try {
    const entries = parseDol(fromHex(pdolHex));
    const issues: string[] = [];
    if (!entries.some((e) => e.tag === TAG_9F66_TTQ)) issues.push('PDOL without 9F66 (not qPBOC)');
    for (const e of entries) {
      const expected = TERMINAL_TAG_LENGTHS.get(e.tag);
      if (expected !== undefined && expected !== e.length) {
        issues.push(`PDOL ${tagToHex(e.tag)} length ${e.length} != ${expected}`);
      }
    }
    return issues;
  } catch (err) {
    return [`pdolHex: ${String(err)}`];
  }
}

function recordIssues(app: AppProfile): string[] {
  const issues: string[] = [];
  const seen = new Set<string>();
  const dynamicSeen = new Set<number>();
  for (const r of app.records) {
    const key = `${r.sfi}.${r.number}`;
    if (r.sfi < 1 || r.sfi > 30 || r.number < 1 || r.number > 255) {
      issues.push(`record ${key} range`);
    }
    if (seen.has(key)) issues.push(`record ${key} twice`);
    seen.add(key);
    if (app.log !== null && r.sfi === app.log.sfi) issues.push(`record ${key} in the log SFI`);
    for (const hex of r.tags) {
      let tag: number;
      try {
        tag = tagFromHex(hex);
      } catch {
        issues.push(`record ${key}: tag "${hex}"`);
        continue;
      }
      const dynamic = DYNAMIC_TAGS.includes(tag);
      if (r.oda && (dynamic || tag === TAG_9F46_ICC_CERT)) {
        issues.push(`record ${key}: ${hex} cannot be in an ODA record`);
      }
      if (dynamic && dynamicSeen.has(tag)) issues.push(`record ${key}: ${hex} twice`);
      if (dynamic) dynamicSeen.add(tag);
    }
  }
  return issues;
}

function fullFlowIssues(app: AppProfile): string[] {
  const flow = app.fullFlow;
  if (flow === null) return [];
  const issues: string[] = [];
  if (!(flow.gpoFormat === 1 || flow.gpoFormat === 2)) issues.push('fullFlow.gpoFormat');
  if (!(flow.responseFormat === 1 || flow.responseFormat === 2)) {
    issues.push('fullFlow.responseFormat');
  }
  if (!(flow.offline === 'never' || flow.offline === 'limits')) issues.push('fullFlow.offline');
  if (hexLength(flow.dacHex) !== 2) issues.push('fullFlow.dacHex must be 2 bytes');
  const dols: readonly (readonly [string, string | null])[] = [
    ['cdol1Hex', flow.cdol1Hex],
    ['cdol2Hex', flow.cdol2Hex],
    ['ddolHex', flow.ddolHex],
  ];
  for (const [name, hex] of dols) {
    if (hex === null) continue;
    try {
      if (parseDol(fromHex(hex)).length === 0) issues.push(`fullFlow.${name} is empty`);
    } catch (err) {
      issues.push(`fullFlow.${name}: ${String(err)}`);
    }
  }
  const taken = new Set(app.records.map((r) => `${r.sfi}.${r.number}`));
  for (const r of flow.extraRecords) {
    const key = `${r.sfi}.${r.number}`;
    if (taken.has(key)) issues.push(`fullFlow record ${key} twice`);
    taken.add(key);
    if (r.oda) issues.push(`fullFlow record ${key}: extra records cannot be ODA records`);
    if (r.sfi < 1 || r.sfi > 30 || r.number < 1 || r.number > 255) {
      issues.push(`fullFlow record ${key} range`);
    }
    for (const hex of r.tags) {
      if (!/^([0-9a-fA-F]{2}){1,3}$/.test(hex)) issues.push(`fullFlow record ${key}: "${hex}"`);
      else if (DYNAMIC_TAGS.includes(tagFromHex(hex))) {
        issues.push(`fullFlow record ${key}: ${hex} is dynamic`);
      }
    }
  }
  return issues;
}

function limitIssues(app: AppProfile): string[] {
  const issues: string[] = [];
  if (app.ec !== null && !EC_DEBIT_POINTS.includes(app.ec.debitAt)) issues.push('ec.debitAt');
  const limits = app.offlineLimits;
  if (limits === null) return issues;
  if (app.ec !== null) issues.push('offlineLimits is for cards without an EC purse');
  const { cumulativeLimitMinor: cttal, cumulativeTotalMinor: ctta } = limits;
  const ok = Number.isInteger(cttal) && Number.isInteger(ctta) && ctta >= 0 && ctta <= cttal;
  if (!ok || cttal > 9_999_999_999) issues.push('offlineLimits: need 0 <= CTTA <= CTTAL');
  if (!(limits.iadType === 0x02 || limits.iadType === 0x05)) {
    issues.push('offlineLimits.iadType must be 0x02 or 0x05');
  }
  if (app.iad.format !== 'long') issues.push('offlineLimits need the long IAD');
  return issues;
}

function odaIssues(app: AppProfile): string[] {
  const issues: string[] = [];
  const aip = fromHexOrNull(app.aipHex);
  const dda = aip !== null && ((aip[0] ?? 0) & AIP_DDA_0X20) !== 0;
  if (dda && app.oda === null) issues.push('AIP says DDA but oda is null');
  if (!(app.iad.format === 'long' || app.iad.format === 'short')) issues.push('iad.format');
  if (!(app.iad.cvn === 0x01 || app.iad.cvn === 0x11)) issues.push('iad.cvn must be 0x01 or 0x11');
  const oda = app.oda;
  if (oda === null) return issues;
  if (hexLength(oda.iccCertSerialHex) !== 3) issues.push('oda.iccCertSerialHex must be 3 bytes');
  if (!ISSUER_SPECS.some((s) => s.name === oda.issuer)) issues.push(`oda.issuer ${oda.issuer}`);
  for (const slot of [oda.iccKeySlot, oda.signingKeySlot]) {
    const known = slot === null || ICC_KEY_SPECS.some((s) => s.slot === slot);
    if (!known) issues.push(`key slot ${slot}`);
  }
  return issues;
}

function hexLength(hex: string): number | null {
  const bytes = fromHexOrNull(hex);
  return bytes === null ? null : bytes.length;
}

function fromHexOrNull(hex: string): Uint8Array | null {
  try {
    return fromHex(hex);
  } catch {
    return null;
  }
}
