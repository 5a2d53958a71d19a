// JT/T 978 date-times: 7-byte BCD YYYYMMDDhhmmss in terminal-local time, to and from wall ms.
//
// Plain arithmetic instead of the ambient Date object (banned in app code by the tidy test):
// Howard Hinnant's civil-from-days and days-from-civil algorithms, proleptic Gregorian.

const MS_PER_DAY = 86_400_000;
export const JTT978_DATE_TIME_BYTES = 7;

/** Local civil date and time of `wallMs` at `utcOffsetMinutes` (China: +480, no DST). */
export interface CivilDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function daysInMonth(year: number, month: number): number {
  return daysFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1)
    - daysFromCivil(year, month, 1);
}

/** The local civil date-time of `wallMs`. */
export function civilOf(wallMs: number, utcOffsetMinutes: number): CivilDateTime {
  const localMs = wallMs + utcOffsetMinutes * 60_000;
  const days = Math.floor(localMs / MS_PER_DAY);
  const { year, month, day } = civilFromDays(days);
  const seconds = Math.floor((localMs - days * MS_PER_DAY) / 1000);
  return {
    year, month, day,
    hour: Math.floor(seconds / 3600),
    minute: Math.floor((seconds % 3600) / 60),
    second: seconds % 60,
  };
}

/** 14 digits YYYYMMDDhhmmss of `wallMs` in local time (years 0..9999). */
export function jtt978DateTimeDigits(wallMs: number, utcOffsetMinutes: number): string {
  const c = civilOf(wallMs, utcOffsetMinutes);
  const two = (n: number): string => n.toString().padStart(2, '0');
  return `${c.year.toString().padStart(4, '0')}${two(c.month)}${two(c.day)}`
    + `${two(c.hour)}${two(c.minute)}${two(c.second)}`;
}

/** The 7 BCD bytes of `wallMs` (JT/T 978 record time fields, domain.md §7.3). */
export function jtt978DateTimeBcd(wallMs: number, utcOffsetMinutes: number): Uint8Array {
  return Uint8Array.from(Buffer.from(jtt978DateTimeDigits(wallMs, utcOffsetMinutes), 'hex'));
}

/**
 * Wall ms of 7 BCD bytes read from a card, or null when they are not a valid date-time
 * (a non-BCD nibble, month 13, 31 February, hour 24...): card data is never trusted.
 */
export function jtt978DateTimeParse(bcd: Uint8Array, utcOffsetMinutes: number): number | null {
  if (bcd.length !== JTT978_DATE_TIME_BYTES) return null;
  const digits = Buffer.from(bcd).toString('hex');
  if (!/^[0-9]{14}$/.test(digits)) return null;
  const n = (from: number, length: number): number =>
    Number.parseInt(digits.slice(from, from + length), 10);
  const [year, month, day] = [n(0, 4), n(4, 2), n(6, 2)];
  const [hour, minute, second] = [n(8, 2), n(10, 2), n(12, 2)];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const days = daysFromCivil(year, month, day);
  const localMs = days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000;
  return localMs - utcOffsetMinutes * 60_000;
}
