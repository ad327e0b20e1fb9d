import { useState, type FormEvent } from "react";
import type { CartView, Discount } from "../../api";
import { Dialog } from "../../components/Dialog";
import { useApp } from "../../context";
import { discountText, parseDiscountInput } from "../../format";

/** A discount as an amount ("2.50") or a percentage ("10%"); the engine checks its limits. */
export function DiscountDialog(props: { title: string; current: Discount; onClose: () => void; apply: (d: Discount) => Promise<CartView> }) {
  const { setCart } = useApp();
  const [text, setText] = useState(discountText(props.current));
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const discount = parseDiscountInput(text);
    if (!discount) {
      setError(`"${text}" is neither an amount nor a percentage such as 10%.`);
      return;
    }
    try {
      setCart(await props.apply(discount));
      props.onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <Dialog title={props.title} onClose={props.onClose} testId="discount-dialog">
      <form onSubmit={submit}>
        <label>
          Amount or percentage (e.g. 2.50 or 10%)
          <input autoFocus value={text} onChange={(e) => setText(e.target.value)} data-testid="discount-input" />
        </label>
        <div className="quick">
          {["5%", "10%", "15%", "20%"].map((p) => (
            <button type="button" key={p} className="tile" onClick={() => setText(p)}>{p}</button>
          ))}
          <button type="button" className="tile" onClick={() => setText("")}>None</button>
        </div>
        {error && <p className="error" role="alert">{error}</p>}
        <div className="dialog-actions">
          <button type="button" className="big" onClick={props.onClose}>Back <kbd>Esc</kbd></button>
          <button type="submit" className="big primary">Apply <kbd>Enter</kbd></button>
        </div>
      </form>
    </Dialog>
  );
}
