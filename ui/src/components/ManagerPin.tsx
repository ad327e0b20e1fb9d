import { useCallback, useState, type FormEvent } from "react";
import { api } from "../api";
import { useApp } from "../context";
import { needsManager, pinFrom } from "../storeops";
import { Dialog } from "./Dialog";

/** Runs store operations that a cashier may not do alone: when the engine answers
 * `manager_required`, a manager types their PIN and the operation runs again, recorded as
 * authorised by them. `dialog` must be rendered by the screen. */
export function useManagerGate() {
  const { notify } = useApp();
  const [waiting, setWaiting] = useState<{ what: string; retry: () => Promise<void> } | null>(null);

  const run = useCallback(
    async (what: string, op: () => Promise<void>) => {
      try {
        await op();
      } catch (e) {
        if (needsManager(e)) setWaiting({ what, retry: op });
        else notify(e);
      }
    },
    [notify],
  );

  const dialog = waiting && (
    <ManagerPinDialog
      what={waiting.what}
      onCancel={() => {
        setWaiting(null);
        void api.managerAuthorisationCancel();
      }}
      onAuthorised={async () => {
        const retry = waiting.retry;
        setWaiting(null);
        try {
          await retry();
        } catch (e) {
          notify(e);
        }
      }}
    />
  );
  return { run, dialog };
}

function ManagerPinDialog(props: { what: string; onCancel: () => void; onAuthorised: () => void }) {
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
      const manager = await api.managerAuthorise(valid);
      notify(`Authorised by ${manager.name}`, "info");
      props.onAuthorised();
    } catch (err) {
      setPin("");
      notify(err);
    }
  }

  return (
    <Dialog title="Manager's PIN" onClose={props.onCancel} testId="manager-pin-dialog">
      <form onSubmit={submit}>
        <p>{props.what} needs a manager.</p>
        <label>
          Manager's PIN
          <input autoFocus type="password" inputMode="numeric" value={pin} onChange={(e) => setPin(e.target.value)} data-testid="manager-pin" />
        </label>
        <div className="dialog-actions">
          <button type="button" className="big" onClick={props.onCancel}>Back <kbd>Esc</kbd></button>
          <button type="submit" className="big primary">Authorise <kbd>Enter</kbd></button>
        </div>
      </form>
    </Dialog>
  );
}
