import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { parseAmountInput } from "@till/money";
import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Field, Loading, Money, Notice, Pager, Quantity, formatWhen } from "../components/ui";
import type { Amount } from "../figures";
import { useAction, useLoad } from "../hooks";

interface StockRow {
  id: number;
  product_id: number;
  warehouse_id: number | null;
  batch_no: string | null;
  productStock: Amount;
  productPurchasePrice: Amount;
}

interface Purchase {
  id: number;
  invoiceNumber: string | null;
  party_id: number | null;
  totalAmount: Amount;
  paidAmount: Amount;
  purchaseDate: string;
}

export function Stock() {
  const [page, setPage] = useState(1);
  const stocks = useLoad(() => api.get<api.Paged<StockRow>>("/stocks", { page, per_page: 25 }), [page]);
  const names = useLoad(async () => {
    const ids = [...new Set((stocks.data?.data ?? []).map((s) => s.product_id))];
    const found = await Promise.all(ids.map((id) => api.getData<{ id: number; productName: string }>(`/products/${id}`).catch(() => null)));
    return new Map(found.filter((p) => p !== null).map((p) => [p!.id, p!.productName]));
  }, [stocks.data]);
  const [purchasePage, setPurchasePage] = useState(1);
  const purchases = useLoad(() => api.get<api.Paged<Purchase>>("/purchase", { page: purchasePage, per_page: 10 }), [purchasePage]);
  const [adjusting, setAdjusting] = useState<StockRow | null>(null);
  const [notice, setNotice] = useState("");

  return (
    <section aria-labelledby="stock-title">
      <h1 id="stock-title">Stock</h1>
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={stocks.error} />
      {stocks.loading && !stocks.data && <Loading what="stock" />}
      <DataTable
        caption="Stock rows"
        rows={stocks.data?.data ?? []}
        rowKey={(s) => s.id}
        columns={[
          {
            header: "Product",
            cell: ({ row }) => <Link to={`/products/${row.original.product_id}`}>{names.data?.get(row.original.product_id) ?? `#${row.original.product_id}`}</Link>,
          },
          { header: "Batch", cell: ({ row }) => row.original.batch_no ?? "—" },
          { header: "Quantity", cell: ({ row }) => <Quantity amount={row.original.productStock} /> },
          { header: "Cost", cell: ({ row }) => <Money amount={row.original.productPurchasePrice} /> },
          {
            header: "Action",
            cell: ({ row }) => (
              <button type="button" onClick={() => setAdjusting(row.original)} aria-label={`Adjust stock row ${row.original.id}`}>
                Adjust
              </button>
            ),
          },
        ]}
        empty="No stock recorded."
      />
      <Pager pagination={stocks.data?.pagination} onPage={setPage} />
      {adjusting && (
        <Adjust
          key={adjusting.id}
          stock={adjusting}
          name={names.data?.get(adjusting.product_id) ?? `#${adjusting.product_id}`}
          onCancel={() => setAdjusting(null)}
          onDone={(message) => {
            setNotice(message);
            setAdjusting(null);
            stocks.reload();
          }}
        />
      )}
      <h2>Purchases</h2>
      <ErrorMessage error={purchases.error} />
      <DataTable
        caption="Purchases, newest first"
        rows={purchases.data?.data ?? []}
        rowKey={(p) => p.id}
        columns={[
          { header: "Invoice", cell: ({ row }) => row.original.invoiceNumber ?? `#${row.original.id}` },
          { header: "Date", cell: ({ row }) => formatWhen(row.original.purchaseDate) },
          { header: "Total", cell: ({ row }) => <Money amount={row.original.totalAmount} /> },
          { header: "Paid", cell: ({ row }) => <Money amount={row.original.paidAmount} /> },
        ]}
        empty="No purchases recorded."
      />
      <Pager pagination={purchases.data?.pagination} onPage={setPurchasePage} />
    </section>
  );
}

function Adjust({ stock, name, onDone, onCancel }: { stock: StockRow; name: string; onDone: (message: string) => void; onCancel: () => void }) {
  const [quantity, setQuantity] = useState("");
  const [reason, setReason] = useState("");
  const action = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const text = quantity.trim();
    const negative = text.startsWith("-");
    const exact = parseAmountInput(negative ? text.slice(1) : text, 3);
    const signed = exact === null ? text : negative ? `-${exact}` : exact;
    const done = await action.run(() => api.request("POST", `/stocks/${stock.id}/adjustments`, { quantity: signed, reason: reason.trim() }));
    if (done !== undefined) onDone(`${name}: stock changed by ${signed}.`);
  }

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="adjust-title">
      <h2 id="adjust-title">Adjust {name}</h2>
      <div className="grid">
        <Field label="Change (negative takes away)" inputMode="decimal" value={quantity} onChange={setQuantity} required />
        <Field label="Reason" value={reason} onChange={setReason} required hint="Kept in the audit log" />
      </div>
      <ErrorMessage error={action.error} />
      <div className="toolbar">
        <button type="submit" className="primary" disabled={action.busy}>
          Adjust
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
