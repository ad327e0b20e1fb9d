import { useEffect, useRef } from "react";
import type { CompletedSale } from "../../api";
import { Dialog } from "../../components/Dialog";
import { Receipt } from "../../components/Receipt";
import { useApp } from "../../context";
import { formatMoney, isZero } from "../../money";

/** After a sale: the change to hand back, the receipt, print. Enter starts the next sale. */
export function ReceiptDialog({ sale, onClose }: { sale: CompletedSale; onClose: () => void }) {
  const { currency } = useApp();
  const next = useRef<HTMLButtonElement>(null);
  useEffect(() => next.current?.focus(), []);
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
        <button className="big" onClick={() => window.print()} data-testid="print">Print</button>
        <button ref={next} className="big primary" onClick={onClose} data-testid="next-sale">New sale <kbd>Enter</kbd></button>
      </div>
    </Dialog>
  );
}
