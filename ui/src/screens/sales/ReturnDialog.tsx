import { useEffect, useState, type FormEvent } from "react";
import { api, type PaymentTypeView, type SaleDetail } from "../../api";
import { Dialog } from "../../components/Dialog";
import { useManagerGate } from "../../components/ManagerPin";
import { useApp } from "../../context";
import { formatMoney, formatQuantity, isZero } from "../../money";
import { refundFrom, returnLinesFrom } from "../../storeops";

/** Items of a sale back: a quantity per line, the refund in cash, by payment type or off the
 * customer's due. A cashier needs a manager's PIN. */
export function ReturnDialog({ sale, onClose, onReturned }: { sale: SaleDetail; onClose: () => void; onReturned: () => void }) {
  const { currency, notify } = useApp();
  const [picked, setPicked] = useState<Record<number, string>>({});
  const [refund, setRefund] = useState("cash");
  const [types, setTypes] = useState<PaymentTypeView[]>([]);
  const gate = useManagerGate();
  useEffect(() => {
    api.paymentTypes().then(setTypes, notify);
  }, [notify]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const read = returnLinesFrom(picked);
    if ("error" in read) {
      notify(read.error);
      return;
    }
    await gate.run("A return", async () => {
      const done = await api.returnSale(sale.offline_invoice_no, read.lines, refundFrom(refund));
      if (done.refund_is_cash) {
        await api.kickDrawer("cash_refund").catch(notify);
      }
      notify(`Refund ${formatMoney(done.refund_amount, currency)} (${done.refund_method.replace("_", " ")})`, "info");
      onReturned();
    });
  }

  return (
    <Dialog title={`Return on ${sale.offline_invoice_no}`} onClose={onClose} wide testId="return-dialog">
      <form onSubmit={submit}>
        <table className="list return-lines">
          <thead>
            <tr>
              <th>Item</th>
              <th className="num">Sold</th>
              <th className="num">Returned</th>
              <th className="num">Line total</th>
              <th>Return</th>
            </tr>
          </thead>
          <tbody>
            {sale.lines.map((l) => (
              <tr key={l.line_no}>
                <td>{l.name}</td>
                <td className="num">{formatQuantity(l.quantity)}</td>
                <td className="num">{isZero(l.returned) ? "" : formatQuantity(l.returned)}</td>
                <td className="num">{formatMoney(l.total, currency)}</td>
                <td>
                  <input
                    inputMode="decimal"
                    value={picked[l.line_no] ?? ""}
                    onChange={(e) => setPicked({ ...picked, [l.line_no]: e.target.value })}
                    data-testid={`return-qty-${l.line_no}`}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <label>
          Refund
          <select value={refund} onChange={(e) => setRefund(e.target.value)} data-testid="refund-method">
            <option value="cash">Cash from the drawer</option>
            {sale.customer && <option value="due">Off the customer's due</option>}
            {types.map((t) => (
              <option key={t.id} value={`pt:${t.id}`}>{t.name}</option>
            ))}
          </select>
        </label>
        <div className="dialog-actions">
          <button type="button" className="big" onClick={onClose}>Back <kbd>Esc</kbd></button>
          <button type="submit" className="big primary" data-testid="return-submit">Return items</button>
        </div>
      </form>
      {gate.dialog}
    </Dialog>
  );
}
