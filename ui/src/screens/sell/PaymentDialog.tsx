import { useEffect, useState, type FormEvent } from "react";
import { api, type CartView, type CompletedSale, type PaymentTypeView } from "../../api";
import { Dialog } from "../../components/Dialog";
import { useApp } from "../../context";
import { formatMoney, parseAmountInput } from "../../money";

/** Payment: pick how the customer pays and what they handed over. The engine settles the sale
 * (paid, change, due); an amount below the total leaves a due on the chosen customer. */
export function PaymentDialog(props: { cart: CartView; onClose: () => void; onCompleted: (sale: CompletedSale) => void }) {
  const { currency, notify } = useApp();
  const [types, setTypes] = useState<PaymentTypeView[]>([]);
  const [typeId, setTypeId] = useState<number | null>(null);
  const [tendered, setTendered] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.paymentTypes().then((ts) => {
      setTypes(ts);
      setTypeId((id) => id ?? ts.find((t) => !t.is_credit)?.id ?? ts[0]?.id ?? null);
    }, notify);
  }, [notify]);

  const chosen = types.find((t) => t.id === typeId);

  async function submit(e?: FormEvent) {
    e?.preventDefault();
    const text = tendered.trim();
    const amount = text === "" ? null : parseAmountInput(text, currency.minorUnits);
    if (text !== "" && amount === null) {
      setError(`"${text}" is not an amount with at most ${currency.minorUnits} decimals.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      props.onCompleted(await api.completeSale({ payment_type_id: typeId, tendered: amount }));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Payment" onClose={props.onClose} testId="payment-dialog">
      <form onSubmit={submit} className="payment">
        <div className="due-now">
          <span>To pay</span>
          <strong data-testid="payment-total">{formatMoney(props.cart.total, currency)}</strong>
        </div>
        <div className="payment-types">
          {types.map((t) => (
            <button type="button" key={t.id} className={t.id === typeId ? "tile active" : "tile"} onClick={() => setTypeId(t.id)} data-testid={`payment-type-${t.name}`}>
              {t.name}
              {t.is_credit && <span className="muted small"> (on account)</span>}
            </button>
          ))}
        </div>
        {!chosen?.is_credit && (
          <label>
            Amount received <span className="muted">(empty: exactly the total)</span>
            <input
              autoFocus
              inputMode="decimal"
              value={tendered}
              onChange={(e) => setTendered(e.target.value)}
              placeholder={formatMoney(props.cart.total, currency)}
              data-testid="tendered"
            />
          </label>
        )}
        <p className="muted small">
          Less than the total leaves the rest as the customer's due
          {props.cart.customer ? ` (${props.cart.customer.name})` : " — pick a customer first (F8)"}.
        </p>
        {error && <p className="error" role="alert" data-testid="payment-error">{error}</p>}
        <div className="dialog-actions">
          <button type="button" className="big" onClick={props.onClose}>Back <kbd>Esc</kbd></button>
          <button type="submit" className="big primary" disabled={busy} data-testid="complete-sale">
            Complete sale <kbd>Enter</kbd>
          </button>
        </div>
      </form>
    </Dialog>
  );
}
