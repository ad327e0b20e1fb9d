import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Loading, formatWhen } from "../components/ui";
import { isStale, type Device } from "../figures";
import { useLoad } from "../hooks";

export function Tills() {
  const devices = useLoad(() => api.getData<Device[]>("/devices"), []);
  const now = new Date();
  return (
    <section aria-labelledby="tills-title">
      <h1 id="tills-title">Tills</h1>
      <p className="muted small">A till that has not synced for a day may hold sales the figures here do not show yet.</p>
      <ErrorMessage error={devices.error} />
      {devices.loading && !devices.data && <Loading what="the tills" />}
      <DataTable
        caption="Tills registered with this business"
        rows={devices.data ?? []}
        rowKey={(d) => d.device_id}
        rowClass={(d) => (isStale(d, now) ? "stale" : undefined)}
        columns={[
          { header: "Name", cell: ({ row }) => row.original.device_name ?? "—" },
          { header: "Device", cell: ({ row }) => <code>{row.original.device_id}</code> },
          { header: "Last sync", cell: ({ row }) => formatWhen(row.original.last_sync_at) },
          { header: "App version", cell: ({ row }) => row.original.app_version ?? "—" },
          { header: "Last till number", cell: ({ row }) => row.original.last_offline_seq },
          {
            header: "State",
            cell: ({ row }) =>
              isStale(row.original, now) ? <span className="warning">Not synced for a day</span> : <span className="ok">Syncing</span>,
          },
        ]}
        empty="No till has signed in yet."
      />
    </section>
  );
}
