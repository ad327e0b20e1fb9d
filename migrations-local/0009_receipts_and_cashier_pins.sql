-- Version 9: the receipt printer, cashiers switching by PIN on a shared till, and the manager
-- who authorised a sale's discount.

-- One row: where receipts go. `kind` none | network | windows | cups. Local to this till (the
-- printer is the till's hardware, not the business's).
CREATE TABLE printer_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    kind       TEXT NOT NULL DEFAULT 'none' CHECK (kind IN ('none', 'network', 'windows', 'cups')),
    -- Host name or address (network), printer name (windows) or queue name (cups).
    target     TEXT,
    port       INTEGER NOT NULL DEFAULT 9100,
    -- Paper width in mm: 80 (48 columns) or 58 (32 columns).
    paper_mm   INTEGER NOT NULL DEFAULT 80 CHECK (paper_mm IN (58, 80)),
    -- Print a receipt as soon as a sale is completed.
    auto_print INTEGER NOT NULL DEFAULT 1,
    -- The cash drawer hangs on the printer (ESC p pulses it).
    drawer     INTEGER NOT NULL DEFAULT 1
);
INSERT INTO printer_settings (id) VALUES (1);

-- People who work this till, each with a 4–6 digit PIN kept as an Argon2 hash (never the PIN).
-- `user_id` is the server's user id, so what they do is recorded under it.
CREATE TABLE cashiers (
    user_id    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    -- cashier | manager | owner
    role       TEXT NOT NULL CHECK (role IN ('cashier', 'manager', 'owner')),
    pin_hash   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Who works the till now (switched by PIN); NULL: the signed-in user.
ALTER TABLE terminal_state ADD COLUMN active_cashier_id INTEGER REFERENCES cashiers (user_id);

-- The manager who authorised a discount above the business's limit.
ALTER TABLE sales ADD COLUMN authorised_by INTEGER;
