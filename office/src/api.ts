// The server's REST API under /api/v1, with the signed-in person's token. Every error the
// server sends carries a message (and per field, what is wrong), which the pages show as is.
import { isRole, type Role } from "./roles";

export interface SessionUser {
  id: number;
  name: string;
  email: string;
  role: Role;
  business_id: number;
}

export interface Session {
  token: string;
  user: SessionUser;
}

export interface Pagination {
  current_page: number;
  per_page: number;
  total: number;
  last_page: number;
}

export interface Paged<T> {
  data: T[];
  pagination: Pagination;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: Record<string, string[]> = {},
    readonly body: unknown = null,
  ) {
    super(message);
  }

  /** The message with what the server said about each field. */
  get detail(): string {
    const parts = Object.entries(this.fields).map(([field, problems]) => `${field}: ${problems.join(", ")}`);
    return parts.length ? `${this.message} (${parts.join("; ")})` : this.message;
  }
}

const STORAGE_KEY = "pos-office-session";
let signedOut: () => void = () => undefined;

export function loadSession(): Session | null {
  try {
    const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    return stored && typeof stored.token === "string" && isRole(stored.user?.role) ? stored : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else localStorage.removeItem(STORAGE_KEY);
}

/** Called when the server no longer takes the token (expired, revoked). */
export function onSignedOut(handler: () => void): void {
  signedOut = handler;
}

export interface RequestOptions {
  /** The version an update is based on (`X-Entity-Version`). */
  version?: number;
  /** Overwrite whatever version is stored (managers and owners). */
  force?: boolean;
  query?: Record<string, string | number | boolean | undefined | null>;
}

export function withQuery(path: string, query?: RequestOptions["query"]): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const session = loadSession();
  if (session) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  if (options.version !== undefined) headers["x-entity-version"] = String(options.version);
  if (options.force) headers["x-force-update"] = "true";
  let response: Response;
  try {
    response = await fetch(withQuery(`/api/v1${path}`, options.query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  const json = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && session) {
      saveSession(null);
      signedOut();
    }
    throw new ApiError(
      response.status,
      json?.error ?? "http",
      json?.message ?? `The server answered ${response.status}.`,
      json?.errors ?? {},
      json,
    );
  }
  return json as T;
}

export const get = <T>(path: string, query?: RequestOptions["query"]) => request<T>("GET", path, undefined, { query });

/** A resource's `data`. */
export async function getData<T>(path: string, query?: RequestOptions["query"]): Promise<T> {
  return (await get<{ data: T }>(path, query)).data;
}

export async function signIn(email: string, password: string): Promise<Session> {
  const answer = await request<{ data: { token: string; user: SessionUser } }>("POST", "/sign-in", { email, password });
  const session = { token: answer.data.token, user: answer.data.user };
  if (!isRole(session.user.role)) throw new ApiError(0, "role", `Unknown role ${session.user.role}`);
  saveSession(session);
  return session;
}

export async function signOut(): Promise<void> {
  await request("GET", "/sign-out").catch(() => undefined);
  saveSession(null);
}
