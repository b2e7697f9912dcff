-- replaces: 20261121000000_supabase_shim.sql
-- What a Supabase project already has, for plain Postgres: roles anon / authenticated /
-- service_role, schema auth, auth.users, auth.uid(), auth.role(), auth.jwt(), publication
-- supabase_realtime. Each is created only when the catalog says it is missing, and only where
-- this role may create it; grants are made only where this role holds the grant option.
--
-- It stands in for 20261121000000_supabase_shim.sql (see synthesis/migrations.py): that file's
-- `CREATE TABLE IF NOT EXISTS auth.users` fails on Supabase with 42501, because since
-- 2025-04-21 its `postgres` role has no CREATE on auth and the privilege check comes before
-- IF NOT EXISTS. A database that applied the old file runs this one in its own turn, where it
-- finds everything present (it is idempotent).

DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN NOINHERIT%s', r,
                       CASE WHEN r = 'service_role' THEN ' BYPASSRLS' ELSE '' END);
      EXCEPTION WHEN unique_violation OR duplicate_object THEN
        NULL;  -- roles are cluster-wide: a concurrent migration of another database made it
      END;
    END IF;
    -- The connecting role must be able to SET ROLE to the API roles (Supabase's postgres can).
    IF NOT pg_has_role(current_user, r, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', r, current_user);
    END IF;
  END LOOP;
END
$$;

DO $$
DECLARE
  may_create boolean;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth') THEN
    CREATE SCHEMA auth;
  END IF;
  may_create := has_schema_privilege('auth', 'CREATE');

  IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = 'auth' AND c.relname = 'users') THEN
    IF NOT may_create THEN
      RAISE EXCEPTION USING ERRCODE = '42501',
        MESSAGE = 'auth.users is missing and this role may not create it in schema auth',
        HINT = 'Supabase provides auth.users; on plain Postgres run as the owner of schema auth';
    END IF;
    CREATE TABLE auth.users (
      id                 uuid PRIMARY KEY,
      email              text,
      raw_user_meta_data jsonb DEFAULT '{}'::jsonb,
      created_at         timestamptz DEFAULT now()
    );
  END IF;

  IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'auth' AND p.proname = 'uid') THEN
    IF NOT may_create THEN
      RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'auth.uid() is missing and this role may not create it';
    END IF;
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
      SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
      )::uuid
    $f$;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'auth' AND p.proname = 'role') THEN
    IF NOT may_create THEN
      RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'auth.role() is missing and this role may not create it';
    END IF;
    CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
      )::text
    $f$;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'auth' AND p.proname = 'jwt') THEN
    IF NOT may_create THEN
      RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'auth.jwt() is missing and this role may not create it';
    END IF;
    CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $f$
      SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
    $f$;
  END IF;
END
$$;

-- The API roles read the claims. Supabase granted this already; plain Postgres, where this
-- role owns auth, grants it here. Without the grant option there is nothing to grant.
DO $$
DECLARE f regprocedure;
BEGIN
  IF has_schema_privilege('auth', 'USAGE WITH GRANT OPTION') THEN
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
  END IF;
  FOREACH f IN ARRAY ARRAY['auth.uid()', 'auth.role()', 'auth.jwt()']::regprocedure[] LOOP
    IF has_function_privilege(f, 'EXECUTE WITH GRANT OPTION') THEN
      EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO anon, authenticated, service_role', f);
    END IF;
  END LOOP;
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
END
$$;
