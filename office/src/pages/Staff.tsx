import { useState, type FormEvent } from "react";
import * as api from "../api";
import { DataTable } from "../components/DataTable";
import { ErrorMessage, Field, Loading, Notice, Pager, Select } from "../components/ui";
import { useOffice } from "../context";
import { useAction, useLoad } from "../hooks";
import { pinProblem } from "../pin";
import { assignableRoles, type Role } from "../roles";

interface StaffUser {
  id: number;
  name: string;
  email: string;
  role: Role;
  is_active: boolean;
  has_pin: boolean;
  version: number;
}

const ROLE_LABEL: Record<Role, string> = { owner: "Owner", manager: "Manager", cashier: "Cashier" };

export function Staff() {
  const { session } = useOffice();
  const [page, setPage] = useState(1);
  const list = useLoad(() => api.get<api.Paged<StaffUser>>("/users", { page, per_page: 25 }), [page]);
  const [editing, setEditing] = useState<StaffUser | null>(null);
  const [notice, setNotice] = useState("");
  const roles = assignableRoles(session.user.role);

  const done = (message: string) => {
    setNotice(message);
    setEditing(null);
    list.reload();
  };

  return (
    <section aria-labelledby="staff-title">
      <h1 id="staff-title">Staff</h1>
      {notice && <Notice>{notice}</Notice>}
      <ErrorMessage error={list.error} />
      {list.loading && !list.data && <Loading what="the staff" />}
      <DataTable
        caption="Staff"
        rows={list.data?.data ?? []}
        rowKey={(u) => u.id}
        rowClass={(u) => (u.is_active ? undefined : "inactive")}
        columns={[
          { header: "Name", cell: ({ row }) => row.original.name },
          { header: "Email", cell: ({ row }) => row.original.email },
          { header: "Role", cell: ({ row }) => ROLE_LABEL[row.original.role] },
          { header: "Till PIN", cell: ({ row }) => (row.original.has_pin ? "Set" : "None") },
          { header: "Active", cell: ({ row }) => (row.original.is_active ? "Yes" : "No") },
          {
            header: "Actions",
            cell: ({ row }) => (
              <button type="button" onClick={() => setEditing(row.original)} aria-label={`Manage ${row.original.name}`}>
                Manage
              </button>
            ),
          },
        ]}
      />
      <Pager pagination={list.data?.pagination} onPage={setPage} />
      {editing && (
        <ManageUser key={editing.id} user={editing} roles={roles} onDone={done} onCancel={() => setEditing(null)} />
      )}
      {roles.length > 0 && <CreateUser roles={roles} onDone={done} />}
    </section>
  );
}

function CreateUser({ roles, onDone }: { roles: Role[]; onDone: (message: string) => void }) {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("cashier");
  const [pin, setPin] = useState("");
  const action = useAction();
  const [problem, setProblem] = useState("");

  async function submit(event: FormEvent) {
    event.preventDefault();
    const wrongPin = pin ? pinProblem(pin, role) : null;
    setProblem(wrongPin ?? "");
    if (wrongPin) return;
    const created = await action.run(() =>
      api.request("POST", "/users", { name: name.trim(), email: email.trim(), password, role, pin: pin || undefined }),
    );
    if (created !== undefined) onDone(`${name} can now sign in.`);
  }

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="new-staff">
      <h2 id="new-staff">Add a person</h2>
      <div className="grid">
        <Field label="Name" value={name} onChange={setName} required />
        <Field label="Email" type="email" value={email} onChange={setEmail} required autoComplete="off" />
        <Field label="Password" type="password" value={password} onChange={setPassword} required autoComplete="new-password" hint="8 characters or more" />
        <Select label="Role" value={role} onChange={setRole} options={roles.map((r) => ({ value: r, label: ROLE_LABEL[r] }))} />
        <Field label="Till PIN (optional)" type="password" inputMode="numeric" value={pin} onChange={setPin} autoComplete="off" hint="Cashiers 4–6 digits; managers and owners 6 or more" />
      </div>
      {problem && (
        <p className="message error" role="alert">
          {problem}
        </p>
      )}
      <ErrorMessage error={action.error} />
      <button type="submit" className="primary" disabled={action.busy}>
        Add
      </button>
    </form>
  );
}

function ManageUser({
  user,
  roles,
  onDone,
  onCancel,
}: {
  user: StaffUser;
  roles: Role[];
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const [role, setRole] = useState<Role>(user.role);
  const [pin, setPin] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState("");
  const action = useAction();
  const change = (body: Record<string, unknown>, message: string) =>
    action.run(() => api.request("PATCH", `/users/${user.id}`, body, { version: user.version })).then((r) => {
      if (r !== undefined) onDone(message);
    });

  function setThePin(event: FormEvent) {
    event.preventDefault();
    const wrong = pinProblem(pin, user.role);
    setProblem(wrong ?? "");
    if (!wrong) change({ pin }, `${user.name}'s till PIN is set. Tills learn it at their next sync.`);
  }

  function resetPassword(event: FormEvent) {
    event.preventDefault();
    change({ password }, `${user.name}'s password is reset.`);
  }

  return (
    <div className="panel" role="region" aria-labelledby="manage-title">
      <h2 id="manage-title">{user.name}</h2>
      <form onSubmit={setThePin} className="inline-form" aria-label="Till PIN">
        <Field
          label="New till PIN"
          type="password"
          name="pin"
          inputMode="numeric"
          autoComplete="off"
          value={pin}
          onChange={setPin}
          hint={user.role === "cashier" ? "4 to 6 digits" : "6 digits or more"}
        />
        <button type="submit" className="primary" disabled={action.busy}>
          Set PIN
        </button>
      </form>
      {roles.includes(user.role) && (
        <>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              change({ role }, `${user.name} is now ${ROLE_LABEL[role].toLowerCase()}.`);
            }}
            className="inline-form"
            aria-label="Role"
          >
            <Select label="Role" value={role} onChange={setRole} options={roles.map((r) => ({ value: r, label: ROLE_LABEL[r] }))} />
            <button type="submit" disabled={action.busy || role === user.role}>
              Change role
            </button>
          </form>
          <form onSubmit={resetPassword} className="inline-form" aria-label="Password">
            <Field label="New password" type="password" autoComplete="new-password" value={password} onChange={setPassword} />
            <button type="submit" disabled={action.busy || password.length === 0}>
              Reset password
            </button>
          </form>
          <div className="toolbar">
            <button
              type="button"
              className={user.is_active ? "danger" : undefined}
              disabled={action.busy}
              onClick={() =>
                change(
                  { is_active: !user.is_active },
                  user.is_active ? `${user.name} can no longer sign in.` : `${user.name} can sign in again.`,
                )
              }
            >
              {user.is_active ? "Deactivate" : "Reactivate"}
            </button>
            <button type="button" onClick={onCancel}>
              Close
            </button>
          </div>
        </>
      )}
      {problem && (
        <p className="message error" role="alert">
          {problem}
        </p>
      )}
      <ErrorMessage error={action.error} />
    </div>
  );
}
