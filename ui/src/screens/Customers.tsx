import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, partyRefText, type PartyView, type PaymentTypeView } from "../api";
import { Dialog } from "../components/Dialog";
import { NewCustomerForm } from "../components/NewCustomerForm";
import { useApp, useCancel } from "../context";
import { formatMoney, isNegative, isZero, parseAmountInput } from "../money";

export function Customers() {
  const { currency, notify } = useApp();
  const [search, setSearch] = useState("");
  const [found, setFound] = useState<PartyView[]>([]);
  const [collecting, setCollecting] = useState<PartyView | null>(null);
  const [reload, setReload] = useState(0);
  useCancel(useCallback(() => setCollecting(null), []));

  useEffect(() => {
    const timer = setTimeout(() => api.customers(search.trim()).then(setFound, notify), 120);
    return () => clearTimeout(timer);
  }, [search, notify, reload]);

  return (
    <div className="page">
      <h1>Customers</h1>
      <input className="search" autoFocus placeholder="Search name or phone" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search customers" />
      <table className="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Phone</th>
            <th>Type</th>
            <th className="num">Due</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {found.map((p) => (
            <tr key={partyRefText(p.party_ref)}>
              <td>
                {p.name}
                {p.id === null && <span className="badge state-queued">new, not synced</span>}
              </td>
              <td>{p.phone ?? ""}</td>
              <td>{p.type}</td>
              <td className={isNegative(p.due) ? "num muted" : "num"}>{formatMoney(p.due, currency)}</td>
              <td>
                <button disabled={isZero(p.due) || isNegative(p.due)} onClick={() => setCollecting(p)}>Collect due</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <NewCustomerForm onCreated={(p) => { notify(`${p.name} added.`, "info"); setReload((r) => r + 1); }} />
      {collecting && (
        <CollectDueDialog party={collecting} onClose={() => setCollecting(null)} onDone={() => { setCollecting(null); setReload((r) => r + 1); }} />
      )}
    </div>
  );
}

function CollectDueDialog(props: { party: PartyView; onClose: () => void; onDone: () => void }) {
  const { currency, notify } = useApp();
  const [amount, setAmount] = useState("");
  const [note, setNote] = useState("");
  const [types, setTypes] = useState<PaymentTypeView[]>([]);
  const [typeId, setTypeId] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.paymentTypes().then((ts) => {
      const usable = ts.filter((t) => !t.is_credit);
      setTypes(usable);
      setTypeId(usable[0]?.id ?? null);
    }, notify);
  }, [notify]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const value = parseAmountInput(amount, currency.minorUnits);
    if (!value || isZero(value)) {
      setError(`Enter the amount received, with at most ${currency.minorUnits} decimals.`);
      return;
    }
    try {
      await api.collectDue(props.party.party_ref, value, typeId, note.trim() || null);
      notify(`Collected ${formatMoney(value, currency)} from ${props.party.name}.`, "info");
      props.onDone();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <Dialog title={`Collect due from ${props.party.name}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <p>
          Owes <strong>{formatMoney(props.party.due, currency)}</strong>
        </p>
        <div className="payment-types">
          {types.map((t) => (
            <button type="button" key={t.id} className={t.id === typeId ? "tile active" : "tile"} onClick={() => setTypeId(t.id)}>
              {t.name}
            </button>
          ))}
        </div>
        <label>
          Amount received
          <input autoFocus inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
        </label>
        <label>
          Note
          <input value={note} onChange={(e) => setNote(e.target.value)} />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <div className="dialog-actions">
          <button type="button" className="big" onClick={props.onClose}>Back <kbd>Esc</kbd></button>
          <button type="submit" className="big primary">Collect</button>
        </div>
      </form>
    </Dialog>
  );
}
