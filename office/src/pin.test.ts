import { describe, expect, it } from "vitest";
import { pinProblem } from "./pin";

describe("pinProblem", () => {
  it("takes digits only", () => {
    expect(pinProblem("12a4", "cashier")).toMatch(/digits only/);
    expect(pinProblem("", "cashier")).toMatch(/digits only/);
  });
  it("needs 4 digits from a cashier and 6 from a manager or owner", () => {
    expect(pinProblem("1234", "cashier")).toBeNull();
    expect(pinProblem("1234", "manager")).toMatch(/at least 6/);
    expect(pinProblem("12345", "owner")).toMatch(/at least 6/);
    expect(pinProblem("123456", "manager")).toBeNull();
  });
});
