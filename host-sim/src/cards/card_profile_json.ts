// Card profiles from JSON text: a structural check of the parsed value, then the semantic one.

import { CardProfileError, validateCardProfile } from './card_profile.js';
import type { CardProfile } from './card_profile.js';

/** A tiny shape language: primitive names, nullable variants, string maps, arrays, objects. */
type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  | 'string|null'
  | 'number|null'
  | 'string-map'
  | readonly [Shape]
  | { readonly [key: string]: Shape };

const PROCESSING: Shape = {
  selectMs: 'number',
  gpoMs: 'number',
  readRecordMs: 'number',
  getDataMs: 'number',
  otherMs: 'number',
  commitMs: 'number',
  rsaMsAt1024: 'number',
  perResponseByteUs: 'number',
};

const APP: Shape = {
  aidHex: 'string',
  label: 'string',
  preferredName: 'string|null',
  priority: 'number|null',
  kernelIdHex: 'string|null',
  pdolHex: 'string',
  pan: 'string',
  psn: 'number',
  expiryYymmdd: 'string',
  effectiveYymmdd: 'string',
  serviceCode: 'string',
  cardholderName: 'string|null',
  countryCode: 'string',
  currencyCode: 'string',
  aipHex: 'string',
  records: [{ sfi: 'number', number: 'number', oda: 'boolean', tags: ['string'] }],
  cardAdditionalProcessesHex: 'string',
  ctqHex: 'string',
  df61: 'number|null',
  iad: { format: 'string', dki: 'number', cvn: 'number' },
  atcInitial: 'number',
  lastOnlineAtc: 'number',
  mkAcHex: 'string',
  extraTags: 'string-map',
  gpoExtraTags: ['string'],
};

const NULLABLE_OBJECTS: Readonly<Record<string, Shape>> = {
  ec: {
    balanceMinor: 'number',
    balanceLimitMinor: 'number',
    singleLimitMinor: 'number',
    resetThresholdMinor: 'number',
    debitAt: 'string',
  },
  fullFlow: {
    gpoFormat: 'number',
    responseFormat: 'number',
    cdol1Hex: 'string',
    cdol2Hex: 'string',
    ddolHex: 'string|null',
    dacHex: 'string',
    offline: 'string',
    extraRecords: [{ sfi: 'number', number: 'number', oda: 'boolean', tags: ['string'] }],
  },
  offlineLimits: {
    cumulativeLimitMinor: 'number',
    cumulativeTotalMinor: 'number',
    iadType: 'number',
  },
  log: { sfi: 'number', maxRecords: 'number', formatHex: 'string' },
  oda: {
    issuer: 'string',
    iccKeySlot: 'string',
    iccCertSerialHex: 'string',
    fddaV01: 'boolean',
    signingKeySlot: 'string|null',
  },
};

/**
 * Parses a card profile from JSON (the same shape CardProfile has; JSON.stringify of a
 * population profile round-trips). Enumerations (RF kind, UID mode, IAD format, issuer and key
 * slot names) are checked when the card is personalised.
 * Throws SyntaxError on invalid JSON and CardProfileError listing every structural or semantic
 * problem.
 */
export function parseCardProfile(json: string): CardProfile {
  const value: unknown = JSON.parse(json);
  const issues: string[] = [];
  const label = isObject(value) && typeof value['label'] === 'string' ? value['label'] : '?';
  if (!isObject(value)) throw new CardProfileError(label, ['not an object']);
  check(value['label'], 'string', '$.label', issues);
  check(value['processing'], PROCESSING, '$.processing', issues);
  checkRf(value['rf'], issues);
  const apps = value['applications'];
  if (!Array.isArray(apps)) issues.push('$.applications: not an array');
  else apps.forEach((app: unknown, i) => checkApp(app, `$.applications[${i}]`, issues));
  if (issues.length > 0) throw new CardProfileError(label, issues);
  // The checks above established the CardProfile shape field by field.
  const profile = value as unknown as CardProfile;
  validateCardProfile(profile);
  return profile;
}

function checkApp(app: unknown, path: string, issues: string[]): void {
  check(app, APP, path, issues);
  if (!isObject(app)) return;
  for (const [key, shape] of Object.entries(NULLABLE_OBJECTS)) {
    if (app[key] !== null) check(app[key], shape, `${path}.${key}`, issues);
  }
}

function checkRf(rf: unknown, issues: string[]): void {
  if (!isObject(rf)) {
    issues.push('$.rf: not an object');
    return;
  }
  if (rf['kind'] === 'A') {
    check(rf, { kind: 'string', sak: 'number', atsHex: 'string' }, '$.rf', issues);
    const uid = rf['uid'];
    const fixed = isObject(uid) && uid['mode'] === 'fixed' && typeof uid['uidHex'] === 'string';
    const length = isObject(uid) ? uid['length'] : undefined;
    const random =
      isObject(uid) && uid['mode'] === 'random-per-tap' && (length === 4 || length === 7);
    if (!fixed && !random) issues.push('$.rf.uid: fixed {uidHex} or random-per-tap {length 4|7}');
  } else if (rf['kind'] === 'B') {
    const shape: Shape = {
      kind: 'string',
      pupiHex: 'string|null',
      applicationDataHex: 'string',
      protocolInfoHex: 'string',
      attribResHex: 'string',
    };
    check(rf, shape, '$.rf', issues);
  } else {
    issues.push('$.rf.kind: "A" or "B"');
  }
}

function check(value: unknown, shape: Shape, path: string, issues: string[]): void {
  if (typeof shape === 'string') {
    if (!matchesPrimitive(value, shape)) issues.push(`${path}: expected ${shape}`);
    return;
  }
  if (isTuple(shape)) {
    if (!Array.isArray(value)) issues.push(`${path}: expected an array`);
    else value.forEach((v: unknown, i) => check(v, shape[0], `${path}[${i}]`, issues));
    return;
  }
  if (!isObject(value)) {
    issues.push(`${path}: expected an object`);
    return;
  }
  for (const [key, inner] of Object.entries(shape)) {
    check(value[key], inner, `${path}.${key}`, issues);
  }
}

function matchesPrimitive(value: unknown, shape: Extract<Shape, string>): boolean {
  switch (shape) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'string|null':
      return value === null || typeof value === 'string';
    case 'number|null':
      return value === null || (typeof value === 'number' && Number.isFinite(value));
    case 'string-map':
      return isObject(value) && Object.values(value).every((v) => typeof v === 'string');
    default: {
      const never: never = shape;
      throw new Error(`unknown shape ${String(never)}`);
    }
  }
}

function isTuple(shape: Shape): shape is readonly [Shape] {
  return Array.isArray(shape);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
