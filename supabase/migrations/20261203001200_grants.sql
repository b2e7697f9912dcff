-- Grants that hold under any default privileges (issue 13, item 3). A Supabase project grants
-- ALL on every table, sequence and function its `postgres` role creates in `public` to anon,
-- authenticated and service_role (ALTER DEFAULT PRIVILEGES), and Postgres grants EXECUTE on
-- every function to PUBLIC. Table-level ALL would undo the column privileges that keep
-- `internal` from players, and EXECUTE would open every function as an RPC. So: everything
-- this role owns in `public` and `medium_private` is revoked from PUBLIC, anon and
-- authenticated, then exactly what RLS is meant to allow is granted back; service_role (the
-- trusted server key, BYPASSRLS) gets everything; defaults for later objects grant nothing.
-- A table, sequence or function added later must grant its players' share itself.

DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('public', 'medium_private') AND c.relowner = current_user::regrole
             AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') LOOP
    IF r.relkind = 'S' THEN
      EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC, anon, authenticated', r.rel);
      EXECUTE format('GRANT ALL ON SEQUENCE %s TO service_role', r.rel);
    ELSE
      EXECUTE format('REVOKE ALL ON TABLE %s FROM PUBLIC, anon, authenticated', r.rel);
      EXECUTE format('GRANT ALL ON TABLE %s TO service_role', r.rel);
    END IF;
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname IN ('public', 'medium_private') AND p.proowner = current_user::regrole
             AND p.prokind IN ('f', 'p') LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', r.fn);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', r.fn);
  END LOOP;
END
$$;

ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM anon, authenticated;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM anon, authenticated;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Players (`authenticated`; RLS picks the rows). anon gets nothing.
GRANT SELECT ON public.frames, public.frame_members, public.memberships, public.content,
  public.windows, public.outcomes, public.events TO authenticated;
-- `internal` is never a player's column: a character's owner reads its own through the API.
GRANT SELECT (id, frame_id, name, handle, user_id, universal, external, model, created_at)
  ON public.characters TO authenticated;
GRANT SELECT (id, frame_id, name, universal, external, created_at)
  ON public.affiliations TO authenticated;
-- A solid's directive (the prompt, with its character's private layers) is the GM's, through
-- the API; a player reads every other column of the solids RLS lets it see.
GRANT SELECT (id, frame_id, window_id, seq, character_id, user_id, narrative, outcome_ids,
              source_liquid_ids, participant_user_ids, trigger_mode, synthesis_pscale, face,
              incorporated_through, game_clock, model, narrator, summarised, prompt_tokens,
              completion_tokens, llm_ms, created_at)
  ON public.solid TO authenticated;
-- Liquid: a player writes only the action. Everything else (submitter, soft analysis, status,
-- window, times) is the server's: the trigger of ..._liquid_server_fields sets it for a
-- player's insert, and a draft's text is all a player may edit.
GRANT SELECT, DELETE ON public.liquid TO authenticated;
GRANT INSERT (frame_id, character_id, content, client_key), UPDATE (content)
  ON public.liquid TO authenticated;

-- The RLS helpers: their policies run as authenticated. Nothing else in either schema is
-- executable by a player; public's functions are the service's plumbing (`_v2`) and triggers.
GRANT EXECUTE ON FUNCTION medium_private.medium_is_member(uuid), medium_private.medium_is_gm(uuid),
  medium_private.medium_owns_character(uuid, uuid), medium_private.medium_affiliation_known(uuid, uuid)
  TO authenticated;

-- Pinned search_path for the trigger functions that had none (the _v2 functions pin theirs).
ALTER FUNCTION public.medium_notify_events_v1() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.medium_notify_windows_v1() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.medium_broadcast_events_v1() SET search_path = pg_catalog, pg_temp;
