// Terminal-local date and time for 9A / 9F21, computed from the injected wall clock.
//
// Plain arithmetic instead of the ambient Date object (banned in app code by the tidy test):
// days since the epoch become a civil date with Howard Hinnant's days-to-civil algorithm.

const MS_PER_DAY = 86_400_000;

/** Proleptic Gregorian year, month (1-12) and day (1-31) of `days` since 1970-01-01. */
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

/** YYMMDD and hhmmss at `wallMs` shifted by `utcOffsetMinutes` (no daylight saving in China). */
export function localDateTime(
  wallMs: number,
  utcOffsetMinutes: number,
): { date: string; time: string } {
  const localMs = wallMs + utcOffsetMinutes * 60_000;
  const days = Math.floor(localMs / MS_PER_DAY);
  const { year, month, day } = civilFromDays(days);
  const secondsOfDay = Math.floor((localMs - days * MS_PER_DAY) / 1000);
  const two = (n: number): string => n.toString().padStart(2, '0');
  const hours = Math.floor(secondsOfDay / 3600);
  const minutes = Math.floor((secondsOfDay % 3600) / 60);
  return {
    date: `${two(year % 100)}${two(month)}${two(day)}`,
    time: `${two(hours)}${two(minutes)}${two(secondsOfDay % 60)}`,
  };
}

/** YYYYMMDD, the local calendar day at `wallMs` (PSAM validity dates are compared as text). */
export function localDayDigits(wallMs: number, utcOffsetMinutes: number): string {
  const days = Math.floor((wallMs + utcOffsetMinutes * 60_000) / MS_PER_DAY);
  const { year, month, day } = civilFromDays(days);
  const two = (n: number): string => n.toString().padStart(2, '0');
  return `${year.toString().padStart(4, '0')}${two(month)}${two(day)}`;
}

/** Whole days from the local day `fromDigits` to `toDigits` (both YYYYMMDD, valid dates). */
export function daysBetween(fromDigits: string, toDigits: string): number {
  return daysFromCivil(toDigits) - daysFromCivil(fromDigits);
}

/** True when `digits` (YYYYMMDD) is a real calendar day. */
export function isCalendarDay(digits: string): boolean {
  if (!/^[0-9]{8}$/.test(digits)) return false;
  const back = civilFromDays(daysFromCivil(digits));
  const text = `${back.year.toString().padStart(4, '0')}${back.month.toString().padStart(2, '0')}`
    + back.day.toString().padStart(2, '0');
  return text === digits;
}

/** Days since 1970-01-01 of YYYYMMDD (Hinnant's days-from-civil). */
function daysFromCivil(digits: string): number {
  const month = Number(digits.slice(4, 6));
  const day = Number(digits.slice(6, 8));
  const year = Number(digits.slice(0, 4)) - (month <= 2 ? 1 : 0);
  const era = Math.floor(year / 400);
  const yoe = year - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
