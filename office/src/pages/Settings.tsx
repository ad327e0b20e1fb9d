import { useState, type FormEvent } from "react";
import { parseAmountInput } from "@till/money";
import * as api from "../api";
import { ErrorMessage, Field, Loading, Notice, Select } from "../components/ui";
import { useOffice, type BusinessSettings } from "../context";
import { useAction } from "../hooks";

export function SettingsPage() {
  const { settings, reloadSettings } = useOffice();
  if (!settings) return <Loading what="the settings" />;
  return <SettingsForm key={settings.version} settings={settings} onSaved={reloadSettings} />;
}

function SettingsForm({ settings, onSaved }: { settings: BusinessSettings; onSaved: () => void }) {
  const [name, setName] = useState(settings.company_name);
  const [code, setCode] = useState(settings.currency.code);
  const [symbol, setSymbol] = useState(settings.currency.symbol);
  const [minorUnits, setMinorUnits] = useState(String(settings.currency.minor_units));
  const [position, setPosition] = useState(settings.currency_position);
  const [timezone, setTimezone] = useState(settings.timezone);
  const [prefix, setPrefix] = useState(settings.invoice_prefix);
  const [discount, setDiscount] = useState(settings.max_cashier_discount_percent === null ? "" : String(settings.max_cashier_discount_percent));
  const [saved, setSaved] = useState(false);
  const action = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const done = await action.run(() =>
      api.request(
        "PATCH",
        "/business-settings",
        {
          company_name: name.trim(),
          currency_code: code.trim(),
          currency_symbol: symbol.trim(),
          currency_minor_units: Number(minorUnits),
          currency_position: position,
          timezone: timezone.trim(),
          invoice_prefix: prefix.trim(),
          max_cashier_discount_percent: discount.trim() ? (parseAmountInput(discount, 2) ?? discount) : null,
        },
        { version: settings.version },
      ),
    );
    if (done !== undefined) {
      setSaved(true);
      onSaved();
    }
  }

  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      {saved && <Notice>Saved. Tills get the new settings at their next sync.</Notice>}
      <form className="panel" onSubmit={submit} aria-label="Business settings">
        <div className="grid">
          <Field label="Business name" value={name} onChange={setName} required />
          <Field label="Time zone" value={timezone} onChange={setTimezone} required hint="For example Europe/Berlin" />
          <Field label="Currency code" value={code} onChange={setCode} required />
          <Field label="Currency symbol" value={symbol} onChange={setSymbol} required />
          <Field label="Decimals" inputMode="numeric" value={minorUnits} onChange={setMinorUnits} />
          <Select
            label="Symbol position"
            value={position}
            onChange={setPosition}
            options={[
              { value: "before", label: "Before the amount" },
              { value: "after", label: "After the amount" },
            ]}
          />
          <Field label="Invoice prefix" value={prefix} onChange={setPrefix} />
          <Field
            label="Cashier discount limit (%)"
            inputMode="decimal"
            value={discount}
            onChange={setDiscount}
            hint="Above this a manager's PIN is needed; empty for no limit"
          />
        </div>
        <ErrorMessage error={action.error} />
        <button type="submit" className="primary" disabled={action.busy}>
          Save settings
        </button>
      </form>
      <p className="small muted">
        The address, receipt header and footer, tax registration and the lowest till version allowed are not yet kept by the
        server.
      </p>
    </section>
  );
}
