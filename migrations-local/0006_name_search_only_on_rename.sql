-- Version 6: the name index is touched only when a name really changes.
-- Every mirror upsert sets `name`, so the update trigger fired for each changed product even
-- when only its price or stock moved, deleting and re-adding the same words in the FTS index.
DROP TRIGGER products_fts_update;
CREATE TRIGGER products_fts_update AFTER UPDATE OF name ON products
WHEN old.name IS NOT new.name BEGIN
    INSERT INTO products_fts (products_fts, rowid, name) VALUES ('delete', old.id, old.name);
    INSERT INTO products_fts (rowid, name) VALUES (new.id, new.name);
END;
