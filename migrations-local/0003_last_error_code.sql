-- Version 3: keep the machine code of the last sync failure beside its text, so the window can
-- branch on it (sign in again, update the terminal, offline) without reading the message.
ALTER TABLE terminal_state ADD COLUMN last_error_code TEXT;
