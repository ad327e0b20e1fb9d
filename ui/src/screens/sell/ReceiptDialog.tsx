import { useEffect, useRef, useState } from "react";
import { api, type CompletedSale } from "../../api";
import { Dialog } from "../../components/Dialog";
import { Receipt } from "../../components/Receipt";
import { useApp } from "../../context";
import { formatMoney, isZero } from "../../money";

/** After a sale: the change to hand back, the receipt, print. Enter starts the next sale. */
export function ReceiptDialog({ sale, onClose }: { sale: CompletedSale; onClose: () => void }) {
  const { currency, notify } = useApp();
  const next = useRef<HTMLButtonElement>(null);
  // With a receipt printer the receipt prints (and a cash sale opens the drawer) at once;
  // without one, Print goes through the system dialog.
  const [printer, setPrinter] = useState(false);
  useEffect(() => next.current?.focus(), []);
  useEffect(() => {
    api.printAfterSale(sale).then((outcome) => setPrinter(outcome !== null), (e) => {
      setPrinter(true);
      notify(e);
    });
  }, [sale, notify]);
  async function print() {
    if (!printer) window.print();
    else await api.printSale(sale.offline_invoice_no, true).catch(notify);
  }
  return (
    <Dialog title="Sale complete" onClose={onClose} testId="receipt-dialog" wide>
      <div className="sale-done">
        <div className="change">
          {isZero(sale.due) ? (
            <>
              <span>Change</span>
              <strong data-testid="change">{formatMoney(sale.change, currency)}</strong>
            </>
          ) : (
            <>
              <span>Left as due</span>
              <strong data-testid="due">{formatMoney(sale.due, currency)}</strong>
            </>
          )}
          <span className="muted" data-testid="offline-invoice">{sale.offline_invoice_no}</span>
        </div>
        <div className="receipt-preview print-area">
          <Receipt sale={sale.receipt} currency={currency} />
        </div>
      </div>
      <div className="dialog-actions">
        <button className="big" onClick={() => void print()} data-testid="print">{printer ? "Print copy" : "Print"}</button>
        <button ref={next} className="big primary" onClick={onClose} data-testid="next-sale">New sale <kbd>Enter</kbd></button>
      </div>
    </Dialog>
  );
}
