// Drawing blocks shared by the population files: PANs, ODA material, plastic RF identities.

import type { Prng } from '../prng.js';
import { toHex } from '../pki/emv_bytes.js';
import { ISSUER_SPECS } from '../pki/test_pki_spec.js';
import type { IccKeySlot, IssuerName } from '../pki/test_pki_spec.js';
import type { AppProfile, CardProfile, OdaProfile } from './card_profile.js';
import { CAP_NO_EC, PROCESSING_FAST, luhnDigit, unionPayApp } from './card_profile_templates.js';
import type { DrawnAppFields, RecordLayout } from './card_profile_templates.js';
import { ATS_DEFAULT_HEX } from './card_rf.js';
import { DEFAULT_PROCESSING } from './card_timing.js';
import { DF61_ONLINE_ODA_0X40 } from './qpboc_risk.js';

/** A UnionPay app with EC and fDDA and a drawn EC balance of 50-500 CNY. */
export function ecApp(
  prng: Prng,
  issuer: IssuerName,
  slot: IccKeySlot,
  layout: RecordLayout,
): AppProfile {
  const app = unionPayApp(drawFields(prng, issuer), odaProfile(prng, issuer, slot), layout);
  const balanceMinor = prng.between(50, 500) * 100;
  return app.ec === null ? app : { ...app, ec: { ...app.ec, balanceMinor } };
}

/** A UnionPay app without EC that flags online ODA (DF61 0x40). */
export function onlineOdaApp(prng: Prng, issuer: IssuerName, slot: IccKeySlot): AppProfile {
  const oda = odaProfile(prng, issuer, slot);
  const app = unionPayApp(drawFields(prng, issuer), oda, 'sdad-in-record');
  return {
    ...app,
    ec: null,
    cardAdditionalProcessesHex: CAP_NO_EC,
    df61: DF61_ONLINE_ODA_0X40,
    ctqHex: '2000',
    log: null,
  };
}

/** Genuine ODA material of `issuer` with the ICC key of `slot`, fDDA v01. */
export function odaProfile(prng: Prng, issuer: IssuerName, slot: IccKeySlot): OdaProfile {
  return {
    issuer,
    iccKeySlot: slot,
    iccCertSerialHex: toHex(prng.bytes(3)),
    fddaV01: true,
    signingKeySlot: null,
  };
}

/** PAN = issuer BIN + random digits + Luhn check digit (16 digits), and the other draws. */
export function drawFields(prng: Prng, issuer: IssuerName): DrawnAppFields {
  const bin = ISSUER_SPECS.find((s) => s.name === issuer)?.issuerIdDigits ?? '62';
  let body = bin;
  while (body.length < 15) body += prng.below(10).toString();
  const atcInitial = prng.between(1, 2000);
  return {
    pan: body + luhnDigit(body),
    psn: prng.below(2),
    atcInitial,
    lastOnlineAtc: prng.between(1, atcInitial),
    mkAcHex: toHex(prng.bytes(16)),
  };
}

/** A plastic card: fixed 4- or 7-byte UID drawn once, default ATS and processing. */
export function plastic(
  label: string,
  prng: Prng,
  applications: readonly AppProfile[],
): CardProfile {
  const seven = prng.chance(0.3);
  const uid = seven ? `04${toHex(prng.bytes(6))}` : fixedUid4(prng);
  return {
    label,
    rf: {
      kind: 'A',
      uid: { mode: 'fixed', uidHex: uid },
      sak: seven ? 0x20 : 0x28,
      atsHex: ATS_DEFAULT_HEX,
    },
    applications,
    processing: prng.chance(0.5) ? DEFAULT_PROCESSING : PROCESSING_FAST,
  };
}

/** A fixed 4-byte UID whose first byte is neither 08 (random ID) nor 88 (cascade tag). */
function fixedUid4(prng: Prng): string {
  const bytes = prng.bytes(4);
  if (bytes[0] === 0x08 || bytes[0] === 0x88) bytes[0] = 0x2a;
  return toHex(bytes);
}
