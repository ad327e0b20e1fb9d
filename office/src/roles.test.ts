import { describe, expect, it } from "vitest";
import { assignableRoles, homeFor, mayOpen, pagesFor } from "./roles";

describe("roles", () => {
  it("shows a cashier only the cashier's pages", () => {
    expect(pagesFor("cashier").map((p) => p.label)).toEqual(["Sales", "Products", "Customers"]);
    expect(homeFor("cashier")).toBe("/sales");
    expect(mayOpen("cashier", "/sales/12")).toBe(true);
    expect(mayOpen("cashier", "/")).toBe(false);
    expect(mayOpen("cashier", "/staff")).toBe(false);
  });

  it("keeps the settings for the owner", () => {
    expect(mayOpen("manager", "/settings")).toBe(false);
    expect(mayOpen("owner", "/settings")).toBe(true);
    expect(homeFor("manager")).toBe("/");
    expect(pagesFor("owner")).toHaveLength(11);
  });

  it("refuses unknown paths", () => {
    expect(mayOpen("owner", "/nowhere")).toBe(false);
  });

  it("lets a manager give only the cashier role", () => {
    expect(assignableRoles("manager")).toEqual(["cashier"]);
    expect(assignableRoles("owner")).toContain("owner");
    expect(assignableRoles("cashier")).toEqual([]);
  });
});
