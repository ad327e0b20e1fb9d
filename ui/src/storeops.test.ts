import { describe, expect, it } from "vitest";
import { EngineError } from "./api";
import { differenceLabel, needsManager, pinFrom, refundFrom, returnLinesFrom } from "./storeops";

describe("returnLinesFrom", () => {
  it("keeps the typed lines in line order and leaves blank and zero ones out", () => {
    expect(returnLinesFrom({ 3: "1", 1: "2,5", 2: "", 4: "0" })).toEqual({
      lines: [
        { item: { line_no: 1 }, quantity: "2.5" },
        { item: { line_no: 3 }, quantity: "1" },
      ],
    });
  });

  it("names the line whose quantity is not a number", () => {
    expect(returnLinesFrom({ 1: "1", 2: "two" })).toEqual({ error: "Line 2: 'two' is not a quantity" });
  });

  it("refuses a return of nothing", () => {
    expect(returnLinesFrom({ 1: "", 2: "0" })).toHaveProperty("error");
  });
});

describe("refundFrom", () => {
  it("reads the three refund methods", () => {
    expect(refundFrom("cash")).toBe("cash");
    expect(refundFrom("due")).toBe("due");
    expect(refundFrom("pt:2")).toEqual({ payment_type: 2 });
    expect(() => refundFrom("card")).toThrow();
  });
});

describe("needsManager", () => {
  it("recognises the engine's manager_required refusal only", () => {
    expect(needsManager(new EngineError("manager_required", "a return needs a manager's PIN"))).toBe(true);
    expect(needsManager(new EngineError("wrong_pin", "no"))).toBe(false);
    expect(needsManager(new Error("manager_required"))).toBe(false);
  });
});

describe("pinFrom", () => {
  it("takes digits and leaves their number to the engine's rule", () => {
    expect(pinFrom(" 1234 ")).toBe("1234");
    expect(pinFrom("12345678")).toBe("12345678");
    expect(pinFrom("")).toBeNull();
    expect(pinFrom("12a4")).toBeNull();
  });
});

describe("differenceLabel", () => {
  it("says whether the drawer is short, over or exact", () => {
    expect(differenceLabel("-0.26")).toBe("short");
    expect(differenceLabel("1.00")).toBe("over");
    expect(differenceLabel("0.00")).toBe("exact");
    expect(differenceLabel(null)).toBe("");
  });
});
