import { useState, type FormEvent } from "react";
import { api, type SessionInfo } from "../api";

/** First start and every sign-in: where the server is, who signs in, what this till is called. */
export function FirstStart({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [serverUrl, setServerUrl] = useState(localStorage.getItem("pos.serverUrl") ?? "http://127.0.0.1:8700");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [deviceName, setDeviceName] = useState(localStorage.getItem("pos.deviceName") ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api.login(serverUrl.trim(), email.trim(), password, deviceName.trim() || null);
      localStorage.setItem("pos.serverUrl", serverUrl.trim());
      localStorage.setItem("pos.deviceName", deviceName.trim());
      onSignedIn(session);
    } catch (err) {
      // Signed in but the first download failed: the till is usable, the sync catches up.
      const session = await api.session().catch(() => null);
      if (session) {
        window.alert(`Signed in, but the catalog could not be downloaded yet: ${err instanceof Error ? err.message : String(err)}`);
        onSignedIn(session);
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="first-start">
      <form className="card signin" onSubmit={submit} data-testid="signin-form">
        <h1>Sign in to the till</h1>
        <label>
          Server address
          <input name="server" value={serverUrl} onChange={(e) => setServerUrl(e.target.value)} required autoComplete="url" />
        </label>
        <label>
          Email
          <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoFocus autoComplete="username" />
        </label>
        <label>
          Password
          <input name="password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="current-password" />
        </label>
        <label>
          Name of this till <span className="muted">(optional, e.g. "Counter 1")</span>
          <input name="device" value={deviceName} onChange={(e) => setDeviceName(e.target.value)} />
        </label>
        {error && <p className="error" role="alert" data-testid="signin-error">{error}</p>}
        <button className="primary big" type="submit" disabled={busy} data-testid="signin">
          {busy ? "Signing in and downloading the catalog…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
