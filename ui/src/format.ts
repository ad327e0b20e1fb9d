// Small display helpers shared by the screens (no money arithmetic here either).
import type { Discount, SyncState } from "./api";
import { decimalText, formatQuantity } from "./money";

export function formatTime(rfc3339: string | null): string {
  if (!rfc3339) return "never";
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime()) ? rfc3339 : d.toLocaleString();
}

export const SYNC_STATE_LABEL: Record<SyncState, string> = {
  queued: "Queued",
  sent: "Sent",
  confirmed: "Confirmed",
  failed: "Failed",
  conflict: "Conflict",
  discarded: "Discarded",
};

/** How the cashier gave a discount: "10%", "2.50" or "". */
export function discountText(discount: Discount): string {
  switch (discount.kind) {
    case "amount":
      return formatQuantity(discount.value);
    case "percent":
      return `${formatQuantity(discount.value)}%`;
    default:
      return "";
  }
}

/** Reads "10%" or "2.50" as typed by the cashier; "" or "0" removes the discount. */
export function parseDiscountInput(input: string): Discount | null {
  const text = input.trim().replace(",", ".");
  if (text === "") return { kind: "none" };
  const percent = text.endsWith("%");
  const number = percent ? text.slice(0, -1).trim() : text;
  if (!/^\d+(\.\d{1,3})?$/.test(number)) return null;
  const value = decimalText(number);
  if (/^0+(\.0*)?$/.test(value)) return { kind: "none" };
  return percent ? { kind: "percent", value } : { kind: "amount", value };
}
