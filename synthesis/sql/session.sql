-- Named queries run on a dedicated connection (``store.connect``), never a pooled one:
-- session state such as an advisory lock lives and dies with that connection.

-- name: try_claim_session
-- The worker's claim session (see claim_due_windows): held until the connection ends.
SELECT pg_try_advisory_lock(1835361385, $1);

-- name: try_advisory_lock
-- Session-level: held until unlocked or the connection closes (the actor leader's lock).
SELECT pg_try_advisory_lock($1);

-- name: connection_ping
SELECT 1;
