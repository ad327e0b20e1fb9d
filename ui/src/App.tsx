import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, currencyOf, EngineError, onStatus, type CartView, type CashierView, type SessionInfo, type SyncStatus } from "./api";
import { Ctx, type AppContext } from "./context";
import { actionForKey, isReservedByApp, type Action, type Screen } from "./keymap";
import { ScannerDetector, withoutScannedCode } from "./scanner";
import { StatusBar } from "./components/StatusBar";
import { FirstStart } from "./screens/FirstStart";
import { Sell } from "./screens/Sell";
import { HeldCarts } from "./screens/HeldCarts";
import { SalesHistory } from "./screens/SalesHistory";
import { Customers } from "./screens/Customers";
import { SyncPanel } from "./screens/SyncPanel";
import { SettingsScreen } from "./screens/Settings";
import { ShiftScreen, type ShiftIntent } from "./screens/Shift";
import { CashierSwitchDialog } from "./components/CashierSwitch";

const NAV: ReadonlyArray<[Screen, string, string]> = [
  ["sell", "Sell", "F1"],
  ["held", "Held", "F5"],
  ["sales", "Sales", "F6"],
  ["customers", "Customers", "F7"],
  ["shift", "Shift", "F11"],
  ["sync", "Sync", "F9"],
  ["settings", "Settings", "F10"],
];

type Message = { text: string; kind: "error" | "info"; id: number };

function messageOf(e: unknown): string {
  if (e instanceof EngineError || e instanceof Error) return e.message;
  return String(e);
}

function isTextField(el: Element | null): el is HTMLInputElement | HTMLTextAreaElement {
  return el instanceof HTMLTextAreaElement || (el instanceof HTMLInputElement && el.type !== "checkbox" && el.type !== "radio");
}

/** Sets a React-controlled field's value as if the user had typed it. */
function replaceFieldValue(el: HTMLInputElement | HTMLTextAreaElement, value: string) {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, "value")?.set?.call(el, value);
  el.dispatchEvent(new Event("input", { bubbles: true }));
}

export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [cart, setCart] = useState<CartView | null>(null);
  const [screen, setScreen] = useState<Screen>("sell");
  const [message, setMessage] = useState<Message | null>(null);
  const actionHandler = useRef<((action: Action) => boolean) | null>(null);
  const [cashier, setCashier] = useState<CashierView | null>(null);
  const [switching, setSwitching] = useState(false);
  const [shiftIntent, setShiftIntent] = useState<ShiftIntent>(null);
  const [returnRequest, setReturnRequest] = useState(0);

  useEffect(() => {
    api.session().then(setSession, (e) => {
      setSession(null);
      setMessage({ text: messageOf(e), kind: "error", id: Date.now() });
    });
    api.status().then(setStatus, () => undefined);
    const unlisten = onStatus(setStatus);
    return () => {
      unlisten.then((f) => f());
    };
  }, []);

  useEffect(() => {
    if (session) api.cart().then(setCart, (e) => setMessage({ text: messageOf(e), kind: "error", id: Date.now() }));
    if (session) api.activeCashier().then(setCashier, () => setCashier(null));
  }, [session]);

  const setActionHandler = useCallback((h: ((action: Action) => boolean) | null) => {
    actionHandler.current = h;
  }, []);

  const notify = useCallback((m: unknown, kind: "error" | "info" = "error") => {
    setMessage({ text: messageOf(m), kind, id: Date.now() });
  }, []);

  useEffect(() => {
    if (!message) return;
    const timer = setTimeout(() => setMessage((m) => (m?.id === message.id ? null : m)), message.kind === "error" ? 8000 : 4000);
    return () => clearTimeout(timer);
  }, [message]);

  const addCode = useCallback(
    async (code: string) => {
      try {
        setCart(await api.cartAddCode(code, "1"));
        setScreen("sell");
      } catch (e) {
        notify(e);
      }
    },
    [notify],
  );

  // Scanner and function keys, wherever the focus is.
  const scanner = useMemo(() => new ScannerDetector(), []);
  useEffect(() => {
    if (!session) return;
    const onKey = (e: KeyboardEvent) => {
      const focused = document.activeElement;
      const secret = focused instanceof HTMLInputElement && focused.type === "password";
      const scan = scanner.feed(e.key, e.timeStamp, secret);
      if (scan.kind === "scan") {
        e.preventDefault();
        e.stopPropagation();
        const field = document.activeElement;
        if (isTextField(field)) replaceFieldValue(field, withoutScannedCode(field.value, scan.code));
        void addCode(scan.code);
        return;
      }
      const action = actionForKey({
        key: e.key,
        shiftKey: e.shiftKey,
        ctrlKey: e.ctrlKey,
        altKey: e.altKey,
        metaKey: e.metaKey,
        inTextField: isTextField(document.activeElement),
      });
      if (isReservedByApp(e.key)) e.preventDefault();
      if (!action) return;
      if (action.kind === "go") {
        e.preventDefault();
        setShiftIntent(null);
        setScreen(action.screen);
        return;
      }
      // The store operations around the sale.
      if (action.kind === "switchCashier") {
        e.preventDefault();
        setSwitching(true);
        return;
      }
      if (action.kind === "cashMovement" || action.kind === "noSale") {
        e.preventDefault();
        setShiftIntent(action.kind);
        setScreen("shift");
        return;
      }
      if (action.kind === "returnItems") {
        e.preventDefault();
        setReturnRequest((n) => n + 1);
        setScreen("sales");
        return;
      }
      if (actionHandler.current?.(action)) {
        e.preventDefault();
        return;
      }
      // Cart actions from another screen go back to selling.
      if (action.kind !== "cancel" && screen !== "sell") {
        e.preventDefault();
        setScreen("sell");
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [session, scanner, addCode, screen]);

  if (session === undefined) return <div className="splash">Starting…</div>;
  if (session === null) {
    return (
      <>
        <FirstStart onSignedIn={(s) => { setSession(s); setScreen("sell"); }} />
        {message && <div className={`message ${message.kind}`} role="alert">{message.text}</div>}
      </>
    );
  }

  const ctx: AppContext = {
    session,
    currency: currencyOf(session),
    status,
    cart,
    setCart,
    go: setScreen,
    notify,
    setActionHandler,
    addCode,
  };

  return (
    <Ctx.Provider value={ctx}>
      <div className="app">
        <nav className="topbar">
          <div className="brand">
            <strong>{session.business_name}</strong>
            <span>{session.user.name} · {session.device.name}</span>
          </div>
          <button className="cashier-button" onClick={() => setSwitching(true)} data-testid="active-cashier">
            {cashier ? cashier.name : session.user.name} <kbd>Shift+F1</kbd>
          </button>
          <div className="tabs" role="tablist">
            {NAV.map(([id, label, key]) => (
              <button key={id} role="tab" aria-selected={screen === id} className={screen === id ? "tab active" : "tab"} onClick={() => setScreen(id)} data-testid={`nav-${id}`}>
                <span>{label}</span>
                <kbd>{key}</kbd>
              </button>
            ))}
          </div>
        </nav>
        <main className="content">
          {screen === "sell" && <Sell />}
          {screen === "held" && <HeldCarts />}
          {screen === "sales" && <SalesHistory startReturn={returnRequest} />}
          {screen === "shift" && <ShiftScreen intent={shiftIntent} />}
          {screen === "customers" && <Customers />}
          {screen === "sync" && <SyncPanel />}
          {screen === "settings" && <SettingsScreen onSignedOut={() => { setSession(null); setCart(null); }} />}
        </main>
        {switching && <CashierSwitchDialog onClose={() => setSwitching(false)} onSwitched={setCashier} />}
        {message && <div className={`message ${message.kind}`} role="alert" data-testid="message" onClick={() => setMessage(null)}>{message.text}</div>}
        <StatusBar status={status} />
      </div>
    </Ctx.Provider>
  );
}
