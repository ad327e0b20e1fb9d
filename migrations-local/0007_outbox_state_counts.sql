-- Version 7: the queue's counts per state, kept by triggers in the same transaction as every
-- change of the queue, so the status after a sale costs one small read instead of a scan of
-- every pending operation (which grew with the outage).
CREATE TABLE outbox_state_counts (
    state TEXT PRIMARY KEY,
    n     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO outbox_state_counts (state, n) SELECT state, COUNT(*) FROM outbox GROUP BY state;

CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO outbox_state_counts (state, n) VALUES (new.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_counts_update AFTER UPDATE OF state ON outbox
WHEN old.state IS NOT new.state BEGIN
    UPDATE outbox_state_counts SET n = n - 1 WHERE state = old.state;
    INSERT INTO outbox_state_counts (state, n) VALUES (new.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox BEGIN
    UPDATE outbox_state_counts SET n = n - 1 WHERE state = old.state;
END;
