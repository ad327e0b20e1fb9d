import { describe, expect, it } from "vitest";
import { EngineError } from "./api";
import { confirmationFor, fingerprintRows, trustQuestionFrom } from "./signin";

const PRESENTED = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, "0").toUpperCase()).join(":");
const PINNED = Array.from({ length: 32 }, () => "AB").join(":");

describe("trustQuestionFrom", () => {
  it("shows the fingerprint of a server's certificate at the first sign-in", () => {
    const error = new EngineError("server_certificate_unknown", "confirm it", { presented_sha256: PRESENTED, pinned_sha256: null });
    const question = trustQuestionFrom(error, "https://192.0.2.2:8700");
    expect(question).toEqual({ kind: "unknown_certificate", fingerprint: PRESENTED });
    expect(confirmationFor(question!)).toEqual({ certificate_sha256: PRESENTED, allow_plain_http: false });
  });

  it("shows both fingerprints when the certificate changed", () => {
    const error = new EngineError("server_certificate_changed", "changed", { presented_sha256: PRESENTED, pinned_sha256: PINNED });
    expect(trustQuestionFrom(error, "https://shop:8700")).toEqual({ kind: "changed_certificate", fingerprint: PRESENTED, trusted: PINNED });
  });

  it("asks nothing more when a non-owner was refused a change after signing in", () => {
    expect(trustQuestionFrom(new EngineError("server_certificate_changed", "only an owner"), "https://shop")).toBeNull();
  });

  it("asks an owner to allow plain http beyond this machine", () => {
    const question = trustQuestionFrom(new EngineError("plain_http_refused", "use https"), "http://192.0.2.2:8700");
    expect(question).toEqual({ kind: "plain_http", serverUrl: "http://192.0.2.2:8700" });
    expect(confirmationFor(question!)).toEqual({ certificate_sha256: null, allow_plain_http: true });
  });

  it("leaves other failures alone", () => {
    expect(trustQuestionFrom(new EngineError("unauthenticated", "wrong password"), "https://shop")).toBeNull();
    expect(trustQuestionFrom(new Error("boom"), "https://shop")).toBeNull();
  });
});

describe("fingerprintRows", () => {
  it("splits a SHA-256 fingerprint into four rows of eight pairs", () => {
    const rows = fingerprintRows(PRESENTED);
    expect(rows).toHaveLength(4);
    expect(rows.every((row) => row.split(":").length === 8)).toBe(true);
    expect(rows.join(":")).toBe(PRESENTED);
  });
});
