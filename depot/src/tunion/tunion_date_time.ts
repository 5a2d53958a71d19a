// The date-time of a T-Union line (YYYYMMDDhhmmss, as sent in INIT SAM and DEBIT): the
// journal's pattern checks 14 digits; the depot files a line by its day, so the day must be a
// calendar day and the time a time of day, or the report would show a day 2026-13-22.

import { isCalendarDay } from '../../../firmware/src/app/validator/validator_time.js';
import { BatchError } from '../ingest/batch_error.js';

/** Throws BatchError (bad-batch) at `path` unless `digits` is a real date and time of day. */
export function tunionDateTimeCheck(digits: string, path: string): void {
  const hh = Number(digits.slice(8, 10));
  const mm = Number(digits.slice(10, 12));
  const ss = Number(digits.slice(12, 14));
  const timeOfDay = /^[0-9]{14}$/.test(digits) && hh < 24 && mm < 60 && ss < 60;
  if (!isCalendarDay(digits.slice(0, 8)) || !timeOfDay) {
    throw new BatchError('bad-batch', path, 'expected a calendar date and time YYYYMMDDhhmmss');
  }
}
