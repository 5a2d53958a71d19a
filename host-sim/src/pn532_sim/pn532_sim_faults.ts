// Faults the emulated PN532 can inject, one shot each, matched to the next fitting command.

/**
 * A one-shot fault. `command` restricts it to one command code (e.g. 0x40 InDataExchange);
 * without it the next command of any kind takes it (card faults only ever match exchanges).
 */
export type Pn532SimFault =
  /** The command frame is lost on the way in: no ACK, no response, nothing executed. */
  | { readonly kind: 'ignore-command'; readonly command?: number }
  /** The command runs and answers, but its ACK never leaves the chip. */
  | { readonly kind: 'drop-ack'; readonly command?: number }
  /** ACK sent, then the chip stays silent (a hung command). */
  | { readonly kind: 'no-response'; readonly command?: number }
  /** The response goes out `times` times with a wrong DCS (a NACK resend counts as a time). */
  | { readonly kind: 'bad-checksum'; readonly times: number; readonly command?: number }
  /** `count` bytes starting at `offset` of the response frame vanish on the line. */
  | {
      readonly kind: 'lose-response-bytes';
      readonly offset: number;
      readonly count: number;
      readonly command?: number;
    }
  /** Noise bytes precede the response frame (resynchronisation). */
  | {
      readonly kind: 'noise-before-response';
      readonly bytes: Uint8Array;
      readonly command?: number;
    }
  /** The command is answered with the syntax error frame (00 00 FF 01 FF 7F 81 00). */
  | { readonly kind: 'error-frame'; readonly command?: number }
  /** InDataExchange/InCommunicateThru/InRelease/InDeselect answer with this status byte. */
  | { readonly kind: 'error-status'; readonly status: number; readonly command?: number }
  /**
   * The card leaves the field during the next InDataExchange: before it sees the C-APDU, or
   * after it processed it (tearing: the card acted, the answer is lost).
   */
  | { readonly kind: 'remove-card'; readonly when: 'before-card' | 'after-card' };

/** Whether `fault` applies to a command with code `code`. */
export function faultMatches(fault: Pn532SimFault, code: number): boolean {
  if (fault.kind === 'remove-card') return code === 0x40;
  return fault.command === undefined || fault.command === code;
}
