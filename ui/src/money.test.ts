import { describe, expect, it } from "vitest";
import {
  decimalText,
  formatMoney,
  formatQuantity,
  isNegative,
  isZero,
  parseAmountInput,
  roundDecimalText,
  stepQuantity,
  type CurrencyFormat,
} from "./money";

const usd: CurrencyFormat = { code: "USD", symbol: "$", minorUnits: 2, position: "before" };
const eur: CurrencyFormat = { code: "EUR", symbol: "€", minorUnits: 2, position: "after" };
const jpy: CurrencyFormat = { code: "JPY", symbol: "¥", minorUnits: 0, position: "before" };
const kwd: CurrencyFormat = { code: "KWD", symbol: "KD", minorUnits: 3, position: "after" };

describe("formatMoney", () => {
  it("pads to the currency's minor units and puts the symbol where the business wants it", () => {
    expect(formatMoney("1234.5", usd)).toBe("$1,234.50");
    expect(formatMoney("1234.5", eur)).toBe("1,234.50 €");
    expect(formatMoney("0", usd)).toBe("$0.00");
    expect(formatMoney("7", kwd)).toBe("7.000 KD");
  });

  it("shows currencies without minor units as whole numbers", () => {
    expect(formatMoney("1500", jpy)).toBe("¥1,500");
    expect(formatMoney("1500.5", jpy)).toBe("¥1,501");
  });

  it("rounds half away from zero like the engine, without floating point", () => {
    // 1.005 in binary floating point is 1.00499999…; string rounding must still give 1.01
    expect(formatMoney("1.005", usd)).toBe("$1.01");
    expect(formatMoney("-1.005", usd)).toBe("-$1.01");
    expect(formatMoney("2.994", usd)).toBe("$2.99");
    expect(formatMoney("999999.995", usd)).toBe("$1,000,000.00");
  });

  it("keeps every digit of large exact amounts", () => {
    expect(formatMoney("12345678901234567.89", usd)).toBe("$12,345,678,901,234,567.89");
  });

  it("puts the minus sign in front of the symbol", () => {
    expect(formatMoney("-12.5", usd)).toBe("-$12.50");
    expect(formatMoney("-12.5", eur)).toBe("-12.50 €");
  });

  it("accepts JSON numbers the engine sent, exactly as printed", () => {
    expect(formatMoney(12.99, usd)).toBe("$12.99");
    expect(formatMoney(0.1, usd)).toBe("$0.10");
  });

  it("never shows minus zero", () => {
    expect(formatMoney("-0.001", usd)).toBe("$0.00");
  });
});

describe("decimalText", () => {
  it("refuses numbers a JavaScript number cannot hold exactly", () => {
    expect(() => decimalText(1e21)).toThrow(/cannot be shown exactly/);
    expect(() => decimalText(1234567890123456.7)).toThrow(/cannot be shown exactly/);
    expect(() => decimalText(Number.NaN)).toThrow(/not a finite number/);
  });

  it("refuses text that is not a decimal", () => {
    expect(() => decimalText("12,50")).toThrow(/not a decimal amount/);
    expect(() => decimalText("1e3")).toThrow(/not a decimal amount/);
  });
});

describe("roundDecimalText", () => {
  it("carries through every digit", () => {
    expect(roundDecimalText("9.999", 2)).toBe("10.00");
    expect(roundDecimalText("0.005", 2)).toBe("0.01");
    expect(roundDecimalText("0.004", 2)).toBe("0.00");
    expect(roundDecimalText("12", 0)).toBe("12");
  });
});

describe("formatQuantity", () => {
  it("drops trailing zeros and keeps weighed decimals", () => {
    expect(formatQuantity("2.000")).toBe("2");
    expect(formatQuantity("0.375")).toBe("0.375");
    expect(formatQuantity("1.50")).toBe("1.5");
    expect(formatQuantity(3)).toBe("3");
  });
});

describe("parseAmountInput", () => {
  it("reads what a cashier types, with a point or a comma", () => {
    expect(parseAmountInput("20")).toBe("20");
    expect(parseAmountInput("12,5")).toBe("12.5");
    expect(parseAmountInput(" 007.25 ")).toBe("7.25");
    expect(parseAmountInput(".5")).toBe("0.5");
  });

  it("rejects what is not an amount", () => {
    expect(parseAmountInput("")).toBeNull();
    expect(parseAmountInput(".")).toBeNull();
    expect(parseAmountInput("-3")).toBeNull();
    expect(parseAmountInput("1.2.3")).toBeNull();
    expect(parseAmountInput("abc")).toBeNull();
    expect(parseAmountInput("1.2345")).toBeNull();
    expect(parseAmountInput("1.234", 2)).toBeNull();
  });
});

describe("isZero / isNegative", () => {
  it("read the sign from the text", () => {
    expect(isZero("0.00")).toBe(true);
    expect(isZero("-0")).toBe(true);
    expect(isZero("0.01")).toBe(false);
    expect(isNegative("-0.01")).toBe(true);
    expect(isNegative("-0")).toBe(false);
    expect(isNegative(5)).toBe(false);
  });
});

describe("stepQuantity", () => {
  it("steps whole units and never goes below one", () => {
    expect(stepQuantity("2", 1)).toBe("3");
    expect(stepQuantity("2", -1)).toBe("1");
    expect(stepQuantity("1", -1)).toBe("1");
    expect(stepQuantity("2.500", 1)).toBe("3");
    expect(stepQuantity("2.5", -1)).toBe("2");
    expect(stepQuantity(0.375, -1)).toBe("1");
  });
});
