import { useState, type FormEvent } from "react";
import { api, type SessionInfo, type TrustConfirmation } from "../api";
import { confirmationFor, fingerprintRows, trustQuestionFrom, type TrustQuestion } from "../signin";

/** First start and every sign-in: where the server is, who signs in, what this till is called. */
export function FirstStart({ onSignedIn }: { onSignedIn: (session: SessionInfo) => void }) {
  const [serverUrl, setServerUrl] = useState(localStorage.getItem("pos.serverUrl") ?? "http://127.0.0.1:8700");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [deviceName, setDeviceName] = useState(localStorage.getItem("pos.deviceName") ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // What the person must confirm about the server before the till signs in there.
  const [question, setQuestion] = useState<TrustQuestion | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    await signIn(null);
  }

  async function signIn(trust: TrustConfirmation | null) {
    setBusy(true);
    setError(null);
    setQuestion(null);
    try {
      const session = await api.login(serverUrl.trim(), email.trim(), password, deviceName.trim() || null, trust);
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
        setQuestion(trustQuestionFrom(err, serverUrl.trim()));
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
        {question ? (
          <TrustPrompt question={question} busy={busy} onConfirm={() => void signIn(confirmationFor(question))} onCancel={() => setQuestion(null)} />
        ) : (
          error && <p className="error" role="alert" data-testid="signin-error">{error}</p>
        )}
        <button className="primary big" type="submit" disabled={busy} data-testid="signin">
          {busy ? "Signing in and downloading the catalog…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}

/** The fingerprint (or plain-http) question, with the only way on: the person confirms. */
function TrustPrompt({ question, busy, onConfirm, onCancel }: { question: TrustQuestion; busy: boolean; onConfirm: () => void; onCancel: () => void }) {
  return (
    <div className="card trust-prompt" role="alert" data-testid="signin-trust-question">
      {question.kind === "unknown_certificate" && (
        <>
          <p>This server presents its own certificate. Compare its fingerprint with the one the server printed when it started (the owner can show it again with <code>pos-server tls-fingerprint</code>):</p>
          <Fingerprint value={question.fingerprint} />
          <p>Continue only if every group is the same.</p>
        </>
      )}
      {question.kind === "changed_certificate" && (
        <>
          <p className="error">The server presents a different certificate from the one this till trusts. Someone may be intercepting the connection; nothing was sent. Only an owner can accept a new certificate, after comparing it with the server's.</p>
          <Fingerprint value={question.fingerprint} />
          {question.trusted && <p className="muted">Trusted until now: {question.trusted}</p>}
        </>
      )}
      {question.kind === "plain_http" && (
        <p>Plain http would send passwords and tokens across the shop's network unencrypted. Use the server's https address; only an owner can allow plain http to {question.serverUrl}.</p>
      )}
      <div className="actions">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={onConfirm} disabled={busy} data-testid="signin-trust">
          {question.kind === "plain_http" ? "Allow plain http (owner)" : question.kind === "changed_certificate" ? "Accept the new certificate (owner)" : "The fingerprints match: sign in"}
        </button>
      </div>
    </div>
  );
}

function Fingerprint({ value }: { value: string }) {
  return (
    <pre className="fingerprint" data-testid="signin-fingerprint">
      {fingerprintRows(value).join("\n")}
    </pre>
  );
}
