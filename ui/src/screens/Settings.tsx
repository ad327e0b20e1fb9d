import { useState } from "react";
import { api } from "../api";
import { useApp } from "../context";
import { formatMoney } from "../money";
import { PrinterSettingsForm } from "./PrinterSettings";

export function SettingsScreen({ onSignedOut }: { onSignedOut: () => void }) {
  const { session, currency, status, notify } = useApp();
  const [busy, setBusy] = useState(false);
  const s = session.settings;

  async function signOut() {
    const pending = (status?.pending ?? 0) + (status?.failed ?? 0);
    const question =
      pending > 0
        ? `${pending} operations have not reached the server yet. They stay on this till and are sent after the next sign-in. Sign out?`
        : "Sign out of this till?";
    if (!window.confirm(question)) return;
    setBusy(true);
    try {
      const outcome = await api.logout();
      notify(
        outcome.queued_operations > 0
          ? `Signed out. ${outcome.queued_operations} operations are kept and will sync after the next sign-in.`
          : "Signed out.",
        "info",
      );
      onSignedOut();
    } catch (e) {
      notify(e);
    } finally {
      setBusy(false);
    }
  }

  const rows: Array<[string, string]> = [
    ["Business", session.business_name],
    ["Server", session.server_url],
    ["Signed in as", `${session.user.name} (${session.user.email}, ${session.user.role})`],
    ["This till", `${session.device.name} · ${session.device.short_code}`],
    ["Device id", session.device.id],
    ["Currency", s ? `${s.currency.code} (${formatMoney("1234.5", currency)})` : "not synced yet"],
    ["VAT", s ? (s.vat_enabled ? (s.vat_inclusive ? "on, prices include VAT" : "on, added to prices") : "off") : "—"],
    ["Invoice prefix", s?.invoice_prefix ?? "—"],
    ["Time zone", s?.timezone ?? "—"],
    ["Shifts required", s ? (s.shifts_required ? "yes" : "no") : "—"],
  ];

  return (
    <div className="page">
      <h1>Settings</h1>
      <table className="list kv">
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Business settings are managed on the server and arrive with every sync.</p>
      <PrinterSettingsForm />
      <button className="big danger" onClick={signOut} disabled={busy} data-testid="sign-out">
        Sign out
      </button>
    </div>
  );
}
