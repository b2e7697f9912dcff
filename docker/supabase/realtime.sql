-- Run once by supabase/postgres's entrypoint (mounted into
-- /docker-entrypoint-initdb.d/migrations/): the schema the realtime service keeps its own
-- tenants in (its DB_AFTER_CONNECT_QUERY sets search_path to it).
\set pguser `echo "$POSTGRES_USER"`

CREATE SCHEMA IF NOT EXISTS _realtime;
ALTER SCHEMA _realtime OWNER TO :"pguser";
