// Every call the UI makes: the public REST API, with the user's token. Failures become
// `ApiError`s whose message is the server's own `{"error": …}` text, shown beside the control
// that caused them.

import { signOut, token } from "./session";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  items: T[];
}

export interface Entity {
  id: string;
  name?: string | null;
  key?: string;
  metadata?: Record<string, unknown> | null;
}

export type Kind = "things" | "channels";

type Query = Record<string, string | number | boolean | undefined>;

export function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export function authHeaders(): Record<string, string> {
  const current = token();
  return current ? { Authorization: `Bearer ${current}` } : {};
}

/** One request; resolves to the parsed JSON body (null when there is none). */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "The server cannot be reached. Check that ferroflux is running.");
  }
  return parse<T>(response);
}

export async function parse<T>(response: Response): Promise<T> {
  const text = await response.text();
  const json = text ? safeJson(text) : null;
  if (response.ok) return json as T;
  const message =
    json && typeof json === "object" && "error" in json
      ? String((json as { error: unknown }).error)
      : `${response.status} ${response.statusText}`;
  if (response.status === 401 && token()) {
    signOut("Your session expired or was refused. Sign in again.");
  }
  throw new ApiError(response.status, message);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The id a `201 Created` names in its `Location` header. */
export async function create(path: string, body: unknown): Promise<string> {
  const response = await fetch(path, {
    method: "POST",
    headers: { ...authHeaders(), "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  await parse<unknown>(response);
  const location = response.headers.get("Location") ?? "";
  return location.split("/").pop() ?? "";
}

/** A page of things or channels: `{total, offset, limit, things|channels}` as `items`. */
export async function list(
  kind: Kind,
  query: { offset: number; limit: number; name?: string; metadata?: string },
  within?: { of: Kind; id: string; connected?: boolean },
): Promise<Page<Entity>> {
  const path = within ? `/${within.of}/${within.id}/${kind}` : `/${kind}`;
  const page = await call<Record<string, unknown>>(
    "GET",
    url(path, { ...query, connected: within?.connected === false ? "false" : undefined }),
  );
  return {
    total: Number(page.total),
    offset: Number(page.offset),
    limit: Number(page.limit),
    items: (page[kind] as Entity[]) ?? [],
  };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
