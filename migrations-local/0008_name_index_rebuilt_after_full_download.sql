-- Version 8: a full download rebuilds the name index once at its end instead of row by row.
-- While `name_index_stale` is 1 the triggers leave `products_fts` alone; the flag is set in the
-- transaction of the first downloaded product page and cleared in the one that rebuilds the
-- index, so a download cut short by a crash still gets its index rebuilt (at the next open).
ALTER TABLE terminal_state ADD COLUMN name_index_stale INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER products_fts_insert;
DROP TRIGGER products_fts_delete;
DROP TRIGGER products_fts_update;
CREATE TRIGGER products_fts_insert AFTER INSERT ON products
WHEN (SELECT name_index_stale FROM terminal_state WHERE id = 1) IS NOT 1 BEGIN
    INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products
WHEN (SELECT name_index_stale FROM terminal_state WHERE id = 1) IS NOT 1 BEGIN
    INSERT INTO products_fts (products_fts, rowid, name) VALUES ('delete', old.id, old.name);
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF name ON products
WHEN old.name IS NOT new.name
 AND (SELECT name_index_stale FROM terminal_state WHERE id = 1) IS NOT 1 BEGIN
    INSERT INTO products_fts (products_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name);
END;
