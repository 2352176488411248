// The signed-in user's token. Kept in sessionStorage (one tab, gone when the tab closes),
// never in a cookie: every request carries it in `Authorization`, so there is nothing for a
// cross-site request to ride on.

const KEY = "ferroflux.token";

type Listener = (reason: string | null) => void;
const listeners = new Set<Listener>();
let expiryTimer: number | undefined;

export function token(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signIn(value: string): void {
  sessionStorage.setItem(KEY, value);
  scheduleExpiry(value);
  notify(null);
}

/** Forgets the token; `reason` is shown on the sign-in screen (null: the user chose to). */
export function signOut(reason: string | null = null): void {
  sessionStorage.removeItem(KEY);
  window.clearTimeout(expiryTimer);
  notify(reason);
}

export function onChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Re-arms the expiry timer of a token kept from before a reload. */
export function resume(): void {
  const current = token();
  if (current) scheduleExpiry(current);
}

function notify(reason: string | null): void {
  for (const listener of listeners) listener(reason);
}

// A JWT's `exp` (seconds): the UI signs out when it passes rather than failing the next
// request. The server still decides; a 401 signs out too (see api.ts).
function scheduleExpiry(jwt: string): void {
  window.clearTimeout(expiryTimer);
  const exp = expiresAt(jwt);
  if (exp === null) return;
  const wait = exp * 1000 - Date.now();
  // setTimeout takes at most 2^31-1 ms; a token valid for longer is re-armed on reload.
  if (wait > 2 ** 31 - 1) return;
  expiryTimer = window.setTimeout(
    () => signOut("Your session expired. Sign in again."),
    Math.max(wait, 0),
  );
}

export function expiresAt(jwt: string): number | null {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part)) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp : null;
  } catch {
    return null;
  }
}
