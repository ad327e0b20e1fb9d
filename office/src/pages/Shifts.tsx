import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Field, Loading, Money, Pager, Select, formatWhen } from "../components/ui";
import type { Amount } from "../figures";
import { useLoad } from "../hooks";

interface Shift {
  id: number;
  device_id: string | null;
  cashier_id: number | null;
  status: string;
  opened_at: string;
  closed_at: string | null;
  opening_float: Amount;
  counted_cash: Amount | null;
}

interface ShiftReportData {
  kind: string;
  sales_count: number;
  sales_total: Amount;
  discounts: Amount;
  vat: Amount;
  due: Amount;
  refunds_count: number;
  refunds: Amount;
  by_payment_type: { payment_type_id: number | null; name: string; sales_count: number; sales: Amount; due_collections: Amount; refunds: Amount }[];
  opening_float: Amount;
  cash_sales: Amount;
  cash_due_collections: Amount;
  cash_refunds: Amount;
  pay_ins: Amount;
  pay_outs: Amount;
  expected_cash: Amount;
  counted_cash: Amount | null;
  difference: Amount | null;
}

export function Shifts() {
  const [page, setPage] = useState(1);
  const [date, setDate] = useState("");
  const [status, setStatus] = useState("");
  const [filters, setFilters] = useState({ date: "", status: "" });
  const list = useLoad(() => api.get<api.Paged<Shift>>("/shifts", { page, per_page: 25, ...filters }), [page, filters]);

  function apply(event: FormEvent) {
    event.preventDefault();
    setPage(1);
    setFilters({ date, status });
  }

  return (
    <section aria-labelledby="shifts-title">
      <h1 id="shifts-title">Shifts</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter the shifts">
        <Field label="Opened on" type="date" value={date} onChange={setDate} />
        <Select
          label="Status"
          value={status}
          onChange={setStatus}
          options={[
            { value: "", label: "All" },
            { value: "open", label: "Open" },
            { value: "closed", label: "Closed" },
          ]}
        />
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data && <Loading what="shifts" />}
      <DataTable
        caption="Shifts, newest first"
        rows={list.data?.data ?? []}
        rowKey={(s) => s.id}
        columns={[
          { header: "Opened", cell: ({ row }) => <Link to={`/shifts/${row.original.id}`}>{formatWhen(row.original.opened_at)}</Link> },
          { header: "Closed", cell: ({ row }) => (row.original.closed_at ? formatWhen(row.original.closed_at) : "open") },
          { header: "Till", cell: ({ row }) => row.original.device_id ?? "—" },
          { header: "Float", cell: ({ row }) => <Money amount={row.original.opening_float} /> },
          { header: "Counted", cell: ({ row }) => <Money amount={row.original.counted_cash} /> },
        ]}
        empty="No shifts."
      />
      <Pager pagination={list.data?.pagination} onPage={setPage} />
    </section>
  );
}

export function ShiftReport() {
  const { id } = useParams();
  // The shift's fields with its report beside them.
  const found = useLoad(() => api.getData<Shift & { report: ShiftReportData }>(`/shifts/${id}`), [id]);
  if (found.error) return <ErrorMessage error={found.error} />;
  if (!found.data) return <Loading what="the shift report" />;
  const { report, ...shift } = found.data;
  const line = (label: string, amount: Amount | null) => (
    <>
      <dt>{label}</dt>
      <dd>
        <Money amount={amount} />
      </dd>
    </>
  );
  return (
    <section aria-labelledby="shift-title">
      <p>
        <Link to="/shifts">‹ Shifts</Link>
      </p>
      <h1 id="shift-title">
        {report.kind.toUpperCase()} report · shift {shift.id}
      </h1>
      <p className="muted">
        {shift.device_id ?? "—"} · opened {formatWhen(shift.opened_at)}
        {shift.closed_at ? `, closed ${formatWhen(shift.closed_at)}` : ", still open"}
      </p>
      <dl className="facts receipt">
        <dt>Sales</dt>
        <dd>{report.sales_count}</dd>
        {line("Sales total", report.sales_total)}
        {line("Discounts", report.discounts)}
        {line("VAT", report.vat)}
        {line("Sold on credit", report.due)}
        <dt>Refunds</dt>
        <dd>{report.refunds_count}</dd>
        {line("Refunded", report.refunds)}
      </dl>
      <DataTable
        caption="By payment type"
        rows={report.by_payment_type}
        rowKey={(p) => `${p.payment_type_id}-${p.name}`}
        columns={[
          { header: "Payment type", cell: ({ row }) => row.original.name },
          { header: "Sales", cell: ({ row }) => row.original.sales_count },
          { header: "Taken", cell: ({ row }) => <Money amount={row.original.sales} /> },
          { header: "Dues collected", cell: ({ row }) => <Money amount={row.original.due_collections} /> },
          { header: "Refunds", cell: ({ row }) => <Money amount={row.original.refunds} /> },
        ]}
      />
      <h2>Cash drawer</h2>
      <dl className="facts receipt">
        {line("Opening float", report.opening_float)}
        {line("Cash sales", report.cash_sales)}
        {line("Cash dues collected", report.cash_due_collections)}
        {line("Cash refunds", report.cash_refunds)}
        {line("Pay-ins", report.pay_ins)}
        {line("Pay-outs", report.pay_outs)}
        {line("Expected", report.expected_cash)}
        {line("Counted", report.counted_cash)}
        {line("Difference", report.difference)}
      </dl>
    </section>
  );
}
