import { describe, expect, it } from "vitest";
import { discountText, parseDiscountInput } from "./format";

describe("parseDiscountInput", () => {
  it("reads amounts and percentages as decimal text for the engine", () => {
    expect(parseDiscountInput("10%")).toEqual({ kind: "percent", value: "10" });
    expect(parseDiscountInput("2,5")).toEqual({ kind: "amount", value: "2.5" });
    expect(parseDiscountInput(" 12.5 % ")).toEqual({ kind: "percent", value: "12.5" });
  });

  it("removes the discount on empty or zero", () => {
    expect(parseDiscountInput("")).toEqual({ kind: "none" });
    expect(parseDiscountInput("0%")).toEqual({ kind: "none" });
  });

  it("rejects what is not a discount", () => {
    expect(parseDiscountInput("-5")).toBeNull();
    expect(parseDiscountInput("ten")).toBeNull();
    expect(parseDiscountInput("%")).toBeNull();
  });
});

describe("discountText", () => {
  it("shows a discount the way it was given", () => {
    expect(discountText({ kind: "percent", value: 10 })).toBe("10%");
    expect(discountText({ kind: "amount", value: "2.50" })).toBe("2.5");
    expect(discountText({ kind: "none" })).toBe("");
  });
});
