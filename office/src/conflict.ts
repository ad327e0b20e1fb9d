// A version conflict (409 `version_conflict`): someone saved the record after it was opened
// here. The server sends its stored copy, so the person can see what differs and choose.
import { ApiError } from "./api";

export interface VersionConflict {
  serverVersion: number;
  serverData: Record<string, unknown>;
}

export function versionConflict(error: ApiError | null): VersionConflict | null {
  if (!error || error.status !== 409 || error.code !== "version_conflict") return null;
  const conflict = (error.body as { conflict?: { server_version?: unknown; server_data?: unknown } } | null)?.conflict;
  if (!conflict || typeof conflict.server_version !== "number") return null;
  const data = conflict.server_data;
  return {
    serverVersion: conflict.server_version,
    serverData: data && typeof data === "object" ? (data as Record<string, unknown>) : {},
  };
}

/** Decimal text without trailing zeros ("2.50" and 2.5 are the same price); other text as is. */
function normalised(value: string): string {
  const text = value.trim();
  return /^-?\d+\.\d+$/.test(text) ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** The fields whose stored value differs from what this form holds, as text. */
export function differences(mine: Record<string, string>, theirs: Record<string, unknown>): { field: string; mine: string; theirs: string }[] {
  return Object.entries(mine)
    .filter(([field]) => field in theirs)
    .map(([field, value]) => ({ field, mine: value, theirs: theirs[field] === null ? "" : String(theirs[field]) }))
    .filter((d) => normalised(d.mine) !== normalised(d.theirs));
}
