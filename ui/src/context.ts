import { createContext, useContext, useEffect } from "react";
import type { CartView, SessionInfo, SyncStatus } from "./api";
import type { Action, Screen } from "./keymap";
import type { CurrencyFormat } from "./money";

export interface AppContext {
  session: SessionInfo;
  currency: CurrencyFormat;
  status: SyncStatus | null;
  cart: CartView | null;
  setCart: (cart: CartView) => void;
  go: (screen: Screen) => void;
  /** Shows an error (an EngineError's message) or a notice in the message strip. */
  notify: (message: unknown, kind?: "error" | "info") => void;
  /** The current screen registers here for function-key actions it handles. */
  setActionHandler: (handler: ((action: Action) => boolean) | null) => void;
  /** Adds a scanned or typed code to the cart. */
  addCode: (code: string) => Promise<void>;
}

export const Ctx = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("useApp outside the app");
  return ctx;
}

/** Lets Esc close whatever `onCancel` closes on screens other than selling. */
export function useCancel(onCancel: (() => void) | null): void {
  const { setActionHandler } = useApp();
  useEffect(() => {
    if (!onCancel) return;
    setActionHandler((action) => {
      if (action.kind !== "cancel") return false;
      onCancel();
      return true;
    });
    return () => setActionHandler(null);
  }, [onCancel, setActionHandler]);
}
