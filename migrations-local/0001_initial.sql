-- The till's local store, version 1. Released migrations are never edited: add a new file.
--
-- Money is stored as TEXT holding an exact decimal; quantities as INTEGER thousandths
-- (`*_milli`), so stock sums stay exact in SQL. Timestamps are RFC 3339 UTC text.

-- Mirrors of the server's entities. Each keeps the record as the server sent it (`data`) and
-- the columns the till searches or joins on.
CREATE TABLE categories (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    icon    TEXT,
    status  INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
);

CREATE TABLE brands (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
);

CREATE TABLE units (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
);

CREATE TABLE vats (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    rate    TEXT NOT NULL,
    active  INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
);

CREATE TABLE payment_types (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    is_credit INTEGER NOT NULL,
    status    INTEGER NOT NULL,
    version   INTEGER NOT NULL,
    data      TEXT NOT NULL
);

CREATE TABLE warehouses (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    code        TEXT,
    barcode     TEXT,
    category_id INTEGER,
    vat_id      INTEGER,
    sale_price  TEXT NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX products_code ON products (code);
CREATE INDEX products_barcode ON products (barcode);
CREATE INDEX products_category ON products (category_id, name);

-- Word-prefix search over product names, kept in step with `products` by triggers.
CREATE VIRTUAL TABLE products_fts USING fts5 (
    name,
    content = 'products',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF name ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name);
END;

CREATE TABLE stocks (
    id            INTEGER PRIMARY KEY,
    product_id    INTEGER NOT NULL,
    warehouse_id  INTEGER,
    quantity_milli INTEGER NOT NULL,
    sale_price    TEXT NOT NULL,
    version       INTEGER NOT NULL,
    data          TEXT NOT NULL
);
CREATE INDEX stocks_product ON stocks (product_id, id);

CREATE TABLE parties (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    phone   TEXT,
    email   TEXT,
    type    TEXT NOT NULL,
    due     TEXT NOT NULL,
    version INTEGER NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX parties_name ON parties (name COLLATE NOCASE);

-- The business settings object (protocol Settings), one row.
CREATE TABLE settings (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL
);

-- This terminal's identity and sync position, one row. The token is NOT here: it lives in the
-- OS credential store.
CREATE TABLE terminal_state (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    device_id         TEXT NOT NULL,
    device_name       TEXT NOT NULL,
    server_url        TEXT,
    -- The signed-in user and business (no secret), JSON; NULL when signed out.
    session           TEXT,
    registered_at     TEXT,
    sync_token        TEXT,
    -- Highest offline number the server reported for this device at registration.
    last_offline_seq  INTEGER NOT NULL DEFAULT 0,
    -- The N the next sale takes; never goes down.
    next_offline_seq  INTEGER NOT NULL DEFAULT 1,
    last_sync_at      TEXT,
    last_contact_ok   INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    client_too_old    INTEGER NOT NULL DEFAULT 0,
    -- Server clock minus local clock, from X-Server-Timestamp.
    clock_offset_ms   INTEGER NOT NULL DEFAULT 0
);

-- Operations waiting for, sent to, or answered by the server, in the order they happened.
CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key   TEXT NOT NULL UNIQUE,
    entity            TEXT NOT NULL,
    action            TEXT NOT NULL,
    payload           TEXT NOT NULL,
    -- queued | sent | done | failed | conflict | discarded
    state             TEXT NOT NULL DEFAULT 'queued',
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   TEXT,
    last_error        TEXT,
    error_code        TEXT,
    -- The server's OperationResult, JSON, once answered.
    result            TEXT,
    -- An operation this one needs applied first (e.g. the party a sale names).
    depends_on        INTEGER REFERENCES outbox (id),
    summary           TEXT NOT NULL,
    offline_timestamp TEXT NOT NULL,
    clock_offset_ms   INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX outbox_state ON outbox (state, id);

-- Customers created at this till. `local_key` (a UUID) is their local id on the wire.
CREATE TABLE local_parties (
    local_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    local_key  TEXT NOT NULL UNIQUE,
    server_id  INTEGER,
    name       TEXT NOT NULL,
    phone      TEXT,
    email      TEXT,
    address    TEXT,
    type       TEXT NOT NULL,
    outbox_id  INTEGER NOT NULL REFERENCES outbox (id),
    created_at TEXT NOT NULL
);

-- Sales rung up at this till: the offline sale is the truth.
CREATE TABLE sales (
    local_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    client_reference   TEXT NOT NULL UNIQUE,
    offline_invoice_no TEXT NOT NULL UNIQUE,
    offline_seq        INTEGER NOT NULL UNIQUE,
    server_id          INTEGER,
    invoice_number     TEXT,
    cashier_id         INTEGER,
    cashier_name       TEXT,
    -- Shifts come later; a sale may then name its shift.
    shift_local_id     INTEGER,
    party_id           INTEGER,
    party_local_id     INTEGER REFERENCES local_parties (local_id),
    party_name         TEXT,
    subtotal           TEXT NOT NULL,
    line_discount      TEXT NOT NULL,
    cart_discount      TEXT NOT NULL,
    vat_amount         TEXT NOT NULL,
    vat_inclusive      INTEGER NOT NULL,
    total_amount       TEXT NOT NULL,
    tendered           TEXT NOT NULL,
    paid_amount        TEXT NOT NULL,
    due_amount         TEXT NOT NULL,
    change_amount      TEXT NOT NULL,
    payment_type_id    INTEGER NOT NULL,
    payment_type_name  TEXT NOT NULL,
    sale_date          TEXT NOT NULL,
    outbox_id          INTEGER NOT NULL REFERENCES outbox (id),
    -- The mirror's stock has caught up with this sale (a pull ran after the server took it).
    stock_settled      INTEGER NOT NULL DEFAULT 0,
    warnings           TEXT NOT NULL DEFAULT '[]',
    created_at         TEXT NOT NULL
);
CREATE INDEX sales_unsettled ON sales (stock_settled);

CREATE TABLE sale_lines (
    sale_local_id  INTEGER NOT NULL REFERENCES sales (local_id),
    line_no        INTEGER NOT NULL,
    stock_id       INTEGER NOT NULL,
    product_id     INTEGER NOT NULL,
    name           TEXT NOT NULL,
    quantity_milli INTEGER NOT NULL,
    price          TEXT NOT NULL,
    line_discount  TEXT NOT NULL,
    cart_discount_share TEXT NOT NULL,
    vat_id         INTEGER,
    vat_rate       TEXT NOT NULL,
    vat_amount     TEXT NOT NULL,
    total          TEXT NOT NULL,
    -- Returns come later: quantity already returned against this line.
    returned_milli INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sale_local_id, line_no)
);
CREATE INDEX sale_lines_product ON sale_lines (product_id);

-- Carts put aside to serve someone else.
CREATE TABLE held_carts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    label      TEXT NOT NULL,
    cart       TEXT NOT NULL,
    held_at    TEXT NOT NULL
);

CREATE TABLE due_collections (
    local_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    client_reference TEXT NOT NULL UNIQUE,
    party_id         INTEGER,
    party_local_id   INTEGER REFERENCES local_parties (local_id),
    party_name       TEXT NOT NULL,
    sale_local_id    INTEGER REFERENCES sales (local_id),
    amount           TEXT NOT NULL,
    payment_type_id  INTEGER NOT NULL,
    note             TEXT,
    shift_local_id   INTEGER,
    server_id        INTEGER,
    outbox_id        INTEGER NOT NULL REFERENCES outbox (id),
    collected_at     TEXT NOT NULL
);

-- Which server id each local id became, per entity.
CREATE TABLE id_map (
    entity     TEXT NOT NULL,
    local_key  TEXT NOT NULL,
    server_id  INTEGER NOT NULL,
    mapped_at  TEXT NOT NULL,
    PRIMARY KEY (entity, local_key)
);

-- Operations a person took out of the queue, and why.
CREATE TABLE outbox_audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id       INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    entity          TEXT NOT NULL,
    action          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    previous_state  TEXT NOT NULL,
    last_error      TEXT,
    event           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    by_user         TEXT,
    at              TEXT NOT NULL
);
