import { useState, type FormEvent } from "react";
import type { Amount } from "../../money";
import type { CartView } from "../../api";
import { Dialog } from "../../components/Dialog";
import { useApp } from "../../context";
import { formatQuantity, parseAmountInput } from "../../money";

/** Types a quantity, with decimals for weighed goods. */
export function QuantityDialog(props: { current: Amount; onClose: () => void; apply: (quantity: string) => Promise<CartView> }) {
  const { setCart } = useApp();
  const [text, setText] = useState(formatQuantity(props.current));
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const quantity = parseAmountInput(text, 3);
    if (!quantity) {
      setError(`"${text}" is not a quantity (up to 3 decimals).`);
      return;
    }
    try {
      setCart(await props.apply(quantity));
      props.onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <Dialog title="Quantity" onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Quantity
          <input autoFocus inputMode="decimal" value={text} onChange={(e) => setText(e.target.value)} onFocus={(e) => e.target.select()} data-testid="quantity-input" />
        </label>
        {error && <p className="error" role="alert">{error}</p>}
        <div className="dialog-actions">
          <button type="button" className="big" onClick={props.onClose}>Back <kbd>Esc</kbd></button>
          <button type="submit" className="big primary">Set <kbd>Enter</kbd></button>
        </div>
      </form>
    </Dialog>
  );
}
