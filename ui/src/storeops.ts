// Pure helpers of the store-operation screens (shift, returns, cashier switch): what the
// cashier typed becomes what the engine takes. The engine checks the rules again (over-return,
// amounts, PINs); these only catch typing mistakes early and name the field.

import { EngineError, type RefundInput, type ReturnLineInput } from "./api";
import { isZero, parseAmountInput } from "./money";

/** The quantities typed per sale line (line_no → text) as return lines; blank and zero lines
 * are left out. An error names the first line whose quantity is not a number. */
export function returnLinesFrom(picked: Record<number, string>): { lines: ReturnLineInput[] } | { error: string } {
  const lines: ReturnLineInput[] = [];
  for (const [lineNo, text] of Object.entries(picked).sort(([a], [b]) => Number(a) - Number(b))) {
    if (text.trim() === "") continue;
    const quantity = parseAmountInput(text);
    if (quantity === null) return { error: `Line ${lineNo}: '${text}' is not a quantity` };
    if (isZero(quantity)) continue;
    lines.push({ item: { line_no: Number(lineNo) }, quantity });
  }
  if (lines.length === 0) return { error: "Type the quantity to return on at least one line" };
  return { lines };
}

/** The refund choice of the return form: "cash", "due" or "pt:ID" (a payment type). */
export function refundFrom(choice: string): RefundInput {
  if (choice === "cash" || choice === "due") return choice;
  const id = Number(choice.replace(/^pt:/, ""));
  if (!Number.isInteger(id) || !choice.startsWith("pt:")) throw new Error(`unknown refund choice '${choice}'`);
  return { payment_type: id };
}

/** The engine refused because a manager's PIN must authorise this first. */
export function needsManager(e: unknown): boolean {
  return e instanceof EngineError && e.code === "manager_required";
}

/** A PIN as typed: digits, else null. How many digits a person's PIN has (by role) is the
 * engine's rule, and its refusal says it. */
export function pinFrom(input: string): string | null {
  const pin = input.trim();
  return /^\d+$/.test(pin) ? pin : null;
}

/** "-0.26" → short, "0.26" → over, zero → exact: how the drawer's count compares. */
export function differenceLabel(difference: string | number | null): string {
  if (difference === null) return "";
  const text = String(difference);
  if (isZero(text)) return "exact";
  return text.startsWith("-") ? "short" : "over";
}
