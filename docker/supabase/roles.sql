-- Run once by supabase/postgres's entrypoint when the database is created (mounted by
-- docker-compose.supabase.yml into /docker-entrypoint-initdb.d/init-scripts/). The image makes
-- the service roles without passwords; the services beside medium log in as these:
-- supabase_auth_admin (auth, GoTrue), supabase_admin (realtime) and authenticator.
\set pgpass `echo "$POSTGRES_PASSWORD"`

ALTER USER supabase_auth_admin WITH PASSWORD :'pgpass';
ALTER USER authenticator WITH PASSWORD :'pgpass';
ALTER USER supabase_admin WITH PASSWORD :'pgpass';
