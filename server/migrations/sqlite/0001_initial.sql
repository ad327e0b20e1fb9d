-- Change cursor: SQLite has one writer at a time, so a counter bumped inside each write
-- transaction follows commit order. The triggers stamp every insert and update of a syncable row.
CREATE TABLE change_counter (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT INTO change_counter (id, seq) VALUES (1, 0);

CREATE TABLE businesses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  company_name TEXT NOT NULL,
  currency_code TEXT NOT NULL DEFAULT 'USD',
  currency_symbol TEXT NOT NULL DEFAULT '$',
  currency_minor_units INTEGER NOT NULL DEFAULT 2 CHECK (currency_minor_units BETWEEN 0 AND 3),
  currency_position TEXT NOT NULL DEFAULT 'before' CHECK (currency_position IN ('before', 'after')),
  vat_enabled INTEGER NOT NULL DEFAULT 1,
  vat_inclusive INTEGER NOT NULL DEFAULT 0,
  invoice_prefix TEXT NOT NULL DEFAULT 'INV-',
  timezone TEXT NOT NULL DEFAULT 'UTC',
  shifts_required INTEGER NOT NULL DEFAULT 0,
  max_cashier_discount_percent TEXT,
  is_setup INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX businesses_change_cursor ON businesses (id, change_seq);

CREATE TRIGGER businesses_stamp_insert AFTER INSERT ON businesses
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE businesses SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER businesses_stamp_update AFTER UPDATE ON businesses
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE businesses SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  name TEXT NOT NULL,
  email TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
  password_hash TEXT NOT NULL,
  pin_hash TEXT,
  is_active INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX users_change_cursor ON users (business_id, change_seq);

CREATE TRIGGER users_stamp_insert AFTER INSERT ON users
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE users SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER users_stamp_update AFTER UPDATE ON users
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE users SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id),
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  revoked_at TEXT,
  replaced_at TEXT
);


CREATE TABLE categories (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  category_name TEXT NOT NULL,
  icon TEXT,
  status INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX categories_change_cursor ON categories (business_id, change_seq);

CREATE TRIGGER categories_stamp_insert AFTER INSERT ON categories
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE categories SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER categories_stamp_update AFTER UPDATE ON categories
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE categories SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE brands (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  brand_name TEXT NOT NULL,
  icon TEXT,
  status INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX brands_change_cursor ON brands (business_id, change_seq);

CREATE TRIGGER brands_stamp_insert AFTER INSERT ON brands
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE brands SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER brands_stamp_update AFTER UPDATE ON brands
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE brands SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE units (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  unit_name TEXT NOT NULL,
  status INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX units_change_cursor ON units (business_id, change_seq);

CREATE TRIGGER units_stamp_insert AFTER INSERT ON units
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE units SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER units_stamp_update AFTER UPDATE ON units
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE units SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE vats (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  name TEXT NOT NULL,
  rate TEXT NOT NULL,
  status INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX vats_change_cursor ON vats (business_id, change_seq);

CREATE TRIGGER vats_stamp_insert AFTER INSERT ON vats
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE vats SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER vats_stamp_update AFTER UPDATE ON vats
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE vats SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE payment_types (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  name TEXT NOT NULL,
  is_credit INTEGER NOT NULL DEFAULT 0,
  status INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX payment_types_change_cursor ON payment_types (business_id, change_seq);

CREATE TRIGGER payment_types_stamp_insert AFTER INSERT ON payment_types
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE payment_types SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER payment_types_stamp_update AFTER UPDATE ON payment_types
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE payment_types SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE warehouses (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  name TEXT NOT NULL,
  address TEXT,
  phone TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX warehouses_change_cursor ON warehouses (business_id, change_seq);

CREATE TRIGGER warehouses_stamp_insert AFTER INSERT ON warehouses
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE warehouses SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER warehouses_stamp_update AFTER UPDATE ON warehouses
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE warehouses SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE products (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  product_name TEXT NOT NULL,
  product_code TEXT,
  barcode TEXT,
  category_id INTEGER REFERENCES categories(id),
  brand_id INTEGER REFERENCES brands(id),
  unit_id INTEGER REFERENCES units(id),
  vat_id INTEGER REFERENCES vats(id),
  vat_type TEXT NOT NULL DEFAULT 'exclusive' CHECK (vat_type IN ('inclusive', 'exclusive')),
  product_type TEXT,
  product_purchase_price TEXT NOT NULL DEFAULT 0,
  product_sale_price TEXT NOT NULL DEFAULT 0,
  product_wholesale_price TEXT NOT NULL DEFAULT 0,
  product_dealer_price TEXT NOT NULL DEFAULT 0,
  alert_qty TEXT NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX products_change_cursor ON products (business_id, change_seq);

CREATE TRIGGER products_stamp_insert AFTER INSERT ON products
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE products SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER products_stamp_update AFTER UPDATE ON products
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE products SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE stocks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  warehouse_id INTEGER REFERENCES warehouses(id),
  batch_no TEXT,
  product_stock TEXT NOT NULL DEFAULT 0,
  product_purchase_price TEXT NOT NULL DEFAULT 0,
  product_sale_price TEXT NOT NULL DEFAULT 0,
  product_wholesale_price TEXT NOT NULL DEFAULT 0,
  product_dealer_price TEXT NOT NULL DEFAULT 0,
  mfg_date TEXT,
  expire_date TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX stocks_change_cursor ON stocks (business_id, change_seq);

CREATE TRIGGER stocks_stamp_insert AFTER INSERT ON stocks
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE stocks SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER stocks_stamp_update AFTER UPDATE ON stocks
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE stocks SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE parties (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  name TEXT NOT NULL,
  email TEXT,
  phone TEXT,
  address TEXT,
  party_type TEXT NOT NULL DEFAULT 'Customer',
  due TEXT NOT NULL DEFAULT 0,
  credit_limit TEXT,
  opening_balance TEXT NOT NULL DEFAULT 0,
  status INTEGER NOT NULL DEFAULT 1,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX parties_change_cursor ON parties (business_id, change_seq);

CREATE TRIGGER parties_stamp_insert AFTER INSERT ON parties
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE parties SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER parties_stamp_update AFTER UPDATE ON parties
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE parties SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE sync_devices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  device_id TEXT NOT NULL UNIQUE,
  device_name TEXT,
  os TEXT,
  app_version TEXT,
  user_id INTEGER REFERENCES users(id),
  registered_at TEXT NOT NULL,
  last_seen_at TEXT,
  last_sync_at TEXT,
  last_offline_seq INTEGER NOT NULL DEFAULT 0,
  is_active INTEGER NOT NULL DEFAULT 1
);


CREATE TABLE shifts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  device_id TEXT,
  local_id TEXT,
  client_reference TEXT,
  user_id INTEGER REFERENCES users(id),
  opened_at TEXT NOT NULL,
  closed_at TEXT,
  opening_float TEXT NOT NULL DEFAULT 0,
  expected_cash TEXT,
  counted_cash TEXT,
  counted_denominations TEXT,
  note TEXT,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX shifts_change_cursor ON shifts (business_id, change_seq);

CREATE TRIGGER shifts_stamp_insert AFTER INSERT ON shifts
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE shifts SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER shifts_stamp_update AFTER UPDATE ON shifts
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE shifts SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE sales (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  invoice_number TEXT NOT NULL,
  user_id INTEGER REFERENCES users(id),
  device_id TEXT,
  client_reference TEXT,
  offline_invoice_no TEXT,
  local_id TEXT,
  shift_id INTEGER REFERENCES shifts(id),
  party_id INTEGER REFERENCES parties(id),
  payment_type_id INTEGER REFERENCES payment_types(id),
  total_amount TEXT NOT NULL DEFAULT 0,
  discount_amount TEXT NOT NULL DEFAULT 0,
  vat_amount TEXT NOT NULL DEFAULT 0,
  vat_percent TEXT NOT NULL DEFAULT 0,
  paid_amount TEXT NOT NULL DEFAULT 0,
  due_amount TEXT NOT NULL DEFAULT 0,
  change_amount TEXT NOT NULL DEFAULT 0,
  is_paid INTEGER NOT NULL DEFAULT 1,
  loss_profit TEXT NOT NULL DEFAULT 0,
  sale_date TEXT NOT NULL,
  offline_timestamp TEXT,
  totals_mismatch INTEGER NOT NULL DEFAULT 0,
  meta TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX sales_change_cursor ON sales (business_id, change_seq);

CREATE TRIGGER sales_stamp_insert AFTER INSERT ON sales
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE sales SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER sales_stamp_update AFTER UPDATE ON sales
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE sales SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE sale_details (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sale_id INTEGER NOT NULL REFERENCES sales(id),
  line_no INTEGER NOT NULL,
  stock_id INTEGER REFERENCES stocks(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  quantities TEXT NOT NULL,
  price TEXT NOT NULL,
  discount TEXT NOT NULL DEFAULT 0,
  vat_id INTEGER REFERENCES vats(id),
  vat_amount TEXT NOT NULL DEFAULT 0,
  loss_profit TEXT NOT NULL DEFAULT 0,
  UNIQUE (sale_id, line_no)
);


CREATE TABLE sale_returns (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  sale_id INTEGER NOT NULL REFERENCES sales(id),
  user_id INTEGER REFERENCES users(id),
  device_id TEXT,
  local_id TEXT,
  client_reference TEXT,
  shift_id INTEGER REFERENCES shifts(id),
  refund_method TEXT NOT NULL CHECK (refund_method IN ('cash', 'payment_type', 'due')),
  payment_type_id INTEGER REFERENCES payment_types(id),
  refund_amount TEXT NOT NULL DEFAULT 0,
  authorised_by INTEGER REFERENCES users(id),
  status TEXT NOT NULL DEFAULT 'applied' CHECK (status IN ('applied', 'conflict')),
  return_date TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);


CREATE TABLE sale_return_details (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sale_return_id INTEGER NOT NULL REFERENCES sale_returns(id),
  sale_detail_id INTEGER NOT NULL REFERENCES sale_details(id),
  line_no INTEGER NOT NULL,
  quantity TEXT NOT NULL,
  amount TEXT NOT NULL DEFAULT 0
);


CREATE TABLE purchases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  invoice_number TEXT NOT NULL,
  party_id INTEGER REFERENCES parties(id),
  user_id INTEGER REFERENCES users(id),
  payment_type_id INTEGER REFERENCES payment_types(id),
  total_amount TEXT NOT NULL DEFAULT 0,
  discount_amount TEXT NOT NULL DEFAULT 0,
  paid_amount TEXT NOT NULL DEFAULT 0,
  due_amount TEXT NOT NULL DEFAULT 0,
  purchase_date TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX purchases_change_cursor ON purchases (business_id, change_seq);

CREATE TRIGGER purchases_stamp_insert AFTER INSERT ON purchases
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE purchases SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER purchases_stamp_update AFTER UPDATE ON purchases
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE purchases SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE purchase_details (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  purchase_id INTEGER NOT NULL REFERENCES purchases(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  stock_id INTEGER REFERENCES stocks(id),
  quantities TEXT NOT NULL,
  product_purchase_price TEXT NOT NULL DEFAULT 0,
  product_sale_price TEXT NOT NULL DEFAULT 0
);


CREATE TABLE purchase_returns (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  purchase_id INTEGER NOT NULL REFERENCES purchases(id),
  user_id INTEGER REFERENCES users(id),
  total_return_amount TEXT NOT NULL DEFAULT 0,
  return_date TEXT NOT NULL,
  created_at TEXT NOT NULL
);


CREATE TABLE purchase_return_details (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  purchase_return_id INTEGER NOT NULL REFERENCES purchase_returns(id),
  purchase_detail_id INTEGER NOT NULL REFERENCES purchase_details(id),
  quantity TEXT NOT NULL,
  amount TEXT NOT NULL DEFAULT 0
);


CREATE TABLE due_collects (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  party_id INTEGER NOT NULL REFERENCES parties(id),
  sale_id INTEGER REFERENCES sales(id),
  purchase_id INTEGER REFERENCES purchases(id),
  user_id INTEGER REFERENCES users(id),
  device_id TEXT,
  local_id TEXT,
  client_reference TEXT,
  shift_id INTEGER REFERENCES shifts(id),
  payment_type_id INTEGER REFERENCES payment_types(id),
  total_due TEXT NOT NULL DEFAULT 0,
  pay_amount TEXT NOT NULL,
  due_amount_after TEXT NOT NULL DEFAULT 0,
  payment_date TEXT NOT NULL,
  note TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX due_collects_change_cursor ON due_collects (business_id, change_seq);

CREATE TRIGGER due_collects_stamp_insert AFTER INSERT ON due_collects
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE due_collects SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER due_collects_stamp_update AFTER UPDATE ON due_collects
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE due_collects SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;


CREATE TABLE cash_movements (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  shift_id INTEGER NOT NULL REFERENCES shifts(id),
  user_id INTEGER REFERENCES users(id),
  device_id TEXT,
  local_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('pay_in', 'pay_out', 'drawer_open')),
  amount TEXT NOT NULL DEFAULT 0,
  reason TEXT,
  authorised_by INTEGER REFERENCES users(id),
  occurred_at TEXT NOT NULL,
  created_at TEXT NOT NULL
);


CREATE TABLE idempotency_keys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  idempotency_key TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status_code INTEGER,
  response_body BLOB,
  locked_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  UNIQUE (business_id, idempotency_key)
);


CREATE TABLE sync_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  device_id TEXT,
  user_id INTEGER REFERENCES users(id),
  kind TEXT NOT NULL,
  operations_count INTEGER NOT NULL DEFAULT 0,
  success_count INTEGER NOT NULL DEFAULT 0,
  error_count INTEGER NOT NULL DEFAULT 0,
  details TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT
);


CREATE TABLE offline_audit_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  device_id TEXT,
  user_id INTEGER REFERENCES users(id),
  entity TEXT NOT NULL,
  action TEXT NOT NULL,
  entity_id INTEGER,
  idempotency_key TEXT,
  offline_timestamp TEXT,
  server_timestamp TEXT NOT NULL,
  clock_offset_ms INTEGER,
  payload TEXT,
  diff TEXT
);


CREATE TABLE stock_discrepancy_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  stock_id INTEGER REFERENCES stocks(id),
  sale_id INTEGER REFERENCES sales(id),
  device_id TEXT,
  expected TEXT NOT NULL,
  available TEXT NOT NULL,
  discrepancy TEXT NOT NULL,
  resolution TEXT CHECK (resolution IN ('auto_adjusted', 'manual', 'backorder')),
  resolved_by INTEGER REFERENCES users(id),
  resolved_at TEXT,
  note TEXT,
  created_at TEXT NOT NULL
);


CREATE TABLE sync_conflicts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  device_id TEXT,
  entity TEXT NOT NULL,
  entity_id INTEGER,
  idempotency_key TEXT,
  reason TEXT NOT NULL,
  operation TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  resolution TEXT,
  resolved_by INTEGER REFERENCES users(id),
  resolved_at TEXT,
  created_at TEXT NOT NULL
);



-- Which server id each terminal-side id became, per device: lets a batch name records created
-- offline, and makes every create unique for ever by (entity, local_id).
CREATE TABLE local_id_map (
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  device_id TEXT NOT NULL,
  entity TEXT NOT NULL,
  local_id TEXT NOT NULL,
  server_id INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (business_id, device_id, entity, local_id)
);

-- Gap-free invoice numbers: incremented inside the transaction that writes the document.
CREATE TABLE invoice_counters (
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  kind TEXT NOT NULL,
  last_number INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (business_id, kind)
);

-- Exactly once, held by the database itself.
CREATE UNIQUE INDEX sales_client_reference ON sales (business_id, client_reference);
CREATE UNIQUE INDEX sales_invoice_number ON sales (business_id, invoice_number);
CREATE UNIQUE INDEX purchases_invoice_number ON purchases (business_id, invoice_number);
CREATE UNIQUE INDEX due_collects_client_reference ON due_collects (business_id, client_reference);
CREATE UNIQUE INDEX sale_returns_client_reference ON sale_returns (business_id, client_reference);
CREATE UNIQUE INDEX shifts_client_reference ON shifts (business_id, client_reference);

CREATE INDEX users_business ON users (business_id);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX products_barcode ON products (business_id, barcode);
CREATE INDEX products_code ON products (business_id, product_code);
CREATE INDEX stocks_product ON stocks (product_id);
CREATE INDEX sale_details_sale ON sale_details (sale_id);
CREATE INDEX sales_shift ON sales (shift_id);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
CREATE INDEX sync_logs_business ON sync_logs (business_id, started_at);
CREATE INDEX stock_discrepancy_open ON stock_discrepancy_logs (business_id, resolution);
