import { useState, type FormEvent } from "react";
import { api, type CashierView } from "../api";
import { useApp } from "../context";
import { pinFrom } from "../storeops";
import { Dialog } from "./Dialog";

/** Hands the till to another cashier by their PIN (works offline). */
export function CashierSwitchDialog(props: { onClose: () => void; onSwitched: (c: CashierView) => void }) {
  const { notify } = useApp();
  const [pin, setPin] = useState("");

  async function submit(e: FormEvent) {
    e.preventDefault();
    const valid = pinFrom(pin);
    if (!valid) {
      notify("A PIN is made of digits");
      return;
    }
    try {
      const cashier = await api.cashierSwitch(valid);
      notify(`${cashier.name} is working the till`, "info");
      props.onSwitched(cashier);
      props.onClose();
    } catch (err) {
      setPin("");
      notify(err);
    }
  }

  async function signedInUser() {
    try {
      props.onSwitched(await api.cashierSwitchOff());
      props.onClose();
    } catch (err) {
      notify(err);
    }
  }

  return (
    <Dialog title="Switch cashier" onClose={props.onClose} testId="cashier-dialog">
      <form onSubmit={submit}>
        <label>
          Your PIN
          <input autoFocus type="password" inputMode="numeric" value={pin} onChange={(e) => setPin(e.target.value)} data-testid="cashier-pin" />
        </label>
        <div className="dialog-actions">
          <button type="button" className="big" onClick={signedInUser}>Signed-in user</button>
          <button type="button" className="big" onClick={props.onClose}>Back <kbd>Esc</kbd></button>
          <button type="submit" className="big primary">Switch <kbd>Enter</kbd></button>
        </div>
      </form>
    </Dialog>
  );
}
