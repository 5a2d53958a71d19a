// Personalisation of the full contactless PBOC flow: CDOLs, DDOL, SSAD and the flow's own AFL.

import { bytesEqual, fromHex } from '../pki/emv_bytes.js';
import type { TestPki } from '../pki/test_pki.js';
import { dolDataLength, parseDol } from './card_dol.js';
import type { DolEntry } from './card_dol.js';
import { AIP_SDA_0X40 } from './card_profile.js';
import type { AppProfile, FullFlowProfile, RecordProfile } from './card_profile.js';
import { signSsad } from './emv_card_signatures.js';
import { buildAfl, staticDataToAuthenticate } from './emv_card_records.js';
import type { AflLayout } from './emv_card_records.js';
import * as T from './emv_card_tags.js';

/** The full flow as personalised. */
export interface PersonalisedFullFlow {
  readonly profile: FullFlowProfile;
  /** The AFL a full-flow GPO returns. */
  readonly afl: AflLayout;
  readonly cdol1: readonly DolEntry[];
  readonly cdol1Length: number;
  readonly cdol2: readonly DolEntry[];
  readonly cdol2Length: number;
}

/** A record as the personalisation builds it (only its bytes matter here). */
interface BuiltRecord {
  readonly staticBytes: Uint8Array | null;
}

/**
 * Adds 8C, 8D, 9F49 and (for an SDA card) the SSAD 93 to `data`, and returns the flow's AFL:
 * the static records of the qPBOC list then the extra records. Call it after the ODA records
 * are built and before the extra records are; checkFullFlowStaticData follows.
 */
export function personaliseFullFlow(
  app: AppProfile,
  pki: TestPki,
  data: Map<number, Uint8Array>,
  staticData: Uint8Array,
): PersonalisedFullFlow | null {
  const flow = app.fullFlow;
  if (flow === null) return null;
  data.set(T.TAG_8C_CDOL1, fromHex(flow.cdol1Hex));
  data.set(T.TAG_8D_CDOL2, fromHex(flow.cdol2Hex));
  if (flow.ddolHex !== null) data.set(T.TAG_9F49_DDOL, fromHex(flow.ddolHex));
  const sda = ((fromHex(app.aipHex)[0] ?? 0) & AIP_SDA_0X40) !== 0;
  if (sda && app.oda !== null) {
    const issuerKey = pki.issuer(app.oda.issuer).key;
    data.set(T.TAG_93_SSAD, signSsad(issuerKey, fromHex(flow.dacHex), staticData));
  }
  const isStatic = (r: RecordProfile): boolean =>
    !r.tags.some((hex) => T.DYNAMIC_TAGS.includes(T.tagFromHex(hex)));
  const afl = buildAfl([...app.records.filter(isStatic), ...flow.extraRecords]);
  const cdol1 = parseDol(fromHex(flow.cdol1Hex));
  const cdol2 = parseDol(fromHex(flow.cdol2Hex));
  return {
    profile: flow,
    afl,
    cdol1,
    cdol1Length: dolDataLength(cdol1),
    cdol2,
    cdol2Length: dolDataLength(cdol2),
  };
}

/**
 * Checks, once every record is built, that the full flow authenticates the same static data
 * as the qPBOC flow (one ICC certificate and one SSAD serve both). Calls `fail` otherwise.
 */
export function checkFullFlowStaticData(
  flow: PersonalisedFullFlow | null,
  records: ReadonlyMap<string, BuiltRecord>,
  data: ReadonlyMap<number, Uint8Array>,
  staticData: Uint8Array,
  fail: (issue: string) => never,
): void {
  if (flow === null) return;
  const flowStatic = staticDataToAuthenticate(flow.afl, records, data);
  if (!bytesEqual(flowStatic, staticData)) fail('full-flow AFL authenticates other static data');
}
