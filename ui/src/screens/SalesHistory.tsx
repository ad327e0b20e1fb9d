import { useCallback, useEffect, useRef, useState } from "react";
import { api, type SaleDetail, type SaleSummary, type Warning } from "../api";
import { Dialog } from "../components/Dialog";
import { Receipt } from "../components/Receipt";
import { SyncBadge } from "../components/SyncBadge";
import { useApp, useCancel } from "../context";
import { formatTime } from "../format";
import { formatMoney, formatQuantity, isZero } from "../money";
import { ReturnDialog } from "./sales/ReturnDialog";

function warningText(w: Warning): string {
  if (w.type === "stock_discrepancy") {
    const short = w as Extract<Warning, { type: "stock_discrepancy"; available: unknown }>;
    return `Stock short: sold ${formatQuantity(short.expected)}, the server had ${formatQuantity(short.available)}`;
  }
  if (w.type === "totals_mismatch") return "The server priced this sale differently";
  if (w.type === "overpayment") return "Paid more than was due; the rest is an advance";
  return w.type.replace(/_/g, " ");
}

/** Prints a copy on the receipt printer, or through the system dialog when there is none. */
async function printCopy(sale: SaleDetail) {
  const settings = await api.printerSettings();
  if (settings.kind === "none") window.print();
  else await api.printSale(sale.offline_invoice_no, true);
}

export function SalesHistory({ startReturn }: { startReturn?: number }) {
  const { currency, notify, status } = useApp();
  const [sales, setSales] = useState<SaleSummary[]>([]);
  const [open, setOpen] = useState<SaleDetail | null>(null);
  const [returning, setReturning] = useState(false);
  useCancel(useCallback(() => (returning ? setReturning(false) : setOpen(null)), [returning]));

  // Shift+F6 with a sale open starts its return; a press with none open is spent, not kept.
  const handledReturn = useRef(startReturn);
  useEffect(() => {
    if (startReturn === handledReturn.current) return;
    handledReturn.current = startReturn;
    if (open) setReturning(true);
  }, [startReturn, open]);

  // Reload when the sync state changes, so confirmations show up by themselves.
  useEffect(() => {
    api.sales(200).then(setSales, notify);
  }, [notify, status?.pending, status?.failed, status?.last_sync_at]);

  return (
    <div className="page">
      <h1>Sales</h1>
      <table className="list" data-testid="sales-table">
        <thead>
          <tr>
            <th>Time</th>
            <th>Receipt</th>
            <th>Invoice</th>
            <th>Customer</th>
            <th className="num">Total</th>
            <th className="num">Due</th>
            <th>Sync</th>
          </tr>
        </thead>
        <tbody>
          {sales.map((s) => (
            <tr key={s.local_id} onClick={() => api.sale(s.local_id).then(setOpen, notify)} className="clickable" data-testid="sale-row">
              <td>{formatTime(s.sale_date)}</td>
              <td>{s.offline_invoice_no}</td>
              <td>{s.invoice_number ?? "—"}</td>
              <td>{s.customer_name ?? ""}</td>
              <td className="num">{formatMoney(s.total, currency)}</td>
              <td className="num">{isZero(s.due) ? "" : formatMoney(s.due, currency)}</td>
              <td>
                <SyncBadge state={s.sync_state} />
                {s.sync_error && <div className="error small">{s.sync_error}</div>}
                {s.warnings.map((w, i) => (
                  <div key={i} className="warning small">{warningText(w)}</div>
                ))}
              </td>
            </tr>
          ))}
          {sales.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">No sales on this till yet.</td>
            </tr>
          )}
        </tbody>
      </table>
      {open && (
        <Dialog title={open.offline_invoice_no} onClose={() => setOpen(null)} wide>
          <div className="receipt-preview print-area">
            <Receipt sale={open} currency={currency} copy />
          </div>
          <div className="dialog-actions">
            <button className="big" onClick={() => setOpen(null)}>Close <kbd>Esc</kbd></button>
            <button className="big" onClick={() => setReturning(true)} data-testid="start-return">Return items <kbd>Shift+F6</kbd></button>
            <button className="big primary" onClick={() => printCopy(open).catch(notify)} data-testid="print-copy">Print copy</button>
          </div>
        </Dialog>
      )}
      {open && returning && (
        <ReturnDialog
          sale={open}
          onClose={() => setReturning(false)}
          onReturned={() => {
            setReturning(false);
            api.sale(open.local_id).then(setOpen, notify);
            api.sales(200).then(setSales, notify);
          }}
        />
      )}
    </div>
  );
}
