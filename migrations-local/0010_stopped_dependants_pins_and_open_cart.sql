-- Version 10: operations behind a stopped parent are failed, not waiting unseen; cashiers' PINs
-- and roles come from the server; the cart being rung up survives a restart.

-- An operation whose parent failed, went into conflict or was discarded used to stay queued
-- for ever without an error. It is now failed with DEPENDENCY_FAILED, naming its parent, like
-- the engine does from this version on (outbox.rs); dependants of those follow.
WITH RECURSIVE stuck (id) AS (
    SELECT o.id FROM outbox o JOIN outbox p ON p.id = o.depends_on
    WHERE o.state IN ('queued', 'sent') AND p.state IN ('failed', 'conflict', 'discarded')
    UNION
    SELECT o.id FROM outbox o JOIN stuck s ON o.depends_on = s.id
    WHERE o.state IN ('queued', 'sent')
)
UPDATE outbox
SET state = 'failed',
    error_code = 'DEPENDENCY_FAILED',
    next_attempt_at = NULL,
    last_error = (
        SELECT 'waits for operation ' || p.id || ' (' || p.summary || '), which '
            || CASE p.state
                   WHEN 'failed' THEN 'the server rejected'
                   WHEN 'conflict' THEN 'is in conflict'
                   WHEN 'discarded' THEN 'was discarded'
                   ELSE 'stopped'
               END
            || COALESCE(' (' || p.last_error || ')', '')
        FROM outbox p WHERE p.id = outbox.depends_on
    )
WHERE id IN (SELECT id FROM stuck);

-- 1: the row mirrors the server's user (PIN hash, name and role as the back office set them);
-- 0: the PIN was set at this till. The server's row replaces a till's row for the same user.
ALTER TABLE cashiers ADD COLUMN from_server INTEGER NOT NULL DEFAULT 0;

-- The cart being rung up (at most one row), written with every change and emptied in the
-- transaction that completes, holds or cancels it: a till that stops mid-sale finds it again.
CREATE TABLE open_cart (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    cart       TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
