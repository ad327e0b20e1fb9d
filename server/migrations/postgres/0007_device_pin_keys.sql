-- A till's key for PIN verifiers: the server seals each staff member's PIN hash with it for
-- that till only, so a token alone never reads a verifier. Set when a manager or owner
-- registers the till; NULL (no verifiers sent) until then.
ALTER TABLE sync_devices ADD COLUMN pin_key TEXT;
