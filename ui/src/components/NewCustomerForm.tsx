import { useState, type FormEvent } from "react";
import { api, type PartyView } from "../api";

/** Quick add of a customer at the till; works offline (the engine queues it). */
export function NewCustomerForm({ onCreated, initialName = "" }: { onCreated: (party: PartyView) => void; initialName?: string }) {
  const [name, setName] = useState(initialName);
  const [phone, setPhone] = useState("");
  const [email, setEmail] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      const party = await api.createCustomer({ name: name.trim(), phone: phone.trim() || null, email: email.trim() || null });
      setName("");
      setPhone("");
      setEmail("");
      setError(null);
      onCreated(party);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <form className="new-customer" onSubmit={submit} data-testid="new-customer">
      <h3>New customer</h3>
      <div className="row">
        <input placeholder="Name" value={name} onChange={(e) => setName(e.target.value)} required aria-label="Name" />
        <input placeholder="Phone" value={phone} onChange={(e) => setPhone(e.target.value)} aria-label="Phone" />
        <input placeholder="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-label="Email" />
        <button type="submit" className="primary">Add</button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
    </form>
  );
}
