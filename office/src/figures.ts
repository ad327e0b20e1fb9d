// The shapes of the server's figures (reports/sales/summary, dashboard, devices) and the small
// decisions the dashboard makes on them.

export type Amount = number | string;

export interface GroupTotals {
  count: number;
  totalAmount: Amount;
  vat_amount: Amount;
  discountAmount: Amount;
  paidAmount: Amount;
  dueAmount: Amount;
  profit: Amount;
}

export interface SalesSummary {
  totals: GroupTotals & { returns_count: number; returns_amount: Amount };
  by_day: (GroupTotals & { date: string })[];
  by_payment_type: (GroupTotals & { payment_type_id: number | null })[];
  by_cashier: (GroupTotals & { user_id: number | null })[];
  by_device: (GroupTotals & { device_id: string | null })[];
}

export interface Device {
  device_id: string;
  device_name: string | null;
  os: string | null;
  app_version: string | null;
  registered_at: string;
  last_sync_at: string | null;
  last_offline_seq: number;
  is_active: boolean;
}

const DAY_MS = 86_400_000;

/** A till that has not synced for a day (or never) is stale: its sales may be missing here. */
export function isStale(device: Device, now: Date): boolean {
  if (!device.last_sync_at) return true;
  const last = new Date(device.last_sync_at).getTime();
  return Number.isNaN(last) || now.getTime() - last > DAY_MS;
}

/** The average basket as exact decimal text: total ÷ count, rounded half away from zero to
 * `places` decimals, on integers of the smallest unit (no floating point). */
export function averageBasket(total: Amount, count: number, places: number): string | null {
  if (count <= 0) return null;
  const text = String(total).trim();
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  // Work in units of 10^-(places + 1) so the last digit decides the rounding.
  const scale = places + 1;
  const units = BigInt(whole + fraction.padEnd(scale, "0").slice(0, scale));
  const quotient = units / BigInt(count);
  const rounded = (quotient + 5n) / 10n;
  const digits = rounded.toString().padStart(places + 1, "0");
  const intPart = digits.slice(0, digits.length - places);
  const fracPart = digits.slice(digits.length - places);
  const body = places > 0 ? `${intPart}.${fracPart}` : intPart;
  return sign && rounded !== 0n ? `-${body}` : body;
}

/** A name for an id from a list the business keeps ("Cash", "Anna"), or a fallback. */
export function nameOf<T extends { id: number }>(rows: T[] | null, id: number | null, pick: (row: T) => string, none: string): string {
  if (id === null) return none;
  const row = rows?.find((r) => r.id === id);
  return row ? pick(row) : `#${id}`;
}
