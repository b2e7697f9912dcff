-- Instance settings (issue 14, item 3): what an instance admin (MEDIUM_ADMIN_USERS) changes at
-- runtime, one row per key (synthesis/instance.py names and validates the keys). Read and
-- written by the API as the service; players get no grant (RLS on, no policy).

CREATE TABLE public.instance_settings (
  key        text PRIMARY KEY CHECK (key ~ '^[a-z_]{1,64}$'),
  value      jsonb NOT NULL,
  updated_by uuid REFERENCES auth.users (id) ON DELETE SET NULL,
  updated_at timestamptz NOT NULL
);
ALTER TABLE public.instance_settings ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.instance_settings FROM PUBLIC, anon, authenticated;
GRANT ALL ON public.instance_settings TO service_role;
