import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, type DrawerEvent, type ShiftReport } from "../api";
import { ShiftReportView } from "../components/ShiftReportView";
import { useManagerGate } from "../components/ManagerPin";
import { useApp } from "../context";
import { parseAmountInput } from "../money";

/** What the Shift+F keys ask of this screen when they bring it up. */
export type ShiftIntent = "cashMovement" | "noSale" | null;

/** The shift and its drawer: open with a float, pay-in / pay-out, open the drawer (no sale),
 * the X report, close with the count and the Z report (printable). */
export function ShiftScreen({ intent }: { intent: ShiftIntent }) {
  const { currency, notify } = useApp();
  const [report, setReport] = useState<ShiftReport | null | undefined>(undefined);
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const gate = useManagerGate();
  const [confirming, setConfirming] = useState(false);
  const open = report?.kind === "x";

  const reload = useCallback(() => api.shiftReport().then(setReport, notify), [notify]);
  useEffect(() => {
    void reload();
  }, [reload]);
  useEffect(() => {
    if (intent) document.getElementById(intent === "noSale" ? "shift-reason" : "shift-amount")?.focus();
  }, [intent, report?.kind]);

  /** The drawer opens through the printer; a missing printer is only a notice. */
  async function kick(event: DrawerEvent) {
    try {
      await api.kickDrawer(event);
    } catch (e) {
      notify(e);
    }
  }

  function amountOrNotify(field: string): string | null {
    const value = parseAmountInput(amount);
    if (value === null) notify(`${field}: type an amount`);
    return value;
  }

  async function openShift(e: FormEvent) {
    e.preventDefault();
    const float = amountOrNotify("Float");
    if (float === null) return;
    try {
      await api.shiftOpen(float);
      setAmount("");
      await kick("shift_open");
      await reload();
    } catch (err) {
      notify(err);
    }
  }

  async function move(kind: "pay_in" | "pay_out") {
    const value = amountOrNotify("Amount");
    if (value === null) return;
    await gate.run(kind === "pay_in" ? "A pay-in" : "A pay-out", async () => {
      await (kind === "pay_in" ? api.shiftPayIn(value, reason) : api.shiftPayOut(value, reason));
      setAmount("");
      setReason("");
      notify(`${kind === "pay_in" ? "Pay-in" : "Pay-out"} recorded`, "info");
      await kick(kind);
      await reload();
    });
  }

  async function noSale() {
    await gate.run("Opening the drawer with no sale", async () => {
      await api.shiftDrawerOpen(reason);
      setReason("");
      await kick("no_sale");
      notify("Drawer opened (logged)", "info");
    });
  }

  async function close(e: FormEvent) {
    e.preventDefault();
    const counted = amountOrNotify("Counted cash");
    if (counted === null) return;
    // A second press confirms: a closed shift cannot be changed.
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    try {
      setReport(await api.shiftClose(counted));
      setAmount("");
      await kick("shift_close");
    } catch (err) {
      notify(err);
    }
  }

  async function printReport() {
    try {
      const settings = await api.printerSettings();
      if (settings.kind === "none") window.print();
      else await api.printShiftReport();
    } catch (err) {
      notify(err);
    }
  }

  if (report === undefined) return <div className="page muted">Loading…</div>;

  return (
    <div className="page shift-page">
      <h1>Shift</h1>
      <div className="shift-grid">
        <div>
          {!open ? (
            <form onSubmit={openShift} className="card">
              <h2>Open a shift</h2>
              <label>
                Float counted in the drawer
                <input id="shift-amount" autoFocus inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} data-testid="shift-float" />
              </label>
              <div className="dialog-actions">
                <button type="submit" className="big primary" data-testid="shift-open">Open shift</button>
              </div>
            </form>
          ) : (
            <>
              <div className="card">
                <h2>Cash in and out</h2>
                <label>
                  Amount
                  <input id="shift-amount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} data-testid="shift-amount" />
                </label>
                <label>
                  Reason
                  <input id="shift-reason" value={reason} onChange={(e) => setReason(e.target.value)} data-testid="shift-reason" />
                </label>
                <div className="dialog-actions">
                  <button className="big" onClick={() => void noSale()} data-testid="no-sale">Open drawer</button>
                  <button className="big" onClick={() => void move("pay_out")} data-testid="pay-out">Pay out</button>
                  <button className="big primary" onClick={() => void move("pay_in")} data-testid="pay-in">Pay in</button>
                </div>
              </div>
              <form onSubmit={close} className="card">
                <h2>Close the shift</h2>
                <label>
                  Cash counted in the drawer
                  <input inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} data-testid="shift-counted" />
                </label>
                {confirming && <p className="warning">A closed shift cannot be changed. Press again to close it.</p>}
                <div className="dialog-actions">
                  {confirming && <button type="button" className="big" onClick={() => setConfirming(false)}>Keep it open</button>}
                  <button type="submit" className="big danger" data-testid="shift-close">{confirming ? "Close it now" : "Close shift"}</button>
                </div>
              </form>
            </>
          )}
        </div>
        <div>
          {report ? (
            <>
              <div className="receipt-preview print-area">
                <ShiftReportView report={report} currency={currency} />
              </div>
              <div className="dialog-actions">
                <button className="big" onClick={() => void reload()}>Refresh</button>
                <button className="big primary" onClick={() => void printReport()} data-testid="print-report">
                  Print {report.kind === "z" ? "Z" : "X"} report
                </button>
              </div>
            </>
          ) : (
            <p className="muted">No shift has been opened on this till yet.</p>
          )}
        </div>
      </div>
      {gate.dialog}
    </div>
  );
}
