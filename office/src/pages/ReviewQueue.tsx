import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Field, Loading, Notice, Pager, Quantity, Select, formatWhen } from "../components/ui";
import type { Amount } from "../figures";
import { useAction, useLoad } from "../hooks";

interface Discrepancy {
  id: number;
  product_id: number;
  sale_id: number | null;
  device_id: string | null;
  expected: Amount;
  available: Amount;
  discrepancy: Amount;
  resolution: string | null;
  note: string | null;
  created_at: string;
}

interface Conflict {
  id: number;
  device_id: string | null;
  entity: string;
  entity_id: number | null;
  reason: string;
  status: string;
  created_at: string;
}

type Resolution = "auto_adjusted" | "manual" | "backorder";

export function ReviewQueue() {
  const [discrepancyPage, setDiscrepancyPage] = useState(1);
  const [conflictPage, setConflictPage] = useState(1);
  const discrepancies = useLoad(
    () => api.get<api.Paged<Discrepancy>>("/stock-discrepancies", { status: "open", page: discrepancyPage, per_page: 20 }),
    [discrepancyPage],
  );
  const conflicts = useLoad(
    () => api.get<api.Paged<Conflict>>("/sync/conflicts", { status: "open", page: conflictPage, per_page: 20 }),
    [conflictPage],
  );
  const [resolving, setResolving] = useState<Discrepancy | null>(null);
  const [notice, setNotice] = useState("");
  const conflictAction = useAction();

  async function resolveConflict(conflict: Conflict, resolution: "accept" | "reject") {
    const done = await conflictAction.run(() => api.request("POST", `/sync/conflicts/${conflict.id}/resolve`, { resolution }));
    if (done !== undefined) {
      setNotice(`Conflict ${conflict.id} ${resolution === "accept" ? "applied" : "rejected"}.`);
      conflicts.reload();
    }
  }

  return (
    <section aria-labelledby="review-title">
      <h1 id="review-title">Review queue</h1>
      {notice && <Notice>{notice}</Notice>}
      <h2>Stock discrepancies</h2>
      <p className="small muted">A till sold more than the stock the server held. Say what happened on the shelf.</p>
      <ErrorMessage error={discrepancies.error} />
      {discrepancies.loading && !discrepancies.data && <Loading what="discrepancies" />}
      <DataTable
        caption="Open stock discrepancies"
        rows={discrepancies.data?.data ?? []}
        rowKey={(d) => d.id}
        columns={[
          { header: "When", cell: ({ row }) => formatWhen(row.original.created_at) },
          {
            header: "Product",
            cell: ({ row }) => <Link to={`/products/${row.original.product_id}`}>#{row.original.product_id}</Link>,
          },
          {
            header: "Sale",
            cell: ({ row }) => (row.original.sale_id ? <Link to={`/sales/${row.original.sale_id}`}>#{row.original.sale_id}</Link> : "—"),
          },
          { header: "Sold", cell: ({ row }) => <Quantity amount={row.original.expected} /> },
          { header: "Held", cell: ({ row }) => <Quantity amount={row.original.available} /> },
          { header: "Short", cell: ({ row }) => <Quantity amount={row.original.discrepancy} /> },
          {
            header: "Action",
            cell: ({ row }) => (
              <button type="button" onClick={() => setResolving(row.original)} aria-label={`Resolve discrepancy ${row.original.id}`}>
                Resolve
              </button>
            ),
          },
        ]}
        empty="No open discrepancies."
      />
      <Pager pagination={discrepancies.data?.pagination} onPage={setDiscrepancyPage} />
      {resolving && (
        <ResolveDiscrepancy
          key={resolving.id}
          discrepancy={resolving}
          onCancel={() => setResolving(null)}
          onDone={() => {
            setNotice(`Discrepancy ${resolving.id} resolved.`);
            setResolving(null);
            discrepancies.reload();
          }}
        />
      )}
      <h2>Sync conflicts</h2>
      <p className="small muted">Operations a till sent that the server kept aside, such as a return of more than was sold.</p>
      <ErrorMessage error={conflicts.error ?? conflictAction.error} />
      <DataTable
        caption="Open sync conflicts"
        rows={conflicts.data?.data ?? []}
        rowKey={(c) => c.id}
        columns={[
          { header: "When", cell: ({ row }) => formatWhen(row.original.created_at) },
          { header: "Till", cell: ({ row }) => row.original.device_id ?? "—" },
          { header: "What", cell: ({ row }) => row.original.entity },
          { header: "Why", cell: ({ row }) => <code>{row.original.reason}</code> },
          {
            header: "Action",
            cell: ({ row }) => (
              <span className="toolbar">
                <button type="button" onClick={() => resolveConflict(row.original, "accept")} disabled={conflictAction.busy}>
                  Apply
                </button>
                <button type="button" onClick={() => resolveConflict(row.original, "reject")} disabled={conflictAction.busy}>
                  Reject
                </button>
              </span>
            ),
          },
        ]}
        empty="No open conflicts."
      />
      <Pager pagination={conflicts.data?.pagination} onPage={setConflictPage} />
    </section>
  );
}

function ResolveDiscrepancy({ discrepancy, onDone, onCancel }: { discrepancy: Discrepancy; onDone: () => void; onCancel: () => void }) {
  const [resolution, setResolution] = useState<Resolution>("auto_adjusted");
  const [counted, setCounted] = useState("");
  const [note, setNote] = useState("");
  const action = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const body: Record<string, unknown> = { resolution, note: note.trim() || undefined };
    if (resolution === "manual") body.counted_stock = counted.trim();
    const done = await action.run(() => api.request("POST", `/stock-discrepancies/${discrepancy.id}/resolve`, body));
    if (done !== undefined) onDone();
  }

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="resolve-title">
      <h3 id="resolve-title">Resolve discrepancy {discrepancy.id}</h3>
      <div className="grid">
        <Select
          label="What happened"
          name="resolution"
          value={resolution}
          onChange={setResolution}
          options={[
            { value: "auto_adjusted", label: "Accept the stock as it stands" },
            { value: "manual", label: "I counted the shelf" },
            { value: "backorder", label: "Owed to the customer (backorder)" },
          ]}
        />
        {resolution === "manual" && <Field label="Counted quantity" inputMode="decimal" value={counted} onChange={setCounted} required />}
        <Field label="Note" name="note" value={note} onChange={setNote} />
      </div>
      <ErrorMessage error={action.error} />
      <div className="toolbar">
        <button type="submit" className="primary" disabled={action.busy}>
          Resolve
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
