import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Field, Loading, Money, Notice, Pager, Quantity, Select, formatWhen } from "../components/ui";
import { useOffice } from "../context";
import { nameOf, type Amount } from "../figures";
import { useAction, useLoad } from "../hooks";
import { atLeast } from "../roles";

export interface Sale {
  id: number;
  invoiceNumber: string | null;
  offline_invoice_no: string | null;
  party_id: number | null;
  user_id: number | null;
  device_id: string | null;
  payment_type_id: number | null;
  totalAmount: Amount;
  discountAmount: Amount;
  vat_amount: Amount;
  paidAmount: Amount;
  dueAmount: Amount;
  change_amount: Amount;
  isPaid: boolean;
  saleDate: string;
  version: number;
}

interface SaleLine {
  id: number;
  line_no: number;
  product_id: number;
  quantities: Amount;
  price: Amount;
  discount: Amount;
  vat_amount: Amount;
  returned_quantity: Amount;
}

interface SaleWithLines extends Sale {
  details: SaleLine[];
  saleReturns: { id: number; refund_method: string; refund_amount: Amount; status: string; return_date: string }[];
}

interface Named {
  id: number;
  name: string;
}

export function Sales() {
  const [page, setPage] = useState(1);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [invoice, setInvoice] = useState("");
  const [paid, setPaid] = useState<"" | "true" | "false">("");
  const [filters, setFilters] = useState({ from: "", to: "", invoice: "", paid: "" });
  const list = useLoad(
    () =>
      api.get<api.Paged<Sale>>("/sales", {
        page,
        per_page: 25,
        date_from: filters.from,
        date_to: filters.to,
        invoiceNumber: filters.invoice,
        isPaid: filters.paid,
      }),
    [page, filters],
  );
  const paymentTypes = useLoad(() => api.getData<Named[]>("/payment-types", { per_page: 100 }), []);

  function apply(event: FormEvent) {
    event.preventDefault();
    setPage(1);
    setFilters({ from, to, invoice: invoice.trim(), paid });
  }

  return (
    <section aria-labelledby="sales-title">
      <h1 id="sales-title">Sales</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter the sales">
        <Field label="From" type="date" value={from} onChange={setFrom} />
        <Field label="To" type="date" value={to} onChange={setTo} />
        <Field label="Invoice number" value={invoice} onChange={setInvoice} />
        <Select
          label="Paid"
          value={paid}
          onChange={setPaid}
          options={[
            { value: "", label: "All" },
            { value: "true", label: "Paid" },
            { value: "false", label: "With a due" },
          ]}
        />
        <button type="submit">Filter</button>
      </form>
      <ErrorMessage error={list.error} />
      {list.loading && !list.data && <Loading what="sales" />}
      <DataTable
        caption="Sales, newest first"
        rows={list.data?.data ?? []}
        rowKey={(s) => s.id}
        columns={[
          {
            header: "Invoice",
            cell: ({ row }) => <Link to={`/sales/${row.original.id}`}>{row.original.invoiceNumber ?? `#${row.original.id}`}</Link>,
          },
          { header: "Till number", cell: ({ row }) => row.original.offline_invoice_no ?? "—" },
          { header: "Date", cell: ({ row }) => formatWhen(row.original.saleDate) },
          {
            header: "Payment",
            cell: ({ row }) => nameOf(paymentTypes.data, row.original.payment_type_id, (p) => p.name, "—"),
          },
          { header: "Total", cell: ({ row }) => <Money amount={row.original.totalAmount} /> },
          { header: "Due", cell: ({ row }) => <Money amount={row.original.dueAmount} /> },
        ]}
        empty="No sales match."
      />
      <Pager pagination={list.data?.pagination} onPage={setPage} />
    </section>
  );
}

export function SaleDetail() {
  const { id } = useParams();
  const navigate = useNavigate();
  const { session } = useOffice();
  const sale = useLoad(() => api.getData<SaleWithLines>(`/sales/${id}`), [id]);
  const products = useLoad(async () => {
    const ids = new Set(sale.data?.details.map((d) => d.product_id) ?? []);
    const found = await Promise.all([...ids].map((pid) => api.getData<{ id: number; productName: string }>(`/products/${pid}`).catch(() => null)));
    return found.filter((p): p is { id: number; productName: string } => p !== null);
  }, [sale.data]);
  const paymentTypes = useLoad(() => api.getData<Named[]>("/payment-types", { per_page: 100 }), []);
  const voiding = useAction();
  const [confirming, setConfirming] = useState(false);
  const [voided, setVoided] = useState(false);

  if (sale.error) return <ErrorMessage error={sale.error} />;
  if (!sale.data) return <Loading what="the sale" />;
  const s = sale.data;

  async function voidSale() {
    const done = await voiding.run(() => api.request("DELETE", `/sales/${s.id}`, undefined, { version: s.version }));
    if (done !== undefined) {
      setVoided(true);
      setConfirming(false);
    }
  }

  return (
    <section aria-labelledby="sale-title">
      <p>
        <button type="button" className="link" onClick={() => navigate(-1)}>
          ‹ Back
        </button>
      </p>
      <h1 id="sale-title">Sale {s.invoiceNumber ?? `#${s.id}`}</h1>
      <dl className="facts">
        <dt>Invoice number</dt>
        <dd data-testid="invoice-number">{s.invoiceNumber ?? "—"}</dd>
        <dt>Till's number</dt>
        <dd data-testid="offline-number">{s.offline_invoice_no ?? "— (made in the back office)"}</dd>
        <dt>Date</dt>
        <dd>{formatWhen(s.saleDate)}</dd>
        <dt>Till</dt>
        <dd>{s.device_id ?? "—"}</dd>
      </dl>
      <h2>Lines</h2>
      <DataTable
        caption="The sale's lines"
        rows={s.details}
        rowKey={(l) => l.id}
        columns={[
          { header: "Product", cell: ({ row }) => nameOf(products.data, row.original.product_id, (p) => p.productName, "—") },
          { header: "Quantity", cell: ({ row }) => <Quantity amount={row.original.quantities} /> },
          { header: "Price", cell: ({ row }) => <Money amount={row.original.price} /> },
          { header: "Discount", cell: ({ row }) => <Money amount={row.original.discount} /> },
          { header: "VAT", cell: ({ row }) => <Money amount={row.original.vat_amount} /> },
          { header: "Returned", cell: ({ row }) => <Quantity amount={row.original.returned_quantity} /> },
        ]}
      />
      <h2>Payment</h2>
      <dl className="facts">
        <dt>Total</dt>
        <dd>
          <Money amount={s.totalAmount} />
        </dd>
        <dt>Discount</dt>
        <dd>
          <Money amount={s.discountAmount} />
        </dd>
        <dt>VAT</dt>
        <dd>
          <Money amount={s.vat_amount} />
        </dd>
        <dt>Paid ({nameOf(paymentTypes.data, s.payment_type_id, (p) => p.name, "no payment type")})</dt>
        <dd>
          <Money amount={s.paidAmount} />
        </dd>
        <dt>Change</dt>
        <dd>
          <Money amount={s.change_amount} />
        </dd>
        <dt>Due</dt>
        <dd>
          <Money amount={s.dueAmount} />
        </dd>
      </dl>
      {s.saleReturns.length > 0 && (
        <>
          <h2>Returns</h2>
          <DataTable
            caption="Returns of this sale"
            rows={s.saleReturns}
            rowKey={(r) => r.id}
            columns={[
              { header: "Date", cell: ({ row }) => formatWhen(row.original.return_date) },
              { header: "Refund", cell: ({ row }) => <Money amount={row.original.refund_amount} /> },
              { header: "Method", cell: ({ row }) => row.original.refund_method },
              { header: "Status", cell: ({ row }) => row.original.status },
            ]}
          />
        </>
      )}
      {atLeast(session.user.role, "manager") && !voided && (
        <div className="danger-zone">
          <h2>Void</h2>
          <p className="small muted">A void puts what is left of the lines back in stock and takes the due off the customer.</p>
          {confirming ? (
            <div className="toolbar">
              <button type="button" className="danger" onClick={voidSale} disabled={voiding.busy}>
                Void sale {s.invoiceNumber}
              </button>
              <button type="button" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </div>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Void this sale…
            </button>
          )}
          <ErrorMessage error={voiding.error} />
        </div>
      )}
      {voided && <Notice>The sale is voided.</Notice>}
    </section>
  );
}
