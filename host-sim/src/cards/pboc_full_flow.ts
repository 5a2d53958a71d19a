// The full contactless PBOC flow after GPO: INTERNAL AUTHENTICATE (DDA) and GENERATE AC (CDA).

import { berTlv, concatBytes, fromBcd, toHex } from '../pki/emv_bytes.js';
import {
  SW_6700_WRONG_LENGTH,
  SW_6985_CONDITIONS_NOT_SATISFIED,
  SW_6A86_WRONG_P1P2,
  SW_6D00_INS_NOT_SUPPORTED,
  SW_9000_OK,
  responseApdu,
  statusOnly,
} from './card_apdu.js';
import type { CommandApdu } from './card_apdu.js';
import { dolDataLength, parseDol, splitDolData } from './card_dol.js';
import { AIP_CDA_0X01, AIP_DDA_0X20 } from './card_profile.js';
import type { PersonalisedApp } from './card_personalise.js';
import type { PersonalisedFullFlow } from './card_personalise_full_flow.js';
import { signCda, signDda } from './emv_card_signatures.js';
import * as T from './emv_card_tags.js';
import { acInput, acSessionKey, applicationCryptogram } from './pboc_cryptogram.js';
import { decideFirstAc, decideSecondAc } from './pboc_full_flow_risk.js';
import type { FullFlowRiskContext } from './pboc_full_flow_risk.js';
import type { AppState, CommandResult } from './qpboc_commands.js';
import {
  CVR2_NEW_CARD_0X10,
  acTerminalData,
  buildIad,
  iadDiscretionary,
  purseOf,
  terminalView,
} from './qpboc_gpo.js';
import type { Purse } from './qpboc_gpo.js';
import { cidOf, cvrByte1, cvrByte1Second } from './qpboc_risk.js';
import type { AcType, RiskDecision } from './qpboc_risk.js';

/** GENERATE AC P1: bits 8-7 the cryptogram asked for, bit 5 CDA signature requested. */
export const GENAC_P1_TYPE_MASK_C0 = 0xc0;
export const GENAC_P1_CDA_0X10 = 0x10;

/** Where a full-flow transaction stands within one presentation (volatile). */
export interface FullFlowSession {
  readonly atc: number;
  /** TTQ of the GPO (1.b4 offline-only turns a refusal into AAC). */
  readonly ttq: Uint8Array;
  readonly pdolData: Uint8Array;
  phase: 'after-gpo' | 'awaiting-second-ac' | 'done';
  internalAuthDone: boolean;
  firstAc: AcType | null;
  cdol1Data: Uint8Array | null;
}

/** An offline approval the card granted at GENERATE AC (it spends its offline allowance). */
export interface FullFlowApproval {
  readonly purse: Purse;
  readonly amountMinor: number;
  readonly atc: number;
  readonly cryptogram: Uint8Array;
  readonly terminal: ReadonlyMap<number, Uint8Array>;
}

/**
 * INTERNAL AUTHENTICATE (00 88 00 00 + DDOL data): the DDA SDAD, answered `80` or `77 9F4B`
 * per the profile. See EMV 4.4 Book 2, 6.5 and Book 3, 6.5.9.
 * Answers 6D00 (the card does not do DDA), 6A86 (P1 P2 not 00 00), 6700 (no data, or not the
 * card DDOL's length), 6985 (no full-flow GPO in this presentation, already done, or after
 * GENERATE AC).
 */
export function internalAuthenticate(
  state: AppState | null,
  session: FullFlowSession | null,
  command: CommandApdu,
): CommandResult {
  const cost = { kind: 'other', rsaBits: [] as number[], committed: false } as const;
  const fail = (sw: number): CommandResult => ({ response: statusOnly(sw), cost });
  const app = state?.app;
  const dda = app !== undefined && ((app.aip[0] ?? 0) & AIP_DDA_0X20) !== 0;
  if (app === undefined || app.fullFlow === null || !dda || app.signingKey === null) {
    return fail(state === null ? SW_6985_CONDITIONS_NOT_SATISFIED : SW_6D00_INS_NOT_SUPPORTED);
  }
  if (command.p1 !== 0 || command.p2 !== 0) return fail(SW_6A86_WRONG_P1P2);
  const ddol = app.data.get(T.TAG_9F49_DDOL);
  const ddolLength = ddol === undefined ? null : dolDataLength(parseDol(ddol));
  if (command.data.length === 0 || (ddolLength !== null && command.data.length !== ddolLength)) {
    return fail(SW_6700_WRONG_LENGTH);
  }
  if (session === null || session.phase !== 'after-gpo' || session.internalAuthDone) {
    return fail(SW_6985_CONDITIONS_NOT_SATISFIED);
  }
  session.internalAuthDone = true;
  const sdad = signDda(app.signingKey, session.atc, command.data);
  const data =
    app.fullFlow.profile.responseFormat === 1
      ? berTlv(T.TAG_80_RESPONSE_FORMAT1, sdad)
      : berTlv(T.TAG_77_RESPONSE_FORMAT2, berTlv(T.TAG_9F4B_SDAD, sdad));
  return {
    response: responseApdu(data, SW_9000_OK),
    cost: { ...cost, rsaBits: [app.signingKey.bits] },
  };
}

/** What GENERATE AC hands back to the card besides the answer. */
export interface GenerateAcResult extends CommandResult {
  readonly decision: RiskDecision | null;
  readonly approval: FullFlowApproval | null;
}

/**
 * GENERATE AC (80 AE P1 00 + CDOL1 or CDOL2 data). P1 bits 8-7: 00 AAC, 01 TC, 10 ARQC; bit 5
 * asks for a CDA signature. The first one follows a full-flow GPO (data = CDOL1), the second
 * one follows a first ARQC (data = CDOL2, TC or AAC asked). Answers `80` CID || ATC || AC ||
 * IAD or `77` (9F27 9F36 9F26 9F10); with CDA on a TC or ARQC always `77` 9F27 9F36 9F10 9F4B
 * (the AC inside the signature). See EMV 4.4 Book 3, 6.5.5 and Book 2, 6.6.
 * Answers 6A86 (P1 type 11 or other bits, P2 not 00), 6985 (no full-flow GPO in this
 * presentation, the flow is over, ARQC asked in the second), 6700 (data not the CDOL's length).
 */
export function generateAc(
  state: AppState | null,
  session: FullFlowSession | null,
  command: CommandApdu,
): GenerateAcResult {
  const cost = { kind: 'gpo', rsaBits: [] as number[], committed: false } as const;
  const fail = (sw: number): GenerateAcResult => ({
    response: statusOnly(sw),
    cost,
    decision: null,
    approval: null,
  });
  const typeBits = (command.p1 & GENAC_P1_TYPE_MASK_C0) >> 6;
  const otherBits = command.p1 & ~(GENAC_P1_TYPE_MASK_C0 | GENAC_P1_CDA_0X10) & 0xff;
  if (typeBits === 3 || otherBits !== 0 || command.p2 !== 0) return fail(SW_6A86_WRONG_P1P2);
  const requested: AcType = typeBits === 0 ? 'AAC' : typeBits === 1 ? 'TC' : 'ARQC';
  const app = state?.app;
  const flow = app?.fullFlow ?? null;
  if (state === null || app === undefined || flow === null || session === null) {
    return fail(SW_6985_CONDITIONS_NOT_SATISFIED);
  }
  if (session.phase === 'done') return fail(SW_6985_CONDITIONS_NOT_SATISFIED);
  const second = session.phase === 'awaiting-second-ac';
  if (second && requested === 'ARQC') return fail(SW_6985_CONDITIONS_NOT_SATISFIED);
  const expected = second ? flow.cdol2Length : flow.cdol1Length;
  if (command.data.length !== expected) return fail(SW_6700_WRONG_LENGTH);
  return answerGenerateAc(state, app, flow, session, {
    requested,
    cda: (command.p1 & GENAC_P1_CDA_0X10) !== 0,
    data: command.data,
  });
}

interface AcRequest {
  readonly requested: AcType;
  readonly cda: boolean;
  readonly data: Uint8Array;
}

function answerGenerateAc(
  state: AppState,
  app: PersonalisedApp,
  flow: PersonalisedFullFlow,
  session: FullFlowSession,
  request: AcRequest,
): GenerateAcResult {
  const second = session.phase === 'awaiting-second-ac';
  const cdol1Values = splitDolData(
    flow.cdol1,
    second ? (session.cdol1Data ?? new Uint8Array(0)) : request.data,
  );
  const values = new Map(cdol1Values);
  if (second) for (const [tag, v] of splitDolData(flow.cdol2, request.data)) values.set(tag, v);
  const terminal = terminalView(values);
  const amountMinor = fromBcd(terminal.get(T.TAG_9F02_AMOUNT)) ?? Number.MAX_SAFE_INTEGER;
  const purse = purseOf(app, state);
  const context: FullFlowRiskContext = {
    requested: request.requested,
    offline: flow.profile.offline,
    ttq: session.ttq,
    amountMinor,
    currencyMatches: toHex(terminal.get(T.TAG_5F2A_CURRENCY)) === app.profile.currencyCode,
    newCard: state.lastOnlineAtc === 0,
    cardAdditionalProcesses:
      app.data.get(T.TAG_9F68_CARD_ADDITIONAL_PROCESSES) ?? new Uint8Array(4),
    allowanceMinor: purse?.source === 'offline-allowance' ? purse.availableMinor : null,
  };
  const first = session.firstAc;
  const decision =
    second && first !== null
      ? decideSecondAc(context, values.get(T.TAG_8A_AUTH_RESPONSE_CODE) ?? null)
      : decideFirstAc(context);
  const offlineApproved = decision.ac === 'TC' && decision.reason === 'offline-limit-approved';
  const spent = offlineApproved && purse?.source === 'offline-allowance' ? amountMinor : 0;
  const cvr1 =
    second && first !== null ? cvrByte1Second(first, decision.ac) : cvrByte1(decision.ac);
  const cvr = Uint8Array.of(cvr1, context.newCard ? CVR2_NEW_CARD_0X10 : 0, 0);
  const sk = acSessionKey(app.mkAc, session.atc);
  const ac = applicationCryptogram(
    sk,
    acInput(app.profile.iad.cvn, acTerminalData(terminal.get), app.aip, session.atc, cvr),
  );
  const iad = buildIad(app, cvr, iadDiscretionary(app, state, spent), sk);
  const transactionData = second
    ? concatBytes(session.pdolData, session.cdol1Data ?? new Uint8Array(0), request.data)
    : concatBytes(session.pdolData, request.data);
  const answer = acAnswer(app, flow, session.atc, decision.ac, ac, iad, {
    cda: request.cda,
    transactionData,
    unpredictableNumber: terminal.get(T.TAG_9F37_UNPREDICTABLE_NUMBER),
  });
  if (!second) session.cdol1Data = request.data;
  session.firstAc = first ?? decision.ac;
  session.phase = !second && decision.ac === 'ARQC' ? 'awaiting-second-ac' : 'done';
  const approval =
    spent > 0 && purse !== null
      ? { purse, amountMinor, atc: session.atc, cryptogram: ac, terminal: values }
      : null;
  return {
    response: responseApdu(answer.data, SW_9000_OK),
    cost: { kind: 'gpo', rsaBits: answer.rsaBits, committed: approval !== null },
    decision,
    approval,
  };
}

interface CdaRequest {
  readonly cda: boolean;
  readonly transactionData: Uint8Array;
  readonly unpredictableNumber: Uint8Array;
}

function acAnswer(
  app: PersonalisedApp,
  flow: PersonalisedFullFlow,
  atc: number,
  type: AcType,
  ac: Uint8Array,
  iad: Uint8Array,
  cda: CdaRequest,
): { readonly data: Uint8Array; readonly rsaBits: readonly number[] } {
  const cid = cidOf(type);
  const atcBytes = Uint8Array.of(atc >> 8, atc & 0xff);
  const cdaCapable = ((app.aip[0] ?? 0) & AIP_CDA_0X01) !== 0 && app.signingKey !== null;
  if (cda.cda && cdaCapable && type !== 'AAC' && app.signingKey !== null) {
    // EMV 4.4 Book 2, 6.6.1: the AC travels inside the signature, not as 9F26.
    const tlvs = concatBytes(
      berTlv(T.TAG_9F27_CID, Uint8Array.of(cid)),
      berTlv(T.TAG_9F36_ATC, atcBytes),
      berTlv(T.TAG_9F10_IAD, iad),
    );
    const sdad = signCda(app.signingKey, {
      atc,
      cid,
      cryptogram: ac,
      unpredictableNumber: cda.unpredictableNumber,
      transactionData: concatBytes(cda.transactionData, tlvs),
    });
    const data = berTlv(
      T.TAG_77_RESPONSE_FORMAT2,
      concatBytes(tlvs, berTlv(T.TAG_9F4B_SDAD, sdad)),
    );
    return { data, rsaBits: [app.signingKey.bits] };
  }
  if (flow.profile.responseFormat === 1) {
    const data = berTlv(
      T.TAG_80_RESPONSE_FORMAT1,
      concatBytes(Uint8Array.of(cid), atcBytes, ac, iad),
    );
    return { data, rsaBits: [] };
  }
  const data = berTlv(
    T.TAG_77_RESPONSE_FORMAT2,
    concatBytes(
      berTlv(T.TAG_9F27_CID, Uint8Array.of(cid)),
      berTlv(T.TAG_9F36_ATC, atcBytes),
      berTlv(T.TAG_9F26_CRYPTOGRAM, ac),
      berTlv(T.TAG_9F10_IAD, iad),
    ),
  );
  return { data, rsaBits: [] };
}
