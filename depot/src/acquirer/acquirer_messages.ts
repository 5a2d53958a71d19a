// The depot's ISO 8583 requests: deferred authorisation, clearing advice, recovery, reversal.

import type { Iso8583Message, Iso8583Value } from './iso8583_codec.js';

/** Which request a message row is (README "Messages"). */
export type AcquirerRequestKind = 'authorisation' | 'advice' | 'recovery' | 'reversal';

/** MTI of each request kind (ISO 8583:1987: class 1 authorisation, 2 financial, 4 reversal). */
export const ACQUIRER_MTI: Readonly<Record<AcquirerRequestKind, string>> = {
  authorisation: '0100',
  advice: '0220',
  recovery: '0200',
  reversal: '0400',
};

/** CUPS field 60.1 message type codes we send: purchase, and our debt recovery code. */
const MESSAGE_TYPE_22_PURCHASE = '22';
const MESSAGE_TYPE_36_DEBT_RECOVERY = '36';
/** Field 22: contactless IC (07), terminal can accept PINs (2). */
const POS_ENTRY_072_CONTACTLESS = '072';
export const ACQUIRING_INSTITUTION_ID = '00000001';
/** Field 42: the bus company as merchant, 15 characters. */
export const MERCHANT_ID = 'SHUAKA-TRANSIT1';

/** What a request is built from (the tap's stored data and the message row). */
export interface AcquirerRequest {
  readonly kind: AcquirerRequestKind;
  readonly pan: string;
  /** 5F34 as a number (n2: 0..99); null when the card's byte was not BCD (no field 23). */
  readonly psn: number | null;
  readonly amountMinor: number;
  /** Six digits, unique per message row of the depot; kept on retries. */
  readonly stan: string;
  readonly terminalId: string;
  /** Field 55 content (the tap's ICC data); empty for a reversal. */
  readonly iccData: Uint8Array;
  /**
   * Transmission time (field 7), UTC ms: the row's first sending, kept on every retry, so that
   * 7 + 11 + 41 name one message however often it is sent (the STAN alone wraps at 10^6).
   */
  readonly transmissionMs: number;
  /** Tap date YYMMDD and time hhmmss (9A, 9F21), expiry YYMM (5F24) when known. */
  readonly tapDate: string;
  readonly tapTime: string;
  readonly expiryYymm: string | null;
  /** Batch number (field 60.2), e.g. the settlement run. */
  readonly batch: number;
  /** For a reversal: the original's MTI, STAN and transmission time (its field 7). */
  readonly original?: {
    readonly mti: string;
    readonly stan: string;
    readonly transmissionMs: number;
  };
}

/** The ISO 8583 message of `request` (fields per README "Field set"). */
export function acquirerRequestMessage(request: AcquirerRequest): Iso8583Message {
  const fields = new Map<number, Iso8583Value>();
  const { mmdd, hhmmss } = utcDateTime(request.transmissionMs);
  fields.set(2, request.pan);
  fields.set(3, '000000');
  fields.set(4, String(request.amountMinor).padStart(12, '0'));
  fields.set(7, `${mmdd}${hhmmss}`);
  fields.set(11, request.stan);
  fields.set(12, /^[0-9]{6}$/.test(request.tapTime) ? request.tapTime : hhmmss);
  fields.set(13, /^[0-9]{6}$/.test(request.tapDate) ? request.tapDate.slice(2) : mmdd);
  if (request.expiryYymm !== null) fields.set(14, request.expiryYymm);
  fields.set(22, POS_ENTRY_072_CONTACTLESS);
  if (request.psn !== null) fields.set(23, String(request.psn).padStart(3, '0'));
  fields.set(25, '00');
  fields.set(32, ACQUIRING_INSTITUTION_ID);
  fields.set(41, request.terminalId.padEnd(8, ' ').slice(0, 8));
  fields.set(42, MERCHANT_ID);
  fields.set(49, '156');
  const batch = String(request.batch % 1_000_000).padStart(6, '0');
  if (request.kind === 'reversal') {
    const original = request.original;
    if (original === undefined) throw new Error('a reversal names its original');
    const sent = utcDateTime(original.transmissionMs);
    fields.set(61, `${batch}${original.stan}${sent.mmdd}`);
    fields.set(90, `${original.mti}${original.stan}${sent.mmdd}${sent.hhmmss}`.padEnd(42, '0'));
  } else {
    fields.set(55, request.iccData);
  }
  const type = request.kind === 'recovery' ? MESSAGE_TYPE_36_DEBT_RECOVERY
    : MESSAGE_TYPE_22_PURCHASE;
  fields.set(60, `${type}${batch}000`);
  return { mti: ACQUIRER_MTI[request.kind], fields };
}

/** MMDD and hhmmss (UTC) of `ms`, as fields 7, 12 and 13 write them. */
function utcDateTime(ms: number): { mmdd: string; hhmmss: string } {
  const time = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return {
    mmdd: `${two(time.getUTCMonth() + 1)}${two(time.getUTCDate())}`,
    hhmmss: `${two(time.getUTCHours())}${two(time.getUTCMinutes())}${two(time.getUTCSeconds())}`,
  };
}
