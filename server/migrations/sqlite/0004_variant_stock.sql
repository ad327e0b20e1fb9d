-- Stock of a product variant, and the attribute values (size, colour, ...) a variant is made
-- of: their ids, ascending and comma-separated, so equal sets compare equal as text.
ALTER TABLE stocks ADD COLUMN variant_id INTEGER REFERENCES product_variants(id);
ALTER TABLE product_variants ADD COLUMN attribute_values TEXT;

CREATE INDEX stocks_variant ON stocks (business_id, variant_id);
