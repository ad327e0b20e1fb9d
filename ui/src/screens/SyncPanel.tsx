import { useCallback, useEffect, useState } from "react";
import { api, EngineError, type QueuedOperation } from "../api";
import { SyncBadge } from "../components/SyncBadge";
import { useApp } from "../context";
import { formatTime } from "../format";

/** What waits for the server, what it refused, and what a person must decide. */
export function SyncPanel() {
  const { status, notify } = useApp();
  const [queue, setQueue] = useState<QueuedOperation[]>([]);
  const [busy, setBusy] = useState(false);

  const load = useCallback(() => api.queue().then(setQueue, notify), [notify]);
  useEffect(() => {
    void load();
  }, [load, status?.pending, status?.failed, status?.conflicts, status?.last_sync_at]);

  async function syncNow() {
    setBusy(true);
    try {
      const r = await api.syncNow();
      notify(`Sent ${r.pushed}, confirmed ${r.acknowledged}, refused ${r.rejected}, received ${r.pulled_records} updates.`, "info");
    } catch (e) {
      // Offline is a state the till works in, not a failure: nothing is lost and it says so.
      if (e instanceof EngineError && e.code === "server_unreachable") {
        notify("The server cannot be reached. The till keeps selling; what waits is sent when it is back.", "info");
      } else {
        notify(e);
      }
    } finally {
      setBusy(false);
      void load();
    }
  }

  async function retry(op: QueuedOperation) {
    try {
      await api.queueRetry(op.id);
      await load();
    } catch (e) {
      notify(e);
    }
  }

  async function discard(op: QueuedOperation) {
    const reason = window.prompt(`Discard "${op.summary}"? It will never reach the server. Reason:`);
    if (!reason?.trim()) return;
    try {
      await api.queueDiscard(op.id, reason.trim());
      await load();
    } catch (e) {
      notify(e);
    }
  }

  const failed = queue.filter((op) => op.state === "failed");
  const conflicts = queue.filter((op) => op.state === "conflict");
  const waiting = queue.filter((op) => op.state === "queued" || op.state === "sent");

  return (
    <div className="page" data-testid="sync-panel">
      <h1>Sync</h1>
      <div className="stat-grid">
        <div className="stat">
          <span>Server</span>
          <strong className={status?.online ? "ok" : "bad"} data-testid="sync-online">{status?.online ? "Online" : "Offline"}</strong>
        </div>
        <div className="stat">
          <span>Pending</span>
          <strong data-testid="sync-pending">{status?.pending ?? 0}</strong>
        </div>
        <div className="stat">
          <span>Failed</span>
          <strong className={status?.failed ? "bad" : ""}>{status?.failed ?? 0}</strong>
        </div>
        <div className="stat">
          <span>Conflicts</span>
          <strong className={status?.conflicts ? "bad" : ""}>{status?.conflicts ?? 0}</strong>
        </div>
        <div className="stat">
          <span>Last sync</span>
          <strong className="small">{formatTime(status?.last_sync_at ?? null)}</strong>
        </div>
      </div>
      {status?.last_error && <p className={status.online ? "error" : "muted"}>Last problem: {status.last_error}</p>}
      <button className="big primary" onClick={syncNow} disabled={busy} data-testid="sync-now">
        {busy ? "Syncing…" : "Sync now"}
      </button>

      <h2>Refused by the server</h2>
      {failed.length === 0 && <p className="muted">Nothing refused.</p>}
      <OperationTable ops={failed} actions={(op) => (
        <>
          <button onClick={() => retry(op)}>Retry</button>
          <button className="danger" onClick={() => discard(op)}>Discard</button>
        </>
      )} />

      <h2>Conflicts</h2>
      {conflicts.length === 0 && <p className="muted">No conflicts. A manager resolves conflicts on the server.</p>}
      <OperationTable ops={conflicts} />

      <h2>Waiting to be sent</h2>
      {waiting.length === 0 && <p className="muted">Everything has reached the server.</p>}
      <OperationTable ops={waiting} />
    </div>
  );
}

function OperationTable({ ops, actions }: { ops: QueuedOperation[]; actions?: (op: QueuedOperation) => React.ReactNode }) {
  if (ops.length === 0) return null;
  return (
    <table className="list">
      <thead>
        <tr>
          <th>What</th>
          <th>State</th>
          <th>Attempts</th>
          <th>Problem</th>
          <th>Queued</th>
          {actions && <th />}
        </tr>
      </thead>
      <tbody>
        {ops.map((op) => (
          <tr key={op.id} data-testid="queue-row">
            <td>
              {op.summary}
              <div className="muted small">{op.entity} {op.action} · {op.idempotency_key.slice(0, 8)}</div>
            </td>
            <td><SyncBadge state={op.state} /></td>
            <td>{op.attempts}</td>
            <td className="error small">{op.error_code ? `${op.error_code}: ` : ""}{op.last_error ?? ""}</td>
            <td>{formatTime(op.created_at)}</td>
            {actions && <td className="actions">{actions(op)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
