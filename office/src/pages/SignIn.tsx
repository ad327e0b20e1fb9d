import { useState, type FormEvent } from "react";
import * as api from "../api";
import { ErrorMessage, Field } from "../components/ui";
import { useAction } from "../hooks";

export function SignIn({ onSignedIn }: { onSignedIn: (session: api.Session) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { error, busy, run } = useAction();

  async function submit(event: FormEvent) {
    event.preventDefault();
    const session = await run(() => api.signIn(email.trim(), password));
    if (session) onSignedIn(session);
  }

  return (
    <main className="sign-in" id="main">
      <form onSubmit={submit} aria-labelledby="sign-in-title" className="panel">
        <h1 id="sign-in-title">Back office</h1>
        <p className="muted">Sign in with your staff email and password.</p>
        <Field label="Email" type="email" name="email" autoComplete="username" required value={email} onChange={setEmail} />
        <Field
          label="Password"
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={setPassword}
        />
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
