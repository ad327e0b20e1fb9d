import type { SyncActivity, SyncStatus } from "../api";
import { formatTime } from "../format";
import { KEY_HELP } from "../keymap";

const ACTIVITY: Record<SyncActivity, string> = {
  idle: "",
  signing_in: "Signing in…",
  registering: "Registering device…",
  pushing: "Sending sales…",
  full_sync: "Downloading catalog…",
  pulling: "Updating catalog…",
  backing_off: "Waiting to retry…",
};

/** Always on screen: online or offline, what waits for the server, the function keys. */
export function StatusBar({ status }: { status: SyncStatus | null }) {
  const progress = status?.progress;
  return (
    <footer className="statusbar">
      <span className={status?.online ? "pill online" : "pill offline"} data-testid="online-state">
        {status?.online ? "Online" : "Offline"}
      </span>
      <span className="pill" data-testid="pending-count">
        Pending {status?.pending ?? 0}
      </span>
      {(status?.failed ?? 0) > 0 && <span className="pill failed" data-testid="failed-count">Failed {status?.failed}</span>}
      {(status?.conflicts ?? 0) > 0 && <span className="pill failed">Conflicts {status?.conflicts}</span>}
      {status?.client_too_old && <span className="pill failed">Update the app: the server needs a newer version</span>}
      <span className="muted">Last sync {formatTime(status?.last_sync_at ?? null)}</span>
      {status && status.activity !== "idle" && (
        <span className="muted">
          {ACTIVITY[status.activity]}
          {progress ? ` ${progress.done}${progress.total != null ? `/${progress.total}` : ""}` : ""}
        </span>
      )}
      <span className="keys">
        {KEY_HELP.map(([k, label]) => (
          <span key={k}>
            <kbd>{k}</kbd> {label}
          </span>
        ))}
      </span>
    </footer>
  );
}
