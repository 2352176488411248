// Sign in, or create an account and sign in with it.

import { useState } from "preact/hooks";
import { ApiError, call, errorText } from "../api";
import { signIn } from "../session";
import { Field } from "../components/Field";

export function SignIn({ notice }: { notice: string | null }) {
  const [mode, setMode] = useState<"in" | "up">("in");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === "up") await call("POST", "/users", { email, password });
      const { token } = await call<{ token: string }>("POST", "/tokens", { email, password });
      signIn(token);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? "Wrong email or password." : errorText(e));
      setBusy(false);
    }
  }

  const title = mode === "in" ? "Sign in" : "Create an account";
  return (
    <main class="signin" id="main">
      <h1>Ferroflux</h1>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h2 id="signin-title">{title}</h2>
        <Field label="Email" type="email" value={email} onInput={setEmail} autoComplete="email" required />
        <Field
          label="Password"
          type="password"
          value={password}
          onInput={setPassword}
          autoComplete={mode === "in" ? "current-password" : "new-password"}
          minLength={mode === "up" ? 8 : undefined}
          hint={mode === "up" ? "At least 8 characters." : undefined}
          required
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {title}
        </button>
      </form>
      <p>
        {mode === "in" ? "No account yet? " : "Already registered? "}
        <button type="button" class="link" onClick={() => (setMode(mode === "in" ? "up" : "in"), setError(null))}>
          {mode === "in" ? "Create an account" : "Sign in instead"}
        </button>
      </p>
    </main>
  );
}
