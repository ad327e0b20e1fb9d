// The day, week or month a figure covers, as the business's calendar days (YYYY-MM-DD), which
// is how the server's filters take them.

export type Period = "day" | "week" | "month";

export interface DayRange {
  from: string;
  to: string;
}

/** The calendar day it is at `now` in `timeZone` (an IANA name; the browser's when absent). */
export function businessDay(now: Date, timeZone?: string): string {
  const format = (zone?: string) =>
    new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(now);
  try {
    return format(timeZone || undefined);
  } catch {
    return format(undefined);
  }
}

function parse(day: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

function show(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The period holding `day`: the day itself, its week (Monday to Sunday), or its month. */
export function rangeOf(period: Period, day: string): DayRange {
  const date = parse(day);
  if (period === "day") return { from: day, to: day };
  if (period === "week") {
    const sinceMonday = (date.getUTCDay() + 6) % 7;
    const monday = new Date(date.getTime() - sinceMonday * 86_400_000);
    return { from: show(monday), to: show(new Date(monday.getTime() + 6 * 86_400_000)) };
  }
  const first = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
  const last = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0));
  return { from: show(first), to: show(last) };
}

/** The same period one step earlier or later (`step` = -1 or 1). */
export function shift(period: Period, range: DayRange, step: number): DayRange {
  const from = parse(range.from);
  if (period === "day") return rangeOf("day", show(new Date(from.getTime() + step * 86_400_000)));
  if (period === "week") return rangeOf("week", show(new Date(from.getTime() + step * 7 * 86_400_000)));
  return rangeOf("month", show(new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + step, 1))));
}

export function describeRange(range: DayRange): string {
  return range.from === range.to ? range.from : `${range.from} – ${range.to}`;
}
