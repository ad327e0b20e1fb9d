import type { ShiftReport } from "../api";
import { formatTime } from "../format";
import { formatMoney, isZero, type CurrencyFormat } from "../money";
import { differenceLabel } from "../storeops";

/** The X report (shift open) or Z report (closed); prints through the system dialog too. */
export function ShiftReportView({ report, currency }: { report: ShiftReport; currency: CurrencyFormat }) {
  const money = (a: ShiftReport["expected_cash"]) => formatMoney(a, currency);
  /** Cash that left the drawer, shown as taken off (nothing taken reads as a plain zero). */
  const takenOut = (a: ShiftReport["expected_cash"]) => (isZero(a) ? money(a) : `−${money(a)}`);
  const z = report.kind === "z";
  return (
    <div className="receipt shift-report" data-testid={z ? "z-report" : "x-report"}>
      <h3>{z ? "Z report — shift closed" : "X report — shift open"}</h3>
      <p className="center">
        Shift {report.shift_local_id}
        {report.cashier_name ? ` · ${report.cashier_name}` : ""}
        <br />
        {formatTime(report.opened_at)}
        {report.closed_at ? ` – ${formatTime(report.closed_at)}` : ""}
      </p>
      <table className="totals">
        <tbody>
          <tr><td>Sales ({report.sales_count})</td><td className="num">{money(report.sales_total)}</td></tr>
          <tr><td>Discounts</td><td className="num">{money(report.discounts)}</td></tr>
          <tr><td>VAT</td><td className="num">{money(report.vat)}</td></tr>
          <tr><td>Left due</td><td className="num">{money(report.due)}</td></tr>
          <tr><td>Refunds ({report.refunds_count})</td><td className="num">{money(report.refunds)}</td></tr>
        </tbody>
      </table>
      <table className="totals">
        <tbody>
          {report.by_payment_type.map((t) => (
            <tr key={t.name}>
              <td>{t.name} ({t.sales_count})</td>
              <td className="num">{money(t.sales)}{!isZero(t.refunds) && ` − ${money(t.refunds)}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="totals">
        <tbody>
          <tr><td>Opening float</td><td className="num">{money(report.opening_float)}</td></tr>
          <tr><td>Cash sales</td><td className="num">{money(report.cash_sales)}</td></tr>
          {!isZero(report.cash_due_collections) && <tr><td>Cash due collected</td><td className="num">{money(report.cash_due_collections)}</td></tr>}
          <tr><td>Cash refunds</td><td className="num">{takenOut(report.cash_refunds)}</td></tr>
          <tr><td>Pay-ins</td><td className="num">{money(report.pay_ins)}</td></tr>
          <tr><td>Pay-outs</td><td className="num">{takenOut(report.pay_outs)}</td></tr>
          <tr className="grand"><td>Expected cash</td><td className="num" data-testid="expected-cash">{money(report.expected_cash)}</td></tr>
          {report.counted_cash !== null && <tr><td>Counted cash</td><td className="num" data-testid="counted-cash">{money(report.counted_cash)}</td></tr>}
          {report.difference !== null && (
            <tr className="strong">
              <td>Difference ({differenceLabel(report.difference)})</td>
              <td className="num" data-testid="difference">{money(report.difference)}</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
