import { describe, expect, it } from "vitest";
import { ScannerDetector, withoutScannedCode, type ScanResult } from "./scanner";

/** Types `text` then Enter, one key every `gapMs`, starting at `startMs`; returns the last result. */
function type(detector: ScannerDetector, text: string, gapMs: number, startMs = 1000): ScanResult {
  let t = startMs;
  for (const ch of text) {
    detector.feed(ch, t);
    t += gapMs;
  }
  return detector.feed("Enter", t);
}

describe("ScannerDetector", () => {
  it("recognises a code typed fast and closed with Enter", () => {
    const d = new ScannerDetector();
    expect(type(d, "4006381333931", 8)).toEqual({ kind: "scan", code: "4006381333931" });
  });

  it("never takes what is typed into a PIN or password field as a scan, however fast", () => {
    const d = new ScannerDetector();
    let t = 1000;
    for (const ch of "2468") {
      expect(d.feed(ch, t, true)).toEqual({ kind: "none" });
      t += 5;
    }
    expect(d.feed("Enter", t, true)).toEqual({ kind: "none" });
    // A scan right after it still counts, on its own.
    expect(type(d, "4006381333931", 8, t + 100)).toEqual({ kind: "scan", code: "4006381333931" });
  });

  it("ignores a person typing at human speed", () => {
    const d = new ScannerDetector();
    expect(type(d, "4006381333931", 120)).toEqual({ kind: "none" });
  });

  it("ignores a short fast burst such as a double key press", () => {
    const d = new ScannerDetector();
    expect(type(d, "ab", 5)).toEqual({ kind: "none" });
  });

  it("starts a new code after a pause, dropping slowly typed text before it", () => {
    const d = new ScannerDetector();
    d.feed("x", 0);
    d.feed("y", 200);
    expect(type(d, "12345678", 10, 1000)).toEqual({ kind: "scan", code: "12345678" });
  });

  it("treats a slow Enter after fast keys as the cashier's own Enter", () => {
    const d = new ScannerDetector();
    let t = 0;
    for (const ch of "12345678") d.feed(ch, (t += 10));
    expect(d.feed("Enter", t + 500)).toEqual({ kind: "none" });
  });

  it("lets Shift pass inside a scan (upper-case codes) but breaks on other keys", () => {
    const d = new ScannerDetector();
    const keys = ["Shift", "A", "B", "Shift", "C", "1", "2"];
    keys.forEach((k, i) => d.feed(k, i * 5));
    expect(d.feed("Enter", keys.length * 5)).toEqual({ kind: "scan", code: "ABC12" });

    d.feed("1", 1000);
    d.feed("2", 1005);
    d.feed("ArrowDown", 1010);
    d.feed("3", 1015);
    d.feed("4", 1020);
    expect(d.feed("Enter", 1025)).toEqual({ kind: "none" });
  });

  it("reports a burst in progress so the app can keep it out of text fields", () => {
    const d = new ScannerDetector();
    expect(d.feed("1", 0)).toEqual({ kind: "none" });
    expect(d.feed("2", 10)).toEqual({ kind: "burst", length: 2 });
  });

  it("honours a custom gap", () => {
    const d = new ScannerDetector({ maxGapMs: 60, minLength: 3 });
    expect(type(d, "ABC", 50)).toEqual({ kind: "scan", code: "ABC" });
  });

  it("recognises two scans one after the other", () => {
    const d = new ScannerDetector();
    expect(type(d, "11112222", 5, 0)).toEqual({ kind: "scan", code: "11112222" });
    expect(type(d, "33334444", 5, 100)).toEqual({ kind: "scan", code: "33334444" });
  });
});

describe("withoutScannedCode", () => {
  it("removes the code the scanner typed into a field", () => {
    expect(withoutScannedCode("milk4006381333931", "4006381333931")).toBe("milk");
    expect(withoutScannedCode("milk", "4006381333931")).toBe("milk");
  });
});
