// Pure helpers of the sign-in screen: what the person must confirm before the till trusts a
// server, read from the engine's refusal, and what the next sign-in sends once they said yes.
// The engine decides; these only turn its answer into a question and the answer back.

import { EngineError, type TrustConfirmation } from "./api";

/** A question the person signing in answers before the till speaks to the server. */
export type TrustQuestion =
  /** First sign-in to a server with its own certificate: compare the fingerprint. */
  | { kind: "unknown_certificate"; fingerprint: string }
  /** The server presents another certificate than the trusted one: only an owner accepts it. */
  | { kind: "changed_certificate"; fingerprint: string; trusted: string | null }
  /** Plain http beyond this machine: only an owner allows it. */
  | { kind: "plain_http"; serverUrl: string };

/** The question a failed sign-in asks, or null when the failure is not about trust. */
export function trustQuestionFrom(error: unknown, serverUrl: string): TrustQuestion | null {
  if (!(error instanceof EngineError)) return null;
  switch (error.code) {
    case "server_certificate_unknown":
      return error.certificate ? { kind: "unknown_certificate", fingerprint: error.certificate.presented_sha256 } : null;
    case "server_certificate_changed":
      // Without a certificate the refusal came after the sign-in (not an owner): nothing to confirm.
      return error.certificate
        ? { kind: "changed_certificate", fingerprint: error.certificate.presented_sha256, trusted: error.certificate.pinned_sha256 }
        : null;
    case "plain_http_refused":
      return { kind: "plain_http", serverUrl };
    default:
      return null;
  }
}

/** What the next sign-in sends once the person answered yes. */
export function confirmationFor(question: TrustQuestion): TrustConfirmation {
  switch (question.kind) {
    case "unknown_certificate":
    case "changed_certificate":
      return { certificate_sha256: question.fingerprint, allow_plain_http: false };
    case "plain_http":
      return { certificate_sha256: null, allow_plain_http: true };
  }
}

/** A fingerprint in four rows of eight pairs, easier to compare with the server's than one line. */
export function fingerprintRows(fingerprint: string): string[] {
  const pairs = fingerprint.split(":");
  const rows: string[] = [];
  for (let i = 0; i < pairs.length; i += 8) rows.push(pairs.slice(i, i + 8).join(":"));
  return rows;
}
