import { useEffect, useState, type FormEvent } from "react";
import { api, type PrinterKind, type PrinterSettings } from "../api";
import { useApp } from "../context";

const TARGET_LABEL: Record<PrinterKind, string> = {
  none: "",
  network: "Printer address (host or IP)",
  windows: "Windows printer name",
  cups: "CUPS queue name",
};

/** The receipt printer of this till, and a test print. */
export function PrinterSettingsForm() {
  const { notify } = useApp();
  const [settings, setSettings] = useState<PrinterSettings | null>(null);
  useEffect(() => {
    api.printerSettings().then(setSettings, notify);
  }, [notify]);
  if (!settings) return null;
  const set = (change: Partial<PrinterSettings>) => setSettings({ ...settings, ...change });

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!settings) return;
    try {
      setSettings(await api.setPrinterSettings({ ...settings, target: settings.target?.trim() || null }));
      notify("Printer saved", "info");
    } catch (err) {
      notify(err);
    }
  }

  async function test() {
    try {
      const outcome = await api.printTestPage();
      notify(`Test page sent (${outcome.bytes} bytes)`, "info");
    } catch (err) {
      notify(err);
    }
  }

  return (
    <form className="printer-form" onSubmit={save} data-testid="printer-form">
      <h2>Receipt printer</h2>
      <label>
        Printer
        <select value={settings.kind} onChange={(e) => set({ kind: e.target.value as PrinterKind })} data-testid="printer-kind">
          <option value="none">None (system print dialog)</option>
          <option value="network">Network (raw TCP)</option>
          <option value="windows">Windows printer</option>
          <option value="cups">CUPS queue</option>
        </select>
      </label>
      {settings.kind !== "none" && (
        <label>
          {TARGET_LABEL[settings.kind]}
          <input value={settings.target ?? ""} onChange={(e) => set({ target: e.target.value })} data-testid="printer-target" />
        </label>
      )}
      {settings.kind === "network" && (
        <label>
          Port
          <input inputMode="numeric" value={settings.port} onChange={(e) => set({ port: Number(e.target.value) || 0 })} data-testid="printer-port" />
        </label>
      )}
      <label>
        Paper
        <select value={settings.paper} onChange={(e) => set({ paper: e.target.value as PrinterSettings["paper"] })}>
          <option value="80mm">80 mm (48 columns)</option>
          <option value="58mm">58 mm (32 columns)</option>
        </select>
      </label>
      <label className="check">
        <input type="checkbox" checked={settings.auto_print} onChange={(e) => set({ auto_print: e.target.checked })} /> Print the receipt after each sale
      </label>
      <label className="check">
        <input type="checkbox" checked={settings.drawer} onChange={(e) => set({ drawer: e.target.checked })} /> A cash drawer hangs on this printer
      </label>
      <div className="dialog-actions">
        <button type="button" className="big" onClick={() => void test()} disabled={settings.kind === "none"} data-testid="printer-test">Test print</button>
        <button type="submit" className="big primary" data-testid="printer-save">Save printer</button>
      </div>
    </form>
  );
}
