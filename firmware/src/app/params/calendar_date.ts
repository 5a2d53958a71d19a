// Calendar dates as the parameter files and the gate ledger write them (YYYY-MM-DD).

/** True when YYYY-MM-DD `date` is a day of the (Gregorian) calendar. */
export function calendarDateValid(date: string): boolean {
  const [y, m, d] = date.split('-').map(Number);
  if (y === undefined || m === undefined || d === undefined || m < 1 || m > 12) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 0;
  return d >= 1 && d <= days;
}
