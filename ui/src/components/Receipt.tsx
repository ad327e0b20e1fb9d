import type { SaleDetail } from "../api";
import { formatTime, SYNC_STATE_LABEL } from "../format";
import { formatMoney, formatQuantity, isZero, type CurrencyFormat } from "../money";

/** An 80 mm receipt. The same markup prints through the system print dialog (see styles.css). */
export function Receipt({ sale, currency, copy }: { sale: SaleDetail; currency: CurrencyFormat; copy?: boolean }) {
  const money = (a: SaleDetail["total"]) => formatMoney(a, currency);
  return (
    <div className="receipt" data-testid="receipt">
      <h3>{sale.business_name}</h3>
      {copy && <p className="center strong">COPY</p>}
      <p className="center">
        {sale.invoice_number ? `Invoice ${sale.invoice_number}` : null}
        {sale.invoice_number ? <br /> : null}
        <span data-testid="receipt-number">{sale.offline_invoice_no}</span>
        <br />
        {formatTime(sale.sale_date)}
        {sale.cashier_name ? <><br />Cashier: {sale.cashier_name}</> : null}
      </p>
      {sale.customer && <p>Customer: {sale.customer.name}</p>}
      <table>
        <tbody>
          {sale.lines.map((l) => (
            <tr key={l.line_no}>
              <td>
                {l.name}
                <br />
                <span className="muted">
                  {formatQuantity(l.quantity)} × {money(l.unit_price)}
                  {!isZero(l.discount) && ` − ${money(l.discount)}`}
                </span>
              </td>
              <td className="num">{money(l.total)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="totals">
        <tbody>
          <tr><td>Subtotal</td><td className="num">{money(sale.subtotal)}</td></tr>
          {!isZero(sale.line_discount) && <tr><td>Line discounts</td><td className="num">−{money(sale.line_discount)}</td></tr>}
          {!isZero(sale.cart_discount) && <tr><td>Discount</td><td className="num">−{money(sale.cart_discount)}</td></tr>}
          <tr><td>VAT{sale.vat_inclusive ? " (included)" : ""}</td><td className="num">{money(sale.vat_amount)}</td></tr>
          <tr className="grand"><td>Total</td><td className="num" data-testid="receipt-total">{money(sale.total)}</td></tr>
          <tr><td>{sale.payment_type_name}</td><td className="num">{money(sale.tendered)}</td></tr>
          {!isZero(sale.change) && <tr><td>Change</td><td className="num">{money(sale.change)}</td></tr>}
          {!isZero(sale.due) && <tr className="strong"><td>Due</td><td className="num">{money(sale.due)}</td></tr>}
        </tbody>
      </table>
      <p className="center muted small">{SYNC_STATE_LABEL[sale.sync_state]} · {sale.client_reference.slice(0, 8)}</p>
      <p className="center">Thank you!</p>
    </div>
  );
}
