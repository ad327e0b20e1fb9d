-- Version 12: what this till trusts about each server address it signed in to. The pinned
-- certificate is the one the person signing in first confirmed (trust on first use); only an
-- owner's sign-in changes it, and only an owner's sign-in allows plain http beyond loopback.
CREATE TABLE server_trust (
    -- scheme://host:port of the server.
    origin TEXT PRIMARY KEY,
    -- SHA-256 of the server's certificate, upper-case hex pairs joined by colons.
    certificate_sha256 TEXT,
    pinned_at TEXT,
    pinned_by TEXT,
    plain_http_allowed_at TEXT,
    plain_http_allowed_by TEXT
);
