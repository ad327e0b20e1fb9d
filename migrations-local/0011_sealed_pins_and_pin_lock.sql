-- Version 11: PIN verifiers are kept only sealed for this till (pos_protocol::pin), and PIN
-- entry locks after repeated wrong tries.
--
-- The Argon2 hashes kept so far go, overwritten in place first rather than left in free pages:
-- a copy of this file must not be enough to guess a PIN. People get their PINs back sealed with
-- the next download after a manager or owner signs in on this till (which registers its key).
UPDATE terminal_state SET active_cashier_id = NULL, registered_at = NULL;
UPDATE cashiers SET pin_hash = printf('%.*c', length(pin_hash), 'x');
DELETE FROM cashiers;
ALTER TABLE cashiers DROP COLUMN pin_hash;

-- The verifier sealed for this till, and what it is bound to (business, person's version;
-- 0 for a PIN set at this till).
ALTER TABLE cashiers ADD COLUMN pin_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE cashiers ADD COLUMN business_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cashiers ADD COLUMN pin_version INTEGER NOT NULL DEFAULT 0;

-- 1 once the server keeps this till's PIN key (it then sends verifiers sealed with it).
ALTER TABLE terminal_state ADD COLUMN pin_key_accepted INTEGER NOT NULL DEFAULT 0;
-- Wrong PINs in a row at this till, and until when PIN entry is locked.
ALTER TABLE terminal_state ADD COLUMN pin_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE terminal_state ADD COLUMN pin_locked_until TEXT;
