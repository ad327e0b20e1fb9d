import { useState } from "react";
import { Link } from "react-router";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatMoney } from "@till/money";
import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Loading, Money, formatWhen } from "../components/ui";
import { useOffice } from "../context";
import { averageBasket, isStale, nameOf, type Device, type SalesSummary } from "../figures";
import { useLoad } from "../hooks";
import { businessDay, describeRange, rangeOf, shift, type Period } from "../period";

interface DashboardFigures {
  low_stock_count: number;
  total_items: number;
  stock_value: number | string;
  total_due: number | string;
}

interface Named {
  id: number;
  name: string;
}

const PERIODS: { value: Period; label: string }[] = [
  { value: "day", label: "Day" },
  { value: "week", label: "Week" },
  { value: "month", label: "Month" },
];

export function Dashboard() {
  const { settings, currency } = useOffice();
  const [period, setPeriod] = useState<Period>("day");
  const [range, setRange] = useState(() => rangeOf("day", businessDay(new Date(), settings?.timezone)));
  const summary = useLoad(
    () => api.getData<SalesSummary>("/reports/sales/summary", { date_from: range.from, date_to: range.to }),
    [range.from, range.to],
  );
  const figures = useLoad(() => api.getData<DashboardFigures>("/dashboard"), []);
  const devices = useLoad(() => api.getData<Device[]>("/devices"), []);
  const paymentTypes = useLoad(() => api.getData<Named[]>("/payment-types", { per_page: 100 }), []);
  const staff = useLoad(() => api.getData<Named[]>("/users", { per_page: 100 }), []);

  const choose = (next: Period) => {
    setPeriod(next);
    setRange(rangeOf(next, businessDay(new Date(), settings?.timezone)));
  };
  const totals = summary.data?.totals;
  const stale = (devices.data ?? []).filter((d) => isStale(d, new Date()));
  const average = totals ? averageBasket(totals.totalAmount, totals.count, currency.minorUnits) : null;

  return (
    <section aria-labelledby="dashboard-title">
      <h1 id="dashboard-title">Dashboard</h1>
      <div className="toolbar" role="group" aria-label="Period">
        {PERIODS.map((p) => (
          <button key={p.value} type="button" aria-pressed={period === p.value} onClick={() => choose(p.value)}>
            {p.label}
          </button>
        ))}
        <button type="button" aria-label="Previous period" onClick={() => setRange(shift(period, range, -1))}>
          ‹
        </button>
        <span className="strong" aria-live="polite" data-testid="period">
          {describeRange(range)}
        </span>
        <button type="button" aria-label="Next period" onClick={() => setRange(shift(period, range, 1))}>
          ›
        </button>
      </div>
      <ErrorMessage error={summary.error ?? figures.error} />
      {summary.loading && !totals && <Loading what="the figures" />}
      {totals && (
        <dl className="cards" data-testid="totals">
          <div className="card">
            <dt>Sales</dt>
            <dd data-testid="sales-total">
              <Money amount={totals.totalAmount} />
            </dd>
          </div>
          <div className="card">
            <dt>Count</dt>
            <dd data-testid="sales-count">{totals.count}</dd>
          </div>
          <div className="card">
            <dt>Average basket</dt>
            <dd>
              <Money amount={average} />
            </dd>
          </div>
          <div className="card">
            <dt>Refunds</dt>
            <dd>
              <Money amount={totals.returns_amount} /> <span className="small muted">({totals.returns_count})</span>
            </dd>
          </div>
          <div className="card">
            <dt>Profit</dt>
            <dd>
              <Money amount={totals.profit} />
            </dd>
          </div>
          <div className="card">
            <dt>Low stock</dt>
            <dd>
              {figures.data ? <Link to="/products?low=1">{figures.data.low_stock_count} products</Link> : "…"}
            </dd>
          </div>
        </dl>
      )}
      {summary.data && summary.data.by_day.length > 1 && (
        <figure className="chart" aria-label="Sales by day">
          <figcaption>Sales by day</figcaption>
          <ResponsiveContainer width="100%" height={220}>
            <BarChart data={summary.data.by_day.map((d) => ({ date: d.date, total: Number(d.totalAmount) }))} accessibilityLayer>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="date" tickFormatter={(d: string) => d.slice(5)} />
              <YAxis width={70} />
              <Tooltip formatter={(value) => formatMoney(String(value), currency)} />
              <Bar dataKey="total" name="Sales" fill="var(--accent)" />
            </BarChart>
          </ResponsiveContainer>
        </figure>
      )}
      <div className="columns">
        {summary.data && (
          <div>
            <h2>By payment type</h2>
            <DataTable
              caption="Sales by payment type"
              rows={summary.data.by_payment_type}
              rowKey={(r) => String(r.payment_type_id)}
              columns={[
                {
                  header: "Payment type",
                  cell: ({ row }) => nameOf(paymentTypes.data, row.original.payment_type_id, (p) => p.name, "None"),
                },
                { header: "Sales", cell: ({ row }) => row.original.count },
                { header: "Amount", cell: ({ row }) => <Money amount={row.original.totalAmount} /> },
              ]}
              empty="No sales in this period."
            />
            <h2>By cashier</h2>
            <DataTable
              caption="Sales by cashier"
              rows={summary.data.by_cashier}
              rowKey={(r) => String(r.user_id)}
              columns={[
                { header: "Cashier", cell: ({ row }) => nameOf(staff.data, row.original.user_id, (u) => u.name, "Unknown") },
                { header: "Sales", cell: ({ row }) => row.original.count },
                { header: "Amount", cell: ({ row }) => <Money amount={row.original.totalAmount} /> },
              ]}
              empty="No sales in this period."
            />
            <h2>By till</h2>
            <DataTable
              caption="Sales by till"
              rows={summary.data.by_device}
              rowKey={(r) => String(r.device_id)}
              columns={[
                {
                  header: "Till",
                  cell: ({ row }) =>
                    devices.data?.find((d) => d.device_id === row.original.device_id)?.device_name ??
                    row.original.device_id ??
                    "Back office",
                },
                { header: "Sales", cell: ({ row }) => row.original.count },
                { header: "Amount", cell: ({ row }) => <Money amount={row.original.totalAmount} /> },
              ]}
              empty="No sales in this period."
            />
          </div>
        )}
        <div>
          <h2>Tills not synced for a day</h2>
          <ErrorMessage error={devices.error} />
          <DataTable
            caption="Tills that have not synced for a day"
            rows={stale}
            rowKey={(d) => d.device_id}
            columns={[
              { header: "Till", cell: ({ row }) => row.original.device_name ?? row.original.device_id },
              { header: "Last sync", cell: ({ row }) => formatWhen(row.original.last_sync_at) },
            ]}
            empty="Every till synced within the last day."
          />
          <h2>Top products</h2>
          <p className="muted small">The server does not yet report sales by product.</p>
          {figures.data && (
            <p className="small">
              {figures.data.total_items} products in the catalog · stock worth <Money amount={figures.data.stock_value} /> ·
              customers owe <Money amount={figures.data.total_due} />
            </p>
          )}
        </div>
      </div>
    </section>
  );
}
