-- Version 4: the business the till last signed in to. Queued work belongs to it, so signing in
-- to another business while work is still queued is refused instead of sending its sales there.
ALTER TABLE terminal_state ADD COLUMN business_id INTEGER;
