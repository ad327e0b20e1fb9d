import { useEffect, useState } from "react";
import { api, type HeldCartView } from "../api";
import { useApp } from "../context";
import { formatTime } from "../format";
import { formatMoney } from "../money";

export function HeldCarts() {
  const { currency, notify, setCart, go, cart } = useApp();
  const [held, setHeld] = useState<HeldCartView[]>([]);

  useEffect(() => {
    api.heldCarts().then(setHeld, notify);
  }, [notify]);

  async function resume(id: number) {
    const busy = cart !== null && cart.lines.length > 0;
    if (busy && !window.confirm("Hold the current cart and resume this one?")) return;
    try {
      if (busy) await api.holdCart("");
      setCart(await api.resumeCart(id));
      go("sell");
    } catch (e) {
      notify(e);
    }
  }

  return (
    <div className="page">
      <h1>Held carts</h1>
      {held.length === 0 && <p className="muted">No held carts. Hold the current cart with F4.</p>}
      <ul className="card-list">
        {held.map((h, i) => (
          <li key={h.id}>
            <button className="row-button" onClick={() => resume(h.id)} autoFocus={i === 0} data-testid="held-cart">
              <strong>{h.label || `Cart ${h.id}`}</strong>
              <span>{h.line_count} items{h.customer_name ? ` · ${h.customer_name}` : ""}</span>
              <span className="muted">{formatTime(h.held_at)}</span>
              <span className="num strong">{formatMoney(h.total, currency)}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
