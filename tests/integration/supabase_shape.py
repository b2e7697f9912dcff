"""A Supabase-shaped database on the local Postgres, without Docker: what a Supabase project
has before our migrations run, built as superuser in a fresh database, then migrated by a role
that is not a superuser (like Supabase's ``postgres``).

Written from supabase/postgres (migrations/db/init-scripts, migrations/db/migrations:
demote-postgres, 20250421084701_revoke_admin_roles_from_postgres) and supabase/realtime
(tenants/repo/migrations: realtime.topic(), realtime.send(), realtime.messages and its grants):

* roles ``anon``, ``authenticated``, ``service_role`` (NOLOGIN NOINHERIT; service_role BYPASSRLS),
  which the migrating role may SET ROLE to (Supabase grants them to postgres WITH ADMIN OPTION);
* the migrating role ``medium_migrator``: NOSUPERUSER CREATEDB CREATEROLE BYPASSRLS, ALL on the
  database and CREATE on ``public``, like Supabase's demoted ``postgres``;
* schema ``auth`` owned by ``supabase_auth_admin``, with ``auth.users`` and Supabase's
  ``auth.uid()``, ``auth.role()``, ``auth.jwt()`` (reading request.jwt.claim(s)); the migrating
  role has USAGE and ALL on auth's tables but no CREATE on auth (revoked 2025-04-21);
* schema ``realtime`` with ``messages`` (RLS on), ``topic()`` and ``send(payload, event,
  topic, private)``, owned by ``supabase_realtime_admin``; the migrating role is a member of it
  (how Supabase lets postgres manage policies on realtime.messages where supautils'
  policy_grants is absent) and has no CREATE on ``realtime``;
* publication ``supabase_realtime``;
* Supabase's default privileges: whatever the migrating role creates in ``public`` (tables,
  functions, sequences) is granted ALL to anon, authenticated and service_role.

Roles are cluster-wide and created only when missing, so many such databases (and the plain
test databases, whose shim makes anon/authenticated/service_role alike) share one server.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from synthesis import migrations, store

MIGRATOR = "medium_migrator"
MIGRATOR_PASSWORD = "medium_migrator"  # for servers that do not trust local connections

ROLES_SQL = f"""
DO $$
DECLARE
  spec text[];
BEGIN
  FOREACH spec SLICE 1 IN ARRAY ARRAY[
    ['anon', 'NOLOGIN NOINHERIT'],
    ['authenticated', 'NOLOGIN NOINHERIT'],
    ['service_role', 'NOLOGIN NOINHERIT BYPASSRLS'],
    ['supabase_auth_admin', 'NOLOGIN NOINHERIT CREATEROLE'],
    ['supabase_realtime_admin', 'NOLOGIN NOINHERIT'],
    ['{MIGRATOR}', 'LOGIN NOSUPERUSER CREATEDB CREATEROLE BYPASSRLS PASSWORD ''{MIGRATOR_PASSWORD}''']
  ] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = spec[1]) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', spec[1], spec[2]);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another test process made it first
      END;
    END IF;
  END LOOP;
END
$$;
GRANT anon, authenticated, service_role TO {MIGRATOR} WITH ADMIN OPTION;
GRANT supabase_realtime_admin TO {MIGRATOR};
"""


def shape_sql(dbname: str) -> str:
    """What the platform builds in database ``dbname`` (run there as superuser)."""
    return f"""
GRANT ALL ON DATABASE "{dbname}" TO {MIGRATOR};
GRANT USAGE, CREATE ON SCHEMA public TO {MIGRATOR};
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

CREATE SCHEMA auth AUTHORIZATION supabase_auth_admin;
CREATE TABLE auth.users (
  instance_id        uuid,
  id                 uuid NOT NULL PRIMARY KEY,
  aud                varchar(255),
  role               varchar(255),
  email              varchar(255),
  raw_app_meta_data  jsonb,
  raw_user_meta_data jsonb,
  is_sso_user        boolean NOT NULL DEFAULT false,
  created_at         timestamptz,
  updated_at         timestamptz
);
CREATE UNIQUE INDEX users_email_partial_key ON auth.users (email) WHERE is_sso_user = false;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
ALTER TABLE auth.users OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.role() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.jwt() OWNER TO supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role, {MIGRATOR};
GRANT ALL ON ALL TABLES IN SCHEMA auth TO {MIGRATOR};
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA auth TO anon, authenticated, service_role, {MIGRATOR};

CREATE SCHEMA realtime;
CREATE TABLE realtime.messages (
  topic       text NOT NULL,
  extension   text NOT NULL,
  payload     jsonb,
  event       text,
  private     boolean DEFAULT false,
  updated_at  timestamp NOT NULL DEFAULT now(),
  inserted_at timestamp NOT NULL DEFAULT now(),
  id          uuid NOT NULL DEFAULT gen_random_uuid(),
  PRIMARY KEY (id, inserted_at)
);
ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('realtime.topic', true), '')::text
$$;
CREATE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  generated uuid := gen_random_uuid();
BEGIN
  BEGIN
    PERFORM set_config('realtime.topic', topic, true);
    INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
    VALUES (generated,
            CASE WHEN payload ? 'id' THEN payload ELSE jsonb_set(payload, '{{id}}', to_jsonb(generated)) END,
            event, topic, private, 'broadcast');
  EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'ErrorSendingBroadcastMessage: %', SQLERRM;
  END;
END
$$;
ALTER TABLE realtime.messages OWNER TO supabase_realtime_admin;
ALTER FUNCTION realtime.topic() OWNER TO supabase_realtime_admin;
ALTER FUNCTION realtime.send(jsonb, text, text, boolean) OWNER TO supabase_realtime_admin;
GRANT USAGE ON SCHEMA realtime TO {MIGRATOR}, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE ON realtime.messages TO {MIGRATOR}, anon, authenticated, service_role;

CREATE PUBLICATION supabase_realtime;

ALTER DEFAULT PRIVILEGES FOR ROLE {MIGRATOR} IN SCHEMA public
  GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE {MIGRATOR} IN SCHEMA public
  GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE {MIGRATOR} IN SCHEMA public
  GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
"""


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def as_migrator(url: str) -> str:
    """``url`` with the migrating role (and its password) as the user."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{MIGRATOR}:{MIGRATOR_PASSWORD}@{host}"))


async def _run(url: str, sql: str) -> None:
    conn = await store.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create(server_url: str, dbname: str, *, template: str | None = None) -> str:
    """Create database ``dbname`` (Supabase-shaped, or a copy of ``template``, which is one)
    and return the migrating role's URL to it."""
    admin = with_database(server_url, "postgres")
    await _run(admin, ROLES_SQL)
    if template is None:
        await _run(admin, f'CREATE DATABASE "{dbname}"')
        await _run(with_database(server_url, dbname), shape_sql(dbname))
    else:
        await _run(admin, f'CREATE DATABASE "{dbname}" TEMPLATE "{template}"')
        await _run(admin, f'GRANT ALL ON DATABASE "{dbname}" TO {MIGRATOR}')
    return as_migrator(with_database(server_url, dbname))


async def create_migrated(server_url: str, dbname: str) -> str:
    """A Supabase-shaped database with the whole migration history applied by the migrator."""
    url = await create(server_url, dbname)
    await migrations.apply(url)
    return url


async def drop(server_url: str, dbname: str) -> None:
    await _run(with_database(server_url, "postgres"), f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
