// Display port: the validator shows semantic screens; drivers decide pixels, pages and encodings.

import type { HalResult } from './hal_status.js';

/**
 * Why a tap was declined. The value is the code used in logs; each driver renders its own text
 * (the DWIN driver shows Chinese text plus a two-digit number: hal/src/display/display_text.ts).
 */
export type DeclineReason =
  | 'INSUFFICIENT_BALANCE'
  | 'CARD_EXPIRED'
  | 'CARD_NOT_EFFECTIVE'
  | 'CARD_NOT_SUPPORTED'
  | 'AUTHENTICATION_FAILED'
  | 'CARD_DECLINED'
  | 'USE_OTHER_CARD'
  | 'CARD_BLOCKED'
  | 'AMOUNT_LIMIT_EXCEEDED'
  | 'CARD_DATA_INCONSISTENT';

/**
 * One whole screen. Amounts are integer minor units (fen); drivers format them as yuan with two
 * decimals. A screen replaces the previous one entirely: no field survives from an earlier screen.
 */
export type DisplayScreen =
  /** Waiting for a card: "请刷卡" with the fare and an optional line or gate name. */
  | { readonly kind: 'idle'; readonly fareMinor: number; readonly lineName: string | null }
  /** A card is being read: the rider must keep it on the reader. */
  | { readonly kind: 'processing' }
  /** Paid. `balanceMinor` is null when the card did not report a balance (9F5D / 9F79 absent). */
  | {
      readonly kind: 'approved';
      readonly amountMinor: number;
      readonly balanceMinor: number | null;
      /**
       * A tap-in/tap-out (JT/T 978) ride: boarding (上车), alighting (下车) or a flat fare, at
       * `stop` (0 when the line has none); `penaltyMinor` of a ride never tapped out (补票).
       */
      readonly transit?: TransitScreen;
    }
  /**
   * Admitted (UnionPay ODA transit, full-flow cards): the fare is accepted, nothing was debited;
   * the money moves when the record is authorised later ("稍后扣款", never "扣款").
   */
  | { readonly kind: 'admitted'; readonly amountMinor: number }
  /**
   * `detailCode`: the precise cause behind `reason` (the kernel's reason code), shown after
   * the reason's own code so the operator's hotline can tell causes of one wording apart.
   */
  | {
      readonly kind: 'declined';
      readonly reason: DeclineReason;
      readonly detailCode?: number;
    }
  /** Torn or interrupted read: "请重刷" (present the card again). */
  | { readonly kind: 'tryAgain' }
  /** The card is on the deny list (黑名单). */
  | { readonly kind: 'denyList' }
  /** Same card within the duplicate-tap window: "已刷卡", nothing was charged again. */
  | { readonly kind: 'alreadyPaid' }
  | { readonly kind: 'outOfService' }
  /** Anticollision found more than one card in the field: "多卡". */
  | { readonly kind: 'multipleCards' }
  /**
   * A scenic-area gate's message (firmware/src/app/gate): `persons` is the party still to pass
   * (admit), the places left (full screens show 0), or null where no number applies.
   */
  | { readonly kind: 'gate'; readonly message: GateMessage; readonly persons: number | null };

/** What a gate lane tells the visitor (the wording is the driver's: display_text.ts). */
export type GateMessage =
  /** Entry granted: walk through, `persons` of the party still to pass. */
  | 'admit'
  /** Exit lane open. */
  | 'exit'
  /** 今日已满: the day's capacity is reached (景区限流). */
  | 'dayFull'
  /** 本时段已满: the current time slot is full. */
  | 'slotFull'
  /** The card already entered and has not left (anti-passback). */
  | 'passback'
  /** The card's ticket is for an earlier day. */
  | 'ticketExpired'
  /** The card's ticket is for a later day. */
  | 'ticketNotYet'
  /** The ticket's time slot is not now. */
  | 'wrongSlot'
  /** Outside the opening hours (no slot now). */
  | 'closed'
  /** No ticket for this card and no sale at this gate. */
  | 'noTicket'
  /** More people passed than were admitted: the alarm sounds. */
  | 'tailgating'
  /** The turnstile controller does not answer or its sensor is stuck: lane closed. */
  | 'laneFault'
  /**
   * The lane stopped so while admitting a party with places left (a paid entry's credit, a
   * ticket's places): kept here, and only here (lanes share no state), so not "use another
   * lane", where the visitor would be sold a second admission.
   */
  | 'laneFaultKept';

/** Every gate message, for exhaustive tests and tables. */
export const GATE_MESSAGES: readonly GateMessage[] = [
  'admit', 'exit', 'dayFull', 'slotFull', 'passback', 'ticketExpired', 'ticketNotYet',
  'wrongSlot', 'closed', 'noTicket', 'tailgating', 'laneFault', 'laneFaultKept',
];

/** The ride part of an approved T-Union tap's screen. */
export interface TransitScreen {
  readonly tap: 'boarding' | 'alighting' | 'flat';
  readonly stop: number;
  readonly penaltyMinor: number;
}

/** Every screen kind, for exhaustive tests and tables. */
export const DISPLAY_SCREEN_KINDS: readonly DisplayScreen['kind'][] = [
  'idle',
  'processing',
  'approved',
  'declined',
  'tryAgain',
  'denyList',
  'alreadyPaid',
  'outOfService',
  'multipleCards',
  'admitted',
  'gate',
];

/** Every decline reason, for exhaustive tests and tables. */
export const DECLINE_REASONS: readonly DeclineReason[] = [
  'INSUFFICIENT_BALANCE',
  'CARD_EXPIRED',
  'CARD_NOT_EFFECTIVE',
  'CARD_NOT_SUPPORTED',
  'AUTHENTICATION_FAILED',
  'CARD_DECLINED',
  'USE_OTHER_CARD',
  'CARD_BLOCKED',
  'AMOUNT_LIMIT_EXCEEDED',
  'CARD_DATA_INCONSISTENT',
];

/**
 * The data path of a display: show one semantic screen. Configuration (baud rate, brightness,
 * the display's own project files) belongs to the board, not to this port (Tock TRD-3 rule 9).
 */
export interface DisplayPort {
  /**
   * Replaces what the display shows with `screen`. Concurrent calls are applied in call order;
   * the last one wins. Resolves once the bytes have left on the display link; it never waits
   * for a display answer. On a DWIN at 115200 baud a screen is 64-96 bytes, about 6-8 ms of
   * wire time; at 9600 baud it is about 80 ms, too long to await between card commands.
   * Text a display cannot render (a character outside its font encoding) is replaced by `?`,
   * and text longer than the display's field is cut at a character boundary.
   * Amounts must be non-negative safe integers: anything else is a programmer error (assertion).
   *
   * Errors: READER_IO (the link write failed), TIMEOUT (the link did not drain in time),
   * BUSY (the link is owned by another operation), NOT_SUPPORTED (the runtime or the display
   * cannot encode text at all, e.g. a Node build without the GBK decoder).
   */
  show(screen: DisplayScreen): Promise<HalResult<void>>;
}
