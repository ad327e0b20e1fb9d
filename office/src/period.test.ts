import { describe, expect, it } from "vitest";
import { businessDay, rangeOf, shift } from "./period";

describe("periods", () => {
  it("takes the day in the business's time zone", () => {
    const now = new Date("2026-03-29T23:30:00Z");
    expect(businessDay(now, "UTC")).toBe("2026-03-29");
    expect(businessDay(now, "Europe/Berlin")).toBe("2026-03-30");
    expect(businessDay(new Date("2026-12-31T10:30:00Z"), "Pacific/Kiritimati")).toBe("2027-01-01");
    expect(businessDay(now, "Not/AZone")).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("spans a week from Monday to Sunday and a whole month", () => {
    expect(rangeOf("week", "2026-12-02")).toEqual({ from: "2026-11-30", to: "2026-12-06" });
    expect(rangeOf("week", "2026-11-30")).toEqual({ from: "2026-11-30", to: "2026-12-06" });
    expect(rangeOf("week", "2026-12-06")).toEqual({ from: "2026-11-30", to: "2026-12-06" });
    expect(rangeOf("month", "2028-02-10")).toEqual({ from: "2028-02-01", to: "2028-02-29" });
    expect(rangeOf("day", "2026-12-02")).toEqual({ from: "2026-12-02", to: "2026-12-02" });
  });

  it("steps to the previous and next period", () => {
    expect(shift("day", rangeOf("day", "2026-01-01"), -1)).toEqual({ from: "2025-12-31", to: "2025-12-31" });
    expect(shift("week", rangeOf("week", "2026-12-02"), 1).from).toBe("2026-12-07");
    expect(shift("month", rangeOf("month", "2026-01-31"), 1)).toEqual({ from: "2026-02-01", to: "2026-02-28" });
  });
});
