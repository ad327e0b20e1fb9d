import { useState, type FormEvent } from "react";
import { parseAmountInput } from "@till/money";
import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Field, Loading, Money, Notice, Pager, Select, formatWhen } from "../components/ui";
import type { Amount } from "../figures";
import { useAction, useLoad } from "../hooks";

interface Party {
  id: number;
  name: string;
  phone: string | null;
  email: string | null;
  type: string;
  due: Amount;
  version: number;
}

interface DueCollection {
  id: number;
  party_id: number;
  payDueAmount: Amount;
  paymentDate: string;
  invoiceNumber: string | null;
}

interface Named {
  id: number;
  name: string;
}

export function Customers() {
  const [page, setPage] = useState(1);
  const list = useLoad(() => api.get<api.Paged<Party>>("/parties", { page, per_page: 25 }), [page]);
  const [collecting, setCollecting] = useState<Party | null>(null);
  const [notice, setNotice] = useState("");
  const [historyPage, setHistoryPage] = useState(1);
  const history = useLoad(() => api.get<api.Paged<DueCollection>>("/dues", { page: historyPage, per_page: 10 }), [historyPage]);

  return (
    <section aria-labelledby="customers-title">
      <h1 id="customers-title">Customers &amp; dues</h1>
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={list.error} />
      {list.loading && !list.data && <Loading what="customers" />}
      <DataTable
        caption="Customers and suppliers"
        rows={list.data?.data ?? []}
        rowKey={(p) => p.id}
        columns={[
          { header: "Name", cell: ({ row }) => row.original.name },
          { header: "Type", cell: ({ row }) => row.original.type },
          { header: "Phone", cell: ({ row }) => row.original.phone ?? "—" },
          { header: "Owes", cell: ({ row }) => <Money amount={row.original.due} /> },
          {
            header: "Action",
            cell: ({ row }) => (
              <button type="button" onClick={() => setCollecting(row.original)} aria-label={`Collect a payment from ${row.original.name}`}>
                Collect
              </button>
            ),
          },
        ]}
        empty="No customers yet."
      />
      <Pager pagination={list.data?.pagination} onPage={setPage} />
      {collecting && (
        <CollectDue
          key={collecting.id}
          party={collecting}
          onCancel={() => setCollecting(null)}
          onDone={(amount) => {
            setNotice(`Collected ${amount} from ${collecting.name}.`);
            setCollecting(null);
            list.reload();
            history.reload();
          }}
        />
      )}
      <NewCustomer
        onDone={(name) => {
          setNotice(`${name} added.`);
          list.reload();
        }}
      />
      <h2>Payments collected</h2>
      <ErrorMessage error={history.error} />
      <DataTable
        caption="Due payments collected, newest first"
        rows={history.data?.data ?? []}
        rowKey={(d) => d.id}
        columns={[
          { header: "Date", cell: ({ row }) => formatWhen(row.original.paymentDate) },
          { header: "Customer", cell: ({ row }) => list.data?.data.find((p) => p.id === row.original.party_id)?.name ?? `#${row.original.party_id}` },
          { header: "Invoice", cell: ({ row }) => row.original.invoiceNumber ?? "—" },
          { header: "Amount", cell: ({ row }) => <Money amount={row.original.payDueAmount} /> },
        ]}
        empty="No payments collected yet."
      />
      <Pager pagination={history.data?.pagination} onPage={setHistoryPage} />
    </section>
  );
}

function CollectDue({ party, onDone, onCancel }: { party: Party; onDone: (amount: string) => void; onCancel: () => void }) {
  const [amount, setAmount] = useState("");
  const [paymentType, setPaymentType] = useState("");
  const paymentTypes = useLoad(() => api.getData<Named[]>("/payment-types", { per_page: 100 }), []);
  const action = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const exact = parseAmountInput(amount, 4) ?? amount;
    const done = await action.run(() =>
      api.request("POST", "/dues", { party_id: party.id, payDueAmount: exact, payment_type_id: paymentType ? Number(paymentType) : null }),
    );
    if (done !== undefined) onDone(exact);
  }

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="collect-title">
      <h2 id="collect-title">Collect from {party.name}</h2>
      <p>
        Owes <Money amount={party.due} />
      </p>
      <div className="grid">
        <Field label="Amount" inputMode="decimal" value={amount} onChange={setAmount} required />
        <Select
          label="Paid by"
          value={paymentType}
          onChange={setPaymentType}
          options={[{ value: "", label: "—" }, ...(paymentTypes.data ?? []).map((p) => ({ value: String(p.id), label: p.name }))]}
        />
      </div>
      <ErrorMessage error={action.error} />
      <div className="toolbar">
        <button type="submit" className="primary" disabled={action.busy}>
          Collect
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function NewCustomer({ onDone }: { onDone: (name: string) => void }) {
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [type, setType] = useState("Customer");
  const action = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const done = await action.run(() => api.request("POST", "/parties", { name: name.trim(), phone: phone.trim() || null, type }));
    if (done !== undefined) {
      onDone(name);
      setName("");
      setPhone("");
    }
  }

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="new-customer">
      <h2 id="new-customer">Add a customer or supplier</h2>
      <div className="grid">
        <Field label="Name" value={name} onChange={setName} required />
        <Field label="Phone" type="tel" value={phone} onChange={setPhone} />
        <Select
          label="Type"
          value={type}
          onChange={setType}
          options={["Customer", "Retailer", "Dealer", "Wholesaler", "Supplier"].map((t) => ({ value: t, label: t }))}
        />
      </div>
      <ErrorMessage error={action.error} />
      <button type="submit" className="primary" disabled={action.busy}>
        Add
      </button>
    </form>
  );
}
