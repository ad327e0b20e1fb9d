import { describe, expect, it } from "vitest";
import { averageBasket, isStale, type Device } from "./figures";

const device = (last: string | null): Device => ({
  device_id: "T1",
  device_name: "Till 1",
  os: null,
  app_version: "0.1.0",
  registered_at: "2026-12-01T08:00:00.000Z",
  last_sync_at: last,
  last_offline_seq: 0,
  is_active: true,
});

describe("figures", () => {
  it("calls a till stale after a day without syncing, or never synced", () => {
    const now = new Date("2026-12-02T12:00:00Z");
    expect(isStale(device("2026-12-02T08:00:00.000Z"), now)).toBe(false);
    expect(isStale(device("2026-12-01T11:59:00.000Z"), now)).toBe(true);
    expect(isStale(device(null), now)).toBe(true);
  });

  it("divides exactly and rounds half away from zero", () => {
    expect(averageBasket("10", 3, 2)).toBe("3.33");
    expect(averageBasket("20", 3, 2)).toBe("6.67");
    expect(averageBasket(0.1, 1, 2)).toBe("0.10");
    expect(averageBasket("1000000000000.05", 2, 2)).toBe("500000000000.03");
    expect(averageBasket("5", 2, 0)).toBe("3");
    expect(averageBasket("-5", 2, 0)).toBe("-3");
    expect(averageBasket("12", 0, 2)).toBeNull();
  });
});
