-- The back office: what the business tells its customers and prints on its invoices, and
-- product variants (versioned and stamped like every catalog row).
ALTER TABLE businesses ADD COLUMN business_category_id INTEGER;
ALTER TABLE businesses ADD COLUMN address TEXT;
ALTER TABLE businesses ADD COLUMN email TEXT;
ALTER TABLE businesses ADD COLUMN phone_number TEXT;
ALTER TABLE businesses ADD COLUMN vat_name TEXT;
ALTER TABLE businesses ADD COLUMN vat_no TEXT;
ALTER TABLE businesses ADD COLUMN shop_opening_balance TEXT NOT NULL DEFAULT '0';
ALTER TABLE businesses ADD COLUMN invoice_size TEXT NOT NULL DEFAULT 'a4'
  CHECK (invoice_size IN ('a4', '3_inch_80mm', '2_inch_58mm'));
ALTER TABLE businesses ADD COLUMN sale_rounding_option TEXT NOT NULL DEFAULT 'none';
ALTER TABLE businesses ADD COLUMN gratitude_message TEXT;
ALTER TABLE businesses ADD COLUMN invoice_note TEXT;

CREATE TABLE product_variants (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  business_id INTEGER NOT NULL REFERENCES businesses(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  sku TEXT NOT NULL,
  barcode TEXT,
  price TEXT,
  cost_price TEXT,
  wholesale_price TEXT,
  dealer_price TEXT,
  weight TEXT,
  image TEXT,
  is_active INTEGER NOT NULL DEFAULT 1,
  sort_order INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  deleted_at TEXT,
  change_seq INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX product_variants_change_cursor ON product_variants (business_id, change_seq);
CREATE INDEX product_variants_product ON product_variants (business_id, product_id);
CREATE INDEX product_variants_barcode ON product_variants (business_id, barcode);

CREATE TRIGGER product_variants_stamp_insert AFTER INSERT ON product_variants
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE product_variants SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

-- The stamp itself changes change_seq, so it does not fire this trigger again.
CREATE TRIGGER product_variants_stamp_update AFTER UPDATE ON product_variants
  WHEN NEW.change_seq IS OLD.change_seq
BEGIN
  UPDATE change_counter SET seq = seq + 1 WHERE id = 1;
  UPDATE product_variants SET change_seq = (SELECT seq FROM change_counter WHERE id = 1) WHERE id = NEW.id;
END;

CREATE INDEX stocks_expiry ON stocks (business_id, expire_date);
CREATE INDEX api_tokens_live ON api_tokens (user_id, revoked_at);
