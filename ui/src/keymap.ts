// Function keys for what a cashier does most, the same on every screen.

export type Screen = "sell" | "held" | "sales" | "customers" | "shift" | "sync" | "settings";

export type Action =
  | { kind: "focusSearch" }
  | { kind: "discount" }
  | { kind: "hold" }
  | { kind: "pickCustomer" }
  | { kind: "pay" }
  | { kind: "cancel" }
  | { kind: "voidLine" }
  | { kind: "quantityUp" }
  | { kind: "quantityDown" }
  | { kind: "selectLine"; delta: 1 | -1 }
  | { kind: "switchCashier" }
  | { kind: "returnItems" }
  | { kind: "cashMovement" }
  | { kind: "noSale" }
  | { kind: "go"; screen: Screen };

export interface KeyPress {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  altKey?: boolean;
  metaKey?: boolean;
  /** The focus is in a text field (arrows, +, - and Delete then belong to the field). */
  inTextField?: boolean;
}

/** The keys shown in the help bar, in order. */
export const KEY_HELP: ReadonlyArray<[string, string]> = [
  ["F1", "Sell"],
  ["F2", "Search"],
  ["F3", "Discount"],
  ["F4", "Hold"],
  ["F5", "Held carts"],
  ["F6", "Sales"],
  ["F7", "Customers"],
  ["F8", "Customer"],
  ["F9", "Sync"],
  ["F10", "Settings"],
  ["F11", "Shift"],
  ["F12", "Pay"],
  ["Shift+F1", "Cashier"],
  ["Shift+F6", "Return"],
  ["Shift+F9", "Open drawer"],
  ["Shift+F11", "Pay in/out"],
  ["Esc", "Cancel"],
];

const FUNCTION_KEYS: Record<string, Action> = {
  F1: { kind: "go", screen: "sell" },
  F2: { kind: "focusSearch" },
  F3: { kind: "discount" },
  F4: { kind: "hold" },
  F5: { kind: "go", screen: "held" },
  F6: { kind: "go", screen: "sales" },
  F7: { kind: "go", screen: "customers" },
  F8: { kind: "pickCustomer" },
  F9: { kind: "go", screen: "sync" },
  F10: { kind: "go", screen: "settings" },
  F11: { kind: "go", screen: "shift" },
  F12: { kind: "pay" },
  Escape: { kind: "cancel" },
};

/** Shift + a function key: the store operations around the sale. */
const SHIFTED_FUNCTION_KEYS: Record<string, Action> = {
  F1: { kind: "switchCashier" },
  F6: { kind: "returnItems" },
  F9: { kind: "noSale" },
  F11: { kind: "cashMovement" },
};

/** The action for a key press on the selling screen's cart, or null when the key is not ours. */
export function actionForKey(press: KeyPress): Action | null {
  if (press.altKey || press.metaKey) return null;
  if (press.shiftKey && /^F\d+$/.test(press.key)) {
    return press.ctrlKey ? null : (SHIFTED_FUNCTION_KEYS[press.key] ?? null);
  }
  const fn = FUNCTION_KEYS[press.key];
  if (fn) return press.ctrlKey ? null : fn;
  if (press.inTextField || press.ctrlKey) return null;
  switch (press.key) {
    case "Delete":
      return { kind: "voidLine" };
    case "+":
      return { kind: "quantityUp" };
    case "-":
      return { kind: "quantityDown" };
    case "ArrowDown":
      return { kind: "selectLine", delta: 1 };
    case "ArrowUp":
      return { kind: "selectLine", delta: -1 };
    default:
      return null;
  }
}

/** True for keys the webview would otherwise act on itself (reload, find, caret browsing). */
export function isReservedByApp(key: string): boolean {
  return /^F([1-9]|1[0-2])$/.test(key);
}
