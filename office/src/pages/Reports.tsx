import { useState, type FormEvent } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatMoney } from "@till/money";
import * as api from "../api";
import { download, toCsv } from "../csv";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Field, Loading, Money } from "../components/ui";
import { useOffice } from "../context";
import type { GroupTotals, SalesSummary } from "../figures";
import { useLoad } from "../hooks";
import { businessDay, rangeOf } from "../period";

type DayRow = GroupTotals & { date: string };

export function Reports() {
  const { settings, currency } = useOffice();
  const month = rangeOf("month", businessDay(new Date(), settings?.timezone));
  const [from, setFrom] = useState(month.from);
  const [to, setTo] = useState(month.to);
  const [range, setRange] = useState(month);
  const summary = useLoad(() => api.getData<SalesSummary>("/reports/sales/summary", { date_from: range.from, date_to: range.to }), [range]);

  function apply(event: FormEvent) {
    event.preventDefault();
    setRange({ from, to });
  }

  function exportByDay() {
    if (!summary.data) return;
    const text = toCsv<DayRow>(summary.data.by_day, [
      { header: "date", value: (r) => r.date },
      { header: "sales", value: (r) => r.count },
      { header: "total", value: (r) => String(r.totalAmount) },
      { header: "discount", value: (r) => String(r.discountAmount) },
      { header: "vat", value: (r) => String(r.vat_amount) },
      { header: "paid", value: (r) => String(r.paidAmount) },
      { header: "due", value: (r) => String(r.dueAmount) },
      { header: "profit", value: (r) => String(r.profit) },
    ]);
    download(`sales-by-day-${range.from}-${range.to}.csv`, text);
  }

  const totals = summary.data?.totals;
  return (
    <section aria-labelledby="reports-title">
      <h1 id="reports-title">Reports</h1>
      <form className="filters" onSubmit={apply} aria-label="Report period">
        <Field label="From" type="date" value={from} onChange={setFrom} required />
        <Field label="To" type="date" value={to} onChange={setTo} required />
        <button type="submit">Show</button>
        <button type="button" onClick={exportByDay} disabled={!summary.data}>
          Export CSV
        </button>
      </form>
      <ErrorMessage error={summary.error} />
      {summary.loading && !summary.data && <Loading what="the report" />}
      {totals && (
        <dl className="cards">
          <div className="card">
            <dt>Sales</dt>
            <dd>
              <Money amount={totals.totalAmount} /> <span className="small muted">({totals.count})</span>
            </dd>
          </div>
          <div className="card">
            <dt>VAT</dt>
            <dd>
              <Money amount={totals.vat_amount} />
            </dd>
          </div>
          <div className="card">
            <dt>Profit</dt>
            <dd>
              <Money amount={totals.profit} />
            </dd>
          </div>
          <div className="card">
            <dt>Returns</dt>
            <dd>
              <Money amount={totals.returns_amount} /> <span className="small muted">({totals.returns_count})</span>
            </dd>
          </div>
        </dl>
      )}
      {summary.data && summary.data.by_day.length > 0 && (
        <figure className="chart" aria-label="Sales and profit by day">
          <figcaption>Sales and profit by day</figcaption>
          <ResponsiveContainer width="100%" height={240}>
            <BarChart
              data={summary.data.by_day.map((d) => ({ date: d.date, sales: Number(d.totalAmount), profit: Number(d.profit) }))}
              accessibilityLayer
            >
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="date" tickFormatter={(d: string) => d.slice(5)} />
              <YAxis width={70} />
              <Tooltip formatter={(value) => formatMoney(String(value), currency)} />
              <Bar dataKey="sales" name="Sales" fill="var(--accent)" />
              <Bar dataKey="profit" name="Profit" fill="var(--ok)" />
            </BarChart>
          </ResponsiveContainer>
        </figure>
      )}
      {summary.data && (
        <>
          <h2>By day</h2>
          <DataTable
            caption="Sales by day"
            rows={summary.data.by_day}
            rowKey={(r) => r.date}
            columns={[
              { header: "Day", cell: ({ row }) => row.original.date },
              { header: "Sales", cell: ({ row }) => row.original.count },
              { header: "Total", cell: ({ row }) => <Money amount={row.original.totalAmount} /> },
              { header: "VAT", cell: ({ row }) => <Money amount={row.original.vat_amount} /> },
              { header: "Profit", cell: ({ row }) => <Money amount={row.original.profit} /> },
            ]}
            empty="No sales in this period."
          />
        </>
      )}
    </section>
  );
}
