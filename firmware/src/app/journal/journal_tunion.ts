// Journal records of T-Union (JT/T 978) taps: the grey record made durable before DEBIT FOR
// PURCHASE, and the final record with the card's TAC that goes to clearing.
//
// What clearing needs and nothing secret (domain.md §7.4, §7.5): the card (issuer id and
// application serial of file 0015, city of 0017: the card number printed on the card, not a
// payment-card PAN), the card's offline serial (ATC), the PSAM's terminal number and terminal
// transaction serial, date-time, amount, balance, the TAC and the ride (line, stops, fare).
// No key, no MAC1/MAC2 session data: the TAC is the clearing centre's proof (§7.5). The grey
// record also holds the kernel's grey record (`kernelRecordHex`): it is what the kernel needs
// back to finish a torn purchase by GET TRANSACTION PROOF without charging twice.
//
// A final names its grey (`greySeq`); a grey no final names is an uncertain purchase for the
// back office, which settles it from the card's 0018 log or the transaction proof.
//
// A third record, `tunion_blocked`, says that a deny-listed card was met and its application
// block tried (domain.md 7.6): the card, when and where, the parameter set whose deny list
// named it, and whether the card confirmed the block. The clearing centre and the issuer get
// it with the terminal's other records (a card locked by a terminal, 黑名单锁卡, is confirmed
// to its issuer, and customer service tells the rider why the card stopped); it moves no
// money.
//
// A block is two records when the command goes to the card (domain.md 7.6): a `pending` one,
// durable before APPLICATION BLOCK is sent, and the final one naming it (`pendingSeq`) once the
// card answered or not. A power cut between the card's 9000 and the final record leaves the
// pending one: the card may have blocked itself, so it reads as not confirmed. A block whose
// chain stopped before the command (`not-sent`) is the final record alone.

import { TEXT_PATTERN } from '../params/field_patterns.js';
import { JsonFields, type FieldPattern } from '../params/json_fields.js';

const SEQ_MAX = 0xffff_ffff;
const U32_MAX = 0xffff_ffff;
const TEXT_CHARS_MAX = 64;
/** The card number of 0015: 20 BCD digits. */
export const TUNION_SERIAL_PATTERN: FieldPattern = { re: /^[0-9]{20}$/, says: '20 digits' };
export const TUNION_DATE_TIME_PATTERN: FieldPattern = {
  re: /^[0-9]{14}$/,
  says: 'a date and time YYYYMMDDhhmmss',
};
/** The kernel's JT/T 978 record (assembly jtt978_context R_* layout) is under 128 bytes. */
export const TUNION_KERNEL_RECORD_BYTES_MAX = 128;

/** The card as clearing names it (file 0015 / 0017). */
export interface TunionCard {
  /** Issuer id, 8 bytes hex (0015 bytes 1-8). */
  readonly issuerIdHex: string;
  /** Application serial number, 20 BCD digits (0015 bytes 11-20): the card number. */
  readonly serialDigits: string;
  /** City code of 0017, 2 bytes hex. */
  readonly cityCodeHex: string;
  /** ISO 14443 UID hex, '' when not known. */
  readonly uidHex: string;
}

/** The compound purchase (domain.md §7.4). */
export interface TunionPurchase {
  /** 09 compound purchase, 06 purchase. */
  readonly transactionType: number;
  /** The card's offline transaction serial from INITIALIZE FOR PURCHASE. */
  readonly atc: number;
  readonly amountMinor: number;
  readonly balanceBeforeMinor: number;
  /** PSAM file 0016, 6 bytes hex. */
  readonly terminalNumberHex: string;
  /** From INIT SAM FOR PURCHASE. */
  readonly terminalSerial: number;
  /** YYYYMMDDhhmmss as sent in INIT SAM and DEBIT. */
  readonly dateTimeDigits: string;
}

/** The ride the purchase pays (firmware/src/app/fare/tap_in_out.ts). */
export interface TunionRide {
  readonly tap: 'boarding' | 'alighting' | 'flat';
  readonly lineId: string;
  readonly lineCode: number;
  /** Boarding stop (0: none, a flat line). */
  readonly boardingStop: number;
  /** Alighting stop (0 while boarding or on a flat line). */
  readonly alightingStop: number;
  readonly fareMinor: number;
  readonly discountMinor: number;
  /** The marked amount of a ride never tapped out, charged with this tap (补票). */
  readonly penaltyMinor: number;
}

/** The grey record: durable before DEBIT FOR PURCHASE is sent. */
export interface TunionGreyEntry {
  readonly kind: 'tunion_grey';
  readonly card: TunionCard;
  readonly purchase: TunionPurchase;
  readonly ride: TunionRide;
  /** The kernel's grey record, hex (handed back to it for torn recovery). */
  readonly kernelRecordHex: string;
}

/** The final record: the card debited itself and answered a TAC (and the PSAM took MAC2). */
export interface TunionFinalEntry {
  readonly kind: 'tunion_final';
  /** The grey record this completes, or null when the journal holds none (never written). */
  readonly greySeq: number | null;
  readonly card: TunionCard;
  readonly purchase: TunionPurchase;
  readonly ride: TunionRide;
  readonly balanceAfterMinor: number;
  /** The card's TAC, 4 bytes hex. */
  readonly tacHex: string;
  readonly terminalId: string;
  readonly paramsVersion: number;
  /**
   * True: the PSAM checked the card's MAC2 (CREDIT SAM FOR PURCHASE 9000). False: approved
   * without that check (the PSAM silent or failing after the DEBIT, or the TAC from GET
   * TRANSACTION PROOF): the card's authenticity rests on the clearing centre's TAC check
   * alone. Null: a record written before this field (its key absent).
   */
  readonly mac2Verified: boolean | null;
}

/**
 * Where the block of a deny-listed card stands (domain.md 7.6). `pending`: APPLICATION BLOCK
 * is about to be sent (written before it; the final record follows). The final outcomes:
 * `blocked`, the card answered 9000; `not-confirmed`, the command was sent and the card
 * answered an error or nothing (pulled, link lost: it may have blocked itself); `not-sent`,
 * the chain stopped before it (GET CHALLENGE refused, the PSAM refused or failed, the card
 * pulled before, the pending record not durable): the card is not blocked by this tap.
 */
export type TunionBlockOutcome = TunionBlockFinalOutcome | 'pending';
/** How a block ended; a pending record no final names reads as `not-confirmed`. */
export type TunionBlockFinalOutcome = 'blocked' | 'not-confirmed' | 'not-sent';
export const TUNION_BLOCK_FINAL_OUTCOMES: readonly TunionBlockFinalOutcome[] = [
  'blocked', 'not-confirmed', 'not-sent',
];
export const TUNION_BLOCK_OUTCOMES: readonly TunionBlockOutcome[] = [
  ...TUNION_BLOCK_FINAL_OUTCOMES, 'pending',
];
/** The success status word of APPLICATION BLOCK. */
export const TUNION_BLOCK_SW_OK = '9000';

/** A deny-listed card met and its application block tried (or about to be). */
export interface TunionBlockedEntry {
  readonly kind: 'tunion_blocked';
  readonly card: TunionCard;
  /** The terminal's local date and time of the tap, YYYYMMDDhhmmss (the purchases' form). */
  readonly dateTimeDigits: string;
  /** The PSAM's terminal number (file 0016), 6 bytes hex: the PSAM that computed the MAC. */
  readonly terminalNumberHex: string;
  readonly terminalId: string;
  readonly lineId: string;
  /** Version of the parameter set whose deny list named the card. */
  readonly paramsVersion: number;
  readonly blockOutcome: TunionBlockOutcome;
  /**
   * The card's status word to APPLICATION BLOCK, 4 hex digits ('9000' when blocked); '' when
   * it answered nothing, was never sent the command, or not yet (pending).
   */
  readonly blockSwHex: string;
  /**
   * Of a final record: the seq of the pending record it completes (the command was sent).
   * Null on a pending record, on a block never sent, and (key absent) on records written
   * before pending records existed.
   */
  readonly pendingSeq: number | null;
}

/**
 * Why a block's outcome, status word and pending seq disagree, or null when they agree:
 * `blocked` is 9000; `not-sent` and `pending` have no answer and name no pending record (a
 * pending record is written only as the command goes out); `not-confirmed` is anything but
 * 9000.
 */
export function tunionBlockDisagreement(outcome: TunionBlockOutcome, swHex: string,
  pendingSeq: number | null): string | null {
  switch (outcome) {
    case 'blocked':
      return swHex === TUNION_BLOCK_SW_OK ? null : 'blocked needs the card\'s 9000';
    case 'not-sent':
    case 'pending':
      if (swHex !== '') return `${outcome} has no answer of the card`;
      return pendingSeq === null ? null : `${outcome} completes no pending record`;
    case 'not-confirmed':
      return swHex === TUNION_BLOCK_SW_OK ? 'the card confirmed the block (9000)' : null;
    default: {
      const unreachable: never = outcome;
      return `unknown outcome ${String(unreachable)}`;
    }
  }
}

function cardRead(fields: JsonFields, strict: boolean): TunionCard {
  const card = {
    issuerIdHex: fields.hex('issuerIdHex', 8, 8),
    serialDigits: fields.str('serialDigits', TUNION_SERIAL_PATTERN, 20),
    cityCodeHex: fields.hex('cityCodeHex', 2, 2),
    uidHex: fields.hex('uidHex', 0, 10),
  };
  if (strict) fields.finish();
  return card;
}

function purchaseRead(fields: JsonFields, strict: boolean): TunionPurchase {
  const purchase = {
    transactionType: fields.int('transactionType', 0, 0xff),
    atc: fields.int('atc', 0, 0xffff),
    amountMinor: fields.int('amountMinor', 0, U32_MAX),
    balanceBeforeMinor: fields.int('balanceBeforeMinor', 0, U32_MAX),
    terminalNumberHex: fields.hex('terminalNumberHex', 6, 6),
    terminalSerial: fields.int('terminalSerial', 0, U32_MAX),
    dateTimeDigits: fields.str('dateTimeDigits', TUNION_DATE_TIME_PATTERN, 14),
  };
  if (strict) fields.finish();
  return purchase;
}

function rideRead(fields: JsonFields, strict: boolean): TunionRide {
  const ride = {
    tap: fields.choice('tap', ['boarding', 'alighting', 'flat'] as const),
    lineId: fields.str('lineId', TEXT_PATTERN, TEXT_CHARS_MAX),
    lineCode: fields.int('lineCode', 0, 9999),
    boardingStop: fields.int('boardingStop', 0, 255),
    alightingStop: fields.int('alightingStop', 0, 255),
    fareMinor: fields.int('fareMinor', 0, U32_MAX),
    discountMinor: fields.int('discountMinor', 0, U32_MAX),
    penaltyMinor: fields.int('penaltyMinor', 0, U32_MAX),
  };
  if (strict) fields.finish();
  return ride;
}

/** Reads a grey entry's fields (after `kind`). Throws FieldError. */
export function tunionGreyRead(fields: JsonFields, strict: boolean): TunionGreyEntry {
  return {
    kind: 'tunion_grey',
    card: cardRead(fields.obj('card'), strict),
    purchase: purchaseRead(fields.obj('purchase'), strict),
    ride: rideRead(fields.obj('ride'), strict),
    kernelRecordHex: fields.hex('kernelRecordHex', 1, TUNION_KERNEL_RECORD_BYTES_MAX),
  };
}

/** Reads a final entry's fields (after `kind`). Throws FieldError. */
export function tunionFinalRead(fields: JsonFields, strict: boolean): TunionFinalEntry {
  return {
    kind: 'tunion_final',
    greySeq: fields.intOrNull('greySeq', 1, SEQ_MAX),
    card: cardRead(fields.obj('card'), strict),
    purchase: purchaseRead(fields.obj('purchase'), strict),
    ride: rideRead(fields.obj('ride'), strict),
    balanceAfterMinor: fields.int('balanceAfterMinor', 0, U32_MAX),
    tacHex: fields.hex('tacHex', 4, 4),
    terminalId: fields.str('terminalId', TEXT_PATTERN, TEXT_CHARS_MAX),
    paramsVersion: fields.int('paramsVersion', 0, SEQ_MAX),
    // Absent in records written before it, null from a caller that does not know.
    mac2Verified: fields.has('mac2Verified') && fields.raw('mac2Verified') !== null
      ? fields.bool('mac2Verified') : null,
  };
}

/** Reads a blocked entry's fields (after `kind`). Throws FieldError. */
export function tunionBlockedRead(fields: JsonFields, strict: boolean): TunionBlockedEntry {
  const entry: TunionBlockedEntry = {
    kind: 'tunion_blocked',
    card: cardRead(fields.obj('card'), strict),
    dateTimeDigits: fields.str('dateTimeDigits', TUNION_DATE_TIME_PATTERN, 14),
    terminalNumberHex: fields.hex('terminalNumberHex', 6, 6),
    terminalId: fields.str('terminalId', TEXT_PATTERN, TEXT_CHARS_MAX),
    lineId: fields.str('lineId', TEXT_PATTERN, TEXT_CHARS_MAX),
    paramsVersion: fields.int('paramsVersion', 0, SEQ_MAX),
    blockOutcome: fields.choice('blockOutcome', TUNION_BLOCK_OUTCOMES),
    blockSwHex: fields.hex('blockSwHex', 0, 2),
    // Absent in records written before pending records existed.
    pendingSeq: fields.has('pendingSeq') ? fields.intOrNull('pendingSeq', 1, SEQ_MAX) : null,
  };
  if (entry.blockSwHex.length === 2) {
    fields.refuse('blockSwHex', 'a status word is 2 bytes, or none');
  }
  // The answer's rule first (named at blockSwHex), then the pending seq's.
  const answer = tunionBlockDisagreement(entry.blockOutcome, entry.blockSwHex, null);
  if (answer !== null) fields.refuse('blockSwHex', answer);
  const pending = tunionBlockDisagreement(entry.blockOutcome, entry.blockSwHex,
    entry.pendingSeq);
  if (pending !== null) fields.refuse('pendingSeq', pending);
  return entry;
}

/**
 * The export line of a T-Union record (depot contract: type `tunion_clearing` for a final,
 * `tunion_grey` for a grey record, which the depot pairs with its final by card and ATC,
 * `tunion_blocked` for a block, pending or final, which moves no money: not a clearing line).
 */
export function tunionExportObject(
  seq: number,
  timeWallMs: number,
  entry: TunionGreyEntry | TunionFinalEntry | TunionBlockedEntry,
): { readonly type: string } & Readonly<Record<string, unknown>> {
  if (entry.kind === 'tunion_grey') {
    const { card, purchase, ride } = entry;
    return { type: 'tunion_grey', seq, timeWallMs, card, purchase, ride };
  }
  if (entry.kind === 'tunion_final') {
    // A final written before mac2Verified existed goes out as it did then (no key).
    const { kind: _kind, mac2Verified, ...rest } = entry;
    return { type: 'tunion_clearing', seq, timeWallMs, ...rest,
      ...(mac2Verified === null ? {} : { mac2Verified }) };
  }
  // Only a final that completes a pending record says so: a block never sent, or a record
  // written before pending records existed, goes out as it did then (no key).
  const { kind: _kind, pendingSeq, ...rest } = entry;
  return { type: 'tunion_blocked', seq, timeWallMs, ...rest,
    ...(pendingSeq === null ? {} : { pendingSeq }) };
}
