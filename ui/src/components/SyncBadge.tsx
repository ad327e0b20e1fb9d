import type { SyncState } from "../api";
import { SYNC_STATE_LABEL } from "../format";

export function SyncBadge({ state }: { state: SyncState }) {
  return <span className={`badge state-${state}`} data-testid="sync-state">{SYNC_STATE_LABEL[state]}</span>;
}
