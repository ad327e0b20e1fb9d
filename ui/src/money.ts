// Formatting of exact amounts for display. The engine computes every amount; this module only
// turns its decimal text into what the cashier reads, with string digits, never floating point.

/** An exact decimal as the engine sends it: decimal text, or a JSON number of at most
 * 15 significant digits (which a JavaScript number holds exactly and prints back unchanged). */
export type Amount = string | number;

export type SymbolPosition = "before" | "after";

export interface CurrencyFormat {
  code: string;
  symbol: string;
  minorUnits: number;
  position: SymbolPosition;
}

const DECIMAL_TEXT = /^(-?)(\d+)(?:\.(\d+))?$/;
const MAX_EXACT_DIGITS = 15;

/** The exact decimal text of an amount; throws on anything that is not a plain decimal. */
export function decimalText(amount: Amount): string {
  if (typeof amount === "number") {
    if (!Number.isFinite(amount)) throw new Error(`amount ${amount} is not a finite number`);
    const text = String(amount);
    const digits = text.replace(/[-.]/g, "").replace(/^0+/, "");
    if (!DECIMAL_TEXT.test(text) || digits.length > MAX_EXACT_DIGITS) {
      throw new Error(`amount ${text} cannot be shown exactly; the engine must send it as text`);
    }
    return text;
  }
  const text = amount.trim();
  if (!DECIMAL_TEXT.test(text)) throw new Error(`'${amount}' is not a decimal amount`);
  return text;
}

/** Adds one to a string of decimal digits. */
function incrementDigits(digits: string): string {
  const out = digits.split("");
  let i = out.length - 1;
  while (i >= 0) {
    if (out[i] === "9") {
      out[i] = "0";
      i -= 1;
    } else {
      out[i] = String(Number(out[i]) + 1);
      return out.join("");
    }
  }
  return "1" + out.join("");
}

/** Rounds decimal text to `places` decimals, half away from zero (the engine's shop rounding),
 * always writing exactly `places` decimals. */
export function roundDecimalText(amount: Amount, places: number): string {
  const [, sign, whole, fraction = ""] = DECIMAL_TEXT.exec(decimalText(amount))!;
  let kept = (whole + fraction.padEnd(places, "0").slice(0, places)).replace(/^0+(?=\d)/, "");
  if ((fraction[places] ?? "0") >= "5") kept = incrementDigits(kept);
  kept = kept.padStart(places + 1, "0");
  const intPart = kept.slice(0, kept.length - places);
  const fracPart = kept.slice(kept.length - places);
  const isZero = /^0*$/.test(intPart + fracPart);
  return (sign && !isZero ? "-" : "") + intPart + (places > 0 ? "." + fracPart : "");
}

function groupThousands(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `1234.5` → `$1,234.50` (symbol before) or `1,234.50 €` (after), as the business set it. */
export function formatMoney(amount: Amount, currency: CurrencyFormat): string {
  const rounded = roundDecimalText(amount, currency.minorUnits);
  const negative = rounded.startsWith("-");
  const [whole, fraction] = (negative ? rounded.slice(1) : rounded).split(".");
  const number = groupThousands(whole) + (fraction !== undefined ? "." + fraction : "");
  const withSymbol =
    currency.position === "before" ? `${currency.symbol}${number}` : `${number} ${currency.symbol}`;
  return (negative ? "-" : "") + withSymbol;
}

/** Quantities: as many decimals as they carry (weighed goods have up to 3), no trailing zeros. */
export function formatQuantity(quantity: Amount): string {
  const text = decimalText(quantity);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** Reads what a cashier typed as an amount or quantity: digits with an optional decimal point
 * or comma. Returns the decimal text to send to the engine, or null when it is not a number. */
export function parseAmountInput(input: string, maxDecimals = 3): string | null {
  const text = input.trim().replace(",", ".");
  const match = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[1] === "" && (match[2] ?? "") === "")) return null;
  const fraction = match[2] ?? "";
  if (fraction.length > maxDecimals) return null;
  const whole = match[1].replace(/^0+(?=\d)/, "") || "0";
  return fraction ? `${whole}.${fraction}` : whole;
}

/** True when decimal text is zero ("0", "0.00", "-0"). */
export function isZero(amount: Amount): boolean {
  return /^-?0*(\.0*)?$/.test(decimalText(amount));
}

/** True when decimal text is below zero. */
export function isNegative(amount: Amount): boolean {
  return decimalText(amount).startsWith("-") && !isZero(amount);
}

/** The next whole quantity up or down for the cart's +/− keys: 2 → 3 / 1, 2.5 → 3 / 2, never
 * below 1 (removing a line is a void). Whole-number steps on the text, no floating point. */
export function stepQuantity(quantity: Amount, delta: 1 | -1): string {
  const text = formatQuantity(quantity);
  const whole = BigInt(text.split(".")[0]);
  const next = delta > 0 ? whole + 1n : text.includes(".") ? whole : whole - 1n;
  return (next < 1n ? 1n : next).toString();
}
