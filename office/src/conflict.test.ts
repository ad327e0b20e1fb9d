import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { differences, versionConflict } from "./conflict";

describe("version conflicts", () => {
  it("reads the server's copy from a 409", () => {
    const body = { error: "version_conflict", conflict: { server_version: 3, server_data: { productName: "Tea" } } };
    const error = new ApiError(409, "version_conflict", "stale", {}, body);
    expect(versionConflict(error)).toEqual({ serverVersion: 3, serverData: { productName: "Tea" } });
    expect(versionConflict(new ApiError(409, "idempotency_key_in_progress", "busy"))).toBeNull();
    expect(versionConflict(null)).toBeNull();
  });

  it("lists only the fields that differ", () => {
    expect(
      differences({ productName: "Green tea", productSalePrice: "2.50", alert_qty: "3", barcode: "" },
        { productName: "Tea", productSalePrice: 2.5, alert_qty: 4, barcode: null },
      ),
    ).toEqual([
      { field: "productName", mine: "Green tea", theirs: "Tea" },
      { field: "alert_qty", mine: "3", theirs: "4" },
    ]);
  });
});
