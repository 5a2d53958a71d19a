// Patterns for JsonFields.str that several files share, each with the words a refusal shows.

import { calendarDateValid } from './calendar_date.js';
import type { FieldPattern } from './json_fields.js';

/** Terminal, line, site, slot and ticket ids. */
export const ID_PATTERN: FieldPattern = {
  re: /^[A-Za-z0-9_.-]{1,32}$/,
  says: "1 to 32 letters, digits, '.', '-' or '_'",
};

/** Fare rules and fare category names. */
export const NAME_PATTERN: FieldPattern = {
  re: /^[a-z0-9_-]{1,32}$/,
  says: "1 to 32 lower-case letters, digits, '-' or '_'",
};

/** Free text (labels, reasons, notes): printable ASCII, so a log line stays one line. */
export const TEXT_PATTERN: FieldPattern = {
  re: /^[\x20-\x7e]*$/,
  says: 'printable ASCII text (no accents, no control characters)',
};

/** A calendar day as the gate's files write it (the calendar check comes after). */
export const DATE_PATTERN: FieldPattern = {
  re: /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/,
  says: 'a date YYYY-MM-DD',
};

/** A day of the calendar as YYYY-MM-DD: a ledger's or an upload's date (2026-02-30 was stored). */
export const CALENDAR_DATE_PATTERN: FieldPattern = {
  ...DATE_PATTERN,
  says: 'a calendar date YYYY-MM-DD',
  holds: calendarDateValid,
};

/** A gate card token: 12 bytes as upper-case hex. */
export const CARD_TOKEN_PATTERN: FieldPattern = {
  re: /^[0-9A-F]{24}$/,
  says: '24 upper-case hex digits (0-9, A-F)',
};
