-- Named queries of the migration runner (synthesis/migrations.py), on its dedicated connection.
-- medium's own history lives in medium_private (not exposed by Supabase's Data API); the
-- Supabase CLI's is supabase_migrations.schema_migrations (version text PRIMARY KEY, statements
-- text[], name text: supabase/cli pkg/migration/history.go), written only when it exists.

-- name: migrations_lock
SELECT pg_advisory_lock($1);

-- name: migrations_unlock
SELECT pg_advisory_unlock($1);

-- name: migrations_prepare_history
-- Create medium's history table in medium_private, moving it there from public (where runners
-- before issue 13 kept it) on an existing install; when both exist, public's rows are merged in.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'medium_private') THEN
    CREATE SCHEMA medium_private;
    REVOKE ALL ON SCHEMA medium_private FROM PUBLIC;
  END IF;
  IF to_regclass('public.medium_migrations') IS NOT NULL THEN
    IF to_regclass('medium_private.medium_migrations') IS NULL THEN
      ALTER TABLE public.medium_migrations SET SCHEMA medium_private;
    ELSE
      INSERT INTO medium_private.medium_migrations (name, checksum, applied_at)
      SELECT name, checksum, applied_at FROM public.medium_migrations
      ON CONFLICT (name) DO NOTHING;
      DROP TABLE public.medium_migrations;
    END IF;
  END IF;
  CREATE TABLE IF NOT EXISTS medium_private.medium_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );
  REVOKE ALL ON TABLE medium_private.medium_migrations FROM PUBLIC;
END
$$;

-- name: migrations_applied
SELECT name, checksum FROM medium_private.medium_migrations;

-- name: migrations_record
INSERT INTO medium_private.medium_migrations (name, checksum) VALUES ($1, $2);

-- name: migrations_adopt
-- Files the Supabase CLI applied (their version is in its history): recorded as applied here.
INSERT INTO medium_private.medium_migrations (name, checksum)
SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (name) DO NOTHING;

-- name: migrations_cli_present
SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL;

-- name: migrations_cli_versions
SELECT version FROM supabase_migrations.schema_migrations;

-- name: migrations_cli_record
-- What `supabase db push` writes for a file it applies: (version, name, statements). A file
-- applied by medium is recorded with its text as the one statement; a file another one stood
-- in for (`-- replaces:`) with none, so the CLI never runs it either.
INSERT INTO supabase_migrations.schema_migrations (version, name, statements)
SELECT v, n, CASE WHEN s IS NULL THEN '{}'::text[] ELSE ARRAY[s] END
FROM unnest($1::text[], $2::text[], $3::text[]) AS t (v, n, s)
ON CONFLICT (version) DO NOTHING;
