// A keyboard-wedge barcode scanner "types" its code much faster than a person, then presses
// Enter. The detector watches every key press with its time and recognises that pattern, so a
// scan adds the item wherever the focus is.

export interface ScannerOptions {
  /** Longest gap between two keys of one scan, in milliseconds. */
  maxGapMs: number;
  /** Shortest code taken as a scan (shorter bursts are a person's fast typing). */
  minLength: number;
}

// Scanners send a key every few ms; a busy till can deliver them up to a few tens of ms apart.
// People type 80 ms or more apart, so 50 ms keeps the two apart.
export const DEFAULT_SCANNER_OPTIONS: ScannerOptions = { maxGapMs: 50, minLength: 4 };

export type ScanResult =
  /** Nothing recognised (yet). */
  | { kind: "none" }
  /** This key continues a fast burst: it belongs to a scan in progress. */
  | { kind: "burst"; length: number }
  /** Enter closed a fast burst: `code` was scanned. */
  | { kind: "scan"; code: string };

export class ScannerDetector {
  private buffer = "";
  private lastKeyAt = Number.NEGATIVE_INFINITY;
  private readonly options: ScannerOptions;

  constructor(options: Partial<ScannerOptions> = {}) {
    this.options = { ...DEFAULT_SCANNER_OPTIONS, ...options };
  }

  /** Feeds one key (a KeyboardEvent's `key`) pressed at `atMs`. A key typed into a secret
   * field (a PIN or password) is never part of a scan: typed fast, it must still reach its
   * field, and a secret must never be looked up, nor shown, as a product code. */
  feed(key: string, atMs: number, intoSecretField = false): ScanResult {
    if (intoSecretField) {
      this.reset();
      return { kind: "none" };
    }
    const fast = atMs - this.lastKeyAt <= this.options.maxGapMs;
    this.lastKeyAt = atMs;
    if (key === "Enter") {
      const code = this.buffer;
      this.buffer = "";
      return fast && code.length >= this.options.minLength
        ? { kind: "scan", code }
        : { kind: "none" };
    }
    if (key.length !== 1) {
      // Shift and other modifiers come between characters of a scan; anything else breaks it.
      if (key !== "Shift") this.buffer = "";
      return { kind: "none" };
    }
    this.buffer = fast ? this.buffer + key : key;
    return this.buffer.length > 1 ? { kind: "burst", length: this.buffer.length } : { kind: "none" };
  }

  reset(): void {
    this.buffer = "";
    this.lastKeyAt = Number.NEGATIVE_INFINITY;
  }
}

/** After a scan, the focused text field has received the code as typed text; this removes it
 * again, returning the field's value without the scanned code at its end. */
export function withoutScannedCode(value: string, code: string): string {
  return value.endsWith(code) ? value.slice(0, value.length - code.length) : value;
}
