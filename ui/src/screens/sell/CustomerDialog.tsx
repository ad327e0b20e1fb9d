import { useEffect, useState } from "react";
import { api, partyRefText, type PartyRef, type PartyView } from "../../api";
import { Dialog } from "../../components/Dialog";
import { NewCustomerForm } from "../../components/NewCustomerForm";
import { useApp } from "../../context";
import { formatMoney, isZero } from "../../money";

/** Picks the sale's customer, or adds one on the spot. */
export function CustomerDialog({ onClose }: { onClose: () => void }) {
  const { setCart, notify, currency } = useApp();
  const [search, setSearch] = useState("");
  const [found, setFound] = useState<PartyView[]>([]);

  useEffect(() => {
    const timer = setTimeout(() => api.customers(search.trim()).then(setFound, notify), 120);
    return () => clearTimeout(timer);
  }, [search, notify]);

  async function pick(party: PartyRef | null) {
    try {
      setCart(await api.cartSetCustomer(party));
      onClose();
    } catch (err) {
      notify(err);
    }
  }

  return (
    <Dialog title="Customer" onClose={onClose} wide testId="customer-dialog">
      <input autoFocus className="search" placeholder="Search name or phone" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search customers" />
      <ul className="pick-list">
        <li>
          <button onClick={() => pick(null)}>Walk-in customer (none)</button>
        </li>
        {found.map((p) => (
          <li key={partyRefText(p.party_ref)}>
            <button onClick={() => pick(p.party_ref)}>
              <span>{p.name}</span>
              <span className="muted">{p.phone ?? ""}</span>
              {!isZero(p.due) && <span className="badge">due {formatMoney(p.due, currency)}</span>}
            </button>
          </li>
        ))}
      </ul>
      <NewCustomerForm initialName={search} onCreated={(p) => pick(p.party_ref)} />
    </Dialog>
  );
}
