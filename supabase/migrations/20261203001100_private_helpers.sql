-- The RLS helpers move out of `public`, which Supabase's Data API exposes as RPC, into
-- `medium_private`, which it does not (a project exposes the schemas it lists; this one is
-- never listed). Policies keep working: they name the functions by oid, not by schema.
-- `authenticated` may still execute them (its policies call them), nobody may create there,
-- and each runs with a pinned search_path; their bodies name every object by schema.

CREATE SCHEMA IF NOT EXISTS medium_private;
REVOKE ALL ON SCHEMA medium_private FROM PUBLIC;
GRANT USAGE ON SCHEMA medium_private TO authenticated, service_role;

ALTER FUNCTION public.medium_is_member(uuid) SET SCHEMA medium_private;
ALTER FUNCTION public.medium_is_gm(uuid) SET SCHEMA medium_private;
ALTER FUNCTION public.medium_owns_character(uuid, uuid) SET SCHEMA medium_private;
ALTER FUNCTION public.medium_affiliation_known(uuid, uuid) SET SCHEMA medium_private;

ALTER FUNCTION medium_private.medium_is_member(uuid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION medium_private.medium_is_gm(uuid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION medium_private.medium_owns_character(uuid, uuid) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION medium_private.medium_affiliation_known(uuid, uuid) SET search_path = pg_catalog, pg_temp;

-- Supabase Realtime authorises a channel join by setting role, `realtime.topic` and
-- request.jwt.claims, then selecting a realtime.messages row of that topic: these policies
-- decide. A frame topic is read by the frame's members (the GM is one); a user topic only by
-- that user. The frame id is cast only inside a CASE branch whose topic has a uuid's shape, so
-- a malformed topic is refused, never an error (AND does not fix the order of evaluation).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'realtime' AND c.relname = 'messages') THEN
    EXECUTE 'DROP POLICY IF EXISTS medium_frame_topics ON realtime.messages';
    EXECUTE 'DROP POLICY IF EXISTS medium_user_topics ON realtime.messages';
    EXECUTE $p$
      CREATE POLICY medium_frame_topics ON realtime.messages FOR SELECT TO authenticated
      USING (CASE WHEN (SELECT realtime.topic())
                       ~* '^frame:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                  THEN medium_private.medium_is_member(substring((SELECT realtime.topic()) FROM 7)::uuid)
                  ELSE false END)
    $p$;
    EXECUTE $p$
      CREATE POLICY medium_user_topics ON realtime.messages FOR SELECT TO authenticated
      USING (coalesce((SELECT realtime.topic()) = 'user:' || (SELECT auth.uid())::text, false))
    $p$;
  END IF;
END
$$;
