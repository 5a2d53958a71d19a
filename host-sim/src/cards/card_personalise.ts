// Personalisation: a CardProfile plus the test PKI become FCIs, AFL, records and certificates.

import {
  asciiBytes,
  berTlv,
  concatBytes,
  fromHex,
  toBcd,
  toCompressedNumeric,
} from '../pki/emv_bytes.js';
import { buildIccCertificate } from '../pki/emv_cert.js';
import type { RsaKeyPair } from '../pki/rsa_keygen.js';
import type { TestPki } from '../pki/test_pki.js';
import { dolDataLength, parseDol } from './card_dol.js';
import type { DolEntry } from './card_dol.js';
import { validateCardProfile, CardProfileError } from './card_profile.js';
import type { AppProfile, CardProfile, RecordProfile } from './card_profile.js';
import { buildAfl, recordKey, staticDataToAuthenticate } from './emv_card_records.js';
import type { AflLayout } from './emv_card_records.js';
import * as T from './emv_card_tags.js';
import { RESPONSE_DATA_MAX, gpoWorstCaseLength } from './qpboc_gpo.js';
import { checkFullFlowStaticData, personaliseFullFlow } from './card_personalise_full_flow.js';
import type { PersonalisedFullFlow } from './card_personalise_full_flow.js';

/** The PPSE name "2PAY.SYS.DDF01". See domain.md 1.2. */
export const PPSE_NAME = asciiBytes('2PAY.SYS.DDF01');
/** Default FCI language preference 5F2D: "zh". */
const LANGUAGE_ZH = asciiBytes('zh');

/** A record as personalised: fixed bytes, or a template filled per transaction. */
export interface PersonalisedRecord {
  readonly profile: RecordProfile;
  readonly tags: readonly number[];
  /** Full `70 L ...` bytes for a static record; null when it holds dynamic tags. */
  readonly staticBytes: Uint8Array | null;
}

/** One application after personalisation: everything the runtime needs, precomputed. */
export interface PersonalisedApp {
  readonly profile: AppProfile;
  readonly aid: Uint8Array;
  /** SELECT AID answer data (6F template). */
  readonly fci: Uint8Array;
  /** This application's 61 entry in the PPSE. */
  readonly ppseEntry: Uint8Array;
  readonly pdol: readonly DolEntry[];
  readonly pdolDataLength: number;
  readonly aip: Uint8Array;
  readonly afl: AflLayout;
  readonly records: ReadonlyMap<string, PersonalisedRecord>;
  /** Static data objects by tag (57, 5A, 5F34, certificates...). */
  readonly data: ReadonlyMap<number, Uint8Array>;
  /** The certified ICC key, or null without ODA. */
  readonly iccKey: RsaKeyPair | null;
  /** The key the card signs SDADs with: the ICC key, or a foreign key for a clone. */
  readonly signingKey: RsaKeyPair | null;
  /** The static data the ICC certificate authenticates (for inspection in tests). */
  readonly staticData: Uint8Array;
  readonly mkAc: Uint8Array;
  /** The full contactless PBOC flow, or null when the card only does qPBOC. */
  readonly fullFlow: PersonalisedFullFlow | null;
}

/** A personalised card. */
export interface PersonalisedCard {
  readonly profile: CardProfile;
  readonly apps: readonly PersonalisedApp[];
  /** SELECT PPSE answer data. */
  readonly ppseFci: Uint8Array;
}

/**
 * Personalises every application of `profile` with keys and certificates from `pki`.
 * Throws CardProfileError when the profile is inconsistent (validateCardProfile's rules, a PAN
 * outside the issuer's BIN, a record tag without a value, a record over 256 bytes).
 */
export function personaliseCard(profile: CardProfile, pki: TestPki): PersonalisedCard {
  validateCardProfile(profile);
  const apps = profile.applications.map((app) => personaliseApp(profile.label, app, pki));
  const entries = concatBytes(...apps.map((a) => a.ppseEntry));
  const ppseFci = berTlv(
    T.TAG_6F_FCI,
    concatBytes(
      berTlv(T.TAG_84_DF_NAME, PPSE_NAME),
      berTlv(T.TAG_A5_FCI_PROPRIETARY, berTlv(T.TAG_BF0C_FCI_DISCRETIONARY, entries)),
    ),
  );
  return { profile, apps, ppseFci };
}

function personaliseApp(label: string, app: AppProfile, pki: TestPki): PersonalisedApp {
  const fail = (issue: string): never => {
    throw new CardProfileError(label, [`${app.aidHex}: ${issue}`]);
  };
  const aid = fromHex(app.aidHex);
  const aip = fromHex(app.aipHex);
  const pdol = parseDol(fromHex(app.pdolHex));
  const data = baseDataObjects(app);
  let iccKey: RsaKeyPair | null = null;
  let signingKey: RsaKeyPair | null = null;
  if (app.oda !== null) {
    const issuer = pki.issuer(app.oda.issuer);
    if (!app.pan.startsWith(issuer.spec.issuerIdDigits)) fail('PAN outside the issuer BIN');
    iccKey = pki.iccKey(app.oda.iccKeySlot);
    signingKey = app.oda.signingKeySlot === null ? iccKey : pki.iccKey(app.oda.signingKeySlot);
    data.set(T.TAG_8F_CA_INDEX, Uint8Array.of(issuer.ca.spec.index));
    data.set(T.TAG_90_ISSUER_CERT, issuer.certificate.certificate);
    data.set(T.TAG_92_ISSUER_REMAINDER, issuer.certificate.remainder);
    data.set(T.TAG_9F32_ISSUER_EXPONENT, issuer.certificate.exponent);
    data.set(T.TAG_9F4A_SDA_TAG_LIST, Uint8Array.of(T.TAG_82_AIP));
  }
  const records = new Map<string, PersonalisedRecord>();
  const build = (r: RecordProfile): void => {
    records.set(recordKey(r.sfi, r.number), buildRecord(r, data, fail));
  };
  app.records.filter((r) => r.oda).forEach(build);
  const afl = buildAfl(app.records);
  const staticData = staticDataToAuthenticate(afl, records, data);
  if (app.oda !== null && iccKey !== null) {
    const issuer = pki.issuer(app.oda.issuer);
    const cert = buildIccCertificate(issuer.key, iccKey, {
      panDigits: app.pan,
      expiryMmyy: app.expiryYymmdd.slice(2, 4) + app.expiryYymmdd.slice(0, 2),
      serial: fromHex(app.oda.iccCertSerialHex),
      staticData,
    });
    data.set(T.TAG_9F46_ICC_CERT, cert.certificate);
    data.set(T.TAG_9F47_ICC_EXPONENT, cert.exponent);
    data.set(T.TAG_9F48_ICC_REMAINDER, cert.remainder);
  }
  const fullFlow = personaliseFullFlow(app, pki, data, staticData);
  app.records.filter((r) => !r.oda).forEach(build);
  app.fullFlow?.extraRecords.forEach(build);
  checkFullFlowStaticData(fullFlow, records, data, staticData, fail);
  const personalised = {
    profile: app,
    aid,
    fci: selectFci(app, aid, data),
    ppseEntry: ppseEntry(app, aid),
    pdol,
    pdolDataLength: dolDataLength(pdol),
    aip,
    afl,
    records,
    data,
    iccKey,
    signingKey,
    staticData,
    mkAc: fromHex(app.mkAcHex),
    fullFlow,
  };
  const gpoLength = gpoWorstCaseLength(personalised);
  if (gpoLength > RESPONSE_DATA_MAX) {
    fail(`GPO answer up to ${gpoLength} bytes: move 9F4B to a record`);
  }
  return personalised;
}

/** Data objects derived from the profile fields, then the profile's extraTags on top. */
function baseDataObjects(app: AppProfile): Map<number, Uint8Array> {
  const data = new Map<number, Uint8Array>();
  const panBytes = Math.ceil(app.pan.length / 2);
  const yymm = app.expiryYymmdd.slice(0, 4);
  const track2Digits = `${app.pan}D${yymm}${app.serviceCode}0000000000000`;
  const track2 = track2Digits.length % 2 === 0 ? track2Digits : `${track2Digits}F`;
  data.set(T.TAG_57_TRACK2, fromHex(track2));
  data.set(T.TAG_5A_PAN, toCompressedNumeric(app.pan, panBytes));
  data.set(T.TAG_5F24_EXPIRY_DATE, fromHex(app.expiryYymmdd));
  data.set(T.TAG_5F25_EFFECTIVE_DATE, fromHex(app.effectiveYymmdd));
  data.set(T.TAG_5F28_ISSUER_COUNTRY, fromHex(app.countryCode));
  data.set(T.TAG_5F30_SERVICE_CODE, fromHex(`0${app.serviceCode}`));
  data.set(T.TAG_5F34_PSN, toBcd(app.psn, 1));
  data.set(T.TAG_9F07_AUC, fromHex('ff00'));
  data.set(T.TAG_9F08_VERSION, fromHex('0030'));
  data.set(T.TAG_9F51_APP_CURRENCY, fromHex(app.currencyCode));
  data.set(T.TAG_82_AIP, fromHex(app.aipHex));
  data.set(T.TAG_9F6C_CTQ, fromHex(app.ctqHex));
  data.set(T.TAG_9F68_CARD_ADDITIONAL_PROCESSES, fromHex(app.cardAdditionalProcessesHex));
  if (app.ec !== null) {
    data.set(T.TAG_9F77_EC_BALANCE_LIMIT, toBcd(app.ec.balanceLimitMinor, 6));
    data.set(T.TAG_9F78_EC_SINGLE_LIMIT, toBcd(app.ec.singleLimitMinor, 6));
    data.set(T.TAG_9F6D_EC_RESET_THRESHOLD, toBcd(app.ec.resetThresholdMinor, 6));
  }
  if (app.log !== null) data.set(T.TAG_9F4F_LOG_FORMAT, fromHex(app.log.formatHex));
  if (app.offlineLimits !== null) {
    data.set(T.TAG_9F54_CTTAL, toBcd(app.offlineLimits.cumulativeLimitMinor, 6));
  }
  if (app.cardholderName !== null) {
    data.set(T.TAG_5F20_CARDHOLDER_NAME, asciiBytes(app.cardholderName));
  }
  for (const [tagHex, valueHex] of Object.entries(app.extraTags)) {
    data.set(T.tagFromHex(tagHex), fromHex(valueHex));
  }
  return data;
}

function buildRecord(
  r: RecordProfile,
  data: ReadonlyMap<number, Uint8Array>,
  fail: (issue: string) => never,
): PersonalisedRecord {
  const tags = r.tags.map(T.tagFromHex);
  if (tags.some((t) => T.DYNAMIC_TAGS.includes(t))) return { profile: r, tags, staticBytes: null };
  const parts: Uint8Array[] = [];
  for (const tag of tags) {
    const value = data.get(tag);
    if (value === undefined) {
      return fail(`record ${r.sfi}.${r.number}: no value for ${T.tagToHex(tag)}`);
    }
    // An empty remainder means the key fitted in its certificate: the tag is simply left out.
    if (value.length > 0) parts.push(berTlv(tag, value));
  }
  const bytes = berTlv(T.TAG_70_RECORD, concatBytes(...parts));
  if (bytes.length > 256) fail(`record ${r.sfi}.${r.number} is ${bytes.length} bytes`);
  return { profile: r, tags, staticBytes: bytes };
}

function selectFci(
  app: AppProfile,
  aid: Uint8Array,
  data: ReadonlyMap<number, Uint8Array>,
): Uint8Array {
  const log = app.log === null ? null : Uint8Array.of(app.log.sfi, app.log.maxRecords);
  const df61 = app.df61 === null ? null : Uint8Array.of(app.df61);
  const discretionary = concatBytes(
    optionalTlv(T.TAG_9F4D_LOG_ENTRY, log),
    optionalTlv(T.TAG_DF61_EXTENDED_APP_INDICATOR, df61),
  );
  const name = app.preferredName === null ? null : asciiBytes(app.preferredName);
  const proprietary = concatBytes(
    berTlv(T.TAG_50_APPLICATION_LABEL, asciiBytes(app.label)),
    optionalTlv(T.TAG_87_PRIORITY, app.priority === null ? null : Uint8Array.of(app.priority)),
    berTlv(T.TAG_9F38_PDOL, fromHex(app.pdolHex)),
    berTlv(T.TAG_5F2D_LANGUAGE, data.get(T.TAG_5F2D_LANGUAGE) ?? LANGUAGE_ZH),
    optionalTlv(T.TAG_9F11_CODE_TABLE, name === null ? null : Uint8Array.of(0x01)),
    optionalTlv(T.TAG_9F12_PREFERRED_NAME, name),
    optionalTlv(T.TAG_BF0C_FCI_DISCRETIONARY, discretionary.length === 0 ? null : discretionary),
  );
  return berTlv(
    T.TAG_6F_FCI,
    concatBytes(berTlv(T.TAG_84_DF_NAME, aid), berTlv(T.TAG_A5_FCI_PROPRIETARY, proprietary)),
  );
}

function ppseEntry(app: AppProfile, aid: Uint8Array): Uint8Array {
  return berTlv(
    T.TAG_61_DIRECTORY_ENTRY,
    concatBytes(
      berTlv(T.TAG_4F_AID, aid),
      berTlv(T.TAG_50_APPLICATION_LABEL, asciiBytes(app.label)),
      optionalTlv(T.TAG_87_PRIORITY, app.priority === null ? null : Uint8Array.of(app.priority)),
      optionalTlv(T.TAG_9F2A_KERNEL_ID, app.kernelIdHex === null ? null : fromHex(app.kernelIdHex)),
    ),
  );
}

/** A TLV, or nothing when the value is null. */
function optionalTlv(tag: number, value: Uint8Array | null): Uint8Array {
  return value === null ? new Uint8Array(0) : berTlv(tag, value);
}
