-- Version 5: shifts and the cash drawer, returns at the till.
--
-- A shift is opened with a counted float and closed with a count; everything that moves cash
-- (sales, due collections, returns, pay-ins and pay-outs) names the shift it happened in.
-- Once closed, a shift and its cash can no longer change (triggers below refuse it, whatever
-- the code above them does).
CREATE TABLE shifts (
    local_id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- A UUID: the shift's identity for ever, and its local id on the wire.
    client_reference      TEXT NOT NULL UNIQUE,
    cashier_id            INTEGER,
    cashier_name          TEXT,
    opened_at             TEXT NOT NULL,
    opening_float         TEXT NOT NULL,
    closed_at             TEXT,
    counted_cash          TEXT,
    -- JSON [{"value", "count"}] when the cash was counted note by note.
    counted_denominations TEXT,
    expected_cash         TEXT,
    note                  TEXT,
    server_id             INTEGER,
    open_outbox_id        INTEGER NOT NULL REFERENCES outbox (id),
    close_outbox_id       INTEGER REFERENCES outbox (id)
);
-- At most one open shift on a till.
CREATE UNIQUE INDEX shifts_one_open ON shifts ((closed_at IS NULL)) WHERE closed_at IS NULL;

CREATE TRIGGER shifts_closed_are_final
BEFORE UPDATE OF cashier_id, opened_at, opening_float, closed_at, counted_cash,
    counted_denominations, expected_cash, note ON shifts
WHEN old.closed_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a closed shift cannot change');
END;

CREATE TABLE cash_movements (
    local_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    client_reference TEXT NOT NULL UNIQUE,
    shift_local_id   INTEGER NOT NULL REFERENCES shifts (local_id),
    -- pay_in | pay_out | drawer_open
    kind             TEXT NOT NULL CHECK (kind IN ('pay_in', 'pay_out', 'drawer_open')),
    amount           TEXT NOT NULL,
    reason           TEXT,
    cashier_id       INTEGER,
    cashier_name     TEXT,
    authorised_by    INTEGER,
    server_id        INTEGER,
    outbox_id        INTEGER NOT NULL REFERENCES outbox (id),
    created_at       TEXT NOT NULL
);
CREATE INDEX cash_movements_shift ON cash_movements (shift_local_id);

CREATE TRIGGER cash_movements_need_an_open_shift
BEFORE INSERT ON cash_movements
WHEN (SELECT closed_at FROM shifts WHERE local_id = new.shift_local_id) IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a closed shift cannot change');
END;

CREATE INDEX sales_shift ON sales (shift_local_id);

-- Returns against this till's sales.
CREATE TABLE sale_returns (
    local_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_reference  TEXT NOT NULL UNIQUE,
    sale_local_id     INTEGER NOT NULL REFERENCES sales (local_id),
    shift_local_id    INTEGER REFERENCES shifts (local_id),
    -- cash | payment_type | due
    refund_method     TEXT NOT NULL,
    payment_type_id   INTEGER,
    payment_type_name TEXT,
    -- The refund was cash out of the drawer.
    refund_is_cash    INTEGER NOT NULL,
    refund_amount     TEXT NOT NULL,
    vat_amount        TEXT NOT NULL,
    cashier_id        INTEGER,
    cashier_name      TEXT,
    authorised_by     INTEGER,
    server_id         INTEGER,
    outbox_id         INTEGER NOT NULL REFERENCES outbox (id),
    -- The mirror's stock has caught up with this return (a pull ran after the server took it).
    stock_settled     INTEGER NOT NULL DEFAULT 0,
    returned_at       TEXT NOT NULL
);
CREATE INDEX sale_returns_sale ON sale_returns (sale_local_id);
CREATE INDEX sale_returns_shift ON sale_returns (shift_local_id);
CREATE INDEX sale_returns_unsettled ON sale_returns (stock_settled);

CREATE TABLE sale_return_lines (
    return_local_id INTEGER NOT NULL REFERENCES sale_returns (local_id),
    line_no         INTEGER NOT NULL,
    product_id      INTEGER NOT NULL,
    stock_id        INTEGER NOT NULL,
    quantity_milli  INTEGER NOT NULL,
    amount          TEXT NOT NULL,
    vat_amount      TEXT NOT NULL,
    PRIMARY KEY (return_local_id, line_no)
);
CREATE INDEX sale_return_lines_product ON sale_return_lines (product_id);

CREATE TRIGGER sale_returns_in_an_open_shift
BEFORE INSERT ON sale_returns
WHEN (SELECT closed_at FROM shifts WHERE local_id = new.shift_local_id) IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a closed shift cannot change');
END;
CREATE TRIGGER sales_in_an_open_shift
BEFORE INSERT ON sales
WHEN (SELECT closed_at FROM shifts WHERE local_id = new.shift_local_id) IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'a closed shift cannot change');
END;
