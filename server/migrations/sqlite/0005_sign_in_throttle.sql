-- The sign-in limiter, shared by every server process on this database. A bucket is a keyed
-- hash (HMAC-SHA256 under `sign_in_secret`) of an account and client address, or of an
-- address alone: no email is stored. A bucket is forgotten once `expires_at` has passed.
CREATE TABLE sign_in_throttle (
  bucket TEXT PRIMARY KEY,
  attempts INTEGER NOT NULL,
  next_attempt_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);

CREATE INDEX sign_in_throttle_expiry ON sign_in_throttle (expires_at);

-- The key of those hashes: random, made once per database.
CREATE TABLE sign_in_secret (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  secret TEXT NOT NULL
);

INSERT INTO sign_in_secret (id, secret) VALUES (1, lower(hex(randomblob(32))));
