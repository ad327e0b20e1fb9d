import { describe, expect, it } from "vitest";
import { actionForKey, isReservedByApp, KEY_HELP } from "./keymap";

describe("actionForKey", () => {
  it("maps the cashier's function keys", () => {
    expect(actionForKey({ key: "F2" })).toEqual({ kind: "focusSearch" });
    expect(actionForKey({ key: "F4" })).toEqual({ kind: "hold" });
    expect(actionForKey({ key: "F8" })).toEqual({ kind: "pickCustomer" });
    expect(actionForKey({ key: "F12" })).toEqual({ kind: "pay" });
    expect(actionForKey({ key: "Escape" })).toEqual({ kind: "cancel" });
    expect(actionForKey({ key: "F9" })).toEqual({ kind: "go", screen: "sync" });
  });

  it("keeps function keys working while typing in a field", () => {
    expect(actionForKey({ key: "F12", inTextField: true })).toEqual({ kind: "pay" });
    expect(actionForKey({ key: "Escape", inTextField: true })).toEqual({ kind: "cancel" });
  });

  it("leaves editing keys to a focused text field", () => {
    expect(actionForKey({ key: "Delete", inTextField: true })).toBeNull();
    expect(actionForKey({ key: "+", inTextField: true })).toBeNull();
    expect(actionForKey({ key: "ArrowDown", inTextField: true })).toBeNull();
  });

  it("edits the cart with keys outside text fields", () => {
    expect(actionForKey({ key: "Delete" })).toEqual({ kind: "voidLine" });
    expect(actionForKey({ key: "+" })).toEqual({ kind: "quantityUp" });
    expect(actionForKey({ key: "-" })).toEqual({ kind: "quantityDown" });
    expect(actionForKey({ key: "ArrowUp" })).toEqual({ kind: "selectLine", delta: -1 });
  });

  it("ignores combinations that belong to the system", () => {
    expect(actionForKey({ key: "F4", altKey: true })).toBeNull();
    expect(actionForKey({ key: "F2", ctrlKey: true })).toBeNull();
    expect(actionForKey({ key: "a" })).toBeNull();
  });

  it("documents every key it maps", () => {
    for (const [key] of KEY_HELP) {
      const shiftKey = key.startsWith("Shift+");
      const name = key === "Esc" ? "Escape" : key.replace("Shift+", "");
      expect(actionForKey({ key: name, shiftKey }), key).not.toBeNull();
    }
  });

  it("maps Shift + function keys to the store operations", () => {
    expect(actionForKey({ key: "F11" })).toEqual({ kind: "go", screen: "shift" });
    expect(actionForKey({ key: "F1", shiftKey: true })).toEqual({ kind: "switchCashier" });
    expect(actionForKey({ key: "F6", shiftKey: true })).toEqual({ kind: "returnItems" });
    expect(actionForKey({ key: "F9", shiftKey: true, inTextField: true })).toEqual({ kind: "noSale" });
    expect(actionForKey({ key: "F11", shiftKey: true })).toEqual({ kind: "cashMovement" });
    // A shifted key with no operation does nothing rather than its plain meaning.
    expect(actionForKey({ key: "F12", shiftKey: true })).toBeNull();
    expect(actionForKey({ key: "F1", shiftKey: true, ctrlKey: true })).toBeNull();
  });
});

describe("isReservedByApp", () => {
  it("claims F1–F12 so the webview does not reload or search", () => {
    expect(isReservedByApp("F5")).toBe(true);
    expect(isReservedByApp("F12")).toBe(true);
    expect(isReservedByApp("F13")).toBe(false);
    expect(isReservedByApp("Enter")).toBe(false);
  });
});
