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

-- name: realtime_setting_present
SELECT to_regclass('medium_private.settings') IS NOT NULL;

-- name: set_realtime_setting
-- The database's realtime switch ('notify' or 'supabase'), which the events trigger reads
-- (migration ..._broadcast_v2): every writer honours it, whatever its own settings.
INSERT INTO medium_private.settings (name, value) VALUES ('realtime', $1)
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
WHERE medium_private.settings.value IS DISTINCT FROM EXCLUDED.value;

-- name: realtime_setting
SELECT coalesce((SELECT value FROM medium_private.settings WHERE name = 'realtime'), 'notify');
