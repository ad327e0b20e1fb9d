import { useState, type FormEvent } from "react";
import { api } from "../../api";
import { Dialog } from "../../components/Dialog";
import { useApp } from "../../context";

/** Parks the cart under a label so the next customer can be served. */
export function HoldDialog({ onClose }: { onClose: () => void }) {
  const { setCart, notify } = useApp();
  const [label, setLabel] = useState("");

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      const held = await api.holdCart(label.trim());
      setCart(await api.cart());
      notify(`Cart "${held.label}" held. Resume it from Held carts (F5).`, "info");
      onClose();
    } catch (err) {
      notify(err);
    }
  }

  return (
    <Dialog title="Hold this cart" onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          Label (e.g. the customer's name)
          <input autoFocus value={label} onChange={(e) => setLabel(e.target.value)} data-testid="hold-label" />
        </label>
        <div className="dialog-actions">
          <button type="button" className="big" onClick={onClose}>Back <kbd>Esc</kbd></button>
          <button type="submit" className="big primary">Hold <kbd>Enter</kbd></button>
        </div>
      </form>
    </Dialog>
  );
}
