// Shown instead of the page when the API answers 401 (TRACKBOARD_AUTH on): a
// username/password form that sets the session cookie, then reloads the data.
import { useQueryClient } from "@tanstack/react-query";
import { useState, type SyntheticEvent } from "react";
import { login } from "../api/client";

export function LoginPage({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    login(username, password)
      .then(() => {
        onDone();
        void queryClient.invalidateQueries();
      })
      .catch((err: unknown) => {
        setError(err instanceof Error ? err.message : String(err));
      })
      .finally(() => setBusy(false));
  };

  return (
    <main>
      <form className="login" onSubmit={submit} aria-label="Sign in">
        <h1>Sign in to Trackboard</h1>
        <label>
          Username
          <input value={username} autoComplete="username" onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          Password
          <input
            type="password"
            value={password}
            autoComplete="current-password"
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error ? (
          <div className="filter-error" role="alert">
            {error}
          </div>
        ) : null}
        <button type="submit" className="primary" disabled={busy || !username || !password}>
          Sign in
        </button>
      </form>
    </main>
  );
}
