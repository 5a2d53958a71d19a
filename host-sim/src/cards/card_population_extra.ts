// The Visa application of the co-badged card: no EC, no ODA, always online.

import type { Prng } from '../prng.js';
import { toHex } from '../pki/emv_bytes.js';
import type { AppProfile } from './card_profile.js';
import {
  AID_VISA_CREDIT,
  CAP_NO_EC,
  PDOL_QPBOC_STANDARD,
  luhnDigit,
  recordLayout,
} from './card_profile_templates.js';

/**
 * A Visa credit application listed first in the PPSE with priority 1, as on the co-badged card
 * of domain.md 1.2 [S:NFSEE]. A transit validator must skip it (UnionPay AIDs only).
 */
export function cobadgedVisaApp(prng: Prng): AppProfile {
  let body = '4';
  while (body.length < 15) body += prng.below(10).toString();
  return {
    aidHex: AID_VISA_CREDIT,
    label: 'VISA CREDIT',
    preferredName: null,
    priority: 1,
    kernelIdHex: null,
    pdolHex: PDOL_QPBOC_STANDARD,
    pan: body + luhnDigit(body),
    psn: 0,
    atcInitial: prng.between(1, 500),
    lastOnlineAtc: 1,
    mkAcHex: toHex(prng.bytes(16)),
    expiryYymmdd: '291130',
    effectiveYymmdd: '240101',
    serviceCode: '201',
    cardholderName: null,
    countryCode: '0156',
    currencyCode: '0156',
    aipHex: '0000',
    records: recordLayout('no-oda', false),
    ec: null,
    cardAdditionalProcessesHex: CAP_NO_EC,
    ctqHex: '2800',
    df61: null,
    iad: { format: 'short', dki: 0x01, cvn: 0x11 },
    log: null,
    oda: null,
    fullFlow: null,
    offlineLimits: null,
    extraTags: {},
    gpoExtraTags: [],
  };
}
